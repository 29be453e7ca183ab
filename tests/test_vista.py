"""VISTA (models/vista.py) and the full target-attention baseline (models/target_attention.py).

Quality on held-out users, the two-stage cost (stage 2 independent of the history length N),
candidate isolation, streaming summaries in bounded memory, the summary cache and checkpoints.
Costs are counted (FLOPs, resident memory), never timed.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from llmrec_mini.data import load_dataset
from llmrec_mini.data.long_history import EventChunk
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate
from llmrec_mini.models import get_model
from llmrec_mini.models.target_attention import TargetAttention
from llmrec_mini.models.vista import VISTA, SummaryCache

SMALL = dict(d_model=16, n_heads=2, n_seeds=4, head_dim=8, decays=[0.5, 0.9, 1.0], dropout=0.0, progress=False)


def small_vista(n_items=60, **params) -> VISTA:
    return get_model("vista", **{**SMALL, **params}).untrained(n_items)


def small_ta(n_items=60, **params) -> TargetAttention:
    return get_model("target-attention", **{"d_model": 16, "n_heads": 2, "dropout": 0.0, "progress": False,
                                            **params}).untrained(n_items)


def chunks(items, size):
    return [items[s:s + size] for s in range(0, len(items), size)]


def flops(fn) -> int:
    """Matrix-product FLOPs counted by torch (2 per multiply-add). Attention runs on torch's math
    backend, whose products the counter sees (its fused CPU kernels are not counted)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


# ----------------------------------------------------------------------------------------- quality
def test_vista_beats_popularity_on_the_builtin_data():
    """The built-in shop with 1,000 users and 300 items (short sequences), two epochs."""
    data = make_synthetic("default", n_users=1000, n_items=300)
    split = leave_one_out(data)
    model = get_model("vista", d_model=32, n_seeds=8, head_dim=16, epochs=2, val_users=200,
                      progress=False).fit(split, data.catalog)
    popularity = evaluate(get_model("popularity").fit(split), split, progress=False)
    vista = evaluate(model, split, progress=False)
    print(f"\npopularity {popularity[['recall@10', 'ndcg@10']].iloc[0].to_dict()}\n"
          f"vista      {vista[['recall@10', 'ndcg@10']].iloc[0].to_dict()}")
    for metric in ("recall@10", "ndcg@10"):
        assert vista[metric].iloc[0] > 1.5 * popularity[metric].iloc[0], metric


# ----------------------------------------------------------------------------------------- stage 1: the scan
def test_training_states_at_many_targets_equal_the_definition():
    """history_states with positions (one pass, chunk scan) = sum_{j<p} gamma^(p-1-j) phi_1(k_j) v_j^T, by loops."""
    m = small_vista(n_items=50)
    rng = np.random.default_rng(0)
    hist = [rng.integers(0, 50, size=n) for n in (70, 3, 100, 1)]
    tokens = m.tokens(hist)
    L = tokens.shape[1]
    positions = torch.tensor([[1, 5, L - 40, L], [L - 3, L - 2, L - 1, L], [L - 100, L - 64, L - 33, L],
                              [L - 1, L, L, L]])
    with torch.no_grad():
        sums, weights = m.module.history_states(tokens, positions)
        keys, values = m.module.keys_values(tokens)
        whole, whole_w = m.module.history_states(tokens)  # p = L, computed directly
    gamma = torch.tensor(m.config.decays, dtype=torch.float64)
    for b in range(len(hist)):
        for i, p in enumerate(positions[b].tolist()):
            state, total = torch.zeros(3, 8, 8, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
            for j in range(p):
                if tokens[b, j] != 0:
                    w = gamma ** (p - 1 - j)
                    outer = torch.einsum("hd,he->hde", torch.nn.functional.silu(keys[b, :, j].double()),
                                         values[b, :, j].double())
                    state, total = state + w[:, None, None] * outer, total + w
            torch.testing.assert_close(sums[b, i].double(), state, atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(weights[b, i, :, 0, 0].double(), total, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(whole[:, 0], sums[:, -1], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(whole_w[:, 0], weights[:, -1])


def test_streaming_summary_equals_the_one_shot_summary():
    m = small_vista(n_items=100)
    history = np.random.default_rng(1).integers(0, 100, size=5000)
    one_shot = m.summarize([history])[0]
    assert one_shot.shape == (4, 16)
    for size in (777, 4096, 5000):
        np.testing.assert_allclose(m.summarize_stream(chunks(history, size)), one_shot, atol=1e-5)
    short = history[:300]  # one event at a time
    np.testing.assert_allclose(m.summarize_stream(chunks(short, 1)), m.summarize([short])[0], atol=1e-5)
    as_events = (EventChunk(s, c, np.zeros(len(c), np.int64), np.zeros(len(c), np.int8))
                 for s, c in zip(range(0, 5000, 1000), chunks(history, 1000)))  # data.long_history's chunks
    np.testing.assert_allclose(m.summarize_stream(as_events), one_shot, atol=1e-5)
    np.testing.assert_allclose(m.summarize_stream([]), m.summarize([np.array([], np.int64)])[0], atol=1e-6)
    # histories longer than stream_chunk are streamed by summarize itself
    np.testing.assert_allclose(small_vista(n_items=100, stream_chunk=1000).summarize([history])[0], one_shot,
                               atol=1e-5)


STREAM_SCRIPT = """
import json
import numpy as np
from llmrec_mini.data.long_history import LongHistoryConfig, LongHistoryWorld
from llmrec_mini.models import get_model

def status(key):  # kB from /proc/self/status: VmRSS now, VmHWM the peak since the last reset
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))

world = LongHistoryWorld(LongHistoryConfig(), seed=0)
model = get_model("vista", d_model=32, n_seeds=8, head_dim=16, progress=False).untrained(world.config.n_items)
model.summarize_stream(world.iter_user_events(1, 150_000, chunk_size=65_536))  # warm up: kernels, allocator
with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to what is resident now
    f.write("5")
before = status("VmRSS")
events = world.iter_user_events(0, 1_000_000, chunk_size=65_536)
counted = []
summary = model.summarize_stream(c for c in events if not counted.append(len(c)))
print(json.dumps({"before_kib": before, "peak_kib": status("VmHWM"), "events": sum(counted),
                  "shape": list(summary.shape), "finite": bool(np.isfinite(summary).all())}))
"""


def test_summarising_a_million_events_stays_in_bounded_memory():
    """Peak resident memory (VmHWM: torch's allocations included, unlike tracemalloc) of a fresh
    process while it streams a 1,000,000-event history through stage 1, against what it held just
    before (VmRSS, after a warm-up and a reset of the peak)."""
    proc = subprocess.run([sys.executable, "-c", STREAM_SCRIPT], capture_output=True, text=True, timeout=300,
                          env={"OMP_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\n{out}")
    assert out["events"] == 1_000_000 and out["shape"] == [8, 32] and out["finite"], out
    assert out["peak_kib"] < 2 * 2**20, f"peaked above 2 GiB: {out}"
    # the stream adds one 65,536-event chunk and the activations of one stream_chunk piece, not the history
    assert out["peak_kib"] - out["before_kib"] < 300 * 2**10, out


# ----------------------------------------------------------------------------------------- stage 2: cost, isolation
def test_stage_two_cost_does_not_depend_on_history_length():
    """FLOPs (torch's counter): scoring the catalog from cached summaries costs the same for 100 or
    10,000 events; summarising grows with N; full target attention grows with N."""
    vista = small_vista(n_items=200)
    ta = small_ta(n_items=200, max_history=20_000)
    for m in (vista, ta):  # the counter's module hooks need parameters that do not ask for gradients
        m.module.requires_grad_(False)
    rng = np.random.default_rng(0)
    stage1, stage2, target = {}, {}, {}
    for n in (100, 1000, 10_000):
        h = [rng.integers(0, 200, size=n)]
        stage1[n] = flops(lambda: vista.summarize(h))
        s = vista.summarize(h)
        stage2[n] = flops(lambda: vista.score_summaries(s))
        target[n] = flops(lambda: ta.score(h))
    print(f"\nstage 1 {stage1}\nstage 2 {stage2}\ntarget attention {target}")
    assert stage2[100] == stage2[1000] == stage2[10_000]
    C, k, d = 200, vista.config.n_seeds, vista.config.d_model
    # C queries against k summaries (QK^T and AV: 4 C k d), the candidates' query and output
    # projections (2 x 2 C d^2) and the summaries' keys and values (2 k d 2d): O(C k d + C d^2), no N
    assert stage2[100] == 4 * C * k * d + 2 * 2 * C * d * d + 2 * k * d * 2 * d
    assert stage1[10_000] > 5 * stage1[1000] > 25 * stage1[100]  # linear in N
    assert target[10_000] > 50 * target[100] and target[10_000] > 5 * stage2[10_000] + stage1[10_000]


@pytest.mark.parametrize("kind", ["vista", "target-attention"])
def test_a_candidate_score_never_depends_on_the_other_candidates(kind):
    model = small_vista() if kind == "vista" else small_ta()
    history = np.arange(0, 40, 2)  # even items only: the odd ones are candidates, never in the history
    tokens = model.tokens([history])
    with torch.no_grad():
        if kind == "vista":
            summaries = model.module(tokens)
            score = lambda items: model.module.score_items(summaries, torch.tensor(items))[0]  # noqa: E731
        else:
            score = lambda items: model.module.score_items(tokens, torch.tensor(items))[0]  # noqa: E731
        full = score(list(range(60)))
        a = score([1, 3, 5])
        b = score([1, 41, 5])  # candidate j replaced
        c = score([5, 1])  # fewer candidates, another order
        torch.testing.assert_close(a[[0, 2]], b[[0, 2]], rtol=0, atol=1e-6)
        torch.testing.assert_close(c, a[[2, 0]], rtol=0, atol=1e-6)
        torch.testing.assert_close(a, full[[1, 3, 5]], rtol=0, atol=1e-6)
        torch.manual_seed(0)
        model.module.items.ids.weight[3 + 1] += torch.randn(16)  # perturb candidate 3's own embedding
        d = score([1, 3, 5])
    torch.testing.assert_close(d[[0, 2]], a[[0, 2]], rtol=0, atol=1e-6)
    assert (d[1] - a[1]).abs() > 1e-3


# ----------------------------------------------------------------------------------------- the summary cache
def test_summary_cache_int8_round_trip_staleness_and_refresh(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(16, 32)) * rng.uniform(0.01, 10, size=(16, 1))).astype(np.float32)
    x[3] = 0.0  # an all-zero row
    cache = SummaryCache("int8", max_staleness=2,
                         summarize=lambda hs: np.stack([np.full((2, 3), len(h), np.float32) for h in hs]))
    cache.put(7, x, n_events=100)
    assert cache.data[7].dtype == np.int8 and cache.data[7].nbytes * 4 == x.nbytes
    back, scale = cache.get(7), np.abs(x).max(1) / 127
    assert (np.abs(back - x) <= scale[:, None] / 2 + 1e-6).all() and (back[3] == 0).all()
    # staleness = events since the summaries were computed; lookups serve up to max_staleness of it
    assert cache.staleness(7) == 0 and cache.staleness(8) is None
    assert cache.lookup(7, n_events=102) is not None and cache.staleness(7) == 2
    assert cache.lookup(7, n_events=103) is None and cache.staleness(7) == 3
    cache.observe(7, 110)
    assert cache.staleness(7) == 10 and (cache.hits, cache.misses) == (1, 1)
    cache.refresh([7, 8], [np.arange(110), np.arange(5)])
    assert cache.staleness(7) == cache.staleness(8) == 0 and cache.refreshes == 2
    assert cache.get(8)[0, 0] == 5 and cache.lookup(8, 5)[1, 2] == 5
    cache.save(tmp_path / "c.npz")
    again = SummaryCache("int8")
    again.load(tmp_path / "c.npz")
    assert sorted(again.data) == [7, 8] and again.staleness(7) == 0 and again.hits == cache.hits
    np.testing.assert_array_equal(again.get(7), cache.get(7))
    cache.invalidate([8])
    assert 8 not in cache and 7 in cache and len(cache) == 1
    exact = SummaryCache("none")
    exact.put(1, x, 3)
    np.testing.assert_array_equal(exact.get(1), x)
    with pytest.raises(ValueError, match="quantize"):
        SummaryCache("int4")
    with pytest.raises(RuntimeError, match="summarize"):
        SummaryCache().refresh([1], [np.arange(3)])
    with pytest.raises(ValueError, match="saved with quantize='int8'"):
        SummaryCache("none").load(tmp_path / "c.npz")


def test_recommend_serves_cached_summaries_and_refreshes_stale_users():
    rng = np.random.default_rng(0)
    histories = [rng.integers(0, 60, size=30) for _ in range(4)]
    users = np.arange(4)
    m = small_vista()
    first = m.recommend(histories, k=5, users=users)
    assert (m.cache.hits, m.cache.misses, len(m.cache)) == (0, 4, 4)
    again = m.recommend(histories, k=5, users=users)
    assert m.cache.hits == 4
    np.testing.assert_array_equal(again.items, first.items)
    np.testing.assert_array_equal(again.scores, first.scores)
    # int8 summaries score almost like the exact ones
    exact = m.recommend(histories, k=5)
    np.testing.assert_allclose(first.scores, exact.scores, atol=0.05)
    grown = [np.append(h, 1) for h in histories]  # a new event each: stale, summarised again
    m.recommend(grown, k=5, users=users)
    assert m.cache.misses == 8 and all(m.cache.staleness(u) == 0 for u in users)
    lazy = small_vista(cache_max_staleness=3)  # the paper refreshes every 2 hours: stale summaries are served
    lazy.recommend(histories, k=5, users=users)
    lazy.recommend(grown, k=5, users=users)
    assert lazy.cache.hits == 4 and all(lazy.cache.staleness(u) == 1 for u in users)
    off = small_vista(cache=False)
    off.recommend(histories, k=5, users=users)
    assert len(off.cache) == 0


def test_save_and_load_give_identical_recommendations(tmp_path):
    data = load_dataset("synthetic", size="tiny")
    split = leave_one_out(data)
    model = get_model("vista", preset="tiny", epochs=2, progress=False).fit(split, data.catalog)
    assert len(model.cache) == 0  # training clears the cache: its summaries came from older weights
    h, u = split.test.histories[:40], split.test.users[:40]
    cached, plain = model.recommend(h, k=10, users=u), model.recommend(h, k=10)
    model.save(tmp_path / "vista")
    loaded = VISTA.load(tmp_path / "vista", data.catalog)
    assert len(loaded.cache) == 40 and loaded.config == model.config
    for a, b in ((loaded.recommend(h, k=10, users=u), cached), (loaded.recommend(h, k=10), plain)):
        np.testing.assert_array_equal(a.items, b.items)
        np.testing.assert_array_equal(a.scores, b.scores)
    assert loaded.cache.hits == 40  # served from the saved cache
    ta = get_model("target-attention", preset="tiny", progress=False).fit(split, data.catalog)
    ta.save(tmp_path / "ta")
    np.testing.assert_array_equal(TargetAttention.load(tmp_path / "ta").recommend(h, k=10).items,
                                  ta.recommend(h, k=10).items)


def test_reconstruction_loss_reads_the_summaries():
    m = small_vista(recon_len=8)
    tokens = m.tokens([np.arange(20), np.arange(5, 15)])
    positions, targets = torch.tensor([[18, 20], [18, 20]]), torch.tensor([[3, 4], [-1, 9]])
    m.module.train()
    summaries = m.module.summaries_from(*m.module.history_states(tokens, positions))
    rec = m.module.reconstruction_loss(summaries[:, -1], tokens)
    grad = torch.autograd.grad(rec, summaries)[0]
    assert rec > 0 and grad[:, -1].abs().sum() > 0 and grad[:, 0].abs().sum() == 0
    with_rec = m.module(tokens, positions, targets)
    without = small_vista(recon_len=8, recon_weight=0.0).module.train()(tokens, positions, targets)
    torch.testing.assert_close(with_rec - without, rec, atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------------------- settings
@pytest.mark.parametrize("params, match", [
    ({"decays": []}, "at least one decay"),
    ({"decays": [0.0, 1.0]}, r"every decay must be in \(0, 1\], got 0.0"),
    ({"decays": [1.5]}, r"every decay must be in \(0, 1\], got 1.5"),
    ({"decays": "fast"}, "decays must be a list"),
    ({"n_seeds": 0}, "n_seeds must be at least 1, got 0"),
    ({"head_dim": -2}, "head_dim must be at least 1"),
    ({"d_model": 30, "n_heads": 4}, r"d_model \(30\) must be divisible by n_heads \(4\)"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"recon_weight": -1.0}, "recon_weight must be >= 0"),
    ({"cache_quantize": "int4"}, "cache_quantize must be one of 'none', 'int8'"),
    ({"cache_max_staleness": -1}, "cache_max_staleness must be >= 0"),
    ({"target_window": 0}, r"target_window must be at least 1 \(or None\)"),
    ({"max_train_history": 0}, "max_train_history must be at least 1"),
    ({"phi1": "relu"}, "phi1 must be one of"),
    ({"n_seed": 4}, "unknown setting"),
])
def test_bad_vista_settings_fail_with_a_clear_message(params, match):
    with pytest.raises(ValueError, match=match):
        get_model("vista", **params)


def test_bad_inputs_fail_with_a_clear_message():
    with pytest.raises(ValueError, match="attention must be one of 'softmax', 'hstu'"):
        get_model("target-attention", attention="flash")
    with pytest.raises(ValueError, match="targets_per_user must be at least 1"):
        get_model("target-attention", targets_per_user=0)
    m = small_vista(n_items=10)
    with pytest.raises(ValueError, match="item index 10, but the model knows 10 items"):
        m.summarize_stream([np.array([1, 2]), np.array([10])])
    with pytest.raises(RuntimeError, match="fit or load"):
        get_model("vista").summarize([np.arange(3)])


def test_attention_weights_are_each_events_share_of_the_state_a_seed_reads():
    """sum_j a_ij v_j = phi_1(q_i) Z_hist, with Z_hist the model's own decayed, normalised history state."""
    import torch

    from llmrec_mini import attention as A

    m = small_vista(n_items=40)
    history = np.random.default_rng(3).integers(0, 40, size=57)
    a = m.attention_weights(history)  # (H, k, L)
    c, mod = m.config, m.module
    assert a.shape == (len(c.decays), c.n_seeds, 57)
    with torch.no_grad():
        tokens = torch.as_tensor(history[None] + 1)
        sums, weights = mod.history_states(tokens)  # (1, 1, H, dh, dh), (1, 1, H, 1, 1)
        z = (sums / weights)[0, 0]  # (H, dh, dh)
        _, values = mod.keys_values(tokens[0])  # (H, L, dh)
        q = mod.q(mod.seeds).view(c.n_seeds, len(c.decays), c.head_dim).transpose(0, 1)
        want = A._phi(c.phi1)(q) @ z  # (H, k, dh)
    np.testing.assert_allclose(a @ values.numpy(), want.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="a history holds item index 40"):
        m.attention_weights([0, 40])


def test_cli_evaluates_vista_on_the_builtin_data():
    out = subprocess.run([sys.executable, "-m", "llmrec_mini.cli", "evaluate", "--model", "vista", "--preset", "tiny",
                          "--dataset", "synthetic", "--size", "tiny", "--json"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "recall@10" in out.stdout
