"""The Chinese edition in a real browser (headless Chromium driven by Selenium).

Every page of the table of contents is opened at ``zh_CN/<page>.html``: it loads cleanly (the checks of
tests/test_browser.py: a title, no failed request, no console error, every equation typeset by the
vendored MathJax), is marked as Chinese, links to the same page of the English edition, and is kept as
a screenshot in ``_build/test-artifacts/zh_CN/``. The search page must find a Chinese term, which needs
``jieba`` when the book is built.

The Chinese edition is built by tests/test_i18n.py's ``build_chinese_edition`` (once per test run), or
taken from ``AEUTILS_ZH_HTML``. Needs what tests/test_browser.py needs (Chromium and chromedriver) and
CJK fonts (Debian: ``apt-get install fonts-noto-cjk``); the test is skipped with that message otherwise.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import test_browser as english  # skips this module too where Chromium is missing
from test_browser import browser  # noqa: F401 (the fixture)
from test_i18n import build_chinese_edition

from tools import i18n

ARTIFACTS = english.ARTIFACTS / "zh_CN"
SEARCH_TERMS = ("自编码器", "重建误差")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _cjk_fonts() -> list[str]:
    if shutil.which("fc-list") is None:
        return []
    listed = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, check=False)
    return [line for line in listed.stdout.splitlines() if line.strip()]


if not _cjk_fonts():
    pytest.skip(
        "Chinese browser test skipped: no CJK font is installed (Debian: `apt-get install fonts-noto-cjk`)",
        allow_module_level=True,
    )

PAGES = english.toc_docnames()
IN_PROGRESS = set(i18n.edition().get("in_progress") or [])


@pytest.fixture(scope="module")
def zh_server(tmp_path_factory: pytest.TempPathFactory):
    """The Chinese edition served under /zh_CN/, where the English site puts it."""
    record = build_chinese_edition()
    html = Path(record["html"])
    # Warnings are the concern of tests/test_i18n.py: the pages are tested whenever the HTML is complete.
    if not (html / "index.html").is_file():
        pytest.fail("the Chinese edition did not build:\n" + record["output"][-4000:])
    site = tmp_path_factory.mktemp("site")
    (site / "zh_CN").symlink_to(html.resolve(), target_is_directory=True)
    server = english._BookServer(site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("docname", PAGES)
def test_chinese_page_renders_cleanly(docname: str, browser, zh_server) -> None:  # noqa: F811
    path = f"zh_CN/{docname}.html"
    assert (zh_server.directory / path).is_file(), f"{path} was not built"
    english._open(browser, zh_server, path)
    problems = []
    if not (browser.execute_script("return document.documentElement.lang") or "").startswith("zh"):
        problems.append("the page is not marked as Chinese (<html lang>)")
    titles = browser.find_elements("css selector", "main h1, article h1")
    if not titles:
        problems.append("no <h1> in the page body (an empty or broken page?)")
    elif docname not in IN_PROGRESS and not CJK.search(titles[0].get_attribute("textContent") or ""):
        problems.append(f"the title is not translated: {titles[0].get_attribute('textContent')!r}")

    links = browser.find_elements("css selector", "a.i18n-language-link")
    expected = f"{zh_server.base_url}/{docname}.html"
    if not links or links[0].get_attribute("href") != expected:
        problems.append(f"no link to the English page {expected}")

    math = browser.execute_script(english._MATH_REPORT)
    if math["total"]:
        state = browser.execute_async_script(english._WAIT_FOR_MATHJAX)
        if state != "ok":
            problems.append(state)
        math = browser.execute_script(english._MATH_REPORT)
        problems += [f"math not typeset: {text!r}" for text in math["unrendered"][:5]]
        problems += [f"TeX error: {text!r}" for text in math["errors"][:5]]
    problems += [f"broken image: {src}" for src in browser.execute_async_script(english._BROKEN_IMAGES)]
    problems += english._console_and_network_problems(browser, zh_server)

    time.sleep(0.3)  # let fonts and images settle before the picture
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{docname.replace('/', '__')}.png"
    if not browser.save_screenshot(str(target)):
        problems.append("Chromium did not take the screenshot")
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("term", SEARCH_TERMS)
def test_chinese_search_finds_a_term(term: str, browser, zh_server) -> None:  # noqa: F811
    english._open(browser, zh_server, f"zh_CN/search.html?q={urllib.parse.quote(term)}")
    selector = "#search-results ul.search li a"
    deadline = time.monotonic() + english.PAGE_TIMEOUT_S
    while not browser.find_elements("css selector", selector) and time.monotonic() < deadline:
        time.sleep(0.2)
    hits = [link.get_attribute("href") for link in browser.find_elements("css selector", selector)]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert hits, (
        f"searching the Chinese edition for {term} found nothing (was jieba installed for the build?)"
    )
    assert all(href.startswith(f"{zh_server.base_url}/zh_CN/") for href in hits), hits
    browser.save_screenshot(str(ARTIFACTS / f"search-{urllib.parse.quote(term)}.png"))
    problems = english._console_and_network_problems(browser, zh_server)
    assert not problems, "search page:\n  " + "\n  ".join(problems)
