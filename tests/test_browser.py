"""The rendered book, tested in a real browser (headless Chromium driven by Selenium).

What a reader would notice is checked on every page of the table of contents: the page loads with
HTTP 200, nothing it requests fails (images, styles, scripts), the browser console shows no errors
(except the known, harmless ``THEBE_JS_URL`` redeclaration of sphinx-thebe), the mathematics is
typeset by the vendored MathJax (no raw TeX, no TeX errors, no request to a CDN), and the search page
finds a term. A screenshot of one chapter is kept in ``_build/test-artifacts/``.

The book is served from ``_build/html`` on 127.0.0.1 (nothing leaves the machine). The fixture
``built_book_html`` builds it first, with the same command as the central build test
(``jupyter-book build . -W -n --keep-going``), when it is missing or older than its sources; set
``AEUTILS_BOOK_HTML`` to test an HTML folder built elsewhere.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``) or
the paths of another Chromium/Chrome and its matching chromedriver in ``AEUTILS_CHROMIUM`` and
``AEUTILS_CHROMEDRIVER``; the test is skipped with that message when they are missing. It never
downloads a browser.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = Path(os.environ.get("AEUTILS_BOOK_HTML", ROOT / "_build" / "html"))
ARTIFACTS = ROOT / "_build" / "test-artifacts"
BUILD_COMMAND = ["build", ".", "-W", "-n", "--keep-going"]
#: Console messages that are known and harmless: sphinx-thebe declares THEBE_JS_URL twice.
HARMLESS_CONSOLE = (re.compile(r"THEBE_JS_URL.*already been declared"), re.compile(r"/favicon\.ico"))
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
)
PAGE_TIMEOUT_S = 60
SEARCH_TERM = "reconstruction"


def _first_existing(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _first_existing(
    os.environ.get("AEUTILS_CHROMIUM"),
    "/usr/bin/chromium",
    shutil.which("chromium"),
    shutil.which("chromium-browser"),
    shutil.which("google-chrome"),
)
CHROMEDRIVER = _first_existing(
    os.environ.get("AEUTILS_CHROMEDRIVER"), "/usr/bin/chromedriver", shutil.which("chromedriver")
)
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "browser test skipped: Chromium and chromedriver are not installed "
        "(Debian: `apt-get install chromium chromium-driver`; or set AEUTILS_CHROMIUM and "
        "AEUTILS_CHROMEDRIVER to a Chromium/Chrome and its matching chromedriver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed: `pip install -r requirements.txt`"
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# ------------------------------------------------------------------------------------- the book


def toc_docnames() -> list[str]:
    """The root and every ``file`` of ``_toc.yml``, in reading order (no extensions)."""
    from tools.toc import toc_pages

    return toc_pages(ROOT)


def _book_sources() -> list[Path]:
    patterns = ["_toc.yml", "_config.yml", "references.bib", "*.md", "chapters/**/*.md"]
    patterns += ["chapters/**/*.ipynb", "aeutils/**/*.py", "_static/**/*"]
    return [path for pattern in patterns for path in ROOT.glob(pattern) if path.is_file()]


def _needs_build(html_dir: Path) -> bool:
    # Sphinx rewrites the search index at the end of every build, even when no page changed.
    stamp = html_dir / "searchindex.js"
    if not (html_dir / "index.html").is_file() or not stamp.is_file():
        return True
    built = stamp.stat().st_mtime
    return any(source.stat().st_mtime > built for source in _book_sources())


@pytest.fixture(scope="session")
def built_book_html(request: pytest.FixtureRequest) -> Path:
    """``_build/html``, built with ``jupyter-book build . -W -n --keep-going`` if missing or stale.

    Uses the central ``built_book`` fixture (tests/conftest.py) when it exists, so the book is built
    once per test session; otherwise builds it here. Warnings of the build are the concern of
    tests/test_book_build.py: the pages are tested whenever the HTML is complete.
    """
    if "AEUTILS_BOOK_HTML" in os.environ:
        assert (HTML_DIR / "index.html").is_file(), f"AEUTILS_BOOK_HTML={HTML_DIR} has no index.html"
        return HTML_DIR
    try:
        html, _returncode, output, _seconds = request.getfixturevalue("built_book")
    except pytest.FixtureLookupError:
        (ROOT / "_build").mkdir(exist_ok=True)
        with open(ROOT / "_build" / ".book-build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time (pytest-xdist workers)
            if _needs_build(HTML_DIR):
                _build_book()
        return HTML_DIR
    if not (Path(html) / "index.html").is_file():
        pytest.fail("the book build produced no HTML:\n" + output[-4000:])
    return Path(html)


def _build_book() -> None:
    """Run the central build command in the repository root; fail the tests with its output."""
    executable = Path(sys.executable).with_name("jupyter-book")
    command = [str(executable) if executable.is_file() else shutil.which("jupyter-book") or "jupyter-book"]
    result = subprocess.run(
        command + BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"`jupyter-book {' '.join(BUILD_COMMAND)}` failed (exit {result.returncode}):\n"
            + (result.stdout + result.stderr)[-4000:]
        )


# ------------------------------------------------------------------------------ server, browser


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the book and remembers the status of every request (to find broken resources)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.server.requests.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (signature of the base)
        pass


class _BookServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, directory: Path) -> None:
        super().__init__(("127.0.0.1", 0), functools.partial(_RecordingHandler, directory=str(directory)))
        self.directory = directory
        self.requests: list[tuple[str, int]] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser that closes a connection early is not a failure of the book

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="session")
def book_server(built_book_html: Path):
    server = _BookServer(built_book_html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    except Exception as error:  # a browser that is installed but cannot start is a failure
        pytest.fail(f"headless Chromium ({CHROMIUM}) did not start with {CHROMEDRIVER}: {error}")
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    driver.set_script_timeout(PAGE_TIMEOUT_S)
    yield driver
    driver.quit()


# ------------------------------------------------------------------------------- page checks

_WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function poll() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done("ok"), (error) => done("MathJax failed: " + error));
  } else if (Date.now() - start > 30000) {
    done("MathJax was not loaded within 30 s");
  } else {
    setTimeout(poll, 100);
  }
})();
"""

_MATH_REPORT = """
const nodes = Array.from(document.querySelectorAll("span.math, div.math"));
const scripts = Array.from(document.scripts).map((s) => s.src).filter((src) => /mathjax/i.test(src));
return {
  total: nodes.length,
  unrendered: nodes.filter((n) => !n.querySelector("mjx-container")).map((n) => n.textContent.slice(0, 80)),
  errors: Array.from(document.querySelectorAll("mjx-merror, [data-mjx-error]"))
    .map((n) => n.getAttribute("data-mjx-error") || n.textContent.slice(0, 80)),
  scripts: scripts,
};
"""

_BROKEN_IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
Promise.all(images.map((img) => new Promise((resolve) => {
  if (img.complete && img.naturalWidth > 0) { resolve(null); return; }
  const probe = new Image();
  const timer = setTimeout(() => resolve(img.currentSrc || img.src), 15000);
  probe.onload = () => { clearTimeout(timer); resolve(null); };
  probe.onerror = () => { clearTimeout(timer); resolve(img.currentSrc || img.src || "(no src)"); };
  probe.src = img.currentSrc || img.src;
}))).then((results) => done(results.filter((r) => r !== null)));
"""


def _harmless(message: str) -> bool:
    return any(pattern.search(message) for pattern in HARMLESS_CONSOLE)


def _open(browser, server: _BookServer, path: str) -> None:
    """Load a page with a clean console log and request record."""
    browser.get_log("browser")  # drop what earlier pages logged
    server.requests.clear()
    browser.get(f"{server.base_url}/{path}")
    WebDriverWait(browser, PAGE_TIMEOUT_S).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _console_and_network_problems(browser, server: _BookServer) -> list[str]:
    problems = [
        f"console error: {entry['message']}"
        for entry in browser.get_log("browser")
        if entry.get("level") == "SEVERE" and not _harmless(entry.get("message", ""))
    ]
    problems += [
        f"request failed with HTTP {code}: {path}"
        for path, code in list(server.requests)
        if code >= 400 and not _harmless(path)
    ]
    return problems


PAGES = toc_docnames()


@pytest.mark.parametrize("docname", PAGES)
def test_page_renders_cleanly(docname: str, browser, book_server: _BookServer) -> None:
    path = f"{docname}.html"
    assert (book_server.directory / path).is_file(), (
        f"{path} was not built (is {docname} spelled right in _toc.yml?)"
    )
    try:
        with urllib.request.urlopen(f"{book_server.base_url}/{path}", timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == 200, f"{path}: HTTP {status}"

    _open(browser, book_server, path)
    problems = []
    if not browser.find_elements("css selector", "main h1, article h1"):
        problems.append("no <h1> in the page body (an empty or broken page?)")

    math = browser.execute_script(_MATH_REPORT)
    if math["total"]:
        state = browser.execute_async_script(_WAIT_FOR_MATHJAX)
        if state != "ok":
            problems.append(state)
        math = browser.execute_script(_MATH_REPORT)
        problems += [f"math not typeset: {text!r}" for text in math["unrendered"][:5]]
        problems += [f"TeX error: {text!r}" for text in math["errors"][:5]]
        remote = [src for src in math["scripts"] if not src.startswith(book_server.base_url)]
        if remote:
            problems.append(f"MathJax is loaded from outside the book (set mathjax_path): {remote}")

    problems += [f"broken image: {src}" for src in browser.execute_async_script(_BROKEN_IMAGES)]
    problems += _console_and_network_problems(browser, book_server)
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


def _search(browser, server: _BookServer, term: str) -> list[str]:
    _open(browser, server, f"search.html?q={urllib.request.quote(term)}")
    WebDriverWait(browser, PAGE_TIMEOUT_S).until(
        lambda d: d.execute_script(
            "const s = document.querySelector('#search-results .search-summary, #search-results p');"
            "return s !== null && /found|did not match|no results/i.test(s.textContent);"
        ),
        message=f"the search for {term!r} did not finish",
    )
    return [
        link.get_attribute("href")
        for link in browser.find_elements("css selector", "#search-results ul.search li a")
    ]


def test_search_finds_a_term(browser, book_server: _BookServer) -> None:
    hits = _search(browser, book_server, SEARCH_TERM)
    assert hits, f"searching the book for {SEARCH_TERM!r} found nothing"
    assert all(href.startswith(book_server.base_url) for href in hits)
    problems = _console_and_network_problems(browser, book_server)
    assert not problems, "search page:\n  " + "\n  ".join(problems)
    assert not _search(browser, book_server, "zqxjvwk"), "a nonsense word should find nothing"


def _screenshot_page() -> str:
    chapters = [name for name in PAGES if name.startswith("chapters/") and re.search(r"/\d\d_", name)]
    for preferred in ("chapters/05_variational_autoencoder", "chapters/01_what_is_an_autoencoder"):
        if preferred in chapters:
            return preferred
    return chapters[0] if chapters else PAGES[0]


def _assert_is_a_rendered_page(path: Path) -> None:
    """The picture shows a page: mostly light background, some dark text, and more than one colour."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        grey = np.asarray(image.convert("L"), dtype=np.float32)
    assert grey.shape[0] >= 400 and grey.shape[1] >= 400, f"{path.name}: {grey.shape} is too small"
    dark = float(np.mean(grey < 100))
    light = float(np.mean(grey > 200))
    assert 0.005 < dark < 0.5, f"{path.name}: {dark:.1%} dark pixels, not a page of text"
    assert light > 0.4, f"{path.name}: only {light:.1%} light pixels (a blank or error page?)"
    assert grey.std() > 20, f"{path.name}: nearly uniform picture"


def test_the_screenshot_check_rejects_a_blank_picture(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((800, 800), 255, dtype=np.uint8)).save(blank)
    with pytest.raises(AssertionError, match="dark pixels"):
        _assert_is_a_rendered_page(blank)


def test_screenshot_of_a_chapter(browser, book_server: _BookServer) -> None:
    docname = _screenshot_page()
    _open(browser, book_server, f"{docname}.html")
    if browser.execute_script(_MATH_REPORT)["total"]:
        browser.execute_async_script(_WAIT_FOR_MATHJAX)
    time.sleep(0.5)  # let fonts and images settle before the picture
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{Path(docname).name}.png"
    assert browser.save_screenshot(str(target)), "Chromium did not take the screenshot"
    _assert_is_a_rendered_page(target)
    # A second picture centred on the first figure or equation, where rendering problems show.
    figures = browser.find_elements("css selector", "main img, main svg, main mjx-container")
    if figures:
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", figures[0])
        time.sleep(0.3)
        browser.save_screenshot(str(ARTIFACTS / f"{Path(docname).name}-figure.png"))


def test_mathjax_is_vendored(built_book_html: Path) -> None:
    """Pages with equations load MathJax from the book itself, so the book renders offline."""
    with_math = [
        name
        for name in PAGES
        if (built_book_html / f"{name}.html").is_file()
        and 'class="math' in (built_book_html / f"{name}.html").read_text(encoding="utf-8")
    ]
    assert with_math, "no page of the table of contents has an equation: the math checks would test nothing"
    html = (built_book_html / f"{with_math[0]}.html").read_text(encoding="utf-8")
    sources = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', html, flags=re.IGNORECASE)
    assert sources, f"{with_math[0]}.html has equations but loads no MathJax"
    assert all("://" not in src for src in sources), (
        f"MathJax comes from {sources}; use the vendored copy: in _config.yml's sphinx.config set "
        'mathjax_path: ../mathjax/tex-svg-full.js and html_extra_path: ["_vendor"]'
    )
    assert (built_book_html / "mathjax" / "tex-svg-full.js").is_file(), (
        "the vendored MathJax was not copied (html_extra_path)"
    )
