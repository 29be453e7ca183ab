"""The plum-cost benchmark: PLUM's training throughput and decoding latency rows, and its page block."""
import json

import pytest

from llmrec_mini.bench import llm_cost as bench


@pytest.fixture(scope="module")
def quick():
    return bench.run(quick=True, write_docs=False, progress=False)


def test_quick_run_measures_every_stage_of_the_tiny_lm(quick):
    rows = {r["stage"]: r for r in quick["rows"]}
    assert set(rows) == {"cpt", "sft", "decode (trie)", "decode (free)"} and {r["lm"] for r in quick["rows"]} == {"tiny"}
    for stage in ("cpt", "sft"):
        r = rows[stage]
        # tokens per second is a batch's real tokens over the step's median time
        assert r["tokens_per_s"] > 0 and r["median_ms"] > 0 and r["batch"] > 1
    assert rows["decode (trie)"]["tokens_per_s"] is None and rows["decode (trie)"]["median_ms"] > 0
    assert 0 < rows["cpt"]["trainable"] == rows["cpt"]["params"]  # the tiny LM trains every weight


def test_page_block_and_bad_input(quick, tmp_path):
    (tmp_path / "reproduction.md").write_text("# Reproduction\n")
    for _ in range(2):
        bench.write_results({**quick, "quick": False}, docs=tmp_path)
    text = (tmp_path / "reproduction.md").read_text()
    assert text.count("<!-- bench:start plum-cost -->") == 1 and "[PLUM](plum/main.md)" in text
    assert "| tiny Llama (PLUM default) | sft |" in text
    assert json.loads((tmp_path / "bench" / "plum-cost.json").read_text())["benchmark"] == "plum-cost"
    with pytest.raises(ValueError, match="not a language model"):
        bench.run(quick=True, write_docs=False, only=["gpt5"])
