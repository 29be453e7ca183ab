"""Data model, built-in dataset, splits, metrics, harness and the training loop."""
import math
import subprocess
import sys
import time

import numpy as np
import pytest

from llmrec_mini.data import Catalog, Dataset, Interactions, from_events, load_dataset
from llmrec_mini.data.sequences import leave_one_out, pad_left, time_split, training_windows
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate
from llmrec_mini.metrics import impression_metrics, mrr_at_k, ndcg_at_k, rank_in_topk, ranking_metrics, recall_at_k
from llmrec_mini.models import get_model


# ---------- metrics: exact, hand-computed ----------
def test_metrics_hand_computed():
    topk = np.array([[3, 1, 2], [5, 6, 7], [9, 8, 4]])
    targets = np.array([1, 0, 4])  # ranks 2, miss, 3
    ranks = rank_in_topk(topk, targets)
    assert ranks.tolist() == [2, 0, 3]
    assert recall_at_k(ranks, 1) == 0.0
    assert recall_at_k(ranks, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranks, 3) == pytest.approx(2 / 3)
    assert ndcg_at_k(ranks, 3) == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / 3)
    assert ndcg_at_k(ranks, 2) == pytest.approx((1 / math.log2(3)) / 3)
    assert mrr_at_k(ranks, 3) == pytest.approx((1 / 2 + 1 / 3) / 3)
    m = ranking_metrics(topk, targets, ks=(1, 3), n_items=10)
    assert m["recall@1"] == 0 and m["coverage@3"] == pytest.approx(9 / 10) and m["coverage@1"] == pytest.approx(3 / 10)
    assert ndcg_at_k(np.array([1]), 10) == 1.0  # a hit at rank 1 is perfect
    # rows padded with -1 ("no item": a generator found fewer than K) count as misses, not as an item
    padded = ranking_metrics(np.array([[4, -1, -1], [-1, -1, -1]]), np.array([4, 2]), ks=(3,), n_items=10)
    assert padded["coverage@3"] == pytest.approx(1 / 10) and padded["recall@3"] == 0.5
    with pytest.raises(ValueError, match="positive integers"):
        ranking_metrics(topk, targets, ks=(0,))


def test_harness_excludes_seen_items():
    from llmrec_mini.models.base import Recommender

    class Fixed(Recommender):  # always ranks item 0 first, then 1, 2, ...
        name, n_items = "fixed", 5

        def score(self, histories, users=None):
            return np.tile(-np.arange(5, dtype=np.float32), (len(histories), 1))

    ds = Dataset("toy", Catalog([f"i{i}" for i in range(5)]), Interactions(["u"], [np.array([0, 3, 1])]))
    split = leave_one_out(ds)  # history [0, 3], target 1
    seen = evaluate(Fixed(), split, ks=(1,), progress=False)
    kept = evaluate(Fixed(), split, ks=(1,), exclude_seen=False, progress=False)
    assert seen["recall@1"].iloc[0] == 1.0  # 0 is excluded, so 1 comes first
    assert kept["recall@1"].iloc[0] == 0.0


# ---------- data model and splits ----------
def test_from_events_stable_ties_and_ordering():
    events = [("u2", "b", 5), ("u1", "a", 3), ("u1", "c", 3), ("u1", "b", 1), ("u2", "a", 5)]
    ds = from_events("toy", events, {"a": {"title": "A"}, "b": {"title": "B", "price": 2.0}})
    assert ds.interactions.user_ids == ["u2", "u1"]  # first appearance
    seqs = [[ds.catalog.item_ids[i] for i in s] for s in ds.interactions.sequences]
    assert seqs == [["b", "a"], ["b", "a", "c"]]  # ties keep file order
    assert ds.catalog.item_ids == ["b", "a", "c"] and ds.catalog.titles == ["B", "A", ""]
    assert np.isnan(ds.catalog.prices[1]) and ds.catalog.prices[0] == 2.0
    with pytest.raises(ValueError):
        Catalog(["x", "x"])
    with pytest.raises(ValueError):
        Dataset("bad", Catalog(["x"]), Interactions(["u"], [np.array([0, 1])]))


def test_leave_one_out_and_time_split():
    ds = Dataset("toy", Catalog([str(i) for i in range(6)]),
                 Interactions(["a", "b", "c"], [np.array([0, 1, 2, 3]), np.array([4, 5]), np.array([5, 2, 1])],
                              timestamps=[np.array([1, 2, 3, 9]), np.array([1, 2]), np.array([4, 8, 10])]))
    split = leave_one_out(ds)
    assert [s.tolist() for s in split.train] == [[0, 1], [4, 5], [5]]  # short users only train
    assert split.valid.targets.tolist() == [2, 2] and split.test.targets.tolist() == [3, 1]
    assert [h.tolist() for h in split.test.histories] == [[0, 1, 2], [5, 2]]
    # time cut-offs: the median of all 9 timestamps is 3, the 0.8 quantile 8.4 (by hand)
    ts = time_split(ds, valid_quantile=0.5, test_quantile=0.8)
    assert ts.protocol == "time" and [s.tolist() for s in ts.train] == [[0, 1], [4, 5], []]
    assert ts.valid.users.tolist() == [0] and ts.valid.targets.tolist() == [2]  # a's first event at t >= 3
    assert [h.tolist() for h in ts.valid.histories] == [[0, 1]]  # c's first event is at t=4 but has no history
    assert ts.test.users.tolist() == [0, 2] and ts.test.targets.tolist() == [3, 1]  # first events at t >= 8.4
    assert [h.tolist() for h in ts.test.histories] == [[0, 1, 2], [5, 2]]
    assert pad_left([np.array([0, 1, 2])], 2).tolist() == [[2, 3]]
    assert pad_left([np.array([4])], 3).tolist() == [[0, 0, 5]]
    windows = training_windows([np.arange(7)], max_len=3)
    assert [(w.tolist(), n) for w, n in windows] == [([3, 4, 5, 6], 3), ([0, 1, 2, 3], 3)]  # every transition once
    # stride 1: each window trains on its last target only, which sees all max_len items before it
    strided = training_windows([np.arange(7)], max_len=3, stride=1)
    assert [(w.tolist(), n) for w, n in strided] == [([3, 4, 5, 6], 1), ([2, 3, 4, 5], 1), ([1, 2, 3, 4], 1),
                                                     ([0, 1, 2, 3], 3)]
    trained = sorted(int(w[-1 - j]) for w, n in training_windows([np.arange(40)], 7, stride=3) for j in range(n))
    assert trained == list(range(1, 40))  # every target exactly once, whatever the stride


def test_synthetic_is_deterministic_fast_and_structured():
    t0 = time.time()
    a = make_synthetic("default", seed=3)
    assert time.time() - t0 < 5.0
    b = make_synthetic("default", seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a.interactions.sequences, b.interactions.sequences))
    assert a.catalog.titles == b.catalog.titles
    c = make_synthetic("tiny", seed=4)
    assert c.n_users == 200 and c.stats()["repeated_items"] == 0
    st = a.stats()
    assert st["users"] == 3000 and st["items"] == 1500 and 10 < st["seq_len_mean"] < 20
    # real sequential structure: a transition to one of the previous item's follow-ups is far more
    # frequent than chance
    follow = a.info["followups"]
    hits = sum(int(s[t + 1] in follow[s[t]]) for s in a.interactions.sequences for t in range(len(s) - 1))
    assert hits / (st["interactions"] - st["users"]) > 0.2
    with pytest.raises(ValueError):
        make_synthetic("huge")


def test_load_dataset_errors():
    from llmrec_mini.data import DataError

    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("nope")


def test_import_is_fast():
    code = "import time; t=time.time(); import llmrec_mini, llmrec_mini.data, llmrec_mini.models; print(time.time()-t)"
    seconds = float(subprocess.check_output([sys.executable, "-c", code]).decode().strip())
    assert seconds < 2.0


# ---------- training loop and models ----------
def test_training_loop_seeded_checkpoints_early_stopping(tmp_path):
    split = leave_one_out(make_synthetic("tiny"))
    kw = dict(epochs=3, d_model=16, n_layers=1, n_heads=1, progress=False, out_dir=str(tmp_path))
    a = get_model("sasrec", **kw).fit(split)
    b = get_model("sasrec", **kw).fit(split)
    assert [r["loss"] for r in a.result.history] == pytest.approx([r["loss"] for r in b.result.history])
    assert (tmp_path / "best.safetensors").exists() and a.result.best_epoch >= 0
    stopped = get_model("sasrec", epochs=50, patience=1, lr=0.0, d_model=16, n_layers=1, n_heads=1,
                        progress=False).fit(split)
    assert stopped.result.stopped_early and len(stopped.result.history) == 2  # lr 0: never improves
    # save / load gives identical recommendations
    a.save(tmp_path / "ckpt")
    c = type(a).load(tmp_path / "ckpt")
    h = split.test.histories[:5]
    assert np.array_equal(a.recommend(h, 10).items, c.recommend(h, 10).items)


def test_model_registry_and_bad_params():
    with pytest.raises(ValueError, match="unknown model"):
        get_model("nope")
    with pytest.raises(ValueError, match="unknown setting"):
        get_model("sasrec", d_modle=3)
    with pytest.raises(ValueError):
        get_model("popularity", foo=1)


def test_sasrec_bce_runs():
    split = leave_one_out(make_synthetic("tiny"))
    m = get_model("sasrec", loss="bce", epochs=1, d_model=16, n_layers=1, n_heads=1, progress=False).fit(split)
    items, scores = m.recommend(split.test.histories[:4], k=5)
    assert items.shape == (4, 5) and np.all(np.diff(scores, axis=1) <= 0)
    for h, row in zip(split.test.histories[:4], items):
        assert not set(row) & set(h.tolist())  # seen items excluded


@pytest.mark.slow
def test_sasrec_beats_popularity_on_default_size():
    split = leave_one_out(make_synthetic("default"))
    pop = evaluate(get_model("popularity").fit(split), split, progress=False)
    sas = evaluate(get_model("sasrec", epochs=8, progress=False).fit(split), split, progress=False)
    assert sas["ndcg@10"].iloc[0] > 1.3 * pop["ndcg@10"].iloc[0]
    assert sas["recall@10"].iloc[0] > pop["recall@10"].iloc[0]


def test_impression_metrics_by_hand():
    # clicks at scores 3 and 1, no click at 2: one of two pairs ordered right; the order (3) beats both
    # gains (2, 0, 1) in score order: DCG = 2 / log2(2) + 1 / log2(4) = 2.5; ideal 2 + 1 / log2(3)
    out = impression_metrics([[3.0, 2.0, 1.0]], [[True, False, True]], [[True, False, False]])
    assert out["c_auc"] == pytest.approx(0.5) and out["o_auc"] == pytest.approx(1.0)
    assert out["ndcg"] == pytest.approx(2.5 / (2 + 1 / np.log2(3)))
