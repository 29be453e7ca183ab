"""Numbers in the notes' prose come from the run: `llmrec_mini.notes` renders them, and
`scripts/prose_numbers.py` fails a note whose Markdown types one in."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from llmrec_mini.notes import minutes, render, say

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import notelib  # noqa: E402
import prose_numbers  # noqa: E402

HEADER = "# ---\n# jupyter:\n#   jupytext:\n#     formats: py:percent\n# ---\n\n"


def _note(tmp_path: Path, *cells: str) -> Path:
    path = tmp_path / "note.py"
    path.write_text(HEADER + "\n\n".join(cells) + "\n")
    return path


@pytest.mark.parametrize("page", [n.page for n in notelib.discover_notes()])
def test_every_note_states_no_typed_number(page):
    findings = prose_numbers.check_note(notelib.Note(page).py)
    assert not findings, "\n".join(map(str, findings))


def test_a_typed_run_number_is_caught(tmp_path):
    """The overview once said SASRec trains '20 epochs in about 3 minutes' while its output said 63 s."""
    path = _note(tmp_path, "# %% [markdown]\n# SASRec trained 20 epochs in about 3 minutes, reaching 0.25 (41%).",
                 "# %%\nprint(1)")
    found = prose_numbers.check_note(path)
    assert [f.number for f in found] == ["20", "3", "0.25", "41%"]
    assert all(f.cell == 1 for f in found) and "say" in str(found[0])
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "prose_numbers.py"), str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "'0.25'" in proc.stdout


@pytest.mark.parametrize("text", [
    "# The loss $\\mathcal{L} = \\beta \\lVert r \\rVert^2$ with $\\beta = 0.25$.",
    "# $$\n# K^3 = 262144\n# $$",
    "# Set `CODEBOOK = 256` and run `llmrec-mini train --epochs 5`.",
    "# Recall@10, NDCG@5, c0, T5, all-MiniLM-L6-v2, SASRec's L2 norm, GPT-4o.",
    "# See Table 2, Eq. 3, §3.1, Figure 4 and Section 4.2 of the paper.",
    "# ## Step 2: the decoder\n# 1. first\n# 2. second",
    "# [the paper](https://arxiv.org/abs/2305.05065) and ![badge](data:image/svg+xml;base64,AAA1)",
    "# <span style=\"width: 300px\">boxed</span>",
])
def test_maths_code_identifiers_and_references_are_not_numbers(tmp_path, text):
    assert prose_numbers.check_note(_note(tmp_path, "# %% [markdown]\n" + text)) == []


def test_static_numbers_tag_exempts_a_cell(tmp_path):
    cells = ('# %% [markdown] tags=["static-numbers"]\n# The paper reports Recall@10 of 0.0648 (Table 1).',
             "# %% [markdown]\n# but this cell says 0.5")
    assert [(f.cell, f.number) for f in prose_numbers.check_note(_note(tmp_path, *cells))] == [(2, "0.5")]


def test_checker_command_line(tmp_path):
    script = str(ROOT / "scripts" / "prose_numbers.py")
    ok = subprocess.run([sys.executable, script], capture_output=True, text=True)
    assert ok.returncode == 0 and "no typed numbers" in ok.stdout
    missing = subprocess.run([sys.executable, script, str(tmp_path / "nope.py")], capture_output=True, text=True)
    assert missing.returncode == 2 and "no such note" in missing.stderr


def test_render_formats_and_checks_values():
    assert render("R@10 = {r:.3f} on {n:,} users", r=0.41234, n=3000) == "R@10 = 0.412 on 3,000 users"
    with pytest.raises(KeyError, match="no value given for n"):
        render("{r} and {n}", r=1)
    with pytest.raises(ValueError, match="never used"):
        render("{r}", r=1, n=2)
    with pytest.raises(ValueError, match="did not produce"):
        render("{r:.3f}", r=math.nan)
    with pytest.raises(ValueError, match="named fields"):
        render("{} items")


def test_say_prints_outside_a_notebook(capsys):
    assert say("{x} items", x=5) is None
    assert capsys.readouterr().out == "5 items\n"


@pytest.mark.parametrize("seconds, text", [(0.4, "0 s"), (45, "45 s"), (200, "3.3 min"), (4000, "1 h 07 min")])
def test_minutes(seconds, text):
    assert minutes(seconds) == text


def test_minutes_rejects_non_durations():
    for bad in (-1, math.inf, math.nan):
        with pytest.raises(ValueError):
            minutes(bad)
