"""Write or update a note's translation file: ``python scripts/translate_note.py PAGE [...] [--locale ru] [--check]``.

``notebooks/<page>.<locale>.md`` gets one block per Markdown cell of the note, headed by the cell's
number and the SHA-1 of its English text. Blocks whose English is unchanged keep their translation;
new and changed cells get the English text, to be translated in place. With ``--check`` nothing is
written: it lists what is missing or stale and exits 1 if anything is (see notelib's translations).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notelib  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", nargs="*", help="notes, e.g. tiger or plum/main (default: all)")
    ap.add_argument("--locale", default="ru", choices=notelib.TRANSLATION_LOCALES)
    ap.add_argument("--check", action="store_true", help="only report missing or stale translations")
    args = ap.parse_args(argv)
    try:
        notes = notelib.discover_notes(args.pages)
    except (FileNotFoundError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    bad = 0
    for note in notes:
        problems = notelib.translation_problems(note, args.locale)
        if args.check:
            bad += bool(problems)
            print("\n".join(problems) if problems else f"ok  {note.page}")
            continue
        path = notelib.translation_path(note, args.locale)
        path.write_text(notelib.translation_skeleton(note, args.locale), encoding="utf-8")
        print(f"wrote {notelib._rel(path)}" + (f" ({len(problems)} cells to translate)" if problems else " (current)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
