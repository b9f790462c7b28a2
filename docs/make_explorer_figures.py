"""Regenerate the screenshots of docs/explorer.md with headless Chromium (selenium).

    python docs/make_explorer_figures.py        # from the repository root

- docs/explorer.png: the explorer over an LSTM unrolled 3 steps, in the middle of the backward
  pass (step 30 of 44), with W_hh (weight_hh_l0) clicked: its contributions per time step so far.
- docs/notebook.png: chapter 3 (notebooks/03_stepping.py) executed in a kernel of this
  interpreter and rendered to HTML by the small renderer below (code, Markdown, every output).
"""

from __future__ import annotations

import html
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jupytext  # noqa: E402
import nbclient  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

import viz  # noqa: E402
from tinygrad_rnn.cli.step import builtin_model  # noqa: E402
from tinygrad_rnn.stepper import BackwardStepper  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
BULLET = re.compile(r"^\s*(- |\d+\. )")


def browser(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", f"--window-size={width},{height}", f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def explorer_png(folder: Path) -> Path:
    loss = builtin_model("lstm", 3)
    stepper = BackwardStepper(loss)
    page = viz.backward_player(loss, folder / "explorer.html", title="Backward through an LSTM unrolled over 3 steps")
    driver = browser(1400, 1000)
    try:
        driver.get(page.as_uri())
        root = driver.find_element(By.CSS_SELECTOR, ".tgr-explorer")
        root.send_keys(Keys.ARROW_RIGHT * 30)
        time.sleep(0.5)
        number = stepper.tensor_numbers()[next(r.id for r in stepper.graph.parameters() if r.name == "weight_hh_l0")]
        driver.execute_script("""
            var g = arguments[0].querySelector('g.node[data-id="v' + arguments[1] + '"]');
            ['pointerdown', 'pointerup'].forEach(function (type) {
              g.dispatchEvent(new PointerEvent(type, {bubbles: true, button: 0, clientX: 0, clientY: 0}));
            });
            var side = arguments[0].querySelector('.tgr-side'), info = arguments[0].querySelector('.tgr-info');
            side.scrollTop = info.offsetTop - side.offsetTop - 330;""", root, number)
        time.sleep(0.3)
        out = ROOT / "docs" / "explorer.png"
        driver.save_screenshot(str(out))
        return out
    finally:
        driver.quit()


def markdown(text: str) -> str:
    """Enough Markdown for the chapters: headings, lists, paragraphs, `code`, **bold**, *italic*."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        inline = [html.escape(line) for line in lines]
        inline = [re.sub(r"`([^`]+)`", r"<code>\1</code>", s) for s in inline]
        inline = [re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s) for s in inline]
        inline = [re.sub(r"\*([^*]+)\*", r"<i>\1</i>", s) for s in inline]
        heading = re.match(r"^(#+) ", lines[0])
        if heading:
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{inline[0][level + 1:]}</h{level}>")
        elif all(re.match(r"^\s*[-0-9]", line) for line in lines[:1]) and lines[0].lstrip()[:2] in ("- ", "1."):
            items = [BULLET.sub("", i) for i in re.split(r"\n(?=\s*(?:- |\d+\. ))", "\n".join(inline))]
            blocks.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
        else:
            blocks.append("<p>" + " ".join(inline) + "</p>")
    return "\n".join(blocks)


def notebook_html(notebook) -> str:
    parts = []
    count = 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(f'<div class="md">{markdown(cell.source)}</div>')
            continue
        count += 1
        parts.append(f'<div class="in"><span>[{count}]:</span><pre>{html.escape(cell.source)}</pre></div>')
        for out in cell.outputs:
            data = out.get("data", {})
            if out.get("output_type") == "stream":
                body = f"<pre>{html.escape(out['text'])}</pre>"
            elif "application/vnd.jupyter.widget-view+json" in data:
                body = "<pre>(the live widget: the same explorer, driving the stepper in the kernel)</pre>"
            elif "text/html" in data:
                body = data["text/html"]
            elif "image/svg+xml" in data:
                body = data["image/svg+xml"]
            elif "text/markdown" in data:
                body = markdown(data["text/markdown"])
            else:
                body = f"<pre>{html.escape(data.get('text/plain', ''))}</pre>"
            parts.append(f'<div class="out">{body}</div>')
    style = ("body { font-family: Helvetica, Arial, sans-serif; max-width: 1240px; margin: 12px auto; }"
             ".in { display: flex; gap: 8px; } .in span { color: #303f9f; font-family: monospace; width: 3em; }"
             ".in pre { flex: 1; background: #f5f5f5; border: 1px solid #e0e0e0; padding: 6px; margin: 4px 0; }"
             ".out { margin-left: 3.6em; } .out > pre { margin: 2px 0; } .md { margin: 0 0 0 3.6em; }")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>chapter 3</title><style>{style}</style>"
            f"</head><body>{''.join(parts)}</body></html>")


def notebook_png(folder: Path) -> Path:
    kernels = folder / "kernels" / "tinygrad-rnn"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tinygrad-rnn", "language": "python"}))
    import os

    os.environ["JUPYTER_PATH"] = str(folder)
    os.environ["PYTHONPATH"] = str(ROOT)
    notebook = jupytext.read(ROOT / "notebooks" / "03_stepping.py")
    nbclient.NotebookClient(notebook, kernel_name="tinygrad-rnn", timeout=300,
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    page = folder / "chapter3.html"
    page.write_text(notebook_html(notebook), encoding="utf-8")
    driver = browser(1280, 1500)
    try:
        driver.get(page.as_uri())
        root = driver.find_element(By.CSS_SELECTOR, ".tgr-explorer")
        root.send_keys(Keys.ARROW_RIGHT * 3)
        time.sleep(0.5)
        driver.execute_script("window.scrollTo(0, arguments[0].getBoundingClientRect().top - 640)", root)
        time.sleep(0.2)
        out = ROOT / "docs" / "notebook.png"
        driver.save_screenshot(str(out))
        return out
    finally:
        driver.quit()


def main() -> int:
    folder = Path(tempfile.mkdtemp())
    for made in (explorer_png(folder), notebook_png(folder)):
        print(f"wrote {made.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
