"""One way to start headless Chromium, for the browser tests (tests/conftest.py) and the figure scripts (docs/).

The flags are the ones a closed network wants: no background connections, no sync, no first-run
pages, no component updates; each driver gets a fresh profile folder, removed by ``quit``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def available() -> bool:
    """Whether Debian's Chromium and its driver are where the tests and scripts look for them."""
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def start(width: int = 1400, height: int = 900, *extra: str):
    """A selenium driver for a new headless Chromium with a window of ``width`` × ``height`` pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp()
    for flag in (*CHROMIUM_FLAGS, *extra, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    quit_driver = driver.quit

    def quit_and_clean() -> None:
        quit_driver()
        shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit_and_clean
    return driver


def figure_browser(width: int, height: int):
    """The figure scripts' browser: as the tests', without scrollbars in the screenshots."""
    return start(width, height, "--hide-scrollbars")
