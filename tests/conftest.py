"""Shared test fixtures: one headless Chromium for the tests that look at pages as a person would."""

import pytest

from tests.chromium import CHROMEDRIVER, CHROMIUM, available, start


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by selenium; the test is skipped, saying why, where there is none."""
    if not available():
        pytest.skip(f"the browser tests need Chromium and its driver ({CHROMIUM}, {CHROMEDRIVER}): "
                    "apt-get install chromium chromium-driver")
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the dev extra)")
    driver = start()
    yield driver
    driver.quit()


from tests.jupyterlab import jupyterlab  # noqa: E402,F401  (the JupyterLab fixture, for any test that opens a notebook)
