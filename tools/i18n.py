"""The Chinese edition: one gettext catalogue per page, and a build that translates the English sources.

    python -m tools.i18n extract          # update locales/zh_CN/LC_MESSAGES/<page>.po from the English
    python -m tools.i18n check            # list missing, fuzzy, stale and obsolete units; exit 1 if any
    python -m tools.i18n build            # _build/zh_src -> _build/zh_CN -> _build/html/zh_CN
    python -m tools.i18n build --english  # both editions, one command
    python -m tools.i18n glued            # the English strings the notebooks glue into prose

Sphinx's own gettext route cannot translate notebooks under MyST-NB (executablebooks/MyST-NB#587:
translated notebook messages are re-parsed as JSON), so the Chinese sources are made here: the English
pages plus the catalogue. A page's markdown (every markdown cell of a notebook, every ``.md`` page, and
the figure captions in code-cell metadata) is split into units, blocks separated by blank lines; each
unit with prose is one catalogue entry. Code fences, maths, labels and directives without prose are
copied verbatim; the titles and bodies of prose directives (exercise, solution, note, ...) are split
further. Code cells and their outputs are copied as they are, except that glued English strings
(verdicts such as "beats") are replaced by their Chinese from ``locales/zh_CN/verdicts.yml``.

``extract`` works like ``msgmerge``: an English unit that changed keeps its old translation, marked
fuzzy with the old English as ``#| msgid``; a unit that vanished becomes obsolete (``#~``); a
translation is never dropped. Fuzzy translations are not used by ``build`` (the English shows instead).

The module is also a Sphinx extension (``setup``): it links every page to the same page in the other
edition (English ``X.html`` <-> ``zh_CN/X.html``).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import polib
import yaml

from tools.toc import toc_pages

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = "zh_CN"
LOCALE_DIR = ROOT / "locales" / LANGUAGE
CATALOGUE_DIR = LOCALE_DIR / "LC_MESSAGES"
SRC_DIR = ROOT / "_build" / "zh_src"  # the Chinese sources (generated)
OUT_DIR = ROOT / "_build" / LANGUAGE  # jupyter-book --path-output: the HTML lands in OUT_DIR/_build/html
# Inside the English site, so that the links between the editions are relative.
PUBLISH_DIR = ROOT / "_build" / "html" / LANGUAGE
BUILD_FLAGS = ("-W", "-n", "--keep-going")
#: A changed unit keeps its old translation (as fuzzy) when at least this similar (word-level difflib).
FUZZY_CUTOFF = 0.6

# ----------------------------------------------------------------------------------- splitting


def _contains(marker: str, line: str) -> bool:
    return marker in line


class Piece(NamedTuple):
    """A slice of a page's markdown: a unit to translate (``kind`` is not None) or verbatim text."""

    text: str
    kind: str | None = None  # "paragraph", "heading", "title" (of a directive), "caption"


_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:.-]+)\}\s*(?P<arg>.*?)\s*$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_LABEL = re.compile(r"^\s*\([\w.:-]+\)=\s*$")
_OPTION = re.compile(r"^\s*:[\w-]+:")
_GENERATED_START = re.compile(r"<!--\s*([\w-]+):start")
#: Directives whose content is code, maths, a list of files or references: copied verbatim.
VERBATIM_DIRECTIVES = frozenset(
    "bibliography code code-block code-cell sourcecode literalinclude include eval-rst raw toctree "
    "tableofcontents math glue glue:any glue:math glue:md".split()
)
#: Directives whose argument is a title to translate (others have a label or a path there).
TITLED_DIRECTIVES = frozenset("admonition exercise dropdown margin sidebar topic card tab-item".split())
#: Text that carries no prose: maths, roles, inline code, links, tags.
_NOT_PROSE = re.compile(
    r"\$\$.*?\$\$|\$[^$]*\$|\{[\w:.-]+\}`[^`]*`|`[^`]*`|https?://\S+|<[^>]*>", flags=re.DOTALL
)
_WORD = re.compile(r"[^\W\d_]{2,}")


def has_prose(text: str) -> bool:
    """Whether ``text`` has words to translate once maths, roles, code and links are removed."""
    return _WORD.search(_NOT_PROSE.sub(" ", text)) is not None


def _starts_block(line: str) -> bool:
    stripped = line.lstrip()
    return (
        not stripped
        or bool(_FENCE.match(line) or _HEADING.match(line) or _LABEL.match(line))
        or stripped.startswith(("$$", "<!--"))
    )


def _unit(lines: list[str], kind: str) -> list[Piece]:
    text = "".join(lines)
    body = text.rstrip("\n")
    if not has_prose(body):
        return [Piece(text)]
    return [Piece(body, kind), Piece(text[len(body) :])]


def _closing_line(lines: list[str], start: int, is_end: Callable[[str], bool]) -> int:
    """Index of the first line after ``start`` for which ``is_end`` holds (the last line if none)."""
    return next((j for j in range(start + 1, len(lines)) if is_end(lines[j])), len(lines) - 1)


def _is_fence_end(fence: str) -> Callable[[str], bool]:
    def is_end(line: str) -> bool:
        stripped = line.strip()
        return len(stripped) >= len(fence) and set(stripped) == {fence[0]}

    return is_end


def _split_fence(block: list[str], fence: re.Match[str]) -> list[Piece]:
    """A fenced block: code and verbatim directives whole; a prose directive's title and body split."""
    directive = _DIRECTIVE.match(fence["info"].strip())
    if directive is None or directive["name"] in VERBATIM_DIRECTIVES or len(block) < 2:
        return [Piece("".join(block))]
    head, arg = block[0], directive["arg"]
    if directive["name"] in TITLED_DIRECTIVES and has_prose(arg):
        start = head.rindex(arg)
        pieces = [Piece(head[:start]), Piece(arg, "title"), Piece(head[start + len(arg) :])]
    else:
        pieces = [Piece(head)]
    body_start = 1
    if block[1].strip() == "---":  # options as a YAML block
        body_start = _closing_line(block, 1, lambda line: line.strip() == "---") + 1
    else:
        while body_start < len(block) - 1 and _OPTION.match(block[body_start]):
            body_start += 1
    pieces.append(Piece("".join(block[1:body_start])))
    pieces += split_markdown("".join(block[body_start:-1]))
    pieces.append(Piece(block[-1]))
    return pieces


def split_markdown(text: str) -> list[Piece]:
    """Split MyST markdown into pieces whose texts, joined, give ``text`` back exactly."""
    lines = text.splitlines(keepends=True)
    pieces: list[Piece] = []
    i = 0
    while i < len(lines):
        line, stripped = lines[i], lines[i].strip()
        end = i
        if i == 0 and stripped == "---":  # front matter
            end = _closing_line(lines, 0, lambda line: line.strip() == "---")
            pieces.append(Piece("".join(lines[: end + 1])))
        elif not stripped or _LABEL.match(line) or stripped.startswith("+++"):
            pieces.append(Piece(line))
        elif fence := _FENCE.match(line):
            end = _closing_line(lines, i, _is_fence_end(fence["fence"]))
            pieces += _split_fence(lines[i : end + 1], fence)
        elif stripped.startswith("$$"):  # a maths block, up to the line that closes it
            if "$$" not in stripped[2:]:
                end = _closing_line(lines, i, lambda line: "$$" in line)
            pieces.append(Piece("".join(lines[i : end + 1])))
        elif stripped.startswith("<!--"):  # a comment, or a generated region (<!-- name:start ... name:end)
            generated = _GENERATED_START.search(line)
            if generated or "-->" not in line:
                marker = f"{generated[1]}:end" if generated else "-->"
                end = _closing_line(lines, i, functools.partial(_contains, marker))
            pieces.append(Piece("".join(lines[i : end + 1])))
        elif _HEADING.match(line):
            pieces += _unit([line], "heading")
        else:
            while end + 1 < len(lines) and not _starts_block(lines[end + 1]):
                end += 1
            pieces += _unit(lines[i : end + 1], "paragraph")
        i = end + 1
    return [piece for piece in pieces if piece.text]


def render(pieces: Iterable[Piece], translate: Callable[[str], str | None]) -> str:
    """Join the pieces, each unit replaced by its translation where ``translate`` has one."""
    return "".join(
        (translate(piece.text) or piece.text) if piece.kind is not None else piece.text for piece in pieces
    )


# ---------------------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class Unit:
    """One translatable unit of a page, where it is, and what it is."""

    text: str
    where: tuple[str, str]  # (file, cell id or line): the .po occurrence
    kind: str


#: The table of contents' part captions have a catalogue of their own, under this name.
TOC = "_toc"


def catalogue_pages() -> list[str]:
    """Every catalogue: the table of contents, then the pages in reading order."""
    return [TOC, *toc_pages()]


def toc_units(root: Path = ROOT) -> list[Unit]:
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    parts = [part for part in toc.get("parts", []) if part.get("caption")]
    return [Unit(str(part["caption"]), ("_toc.yml", f"part-{i}"), "caption") for i, part in enumerate(parts)]


def units_of(page: str) -> list[Unit]:
    return toc_units() if page == TOC else page_units(page_source(page))


def page_source(page: str, root: Path = ROOT) -> Path:
    for suffix in (".ipynb", ".md"):
        if (path := root / f"{page}{suffix}").is_file():
            return path
    raise FileNotFoundError(f"_toc.yml lists {page}, but neither {page}.ipynb nor {page}.md exists")


def _cell_text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _markdown_of(path: Path) -> str:
    """A page's markdown: the file itself, or a notebook's markdown cells joined."""
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join(_cell_text(cell) for cell in cells if cell["cell_type"] == "markdown")


def _caption(cell: dict[str, Any]) -> str | None:
    figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
    caption = figure.get("caption") if isinstance(figure, dict) else None
    return caption if isinstance(caption, str) and has_prose(caption) else None


def page_units(path: Path, root: Path = ROOT) -> list[Unit]:
    """The translatable units of one page, in reading order (a notebook's captions with their cell)."""
    rel = path.relative_to(root).as_posix()
    units: list[Unit] = []
    if path.suffix == ".md":
        line = 1
        for piece in split_markdown(path.read_text(encoding="utf-8")):
            if piece.kind is not None:
                units.append(Unit(piece.text, (rel, str(line)), piece.kind))
            line += piece.text.count("\n")
        return units
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        where = (rel, f"cell-{cell.get('id', index)}")
        if cell["cell_type"] == "markdown":
            units += [Unit(p.text, where, p.kind) for p in split_markdown(_cell_text(cell)) if p.kind]
        elif cell["cell_type"] == "code" and (caption := _caption(cell)):
            units.append(Unit(caption, where, "caption"))
    return units


# ------------------------------------------------------------------------------------ catalogue


def catalogue_path(page: str) -> Path:
    return CATALOGUE_DIR / f"{Path(page).stem}.po"


def _new_catalogue(page: str) -> polib.POFile:
    catalogue = polib.POFile(wrapwidth=100)
    catalogue.header = f"Simplified Chinese translation of {page} (python -m tools.i18n extract)."
    catalogue.metadata = {
        "Project-Id-Version": "Autoencoders, Hands-On",
        "Language": LANGUAGE,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=1; plural=0;",
    }
    return catalogue


def load_catalogue(page: str) -> polib.POFile:
    path = catalogue_path(page)
    return polib.pofile(str(path), wrapwidth=100) if path.is_file() else _new_catalogue(page)


def similarity(old: str, new: str) -> float:
    """Word-level similarity in [0, 1] (difflib), which decides whether a changed unit is fuzzy."""
    return difflib.SequenceMatcher(None, old.split(), new.split(), autojunk=False).ratio()


def _closest(msgid: str, candidates: list[polib.POEntry]) -> polib.POEntry | None:
    scored = [(similarity(entry.msgid, msgid), entry) for entry in candidates]
    scored = [(score, entry) for score, entry in scored if score >= FUZZY_CUTOFF]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def update_catalogue(page: str, units: list[Unit], old: polib.POFile | None = None) -> polib.POFile:
    """The catalogue of ``units``, keeping every translation of ``old`` (as msgmerge does)."""
    catalogue = _new_catalogue(page)
    old_entries = list(old) if old is not None else []
    by_msgid = {entry.msgid: entry for entry in old_entries if entry.obsolete}
    by_msgid.update({entry.msgid: entry for entry in old_entries if not entry.obsolete})
    used: set[str] = set()
    entries: dict[str, polib.POEntry] = {}
    for unit in units:
        if unit.text in entries:
            entries[unit.text].occurrences.append(unit.where)
            continue
        hint = "" if unit.kind == "paragraph" else unit.kind  # for translators: heading, caption, title
        entry = polib.POEntry(msgid=unit.text, occurrences=[unit.where], comment=hint)
        if (previous := by_msgid.get(unit.text)) is not None:
            entry.msgstr, entry.flags = previous.msgstr, list(previous.flags)
            entry.tcomment = previous.tcomment
            entry.previous_msgid = previous.previous_msgid if "fuzzy" in previous.flags else None
            used.add(unit.text)
        entries[unit.text] = entry
    unmatched = [entry for entry in entries.values() if entry.msgid not in used]
    candidates = [entry for entry in old_entries if entry.msgid not in entries and entry.msgstr]
    for entry in unmatched:
        if (previous := _closest(entry.msgid, candidates)) is not None:
            entry.msgstr, entry.flags, entry.previous_msgid = previous.msgstr, ["fuzzy"], previous.msgid
            entry.tcomment = previous.tcomment
            used.add(previous.msgid)
    for entry in entries.values():
        catalogue.append(entry)
    for entry in old_entries:  # vanished units keep their translation, as obsolete entries
        if entry.msgid not in entries and entry.msgid not in used and entry.msgstr:
            entry.obsolete, entry.occurrences = True, []
            catalogue.append(entry)
    return catalogue


def extract(pages: list[str] | None = None) -> dict[str, polib.POFile]:
    """Write the catalogue of every page (or of ``pages``) from the current English sources."""
    CATALOGUE_DIR.mkdir(parents=True, exist_ok=True)
    catalogues = {}
    for page in pages or catalogue_pages():
        catalogue = update_catalogue(page, units_of(page), load_catalogue(page))
        catalogue.save(str(catalogue_path(page)))
        catalogues[page] = catalogue
    return catalogues


def translations(catalogue: polib.POFile) -> dict[str, str]:
    """msgid -> msgstr for the current (translated, not fuzzy, not obsolete) entries."""
    return {
        entry.msgid: entry.msgstr
        for entry in catalogue
        if entry.msgstr and not entry.obsolete and "fuzzy" not in entry.flags
    }


# -------------------------------------------------------------------------------- edition data


def _load_yaml(name: str) -> Any:
    path = LOCALE_DIR / name
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


def edition() -> dict[str, Any]:
    """``locales/zh_CN/edition.yml``: the pages still in progress and the note shown on them."""
    return _load_yaml("edition.yml") or {}


@dataclass(frozen=True)
class Term:
    english: str
    chinese: tuple[str, ...]  # the first is the book's term; the others are accepted forms

    @property
    def pattern(self) -> re.Pattern[str]:
        words = [re.escape(word).replace(r"\-", r"[\s-]?") for word in self.english.split()]
        return re.compile(r"\b" + r"\s+".join(words) + r"(?:s|es)?\b", flags=re.IGNORECASE)


def terms() -> list[Term]:
    """The term base (``locales/zh_CN/terms.yml``), longest English term first."""
    data = _load_yaml("terms.yml") or {}
    base = [Term(english, tuple([zh] if isinstance(zh, str) else zh)) for english, zh in data.items()]
    return sorted(base, key=lambda term: -len(term.english))


#: ``{1}`` in a pattern's Chinese: the group's own translation (a pattern does not apply without one).
_TRANSLATED_GROUP = re.compile(r"\{(\d)\}")
#: Where a composed translation puts Chinese characters next to Latin letters or digits.
_CJK_LATIN = re.compile(r"(?<=[\u4e00-\u9fff])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[\u4e00-\u9fff])")


class GluedStrings(NamedTuple):
    exact: dict[str, str]
    patterns: list[tuple[re.Pattern[str], str]]

    def translate(self, english: str) -> str | None:
        """The Chinese of a glued string: an exact entry, else the first pattern that applies.

        In a pattern's Chinese, ``\\1`` is the first group as it stands and ``{1}`` its translation (by
        the same rules, so a list of verdicts composes from the verdicts); a pattern whose ``{n}`` group
        has no translation does not apply. A composed result gets a space between Chinese characters
        and Latin letters or digits, as the hand-written entries have.
        """
        if english in self.exact:
            return self.exact[english]
        for pattern, chinese in self.patterns:
            match = pattern.fullmatch(english)
            if match is None:
                continue
            parts = {n: self.translate(match.group(int(n))) for n in _TRANSLATED_GROUP.findall(chinese)}
            if None in parts.values():
                continue
            text = match.expand(chinese)
            for n, part in parts.items():
                text = text.replace("{" + n + "}", str(part))
            return _CJK_LATIN.sub(" ", text) if parts else text
        return None


def glued_strings() -> GluedStrings:
    """``locales/zh_CN/verdicts.yml``, plus every translated page title (a glued chapter name)."""
    data = _load_yaml("verdicts.yml") or {}
    exact = {str(key): str(value) for key, value in (data.get("exact") or {}).items()}
    for page in toc_pages():
        done = translations(load_catalogue(page))
        for unit in page_units(page_source(page))[:1]:
            if unit.kind == "heading" and unit.text.startswith("# ") and unit.text in done:
                exact.setdefault(unit.text[2:].strip(), done[unit.text][2:].strip())
    patterns = [(re.compile(key), str(value)) for key, value in (data.get("patterns") or {}).items()]
    return GluedStrings(exact, patterns)


def _glued_english(data: Any) -> str | None:
    """The string a glue output holds, when it is a Python str literal with English words in it."""
    text = "".join(data) if isinstance(data, list) else data
    if not isinstance(text, str) or text[:1] not in "'\"":
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) and re.search(r"[A-Za-z]{2,}", value) else None


def _glue_outputs(cell: dict[str, Any]) -> Iterable[tuple[dict[str, Any], str, str, str]]:
    """(output data, mime key, glue name, English string) of each glued English string of a cell."""
    for output in cell.get("outputs", []):
        scrapbook = output.get("metadata", {}).get("scrapbook")
        if not scrapbook:
            continue
        for key, data in output.get("data", {}).items():
            if key.endswith("text/plain") and (english := _glued_english(data)) is not None:
                yield output["data"], key, scrapbook.get("name", "?"), english


def glued_english(path: Path) -> list[tuple[str, str]]:
    """(glue name, English string) of every glued string of a notebook."""
    if path.suffix != ".ipynb":
        return []
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(name, english) for cell in cells for _, _, name, english in _glue_outputs(cell)]


# ---------------------------------------------------------------------------------------- check

_ROLE = re.compile(r"\{(?P<role>[\w:.-]+)\}`(?P<content>[^`]*)`")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]+\$", flags=re.DOTALL)
_LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")
_CODE = re.compile(r"`[^`\n]+(?:\n[^`\n]+)?`")  # a code span may wrap onto a second line


def _must_survive(text: str) -> list[str]:
    """What a translation must keep: maths, inline code, link targets, targets of roles other than term."""
    kept = []
    for role in _ROLE.finditer(text):
        if role["role"] != "term":
            target = re.search(r"<([^>]*)>\s*$", role["content"])
            kept.append(f"{{{role['role']}}}{target[1] if target else role['content']}")
    rest = _ROLE.sub(" ", text)
    kept += [match[0] for match in _CODE.finditer(rest)]
    rest = _CODE.sub(" ", rest)
    kept += [match[0] for pattern in (_MATH, _LINK_TARGET) for match in pattern.finditer(rest)]
    return sorted(" ".join(item.split()) for item in kept)


def _plain(text: str) -> str:
    """Prose only: maths, code, role and link targets removed, a {term} role reduced to its text."""

    def role(match: re.Match[str]) -> str:
        return re.sub(r"\s*<[^>]*>\s*$", "", match["content"]) if match["role"] == "term" else " "

    text = _CODE.sub(" ", _ROLE.sub(role, text))
    text = re.sub(r"\]\([^)\s]*\)", "] ", text)  # a link's target ("...#encoders-as-...") is not prose
    return re.sub(r"\*+|_{2,}", "", _MATH.sub(" ", text))


def _heading_level(text: str) -> int:
    return len(text) - len(text.lstrip("#")) if text.startswith("#") else 0


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    progress: dict[str, tuple[int, int]] = field(default_factory=dict)  # page -> (translated, units)
    in_progress: set[str] = field(default_factory=set)


def _short(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return json.dumps(flat if len(flat) <= width else flat[: width - 1] + "…", ensure_ascii=False)


def _check_terms(page: str, units: list[Unit], done: dict[str, str], base: list[Term]) -> list[str]:
    """Term base: each English term rendered by its Chinese; the first use gives the English too."""
    warnings, introduced = [], set()
    for unit in units:
        if unit.text not in done:
            continue
        english, chinese = _plain(unit.text), _plain(done[unit.text])
        for term in base:
            if not term.pattern.search(english):
                continue
            english = term.pattern.sub(" ", english)  # "variational autoencoder" is not "autoencoder" too
            if not any(zh in chinese for zh in term.chinese):
                warnings.append(f"{page}: {_short(unit.text)} has {term.english!r} but not {term.chinese[0]}")
            elif page != TOC and unit.kind not in ("heading", "title") and term.english not in introduced:
                introduced.add(term.english)
                first = "|".join(map(re.escape, term.chinese))
                english_after = re.compile(rf"(?:{first})\s*[（(][^）)]*?{term.pattern.pattern}", flags=re.I)
                if not english_after.search(chinese):
                    warnings.append(
                        f"{page}: first use of {term.chinese[0]} should give the English: "
                        f"{term.chinese[0]}（{term.english}）, in {_short(done[unit.text])}"
                    )
    return warnings


def check_page(page: str, *, in_progress: bool, glued: GluedStrings, base: list[Term]) -> Report:
    report = Report()
    units, catalogue = units_of(page), load_catalogue(page)
    active = {entry.msgid: entry for entry in catalogue if not entry.obsolete}
    done = translations(catalogue)
    current = {unit.text for unit in units}
    missing = [unit for unit in units if unit.text not in active or not active[unit.text].msgstr]
    fuzzy = [unit for unit in units if unit.text in active and "fuzzy" in active[unit.text].flags]
    report.progress[page] = (len({unit.text for unit in units if unit.text in done}), len(current))
    if not catalogue_path(page).is_file():
        report.errors.append(f"{page}: no catalogue; run python -m tools.i18n extract")
    # On a page in progress, only what carries a translation must be current.
    stale = [e for e in active.values() if e.msgid not in current and (e.msgstr or not in_progress)]
    report.errors += [
        f"{page}: fuzzy (the English changed; update the translation): {_short(u.text)}" for u in fuzzy
    ]
    report.errors += [
        f"{page}: stale entry (the English changed; run extract): {_short(e.msgid)}" for e in stale
    ]
    report.errors += [f"{page}: obsolete entry: {_short(e.msgid)}" for e in catalogue.obsolete_entries()]
    for unit in units:
        if unit.text in done:
            if _must_survive(unit.text) != _must_survive(done[unit.text]):
                lost = set(_must_survive(unit.text)) ^ set(_must_survive(done[unit.text]))
                report.errors.append(
                    f"{page}: maths, code or references differ in {_short(unit.text)}: {lost}"
                )
            if _heading_level(unit.text) != _heading_level(done[unit.text]):
                report.errors.append(f"{page}: heading level changed in {_short(done[unit.text])}")
    if in_progress:
        if not missing and not fuzzy:
            report.errors.append(
                f"{page}: complete; remove it from in_progress in {LOCALE_DIR / 'edition.yml'}"
            )
        return report
    report.errors += [
        f"{page}: missing (translate it, or list the page under in_progress): {_short(unit.text)}"
        for unit in missing
    ]
    report.errors += [
        f"{page}: glued string {name} = {english!r} has no Chinese in verdicts.yml"
        for name, english in ([] if page == TOC else glued_english(page_source(page)))
        if glued.translate(english) is None
    ]
    source = page_source(page) if page != TOC else None
    if source is not None:
        text = _markdown_of(source)
        if source.suffix == ".md":
            report.errors += [
                f"{page}: generated sentence {_short(line)!r} has no Chinese in verdicts.yml"
                for line in untranslated_generated(text, glued)
            ]
        report.errors += [
            f"{page}: included sentence {_short(line)!r} has no Chinese in verdicts.yml"
            for line in untranslated_fragment_lines(source, text, glued)
        ]
    report.warnings += _check_terms(page, units, done, base)
    return report


def check(pages: list[str] | None = None, *, strict: bool = False) -> Report:
    """Every unit of every page translated and current (pages in progress may miss units unless strict)."""
    in_progress = set(edition().get("in_progress") or [])
    glued, base, report = glued_strings(), terms(), Report(in_progress=set() if strict else in_progress)
    for page in pages or catalogue_pages():
        page_report = check_page(page, in_progress=page in in_progress and not strict, glued=glued, base=base)
        report.errors += page_report.errors
        report.warnings += page_report.warnings
        report.progress.update(page_report.progress)
    english_of: dict[str, str] = {}  # translated headings must keep distinct anchors (heading_slug)
    for page in toc_pages():
        done = translations(load_catalogue(page))
        for unit in (u for u in units_of(page) if u.kind == "heading" and u.text in done):
            zh, en = _heading_slug_of(done[unit.text]), _heading_slug_of(unit.text)
            if english_of.setdefault(zh, en) != en:
                report.errors.append(
                    f"{page}: {_short(done[unit.text])} translates two headings ({en}, {english_of[zh]})"
                )
    return report


# ---------------------------------------------------------------------------------------- build


def _untranslated_note(text: str, note: str) -> str:
    """Put the note under the page's title (or on top when there is none)."""
    match = re.search(r"^# .*\n", text, flags=re.MULTILINE)
    at = match.end() if match else 0
    return f"{text[:at]}\n{note.strip()}\n\n{text[at:]}"


def _generated_sentences(text: str) -> list[int]:
    """The lines of a generated region (``<!-- name:start`` ... ``name:end``) that are sentences, not
    table rows or markers; none when ``text`` is not a generated region."""
    if not _GENERATED_START.search(text.split("\n", 1)[0]):
        return []
    return [
        i
        for i, line in enumerate(text.split("\n"))
        if line.strip() and not line.lstrip().startswith(("|", "<!--"))
    ]


def _translate_generated(text: str, glued: GluedStrings | None) -> str:
    """A generated region with its sentences in Chinese where ``glued`` has them: the status page's notes
    under its table."""
    if glued is None:
        return text
    lines = text.split("\n")
    for i in _generated_sentences(text):
        lines[i] = glued.translate(lines[i].strip()) or lines[i]
    return "\n".join(lines)


def translate_markdown(text: str, done: dict[str, str], glued: GluedStrings | None = None) -> str:
    pieces = [
        piece if piece.kind is not None else Piece(_translate_generated(piece.text, glued))
        for piece in split_markdown(text)
    ]
    return render(pieces, done.get)


def untranslated_generated(text: str, glued: GluedStrings) -> list[str]:
    """The sentences of a page's generated regions that have no Chinese (``check`` reports them)."""
    missing = []
    for piece in split_markdown(text):
        if piece.kind is None:
            lines = piece.text.split("\n")
            missing += [lines[i].strip() for i in _generated_sentences(piece.text)]
    return [line for line in missing if glued.translate(line) is None]


def included_fragments(page_path: Path, text: str) -> list[Path]:
    """The ``.txt`` files a page pulls in with ``{include}``: one-sentence fragments that a tool writes
    (the test-suite's timing), translated line by line through ``verdicts.yml`` like generated regions."""
    names = re.findall(r"\{include\}\s+(\S+\.txt)\b", text)
    return [(page_path.parent / name).resolve() for name in names]


def translate_fragment(text: str, glued: GluedStrings) -> str:
    """An included fragment with each sentence (a non-blank line) in Chinese where ``glued`` has it."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            lines[i] = glued.translate(line.strip()) or line
    return "\n".join(lines)


def untranslated_fragment_lines(page_path: Path, text: str, glued: GluedStrings) -> list[str]:
    """The sentences of a page's included fragments that have no Chinese (``check`` reports them)."""
    lines = []
    for fragment in included_fragments(page_path, text):
        if fragment.is_file():
            lines += [
                line.strip() for line in fragment.read_text(encoding="utf-8").split("\n") if line.strip()
            ]
    return [line for line in lines if glued.translate(line) is None]


def translate_notebook(path: Path, done: dict[str, str], glued: GluedStrings, note: str | None = None) -> str:
    """The notebook with translated markdown, captions and glued strings; code cells otherwise unchanged."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    first_markdown = True
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            text = translate_markdown(_cell_text(cell), done)
            if note and first_markdown:
                text = _untranslated_note(text, note)
            first_markdown = False
            cell["source"] = text.splitlines(keepends=True)
        elif cell["cell_type"] == "code":
            if (caption := _caption(cell)) and caption in done:
                cell["metadata"]["mystnb"]["figure"]["caption"] = done[caption]
            for data, key, _, english in _glue_outputs(cell):
                if (chinese := glued.translate(english)) is not None:
                    data[key] = [repr(chinese)] if isinstance(data[key], list) else repr(chinese)
    return json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _write(path: Path, content: str | bytes) -> None:
    """Write only what changed, so that Sphinx rebuilds only the pages whose sources changed."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _referenced_files(page_path: Path, text: str) -> list[Path]:
    """Files a page includes or shows (literalinclude, include, figure, image, markdown images)."""
    names = re.findall(r"\{(?:literalinclude|include|figure|image)\}\s+(\S+)", text)
    names += re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text)
    return [(page_path.parent / name).resolve() for name in names if "://" not in name]


def write_sources(dest: Path = SRC_DIR) -> list[Path]:
    """The Chinese source tree: config, table of contents, bibliography, shared files, translated pages."""
    info = edition()
    glued, jieba_dict = glued_strings(), dest / "_search_terms.txt"
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config = _deep_merge(config, _load_yaml("_config.yml") or {})
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("local_extensions", {})["tools.i18n"] = str(ROOT)
    sphinx.setdefault("config", {})["html_search_options"] = {"dict": str(jieba_dict)}
    written = [dest / "_config.yml", jieba_dict]
    _write(written[0], yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    words = sorted({zh for term in terms() for zh in term.chinese if " " not in zh})
    _write(jieba_dict, "".join(f"{word} 100000 n\n" for word in words))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    captions = translations(load_catalogue(TOC))
    for part in toc.get("parts", []):
        part["caption"] = captions.get(str(part.get("caption")), part.get("caption"))
    written.append(dest / "_toc.yml")
    _write(written[-1], yaml.safe_dump(toc, allow_unicode=True, sort_keys=False))
    shared = [ROOT / name for name in config.get("bibtex_bibfiles", [])]
    shared += [ROOT / name for name in sphinx.get("config", {}).get("html_extra_path", [])]
    shared += [ROOT / "_static"]
    fragments: set[Path] = set()
    for page in toc_pages():
        source = page_source(page)
        done = translations(load_catalogue(page))
        untranslated = any(unit.text not in done for unit in page_units(source))
        note = info.get("untranslated_note") if untranslated else None
        if source.suffix == ".ipynb":
            content = translate_notebook(source, done, glued, note)
            cells = json.loads(content)["cells"]
            shared += [file for cell in cells for file in _referenced_files(source, _cell_text(cell))]
            fragments.update(file for cell in cells for file in included_fragments(source, _cell_text(cell)))
        else:
            content = translate_markdown(source.read_text(encoding="utf-8"), done, glued)
            content = _untranslated_note(content, note) if note else content
            shared += _referenced_files(source, content)
            fragments.update(included_fragments(source, content))
        written.append(dest / source.relative_to(ROOT))
        _write(written[-1], content)
    for path in (path for path in shared if path.is_relative_to(ROOT)):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in (f for f in files if f.is_file() and "__pycache__" not in f.parts):
            written.append(dest / file.relative_to(ROOT))
            if file in fragments:
                _write(written[-1], translate_fragment(file.read_text(encoding="utf-8"), glued))
            else:
                _write(written[-1], file.read_bytes())
    keep = set(written)
    generated = (p for p in dest.rglob("*") if p.is_file() and "_build" not in p.relative_to(dest).parts)
    for stale in [path for path in generated if path not in keep]:
        stale.unlink()
    return written


def jupyter_book() -> str:
    executable = Path(sys.executable).with_name("jupyter-book")
    return str(executable) if executable.is_file() else shutil.which("jupyter-book") or "jupyter-book"


@dataclass
class BuildResult:
    returncode: int
    output: str
    seconds: float
    html: Path


def build(*, fresh: bool = False, publish: bool = True, english: bool = False) -> BuildResult:
    """Build the Chinese edition (after the English one if ``english``) with warnings as errors."""
    start, output = time.perf_counter(), ""
    if english:
        done = subprocess.run(
            [jupyter_book(), "build", ".", *BUILD_FLAGS], cwd=ROOT, capture_output=True, text=True
        )
        output += done.stdout + done.stderr
        if done.returncode != 0:
            return BuildResult(done.returncode, output, time.perf_counter() - start, ROOT / "_build" / "html")
    write_sources()
    command = [jupyter_book(), "build", str(SRC_DIR), "--path-output", str(OUT_DIR), *BUILD_FLAGS]
    done = subprocess.run(command + (["--all"] if fresh else []), cwd=ROOT, capture_output=True, text=True)
    output += done.stdout + done.stderr
    html = OUT_DIR / "_build" / "html"
    if done.returncode == 0 and publish:
        shutil.rmtree(PUBLISH_DIR, ignore_errors=True)
        shutil.copytree(html, PUBLISH_DIR)
        html = PUBLISH_DIR
    return BuildResult(done.returncode, output, time.perf_counter() - start, html)


# ------------------------------------------------------------------------------ Sphinx extension

_SLUG_CLEAN = re.compile(r"[^\w\u4e00-\u9fff\- ]")  # as MyST's default_slugify


def _slugify(title: str) -> str:
    return _SLUG_CLEAN.sub("", title.lower().replace(" ", "-"))


def _heading_slug_of(heading: str) -> str:
    """The slug MyST gives a markdown heading line: its text and inline code, without markup."""
    title = _ROLE.sub("", _MATH.sub("", re.sub(r"^#+\s*", "", heading.strip())))
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
    return _slugify(title.replace("`", "").replace("*", ""))


@functools.cache
def _english_slugs() -> dict[str, str]:
    """Slug of each translated heading -> slug of its English heading."""
    slugs: dict[str, str] = {}
    for page in toc_pages():
        done = translations(load_catalogue(page))
        for unit in units_of(page):
            if unit.kind == "heading" and unit.text in done:
                slugs.setdefault(_heading_slug_of(done[unit.text]), _heading_slug_of(unit.text))
    return slugs


def heading_slug(title: str) -> str:
    """``myst_heading_slug_func`` of the Chinese edition: a translated heading keeps its English anchor,
    so that links such as ``page.ipynb#section-title`` work in both editions."""
    slug = _slugify(title)
    return _english_slugs().get(slug, slug)


def _anchor_slugs(app: Any, doctree: Any) -> None:
    """Give each section its slug as an HTML id too (page.html#section-title), in the translated edition."""
    from docutils import nodes

    if (app.config.language or "en").startswith("en"):
        return
    for section in doctree.findall(nodes.section):
        slug = section.get("slug")
        if slug and slug not in section["ids"] and slug not in doctree.ids:
            section["ids"].append(slug)
            doctree.ids[slug] = section


def _other_edition(language: str | None, pagename: str) -> tuple[str, str, str]:
    """(href, hreflang, label) of the same page in the other edition, relative to ``pagename``."""
    depth = pagename.count("/")
    if (language or "en").startswith("zh"):
        return "../" * (depth + 1) + f"{pagename}.html", "en", "English"
    return "../" * depth + f"{LANGUAGE}/{pagename}.html", "zh-CN", "中文"


def _add_language_link(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    href, hreflang, label = _other_edition(app.config.language, pagename)
    context["metatags"] = (
        context.get("metatags", "") + f'\n<link rel="alternate" hreflang="{hreflang}" href="{href}" />'
    )
    if context.get("body"):
        link = (
            f'<a class="i18n-language-link" href="{href}" hreflang="{hreflang}" lang="{hreflang}">{label}</a>'
        )
        switch = f'<p class="i18n-language-switch" style="text-align: right; margin: 0;">{link}</p>\n'
        context["body"] = switch + context["body"]


def _apply_theme_options(app: Any, config: Any) -> None:
    if config.i18n_theme_options:
        config.html_theme_options = {**(config.html_theme_options or {}), **config.i18n_theme_options}


def setup(app: Any) -> dict[str, Any]:
    """Sphinx extension: a link to the other edition on every page; per-edition theme options."""
    app.add_config_value("i18n_theme_options", {}, "html")
    app.connect("config-inited", _apply_theme_options)
    app.connect("html-page-context", _add_language_link)
    app.connect("doctree-read", _anchor_slugs)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


# ------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.i18n", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    extracting = commands.add_parser("extract", help="update the catalogues from the English pages")
    extracting.add_argument(
        "pages", nargs="*", help="pages to update, e.g. chapters/04_regularised_autoencoders (default: all)"
    )
    checking = commands.add_parser("check", help="fail on missing, fuzzy, stale or obsolete translations")
    checking.add_argument("--strict", action="store_true", help="pages in progress count too; warnings fail")
    building = commands.add_parser("build", help="build the Chinese edition into _build/html/zh_CN")
    building.add_argument("--english", action="store_true", help="build the English edition first")
    building.add_argument("--fresh", action="store_true", help="re-read every page (all warnings shown)")
    commands.add_parser("glued", help="list the English strings glued into prose, with their Chinese")
    args = parser.parse_args(argv)

    if args.command == "extract":
        pages = [page.removesuffix(".ipynb").removesuffix(".md") for page in args.pages]
        for page, catalogue in extract(pages or None).items():
            print(
                f"{catalogue_path(page).relative_to(ROOT)}: {len(catalogue)} units, "
                f"{catalogue.percent_translated()}% translated, {len(catalogue.fuzzy_entries())} fuzzy, "
                f"{len(catalogue.obsolete_entries())} obsolete"
            )
        return 0
    if args.command == "check":
        report = check(strict=args.strict)
        for page, (translated, total) in report.progress.items():
            print(
                f"{page}: {translated}/{total} units translated"
                + (" (in progress)" * (page in report.in_progress))
            )
        for line in report.warnings:
            print("warning:", line)
        for line in report.errors:
            print("error:", line)
        return 1 if report.errors or (args.strict and report.warnings) else 0
    if args.command == "glued":
        glued = glued_strings()
        for page in toc_pages():
            for name, english in glued_english(page_source(page)):
                print(f"{page}: {name} = {english!r} -> {glued.translate(english)!r}")
        return 0
    result = build(fresh=args.fresh, english=args.english)
    print(result.output[-6000:] if result.returncode else f"built {result.html} in {result.seconds:.0f} s")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
