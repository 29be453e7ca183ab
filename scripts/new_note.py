"""Start a new note at a hub path: ``python scripts/new_note.py plum/main "PLUM: ..."``.

Writes ``notebooks/<page>.py`` with the cells every note starts with (title and Colab badge, the
hidden Colab install cell, the ``parameters`` cell) and pairs it with ``notebooks/<page>.ipynb``.
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
import os

SEED = 0
SMOKE = os.environ.get("{smoke_env}", "0") not in ("", "0", "false", "False")  # the test suite sets it
N_EPOCHS = 1 if SMOKE else 10

# %%
import llmrec_mini
from llmrec_mini.utils import set_seed

set_seed(SEED)
print("llmrec_mini", llmrec_mini.__version__)
'''


def render(page: str, title: str) -> str:
    install = "\n".join(notelib.install_cell_source().splitlines())
    return TEMPLATE.format(title=title, badge=notelib.colab_badge(page), colab_tag=notelib.COLAB_TAG,
                           install=install, parameters_tag=notelib.PARAMETERS_TAG, smoke_env=notelib.SMOKE_ENV)


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
