"""
The HTML fleet report as a security engineer sees it: a synthetic fleet of
500 and of 5,000 hosts (tests/support/synthetic_fleet.py, judged by
idlelock's own audit logic) rendered by the runner's code and opened in a real
headless Chromium at a 1366 x 768 laptop viewport.

The first screen must show the verdict and the most severe rule; typing a host
name in the filter must leave only that host's rows; the sort arrows must sort.
The 500-host page's screenshot is the one in docs/ (tests/artifacts/ keeps
each run's).
"""

import pathlib

import pytest

import idlelock_report
from tests.support import synthetic_fleet
from tests.support.browser import chromium

pytestmark = pytest.mark.e2e

ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "artifacts"
WIDTH, HEIGHT = 1366, 768


@pytest.fixture(scope="module")
def browser():
    with chromium(WIDTH, HEIGHT) as driver:
        yield driver


@pytest.fixture(scope="module", params=[1, 10], ids=["500-hosts", "5000-hosts"])
def page(request, browser, tmp_path_factory):
    """The report of the synthetic fleet, open in the browser: ``(driver, report data)``."""
    data = synthetic_fleet.report(scale=request.param)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(idlelock_report.render_html(data))
    browser.get(path.as_uri())
    if request.param == 1:
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "report-500.png"))
    return browser, data


def visible(driver, selector):
    """Text of the elements matched by ``selector`` that are laid out and not hidden."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".filter(e => e.checkVisibility()).map(e => e.id || e.textContent)", selector)


def in_first_viewport(driver, selector):
    """True when the element is wholly inside the first screen, before any scrolling."""
    return driver.execute_script(
        "window.scrollTo(0, 0); var r = document.querySelector(arguments[0])"
        ".getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight"
        " && r.width > 0", selector)


def type_filter(driver, text):
    """Select what the box holds and type over it, as a person does."""
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element("id", "filter")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text or Keys.BACKSPACE)


def test_first_screen_shows_the_verdict_and_the_most_severe_rule(page):
    driver, data = page
    total = len(data["hosts"])
    counts = data["counts"]
    assert driver.find_element("id", "verdict").text == (
        f"NOT COMPLIANT: {counts['non-compliant']} of {total} hosts fail, "
        f"{counts['no answer']} did not answer")
    assert in_first_viewport(driver, "#verdict")
    top = data["rules"][0]
    assert (top["severity"], top["check"]) == ("high", "idle logout")
    # Severity before count: the medium ClientAliveInterval rule has more hosts.
    assert max(len(g["hosts"]) for g in data["rules"]) > len(top["hosts"])
    first = driver.find_element("css selector", "#rules tbody tr")
    assert first.find_element("css selector", "td.sev").text == "HIGH"
    assert first.find_element("css selector", "code").text == top["rule"]
    assert in_first_viewport(driver, "#rules tbody tr:first-child td:nth-child(3)")
    assert in_first_viewport(driver, "#rules tbody tr:first-child code")
    # The failing and silent hosts per environment are on that screen; the
    # compliant ones are a count until expanded.
    assert in_first_viewport(driver, "#environments")
    compliant = [n for n, e in data["hosts"].items() if e["status"] == "compliant"]
    shown = set(visible(driver, "#environments a"))
    assert shown and not shown & set(compliant)
    driver.find_element("css selector", "#environments details summary").click()
    assert set(visible(driver, "#environments a")) & set(compliant)
    driver.find_element("css selector", "#environments details summary").click()


def test_typing_a_host_name_leaves_only_its_rows(page):
    driver, data = page
    host = data["rules"][0]["hosts"][-1]
    type_filter(driver, host)
    assert visible(driver, "#hosts tbody tr") == [f"h-{host}"]
    rules = visible(driver, "#rules tbody tr code")
    expected = [g["rule"] for g in data["rules"] if host in g["hosts"]]
    assert rules == expected and rules
    assert driver.find_element("id", "shown").text == "1 host(s) match"
    type_filter(driver, "env:staging sev:high")
    rows = visible(driver, "#hosts tbody tr")
    wanted = {f"h-{n}" for n, e in data["hosts"].items() if e["environment"] == "staging"
              and any(f["severity"] == "high" for f in e["findings"])}
    assert set(rows) == wanted and wanted
    type_filter(driver, "")
    assert len(visible(driver, "#hosts tbody tr")) == len(data["hosts"])


def test_sort_arrows_sort(page):
    driver, data = page
    header = driver.find_element("css selector", "#hosts th.sort")  # the host column
    header.click()
    first_asc = visible(driver, "#hosts tbody tr")[:3]
    assert first_asc == [f"h-{n}" for n in sorted(data["hosts"])[:3]]
    assert header.get_attribute("data-dir") == "asc"
    header.click()
    assert visible(driver, "#hosts tbody tr")[0] == f"h-{sorted(data['hosts'])[-1]}"
    # Every header that shows an arrow is one that sorts.
    arrows = driver.execute_script(
        "return Array.from(document.querySelectorAll('th')).filter(th => "
        "getComputedStyle(th, '::after').content.includes('\\u2195')).length")
    assert arrows == len(driver.find_elements("css selector", "#hosts th.sort")) - 1
