"""A derivation in real JupyterLab: the cell's output is the typeset HTML (MathML), not Markdown source."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (the dev extra)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (the dev extra)")

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "tinygrad-rnn-lab-test"
TOKEN = "tinygrad-rnn-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 (this interpreter's kernel, this checkout on the path), stopped by PID."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tinygrad-rnn lab test", "language": "python",
    }))
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                           "source": 'import tinygrad_rnn as tr\ntr.symbolic.derive("lstm", 3, check=True)'}],
                "metadata": {"kernelspec": {"name": KERNEL, "display_name": "tinygrad-rnn lab test",
                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "derive.ipynb").write_text(json.dumps(notebook))
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "jupyter"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("JupyterLab did not start within 90 s")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/derive.ipynb?token={TOKEN}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def test_a_derivation_cell_shows_typeset_maths_in_jupyterlab(lab, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.set_window_size(1200, 1000)
    browser.get(lab)
    deadline = time.monotonic() + 90
    while not browser.find_elements(By.CSS_SELECTOR, ".jp-CodeCell .cm-content"):
        assert time.monotonic() < deadline, "JupyterLab did not open the notebook"
        time.sleep(0.5)
    deadline = time.monotonic() + 60
    while "Idle" not in browser.execute_script("return document.body.innerText;"):  # the kernel is up
        assert time.monotonic() < deadline, "the kernel did not start"
        time.sleep(0.5)
    time.sleep(1)  # the notebook re-renders once the kernel is up: find the cell after that
    browser.find_element(By.CSS_SELECTOR, ".jp-CodeCell .cm-content").click()
    ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    deadline = time.monotonic() + 120
    script = "return document.querySelectorAll('.jp-OutputArea-output math').length;"
    while browser.execute_script(script) < 20:
        assert time.monotonic() < deadline, "no typeset output after 120 s"
        time.sleep(0.5)
    output = browser.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output")
    assert output.get_attribute("data-mime-type") == "text/html"  # JupyterLab chose the typeset HTML
    heights = browser.execute_script(
        "return [...document.querySelectorAll('.jp-OutputArea-output math')].map(m => m.getBoundingClientRect()"
        ".height);")
    assert min(heights) > 0
    text = output.text
    assert "W_hh by the matrix recurrence" in text and "dL/dW_hh" in text
    assert "\\frac" not in text and "$$" not in text and "**" not in text
