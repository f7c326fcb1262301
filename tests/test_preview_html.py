"""The phone preview in a real browser: every page at 360 px, no button cut off, no bubble off the screen.

Why: a moderator trusts the preview to show what a phone shows (issue 19, item 5). Headless
Chromium (Debian's `chromium` and `chromium-driver`, installed by `make test`) opens every
page the command wrote, at a window 360 px wide, and measures each button and bubble in the
laid-out page. Screenshots of a few steps are kept in test-artifacts/phone/ for a person to
look at. Without Chromium the test skips on a developer's machine and fails in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, REPO, TODAY, bot_env

ARTIFACTS = Path(os.environ.get("WEGWIJZER_TEST_ARTIFACTS", REPO / "test-artifacts")) / "phone"
SCREEN = 360
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars", f"--window-size={SCREEN},800"]

#: What the page shows that a phone would not: a button whose text is cut, a bubble wider than the screen.
MEASURE = """
const screen = arguments[0];
const found = [];
for (const b of document.querySelectorAll('.button')) {
  if (b.scrollWidth > b.clientWidth) found.push('button cut off: ' + b.textContent);
}
for (const m of document.querySelectorAll('.bubble')) {
  const box = m.getBoundingClientRect();
  if (box.right > screen || box.width > screen || m.scrollWidth > m.clientWidth)
    found.push('bubble wider than the screen: ' + m.textContent.slice(0, 60));
}
return {found: found, buttons: document.querySelectorAll('.button').length,
        bubbles: document.querySelectorAll('.bubble').length, width: window.innerWidth,
        phone: document.querySelector('.phone').getBoundingClientRect().width};
"""


def _tool(*names: str) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium = _tool("chromium", "chromium-browser")
    driver = _tool("chromedriver")
    if chromium is None or driver is None:
        reason = "Debian's chromium and chromium-driver are not installed (`make test` installs them as root)"
        if os.environ.get("CI"):
            pytest.fail(f"in CI the phone preview must be tested: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    # a window cannot be made narrower than 500 px; the page is laid out for a 360 px phone screen instead
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": SCREEN, "height": 800, "pixelRatio": 1}})
    # the driver named, so Selenium Manager downloads nothing
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()


def write_site(project: Path, out: Path) -> list[Path]:
    """`python -m bot preview all --html DIR`, as a moderator runs it; returns the flow pages."""
    done = subprocess.run([PYTHON, "-m", "bot", "preview", "all", "--html", str(out), "--today", TODAY.isoformat(),
                           "--flows", str(project / "flows"), "--locales", str(project / "locales")],
                          cwd=project, env=bot_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"open {out / 'index.html'}" in done.stdout
    return sorted(p for p in out.glob("*.html") if p.name != "index.html")


def measure(browser: Any, page: Path) -> dict[str, Any]:
    browser.get(page.as_uri())
    result: dict[str, Any] = browser.execute_script(MEASURE, SCREEN)
    return result


@pytest.fixture(scope="module")
def shipped_site(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_site(REPO, tmp_path_factory.mktemp("site"))


def test_every_page_of_every_flow_fits_a_phone_360_px_wide(browser: Any, shipped_site: list[Path]) -> None:
    from bot.app import load_flows
    from bot.settings import Settings

    fs = load_flows(Settings())
    assert {p.name for p in shipped_site} == {f"{f}.{lang}.html" for f in fs.flows for lang in fs.locales.languages}
    problems: list[str] = []
    buttons = bubbles = 0
    for page in shipped_site:
        seen = measure(browser, page)
        assert (seen["width"], seen["phone"]) == (SCREEN, SCREEN), page.name  # nothing made the screen wider
        problems += [f"{page.name}: {problem}" for problem in seen["found"]]
        buttons += seen["buttons"]
        bubbles += seen["bubbles"]
    assert problems == []
    assert buttons > 100 and bubbles > 200  # it measured the flows, not empty pages


@pytest.mark.parametrize(("page", "step"), [("main.nl.html", "parent_menu"), ("complaint.nl.html", "problem"),
                                            ("complaint.en.html", "org"), ("safety.nl.html", "what")])
def test_screenshots_of_a_few_steps_at_360_px(browser: Any, shipped_site: list[Path], page: str, step: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(next(p for p in shipped_site if p.name == page).as_uri())
    shown = browser.find_element(By.ID, f"step-{step}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{page.removesuffix('.html')}.{step}.png"
    browser.execute_script("arguments[0].scrollIntoView()", shown)
    assert shown.screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shown.size["width"] <= SCREEN
    assert shown.find_elements(By.CLASS_NAME, "button")  # the question's buttons are in the picture


def test_the_check_finds_a_label_a_phone_would_cut_off(browser: Any, tmp_path: Path) -> None:
    """The measure can fail: one deliberately long label in a copy of the fixture flows is found, by name."""
    shutil.copytree(FIXTURE_FLOWS, tmp_path / "flows")
    shutil.copytree(FIXTURE_LOCALES, tmp_path / "locales")
    long = "Een brief schrijven aan de klachtencommissie van de gecertificeerde instelling <b>&amp;</b>"
    locale = tmp_path / "locales/nl/main.yaml"
    text = locale.read_text(encoding="utf-8")
    assert text.count("    letter: Een brief schrijven\n") == 1
    locale.write_text(text.replace("    letter: Een brief schrijven\n", f"    letter: '{long}'\n"), encoding="utf-8")

    pages = write_site(tmp_path, tmp_path / "site")
    found = {page.name: measure(browser, page)["found"] for page in pages}
    assert found["main.nl.html"] == [f"button cut off: {long}"]  # shown as typed: the markup is escaped, not run
    assert found["main.en.html"] == []


def test_without_graphviz_each_page_shows_the_graph_as_mermaid_text(tmp_path: Path) -> None:
    """Graphviz may be missing on a moderator's laptop: the site is still written, with the graph as text."""
    bare = tmp_path / "bin"  # a PATH with Python but without `dot`
    bare.mkdir()
    out = tmp_path / "site"
    done = subprocess.run([PYTHON, "-m", "bot", "preview", "termijn", "--html", str(out), "--today", TODAY.isoformat()],
                          cwd=REPO, env=bot_env(PATH=str(bare)), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "termijn.en.html", "termijn.nl.html"]
    page = (out / "termijn.nl.html").read_text(encoding="utf-8")
    assert "Graphviz `dot` is not installed" in page
    assert "flowchart" in page and "<object" not in page
    assert 'class="button"' in page  # the phone is there all the same
