"""llmrec_mini.architectures: counts against built models and torch's FLOP counter, the family table, tiny models."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from llmrec_mini import architectures as X
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.models import MODELS, get_model, model_class
from llmrec_mini.models.base import TorchRecommender

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIGS = {
    "T5": ("encoder-decoder", {}),
    "BERT": ("bidirectional encoder", {}),
    "MHA": ("decoder-only", {}),
    "GQA": ("decoder-only", {"n_kv_heads": 2}),
    "MQA": ("decoder-only", {"n_kv_heads": 1}),
    "window": ("decoder-only", {"window": 6}),
}


def flops_of(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("name", CONFIGS)
def test_param_count_equals_the_built_model(name):
    family, kw = CONFIGS[name]
    config = X.make_config(family, vocab_size=123, d_model=32, n_layers=3, n_heads=4, d_ff=80, **kw)
    model = X.build(config)
    assert X.param_count(config) == sum(p.numel() for p in model.parameters())
    assert X.family_of(config) == family


def test_layer_params_by_hand():
    c = X.make_config("decoder-only", d_model=64, n_heads=4, n_kv_heads=2, d_ff=256)
    # W_q, W_o: 64 x 64; W_k, W_v: 64 x (2 heads x 16) = 64 x 32; SwiGLU 3 x 64 x 256; two norms
    assert X.layer_params(c) == {"attention": 2 * 4096 + 2 * 2048, "mlp": 49152, "norms": 128}


def test_gqa_and_mqa_shrink_the_kv_cache_by_the_head_ratio_and_the_formula_matches_the_cache():
    torch.manual_seed(0)
    variants = X.attention_variants(d_model=64, n_heads=8, n_layers=2, window=5, gqa_kv_heads=2, vocab_size=50,
                                    max_positions=64)
    n = 12
    measured = {}
    for name, config in variants.items():
        with torch.no_grad():
            out = X.build(config)(input_ids=torch.randint(3, 50, (1, n)), use_cache=True)
        measured[name] = X.cache_bytes(out.cache)
        assert measured[name] == X.kv_cache_bytes(config, n)
    # 2 (K, V) x 2 layers x 8 heads x 8 dims x 12 positions x 4 bytes
    assert measured["MHA"] == 2 * 2 * 8 * 8 * 12 * 4 == 12288
    assert measured["MHA"] / measured["GQA"] == 8 / 2
    assert measured["MHA"] / measured["MQA"] == 8
    assert measured["sliding window"] == measured["MHA"] * 4 // 12  # window 5: the 4 latest positions are kept
    assert X.kv_cache_bytes(variants["GQA"], n, dtype=torch.bfloat16) * 2 == measured["GQA"]


def test_layer_flops_by_hand():
    c = X.make_config("decoder-only", d_model=64, n_heads=4, n_kv_heads=2, d_ff=256)
    # 2 x (64*64 q + 2 * 64*32 k,v + 64*64 o + 3 * 64*256) + 2 x 2 x 10 keys x 4 heads x 16
    assert X.layer_flops(c, 10) == 2 * (4096 + 4096 + 4096 + 49152) + 4 * 10 * 64 == 125440
    w = X.make_config("decoder-only", d_model=64, n_heads=4, window=4)
    assert X.layer_flops(w, 10) - X.layer_flops(w, 3) == 4 * (4 - 3) * 64  # keys capped at the window
    assert X.layer_flops(w, 1000) == X.layer_flops(w, 4)


def test_bert_layer_flops_match_torchs_counter():
    """A bidirectional layer: every one of N tokens reads all N keys, so the layer's total is N x per token."""
    torch.manual_seed(0)
    c = X.make_config("bidirectional encoder", d_model=32, n_heads=4, d_ff=64)
    layer = X.build(c, attention="eager").bert.encoder.layer[0]  # SDPA on CPU is not counted
    n = 9
    total = flops_of(lambda: layer(torch.randn(1, n, 32)))
    assert total == n * X.layer_flops(c, n)


@pytest.mark.parametrize("kw", [{}, {"n_kv_heads": 1}, {"window": 4}])
def test_decode_step_flops_match_torchs_counter(kw):
    """One generated token with N cached: N + 1 keys (window-capped), every layer and the LM head."""
    torch.manual_seed(0)
    c = X.make_config("decoder-only", vocab_size=40, d_model=32, n_layers=2, n_heads=4, d_ff=64, **kw)
    model = X.build(c, attention="eager")
    n = 7
    with torch.no_grad():
        cache = model(input_ids=torch.randint(3, 40, (1, n)), use_cache=True).cache
    step = flops_of(lambda: model(input_ids=torch.tensor([[5]]), cache=cache, use_cache=True))
    assert step == X.flops_per_token(c, n + 1)


def test_the_family_table_covers_every_neural_model():
    rows = {r["model"]: r for r in X.method_families()}
    neural = {name for name in MODELS if issubclass(model_class(name), TorchRecommender)}
    assert set(rows) == neural
    assert all(r["family"] != "unknown" for r in rows.values())
    assert rows["tiger"]["family"] == "encoder-decoder"
    causal_lms = ("plum", "lumen", "onerec_think", "linkedin", "sasrec", "flare")
    assert {rows[m]["family"] for m in causal_lms} == {"decoder-only"}
    assert rows["onepiece"]["family"] == "bidirectional encoder"
    assert rows["flare"]["found"] == "causal_padding_mask"  # found through flare._module -> sasrec._module
    assert X.backbone_of(model_class("popularity")) is None


def test_family_batches_by_hand():
    h, t = [np.array([4, 0, 7])], [2]
    dec = X.family_batch("decoder-only", h, t)
    assert dec["input_ids"].tolist() == [[X.BOS_ID, 7, 3, 10, 5]] and dec["labels"].tolist() == [[1, 7, 3, 10, 5]]
    enc = X.family_batch("bidirectional encoder", h, t)
    assert enc["input_ids"].tolist() == [[7, 3, 10, X.MASK_ID]] and enc["labels"].tolist() == [[-100, -100, -100, 5]]
    s2s = X.family_batch("encoder-decoder", h, t, max_len=2)
    assert s2s["input_ids"].tolist() == [[3, 10]] and s2s["labels"].tolist() == [[5]]


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="family must be one of"):
        X.make_config("rnn")
    with pytest.raises(ValueError, match="multiple of n_kv_heads"):
        X.make_config("decoder-only", n_heads=4, n_kv_heads=3)
    with pytest.raises(ValueError, match="decoder-only family"):
        X.make_config("bidirectional encoder", window=4)
    with pytest.raises(ValueError, match="decoder-only configs"):
        X.kv_cache_bytes(X.make_config("bidirectional encoder"), 10)
    with pytest.raises(ValueError, match="seq_len must be a positive integer"):
        X.layer_flops(X.make_config("decoder-only"), 0)


@pytest.fixture(scope="module")
def shop():
    data = make_synthetic("default", n_users=600, n_items=200)
    split = leave_one_out(data)
    pop = evaluate_metrics(get_model("popularity").fit(split), split.test, ks=(10,))
    return split, pop


@pytest.mark.parametrize("family, steps, margin", [("decoder-only", 250, 0.2), ("bidirectional encoder", 250, 0.05)])
def test_tiny_family_models_beat_popularity_and_generate_what_they_score(shop, family, steps, margin):
    split, pop = shop
    torch.manual_seed(0)
    model = X.build(X.make_config(family, vocab_size=200 + X.N_SPECIAL))
    X.train_family(model, family, split.train, steps=steps, batch_size=64, lr=3e-3)
    rec = X.FamilyRecommender(model, family, 200)
    res = evaluate_metrics(rec, split.test, ks=(10,))
    assert res["recall@10"] > pop["recall@10"] + margin, (res, pop)
    for h in split.test.histories[:5]:  # greedy generation = arg-max of the scores
        assert X.generate_next(model, family, h) == int(rec.score([h])[0].argmax())


def test_measure_decoding_rows_report_the_real_cache():
    variants = X.attention_variants(d_model=32, n_heads=4, n_layers=1, window=8, gqa_kv_heads=2, vocab_size=40,
                                    max_positions=64)
    rows = X.measure_decoding(variants, seq_lens=(4, 16), min_repeats=1, min_seconds=0.0)
    assert [(r["variant"], r["n"]) for r in rows] == [(v, n) for v in X.VARIANTS for n in (4, 16)]
    assert all(r["kv_cache_mb"] == r["kv_cache_mb_formula"] for r in rows)
    by = {(r["variant"], r["n"]): r for r in rows}
    assert by[("sliding window", 16)]["kv_cache_mb"] == by[("sliding window", 4)]["kv_cache_mb"] * 7 / 4  # capped at 7
    assert by[("MHA", 16)]["kv_cache_mb"] == 4 * by[("MHA", 4)]["kv_cache_mb"]


def test_figures_draw_the_masks_and_the_lines():
    from llmrec_mini import viz
    from llmrec_mini.attention import causal, sliding_window

    fig = viz.mask_grid_figure({"causal": causal(5), "window": sliding_window(5, 2)}, cols=2)
    assert [t.z.tolist() for t in fig.data] == [causal(5).int().tolist(), sliding_window(5, 2).int().tolist()]
    rows = [{"v": v, "n": n, "t": n * k} for k, v in ((1, "a"), (2, "b")) for n in (1, 2, 4)]
    fig = viz.scaling_lines_figure(rows, x="n", panels={"t": "time"}, group="v")
    assert [(t.name, list(t.y)) for t in fig.data] == [("a", [1, 2, 4]), ("b", [2, 4, 8])]
    with pytest.raises(ValueError, match="masks is empty"):
        viz.mask_grid_figure({})
