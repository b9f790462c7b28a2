"""A real JupyterLab for the tests: start it, open a chapter in the browser, run all cells, look.

What a learner sees in JupyterLab is not what a stand-in front end shows (JupyterLab's
own CSS restyles HTML outputs; its keyboard shortcuts see every key first), so the
notebook tests that matter run here. Use the fixture ``jupyterlab`` (a running
server, one per session) together with the shared ``browser`` fixture:

    def test_chapter(jupyterlab, browser):
        jupyterlab.run_notebook(browser, "notebooks/03_stepping.py")
        shown = jupyterlab.outputs(browser, "text/html")  # the HTML outputs on screen, in order
        explorer = shown[1].find_element(By.CSS_SELECTOR, ".tgr-explorer")  # cell 1 shows an event, cell 2 this

``run_notebook`` converts the jupytext script to .ipynb in the server's temporary
root, opens it, runs all cells through JupyterLab's own "run all" command, waits
until every code cell has run (failing with the first error a cell printed), and
returns the notebook's element; ``outputs`` lists its output elements. ``ui="notebook"``
opens it in Jupyter Notebook 7 instead (same server, same renderer and CSS).

The server listens on 127.0.0.1 at a free port, with a generated token, no browser,
a temporary root and settings directories (the learner's own JupyterLab settings are
never read or touched), and a bounded lifetime: it is started under ``timeout`` and
stops itself when idle; the fixture stops it by its PID at the end of the session.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIFETIME = 900  # seconds: the server is killed after this whatever happens to the test run
START_TIMEOUT = 60  # seconds to wait for the server to answer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A JupyterLab server the tests own: its URL, token and root directory."""

    def __init__(self, root: Path, log: Path):
        self.root = root
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        home = root.parent
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)  # the kernel imports us
        env = dict(os.environ, PYTHONPATH=path,
                   JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTER_DATA_DIR=str(home / "data"),
                   JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
                   IPYTHONDIR=str(home / "ipython"))
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
            "--ServerApp.terminals_enabled=False", "--allow-root",
            f"--ServerApp.shutdown_no_activity_timeout={LIFETIME}",
        ]
        # no "get notified about Jupyter news?" toast over the notebook
        (home / "config" / "labconfig").mkdir(parents=True, exist_ok=True)
        (home / "config" / "labconfig" / "page_config.json").write_text(
            '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}')
        if shutil.which("timeout"):
            command = ["timeout", "-k", "10", str(LIFETIME), *command]
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.log = log
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.process.returncode}):\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {START_TIMEOUT} s:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Stop the server (and its kernels: they share its process group) by its PID."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()

    def notebook(self, script: str | Path) -> str:
        """Convert a jupytext percent script (a path relative to the repository) to .ipynb in the server's
        root; return its name there."""
        import jupytext

        source = ROOT / script
        name = Path(source).with_suffix(".ipynb").name
        jupytext.write(jupytext.read(source), self.root / name)
        return name

    def open(self, driver, name: str, timeout: float = 60, ui: str = "lab"):
        """Open a notebook in JupyterLab (``ui="lab"``) or in Jupyter Notebook 7 (``ui="notebook"``, served by
        the same server when the ``notebook`` package is installed); wait until its kernel is idle; return the
        notebook element."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        if ui not in ("lab", "notebook"):
            raise ValueError(f"ui must be 'lab' or 'notebook', got {ui!r}")
        if ui == "notebook":
            pytest.importorskip("notebook", minversion="7", reason="Jupyter Notebook 7 is not installed (dev extra)")
        where = "lab/tree" if ui == "lab" else "notebooks"
        driver.get(f"{self.url}/{where}/{name}?token={self.token}")
        wait = WebDriverWait(driver, timeout, poll_frequency=0.2)
        notebook = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) "
                                                                         ".jp-Notebook"))
        wait.until(lambda d: d.execute_script(
            "var app = window.jupyterapp, w = app && app.shell.currentWidget;"
            "return !!(w && w.context && w.context.path === arguments[0] && w.sessionContext &&"
            " w.sessionContext.session && w.sessionContext.session.kernel &&"
            " w.sessionContext.session.kernel.status === 'idle');", name))
        return notebook

    def run_all(self, driver, notebook, timeout: float = 120):
        """Run every cell with JupyterLab's own "Run All Cells" command; wait until each code cell has run
        (an execution count, kernel idle). Fails with the first error output if a cell raised."""
        from selenium.webdriver.support.ui import WebDriverWait

        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")

        def finished(d):
            return d.execute_script(
                "var w = window.jupyterapp.shell.currentWidget, s = w.sessionContext.session, k = s && s.kernel;"
                "var code = w.content.widgets.filter(function (c) { return c.model.type === 'code'; });"
                "return !!k && k.status === 'idle' &&"
                " code.every(function (c) { return c.model.executionCount !== null; });")

        WebDriverWait(driver, timeout, poll_frequency=0.3).until(finished)
        errors = driver.execute_script(
            "return Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
            "[data-mime-type=\"application/vnd.jupyter.stderr\"], .jp-NotebookPanel:not(.lm-mod-hidden) "
            ".jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.error\"]')).map(function (e) { "
            "return e.textContent; }).filter(function (t) { return /Error|Traceback/.test(t); });")
        assert not errors, f"a cell failed in JupyterLab:\n{errors[0][-2000:]}"
        return notebook

    @staticmethod
    def outputs(driver, mime: str | None = None) -> list:
        """The output elements of the notebook on screen, in order (``mime``: only those of that MIME type,
        e.g. "text/html", "text/markdown", "image/svg+xml")."""
        from selenium.webdriver.common.by import By

        kind = f"[data-mime-type='{mime}']" if mime else ""
        visible = ".jp-NotebookPanel:not(.lm-mod-hidden)"
        return driver.find_elements(By.CSS_SELECTOR, f"{visible} .jp-OutputArea-output{kind}")

    def run_notebook(self, driver, script: str | Path, timeout: float = 120, ui: str = "lab"):
        """``notebook`` + ``open`` + ``run_all``: the chapter run in JupyterLab (or Notebook 7: ``ui``);
        returns the notebook element."""
        return self.run_all(driver, self.open(driver, self.notebook(script), ui=ui), timeout)


@pytest.fixture(scope="session")
def jupyterlab():
    """A JupyterLab server for this test session (skipped, saying why, where JupyterLab is not installed)."""
    pytest.importorskip("jupyterlab", reason="the JupyterLab tests need jupyterlab (the dev extra)")
    pytest.importorskip("jupytext", reason="the JupyterLab tests need jupytext (the dev extra)")
    home = Path(tempfile.mkdtemp(prefix="tgr-jupyterlab-"))
    (home / "root").mkdir()
    server = JupyterLab(home / "root", home / "server.log")
    yield server
    server.stop()
    shutil.rmtree(home, ignore_errors=True)
