"""Pair notes with their Colab notebooks: ``python scripts/pair_notes.py [PAGE ...] [--check]``.

Without ``--check``: (re)writes ``notebooks/<page>.ipynb`` from ``notebooks/<page>.py``, output-free,
after rewriting the ``.py``'s Colab badge and install cell to the configured repository
(``scripts/notelib.py``, or ``$LLMREC_REPO_SLUG`` / ``$LLMREC_REPO_REF``) and badge image.
With ``--check``: writes nothing, prints what is out of sync or breaks the note conventions, and
exits 1 if anything does (the same checks as tests/test_notebooks.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notelib  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", nargs="*", help="notes to pair (default: all notebooks/**/*.py)")
    ap.add_argument("--check", action="store_true", help="only check pairing and conventions")
    args = ap.parse_args(argv)
    notes = notelib.discover_notes(args.pages)
    try:
        repo = f"{notelib.repo_slug()}@{notelib.repo_ref()}"
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.check:
        problems = [p for n in notes for p in notelib.pairing_problems(n)]
        problems += [f"{n.page}: {p}" for n in notes for p in notelib.convention_problems(n)]
        orphans = [p for p in notelib.NOTES_DIR.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and not p.with_suffix(".py").exists()]
        problems += [f"{notelib._rel(p)} has no .py source" for p in orphans]
        for p in problems:
            print(p)
        print(f"{len(notes)} notes checked, {len(problems)} problems")
        return 1 if problems else 0
    print(f"repository {repo} (badges and install cells point at it)")
    for n in notes:
        before = n.py.read_bytes()
        path = notelib.pair_note(n)
        rewritten = " (Colab badge / install cell rewritten in the .py)" if n.py.read_bytes() != before else ""
        print("paired", notelib._rel(path) + rewritten)
    return 0


if __name__ == "__main__":
    sys.exit(main())
