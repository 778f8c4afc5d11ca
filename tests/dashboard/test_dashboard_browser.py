"""The dashboard in a real headless Chromium (Debian's ``chromium`` + ``chromium-driver``, via Selenium).

A study written while the page is open shows its new trials; a study named ``<script>alert(1)</script>``
renders as text and runs nothing; a screenshot is saved (to ``$GUARDOPT_DASHBOARD_SCREENSHOT`` when set,
else the test's temporary folder). Skipped with the reason where Chromium, its driver or Selenium is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from dashboard_helpers import EVIL, write_trials

import guardopt as go
from guardopt.dashboard import Dashboard


def _why_no_browser() -> str | None:
    if shutil.which("chromium") is None:
        return "no chromium binary (apt-get install -y chromium chromium-driver)"
    if shutil.which("chromedriver") is None:
        return "no chromedriver binary (apt-get install -y chromium-driver)"
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install selenium)"
    return None


pytestmark = [pytest.mark.browser, pytest.mark.skipif(_why_no_browser() is not None,
                                                      reason=str(_why_no_browser()))]

# Records every alert()/confirm()/prompt() before any page script runs.
HOOK = ("window.__alerts = []; for (const f of ['alert', 'confirm', 'prompt']) "
        "{ window[f] = (m) => { window.__alerts.push(f + ':' + String(m)); }; }")


@pytest.fixture
def driver() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(shutil.which("chromium"))
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1500",
                "--disable-gpu", "--no-first-run"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=opts)
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})
    try:
        yield drv
    finally:
        drv.quit()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # the element may not exist yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def texts(drv: Any, css: str) -> list[str]:
    """The text of every element matching ``css``, read in one script (the page redraws as it polls)."""
    return list(drv.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map((e) => e.textContent)", css))


def text_of(drv: Any, css: str) -> str:
    from selenium.webdriver.common.by import By

    return str(drv.find_element(By.CSS_SELECTOR, css).text)


def test_dashboard_in_chromium(driver: Any, db: str, reports: Path, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    with Dashboard(db, reports=reports, port=0, refresh=0.5, model_interval=0.0, importance="permutation") as d:
        driver.get(d.url + "#study=demo")
        wait_for(lambda: text_of(driver, "#trials tbody tr:first-child td") == "5", "the 6 stored trials")
        wait_for(lambda: "trial 3" in text_of(driver, "#recommendation"), "the pessimistic recommendation")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#history svg circle")) == 6

        # Written while the page is open: the page shows them without a reload.
        write_trials(go.Study.load("demo", db), [0.95, 4.0])
        wait_for(lambda: text_of(driver, "#trials tbody tr:first-child td") == "7", "the new trials")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#trials tbody tr")) == 8
        wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#history svg circle")) == 8, "8 points")
        wait_for(lambda: "trial 6" in text_of(driver, "#recommendation"), "the new recommendation")
        shot = Path(os.environ.get("GUARDOPT_DASHBOARD_SCREENSHOT", tmp_path / "dashboard.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

        # A study named like a script is text: in the list, the heading and the tables; nothing runs.
        driver.get(d.url + "#study=" + quote(EVIL, safe=""))
        wait_for(lambda: text_of(driver, "#study-name") == EVIL, "the hostile study's name as text")
        assert EVIL in texts(driver, "#study-list td.name")
        heads = texts(driver, "#trials thead th")
        assert "<img src=x onerror=alert(2)>" in heads and '"><b>bold</b>' in heads
        assert driver.execute_script("return document.images.length") == 0
        assert driver.execute_script("return document.querySelectorAll('script').length") == 1
        assert driver.execute_script("return document.querySelectorAll('b').length") == 0
        assert driver.execute_script("return window.__alerts") == []
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018 - the access is the check

        # The verdict table links to the report; its hostile Markdown is text there too.
        driver.find_element(By.ID, "nav-reports").click()
        link = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "#verdicts a"), "the verdict table")
        assert link.text == "alpha"
        assert "HOLDS" in text_of(driver, "#verdicts tbody tr:first-child")
        link.click()
        wait_for(lambda: text_of(driver, "main h1") == "alpha: a report", "the report page")
        assert "<script>alert(3)</script>" in text_of(driver, "main")
        assert driver.execute_script("return window.__alerts") == []
