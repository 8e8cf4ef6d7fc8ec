"""The book builds with warnings as errors, quickly, and every page of the TOC exists."""

from tools import book


def test_book_builds_without_warnings(built_book):
    html, returncode, output, seconds = built_book
    warnings = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
    assert returncode == 0 and not warnings, "\n".join(warnings[:30]) or output[-3000:]
    assert seconds < 180, f"book build took {seconds:.0f} s"


def test_every_chapter_has_a_page(built_book):
    html = built_book[0]
    for notebook in book.toc_notebooks():
        page = html / "chapters" / f"{notebook.stem}.html"
        assert page.is_file(), f"no page for {notebook.name}"
        text = page.read_text(encoding="utf-8")
        assert "<img" in text, f"{page.name} has no figure"
        assert "Traceback" not in text, f"{page.name} shows a traceback"
