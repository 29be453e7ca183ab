"""Build the complete site, as `make site` does: ``python scripts/build_site.py [--out DIR] [--no-check]``.

Four steps, each timed: the site's MathJax and mermaid (`fetch_webassets.py`, cached in .cache/), every
note executed at its default size (`execute_notes.py`: a note whose executed copy in build/notes is of
its current source is skipped, so a second run only re-executes what changed), the strict mkdocs build
of both editions (English and /ru/), and the headless-Chromium check of the rendered pages
(`check_site.py`, skipped with a message when Chromium is not installed). At the end it prints the
wall time of each step and in all, and writes them to ``build/site-timing.json`` (with ``--record``,
also to docs/bench/site-build.json and the Reproduction page's ``site-build`` block: the published
measurement, made from a clean clone). Exits non-zero at the first step that fails.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_site  # noqa: E402
import notelib  # noqa: E402

ROOT = notelib.ROOT


def _step(name: str, cmd: list[str], times: dict, env: dict | None = None) -> int:
    print(f"== {name}: {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    code = subprocess.call(cmd, cwd=ROOT, env={**os.environ, **(env or {})})
    times[name] = round(time.perf_counter() - start, 1)
    print(f"== {name}: {notelib.duration(times[name])}" + ("" if code == 0 else f" (FAILED, exit {code})"), flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "site", help="where the site goes (default: site/)")
    ap.add_argument("--no-check", action="store_true", help="skip the headless-Chromium check")
    ap.add_argument("--record", action="store_true",
                    help="write the timing to docs/bench/site-build.json and the Reproduction page (both editions)")
    args = ap.parse_args(argv)
    py, times, start = sys.executable, {}, time.perf_counter()
    cached = sum(notelib.is_up_to_date(n) for n in notelib.discover_notes())
    steps = [("web assets", [py, "scripts/fetch_webassets.py"], None),
             ("notes (default size)", [py, "scripts/execute_notes.py"], None),
             ("mkdocs build", [py, "-m", "mkdocs", "build", "--strict", "-d", str(args.out.resolve())],
              {"NO_MKDOCS_2_WARNING": "1"})]
    if not args.no_check:
        if check_site.find_chromium() is None:
            print("== browser check: skipped (Chromium is not installed: apt-get install chromium)")
        else:
            steps.append(("browser check", [py, "scripts/check_site.py", str(args.out.resolve()), "--no-screenshots"],
                          None))
    code = 0
    for name, cmd, env in steps:
        code = _step(name, cmd, times, env)
        if code:
            break
    total = round(time.perf_counter() - start, 1)
    n = len(notelib.discover_notes())
    report = {"steps_s": times, "total_s": total, "notes": n, "notes_cached": cached, "ok": code == 0,
              "cpu_count": notelib.cpu_count(), "cpu_model": notelib.cpu_model(),
              "date": time.strftime("%Y-%m-%d")}
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "site-timing.json").write_text(json.dumps(report, indent=2))
    print("\nmake site: " + ", ".join(f"{k} {notelib.duration(v)}" for k, v in times.items()))
    print(f"make site: {notelib.duration(total)} wall time in all on a {report['cpu_count']}-core CPU "
          f"({report['cpu_model']}); {cached} of {n} notes were already executed (cached in build/notes)"
          + ("" if code == 0 else "; FAILED"))
    if args.record and code == 0:
        record(report)
    return code


def record(report: dict) -> None:
    """The measurement on the Reproduction page (both editions), between its ``site-build`` markers."""
    from llmrec_mini.bench.report import header_lines, write_runner_results

    hardware = f"{report['cpu_count']}-core CPU ({report['cpu_model']})"
    out = {"benchmark": "site-build", "command": "make site", "date": report["date"], "wall_s": report["total_s"],
           "hardware": hardware, **report}
    rows = "\n".join(f"| {k} | {notelib.duration(v)} |" for k, v in report["steps_s"].items())
    block = ("\n".join(header_lines(out)) + f"\n{report['notes_cached']} of {report['notes']} notes were cached "
             f"(a clean clone has none).\n\n| step | wall time |\n| --- | --- |\n{rows}\n"
             f"| **in all** | **{notelib.duration(report['total_s'])}** |")
    section = ("## The complete site (`make site`)\n\nThe wall time of `make site` from a clean clone: every note "
               "executed at its default size, then the build and the browser check (see "
               "[Publishing](contributing.md#publishing-make-site)).")
    write_runner_results(out, block, section, docs=ROOT / "docs")


if __name__ == "__main__":
    sys.exit(main())
