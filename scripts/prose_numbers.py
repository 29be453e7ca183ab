"""Flag numbers typed into a note's prose: ``python scripts/prose_numbers.py [notebooks/<page>.py ...]``.

A note's Markdown must not state a number its run produces: such sentences are rendered from the
run's variables (`llmrec_mini.notes.say` in a ``hide-input`` code cell). This checker reads every
Markdown cell of a note and reports each number written in its prose, ignoring the places where a
number is not a claim about the run: maths (``$...$``, ``$$...$$``), code (inline and fenced),
link and image targets, HTML tags, identifiers that contain digits (``Recall@10``, ``c0``, ``T5``,
``all-MiniLM-L6-v2``), and references such as "Table 1", "Eq. 2", "§3". A cell whose numbers are
static on purpose (a paper's results, a configuration, a bibliography) carries the cell tag
``static-numbers``, which the reader of the source sees. Exit status 1 when anything is flagged.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

STATIC_TAG = "static-numbers"
ROOT = Path(__file__).resolve().parents[1]

_MASKS = [
    re.compile(r"^(```|~~~).*?^\1", re.S | re.M),  # fenced code
    re.compile(r"\$\$.+?\$\$", re.S),  # display maths
    re.compile(r"\\\[.+?\\\]|\\\(.+?\\\)", re.S),  # \[...\] and \(...\) maths
    re.compile(r"(?<![\\\w])\$[^$\n]+?\$"),  # inline maths
    re.compile(r"`[^`\n]*`"),  # inline code
    re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)"),  # link / image targets: [text](url "title")
    re.compile(r"<[^>\n]+>"),  # HTML tags (attributes hold sizes, colours)
    re.compile(r"https?://\S+"),  # bare URLs
    re.compile(r"\b(?:Tables?|Fig(?:ure|\.)?s?|Eqs?\.?|Equations?|Sections?|Appendix|Algorithm|Stage|Step|Part)"
               r"\s*\(?\d+(?:\.\d+)*[a-z]?\)?", re.I),  # references to numbered things
    re.compile(r"§\s*\d+(?:\.\d+)*"),
    re.compile(r"^#{1,6}\s.*$", re.M),  # headings (section names, "Step 1: ...")
    re.compile(r"^\s*\d+[.)]\s", re.M),  # numbered-list markers
]
# a number: digits with optional thousands separators / decimals / percent, not glued to a word or @
_NUMBER = re.compile(r"(?<![\w@.\-])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?%)?(?![\w@]|-\w|\.\d)")


@dataclass
class Finding:
    path: str
    cell: int  # 1-based index among all cells
    number: str
    line: str

    def __str__(self) -> str:
        return (f"{self.path}: cell {self.cell}: number {self.number!r} typed into prose: \"{self.line.strip()[:100]}\" "
                f"-> render it from the run (llmrec_mini.notes.say in a hide-input code cell), "
                f"or tag the cell {STATIC_TAG!r} if it is static on purpose")


def numbers_in_markdown(text: str) -> list[tuple[str, str]]:
    """(number, line) for every number left in the prose once maths, code, links and identifiers are masked."""
    masked = text
    for rx in _MASKS:
        masked = rx.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), masked)  # keep line structure
    lines, found = text.splitlines(), []
    for ln, line in enumerate(masked.splitlines()):
        for m in _NUMBER.finditer(line):
            found.append((m.group(0).strip(), lines[ln]))
    return found


def check_note(path: Path) -> list[Finding]:
    import jupytext

    try:
        nb = jupytext.read(path)
    except Exception as e:  # noqa: BLE001
        raise SystemExit(f"cannot read {path} as a note: {e}")
    out = []
    rel = str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "markdown" or STATIC_TAG in cell.metadata.get("tags", []):
            continue
        out += [Finding(rel, i, num, line) for num, line in numbers_in_markdown(cell.source)]
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    paths = [Path(a) for a in args] or sorted((ROOT / "notebooks").rglob("*.py"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"no such note: {', '.join(missing)}", file=sys.stderr)
        return 2
    findings = [f for p in paths for f in check_note(p)]
    for f in findings:
        print(f)
    print(f"{len(findings)} typed number(s) in the prose of {len(paths)} note(s)" if findings
          else f"prose of {len(paths)} note(s): no typed numbers")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
