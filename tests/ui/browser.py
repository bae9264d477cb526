"""Headless Chromium from Debian's packages, driven by Selenium with the driver path given explicitly (so
Selenium Manager never tries to download a browser or driver). Its performance log is Chromium's own
network log: every request the page made, which the tests check never leaves the server."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from engines import REPO, require_engine, wait_for

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
DOCS_IMAGES = os.environ.get("AMLEXEC_DOCS_IMAGES")  # set to docs/images to refresh the screenshots of docs/ui.md

# The pixels of a chart's canvas that are not transparent: a drawn chart has thousands.
INK = """
const canvas = arguments[0].querySelector('canvas');
if (!canvas) return 0;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let n = 0;
for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
return n;
"""
SERIES = """
const chart = echarts.getInstanceByDom(arguments[0]);
if (!chart) return null;
return chart.getOption().series.map((s) => [s.name || '', s.type, (s.data || []).length]);
"""


def chrome(*extra: str) -> Any:
    """A new headless Chromium; fails (not skips) when AMLEXEC_REQUIRE_ENGINES is set and it is missing."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        require_engine("Chromium", f"{CHROMIUM} or {CHROMEDRIVER} is missing (bash .ci/browser.sh installs them)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        require_engine("Selenium", "the selenium package is not installed (pip install -e '.[dev]')")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never look for a browser or driver online
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1300,1000",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-default-apps", "--disable-sync", *extra):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def requested_urls(driver: Any) -> list[str]:
    """Every URL the browser asked for since the last call (Network.requestWillBeSent events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def shot(driver: Any, folder: Path, name: str, *, docs: bool = False) -> Path:
    """A screenshot under the test output (kept for looking at a failure); `docs` ones also refresh docs/images."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    if docs and DOCS_IMAGES:
        target = (REPO / DOCS_IMAGES) if not os.path.isabs(DOCS_IMAGES) else Path(DOCS_IMAGES)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / f"ui-{name}.png")
    return path


def wait_css(driver: Any, selector: str, *, timeout: float = 15.0, what: str | None = None) -> Any:
    from selenium.webdriver.common.by import By

    return wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, selector), timeout=timeout,
                    what=what or f"an element {selector!r}")[0]


def wait_js(driver: Any, script: str, *args: Any, timeout: float = 15.0, what: str = "the page") -> Any:
    return wait_for(lambda: driver.execute_script(script, *args), timeout=timeout, what=what)
