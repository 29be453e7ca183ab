"""The long-history mode of the built-in data (llmrec_mini.data.long_history).

It must be deterministic per seed, stream any user's history in bounded memory, materialise as an
ordinary Dataset, and above all *need* long memory: a count model that reads the whole history
must beat the same model reading only the last 50 events, on held-out users.
"""
import tracemalloc

import numpy as np
import pytest

from llmrec_mini.data import load_dataset
from llmrec_mini.data.long_history import (
    CUE, KINDS, RETURN, EventChunk, LongHistoryConfig, LongHistoryWorld, iter_user_events, long_history_config,
    make_long_history)
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.models import get_model


@pytest.fixture(scope="module")
def tiny():
    return load_dataset("synthetic-long", size="tiny", seed=0)


@pytest.fixture(scope="module")
def tiny_world():
    return LongHistoryWorld(long_history_config("tiny"), seed=0)


# ---------------------------------------------------------------------------- determinism, chunks, sizes
def test_deterministic_per_seed_and_user(tiny_world):
    a = tiny_world.user_history(3, 5000)
    b = LongHistoryWorld(long_history_config("tiny"), seed=0).user_history(3, 5000)
    for f in ("items", "timestamps", "kinds"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    other_seed = LongHistoryWorld(long_history_config("tiny"), seed=1).user_history(3, 5000)
    other_user = tiny_world.user_history(4, 5000)
    assert not np.array_equal(a.items, other_seed.items) and not np.array_equal(a.items, other_user.items)
    # users are independent: generating user 4 first changes nothing for user 3
    fresh = LongHistoryWorld(long_history_config("tiny"), seed=0)
    fresh.user_history(4, 100)
    np.testing.assert_array_equal(fresh.user_history(3, 5000).items, a.items)


def test_chunks_concatenate_to_the_full_history(tiny_world):
    full = tiny_world.user_history(7, 10_000)
    assert len(full.items) == 10_000 and full.items.dtype == np.int64 and full.kinds.dtype == np.int8
    assert np.all(np.diff(full.timestamps) > 0)
    for chunk_size in (1, 997, 4096, 20_000):
        chunks = list(tiny_world.iter_user_events(7, 10_000 if chunk_size > 1 else 3000, chunk_size=chunk_size))
        assert all(isinstance(c, EventChunk) for c in chunks)
        assert [c.start for c in chunks] == list(np.cumsum([0] + [len(c) for c in chunks[:-1]]))
        assert all(len(c) == chunk_size for c in chunks[:-1]) and 0 < len(chunks[-1]) <= chunk_size
        n = sum(len(c) for c in chunks)
        for f in ("items", "timestamps", "kinds"):
            np.testing.assert_array_equal(np.concatenate([getattr(c, f) for c in chunks]), getattr(full, f)[:n])
    # a shorter history is a prefix; the endless stream starts the same way
    np.testing.assert_array_equal(tiny_world.user_history(7, 1234).items, full.items[:1234])
    endless = tiny_world.iter_user_events(7, None, chunk_size=500)
    np.testing.assert_array_equal(np.concatenate([next(endless).items for _ in range(4)]), full.items[:2000])
    assert list(tiny_world.iter_user_events(7, 0)) == []
    # the module-level call builds the same world
    np.testing.assert_array_equal(next(iter_user_events(7, 300, size="tiny", seed=0)).items, full.items[:300])


def test_streaming_a_million_events_is_memory_bounded():
    world = LongHistoryWorld(LongHistoryConfig(), seed=0)
    tracemalloc.start()
    try:
        n, counts, last_time = 0, np.zeros(len(KINDS), dtype=np.int64), 0
        for chunk in world.iter_user_events(0, 1_000_000, chunk_size=65_536):
            n += len(chunk)
            counts += np.bincount(chunk.kinds, minlength=len(KINDS))
            assert chunk.timestamps[0] > last_time
            last_time = chunk.timestamps[-1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 1_000_000
    assert peak < 50 * 2**20, f"streaming 1M events peaked at {peak / 2**20:.1f} MiB"  # well under 200 MB
    assert counts[RETURN] > 1000 and counts[CUE] > counts[RETURN]  # thousands of revisits in a lifelong history


def test_catalog_is_the_shops():
    # the default size reuses the synthetic shop's catalog builder: same items for the same seed
    world = LongHistoryWorld(LongHistoryConfig(), seed=0)
    shop = make_synthetic("default", seed=0).catalog
    assert world.catalog.item_ids == shop.item_ids and world.catalog.titles == shop.titles
    assert world.catalog.categories == shop.categories


def test_sizes_and_clear_errors(tiny):
    cfg = tiny.info["config"]
    assert tiny.name == "synthetic-long" and tiny.n_users == cfg["n_users"] == 80 and tiny.n_items == 400
    lengths = np.array([len(s) for s in tiny.interactions.sequences])
    assert lengths.min() >= 3 and np.median(lengths) > 500
    # every history ends with a revisit: the leave-one-out test target is a return
    assert all(k[-1] == RETURN and k[-2] == CUE for k in tiny.info["event_kinds"])
    assert all(len(k) == len(s) for k, s in zip(tiny.info["event_kinds"], tiny.interactions.sequences))
    # without end_on_revisit the nominal lengths are kept
    plain = make_long_history("tiny", n_users=5, end_on_revisit=False)
    assert all(600 <= len(s) <= 1500 for s in plain.interactions.sequences)

    with pytest.raises(ValueError, match="unknown synthetic-long size 'huge'; choose one of tiny, default, large"):
        load_dataset("synthetic-long", size="huge")
    with pytest.raises(ValueError, match="max_events .* must be at least min_events"):
        long_history_config("tiny", min_events=2000)
    with pytest.raises(ValueError, match=r"p_recall must be in \[0, 1\], got 1.5"):
        long_history_config(p_recall=1.5)
    with pytest.raises(ValueError, match="n_tastes must be in 1..29"):
        long_history_config(n_tastes=30)
    with pytest.raises(ValueError, match="n_items must be at least"):
        long_history_config(n_items=50)
    with pytest.raises(ValueError, match="visit_mean must be at least 2"):
        long_history_config(visit_mean=1.5)
    with pytest.raises(ValueError, match="n_users must be an integer"):
        long_history_config(n_users="many")
    with pytest.raises(ValueError, match="unknown synthetic-long setting.*'n_user'.*accepted: n_users"):
        make_long_history("tiny", n_user=3)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        LongHistoryWorld(seed=-1)
    world = LongHistoryWorld(long_history_config("tiny"))
    with pytest.raises(ValueError, match="n_events must be a non-negative integer or None"):
        world.iter_user_events(0, -5)  # raised at the call, not at the first next()
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        world.iter_user_events(0, 10, chunk_size=0)
    with pytest.raises(ValueError, match="user must be a non-negative integer"):
        world.iter_user_events(-1, 10)


def test_default_size_materialises():
    data = load_dataset("synthetic-long", size="default", seed=0)
    lengths = np.array([len(s) for s in data.interactions.sequences])
    assert data.n_users == 500 and data.n_items == 1500
    assert 2000 <= np.median(lengths) <= 5000 and lengths.max() <= 5000
    split = leave_one_out(data)
    assert len(split.test) == 500


# ---------------------------------------------------------------------------- the data needs long memory
def test_whole_history_beats_the_last_50_events(tiny):
    split = leave_one_out(tiny)
    whole = get_model("revisit-counts").fit(split, tiny.catalog)
    recent = get_model("revisit-counts", memory=50).fit(split, tiny.catalog)
    # the signal is far away: the anchor of the held-out revisit is rarely among the last 50 events
    in_reach = np.mean([recent.anchor(h) != h[-1] for h in split.test.histories])
    assert in_reach < 0.25
    m_whole = evaluate_metrics(whole, split.test, ks=(10,), exclude_seen=False)
    m_recent = evaluate_metrics(recent, split.test, ks=(10,), exclude_seen=False)
    print(f"\nwhole history: {m_whole}\nlast 50 events: {m_recent}\nanchor within 50 events: {in_reach:.3f}")
    assert m_whole["recall@10"] >= 0.6
    assert m_whole["recall@10"] >= m_recent["recall@10"] + 0.3
    assert m_whole["ndcg@10"] >= m_recent["ndcg@10"] + 0.2


def test_revisit_counts_by_hand(tmp_path):
    """Two categories, a hand-checked anchor and scores, the memory span, save/load and bad input."""
    from llmrec_mini.data.core import Catalog
    from llmrec_mini.data.sequences import Split

    cat = Catalog(item_ids=[str(i) for i in range(6)], categories=[["A"]] * 3 + [["B"]] * 3)
    train = [np.array([0, 1, 2, 3, 4]), np.array([0, 2, 0, 2])]  # 0->1, 1->2, 2->3, 3->4, 0->2 x2, 2->0
    split = Split(train=train, valid=None, test=None, n_items=6)
    m = get_model("revisit-counts").fit(split, cat)
    np.testing.assert_allclose(m.row(0), [0, 1 / 3, 2 / 3, 0, 0, 0])
    # history 0, 3, 4, 5, 1: item 1 starts a run of A after B, the anchor is 0 four events back
    assert m.anchor([0, 3, 4, 5, 1]) == 0
    assert get_model("revisit-counts", memory=3).fit(split, cat).anchor([0, 3, 4, 5, 1]) == 1  # out of reach
    assert m.anchor([0, 1]) == 1  # a run continues: the last item
    s = m.score([[0, 3, 4, 5, 1]])[0]
    np.testing.assert_allclose(s, m.row(0) + 0.1 * m.row(1) + 0.01 * m.pop, rtol=1e-6)
    assert s.argmax() == 2
    loaded = type(m).load(m.save(tmp_path / "ck"), cat)
    np.testing.assert_array_equal(loaded.score([[0, 3, 4, 5, 1]]), m.score([[0, 3, 4, 5, 1]]))
    with pytest.raises(ValueError, match="memory must be"):
        get_model("revisit-counts", memory=1)


def test_short_window_sasrec_loses_to_the_whole_history(tiny):
    """The issue's check: SASRec reading the last 50 events against the same data read whole (the revisit
    rule), seen items kept. SASRec is not weak (it beats popularity by far), the window is what it lacks."""
    split = leave_one_out(tiny)
    sasrec = get_model("sasrec", max_len=50, epochs=4, seed=0, progress=False, val_exclude_seen=False).fit(split)
    whole = get_model("revisit-counts").fit(split, tiny.catalog)
    pop = get_model("popularity").fit(split)
    m = {name: evaluate_metrics(model, split.test, ks=(10,), exclude_seen=False)
         for name, model in (("sasrec", sasrec), ("whole", whole), ("popularity", pop))}
    print(f"\n{m}")
    assert m["sasrec"]["recall@10"] >= m["popularity"]["recall@10"] + 0.2
    assert m["whole"]["recall@10"] >= m["sasrec"]["recall@10"] + 0.25
