"""The house rules of docs/architecture.md, checked on the source: arrows point one way.

engine (tensor, ops, graph, backward) <- nn, optim, symbolic, stepper, ... <- viz <- stories, cli.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tinygrad_rnn", "viz")
ENGINE = {"tinygrad_rnn.tensor", "tinygrad_rnn.ops", "tinygrad_rnn.graph", "tinygrad_rnn.backward",
          "tinygrad_rnn.hooks"}  # hooks: register_hook, run by the backward walk
APPLICATIONS = ("tinygrad_rnn.stories", "tinygrad_rnn.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _display_hooks(tree: ast.AST) -> set[int]:
    """ids of the import statements inside Jupyter display hooks (``_repr_html_`` and kin)."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_repr_")
        for inner in ast.walk(node)
    }


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """Modules imported by a file (relative imports resolved), at module level or anywhere.

    Jupyter display hooks are left out: ``Tensor._repr_html_`` hands over to viz, imported
    only when a notebook asks for HTML, so the library never loads viz by itself.
    """
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hooks = _display_hooks(tree)
    nodes = tree.body if top_level_only else [n for n in ast.walk(tree) if id(n) not in hooks]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from . import ops`
    return found


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _in(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _resolve(imported: str, sources: dict) -> str:
    """The project module an import names (``tinygrad_rnn.tensor.Tensor`` -> ``tinygrad_rnn.tensor``)."""
    module = imported
    while module and module not in sources:
        module = module.rpartition(".")[0]
    return module or imported


def test_engine_imports_only_the_engine_and_numpy():
    sources = _sources()
    # tensor.backward(step=True) hands over to the stepper, and backward(create_graph=True) to the
    # recorded walk in higher_order: imported when called, not at import
    allowed = ENGINE | {"tinygrad_rnn", "tinygrad_rnn.stepper", "tinygrad_rnn.higher_order"}
    for name in ENGINE:
        for imported in _imports(sources[name], top_level_only=False):
            module = _resolve(imported, sources)
            root = module.split(".")[0]
            assert module in allowed or root == "numpy" or root in sys.stdlib_module_names, (name, imported)


def test_only_stories_and_the_cli_import_viz():
    for name, path in _sources().items():
        if name.startswith("tinygrad_rnn") and not _in(name, APPLICATIONS):
            bad = {m for m in _imports(path, top_level_only=False) if _in(m, ["viz"])}
            assert not bad, f"{name} imports {bad}: library layers never import viz"


def test_sympy_only_in_the_symbolic_package():
    for name, path in _sources().items():
        if not _in(name, ["tinygrad_rnn.symbolic"]):
            bad = {m for m in _imports(path, top_level_only=False) if _in(m, ["sympy"])}
            assert not bad, f"{name} imports {bad}: SymPy belongs to tinygrad_rnn.symbolic"


def test_nothing_but_the_cli_imports_the_cli():
    for name, path in _sources().items():
        if not _in(name, ["tinygrad_rnn.cli"]) and name != "tinygrad_rnn.__main__":
            bad = {m for m in _imports(path, top_level_only=False) if _in(m, ["tinygrad_rnn.cli"])}
            assert not bad, f"{name} imports {bad}"


def test_viz_never_imports_the_applications():
    for name, path in _sources().items():
        if name.startswith("viz"):
            bad = {m for m in _imports(path, top_level_only=False) if _in(m, APPLICATIONS)}
            assert not bad, f"{name} imports {bad}: viz renders, the applications use it"


def test_no_import_cycles_at_module_level():
    # A method may hand over to a higher layer with an import inside it (Tensor.backward(step=True)
    # -> the stepper, create_graph=True -> the recorded walk, _repr_html_ -> viz); modules may not.
    sources = _sources()
    edges = {}
    for name, path in sources.items():
        targets = set()
        for imported in _imports(path, top_level_only=True):
            imported = _resolve(imported, sources)
            if imported in sources and imported != name and not name.startswith(imported + "."):
                targets.add(imported)  # a package importing its own submodules is not a cycle
        edges[name] = targets
    state: dict[str, int] = {}
    for start in edges:
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        state[start] = state.get(start, 1) if state.get(start) == 2 else 1
        if state[start] == 2:
            continue
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(child) == 1:
                cycle = path[path.index(child):] + [child]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if state.get(child) is None:
                state[child] = 1
                stack.append((child, iter(sorted(edges.get(child, ())))))
                path.append(child)


def test_import_tinygrad_rnn_stays_light():
    heavy = "('viz', 'sympy', 'tinygrad_rnn.cli')"
    code = f"import sys, tinygrad_rnn; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_wheel_installs_only_tinygrad_rnn_and_viz():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    top_level = {pattern.split(".")[0].rstrip("*") for pattern in include}
    assert top_level == {"tinygrad_rnn", "viz"}
    for name in top_level:
        assert (ROOT / name / "__init__.py").exists()


def test_the_renderer_takes_dot_text_and_knows_nothing_of_drawing():
    imported = _imports(ROOT / "viz" / "render.py", top_level_only=False)
    assert not {m for m in imported if _in(m, ["viz.draw", "viz.tiled", "tinygrad_rnn"])}, imported
