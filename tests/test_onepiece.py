"""OnePiece (models/onepiece.py) and its search log (data/search_log.py): the block-causal reasoning
mask, candidates without positions, weights shared across steps, nested feedback labels and
training-only anchors, quality against popularity (retrieval) and random / popularity orderings
(ranking), the CLI, checkpoints and bad input."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from llmrec_mini.data.search_log import make_search_log, query_anchors, training_anchors
from llmrec_mini.data.sequences import EvalSet, leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.metrics import impression_metrics
from llmrec_mini.models import get_model
from llmrec_mini.models.onepiece import OnePiece, QueryPopularity, reasoning_mask, task_of_blocks

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = {"progress": False, "val_users": 200}
TINY = {"d_model": 16, "n_heads": 2, "n_layers": 1, "max_history": 6, "n_anchors": 3}


@pytest.fixture(scope="module")
def shop():
    """The built-in shop at 500 users and 200 items, its search log and the popularity baseline."""
    data = make_synthetic("default", n_users=500, n_items=200)
    log = make_search_log(data, seed=0)
    pop = evaluate_metrics(get_model("popularity").fit(log.split), log.split.test, ks=(10,))
    return data, log, pop


@pytest.fixture(scope="module")
def retrieval(shop):
    data, log, _ = shop
    return OnePiece(log=log, epochs=3, **QUIET).fit(log.split, data.catalog)


@pytest.fixture(scope="module")
def ranker(shop):
    data, log, _ = shop
    return OnePiece(log=log, mode="ranking", epochs=2, **QUIET).fit(log.split, data.catalog)


def untrained(shop, **settings):
    data, log, _ = shop
    return OnePiece(log=log, **{**TINY, **settings}).untrained(data.n_items, data.catalog)


# ----------------------------------------------------------------------------------------- the reasoning mask
def brute_force_mask(n_input, block, steps, attention):
    """Loops over (query, key): inside the input the backbone's mask; the input never reads a block;
    a position of block b >= 1 reads the input and every position of blocks 1..b."""
    size = n_input + steps * block
    out = torch.zeros(size, size, dtype=torch.bool)
    for i in range(size):
        for j in range(size):
            if i < n_input:
                out[i, j] = j < n_input and (attention == "bidirectional" or j <= i)
            else:
                block_i, block_j = (i - n_input) // block + 1, 0 if j < n_input else (j - n_input) // block + 1
                out[i, j] = block_j <= block_i
    return out


@pytest.mark.parametrize("n_input, block, steps, attention", [
    (5, 2, 3, "bidirectional"), (4, 3, 2, "causal"), (6, 1, 0, "causal"), (3, 4, 1, "bidirectional")])
def test_reasoning_mask_matches_a_brute_force_construction(n_input, block, steps, attention):
    assert torch.equal(reasoning_mask(n_input, block, steps, attention),
                       brute_force_mask(n_input, block, steps, attention))


def test_the_model_reasons_under_that_mask_and_caches_exactly(shop):
    """layout() and mask() agree; each cached step equals re-running the same layers on the whole
    sequence [I; (CIS;) B~_0; ...; B~_k] under the mask (retrieval, and ranking in groups)."""
    model = untrained(shop, reasoning_steps=3)
    layout = model.layout()
    assert [name for name, _ in layout] == ["IH", "PA orders", "PA clicks", "PA impressions", "SD", "B~0", "B~1", "B~2"]
    assert [n for _, n in layout] == [6, 5, 5, 5, 2, 2, 2, 2]  # PA groups: BOS + 3 anchors + EOS
    n = sum(n for _, n in layout)
    assert torch.equal(model.mask(), brute_force_mask(n - 6, 2, 3, "bidirectional"))
    assert len(model.token_labels()) == n
    ranker = untrained(shop, mode="ranking", block_size=5, reasoning_steps=2)
    assert [name for name, _ in ranker.layout()][-4:] == ["SD", "CIS", "B~0", "B~1"]
    n = sum(n for _, n in ranker.layout())
    assert torch.equal(ranker.mask(), brute_force_mask(n - 15, 5, 3, "bidirectional"))  # CIS: a block of its own
    data, log, _ = shop
    for m in (model, untrained(shop, mode="ranking", block_size=5, reasoning_steps=2, attention="causal")):
        batch = m.collate(list(range(24)))
        x, valid = m.module.context(batch["history"], batch["anchors"], batch["users"], batch["queries"])
        extra = ()
        if "candidates" in batch:
            cand = m.module.item_vectors(batch["candidates"] + 1).view(-1, m.block, m.config.d_model)
            extra = (cand, (batch["candidates"] >= 0).view(-1, m.block))
        with torch.no_grad():
            cached = m.module.reason(x, valid, m.block, *extra)
            rerun = m.module.reason(x, valid, m.block, *extra, cached=False)
        assert len(cached) == m.config.reasoning_steps + 1
        for a, b in zip(cached, rerun):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_blocks_are_supervised_along_the_feedback_chain():
    assert task_of_blocks("retrieval", 2) == ["impression", "click", "order"]
    assert task_of_blocks("retrieval", 3) == ["impression", "impression", "click", "order"]
    assert task_of_blocks("retrieval", 0) == ["order"]
    assert task_of_blocks("ranking", 2) == ["click", "click", "order"]
    assert task_of_blocks("retrieval", 2, "last") == [None, None, "order"]


# ----------------------------------------------------------------------------------------- candidates, weights
@pytest.mark.parametrize("block_size", [None, 1])
def test_candidates_carry_no_position(shop, ranker, block_size):
    """Permuting the candidates permutes their scores (to 1e-5), with all C of them in one block (the
    set sees itself) or one per block. With one block a candidate's score depends on the others;
    with blocks of one it does not."""
    data, log, _ = shop
    model = ranker
    if block_size is not None:
        model = untrained(shop, mode="ranking", block_size=block_size)
        with torch.no_grad():
            model.module.items.weight.mul_(50)  # spread the scores of the untrained model
    rows = log.events("test")[:40]
    ctx, cand = log.context(rows), log.impressions[rows]
    perm = np.random.default_rng(0).permutation(cand.shape[1])
    base, permuted = model.rank(ctx, cand), model.rank(ctx, cand[:, perm])
    assert base.std(1).min() > 1e-2
    np.testing.assert_allclose(permuted, base[:, perm], atol=1e-5, rtol=0)
    swapped = cand.copy()
    swapped[:, 0] = (cand[:, 0] + 1) % data.n_items  # another first candidate
    change = np.abs(model.rank(ctx, swapped)[:, 1:] - base[:, 1:]).max()
    assert change > 1e-3 if block_size is None else change < 1e-5


def test_reasoning_weights_are_shared_across_steps(shop):
    """K steps add K rows of the reasoning position embedding and nothing else."""
    d = TINY["d_model"]
    params = {k: dict((n, p.numel()) for n, p in untrained(shop, reasoning_steps=k).module.named_parameters())
              for k in range(4)}
    for k in range(4):
        assert sum(params[k].values()) - sum(params[0].values()) == k * d
        assert set(params[k]) == set(params[0]) and params[k]["rpe.weight"] == k * d


# ----------------------------------------------------------------------------------------- the search log
def test_feedback_labels_are_nested_and_anchors_use_training_events_only(shop):
    data, log, _ = shop
    shown = log.impressions >= 0
    assert not (log.clicks & ~shown).any() and not (log.orders & ~log.clicks).any()
    assert (log.orders.sum(1) == 1).all()  # one order per event: the item of the sequence
    seqs = data.interactions.sequences
    np.testing.assert_array_equal(log.targets, [seqs[u][p] for u, p in zip(log.user, log.pos)])
    test = log.events("test")
    np.testing.assert_array_equal(log.targets[test], log.split.test.targets)  # the leave-one-out split
    np.testing.assert_array_equal(log.user[test], log.split.test.users)
    assert all(np.array_equal(log.history(e), h) for e, h in zip(test, log.split.test.histories))
    stats = log.stats()
    print(f"\nsearch log: {json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in stats.items()})}")
    assert stats["clicks_per_event"] > 1.5 and 0.1 < stats["ctr"] < 0.6  # clicks beyond the order
    assert stats["test_target_in_top10_orders_anchor"] > 0.5  # query-level top items are informative
    # deterministic given the seed
    again, other = make_search_log(data, seed=0), make_search_log(data, seed=1)
    assert again.queries == log.queries and np.array_equal(again.impressions, log.impressions)
    assert not np.array_equal(other.impressions, log.impressions)
    # anchors never read a validation or test event: scramble those, the anchors stay the same
    held = log.part > 0
    scrambled = log.impressions.copy()
    scrambled[held] = np.random.default_rng(0).integers(0, data.n_items, scrambled[held].shape)
    changed = dataclasses.replace(log, impressions=scrambled, query=np.where(held, 0, log.query))
    np.testing.assert_array_equal(query_anchors(changed, 4), query_anchors(log, 4))
    np.testing.assert_array_equal(training_anchors(changed, 4), training_anchors(log, 4))
    # a training event's anchors: brute-force counts over the *other* training events of its query
    train, own = log.events("train"), training_anchors(log, 4)
    for j in (0, 7, 123, len(train) - 1):
        e = train[j]
        for s, labels in enumerate((log.orders, log.clicks, shown)):
            counts = np.zeros(data.n_items)
            for f in train:
                if f != e and log.query[f] == log.query[e]:
                    for item in log.impressions[f][labels[f]]:
                        counts[item] += 1
            top = sorted(range(data.n_items), key=lambda i: (-counts[i], i))[:4]
            np.testing.assert_array_equal(own[j, s], [i if counts[i] > 0 else -1 for i in top])
    with pytest.raises(ValueError, match="not nested"):
        dataclasses.replace(log, orders=np.roll(log.orders, 1, axis=1) | log.orders)


def test_a_training_batch_holds_the_right_labels(shop, retrieval, ranker):
    data, log, _ = shop
    rows = retrieval._train["rows"][:64]
    batch = retrieval.collate(list(range(64)))
    pos, hard, rand = batch["positives"].numpy(), batch["hard"].numpy(), batch["randoms"].numpy()
    for b, e in enumerate(rows):
        shown, clicked = log.impressions[e], log.impressions[e][log.clicks[e]]
        assert pos[b, 0] in shown and pos[b, 1] in clicked and pos[b, 2] == log.targets[e]
        assert set(hard[b][hard[b] >= 0]) == set(shown[~log.clicks[e]])  # shown, not clicked
        assert not set(rand[b][rand[b] >= 0]) & set(shown)
    batch = ranker.collate(list(range(64)))  # a random order of the impression list, labels alike
    for b, e in enumerate(ranker._train["rows"][:64]):
        order = [list(log.impressions[e]).index(i) for i in batch["candidates"][b].tolist()]
        assert sorted(order) == list(range(log.impressions.shape[1]))
        np.testing.assert_array_equal(batch["labels"][b, 0], log.clicks[e][order])
        np.testing.assert_array_equal(batch["labels"][b, 1], log.orders[e][order])


# ----------------------------------------------------------------------------------------- quality
def test_onepiece_beats_popularity_and_reads_the_history(shop, retrieval):
    """Retrieval over the whole catalog for each user's last search: far above popularity, close to
    the baseline that knows the query (the items most ordered under it in training), and the
    history counts: the same queries with other users' histories rank the true item lower."""
    data, log, pop = shop
    test = log.split.test
    res = evaluate_metrics(retrieval, test, ks=(10,))
    qpop = evaluate_metrics(QueryPopularity(log).fit(), test, ks=(10,))
    queries = log.query[log.events("test")]
    perm = np.random.default_rng(0).permutation(len(test))
    other = EvalSet(test.users[perm], [test.histories[i] for i in perm], test.targets)
    shuffled = evaluate_metrics(retrieval, other, ks=(10,), per_row={"queries": queries})
    print(f"\nndcg@10 popularity {pop['ndcg@10']:.4f}, query popularity {qpop['ndcg@10']:.4f}, "
          f"onepiece {res['ndcg@10']:.4f}, with other users' histories {shuffled['ndcg@10']:.4f}")
    # measured: popularity .153, query popularity .587, OnePiece .546, other histories .364
    assert res["ndcg@10"] > 3 * pop["ndcg@10"]
    assert res["ndcg@10"] > 0.85 * qpop["ndcg@10"] and res["recall@10"] > 0.9 * qpop["recall@10"]
    assert res["ndcg@10"] > shuffled["ndcg@10"] + 0.03


def test_ranking_beats_random_and_popularity_orderings(shop, ranker):
    """Inside the test events' impression lists: clicks ranked by the click block (C-AUC), orders
    and NDCG by the order block, against a random and a popularity ordering."""
    data, log, _ = shop
    test = log.events("test")
    res = ranker.evaluate_impressions(log, "test")
    counts = np.bincount(np.concatenate(log.split.train), minlength=data.n_items)
    labels = (log.clicks[test], log.orders[test])
    rand = impression_metrics(np.random.default_rng(0).random(labels[0].shape), *labels)
    pop = impression_metrics(counts[log.impressions[test]], *labels)
    print(f"\nC-AUC random {rand['c_auc']:.3f}, popularity {pop['c_auc']:.3f}, onepiece {res['c_auc']:.3f}; "
          f"NDCG {rand['ndcg']:.3f} / {pop['ndcg']:.3f} / {res['ndcg']:.3f}")
    # measured: C-AUC random .51, popularity .41, OnePiece .66; NDCG .61 / .54 / .68
    assert res["c_auc"] > max(rand["c_auc"], pop["c_auc"]) + 0.08
    assert res["o_auc"] > max(rand["o_auc"], pop["o_auc"]) + 0.08
    assert res["ndcg"] > max(rand["ndcg"], pop["ndcg"]) + 0.03


def test_cli_evaluate_onepiece_beats_popularity(cli_vs_popularity):
    """``llmrec-mini evaluate`` on the plain next-item split (no queries: the query token is the leaf
    category of the last item, the anchors what was bought after that category)."""
    params = ["d_model=32", "max_history=10", "n_anchors=3", "reasoning_steps=1", "val_users=200", "lr=0.005",
              "batch_size=128"]
    row, pop = cli_vs_popularity("onepiece", "--epochs", "2", *[a for p in params for a in ("--param", p)])
    # measured: onepiece (2 epochs) .126 vs popularity .078
    assert row["ndcg@10"] > 1.4 * pop["ndcg@10"]


# ----------------------------------------------------------------------------------------- checkpoints, bad input
def test_save_and_load_keep_queries_anchors_and_scores(shop, retrieval, ranker, tmp_path):
    data, log, _ = shop
    test = log.split.test
    loaded = OnePiece.load(retrieval.save(tmp_path / "r"), data.catalog)
    assert loaded.log is None and loaded.queries == retrieval.queries
    np.testing.assert_array_equal(loaded.anchor_table, retrieval.anchor_table)
    np.testing.assert_allclose(loaded.score(test.histories[:50], test.users[:50]),
                               retrieval.score(test.histories[:50], test.users[:50]), atol=1e-5)
    # the logged query of the test event is what the model reads (not the fallback of the last item)
    rows = log.events("test")[:50]
    by_query = retrieval.score(test.histories[:50], test.users[:50], queries=list(log.query[rows]))
    np.testing.assert_allclose(by_query, retrieval.score(test.histories[:50], test.users[:50]), atol=1e-5)
    rank_loaded = OnePiece.load(ranker.save(tmp_path / "k"), data.catalog)
    ctx = log.context(rows)
    np.testing.assert_allclose(rank_loaded.rank(ctx, log.impressions[rows]), ranker.rank(ctx, log.impressions[rows]),
                               atol=1e-5)


def test_bad_inputs_are_one_clear_error(shop, retrieval, ranker):
    data, log, _ = shop
    for settings, message in [
        ({"mode": "generation"}, "mode must be one of 'retrieval', 'ranking'"),
        ({"attention": "sparse"}, "attention must be one of 'bidirectional', 'causal'"),
        ({"supervision": "first"}, "supervision must be one of 'progressive', 'last'"),
        ({"reasoning_steps": -1}, "reasoning_steps must be >= 0"),
        ({"block_size": 2}, "block_size is a ranking setting"),
        ({"mode": "ranking", "block_size": 0}, "block_size must be at least 1"),
        ({"temperature": 0}, "temperature must be positive"),
        ({"d_model": 30, "n_heads": 4}, "divisible by n_heads"),
    ]:
        with pytest.raises(ValueError, match=message):
            OnePiece(**settings)
    with pytest.raises(ValueError, match="block_size 3 must divide the 10 candidates"):
        OnePiece(log=log, mode="ranking", block_size=3, **QUIET).fit(log.split, data.catalog)
    with pytest.raises(ValueError, match="ranking mode ranks impression lists"):
        OnePiece(mode="ranking", **QUIET).fit(log.split, data.catalog)
    with pytest.raises(ValueError, match="needs the catalog"):
        OnePiece(log=log, **QUIET).fit(log.split)
    other = leave_one_out(make_synthetic("default", n_users=500, n_items=200, seed=1))
    with pytest.raises(ValueError, match="not the search log's"):
        OnePiece(log=log, **QUIET).fit(other, data.catalog)
    rows = log.events("test")[:3]
    ctx = log.context(rows)
    with pytest.raises(ValueError, match=r"candidates must be \(B, C\)"):
        ranker.rank(ctx, log.impressions[rows][:2])
    with pytest.raises(ValueError, match="item indices in 0..199"):
        ranker.rank(ctx, log.impressions[rows] + 500)
    with pytest.raises(ValueError, match="unknown query 'flying cars'"):
        retrieval.score(log.split.test.histories[:1], queries=["flying cars"])
    with pytest.raises(ValueError, match="one query .* per history"):
        retrieval.score(log.split.test.histories[:2], queries="cameras")
    with pytest.raises(ValueError, match="got 1 queries for 2 histories"):
        retrieval.score(log.split.test.histories[:2], queries=["cameras"])
    with pytest.raises(ValueError, match="task must be one of"):
        ranker.rank(ctx, log.impressions[rows], task="impression")
    with pytest.raises(ValueError, match="scores candidate sets"):
        ranker.score(log.split.test.histories[:2])
    with pytest.raises(ValueError, match="n_impressions must be an int >= 2"):
        make_search_log(data, n_impressions=1)
    with pytest.raises(ValueError, match="query_mix"):
        make_search_log(data, query_mix=(1, -1, 0))
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        query_anchors(log, 0)
