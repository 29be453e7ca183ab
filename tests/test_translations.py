"""The Russian edition (docs/<page>.ru.md, built under /ru/ by mkdocs-static-i18n) against the English
pages: every hand-written page has one, and a translation changes only prose. Links, code, numbers,
heading anchors, HTML comments and the generated benchmark blocks must be the same, so the editions
cannot drift apart silently (a number fixed on one page and not on the other fails here)."""
from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify, unique

DOCS = Path(__file__).resolve().parents[1] / "docs"
ENGLISH = sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts and not p.name.endswith(".ru.md"))
PAIRS = [(p, p.with_name(p.name[: -len(".md")] + ".ru.md")) for p in ENGLISH]

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$", re.M)
_EXPLICIT_ID = re.compile(r"\s*\{[^}]*#([\w-]+)[^}]*\}\s*$")


def _fences(text: str) -> list[str]:
    return [m.group(0) for m in _FENCE.finditer(text)]


def _prose(text: str) -> str:
    """The text outside fenced blocks."""
    return _FENCE.sub("", text)


def code_spans(text: str) -> Counter:
    return Counter(re.sub(r"\s+", " ", m.group(2)).strip() for m in _CODE_SPAN.finditer(_prose(text)))


def links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)", _CODE_SPAN.sub("", _prose(text)))


def heading_ids(text: str) -> list[tuple[int, str]]:
    """(level, id) of every heading, as mkdocs' toc extension assigns them: the explicit ``{#id}``,
    or the slug of the heading's text, made unique on the page."""
    seen: set[str] = set()
    out = []
    for m in _HEADING.finditer(_prose(text)):
        title = m.group(2)
        explicit = _EXPLICIT_ID.search(title)
        if explicit:
            hid = explicit.group(1)
        else:
            plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", _CODE_SPAN.sub(lambda c: c.group(2), title))
            hid = unique(slugify(plain, "-"), seen)
        seen.add(hid)
        out.append((len(m.group(1)), hid))
    return out


def numbers(text: str) -> Counter:
    text = re.sub(r"\]\([^)]*\)|\{[^}]*#[\w-]+[^}]*\}", "", text)  # not link targets or heading ids
    return Counter(re.findall(r"\d+(?:[.,]\d+)*", text))


def generated_blocks(text: str) -> list[str]:
    return re.findall(r"<!--.*?-->", text, re.S) + re.findall(
        r"<!-- bench:start (\S+) -->\n(.*?)\n<!-- bench:end", text, re.S)


@pytest.mark.parametrize("english", [p.relative_to(DOCS).as_posix() for p in ENGLISH])
def test_every_hand_written_page_has_a_russian_edition(english):
    ru = DOCS / (english[: -len(".md")] + ".ru.md")
    assert ru.is_file(), f"docs/{english} has no Russian edition (docs/{ru.relative_to(DOCS)})"


@pytest.mark.parametrize("en, ru", [(e, r) for e, r in PAIRS if r.is_file()], ids=lambda p: p.name)
def test_a_translation_changes_only_prose(en, ru):
    a, b = en.read_text(encoding="utf-8"), ru.read_text(encoding="utf-8")
    assert links(b) == links(a), f"{ru.name}: links differ from {en.name}"
    mermaid = lambda blocks: [x for x in blocks if not x.startswith("```mermaid")]  # noqa: E731 (labels translated)
    assert mermaid(_fences(b)) == mermaid(_fences(a)), f"{ru.name}: code blocks differ from {en.name}"
    assert len(_fences(b)) == len(_fences(a)), ru.name
    assert code_spans(b) == code_spans(a), (f"{ru.name}: inline code differs: missing {code_spans(a) - code_spans(b)}, "
                                           f"extra {code_spans(b) - code_spans(a)}")
    assert heading_ids(b) == heading_ids(a), f"{ru.name}: headings (levels, anchors) differ from {en.name}"
    assert numbers(b) == numbers(a), (f"{ru.name}: numbers differ: missing {dict(numbers(a) - numbers(b))}, "
                                      f"extra {dict(numbers(b) - numbers(a))}")
    assert generated_blocks(b) == generated_blocks(a), f"{ru.name}: HTML comments or bench blocks differ"
    prose = re.sub(r"<!--.*?-->|\]\([^)]*\)|<[^>]+>", "", _CODE_SPAN.sub("", _prose(b)), flags=re.S)
    cyrillic, latin = len(re.findall(r"[а-яё]", prose, re.I)), len(re.findall(r"[a-z]", prose, re.I))
    assert cyrillic > latin, f"{ru.name}: mostly not Russian ({cyrillic} Cyrillic vs {latin} Latin letters)"


def test_the_checks_catch_a_drifted_translation():
    en = "# Title\n\nRecall@10 is 0.057 on [TIGER](tiger.md); run `make site`.\n\n## Size modes\n"
    good = "# Заголовок {#title}\n\nRecall@10 равен 0.057 для [TIGER](tiger.md); запустите `make site`.\n\n" \
           "## Режимы размера {#size-modes}\n"
    assert (links(good), code_spans(good), heading_ids(good), numbers(good)) == \
           (links(en), code_spans(en), heading_ids(en), numbers(en))
    assert numbers(good.replace("0.057", "0.058")) != numbers(en)
    assert links(good.replace("tiger.md", "plum/main.md")) != links(en)
    assert code_spans(good.replace("`make site`", "`make docs`")) != code_spans(en)
    assert heading_ids(good.replace("{#size-modes}", "")) != heading_ids(en)  # a Cyrillic heading needs its id
    assert code_spans("a `multi\nline` span") == Counter({"multi line": 1})


# ---------------------------------------------------------------------------------------------
# The notes' prose: notebooks/<page>.ru.md, one block per Markdown cell (scripts/translate_note.py)
# ---------------------------------------------------------------------------------------------
sys.path.insert(0, str(DOCS.parent / "scripts"))
import notelib  # noqa: E402

NOTES = [n.page for n in notelib.discover_notes()]
_MATH = re.compile(r"\$\$.*?\$\$|(?<![\\$])\$(?!\$)[^$\n]+?\$", re.S)


def math(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", m) for m in _MATH.findall(_prose(text))]


@pytest.mark.parametrize("page", NOTES)
def test_every_note_has_a_current_russian_translation(page):
    assert notelib.translation_problems(notelib.Note(page), "ru") == []


@pytest.mark.parametrize("page", [p for p in NOTES if notelib.translation_path(notelib.Note(p), "ru").is_file()])
def test_a_note_translation_changes_only_prose(page):
    note = notelib.Note(page)
    english = notelib.markdown_cells(note)
    russian = notelib.read_translation(notelib.translation_path(note, "ru"))
    cyrillic = latin = 0
    for k, en in enumerate(english, 1):
        if k not in russian:
            continue
        ru = russian[k][1]
        where = f"{page}.ru.md, cell {k}"
        assert links(ru) == links(en), f"{where}: links differ: {links(en)} vs {links(ru)}"
        assert code_spans(ru) == code_spans(en), (f"{where}: inline code differs: missing {code_spans(en) - code_spans(ru)}"
                                                  f", extra {code_spans(ru) - code_spans(en)}")
        assert numbers(ru) == numbers(en), (f"{where}: numbers differ: missing {dict(numbers(en) - numbers(ru))}, "
                                            f"extra {dict(numbers(ru) - numbers(en))}")
        assert math(ru) == math(en), f"{where}: formulas differ"
        plain = lambda blocks: [b for b in blocks if not b.startswith("```mermaid")]  # noqa: E731
        assert plain(_fences(ru)) == plain(_fences(en)), f"{where}: code blocks differ"
        assert [h[0] for h in heading_levels(ru)] == [h[0] for h in heading_levels(en)], f"{where}: headings differ"
        assert (notelib.BADGE_TOKEN in ru) == (notelib.BADGE_TOKEN in en), f"{where}: keep {notelib.BADGE_TOKEN}"
        prose = re.sub(r"\]\([^)]*\)|<[^>]+>", "", _MATH.sub("", _CODE_SPAN.sub("", _prose(ru))))
        cyrillic += len(re.findall(r"[а-яё]", prose, re.I))
        latin += len(re.findall(r"[a-z]", prose, re.I))
    assert cyrillic > latin, f"{page}.ru.md is mostly not Russian ({cyrillic} Cyrillic vs {latin} Latin letters)"


def heading_levels(text: str) -> list[tuple[int, str]]:
    return [(len(m.group(1)), m.group(2)) for m in _HEADING.finditer(_prose(text))]


def test_a_note_translation_follows_its_note(tmp_path, monkeypatch):
    """The translation machinery on a made-up note: the skeleton, a stale cell, the localized copy."""
    import nbformat

    monkeypatch.setattr(notelib, "NOTES_DIR", tmp_path)
    note = notelib.Note("demo")
    note.py.write_text("# %% [markdown]\n# # Title\n#\n# Recall is 0.5.\n\n# %%\nprint(1)\n\n# %% [markdown]\n"
                       "# ## Next\n")
    assert notelib.translation_problems(note, "ru") and not notelib.translation_path(note, "ru").exists()
    notelib.translation_path(note, "ru").write_text(notelib.translation_skeleton(note, "ru"))
    assert notelib.translation_problems(note, "ru") == []  # the skeleton holds the English: current, not translated
    path = notelib.translation_path(note, "ru")
    path.write_text(path.read_text().replace("# Title", "# Заголовок").replace("Recall is", "Полнота равна"))
    nb = notelib.read_source(note)
    executed = tmp_path / "demo.ipynb"
    nbformat.write(nb, executed)
    out, kept = notelib.localize_executed(note, executed, "ru", tmp_path / "ru")
    sources = [c.source for c in nbformat.read(out, as_version=4).cells]
    # the prose is Russian; the headings stay English, so the page's anchors are the English edition's
    assert sources[0] == "# Title\n\nПолнота равна 0.5." and sources[1] == "print(1)" and kept == []
    note.py.write_text(note.py.read_text().replace("0.5", "0.6"))  # the English changes: cell 1 is stale
    assert any("cell 1 changed in English" in p for p in notelib.translation_problems(note, "ru"))
    nbformat.write(notelib.read_source(note), executed)
    out, kept = notelib.localize_executed(note, executed, "ru", tmp_path / "ru")
    assert kept == [1] and nbformat.read(out, as_version=4).cells[0].source.startswith("# Title")
    skeleton = notelib.translation_skeleton(note, "ru")  # keeps the current translation, offers the new English
    assert "0.6" in skeleton and "## Next" in skeleton
