"""The ``vista-latency`` benchmark: what one recommendation request costs as the history grows,
VISTA reading k cached summaries against full target attention reading the whole history.

``llmrec-mini bench vista-latency [--quick] [--json] [--only vista target-attention]``

**Stage 2 (serving).** For every history length N of `HISTORY_LENGTHS` (1k, 10k, 100k, 1M events
of user `USER` of the long-history world, `llmrec_mini.data.long_history.LongHistoryWorld`) one
request scores the whole catalog (C = `N_ITEMS` candidates) for one user:

* ``vista``: `llmrec_mini.models.vista.VISTA.score` with the user's id, so the summaries come
  from the `llmrec_mini.models.vista.SummaryCache` (int8, filled once by stage 1 before timing):
  cache lookup, dequantisation and C candidates attending to k summaries, O(C k d);
* ``target-attention``: `llmrec_mini.models.target_attention.TargetAttention.score` reading the
  whole history (``max_history=None``): C candidates attending to N events, O(C N d). It is
  skipped at lengths whose (heads x C x N) float32 score matrix alone would exceed
  ``memory_cap_mb``, and at every length after one whose request took over ``time_cap_s``.

Each row has ``history_length``, ``model``, ``median_ms`` (median wall time of a request after one
warm-up, `llmrec_mini.bench.attention_scaling.time_ms`), ``repeats``, ``flops`` (the attention
arithmetic of the request: `llmrec_mini.attention.attention_cost` of the C x k or C x N block,
times heads) and ``skipped`` (the reason, or None).

Both models are **untrained** (`llmrec_mini.models.base.TorchRecommender.untrained`): latency does
not depend on the weights, only on the shapes, so no training is needed to measure it.

**Stage 1 (offline).** Summarising one history of `STAGE1_EVENTS` events:
`llmrec_mini.models.vista.VISTA.summarize_stream` over the world's event stream
(`LongHistoryWorld.iter_user_events`, chunks of the model's ``stream_chunk``), generation of the
events included, run in a fresh Python process so that its peak resident memory (``VmHWM``) is the run's own: ``stage1.seconds``, ``stage1.peak_rss_mb`` (whole process: interpreter, torch
and model included), ``stage1.base_rss_mb`` (the same process before the stream) and the goal
(`STAGE1_GOAL_MB`).

The summary gives the VISTA latency ratio N = 1M over N = 1k (goal at most `RATIO_GOAL`) and the
longest history full target attention was run at. `measure_stage2` and `measure_stage1` are what
the VISTA note calls (``notebooks/vista_architecture.py``); `run` is the benchmark,
`write_results` the page block.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .attention_scaling import THREADS, _torch_threads, time_ms, torch_threads
from .report import fmt_flops, fmt_n, fmt_num, header_lines, write_runner_results

NAME = "vista-latency"
MODELS = ("vista", "target-attention")
HISTORY_LENGTHS = (1_000, 10_000, 100_000, 1_000_000)
QUICK_LENGTHS = (100, 1_000)
STAGE1_EVENTS = 1_000_000
QUICK_STAGE1_EVENTS = 20_000
N_ITEMS = 1_500  # candidates per request: the catalog of synthetic-long at its default size
USER = 0
SEED = 0
MEMORY_CAP_MB = 2048.0  # largest (heads x C x N) float32 score matrix full target attention may build
TIME_CAP_S = 30.0  # full target attention stops growing N once a request takes longer than this
RATIO_GOAL = 1.2  # VISTA's stage-2 latency at 1M events over 1k events
WHOLE = 2 ** 62  # full target attention's max_history in the benchmark: every event of the history
STAGE1_GOAL_MB = 2048.0  # peak memory of summarising a 1M-event history


# ---------------------------------------------------------------------------------------------- models
def untrained_models(n_items: int = N_ITEMS, seed: int = SEED, **vista_params) -> dict:
    """{"vista": VISTA, "target-attention": TargetAttention}, untrained (random weights, eval mode),
    at their default settings; full target attention reads the whole history (``max_history`` = WHOLE)."""
    from ..models import get_model
    from ..utils import set_seed

    set_seed(seed)
    vista = get_model("vista", seed=seed, progress=False, **vista_params).untrained(n_items)
    target = get_model("target-attention", seed=seed, progress=False, max_history=WHOLE).untrained(n_items)
    return {"vista": vista, "target-attention": target}


def history(n_events: int, user: int = USER, seed: int = SEED, size: str = "default"):
    """The first ``n_events`` item indices of ``user`` in the long-history world (int64 array)."""
    import numpy as np

    from ..data.long_history import LongHistoryWorld, long_history_config

    world = LongHistoryWorld(long_history_config(size), seed)
    return np.concatenate([c.items for c in world.iter_user_events(user, n_events)]).astype(np.int64)


def score_matrix_mb(n_heads: int, n_candidates: int, n_events: int) -> float:
    """MiB of the (heads x C x N) float32 score matrix full target attention builds for one request."""
    return n_heads * n_candidates * n_events * 4 / 2 ** 20


def request_flops(model, n_events: int) -> float:
    """The attention arithmetic of one request (`attention.attention_cost` of the candidate block,
    summed over heads): C candidates against k summaries (VISTA) or N events (target attention)."""
    from ..attention import attention_cost

    c = model.config
    keys = c.n_seeds if model.name == "vista" else n_events
    dh = c.d_model // c.n_heads
    # softmax attention on C + keys positions costs 4 (C+keys)^2 dh; the candidate block alone is 4 C keys dh
    cost = attention_cost("softmax", 1, dh)  # per-position-pair cost: 2 dh + 2 dh
    return float(c.n_heads * model.n_items * keys * cost.flops)


def measure_stage2(lengths=HISTORY_LENGTHS, models=MODELS, n_items: int = N_ITEMS, memory_cap_mb: float = MEMORY_CAP_MB,
                   time_cap_s: float = TIME_CAP_S, min_repeats: int = 3, min_seconds: float = 0.5,
                   threads: int | None = THREADS, progress: bool = False, seed: int = SEED,
                   built: dict | None = None) -> list[dict]:
    """Rows of stage-2 latency per request, shortest history first (see the module docstring).
    ``built``: models from `untrained_models` (or trained ones) to time instead of fresh ones."""
    import numpy as np

    for name in models:
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    built = built or untrained_models(n_items, seed)
    lengths = sorted(lengths)
    events = history(max(lengths), seed=seed) % built["vista"].n_items
    rows, too_slow = [], None
    with torch_threads(threads):
        for n in lengths:
            h = events[:n]
            for name in models:
                model = built[name]
                row = {"history_length": n, "model": name, "median_ms": None, "repeats": 0,
                       "flops": request_flops(model, n), "n_candidates": model.n_items, "skipped": None}
                if name == "vista":
                    model.cache.invalidate()
                    model.cache.refresh([USER], [h])  # stage 1, once, before timing: the served path hits the cache
                    fn = lambda: model.score([h], users=np.array([USER]))  # noqa: E731
                else:
                    mb = score_matrix_mb(model.config.n_heads, model.n_items, n)
                    if mb > memory_cap_mb:
                        row["skipped"] = (f"skipped: the score matrix would take {mb:,.0f} MiB, "
                                          f"over the {memory_cap_mb:,.0f} MiB cap")
                    elif too_slow is not None:
                        row["skipped"] = (f"skipped: a request at N = {too_slow:,} already took over "
                                          f"{time_cap_s:.0f} s")
                    fn = lambda: model.score([h])  # noqa: E731
                if row["skipped"] is None:
                    row["median_ms"], row["repeats"] = time_ms(fn, min_repeats=min_repeats, min_seconds=min_seconds)
                    if name != "vista" and row["median_ms"] > time_cap_s * 1000:
                        too_slow = n
                if name == "vista":
                    row["cache_hits"] = model.cache.hits
                rows.append(row)
                if progress:
                    print(f"{name:>16} N = {n:>9,}: " + (row["skipped"] or f"{row['median_ms']:9.2f} ms"),
                          file=sys.stderr, flush=True)
    return rows


# ---------------------------------------------------------------------------------------------- stage 1
def _hwm_mb() -> float:
    """The process's peak resident memory so far in MiB (``VmHWM``: per address space, so, unlike
    ``ru_maxrss``, it does not carry over the parent's peak through fork and exec)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):  # no procfs: the rusage peak (kB on Linux, bytes on macOS)
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2 ** 20 if sys.platform == "darwin" else peak / 1024


def _stage1_child(n_events: int, seed: int, threads: int) -> dict:
    """Runs in a fresh process: summarise ``n_events`` events of `USER` by streaming; time and memory."""
    import torch

    from ..data.long_history import LongHistoryWorld, long_history_config

    torch.set_num_threads(threads)
    vista = untrained_models(seed=seed)["vista"]
    world = LongHistoryWorld(long_history_config("default"), seed)
    base = _hwm_mb()
    n_items = vista.n_items
    t0 = time.perf_counter()
    chunks = (c.items % n_items for c in world.iter_user_events(USER, n_events, vista.config.stream_chunk))
    summaries = vista.summarize_stream(chunks)
    seconds = time.perf_counter() - t0
    peak = _hwm_mb()
    return {"n_events": n_events, "seconds": round(seconds, 3), "peak_rss_mb": round(peak, 1),
            "base_rss_mb": round(base, 1), "chunk": vista.config.stream_chunk,
            "summaries_shape": list(summaries.shape), "threads": threads}


def measure_stage1(n_events: int = STAGE1_EVENTS, seed: int = SEED, threads: int | None = THREADS) -> dict:
    """Time and peak memory of summarising one ``n_events``-event history in a fresh process
    (see the module docstring); adds ``goal_mb`` and ``goal_met``."""
    import torch

    threads = threads or torch.get_num_threads()
    code = (f"import json; from llmrec_mini.bench.vista_latency import _stage1_child; "
            f"print(json.dumps(_stage1_child({int(n_events)}, {int(seed)}, {int(threads)})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    if done.returncode:
        raise RuntimeError(f"stage-1 measurement failed:\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return {**out, "goal_mb": STAGE1_GOAL_MB, "goal_met": out["peak_rss_mb"] < STAGE1_GOAL_MB}


# ---------------------------------------------------------------------------------------------- summary
def _row(rows, model, n):
    return next((r for r in rows if r["model"] == model and r["history_length"] == n and r["median_ms"]), None)


def summarize(rows: list[dict]) -> dict:
    """VISTA's latency ratio longest / shortest history (goal: at most `RATIO_GOAL` for 1M / 1k) and
    the longest history full target attention ran at, with the reasons it stopped."""
    lengths = sorted({r["history_length"] for r in rows})
    v = [n for n in lengths if _row(rows, "vista", n)]
    ratio = (_row(rows, "vista", v[-1])["median_ms"] / _row(rows, "vista", v[0])["median_ms"]) if len(v) > 1 else None
    t = [n for n in lengths if _row(rows, "target-attention", n)]
    both = [n for n in v if n in t]
    speedup = {n: _row(rows, "target-attention", n)["median_ms"] / _row(rows, "vista", n)["median_ms"] for n in both}
    standard = len(v) > 1 and (v[0], v[-1]) == (1_000, 1_000_000)
    return {"vista_ratio": ratio, "ratio_between": [v[0], v[-1]] if len(v) > 1 else None, "ratio_goal": RATIO_GOAL,
            "goal_met": None if ratio is None or not standard else ratio <= RATIO_GOAL,
            "target_max_length": t[-1] if t else None,
            "target_over_vista": {str(n): s for n, s in speedup.items()},
            "skipped": [f"{r['model']} N = {fmt_n(r['history_length'])}: {r['skipped']}" for r in rows if r["skipped"]]}


# ---------------------------------------------------------------------------------------------- the benchmark
def run(quick: bool = False, write_docs: bool = True, progress: bool = True, only: list[str] | None = None,
        lengths=None, stage1_events: int | None = None, memory_cap_mb: float = MEMORY_CAP_MB,
        time_cap_s: float = TIME_CAP_S, threads: int | None = THREADS, docs: Path | None = None) -> dict:
    """The benchmark (``run_bench("vista-latency")``): stage-2 rows, the stage-1 measurement, the
    summary; ``quick``: short histories and a short stream, nothing written."""
    from .runner import _command, hardware

    models = tuple(only) if only else MODELS
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"--only {' '.join(unknown)}: not a model of {NAME} ({', '.join(MODELS)})")
    lengths = tuple(lengths or (QUICK_LENGTHS if quick else HISTORY_LENGTHS))
    stage1_events = stage1_events or (QUICK_STAGE1_EVENTS if quick else STAGE1_EVENTS)
    t0 = time.time()
    threads_used = threads or _torch_threads()
    built = untrained_models()
    rows = measure_stage2(lengths, models, memory_cap_mb=memory_cap_mb, time_cap_s=time_cap_s,
                          min_repeats=2 if quick else 3, min_seconds=0.02 if quick else 0.5, threads=threads,
                          progress=progress, built=built)
    stage1 = measure_stage1(stage1_events, threads=threads_used)
    if progress:
        print(f"stage 1: {stage1['n_events']:,} events in {stage1['seconds']:.1f} s, peak RSS "
              f"{stage1['peak_rss_mb']:,.0f} MiB", file=sys.stderr, flush=True)
    v, t = built["vista"].config, built["target-attention"].config
    out = {"benchmark": NAME, "rows": rows, "summary": summarize(rows), "stage1": stage1,
           "settings": {"lengths": list(lengths), "n_candidates": built["vista"].n_items, "n_seeds": v.n_seeds,
                        "d_model": v.d_model, "vista_heads": v.n_heads, "target_heads": t.n_heads,
                        "cache_quantize": v.cache_quantize, "memory_cap_mb": memory_cap_mb,
                        "time_cap_s": time_cap_s, "threads": threads_used, "trained": False,
                        "timing": "median of repeats after one warm-up request"},
           "command": _command(NAME, None), "hardware": hardware(),
           "wall_s": round(time.time() - t0, 1), "quick": quick, "date": time.strftime("%Y-%m-%d")}
    if write_docs and not quick:
        write_results(out, docs=docs)
    return out



# ---------------------------------------------------------------------------------------------- the report
LABELS = {"vista": "VISTA (cached summaries)", "target-attention": "full target attention"}








def summary_sentences(out: dict) -> str:
    s, st1 = out["summary"], out["stage1"]
    parts = []
    if s["vista_ratio"] is not None:
        lo, hi = s["ratio_between"]
        goal = "" if s["goal_met"] is None else (
            f" (goal at most {s['ratio_goal']:.1f}x: {'met' if s['goal_met'] else 'not met'})")
        parts.append(f"VISTA's stage-2 latency at N = {fmt_n(hi)} is {s['vista_ratio']:.2f}x its latency at "
                     f"N = {fmt_n(lo)}{goal}.")
    if s["target_max_length"] is not None:
        n = s["target_max_length"]
        x = s["target_over_vista"].get(str(n))
        parts.append(f"Full target attention ran up to N = {fmt_n(n)}"
                     + (f", where a request took {x:,.0f}x VISTA's time" if x else "") + ".")
    if s["skipped"]:
        parts.append("Not run: " + "; ".join(s["skipped"]) + ".")
    parts.append(f"Stage 1 summarised a {st1['n_events']:,}-event history in {st1['seconds']:.1f} s with a peak "
                 f"resident memory of {st1['peak_rss_mb']:,.0f} MiB for the whole process "
                 f"({st1['base_rss_mb']:,.0f} MiB before the stream; goal under {st1['goal_mb']:,.0f} MiB: "
                 f"{'met' if st1['goal_met'] else 'not met'}).")
    return " ".join(parts)


def to_markdown(out: dict) -> str:
    st = out["settings"]
    lines = [*header_lines(out),
             f"One request scores the whole catalog ({st['n_candidates']:,} candidates) for one user of the "
             f"long-history world. Both models are untrained (latency depends on shapes, not weights); "
             f"d = {st['d_model']}; VISTA: {st['n_seeds']} summaries read from its {st['cache_quantize']} cache "
             f"(filled before timing), {st['vista_heads']} heads; full target attention: the whole history, "
             f"{st['target_heads']} heads, run while its score matrix fits in {st['memory_cap_mb']:,.0f} MiB and "
             f"a request takes at most {st['time_cap_s']:.0f} s. {st['threads']} torch thread"
             f"{'s' if st['threads'] != 1 else ''}; time: {st['timing']}.", "",
             "| history length | model | median time per request | attention FLOPs | note |",
             "|---|---|---|---|---|"]
    for r in out["rows"]:
        time_ = "-" if r["skipped"] else f"{fmt_num(r['median_ms'])} ms"
        note = r["skipped"] or f"median of {r['repeats']}"
        lines.append(f"| {r['history_length']:,} | {LABELS[r['model']]} | {time_} | {fmt_flops(r['flops'])} | {note} |")
    lines += ["", summary_sentences(out)]
    return "\n".join(lines)


def write_results(out: dict, docs: Path | None = None) -> None:
    """docs/bench/vista-latency.json and its block on the Reproduction page (`report.write_runner_results`)."""
    write_runner_results(out, to_markdown(out), docs=docs, new_section=(
        "## VISTA latency\n\nStage-2 serving latency of VISTA against full target attention as the history grows, "
        "and stage-1 summarisation of a million-event history; see the [VISTA](vista_architecture.md) page."))
