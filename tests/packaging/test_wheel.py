"""The built wheel: what pip installs carries the licence, the type markers and the Pyodide-friendly marker."""

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the sources (the checkout gets no build/ or egg-info), without network."""
    setuptools = pytest.importorskip("setuptools", reason="building the wheel needs setuptools (the dev extra)")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"the PEP 639 licence fields need setuptools>=77 (found {setuptools.__version__}): "
                    "pip install -e '.[dev]'")
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for package in ("tinygrad_rnn", "viz"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("tinygrad_rnn-*.whl")
    return zipfile.ZipFile(built)


def _metadata(wheel):
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode("utf-8"))


def test_the_wheel_marks_both_packages_as_typed(wheel):
    names = wheel.namelist()
    assert "tinygrad_rnn/py.typed" in names and "viz/py.typed" in names  # PEP 561: mypy/pyright read our hints
    assert "viz/explorer.js" in names  # package data still ships beside it


def test_the_wheel_states_its_licence_as_an_spdx_expression_and_carries_the_text(wheel):
    meta = _metadata(wheel)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    (licence,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(licence).decode().startswith("MIT License")


def test_graphviz_pure_is_not_required_in_pyodide(wheel):
    requires = _metadata(wheel).get_all("Requires-Dist")
    assert any(r.startswith("graphviz-pure") and 'sys_platform != "emscripten"' in r for r in requires), requires
    assert "numpy>=1.24" in requires and "sympy>=1.12" in requires  # the library part installs there
