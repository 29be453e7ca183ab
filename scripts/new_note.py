"""Start a new note at a hub path: ``python scripts/new_note.py plum/main "PLUM: ..."``.

Writes ``notebooks/<page>.py`` with the cells every note starts with (title and Colab badge, the
hidden Colab install cell, the ``parameters`` cell reading the size mode with ``smoke()`` / ``full()``),
a stand-in run and a results cell that states its numbers from the run (``llmrec_mini.notes.say``),
and pairs it with ``notebooks/<page>.ipynb``.
Refuses to overwrite an existing note.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notelib  # noqa: E402

TEMPLATE = '''# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # {title}
#
# {badge}
#
# One paragraph: what this page teaches and what the code below runs.

# %% tags=["{colab_tag}"]
{install}

# %% tags=["{parameters_tag}"]
from llmrec_mini.utils import full, smoke

SEED = 0
SMOKE = smoke()  # {smoke_env}=1 (the test suite): every size shrinks to a seconds-long run
FULL = full()  # {full_env}=1: the full-size configuration (smoke wins)
# The default (neither switch) is what the site shows: it must run in at most 3 minutes on an idle
# 2-core CPU (`python scripts/execute_notes.py <page>` prints the time; the page's footer states it).
N_EPOCHS = 1 if SMOKE else 30 if FULL else 10

# %%
import time

import numpy as np

import llmrec_mini
from llmrec_mini.utils import set_seed

set_seed(SEED)
print("llmrec_mini", llmrec_mini.__version__)
start = time.perf_counter()
rng = np.random.default_rng(SEED)
scores = np.cumsum(rng.random(N_EPOCHS)) / np.arange(1, N_EPOCHS + 1)  # stand-in: run the method here
seconds = time.perf_counter() - start

# %% [markdown]
# ## Results
#
# Numbers the run produces are never typed into Markdown: the cell below states them from its
# variables with `llmrec_mini.notes.say` (tagged `hide-input`, so the site shows only the sentence).

# %% tags=["hide-input"]
from llmrec_mini.notes import minutes, say

say("After {{n}} epochs the stand-in score is {{score:.3f}} (best {{best:.3f}}); the run took {{took}}.",
    n=N_EPOCHS, score=float(scores[-1]), best=float(scores.max()), took=minutes(seconds))
'''


def render(page: str, title: str) -> str:
    install = "\n".join(notelib.install_cell_source().splitlines())
    return TEMPLATE.format(title=title, badge=notelib.colab_badge(page), colab_tag=notelib.COLAB_TAG,
                           install=install, parameters_tag=notelib.PARAMETERS_TAG, smoke_env=notelib.SMOKE_ENV,
                           full_env=notelib.FULL_ENV)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("page", help="hub path without .md, e.g. overview or plum/main")
    ap.add_argument("title", help="page title (the note's level-1 heading)")
    args = ap.parse_args(argv)
    note = notelib.Note(notelib._page_of(args.page))
    if note.py.exists():
        print(f"{note.py} exists; edit it instead", file=sys.stderr)
        return 1
    note.py.parent.mkdir(parents=True, exist_ok=True)
    note.py.write_text(render(note.page, args.title), encoding="utf-8")
    notelib.pair_note(note)
    print(f"wrote {notelib._rel(note.py)} and {notelib._rel(note.ipynb)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
