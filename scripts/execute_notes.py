"""Execute the notes for the site: ``python scripts/execute_notes.py [PAGE ...] [--smoke] [--force]``.

Each note ``notebooks/<page>.py`` runs top to bottom in a fresh ``python3`` kernel (nbclient, a
timeout per cell, any error fatal) and its executed copy goes to ``build/notes/<page>.ipynb`` (or
``--out`` / ``$LLMREC_EXECUTED_NOTES``), where the mkdocs hook picks it up. A note whose executed copy
is stamped with the current source hash (and the same size mode) is skipped unless ``--force``.
Exits 1 when any note fails; the failed run is kept as ``<page>.failed.ipynb`` for inspection.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notelib  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", nargs="*", help="notes to run, e.g. overview or plum/main (default: all)")
    ap.add_argument("--smoke", action="store_true", help=f"set {notelib.SMOKE_ENV}=1 (tiny sizes, seconds per note)")
    ap.add_argument("--force", action="store_true", help="run even when the executed copy is up to date")
    ap.add_argument("--timeout", type=int, default=notelib.DEFAULT_TIMEOUT, help="seconds per cell (default 600)")
    ap.add_argument("--out", type=Path, default=None, help=f"output folder (default ${notelib.EXECUTED_ENV} or build/notes)")
    args = ap.parse_args(argv)
    out = args.out.resolve() if args.out else notelib.executed_dir()
    notes = notelib.discover_notes(args.pages)
    if not notes:
        print("no notes in notebooks/")
        return 0
    failures = []
    for note in notes:
        if not args.force and notelib.is_up_to_date(note, out, smoke=args.smoke):
            print(f"up to date  {note.page}")
            continue
        print(f"running     {note.page} ({'smoke' if args.smoke else 'full'} size) ...", flush=True)
        res = notelib.execute_note(note, out, smoke=args.smoke, timeout=args.timeout)
        if res.ok:
            print(f"ok          {note.page} in {res.seconds:.0f} s -> {res.path}")
        else:
            failures.append(res)
            print(f"FAILED      {note.page} after {res.seconds:.0f} s (partial run: {res.path})\n{res.error}",
                  file=sys.stderr)
    if failures:
        print(f"{len(failures)} of {len(notes)} notes failed: {', '.join(r.note.page for r in failures)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
