"""The Chinese edition (tools/i18n.py): splitting pages into units, the catalogue, and the build.

The unit tests use hand-made markdown and catalogues. The committed catalogue must pass
``python -m tools.i18n check``, and the Chinese edition must build with warnings as errors
(``-W -n --keep-going``); it is built once per test run and shared with tests/test_browser_zh.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import polib
import pytest

from tools import i18n

BUILD_DIR = i18n.ROOT / "_build"
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
CJK = re.compile(r"[\u4e00-\u9fff]")


def units(text: str) -> list[tuple[str, str]]:
    return [(piece.text, piece.kind) for piece in i18n.split_markdown(text) if piece.kind is not None]


# ------------------------------------------------------------------------------------ splitting


def test_paragraphs_and_headings_are_units_and_the_rest_is_verbatim() -> None:
    text = (
        "# What is it?\n\nAn autoencoder copies\nits input.\n\n(sec-idea)=\n## The idea\n"
        "Squeeze, then rebuild.\n\n$$\nz = f(x)\n$$ (eq-model)\n\n```python\nprint('not prose')\n```\n\n"
        "<!-- a comment -->\n\n$x$, {eq}`eq-model`\n\n{glue:text}`n_train`\n"
    )
    assert units(text) == [
        ("# What is it?", "heading"),
        ("An autoencoder copies\nits input.", "paragraph"),
        ("## The idea", "heading"),
        ("Squeeze, then rebuild.", "paragraph"),
    ]
    assert i18n.render(i18n.split_markdown(text), lambda unit: None) == text


def test_prose_directives_are_split_and_code_inside_them_kept() -> None:
    text = """```{exercise} The size of the code
:label: ex-01-code-size

Re-run the chapter with `latent_dim = 2`.

Is the largest code best?
```

````{solution} ex-01-code-size
:class: dropdown

A check:

```python
print(closed, mc)  # agree
```

$$
a = b
$$
````

```{bibliography}
:filter: docname in docnames
```
"""
    assert units(text) == [
        ("The size of the code", "title"),
        ("Re-run the chapter with `latent_dim = 2`.", "paragraph"),
        ("Is the largest code best?", "paragraph"),
        ("A check:", "paragraph"),
    ]
    translated = i18n.render(
        i18n.split_markdown(text),
        {"The size of the code": "编码的大小", "A check:": "验证如下："}.get,
    )
    assert translated.startswith("```{exercise} 编码的大小\n:label: ex-01-code-size\n")
    assert "验证如下：\n\n```python\nprint(closed, mc)  # agree\n```\n\n$$\na = b\n$$\n````" in translated
    assert translated.count("Is the largest code best?") == 1  # no translation: the English stays


def test_generated_regions_and_front_matter_are_verbatim() -> None:
    text = "---\ntitle: x\n---\nText here.\n\n"
    text += "<!-- table:start (generated) -->\n\n| a | b |\n\n<!-- table:end -->\n"
    assert units(text) == [("Text here.", "paragraph")]


def test_every_page_splits_back_to_itself() -> None:
    for page in i18n.toc_pages():
        source = i18n.page_source(page)
        if source.suffix == ".md":
            texts = [source.read_text(encoding="utf-8")]
        else:
            cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
            texts = [i18n._cell_text(cell) for cell in cells if cell["cell_type"] == "markdown"]
        for text in texts:
            assert i18n.render(i18n.split_markdown(text), lambda unit: None) == text, page


# ------------------------------------------------------------------------------------ catalogue

PARAGRAPH = (
    "The reconstructions are blurry. That is not a bug but the signature of the squared error: when the "
    "model is unsure where an edge lies, the average of the possibilities costs less than a sharp guess."
)


def _unit(text: str, where: str = "1") -> i18n.Unit:
    return i18n.Unit(text, ("page.md", where), "paragraph")


def test_changed_unit_becomes_fuzzy_removed_unit_obsolete_and_nothing_is_lost(tmp_path: Path) -> None:
    old = i18n.update_catalogue(
        "page", [_unit("## Summary"), _unit(PARAGRAPH), _unit("A removed paragraph.")]
    )
    for entry, chinese in zip(old, ["## 小结", "重建结果是模糊的。", "被删去的段落。"], strict=True):
        entry.msgstr = chinese
    old.save(str(tmp_path / "page.po"))

    changed = PARAGRAPH.replace("blurry", "rather blurry")
    new = i18n.update_catalogue(
        "page",
        [_unit("## Summary"), _unit(changed), _unit("Something else.")],
        polib.pofile(str(tmp_path / "page.po")),
    )
    new.save(str(tmp_path / "page.po"))
    entries = {entry.msgid: entry for entry in polib.pofile(str(tmp_path / "page.po"))}

    assert entries["## Summary"].msgstr == "## 小结" and "fuzzy" not in entries["## Summary"].flags
    assert entries[changed].msgstr == "重建结果是模糊的。"
    assert "fuzzy" in entries[changed].flags and entries[changed].previous_msgid == PARAGRAPH
    assert entries["Something else."].msgstr == "" and not entries["Something else."].flags
    assert (
        entries["A removed paragraph."].obsolete
        and entries["A removed paragraph."].msgstr == "被删去的段落。"
    )
    assert i18n.translations(new) == {"## Summary": "## 小结"}  # the build ignores fuzzy translations

    back = i18n.update_catalogue("page", [_unit("A removed paragraph.")], new)
    revived = {entry.msgid: entry for entry in back}["A removed paragraph."]
    assert not revived.obsolete and revived.msgstr == "被删去的段落。" and not revived.flags


def test_a_rewritten_unit_is_new_not_fuzzy() -> None:
    old = i18n.update_catalogue("page", [_unit(PARAGRAPH)])
    old[0].msgstr = "重建结果是模糊的。"
    new = i18n.update_catalogue("page", [_unit("Something else entirely, about anomaly detection.")], old)
    assert [(entry.msgstr, entry.fuzzy, entry.obsolete) for entry in new] == [
        ("", False, False),
        ("重建结果是模糊的。", False, True),
    ]


def test_a_unit_used_twice_is_one_entry_with_both_places() -> None:
    catalogue = i18n.update_catalogue("page", [_unit("## Summary", "3"), _unit("## Summary", "9")])
    assert len(catalogue) == 1 and catalogue[0].occurrences == [("page.md", "3"), ("page.md", "9")]


def test_a_translation_must_keep_maths_code_and_references() -> None:
    english = "Minimise {eq}`eq-01-loss` over $\\theta$ with `train.fit`, see {doc}`status`."
    good = "用 `train.fit` 对 $\\theta$ 最小化 {eq}`eq-01-loss`，见附录 {doc}`运行时间 <status>`。"
    assert i18n._must_survive(english) == i18n._must_survive(good)
    assert i18n._must_survive(english) != i18n._must_survive("用 `train.fit` 最小化 {eq}`eq-01-loss`。")
    assert i18n._must_survive(english) != i18n._must_survive(good.replace("eq-01-loss", "eq-01-model"))


def test_terms_are_checked_and_the_first_use_gives_the_english() -> None:
    base = [i18n.Term("variational autoencoder", ("变分自编码器",)), i18n.Term("autoencoder", ("自编码器",))]
    first, second = (
        "An {term}`autoencoder` copies.",
        "A variational autoencoder samples; an autoencoder copies.",
    )
    page = [_unit(first), _unit(second)]

    def warnings(done: dict[str, str]) -> list[str]:
        return i18n._check_terms("page", page, done, base)

    good = {
        first: "{term}`自编码器 <autoencoder>`（autoencoder）负责复制。",
        second: "变分自编码器（variational autoencoder）采样；自编码器复制。",
    }
    assert warnings(good) == []
    assert "should give the English" in " ".join(
        warnings({**good, first: "{term}`自编码器 <autoencoder>`负责复制。"})
    )
    assert "but not 变分自编码器" in " ".join(warnings({**good, second: "VAE 采样；自编码器复制。"}))


def test_glued_strings_exact_patterns_and_only_english_strings() -> None:
    glued = i18n.GluedStrings({"beats": "胜过"}, [(re.compile(r"(\d+) times as fast as"), r"速度为 \1 倍于")])
    assert glued.translate("beats") == "胜过"
    assert glued.translate("3 times as fast as") == "速度为 3 倍于"
    assert glued.translate("level with") is None
    assert i18n._glued_english("'level with'") == "level with"


def test_glued_strings_compose_a_list_from_its_translated_parts() -> None:
    glued = i18n.GluedStrings(
        {"is faster": "更快", "the VAE": "VAE", "the GAN": "GAN"},
        [
            (re.compile(r"(.+?); (.+)"), "{1}，{2}"),
            (re.compile(r"(is faster) for (.+)"), "对{2}{1}"),
            (re.compile(r"(the VAE|the GAN) and (the VAE|the GAN)"), "{1}和{2}"),
        ],
    )
    assert glued.translate("is faster for the VAE and the GAN") == "对 VAE 和 GAN 更快"
    assert glued.translate("is faster for the GAN; is faster for the VAE") == "对 GAN 更快，对 VAE 更快"
    # A part without a translation: the pattern does not apply, and nothing else does.
    assert glued.translate("is faster for the VAE; is slower for the GAN") is None
    assert glued.translate("is faster for the decoder") is None
    assert i18n._glued_english("'0.95x, 1.94x'") is None and i18n._glued_english("0.5") is None


def test_the_books_mixed_benchmark_verdicts_translate_whole() -> None:
    # The performance page's overall verdicts: "A and B" or "A, B and C", each part with its own verb.
    glued = i18n.glued_strings()
    assert (
        glued.translate(
            "is slower for the autoencoder and the GAN and makes no consistent difference for the VAE"
        )
        == "对自编码器和 GAN 更慢，对 VAE 没有一致的影响"
    )
    assert (
        glued.translate(
            "is faster for the VAE, is slower for the autoencoder and makes no consistent difference for the GAN"
        )
        == "对 VAE 更快，对自编码器更慢，对 GAN 没有一致的影响"
    )


# ------------------------------------------------------------------------------- the catalogue


def test_committed_catalogue_is_complete_current_and_uses_the_term_base() -> None:
    """python -m tools.i18n check: the finished pages translated; nothing fuzzy, stale or obsolete."""
    report = i18n.check()
    assert not report.errors, "python -m tools.i18n check:\n" + "\n".join(report.errors[:40])
    assert not report.warnings, "term base:\n" + "\n".join(report.warnings[:40])
    finished = [page for page in report.progress if page not in report.in_progress]
    assert {"intro", "chapters/01_what_is_an_autoencoder", "chapters/02_mathematics"} <= set(finished)


def _glossary() -> dict[str, tuple[str, str]]:
    """English term -> (its whole entry, the Chinese the entry gives as **Standard**, if any)."""
    text = (i18n.ROOT / "chapters" / "glossary.md").read_text(encoding="utf-8")
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, flags=re.DOTALL)
    assert block, "chapters/glossary.md has no {glossary} block"
    entries: dict[str, str] = {}
    term = ""
    for line in block[1].splitlines():
        if line.strip() and not line.startswith((" ", ":")):
            if not term or entries[term]:  # a new entry (a further line before the definition is an alias)
                term = line.strip()
                entries[term] = ""
        elif term:
            entries[term] += line.strip() + " "
    standard = {term: re.search(r"\*\*Standard\*\*:([^.]*)", entry) for term, entry in entries.items()}
    return {
        term: (entries[term], match[1] if match and CJK.search(match[1]) else "")
        for term, match in standard.items()
    }


def test_term_base_agrees_with_the_glossary() -> None:
    """Every glossary term is in the term base, with the glossary's standard Chinese (else the sources')."""
    base = {term.english.lower(): term.chinese[0] for term in i18n.terms()}
    for english, (entry, standard) in _glossary().items():
        assert english.lower() in base, f"glossary term {english!r} is not in locales/zh_CN/terms.yml"
        where = standard or entry
        chinese = base[english.lower()]
        assert chinese in where, (
            f"terms.yml has {english!r} as {chinese}; the glossary: {where.strip()[:200]}"
        )


def test_translated_notebooks_keep_every_code_cell_and_output() -> None:
    glued = i18n.glued_strings()
    for page in i18n.toc_pages():
        source = i18n.page_source(page)
        if source.suffix != ".ipynb":
            continue
        done = i18n.translations(i18n.load_catalogue(page))
        original = json.loads(source.read_text(encoding="utf-8"))
        translated = json.loads(i18n.translate_notebook(source, done, glued))
        assert (
            len(translated["cells"]) == len(original["cells"])
            and translated["metadata"] == original["metadata"]
        )
        for before, after in zip(original["cells"], translated["cells"], strict=True):
            if before["cell_type"] != "code":
                continue
            assert (after["source"], after.get("execution_count")) == (
                before["source"],
                before.get("execution_count"),
            )
            caption = i18n._caption(before)
            if caption in done:
                before["metadata"]["mystnb"]["figure"]["caption"] = done[caption]
            assert after["metadata"] == before["metadata"], page
            for output in before["outputs"]:  # what the build may change: a glued English string
                for data, key, _, english in i18n._glue_outputs({"outputs": [output]}):
                    if (chinese := glued.translate(english)) is not None:
                        data[key] = [repr(chinese)] if isinstance(data[key], list) else repr(chinese)
            assert after["outputs"] == before["outputs"], page


def test_a_glued_verdict_is_rendered_in_chinese(tmp_path: Path) -> None:
    glue_output = {
        "output_type": "display_data",
        "data": {"application/papermill.record/text/plain": "'beats'"},
        "metadata": {"scrapbook": {"name": "verdict", "mime_prefix": "application/papermill.record/"}},
    }
    cells = [
        {
            "cell_type": "markdown",
            "id": "a",
            "metadata": {},
            "source": ["The network {glue:text}`verdict` it."],
        },
        {"cell_type": "code", "id": "b", "execution_count": 1, "metadata": {}, "source": ["glue(...)"]},
    ]
    cells[1]["outputs"] = [glue_output]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "page.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    glued = i18n.GluedStrings({"beats": "胜过"}, [])
    done = {"The network {glue:text}`verdict` it.": "网络{glue:text}`verdict`它。"}
    translated = json.loads(i18n.translate_notebook(path, done, glued))
    assert translated["cells"][0]["source"] == ["网络{glue:text}`verdict`它。"]
    assert translated["cells"][1]["outputs"][0]["data"] == {
        "application/papermill.record/text/plain": "'胜过'"
    }


def test_translated_headings_keep_their_english_anchors() -> None:
    done = i18n.translations(i18n.load_catalogue("chapters/01_what_is_an_autoencoder"))
    headings = [u.text for u in i18n.units_of("chapters/01_what_is_an_autoencoder") if u.kind == "heading"]
    translated = [heading for heading in headings if heading in done]
    assert translated, "chapter 1 has no translated heading"
    for heading in translated:
        chinese_title = re.sub(r"^#+\s*", "", done[heading])
        assert i18n.heading_slug(chinese_title) == i18n._heading_slug_of(heading)


def test_language_links_in_both_editions(tmp_path: Path) -> None:
    """The Sphinx extension links X.html <-> zh_CN/X.html, relative to each page, in a two-page project."""
    source = tmp_path / "src"
    (source / "chapters").mkdir(parents=True)
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(i18n.ROOT)!r})\nextensions = ['tools.i18n']\n", encoding="utf-8"
    )
    (source / "index.rst").write_text("Home\n====\n\n.. toctree::\n\n   chapters/one\n", encoding="utf-8")
    (source / "chapters" / "one.rst").write_text("One\n===\n\nText.\n", encoding="utf-8")
    for language, page, href, hreflang in [
        ("en", "chapters/one.html", "../zh_CN/chapters/one.html", "zh-CN"),
        ("en", "index.html", "zh_CN/index.html", "zh-CN"),
        ("zh_CN", "chapters/one.html", "../../chapters/one.html", "en"),
        ("zh_CN", "index.html", "../index.html", "en"),
    ]:
        out = tmp_path / language
        if not out.is_dir():
            command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", "-D", f"language={language}"]
            done = subprocess.run(
                [*command, str(source), str(out)], capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0 and "WARNING" not in done.stderr, done.stdout + done.stderr
        html = (out / page).read_text(encoding="utf-8")
        assert f'class="i18n-language-link" href="{href}" hreflang="{hreflang}"' in html, f"{language} {page}"
        assert f'<link rel="alternate" hreflang="{hreflang}" href="{href}" />' in html, f"{language} {page}"


# --------------------------------------------------------------------------------- the build


def build_chinese_edition() -> dict:
    """Build the Chinese edition (fresh, warnings as errors) once per test run; xdist workers share it.

    Returns the record: returncode, output, seconds, html (the folder). ``AEUTILS_ZH_HTML`` names an
    HTML folder built elsewhere instead (then nothing is built and the output is empty).
    """
    if "AEUTILS_ZH_HTML" in os.environ:
        return {"returncode": 0, "output": "", "seconds": 0.0, "html": os.environ["AEUTILS_ZH_HTML"]}
    BUILD_DIR.mkdir(exist_ok=True)
    record_path = BUILD_DIR / ".zh-build.json"
    with open(BUILD_DIR / ".zh-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        if record.get("run") != RUN_ID:
            result = i18n.build(fresh=True, publish=False)
            record = {"run": RUN_ID, "returncode": result.returncode, "output": result.output}
            record.update(seconds=result.seconds, html=str(result.html))
            record_path.write_text(json.dumps(record))
    return record


@pytest.fixture(scope="module")
def zh_build() -> dict:
    return build_chinese_edition()


def test_chinese_edition_builds_without_warnings(zh_build: dict) -> None:
    problems = [line for line in zh_build["output"].splitlines() if "WARNING" in line or "ERROR" in line]
    assert zh_build["returncode"] == 0 and not problems, (
        "\n".join(problems[:30]) or zh_build["output"][-3000:]
    )


def test_every_page_has_a_chinese_counterpart(zh_build: dict) -> None:
    html_dir = Path(zh_build["html"])
    in_progress = set(i18n.edition().get("in_progress") or [])
    for page in i18n.toc_pages():
        path = html_dir / f"{page}.html"
        assert path.is_file(), f"no Chinese page for {page}"
        html = path.read_text(encoding="utf-8")
        assert '<html lang="zh-CN"' in html, f"{page}: not marked as Chinese"
        back = "../" * (page.count("/") + 1) + f"{page}.html"
        assert f'class="i18n-language-link" href="{back}"' in html, f"{page}: no link to the English page"
        title = re.search(r"<h1>(.*?)<", html, flags=re.DOTALL)
        if page not in in_progress:
            assert title and CJK.search(title[1]), f"{page}: the title is not translated"


def test_chinese_search_index_knows_the_terms(zh_build: dict) -> None:
    index = (Path(zh_build["html"]) / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("(") + 1 : index.rindex(")")])["terms"]
    for word in ("自编码器", "重建误差", "潜在编码"):
        assert word in terms, f"the search index has no term {word} (was jieba installed for the build?)"


def test_figure_captions_and_verdicts_are_chinese(zh_build: dict) -> None:
    html = (Path(zh_build["html"]) / "chapters" / "01_what_is_an_autoencoder.html").read_text(
        encoding="utf-8"
    )
    captions = re.findall(r'<span class="caption-text">(.*?)</span>', html, flags=re.DOTALL)
    assert captions and all(CJK.search(caption) for caption in captions), captions


def test_the_included_test_suite_sentence_is_translated_for_every_outcome(tmp_path):
    from tools import book

    glued = i18n.glued_strings()  # the committed verdicts.yml
    record = {
        "command": ".venv/bin/python -m pytest -n 2 --dist loadfile",
        "wall_seconds": 672.0,
        "summary": "675 passed, 12 skipped",
        "exit_code": 0,
        "date": "2026-12-03 08:23 UTC",
        "cpu_count": 2,
        "cpu_model": "AMD EPYC",
        "cpu_vector_units": "avx2, fma",
    }
    passed = glued.translate(book.test_timing_markdown(record).strip())
    assert passed == (
        "`.venv/bin/python -m pytest -n 2 --dist loadfile` 在 2026-12-03 08:23 UTC 用时 **11.2 分钟**"
        "（2 个 CPU 核心，AMD EPYC (avx2, fma)）：675 项通过，12 项跳过；运行通过。"
        "由 `python -m tools.book time-tests` 记录。"
    )
    failed = dict(record, summary="3 failed, 670 passed, 2 warnings", exit_code=1)
    del failed["cpu_model"]
    chinese = glued.translate(book.test_timing_markdown(failed).strip())
    assert chinese is not None and "（2 个 CPU 核心）" in chinese
    assert "3 项失败，670 项通过，2 条警告；运行**失败**（退出码 1）。" in chinese
    assert glued.translate(book.test_timing_markdown(None).strip()) is not None  # never timed
    # An unknown summary word is not half-translated: the sentence has no Chinese and check reports it.
    odd = dict(record, summary="675 passed, 1 rerun")
    assert glued.translate(book.test_timing_markdown(odd).strip()) is None

    fragment = tmp_path / "timing.txt"
    fragment.write_text(book.test_timing_markdown(record) + "\nSomething new.\n", encoding="utf-8")
    page = tmp_path / "page.md"
    text = "# Page\n\n```{include} timing.txt\n```\n\n```{include} other.md\n```\n"
    assert i18n.included_fragments(page, text) == [fragment.resolve()]
    out = i18n.translate_fragment(fragment.read_text(encoding="utf-8"), glued)
    assert out == passed + "\n\nSomething new.\n"
    assert i18n.untranslated_fragment_lines(page, text, glued) == ["Something new."]


def test_generated_region_sentences_are_translated_and_unknown_ones_reported():
    glued = i18n.GluedStrings({"All fresh.": "全部最新。"}, [])
    page = (
        "# Title\n\nSome prose.\n\n<!-- status-table:start (x) -->\n\n| A | B |\n|---|---|\n| 1 | 2 |\n\n"
        "All fresh.\n\nSomething new.\n\n<!-- status-table:end -->\n"
    )
    out = i18n.translate_markdown(page, {"Some prose.": "一些文字。"}, glued)
    assert "一些文字。" in out and "全部最新。" in out and "All fresh." not in out
    assert "| 1 | 2 |" in out and "<!-- status-table:end -->" in out and "Something new." in out
    assert i18n.untranslated_generated(page, glued) == ["Something new."]
    assert i18n.translate_markdown(page, {}) == page  # without the glued strings, the region stays as it is
