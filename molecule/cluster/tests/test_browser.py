"""A real browser loads the page through nginx: the CSS applies and app.js names the serving host."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import APPS
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", Path(__file__).parent.parent)) / "artifacts"
# --accent in style.css, as browsers report a computed colour.
HEADER_BACKGROUND = ("rgb(11, 110, 79)", "rgba(11, 110, 79, 1)")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail(
            "the browser check needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--window-size=1024,768",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def test_page_renders_with_css_and_live_host(browser: webdriver.Chrome, base_url: str) -> None:
    browser.get(base_url + "/")
    header = browser.find_element(By.ID, "site-header")
    assert header.value_of_css_property("background-color") in HEADER_BACKGROUND
    api_host = browser.find_element(By.ID, "api-host")
    WebDriverWait(browser, 10).until(lambda _: api_host.get_attribute("data-state") != "pending")
    assert api_host.get_attribute("data-state") == "done"
    assert api_host.text in APPS
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "page.png"))
