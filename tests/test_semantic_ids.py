"""Semantic IDs: RQ-VAE training behaviour, collision handling, item<->code tables, tries, constrained decoding."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrec_mini.semantic_ids import (
    PrefixTrie,
    SemanticIDs,
    SIDVocab,
    add_collision_token,
    build_semantic_ids,
    collision_stats,
    level_stats,
)

SMALL = dict(hidden_dims=(64, 32), latent_dim=8, batch_size=256)  # a tiny RQ-VAE for fast tests


def mixture(n=512, d=32, k=16, seed=0) -> np.ndarray:
    """Clustered embeddings: k clusters, each with 4 sub-clusters, plus noise."""
    rng = np.random.default_rng(seed)
    centers, sub = rng.standard_normal((k, d)) * 3, rng.standard_normal((k, 4, d))
    label, s = rng.integers(0, k, n), rng.integers(0, 4, n)
    return (centers[label] + sub[label, s] + 0.3 * rng.standard_normal((n, d))).astype(np.float32)


@pytest.fixture(scope="module")
def x():
    import torch

    torch.set_num_threads(1)
    return mixture()


def assert_valid(sids: SemanticIDs, n_items: int, length: int) -> None:
    assert sids.codes.shape == (n_items, length) and sids.codes.dtype == np.int64
    assert len({tuple(r) for r in sids.codes.tolist()}) == n_items  # unique
    assert (sids.codes < np.array(sids.codebook_sizes)).all() and (sids.codes >= 0).all()
    for i in range(n_items):
        assert sids.item_of(sids.code_of(i)) == i


# ---------------------------------------------------------------- RQ-VAE
def test_rqvae_reconstruction_loss_decreases(x):
    from llmrec_mini.semantic_ids.rqvae import RQVAEQuantizer

    q = RQVAEQuantizer(**SMALL, levels=3, codebook_size=16, epochs=60, lr=3e-3, progress=False)
    codes = q.fit(x)
    recon = [h["recon"] for h in q.history]
    assert codes.shape == (len(x), 3)
    assert recon[-1] < 0.3 * recon[0]
    assert np.mean(recon[-10:]) < np.mean(recon[:10])
    assert {"loss", "rq", "usage", "perplexity", "unique_rate", "dead_reset"} <= set(q.history[-1])
    np.testing.assert_array_equal(q.encode(x), codes)  # the returned codes are the trained model's codes


def test_kmeans_init_uses_most_of_each_codebook(x):
    import torch

    from llmrec_mini.semantic_ids.rqvae import RQVAE, RQVAEConfig

    torch.manual_seed(0)
    model = RQVAE(x.shape[1], RQVAEConfig(**SMALL, levels=3, codebook_size=16))
    xt = torch.from_numpy(x)
    model.set_standardizer(xt)
    model.quantizer.kmeans_init(model.encode(xt))
    usage = level_stats(model.codes(xt).numpy(), [16] * 3)["usage"]
    assert min(usage) >= 0.8, usage


def test_dead_codes_are_reset_onto_residuals(x):
    import torch

    from llmrec_mini.semantic_ids.rqvae import RQVAE, RQVAEConfig

    torch.manual_seed(0)
    model = RQVAE(x.shape[1], RQVAEConfig(**SMALL, levels=2, codebook_size=16))
    xt = torch.from_numpy(x)
    model.set_standardizer(xt)
    model.quantizer.kmeans_init(model.encode(xt))
    model.quantizer.codebooks.data[0, :4] = 1e3  # force 4 dead codes at level 0
    out = model(xt)
    used = torch.zeros(2, 16, dtype=torch.bool).scatter_(1, out["codes"].T, True)
    assert not used[0, :4].any()
    counts = model.quantizer.reset_dead(~used, out["residuals"], torch.Generator().manual_seed(0))
    assert counts[0] >= 4
    moved = model.quantizer.codebooks.data[0, :4]
    dist = torch.cdist(moved, out["residuals"][0].detach()).min(1).values
    assert (dist < 0.05).all()  # each reset code sits on a residual of the batch
    assert np.isin(np.arange(4), model.codes(xt)[:, 0].numpy()).any()  # and gets used again


def test_dead_code_reset_keeps_codebooks_alive(x):
    from llmrec_mini.semantic_ids.rqvae import RQVAEQuantizer

    kw = dict(**SMALL, levels=3, codebook_size=16, epochs=30, kmeans_init=False, progress=False)
    with_reset, without = RQVAEQuantizer(**kw), RQVAEQuantizer(**kw, dead_code_reset=False)
    with_reset.fit(x)
    without.fit(x)
    assert sum(sum(h["dead_reset"]) for h in with_reset.history) > 0
    assert min(with_reset.history[-1]["usage"]) >= 0.8
    assert np.mean(with_reset.history[-1]["usage"]) > np.mean(without.history[-1]["usage"])


# ---------------------------------------------------------------- collisions and tables
def test_collision_token_makes_ids_unique_and_fixed_length():
    raw = np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0], [1, 2, 3], [0, 0, 1]])
    codes = add_collision_token(raw)
    np.testing.assert_array_equal(codes[:, -1], [0, 1, 0, 2, 0])
    np.testing.assert_array_equal(codes[:, :3], raw)
    assert collision_stats(raw) == {"unique_rate": 3 / 5, "collision_rate": 3 / 5, "max_collision": 3}

    sids = build_semantic_ids(np.zeros((40, 4)), method="random", levels=2, codebook_size=2, progress=False)
    assert_valid(sids, 40, 3)  # 40 items in 4 possible tuples: heavy collisions, still unique
    assert sids.codebook_sizes[-1] == sids.metrics["max_collision"] >= 10


def test_save_load_round_trip(tmp_path, x):
    sids = build_semantic_ids(x[:200], method="rqvae", levels=2, codebook_size=16, epochs=3, progress=False, **SMALL)
    path = tmp_path / "sids.npz"
    sids.save(path)
    back = SemanticIDs.load(path)
    np.testing.assert_array_equal(back.codes, sids.codes)
    assert back == sids  # codebook sizes, method, metrics and history compared too
    assert all(back.item_of(sids.code_of(i)) == i for i in range(200))
    frame = back.to_frame()
    assert list(frame.columns[:4]) == ["item", "c0", "c1", "c2"] and frame["sid"].is_unique


@pytest.mark.parametrize("method", ["rqkmeans", "random", "lsh", "rqvae"])
def test_factories_return_valid_unique_ids(method, x):
    extra = dict(epochs=5, **SMALL) if method == "rqvae" else {}
    sids = build_semantic_ids(x, method=method, levels=3, codebook_size=16, seed=1, progress=False, **extra)
    assert_valid(sids, len(x), 4)
    assert sids.method == method and sids.codebook_sizes[:3] == (16, 16, 16)
    m = sids.metrics
    assert len(m["usage"]) == len(m["perplexity"]) == 3
    tuples = [tuple(r) for r in sids.codes[:, :3].tolist()]  # brute force: distinct 3-code tuples
    assert m["unique_rate"] == pytest.approx(len(set(tuples)) / len(x))
    assert m["max_collision"] == max(tuples.count(t) for t in set(tuples)) == sids.codes[:, 3].max() + 1
    assert m["usage"][0] == pytest.approx(len(set(sids.codes[:, 0].tolist())) / 16)
    if method in ("rqkmeans", "rqvae"):
        np.testing.assert_array_equal(sids.quantizer.encode(x), sids.codes[:, :3])


def test_lsh_codes_follow_the_hyperplanes():
    emb = np.random.default_rng(0).standard_normal((300, 8))
    a = build_semantic_ids(emb, method="lsh", levels=2, codebook_size=8, seed=3, progress=False)
    b = build_semantic_ids(emb, method="lsh", levels=2, codebook_size=8, seed=3, progress=False)
    np.testing.assert_array_equal(a.codes, b.codes)
    near = build_semantic_ids(emb + 1e-9, method="lsh", levels=2, codebook_size=8, seed=3, progress=False)
    np.testing.assert_array_equal(a.codes[:, :2], near.codes[:, :2])
    with pytest.raises(ValueError, match="2\\^bits"):
        build_semantic_ids(emb, method="lsh", codebook_size=10)


def test_large_codebook_is_clamped_and_bad_input_rejected(x):
    with pytest.warns(UserWarning, match="clamped to 64"):
        sids = build_semantic_ids(x[:150], method="rqkmeans", codebook_size=256, progress=False)
    assert sids.codebook_sizes[:3] == (64, 64, 64)
    with pytest.raises(ValueError, match="unknown method"):
        build_semantic_ids(x, method="vq")
    with pytest.raises(ValueError, match="finite"):
        build_semantic_ids(np.full((10, 3), np.nan))
    with pytest.raises(ValueError, match="unique"):
        SemanticIDs(codes=np.zeros((2, 2)), codebook_sizes=(4, 4), method="x")


def test_token_layout_round_trip(tmp_path):
    sids = SemanticIDs(codes=add_collision_token(np.array([[3, 1], [3, 1], [0, 2]])), codebook_sizes=(4, 4, 2),
                       method="hand")
    vocab = SIDVocab(sids, specials=("<pad>", "</s>"), offset=10)
    assert (vocab.K, vocab.L, vocab.end) == (4, 3, 10 + 12) and vocab.special("</s>") == 1
    assert vocab.encode([1]).tolist() == [[10 + 0 * 4 + 3, 10 + 1 * 4 + 1, 10 + 2 * 4 + 1]]
    np.testing.assert_array_equal(vocab.decode(vocab.encode([0, 1, 2])), [0, 1, 2])
    assert vocab.decode([[10 + 3, 10 + 4 + 1, 10 + 8 + 1]]).tolist() == [1]
    assert vocab.decode([[13, 15]]).tolist() == [-1]  # too short
    assert vocab.decode([[13, 11, 18]]).tolist() == [-1]  # a level-0 token at position 1
    assert vocab.decode([[10, 15, 18]]).tolist() == [-1]  # well-formed but no item has (0, 1, 0)
    assert vocab.decode([[13, 15, 19 + 1]]).tolist() == [-1]  # collision code 2 is beyond that level's 2 codes
    assert vocab.level_of([0, 9, 10, 14, 21, 22]).tolist() == [-1, -1, 0, 1, 2, -1]
    assert [vocab.describe(t) for t in (1, 4, 13, 22)] == ["</s>", "<reserved 2>", "c0=3", "<token 22>"]
    assert vocab.token_strings()[:2] == ["<sid_0_0>", "<sid_0_1>"] and len(vocab.token_strings()) == 12
    vocab.save(tmp_path)
    assert SIDVocab.load(tmp_path) == vocab
    with pytest.raises(ValueError, match="overlap"):
        SIDVocab(sids, specials=("<pad>", "</s>"), offset=1)
    with pytest.raises(KeyError, match="<bos>"):
        vocab.special("<bos>")


# ---------------------------------------------------------------- trie
def test_trie_allowed_on_a_hand_made_set():
    codes = np.array([[0, 1, 0], [0, 1, 1], [0, 2, 0], [3, 0, 0]])
    trie = PrefixTrie(codes)
    assert trie.allowed(()) == [0, 3]
    assert trie.allowed((0,)) == [1, 2]
    assert trie.allowed((0, 1)) == [0, 1]
    assert trie.allowed((3, 0)) == [0]
    assert trie.allowed((0, 1, 1)) == [] and trie.allowed((1,)) == []
    assert trie.is_complete((0, 1, 1)) and not trie.is_complete((0, 1)) and not trie.is_complete((0, 1, 2))
    assert trie.is_valid_prefix((0, 2)) and not trie.is_valid_prefix((2,))
    assert trie.items_with_prefix((0,)) == [0, 1, 2] and trie.items_with_prefix(()) == [0, 1, 2, 3]
    assert trie.items_with_prefix((0, 3)) == [] and trie.item((3, 0, 0)) == 3 and len(trie) == 4


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=30, unique=True),
       st.lists(st.integers(0, 100), min_size=3, max_size=3))
def test_walking_the_trie_only_yields_valid_codes(codes, choices):
    valid = set(codes)
    trie = PrefixTrie(np.array(codes))
    prefix: tuple = ()
    for choice in choices:  # any walk that follows allowed() ends on a real ID
        options = trie.allowed(prefix)
        assert options == sorted({c[len(prefix)] for c in valid if c[: len(prefix)] == prefix})
        prefix += (options[choice % len(options)],)
    assert prefix in valid and trie.is_complete(prefix) and trie.allowed(prefix) == []
    assert trie.item(prefix) == codes.index(prefix)


def test_constrained_t5_generation_yields_only_valid_ids():
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    rng = np.random.default_rng(0)
    sids = SemanticIDs(codes=add_collision_token(rng.integers(0, 4, size=(30, 2))), codebook_sizes=(4, 4, 4), method="hand")
    assert sids.codebook_sizes[-1] >= sids.codes[:, -1].max() + 1
    vocab = SIDVocab(sids, specials=("<pad>", "</s>"))  # 0 = pad / decoder start, 1 = eos
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(vocab_size=vocab.end, d_model=16, d_ff=32, d_kv=8,
                                                num_layers=1, num_heads=2, decoder_start_token_id=0, pad_token_id=0,
                                                eos_token_id=1)).eval()
    out = model.generate(input_ids=torch.tensor([[5, 9, 3], [7, 2, 8]]), num_beams=10, num_return_sequences=10,
                         max_new_tokens=vocab.L, prefix_allowed_tokens_fn=vocab.allowed_tokens_fn(), do_sample=False)
    assert out.shape == (20, 1 + vocab.L)
    items = vocab.decode(out[:, 1:].numpy()).tolist()
    assert -1 not in items
    assert len(set(items[:10])) == 10 and len(set(items[10:])) == 10  # beams are distinct real items
