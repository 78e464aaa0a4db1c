"""
A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
installed by scripts/test.sh) driven through WebDriver, with a fresh profile
and nothing that reaches the network on its own.
"""

import contextlib
import os
import shutil
import tempfile

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-extensions", "--disable-dev-shm-usage")


@contextlib.contextmanager
def chromium(width=1366, height=768):
    """A WebDriver session whose viewport is exactly ``width`` x ``height`` CSS pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} missing: scripts/test.sh installs it"
    profile = tempfile.mkdtemp(prefix="idlelock-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with the driver path: no Selenium Manager download
    for flag in FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses its sandbox as root
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
