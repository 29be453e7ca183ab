"""Notes: paired with their Colab notebooks, following the conventions, and executing without error.

The execution tests (marked ``notebook``) run each note in a fresh kernel at smoke size
(``LLMREC_SMOKE=1``) with a 600 s timeout per cell.
"""
from __future__ import annotations

import json
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
    (lambda s: s.replace('"google.colab" in sys.modules and ', ""), "only when"),
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
