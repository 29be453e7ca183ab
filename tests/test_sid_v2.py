"""SID-v2 (PLUM's tokenizer): co-occurrence from training data only, multi-resolution codebooks,
progressive masking, the contrastive loss, and the v1 vs v2 report."""
import numpy as np
import pytest
import torch

from llmrec_mini.data import load_dataset
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.semantic_ids import SIDConfig, build_semantic_ids, build_sid_v2, sid_report
from llmrec_mini.semantic_ids.sid_v2 import (SIDv2, SIDv2Config, SIDv2Quantizer, cooccurrence_embeddings,
                                             cooccurrence_pairs)


def test_cooccurrence_pairs_by_hand():
    pairs, counts = cooccurrence_pairs([np.array([0, 1, 2, 1]), np.array([3, 3, 0])], n_items=4, window=2)
    got = {tuple(p): int(c) for p, c in zip(pairs.tolist(), counts)}
    # gap 1: (0,1) (1,2) (1,2) | (3,3) dropped, (0,3); gap 2: (0,2) (1,1) dropped | (0,3)
    assert got == {(0, 1): 1, (1, 2): 2, (0, 2): 1, (0, 3): 2}
    with pytest.raises(ValueError, match="window"):
        cooccurrence_pairs([np.array([0, 1])], 2, window=0)


def test_cooccurrence_embedding_reflects_co_interaction_and_uses_only_what_it_is_given():
    # two communities that never mix: {0..4} and {5..9}; item 10 never appears
    rng = np.random.default_rng(0)
    seqs = [rng.choice(5, size=8) + (5 if u % 2 else 0) for u in range(200)]
    e = cooccurrence_embeddings(seqs, n_items=11, dim=4)
    assert not e[10].any()  # nothing learned about an item the sequences never show
    unit = e[:10] / np.linalg.norm(e[:10], axis=1, keepdims=True)
    sim = unit @ unit.T
    assert sim[:5, :5].mean() > sim[:5, 5:].mean() + 0.5


def test_tiger_builds_sid_v2_from_the_training_sequences_only(monkeypatch):
    """The collaborative embedding and the contrastive pairs see split.train, never the held-out items."""
    import llmrec_mini.semantic_ids.build as build

    data = load_dataset("synthetic", size="tiny")
    split = leave_one_out(data)
    seen = {}

    def spy(text_embeddings, train_sequences, **kw):
        seen["train"] = train_sequences
        raise RuntimeError("stop here")

    from llmrec_mini.models import get_model

    monkeypatch.setattr(build, "build_sid_v2", spy)
    tiger = get_model("tiger", method="sid-v2", encoder="hashing", embedding_cache=False, progress=False)
    with pytest.raises(RuntimeError, match="stop here"):
        tiger.prepare(split, data.catalog)
    assert seen["train"] is split.train
    for u in split.test.users:  # the training part stops before the validation and test targets
        assert len(split.train[u]) == len(data.interactions.sequences[u]) - 2
    with pytest.raises(ValueError, match="need the training sequences"):
        SIDConfig(method="sid-v2", encoder="hashing", embedding_cache=False).build(data.catalog, progress=False)


def test_progressive_masking_uses_only_the_first_r_levels():
    torch.manual_seed(0)
    cfg = SIDv2Config(levels=3, codebook_size=16, latent_dim=8, hidden_dims=(16,), standardize=False)
    model = SIDv2([6, 4], cfg).eval()
    assert model.quantizer.sizes == [16, 8, 4]  # multi-resolution: halving per level
    xs = [torch.randn(32, 6), torch.randn(32, 4)]
    r1 = torch.ones(32, dtype=torch.long)
    before1, before3 = model(xs, r=r1)["recon"], model(xs, r=torch.full((32,), 3))["recon"]
    with torch.no_grad():
        model.quantizer.codebooks[1:] += 5.0  # move levels 2 and 3 far away
    assert torch.allclose(model(xs, r=r1)["recon"], before1)  # r = 1 reads level 1 only
    assert not torch.allclose(model(xs, r=torch.full((32,), 3))["recon"], before3)
    model.train()
    torch.manual_seed(1)  # training draws r per item in 1..L
    out = model(xs)
    assert out["codes"].shape == (32, 3) and (out["codes"][:, 2] < 4).all()


@pytest.fixture(scope="module")
def shop():
    from llmrec_mini.text import encode_items

    data = load_dataset("synthetic", size="tiny")
    split = leave_one_out(data)
    return data, split, encode_items(data.catalog, encoder="hashing", progress=False)


def test_contrastive_training_pulls_co_interacted_pairs_together(shop):
    data, split, emb = shop
    sids = build_sid_v2(emb, split.train, levels=3, codebook_size=32, epochs=30, progress=False, seed=0)
    q = sids.quantizer
    pairs = q.pairs
    shuffled = np.stack([pairs[:, 0], np.random.default_rng(0).permutation(pairs[:, 1])], 1)
    true_sim, shuffled_sim = q.pair_similarity(q.modalities, pairs), q.pair_similarity(q.modalities, shuffled)
    assert true_sim.mean() > shuffled_sim.mean() + 0.05
    xs = q._tensors(q.modalities, "cpu")
    with torch.no_grad():
        loss = {name: float(q.model.contrastive_loss([x[p[:256, 0]] for x in xs], [x[p[:256, 1]] for x in xs], 0.1))
                for name, p in (("true", pairs), ("shuffled", shuffled))}
    assert loss["true"] < loss["shuffled"]
    assert sids.codebook_sizes[:3] == (32, 16, 8) and sids.method == "sid-v2"
    assert len(set(map(tuple, sids.codes))) == data.n_items  # the collision token makes every ID unique


def test_sid_report_compares_v1_and_v2(shop):
    data, split, emb = shop
    v1 = build_semantic_ids(emb, method="rqkmeans", levels=2, codebook_size=8, progress=False)
    v2 = build_sid_v2(emb, split.train, levels=2, codebook_size=8, epochs=5, progress=False)
    rows = {r["ids"]: r for r in sid_report({"SID-v1": v1, "SID-v2": v2})}
    assert rows["SID-v1"]["codebook_sizes"] == [8, 8] and rows["SID-v2"]["codebook_sizes"] == [8, 4]
    for r, sids in ((rows["SID-v1"], v1), (rows["SID-v2"], v2)):
        distinct = len(set(map(tuple, sids.codes[:, :-1])))
        assert r["unique_rate"] == pytest.approx(distinct / data.n_items)


def test_bad_inputs_fail_clearly(shop):
    data, split, emb = shop
    with pytest.raises(ValueError, match="fewer than 2 codes"):
        SIDv2Config(levels=4, codebook_size=8)
    with pytest.raises(ValueError, match="temperature"):
        SIDv2Config(temperature=0)
    with pytest.raises(ValueError, match="same n_items"):
        SIDv2Quantizer(epochs=1, progress=False).fit([emb, emb[:-1]])
    with pytest.raises(ValueError, match="item indices"):
        build_sid_v2(emb, [np.array([0, data.n_items])], progress=False)
    with pytest.raises(ValueError, match="use build_sid_v2"):
        build_semantic_ids(emb, method="sid-v2")
    with pytest.raises(ValueError, match="unknown SIDv2 option"):
        SIDConfig(method="sid-v2", rqvae={"nope": 1})
