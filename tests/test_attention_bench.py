"""The attention-scaling benchmark at tiny sizes: its rows, its report and its page block."""
from __future__ import annotations

import json

import pytest

from llmrec_mini.bench import BENCHES, run_bench, to_markdown
from llmrec_mini.bench import attention_scaling as bench

FIELDS = {"attention", "n", "median_ms", "peak_mb", "flops", "gflops", "floor_ms", "repeats", "skipped"}


@pytest.fixture(scope="module")
def quick():
    """The CLI's quick mode (tiny sizes, nothing written), through the benchmark registry."""
    return run_bench("attention-scaling", quick=True, write_docs=False, progress=False)


def test_registered_with_its_own_runner():
    assert BENCHES["attention-scaling"].runner == "llmrec_mini.bench.attention_scaling"


def test_quick_rows_carry_every_field(quick):
    rows = quick["rows"]
    assert {(r["attention"], r["n"]) for r in rows} == {(a, n) for a in bench.ATTENTIONS for n in bench.QUICK_SIZES}
    for r in rows:
        assert FIELDS <= set(r), r
        assert r["skipped"] is None
        assert r["median_ms"] > 0 and r["peak_mb"] > 0 and r["repeats"] >= 2
        assert r["gflops"] == pytest.approx(r["flops"] / (r["median_ms"] / 1000) / 1e9)
        assert r["floor_ms"] == pytest.approx(r["flops"] / (quick["matmul_gflops"] * 1e9) * 1000)
    assert quick["quick"] is True and quick["settings"]["threads"] == bench.THREADS
    json.dumps(quick)  # JSON-able, as `--json` prints it


def test_softmax_memory_grows_faster_than_quasi_linear(quick):
    rows = quick["rows"]
    lo, hi = min(bench.QUICK_SIZES), max(bench.QUICK_SIZES)

    def growth(name):
        peak = {r["n"]: r["peak_mb"] for r in rows if r["attention"] == name}
        return peak[hi] / peak[lo]

    assert growth("softmax") > 2 * growth("quasi_linear")
    # the N x N score matrix alone: softmax holds at least that much at every size, quasi-linear far less
    for r in rows:
        if r["attention"] == "softmax":
            assert r["peak_mb"] >= bench.score_matrix_mb(r["n"])
    big = {r["attention"]: r["peak_mb"] for r in rows if r["n"] == hi}
    assert big["quasi_linear"] < bench.score_matrix_mb(hi) < big["softmax"]
    slopes = quick["summary"]["memory_slope"]
    assert slopes["softmax"] > 1.5 and slopes["quasi_linear"] < bench.LINEAR_SLOPE


def test_report_states_the_ratio_and_the_memory_verdict(quick):
    s = quick["summary"]
    assert s["ratio_at"] == max(bench.QUICK_SIZES)  # N = 16k is not among the quick sizes
    assert s["softmax_over_qla"] > 0 and s["goal_met"] is None and s["qla_memory_linear"] is True
    text = to_markdown(quick)  # the shared report dispatches to the benchmark's own
    assert "| attention | N | median time | peak memory | FLOPs |" in text
    assert "softmax attention takes" in text and "memory is linear in N" in text


def test_softmax_over_the_memory_cap_is_skipped_and_said(tmp_path):
    rows = bench.measure_scaling(sizes=(32, 64), attentions=("softmax", "quasi_linear"), min_repeats=1,
                                 min_seconds=0, memory_cap_mb=bench.score_matrix_mb(48))
    skipped = [r for r in rows if r["skipped"]]
    assert [(r["attention"], r["n"]) for r in skipped] == [("softmax", 64)]
    assert "cap" in skipped[0]["skipped"] and skipped[0]["median_ms"] is None and skipped[0]["flops"] > 0
    summary = bench.summarize(rows, ratio_at=64)
    assert summary["ratio_at"] == 32 and summary["goal_met"] is None and summary["skipped"] == ["softmax N = 64"]


def test_results_go_into_their_block_or_a_new_one(tmp_path, quick):
    out = {**quick, "quick": False}
    page = tmp_path / "reproduction.md"
    page.write_text("# Reproduction\n\nintro\n")
    bench.write_results(out, docs=tmp_path)  # no markers yet: a section is appended
    text = page.read_text()
    assert text.startswith("# Reproduction\n\nintro\n") and text.count("<!-- bench:start attention-scaling -->") == 1
    assert (tmp_path / "bench" / "attention-scaling.svg").stat().st_size > 1000
    page.write_text(text.replace("intro", "intro, edited") + "prose after\n")
    bench.write_results(out, docs=tmp_path)  # markers present: only the block is replaced
    text2 = page.read_text()
    assert text2.count("<!-- bench:start attention-scaling -->") == 1 and "intro, edited" in text2
    assert text2.endswith("prose after\n")
    assert json.loads((tmp_path / "bench" / "attention-scaling.json").read_text())["rows"] == out["rows"]


def test_cli_quick_json(capsys):
    from llmrec_mini.cli import main

    assert main(["bench", "attention-scaling", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["benchmark"] == "attention-scaling" and len(out[0]["rows"]) == 3 * len(bench.QUICK_SIZES)
