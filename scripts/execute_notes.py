"""Execute the notes for the site: ``python scripts/execute_notes.py [PAGE ...] [--smoke | --full] [--force]``.

Each note ``notebooks/<page>.py`` runs top to bottom in a fresh ``python3`` kernel (nbclient, a
timeout per cell, any error fatal) and its executed copy goes to ``build/notes/<page>.ipynb`` (or
``--out`` / ``$LLMREC_EXECUTED_NOTES``), where the mkdocs hook picks it up.

Size modes: the default size (what the site shows; at most a few minutes per note on a 2-core CPU),
``--smoke`` (``LLMREC_SMOKE=1``: seconds, what the tests run) and ``--full`` (``LLMREC_FULL=1``, also
taken from the environment: the full-size configuration). A note whose executed copy is stamped with
the current source hash and the same size mode is skipped unless ``--force`` (a cheap check: a second
``make docs`` with no change runs nothing). While a note runs, each code cell slower than a few
seconds prints one line; every note prints its wall time, and the run its total.
Exits 1 when any note fails; the failed run is kept as ``<page>.failed.ipynb`` for inspection.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notelib  # noqa: E402


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "False")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", nargs="*", help="notes to run, e.g. overview or plum/main (default: all)")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--smoke", action="store_true", help=f"set {notelib.SMOKE_ENV}=1 (tiny sizes, seconds per note)")
    size.add_argument("--full", action="store_true", default=None,
                      help=f"set {notelib.FULL_ENV}=1: the full-size configuration (default: ${notelib.FULL_ENV})")
    ap.add_argument("--force", action="store_true", help="run even when the executed copy is up to date")
    ap.add_argument("--timeout", type=int, default=notelib.DEFAULT_TIMEOUT, help="seconds per cell (default 600)")
    ap.add_argument("--out", type=Path, default=None, help=f"output folder (default ${notelib.EXECUTED_ENV} or build/notes)")
    args = ap.parse_args(argv)
    full = (args.full if args.full is not None else _env_flag(notelib.FULL_ENV)) and not args.smoke
    mode = notelib.size_mode(args.smoke, full)
    out = args.out.resolve() if args.out else notelib.executed_dir()
    notes = notelib.discover_notes(args.pages)
    if not notes:
        print("no notes in notebooks/")
        return 0
    failures, ran, start = [], 0, time.perf_counter()
    for note in notes:
        if not args.force and notelib.is_up_to_date(note, out, smoke=args.smoke, full=full):
            print(f"up to date  {note.page} (executed {notelib.describe_run(notelib.stamp_of(note.executed(out)))})")
            continue
        print(f"running     {note.page} ({mode} size) ...", flush=True)
        res = notelib.execute_note(note, out, smoke=args.smoke, full=full, timeout=args.timeout,
                                   progress=lambda line, page=note.page: print(f"    {page}: {line}", flush=True))
        ran += 1
        if res.ok:
            print(f"ok          {note.page} in {notelib.duration(res.seconds)} -> {res.path}", flush=True)
        else:
            failures.append(res)
            print(f"FAILED      {note.page} after {notelib.duration(res.seconds)} (partial run: {res.path})\n{res.error}",
                  file=sys.stderr, flush=True)
    total = time.perf_counter() - start
    print(f"{len(notes)} notes: {ran} run, {len(notes) - ran} up to date, in {notelib.duration(total)}")
    if failures:
        print(f"{len(failures)} of {len(notes)} notes failed: {', '.join(r.note.page for r in failures)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
