"""The ``attention-scaling`` benchmark: forward time and peak memory of softmax, linear and
quasi-linear attention against the sequence length N.

``llmrec-mini bench attention-scaling [--quick] [--json] [--only softmax quasi_linear]``

For every attention of `ATTENTIONS` and every N of `SIZES` one row is measured on random (N, d)
float32 inputs (d = `D`; quasi-linear attention treats the last `N_CANDIDATES` positions as
candidates):

* ``median_ms``: the median wall time of the forward call over repeats (after one warm-up call),
* ``peak_mb``: the most memory the call holds at once, output included, inputs excluded, read from
  the allocations PyTorch records (`peak_memory_mb`, the profiler's memory events), so it does not
  depend on what else the machine runs,
* ``flops`` and the largest intermediate (``intermediate``, elements) from
  `llmrec_mini.attention.attention_cost`, the arithmetic the method cannot avoid,
* ``gflops``: the achieved rate, flops / time, and ``floor_ms``: the time the same flops would take
  at the rate of one large dense matrix product measured on the same machine (`matmul_gflops`), so
  ``floor_ms / median_ms`` says how close a call runs to the machine's peak.

Softmax attention (`llmrec_mini.attention.softmax_attention`, no mask: its cheapest form) is
skipped at sizes whose N x N float32 score matrix alone would exceed ``memory_cap_mb``; such a row
has ``skipped`` set to the reason and no measurements. The report states the softmax / quasi-linear
time ratio at N = `RATIO_AT` (goal: at least `RATIO_GOAL`) and the slope of peak memory against N
on a log-log scale (1 = linear, 2 = quadratic).

`measure_scaling` is what the notes call (``notebooks/quasi_linear_attention.py``); `run` is the
benchmark (what ``run_bench("attention-scaling")`` dispatches to), `write_results` the page block.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

from .report import fmt_flops, fmt_n, fmt_num, header_lines, write_runner_results
from .report import merge_results as report_merge

ATTENTIONS = ("softmax", "linear", "quasi_linear")
SIZES = (1024, 2048, 4096, 8192, 16384, 32768, 65536)
QUICK_SIZES = (64, 128, 256, 512)
D = 64
N_CANDIDATES = 16
MEMORY_CAP_MB = 2048.0  # largest softmax N x N float32 score matrix we build (N = 16k is 1 GiB)
THREADS = 1  # torch threads while measuring: steady timings on a shared machine, the same for every method
RATIO_AT = 16384
RATIO_GOAL = 10.0
NAME = "attention-scaling"
LINEAR_SLOPE = 1.2  # a memory slope at most this (log-log) counts as linear in N


# ---------------------------------------------------------------------------------------------- measuring
def attention_call(name: str, q, k, v, n_candidates: int = N_CANDIDATES):
    """A no-argument function running attention ``name`` on (q, k, v): softmax (no mask), linear
    (non-causal) or quasi-linear (the last ``n_candidates`` rows are candidates)."""
    from .. import attention as att

    if name == "softmax":
        return lambda: att.softmax_attention(q, k, v)
    if name == "linear":
        return lambda: att.linear_attention(q, k, v)
    if name == "quasi_linear":
        return lambda: att.quasi_linear_attention(q, k, v, n_candidates)
    raise ValueError(f"unknown attention {name!r}; choose one of: {', '.join(ATTENTIONS)}")


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 for a moment: the profiler's C++ side logs start/stop lines there."""
    try:
        sys.stderr.flush()
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):  # no real fd 2: nothing to silence
        yield
        return
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def peak_memory_mb(fn) -> float:
    """The peak of the memory ``fn()`` allocates through PyTorch's CPU allocator, in MiB: the
    running sum of the allocations and frees the profiler records during the call (its result is
    held until the call returns, so it is counted)."""
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn()
        del out
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    held = peak = 0
    for e in events:
        held += e.nbytes()
        peak = max(peak, held)
    return peak / 2 ** 20


def time_ms(fn, min_repeats: int = 3, max_repeats: int = 50, min_seconds: float = 0.5) -> tuple[float, int]:
    """(median wall time of ``fn()`` in ms, number of timed calls): one warm-up call, then at least
    ``min_repeats`` calls and more, up to ``max_repeats``, until ``min_seconds`` have passed."""
    fn()
    times = []
    while len(times) < max_repeats and (len(times) < min_repeats or sum(times) < min_seconds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, len(times)


def matmul_gflops(size: int = 1024, repeats: int = 5, threads: int | None = THREADS) -> float:
    """The machine's dense float32 matrix-product rate in GFLOP/s (a size x size product, median
    of ``repeats``, on ``threads`` torch threads as the rows are measured; None: the current
    setting): the reference the attention rows are set against."""
    import torch

    a, b = (torch.randn(size, size, dtype=torch.float32) for _ in range(2))
    with torch_threads(threads):
        ms, _ = time_ms(lambda: a @ b, min_repeats=repeats, max_repeats=repeats, min_seconds=0)
    return 2 * size ** 3 / (ms / 1000) / 1e9


def score_matrix_mb(n: int) -> float:
    """MiB of one N x N float32 matrix: what softmax attention builds and quasi-linear never does."""
    return n * n * 4 / 2 ** 20


def measure(name: str, n: int, d: int = D, n_candidates: int = N_CANDIDATES, memory_cap_mb: float = MEMORY_CAP_MB,
            min_repeats: int = 3, min_seconds: float = 0.5, peak_gflops: float | None = None, seed: int = 0) -> dict:
    """One row: attention ``name`` at sequence length ``n`` (see the module docstring for the fields)."""
    import torch

    from ..attention import attention_cost

    cost = attention_cost(name, n, d, n_candidates=n_candidates if name == "quasi_linear" else 0)
    row = {"attention": name, "n": n, "d": d, "n_candidates": n_candidates if name == "quasi_linear" else 0,
           "flops": cost.flops, "intermediate": cost.intermediate, "median_ms": None, "repeats": 0,
           "peak_mb": None, "gflops": None, "floor_ms": None, "skipped": None}
    if name == "softmax" and score_matrix_mb(n) > memory_cap_mb:
        row["skipped"] = (f"skipped: the N x N score matrix would take {score_matrix_mb(n):,.0f} MiB, "
                          f"over the {memory_cap_mb:,.0f} MiB cap")
        return row
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(n, d, generator=gen, dtype=torch.float32) for _ in range(3))
    fn = attention_call(name, q, k, v, n_candidates)
    row["median_ms"], row["repeats"] = time_ms(fn, min_repeats=min_repeats, min_seconds=min_seconds)
    row["peak_mb"] = peak_memory_mb(fn)
    row["gflops"] = cost.flops / (row["median_ms"] / 1000) / 1e9
    if peak_gflops:
        row["floor_ms"] = cost.flops / (peak_gflops * 1e9) * 1000
    return row


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run the block with ``n`` torch threads (None: leave the setting alone), then restore it."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def measure_scaling(sizes=SIZES, attentions=ATTENTIONS, d: int = D, n_candidates: int = N_CANDIDATES,
                    memory_cap_mb: float = MEMORY_CAP_MB, min_repeats: int = 3, min_seconds: float = 0.5,
                    peak_gflops: float | None = None, threads: int | None = THREADS, progress: bool = False,
                    seed: int = 0) -> list[dict]:
    """Rows of `measure` for every attention at every size, smallest N first, on ``threads`` torch
    threads (one by default: with two threads on two cores, anything else running on the machine
    stalls every parallel region, and small calls then take tens of milliseconds)."""
    for name in attentions:
        if name not in ATTENTIONS:
            raise ValueError(f"unknown attention {name!r}; choose one of: {', '.join(ATTENTIONS)}")
    rows = []
    with torch_threads(threads):
        for n in sorted(sizes):
            for name in attentions:
                row = measure(name, n, d, n_candidates, memory_cap_mb, min_repeats, min_seconds, peak_gflops, seed)
                rows.append(row)
                if progress:
                    print(f"{name:>12} N = {n:>6}: " + (row["skipped"] or f"{row['median_ms']:9.2f} ms, "
                                                        f"{row['peak_mb']:8.1f} MiB"), file=sys.stderr, flush=True)
    return rows


# ---------------------------------------------------------------------------------------------- summary
def memory_slope(rows: list[dict], name: str) -> float | None:
    """Least-squares slope of log(peak_mb) against log(N) over the measured rows of ``name``
    (1 = memory linear in N, 2 = quadratic); None with fewer than two measured sizes."""
    pts = [(math.log(r["n"]), math.log(r["peak_mb"])) for r in rows
           if r["attention"] == name and r["peak_mb"] and r["peak_mb"] > 0]
    if len(pts) < 2:
        return None
    mx, my = sum(x for x, _ in pts) / len(pts), sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else None


def _row(rows, name, n):
    return next((r for r in rows if r["attention"] == name and r["n"] == n and r["median_ms"]), None)


def summarize(rows: list[dict], ratio_at: int = RATIO_AT) -> dict:
    """The report's verdicts: the softmax / quasi-linear time ratio at N = ``ratio_at`` (or at the
    largest N both were measured at, when softmax did not run there) and the memory slopes."""
    both = [n for n in sorted({r["n"] for r in rows}) if _row(rows, "softmax", n) and _row(rows, "quasi_linear", n)]
    at = ratio_at if ratio_at in both else (both[-1] if both else None)
    ratio = _row(rows, "softmax", at)["median_ms"] / _row(rows, "quasi_linear", at)["median_ms"] if at else None
    slopes = {name: memory_slope(rows, name) for name in ATTENTIONS if any(r["attention"] == name for r in rows)}
    return {"ratio_at": at, "softmax_over_qla": ratio, "ratio_goal": RATIO_GOAL,
            "goal_met": None if ratio is None or at != ratio_at else ratio >= RATIO_GOAL,
            "memory_slope": slopes,
            "qla_memory_linear": None if slopes.get("quasi_linear") is None
            else slopes["quasi_linear"] <= LINEAR_SLOPE,
            "skipped": [f"{r['attention']} N = {fmt_n(r['n'])}" for r in rows if r["skipped"]]}


# ---------------------------------------------------------------------------------------------- the benchmark
def run(quick: bool = False, write_docs: bool = True, progress: bool = True, only: list[str] | None = None,
        sizes=None, memory_cap_mb: float = MEMORY_CAP_MB, threads: int | None = THREADS, docs: Path | None = None,
        **_ignored) -> dict:
    """The benchmark: every attention (``only``: some of `ATTENTIONS`) at every size of `SIZES`
    (`QUICK_SIZES` and fewer repeats when ``quick``, and nothing written). Returns a JSON-able
    dict; ``write_docs`` stores it (`write_results`)."""
    from .runner import _command, hardware

    attentions = tuple(only) if only else ATTENTIONS
    unknown = [a for a in attentions if a not in ATTENTIONS]
    if unknown:
        raise ValueError(f"--only {' '.join(unknown)}: not an attention of {NAME} ({', '.join(ATTENTIONS)})")
    sizes = tuple(sizes or (QUICK_SIZES if quick else SIZES))
    t0 = time.time()
    threads_used = threads or _torch_threads()
    peak = matmul_gflops(256 if quick else 1024, threads=threads_used)
    rows = measure_scaling(sizes, attentions, memory_cap_mb=memory_cap_mb, min_repeats=2 if quick else 3,
                           min_seconds=0.02 if quick else 0.5, peak_gflops=peak, threads=threads, progress=progress)
    out = {"benchmark": NAME, "rows": rows, "summary": summarize(rows),
           "settings": {"d": D, "n_candidates": N_CANDIDATES, "sizes": list(sizes), "memory_cap_mb": memory_cap_mb,
                        "dtype": "float32", "threads": threads_used,
                        "timing": "median of repeats after one warm-up call",
                        "memory": "peak of PyTorch's CPU allocations during the call, output included"},
           "matmul_gflops": peak, "command": _command(NAME, None), "hardware": hardware(),
           "wall_s": round(time.time() - t0, 1), "quick": quick, "date": time.strftime("%Y-%m-%d")}
    if write_docs and not quick:
        write_results(out, docs=docs, merge=bool(only))
    return out


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


# ---------------------------------------------------------------------------------------------- the report
LABELS = {"softmax": "softmax", "linear": "linear", "quasi_linear": "quasi-linear"}








def summary_sentences(out: dict) -> str:
    """The verdicts of `summarize` as sentences (the page block and the CLI print them)."""
    s = out["summary"]
    parts = []
    if s["softmax_over_qla"] is not None:
        goal = "" if s["ratio_at"] != RATIO_AT else (
            f" (goal at least {s['ratio_goal']:.0f}x: {'met' if s['goal_met'] else 'not met'})")
        parts.append(f"At N = {fmt_n(s['ratio_at'])}, softmax attention takes {s['softmax_over_qla']:,.1f}x the time "
                     f"of quasi-linear attention{goal}.")
    slopes = {k: v for k, v in s["memory_slope"].items() if v is not None}
    if slopes:
        parts.append("Peak memory grows as N^slope with slope " + ", ".join(
            f"{v:.2f} for {LABELS[k]}" for k, v in slopes.items()) + " (1 = linear, 2 = quadratic)"
            + ("" if s["qla_memory_linear"] is None else
               f": quasi-linear attention's memory is {'linear' if s['qla_memory_linear'] else 'not linear'} in N")
            + ".")
    if s["skipped"]:
        parts.append("Not run (N x N matrix over the memory cap): " + ", ".join(s["skipped"]) + ".")
    return " ".join(parts)


def to_markdown(out: dict) -> str:
    st = out["settings"]
    lines = [*header_lines(out),
             f"Random float32 inputs, d = {st['d']}, one head, {st['threads']} torch thread"
             f"{'s' if st['threads'] != 1 else ''} (the hardware line gives the machine's default); quasi-linear attention scores the last "
             f"{st['n_candidates']} positions as candidates; softmax runs without a mask (its cheapest form) and "
             f"only while its N x N score matrix fits in {st['memory_cap_mb']:,.0f} MiB. Time: {st['timing']}; "
             f"memory: {st['memory']}. The dense-matmul reference runs at {out['matmul_gflops']:.1f} GFLOP/s; "
             "*floor* is the time the row's FLOPs would take at that rate.", "",
             "| attention | N | median time | peak memory | FLOPs | GFLOP/s | floor | note |",
             "|---|---|---|---|---|---|---|---|"]
    for r in out["rows"]:
        if r["skipped"]:
            lines.append(f"| {LABELS[r['attention']]} | {fmt_n(r['n'])} | - | - | {fmt_flops(r['flops'])} | - | - "
                         f"| {r['skipped']} |")
            continue
        floor = f"{fmt_num(r['floor_ms'])} ms" if r["floor_ms"] else "-"
        lines.append(f"| {LABELS[r['attention']]} | {fmt_n(r['n'])} | {fmt_num(r['median_ms'])} ms | {fmt_num(r['peak_mb'])} MiB "
                     f"| {fmt_flops(r['flops'])} | {fmt_num(r['gflops'])} | {floor} | median of {r['repeats']} |")
    lines += ["", summary_sentences(out)]
    return "\n".join(lines)


def scaling_figure(rows: list[dict], title: str | None = None, guides: bool = True):
    """Median time and peak memory against N, log-log, one line per attention (matplotlib).
    ``guides``: faint dashed lines growing as N and as N^2 from the first point, to read slopes by."""
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 3.8))
    sizes = sorted({r["n"] for r in rows})
    for name in ATTENTIONS:
        pts = sorted((r["n"], r["median_ms"], r["peak_mb"]) for r in rows if r["attention"] == name and r["median_ms"])
        if not pts:
            continue
        ns, ms, mb = zip(*pts)
        line, = ax_t.plot(ns, ms, marker="o", label=LABELS[name])
        ax_m.plot(ns, [max(x, 1e-3) for x in mb], marker="o", label=LABELS[name])
        if guides and name in ("softmax", "quasi_linear") and len(ns) > 1:
            power = 2 if name == "softmax" else 1
            for ax, y0 in ((ax_t, ms[-1]), (ax_m, mb[-1])):  # anchored at the largest measured N
                ax.plot(sizes, [y0 * (n / ns[-1]) ** power for n in sizes], ls="--", lw=0.8,
                        color=line.get_color(), alpha=0.5, label=f"∝ N{'²' if power == 2 else ''}")
    for ax, what in ((ax_t, "median forward time (ms)"), (ax_m, "peak memory (MiB)")):
        ax.set(yscale="log", xlabel="sequence length N (log scale)", ylabel=what + ", log scale")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [fmt_n(n) for n in sizes])
        ax.minorticks_off()
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    ax_t.set_title("time")
    ax_m.set_title("memory")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def merge_results(old: dict, new: dict) -> dict:
    """``old`` with ``new``'s attentions replaced (a run with ``--only``), summary recomputed."""
    merged = report_merge(old, new, key="attention")
    rows = sorted(merged["rows"], key=lambda r: (r["n"], ATTENTIONS.index(r["attention"])))
    return {**merged, "rows": rows, "summary": summarize(rows)}


def write_results(out: dict, docs: Path | None = None, merge: bool = False) -> None:
    """docs/bench/attention-scaling.json and .svg, and the block of docs/reproduction.md between
    its markers; a page without them gets a section with the block at its end."""
    docs = docs or Path(__file__).resolve().parents[2] / "docs"
    (docs / "bench").mkdir(parents=True, exist_ok=True)
    saved = docs / "bench" / f"{NAME}.json"
    if merge and saved.exists():
        out = merge_results(json.loads(saved.read_text()), out)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = scaling_figure(out["rows"])
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "bench"}):  # text as text; stable ids
        fig.savefig(docs / "bench" / f"{NAME}.svg", format="svg", metadata={"Date": None})
    plt.close(fig)
    block = to_markdown(out) + f"\n\n![Time and memory of the attentions against N](bench/{NAME}.svg)"
    write_runner_results(out, block, docs=docs, new_section=(
        "## Attention scaling\n\nSoftmax, linear and quasi-linear attention against the sequence length; see the "
        "[quasi-linear attention](quasi_linear_attention.md) page."))
