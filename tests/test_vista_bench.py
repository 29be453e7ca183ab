"""The vista-latency benchmark at tiny sizes: its rows, its summary, its report and its page block."""
from __future__ import annotations

import json

import pytest

from llmrec_mini.bench import BENCHES, run_bench, to_markdown
from llmrec_mini.bench import vista_latency as bench

FIELDS = {"history_length", "model", "median_ms", "repeats", "flops", "n_candidates", "skipped"}


@pytest.fixture(scope="module")
def quick():
    """The CLI's quick mode (short histories, a short stream, nothing written), through the registry."""
    return run_bench("vista-latency", quick=True, write_docs=False, progress=False)


def test_registered_with_its_own_runner():
    assert BENCHES["vista-latency"].runner == "llmrec_mini.bench.vista_latency"
    assert BENCHES["vista-latency"].dataset == "none" and not BENCHES["vista-latency"].gpu


def test_quick_rows_carry_every_field(quick):
    rows = quick["rows"]
    assert {(r["model"], r["history_length"]) for r in rows} == {
        (m, n) for m in bench.MODELS for n in bench.QUICK_LENGTHS}
    for r in rows:
        assert FIELDS <= set(r), r
        assert r["skipped"] is None and r["median_ms"] > 0 and r["repeats"] >= 2
        assert r["n_candidates"] == bench.N_ITEMS
    assert quick["quick"] is True and quick["settings"]["trained"] is False
    json.dumps(quick)  # JSON-able, as `--json` prints it


def test_vista_reads_the_cache_and_its_flops_do_not_grow(quick):
    vista = sorted((r for r in quick["rows"] if r["model"] == "vista"), key=lambda r: r["history_length"])
    target = sorted((r for r in quick["rows"] if r["model"] == "target-attention"), key=lambda r: r["history_length"])
    assert all(r["cache_hits"] >= r["repeats"] for r in vista)  # the served path hit the cache
    assert len({r["flops"] for r in vista}) == 1  # C x k: independent of N
    lo, hi = target[0], target[-1]
    assert hi["flops"] / lo["flops"] == pytest.approx(hi["history_length"] / lo["history_length"])  # C x N
    assert vista[0]["flops"] < lo["flops"]


def test_summary_and_stage1(quick):
    s, st1 = quick["summary"], quick["stage1"]
    assert s["ratio_between"] == [min(bench.QUICK_LENGTHS), max(bench.QUICK_LENGTHS)]
    assert s["vista_ratio"] > 0 and s["goal_met"] is None  # not the 1k -> 1M ratio the goal is about
    assert s["target_max_length"] == max(bench.QUICK_LENGTHS) and s["skipped"] == []
    assert st1["n_events"] == bench.QUICK_STAGE1_EVENTS and st1["seconds"] > 0
    assert st1["peak_rss_mb"] >= st1["base_rss_mb"] > 0 and st1["goal_met"] is True
    assert st1["summaries_shape"][0] == quick["settings"]["n_seeds"]


def test_report_states_the_ratio_the_cap_and_stage1(quick):
    text = to_markdown(quick)  # the shared report dispatches to the benchmark's own
    assert "| history length | model | median time per request |" in text
    assert "VISTA's stage-2 latency at N = 1k" in text and "Stage 1 summarised a 20,000-event history" in text
    assert "untrained" in text


def test_full_attention_over_a_cap_is_skipped_and_said():
    built = bench.untrained_models(n_items=50)
    cap = bench.score_matrix_mb(built["target-attention"].config.n_heads, 50, 48)
    rows = bench.measure_stage2(lengths=(32, 64), memory_cap_mb=cap, min_repeats=1, min_seconds=0, built=built)
    skipped = [r for r in rows if r["skipped"]]
    assert [(r["model"], r["history_length"]) for r in skipped] == [("target-attention", 64)]
    assert "cap" in skipped[0]["skipped"] and skipped[0]["median_ms"] is None
    s = bench.summarize(rows)
    assert s["target_max_length"] == 32 and len(s["skipped"]) == 1
    rows = bench.measure_stage2(lengths=(32, 64), models=("target-attention",), time_cap_s=0.0, min_repeats=1,
                                min_seconds=0, built=built)
    assert rows[0]["median_ms"] and "already took" in rows[1]["skipped"]
    with pytest.raises(ValueError, match="unknown model"):
        bench.measure_stage2(lengths=(8,), models=("sasrec",), built=built)


def test_results_go_into_their_block_or_a_new_one(tmp_path, quick):
    """The page block itself is `report.write_page_block` (tested with attention-scaling); here: this
    benchmark's section, link and JSON, written once however often it runs."""
    (tmp_path / "reproduction.md").write_text("# Reproduction\n\nintro\n")
    for _ in range(2):
        bench.write_results({**quick, "quick": False}, docs=tmp_path)
    text = (tmp_path / "reproduction.md").read_text()
    assert text.count("## VISTA latency") == 1 and text.count("<!-- bench:end vista-latency -->") == 1
    assert "[VISTA](vista_architecture.md)" in text and bench.to_markdown(quick) in text
    assert json.loads((tmp_path / "bench" / "vista-latency.json").read_text())["benchmark"] == "vista-latency"