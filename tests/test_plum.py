"""PLUM: a causal LM with SID tokens, LM pre-training and CPT before SFT, trie-constrained decoding."""
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.models import get_model

SMALL = dict(d_model=64, n_layers=2, n_heads=4, lm_steps=100, cpt_steps=100, epochs=6, rqvae_epochs=30,
             codebook_size=32, num_beams=10, val_users=50, progress=False, seed=0)


@pytest.fixture(scope="module")
def trained(shop):
    data, split = shop
    return get_model("plum", **SMALL).fit(split, data.catalog)


def test_plum_beats_popularity_on_held_out_users(shop, trained, tmp_path_factory):
    """600 users x 200 items of the built-in shop, about a minute on 2 cores."""
    data, split = shop
    pop = evaluate_metrics(get_model("popularity").fit(split, data.catalog), split.test, ks=(10,))
    got = evaluate_metrics(trained, split.test, ks=(10,))
    print(f"\nPLUM {got}\npopularity {pop}")
    assert got["recall@10"] >= pop["recall@10"] + 0.15 and got["ndcg@10"] >= pop["ndcg@10"] + 0.08
    assert set(trained.stage_results) == {"lm", "cpt"}
    for stage in trained.stage_results.values():  # each stage ran its steps (ten curve points) and its loss came down
        assert stage.history[-1]["steps"] == 100 and len(stage.history) == 10  # steps: cumulative
        assert stage.history[-1]["loss"] < stage.history[0]["loss"]
    # a checkpoint reproduces the recommendations (tokenizer, SIDs and weights come back)
    path = trained.save(tmp_path_factory.mktemp("plum"))
    loaded = type(trained).load(path, data.catalog)
    a, b = trained.recommend(split.test.histories[:20], k=5), loaded.recommend(split.test.histories[:20], k=5)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-4, atol=1e-4)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.lists(st.integers(0, 199), min_size=1, max_size=12), min_size=1, max_size=6),
       st.integers(1, 10))
def test_constrained_generation_gives_valid_distinct_unseen_items(trained, histories, k):
    rec = trained.recommend([np.array(h) for h in histories], k=k)
    for h, items, scores, tokens in zip(histories, rec.items, rec.scores, rec.extras["tokens"]):
        real = items[items >= 0]
        assert len(real) == len(set(real.tolist())) and not set(real.tolist()) & set(h)
        assert np.all(np.diff(scores[np.isfinite(scores)]) <= 1e-6)  # best first
        np.testing.assert_array_equal(trained.vocab.decode(tokens[items >= 0]), real)  # the tokens are the items' IDs
    assert (rec.extras["invalid"] == 0).all()


def test_unconstrained_decoding_reports_invalid_ids(shop):
    """An untrained LM writes random SID tokens: without the trie most beams name no item; with it, none."""
    data, split = shop
    model = get_model("plum", preset="tiny", seed=0, progress=False)
    model.prepare(split, data.catalog)  # semantic IDs and the tokenizer, then the random LM
    model.untrained(split.n_items, data.catalog)
    histories = split.test.histories[:8]
    assert model.invalid_rate(histories, k=5) > 0.5
    assert (model.recommend(histories, k=5).extras["invalid"] == 0).all()


def test_cpt_lowers_the_sft_loss_at_equal_sft_steps():
    data = make_synthetic("default", n_users=300, n_items=120, seed=0)
    split = leave_one_out(data)
    loss = {}
    for cpt in (0, 150):
        m = get_model("plum", d_model=32, n_layers=1, n_heads=2, lm_steps=0, cpt_steps=cpt, epochs=1, encoder="hashing",
                      rqvae_epochs=10, codebook_size=16, levels=2, val_users=20, progress=False, seed=0)
        m.fit(split, data.catalog)
        loss[cpt] = m.result.history[0]["loss"]
        assert m.result.history[0]["steps"] == -(-len(m.examples(split)) // m.train_config.batch_size)
    print(f"\nfirst SFT epoch loss without CPT {loss[0]:.3f}, after 150 CPT steps {loss[150]:.3f}")
    assert loss[150] < loss[0] - 0.5


def test_plum_settings_and_inputs_fail_clearly(shop):
    data, split = shop
    with pytest.raises(ValueError, match="SmolLM2 is used with its pre-trained weights"):
        get_model("plum", lm="smollm2", init="random")
    with pytest.raises(ValueError, match="cpt_behaviour_share"):
        get_model("plum", cpt_behaviour_share=1.5)
    with pytest.raises(ValueError, match="needs the catalog"):
        get_model("plum", preset="tiny", progress=False).fit(split)
    assert get_model("plum").group_settings["sid"].method == "sid-v2"
    assert get_model("plum", method="rqvae").group_settings["sid"].method == "rqvae"


def test_cli_evaluates_plum_on_the_builtin_data(tmp_path):
    out = subprocess.run([sys.executable, "-m", "llmrec_mini.cli", "evaluate", "--model", "plum", "--preset", "tiny",
                          "--dataset", "synthetic", "--size", "tiny", "--json"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert "recall@10" in json.dumps(result)


def test_plum_on_smollm2_trains_lora_and_the_new_rows_only():
    """The SmolLM2 switch: the pre-trained LLM (offline), LoRA adapters and the SID rows trainable, the rest
    frozen; its beams under the trie are real items. (Built untrained: loading SmolLM2 is the cost here.)"""
    from llmrec_mini import llm
    from llmrec_mini.data import load_dataset

    try:
        llm.smollm2_path()
    except llm.LLMError as err:
        pytest.skip(str(err))
    data = load_dataset("synthetic", size="tiny")
    split = leave_one_out(data)
    model = get_model("plum", preset="smollm2", encoder="hashing", codebook_size=16, levels=2, rqvae_epochs=5,
                      num_beams=4, progress=False, seed=0)
    model.prepare(split, data.catalog)
    model.untrained(split.n_items, data.catalog)
    trainable = [n for n, p in model.module.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or "trainable_tokens" in n for n in trainable)
    frozen = sum(p.numel() for p in model.module.parameters() if not p.requires_grad)
    assert frozen > 100e6  # SmolLM2-135M's own weights
    rec = model.recommend(split.test.histories[:2], k=4)
    assert (rec.items >= 0).all() and all(len(set(r)) == 4 for r in rec.items.tolist())
