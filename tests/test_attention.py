"""llmrec_mini.attention: masks against brute-force loops, each fast attention against its reference,
quasi-linear attention's leakage properties, its streaming state, its memory, the analytic costs,
and the mask figure."""
import resource

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrec_mini import attention as A
from llmrec_mini.attention import Layout

SETTINGS = settings(max_examples=40, deadline=None)
f64 = dict(dtype=torch.float64)


def brute(n, rule):
    """An (n, n) bool mask from a rule(i, j) evaluated pair by pair."""
    return torch.tensor([[bool(rule(i, j)) for j in range(n)] for i in range(n)], dtype=torch.bool).reshape(n, n)


def randn(seed, *shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), **f64)


layouts = st.builds(Layout, st.integers(0, 4), st.integers(0, 7), st.integers(0, 5))


# ---- 1. layout ------------------------------------------------------------------------------------
def test_layout_blocks_slices_and_labels():
    lay = Layout(prefix=2, history=3, candidates=2, prefix_name="seeds")
    assert (lay.n, lay.context) == (7, 5)
    assert [(name, s.start, s.stop) for name, s in lay.segments()] == [("seeds", 0, 2), ("history", 2, 5),
                                                                      ("candidates", 5, 7)]
    assert [lay.segment_of(i) for i in range(7)] == ["seeds"] * 2 + ["history"] * 3 + ["candidates"] * 2
    assert lay.labels() == ["s0", "s1", "h0", "h1", "h2", "c0", "c1"]
    assert (lay.history_slice, lay.candidate_slice, lay.context_slice) == (slice(2, 5), slice(5, 7), slice(0, 5))
    assert [name for name, _ in Layout(history=4).segments()] == ["history"]  # empty blocks are left out
    with pytest.raises(ValueError, match="outside"):
        lay.segment_of(7)
    with pytest.raises(ValueError, match="candidates"):
        Layout(1, 2, -1)
    with pytest.raises(ValueError, match="history"):
        Layout(1, 2.0, 1)


# ---- 2. masks (True = may attend) -----------------------------------------------------------------
@SETTINGS
@given(n=st.integers(0, 12), prefix=st.integers(0, 12), window=st.integers(1, 6),
       blocks=st.lists(st.integers(0, 4), max_size=5))
def test_mask_builders_equal_pairwise_rules(n, prefix, window, blocks):
    assert torch.equal(A.causal(n), brute(n, lambda i, j: j <= i))
    assert torch.equal(A.bidirectional(n), brute(n, lambda i, j: True))
    assert torch.equal(A.sliding_window(n, window), brute(n, lambda i, j: i - window < j <= i))
    assert torch.equal(A.sliding_window(n, window, causal=False), brute(n, lambda i, j: abs(i - j) < window))
    prefix = min(prefix, n)
    assert torch.equal(A.prefix_lm(n, prefix), brute(n, lambda i, j: j < prefix if i < prefix else j <= i))
    block_of = [b for b, size in enumerate(blocks) for _ in range(size)]
    assert torch.equal(A.block_causal(blocks), brute(len(block_of), lambda i, j: block_of[j] <= block_of[i]))
    for m in (A.causal(n), A.bidirectional(n), A.prefix_lm(n, prefix), A.sliding_window(n, window)):
        assert m.dtype == torch.bool and m.shape == (n, n)


@SETTINGS
@given(lay=layouts)
def test_candidate_isolated_equals_its_block_rules(lay):
    s = lay.context

    def rule(history):
        def allowed(i, j):
            if j >= s:  # a candidate key: only the candidate itself reads it
                return i == j
            if i >= s:  # a candidate query reads the whole context
                return True
            return True if history == "bidirectional" else (j <= i or j < lay.prefix)
        return allowed

    for history in A.HISTORY_MODES:
        assert torch.equal(A.candidate_isolated(lay, history), brute(lay.n, rule(history)))


@SETTINGS
@given(h=st.integers(0, 8), c=st.integers(0, 5))
def test_candidate_isolated_causal_is_hstus_target_mask(h, c):
    """HSTU builds it differently: candidates all get position index h, valid = eye or (row - col > 0)."""
    pos = list(range(h)) + [h] * c
    hstu = brute(h + c, lambda i, j: i == j or pos[i] - pos[j] > 0)
    assert torch.equal(A.candidate_isolated(Layout(history=h, candidates=c), "causal"), hstu)


@SETTINGS
@given(lay=layouts, window=st.integers(1, 4), block=st.integers(1, 4))
def test_registry_builds_every_mask_from_a_layout(lay, window, block):
    direct = {"causal": A.causal(lay.n), "bidirectional": A.bidirectional(lay.n),
              "prefix_lm": A.prefix_lm(lay.n, lay.prefix),
              "block_causal": A.block_causal([s.stop - s.start for _, s in lay.segments()]),
              "sliding_window": A.sliding_window(lay.n, 3),
              "candidate_isolated": A.candidate_isolated(lay, "causal")}
    assert set(A.MASKS) == set(direct)
    for name, want in direct.items():
        assert torch.equal(A.build_mask(name, lay), want), name
        assert A.MASKS[name].__doc__.strip()  # a caption for the UI
    assert torch.equal(A.build_mask("sliding_window", lay, window=window, causal=False),
                       A.sliding_window(lay.n, window, causal=False))
    sizes = [min(block, lay.n - s) for s in range(0, lay.n, block)]
    assert torch.equal(A.build_mask("block_causal", lay, block_size=block), A.block_causal(sizes))
    assert torch.equal(A.build_mask("candidate_isolated", lay, history="bidirectional"),
                       A.candidate_isolated(lay, "bidirectional"))


def test_mask_options_and_registry_errors():
    assert A.mask_options("sliding_window") == {"window": 3, "causal": True}
    assert A.mask_options("candidate_isolated") == {"history": "causal"}
    assert A.mask_options("causal") == {}
    with pytest.raises(ValueError, match="unknown mask"):
        A.build_mask("diagonal", Layout(history=3))
    with pytest.raises(ValueError, match="no option"):
        A.build_mask("causal", Layout(history=3), window=2)
    with pytest.raises(ValueError, match="block_size"):
        A.build_mask("block_causal", Layout(history=3), block_size=0)


@pytest.mark.parametrize("call, match", [
    (lambda: A.causal(-1), "n must"),
    (lambda: A.prefix_lm(3, 4), "prefix"),
    (lambda: A.sliding_window(5, 0), "window"),
    (lambda: A.block_causal([2, -1]), "block size"),
    (lambda: A.candidate_isolated(Layout(1, 2, 3), history="full"), "history"),
    (lambda: A.to_blocked(torch.ones(2, 2)), "bool"),
    (lambda: A.to_additive(np.ones((2, 2), bool)), "bool"),
])
def test_mask_builders_reject_bad_options(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_conversions_and_the_blocked_helpers_sasrec_uses():
    allowed = A.candidate_isolated(Layout(1, 2, 2))
    assert torch.equal(A.to_blocked(allowed), ~allowed)
    assert torch.equal(A.from_blocked(A.to_blocked(allowed)), allowed)
    add = A.to_additive(allowed, dtype=torch.float64)
    assert add.dtype == torch.float64 and (add[allowed] == 0).all() and torch.isneginf(add[~allowed]).all()
    # the blocked form of nn.MultiheadAttention, unchanged for existing callers
    assert torch.equal(A.causal_mask(4), torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1))
    tokens = torch.tensor([[0, 0, 5, 7], [1, 2, 3, 4]])
    blocked = A.causal_padding_mask(tokens)
    assert blocked.shape == (2, 4, 4)
    assert not blocked.all(-1).any()  # every query keeps itself
    assert blocked[0, 3, :2].all() and not blocked[0, 3, 2:].any()  # padding keys blocked, the rest causal
    assert torch.equal(blocked[1], A.causal_mask(4))


# ---- 3-6. each fast attention equals its brute-force reference --------------------------------------
shapes = st.fixed_dictionaries({"lead": st.sampled_from([(), (2,), (2, 3)]), "n": st.integers(1, 9),
                                "d": st.integers(1, 5), "dv": st.integers(1, 4), "seed": st.integers(0, 10_000)})


def qkv(lead, n, d, dv, seed, n_k=None):
    n_k = n if n_k is None else n_k
    return randn(seed, *lead, n, d), randn(seed + 1, *lead, n_k, d), randn(seed + 2, *lead, n_k, dv)


@SETTINGS
@given(sh=shapes, n_k=st.integers(1, 9), p=st.floats(0, 1), scale=st.sampled_from([None, 0.3]))
def test_softmax_attention_equals_reference(sh, n_k, p, scale):
    q, k, v = qkv(**sh, n_k=n_k)
    mask = torch.rand(sh["n"], n_k, generator=torch.Generator().manual_seed(sh["seed"])) < p  # may leave rows empty
    for m in (None, mask):
        out = A.softmax_attention(q, k, v, m, scale=scale)
        assert out.shape == q.shape[:-1] + (sh["dv"],)
        torch.testing.assert_close(out, A.reference_softmax_attention(q, k, v, m, scale=scale))
    empty = ~mask.any(-1)
    assert (A.softmax_attention(q, k, v, mask)[..., empty, :] == 0).all()  # a query with no key: 0, not NaN


def test_softmax_attention_broadcasts_a_batched_mask_and_has_finite_gradients():
    q, k, v = (randn(s, 2, 3, 5, 4).requires_grad_() for s in (0, 1, 2))
    mask = torch.stack([A.causal(5), A.candidate_isolated(Layout(0, 3, 2))])[:, None]  # (2, 1, 5, 5)
    mask[1, 0, 0] = False  # an empty row
    out = A.softmax_attention(q, k, v, mask)
    torch.testing.assert_close(out, A.reference_softmax_attention(q, k, v, mask))
    out.sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (q, k, v))


@SETTINGS
@given(sh=shapes, n_k=st.integers(1, 9), chunk=st.integers(1, 5))
def test_linear_attention_equals_reference(sh, n_k, chunk):
    q, k, v = qkv(**sh, n_k=n_k)
    torch.testing.assert_close(A.linear_attention(q, k, v), A.reference_linear_attention(q, k, v))
    q, k, v = qkv(**sh)
    torch.testing.assert_close(A.linear_attention(q, k, v, causal=True, chunk_size=chunk),
                               A.reference_linear_attention(q, k, v, causal=True))


def test_causal_linear_attention_is_an_rnn():
    """O_i depends on positions <= i only: the outputs of a prefix do not change when the sequence grows."""
    q, k, v = qkv((), 8, 3, 2, 5)
    full = A.linear_attention(q, k, v, causal=True, chunk_size=3)
    torch.testing.assert_close(A.linear_attention(q[:5], k[:5], v[:5], causal=True), full[:5])


@SETTINGS
@given(sh=shapes, p=st.floats(0, 1), n=st.sampled_from([None, 4, 12.5]), with_rab=st.booleans())
def test_hstu_attention_equals_reference(sh, p, n, with_rab):
    q, k, v = qkv(**sh)
    mask = torch.rand(sh["n"], sh["n"], generator=torch.Generator().manual_seed(sh["seed"])) < p
    rab = randn(sh["seed"] + 3, sh["n"], sh["n"]) if with_rab else None
    for m in (None, mask):
        torch.testing.assert_close(A.hstu_attention(q, k, v, m, n=n, rab=rab),
                                   A.reference_hstu_attention(q, k, v, m, n=n, rab=rab))


def test_hstu_weights_are_not_normalised():
    """No softmax: one key matching twice as often gives twice the output (HSTU keeps counts)."""
    q, k, v = torch.ones(1, 2, **f64), torch.ones(4, 2, **f64), torch.ones(4, 1, **f64)
    one, two = (A.hstu_attention(q, k, v, (torch.arange(4) < m)[None], n=4) for m in (1, 2))
    torch.testing.assert_close(two, 2 * one)


PHIS = list(A.PHI) + [torch.tanh]


@SETTINGS
@given(sh=shapes, c=st.integers(0, 9), phi1=st.sampled_from(PHIS), phi2=st.sampled_from(PHIS),
       chunk=st.integers(1, 4))
def test_quasi_linear_attention_equals_reference(sh, c, phi1, phi2, chunk):
    q, k, v = qkv(**sh)
    c = min(c, sh["n"])
    out = A.quasi_linear_attention(q, k, v, c, phi1, phi2, chunk_size=chunk)
    assert out.shape == q.shape[:-1] + (sh["dv"],)
    torch.testing.assert_close(out, A.reference_quasi_linear_attention(q, k, v, c, phi1, phi2))


@SETTINGS
@given(sh=shapes, c=st.integers(0, 9), phi1=st.sampled_from(PHIS))
def test_qla_without_phi2_is_masked_non_softmax_attention(sh, c, phi1):
    """phi_2 = identity: O = (phi_1(Q) phi_1(K)^T * M) V with M = candidate_isolated(bidirectional);
    phi_1 = identity too gives the appendix's plain form Q K^T V under that mask."""
    q, k, v = qkv(**sh)
    c = min(c, sh["n"])
    f = A.PHI[phi1] if isinstance(phi1, str) else phi1
    mask = A.candidate_isolated(Layout(history=sh["n"] - c, candidates=c), history="bidirectional")
    dense = ((f(q) @ f(k).transpose(-2, -1)) * mask) @ v
    torch.testing.assert_close(A.quasi_linear_attention(q, k, v, c, phi1=phi1, phi2="identity"), dense)


@pytest.mark.parametrize("phi1, phi2", [("silu", "silu"), ("identity", "identity"), ("shifted_elu", "shifted_elu")])
def test_qla_candidates_never_see_each_other_and_context_never_sees_candidates(phi1, phi2):
    n, c = 12, 4
    s = n - c
    q, k, v = qkv((2, 2), n, 4, 3, 11)
    base = A.quasi_linear_attention(q, k, v, c, phi1, phi2)
    for j in range(s, n):  # perturb candidate j (its query, key and value) by a lot
        q2, k2, v2 = q.clone(), k.clone(), v.clone()
        for t in (q2, k2, v2):
            t[..., j, :] += 10 * randn(j, *t.shape[:-2], t.shape[-1])
        out = A.quasi_linear_attention(q2, k2, v2, c, phi1, phi2)
        others = [i for i in range(n) if i != j]
        torch.testing.assert_close(out[..., others, :], base[..., others, :], rtol=0, atol=1e-12)
        assert not torch.allclose(out[..., j, :], base[..., j, :])  # ... while its own output moves
    # exact structural zeros: d O[i] / d (q_j, k_j, v_j) = 0 for candidates i != j, and d O[S] / d (T) = 0
    for rows, cols in [([s], range(s + 1, n)), (list(range(s)), range(s, n))]:
        qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
        A.quasi_linear_attention(qg, kg, vg, c, phi1, phi2)[..., rows, :].sum().backward()
        for t in (qg, kg, vg):
            assert (t.grad[..., list(cols), :] == 0).all()


def test_qla_history_outputs_do_not_depend_on_how_many_candidates_follow():
    q, k, v = qkv((3,), 10, 4, 4, 2)
    alone = A.quasi_linear_attention(q[..., :6, :], k[..., :6, :], v[..., :6, :], 0)
    with_candidates = A.quasi_linear_attention(q, k, v, 4)
    torch.testing.assert_close(with_candidates[..., :6, :], alone)


# ---- the streaming state -------------------------------------------------------------------------
@SETTINGS
@given(n=st.integers(1, 30), cuts=st.lists(st.integers(1, 29), max_size=6), phi1=st.sampled_from(list(A.PHI)))
def test_qla_state_over_chunks_equals_one_shot(n, cuts, phi1):
    k, v = randn(n, 2, n, 4), randn(n + 1, 2, n, 3)
    edges = sorted({0, n, *[x for x in cuts if x < n]})
    chunks = [(k[..., a:b, :], v[..., a:b, :]) for a, b in zip(edges, edges[1:])]
    one_shot = A.qla_state(k, v, phi1=phi1)
    assert one_shot.shape == (2, 4, 3)
    torch.testing.assert_close(A.qla_state(*zip(*chunks), phi1=phi1), one_shot)
    streamed = A.qla_state((kc for kc, _ in chunks), (vc for _, vc in chunks), phi1=phi1)  # generators
    torch.testing.assert_close(streamed, one_shot)
    f = A.PHI[phi1]
    torch.testing.assert_close(one_shot, f(k).transpose(-2, -1) @ v)


def test_qla_readout_from_a_cached_state_scores_candidates():
    """Serving: summarise the history once, then score any set of candidates from the d x d_v state."""
    q, k, v = qkv((), 50, 4, 4, 9)
    state = A.qla_state(k[:45].split(7), v[:45].split(7))
    torch.testing.assert_close(A.qla_readout(q[45:], state, k[45:], v[45:]),
                               A.quasi_linear_attention(q, k, v, 5)[45:])
    torch.testing.assert_close(A.qla_readout(q[:45], state), A.quasi_linear_attention(q, k, v, 5)[:45])
    with pytest.raises(ValueError, match="both k and v"):
        A.qla_readout(q[45:], state, k[45:])
    with pytest.raises(ValueError, match="same d"):
        A.qla_readout(q[45:, :3], state)


def test_qla_on_200k_events_builds_nothing_n_by_n():
    """N = 200,000: an N x N float32 matrix would take 160 GB; QLA's working set is O(N d)."""
    n, d, c = 200_000, 16, 64
    q, k, v = (torch.randn(n, d, generator=torch.Generator().manual_seed(s)) for s in range(3))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out = A.quasi_linear_attention(q, k, v, c, chunk_size=8192)
    grown_gib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 2 ** 20
    assert out.shape == (n, d) and torch.isfinite(out).all()
    assert grown_gib < 1, f"peak memory grew by {grown_gib:.1f} GiB"
    # spot-check two candidates against the formula in float64
    q64, k64, v64 = q.double(), k.double(), v.double()
    z = A.silu(A.silu(k64[: n - c]).T @ v64[: n - c])
    for i in (n - c, n - 1):
        want = A.silu(q64[i]) @ z + (A.silu(q64[i]) * A.silu(k64[i])).sum() * v64[i]
        torch.testing.assert_close(out[i].double(), want, rtol=1e-4, atol=1e-3)


# ---- bad inputs ------------------------------------------------------------------------------------
X = torch.zeros(4, 3)
BAD = [
    (lambda: A.softmax_attention(torch.zeros(3), X, X), "q must"),
    (lambda: A.softmax_attention(X, torch.zeros(4, 2), X), "same width"),
    (lambda: A.softmax_attention(X, X, torch.zeros(5, 3)), "same length"),
    (lambda: A.softmax_attention(torch.zeros(2, 4, 3), X, X), "leading"),
    (lambda: A.softmax_attention(X, X, X, mask=torch.ones(4, 4)), "bool"),
    (lambda: A.softmax_attention(X, X, X, mask=torch.ones(4, 5, dtype=torch.bool)), r"\(\.\.\., 4, 4\)"),
    (lambda: A.softmax_attention(X, X, X, mask=torch.ones(3, 4, 4, dtype=torch.bool)), "broadcast"),
    (lambda: A.linear_attention(X, torch.zeros(6, 3), torch.zeros(6, 3), causal=True), "same length"),
    (lambda: A.linear_attention(X, X, X, causal=True, chunk_size=0), "chunk_size"),
    (lambda: A.hstu_attention(X, X, X, n=0), "n must"),
    (lambda: A.quasi_linear_attention(X, X, X, 5), "n_candidates"),
    (lambda: A.quasi_linear_attention(X, X, X, -1), "n_candidates"),
    (lambda: A.quasi_linear_attention(X, X, X, True), "n_candidates"),
    (lambda: A.quasi_linear_attention(X, X, X, 1, phi1="relu6"), "unknown feature map"),
    (lambda: A.quasi_linear_attention(X, X, X, 1, phi2="gelu"), "unknown feature map"),
    (lambda: A.quasi_linear_attention(X, torch.zeros(5, 3), torch.zeros(5, 3), 1), "same length"),
    (lambda: A.qla_state([X, X], [X]), "numbers of chunks"),
    (lambda: A.qla_state([], []), "at least one chunk"),
    (lambda: A.qla_state([X, torch.zeros(4, 2)], [X, X]), "state of shape"),
    (lambda: A.attention_cost("flash", 10, 4), "unknown attention"),
    (lambda: A.attention_cost("quasi_linear", 10, 4, n_candidates=11), "n_candidates"),
]


@pytest.mark.parametrize("call, match", BAD)
def test_attention_functions_reject_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- 8. analytic costs -----------------------------------------------------------------------------
def measured_flops(fn):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("n, c, d, dv", [(32, 0, 8, 8), (40, 7, 4, 6), (9, 9, 3, 2)])
def test_costs_match_the_counted_matrix_products(n, c, d, dv):
    """torch's FlopCounterMode counts matrix products (2 per multiply-add); the costs add the row-wise
    normaliser / Delta terms the counter does not see."""
    q, k, v = qkv((), n, d, dv, 0)
    mask = A.causal(n)
    assert measured_flops(lambda: A.softmax_attention(q, k, v, mask)) == A.attention_cost("softmax", n, d, d_v=dv).flops
    assert measured_flops(lambda: A.hstu_attention(q, k, v, mask)) == A.attention_cost("hstu", n, d, d_v=dv).flops
    assert (measured_flops(lambda: A.linear_attention(q, k, v))
            == A.attention_cost("linear", n, d, d_v=dv).flops - (2 * n * d + n * dv))
    assert (measured_flops(lambda: A.quasi_linear_attention(q, k, v, c, chunk_size=5))
            == A.attention_cost("quasi_linear", n, d, n_candidates=c, d_v=dv).flops - (2 * c * d + c * dv))


def test_costs_scale_quadratically_or_linearly():
    cost = A.attention_cost
    assert cost("softmax", 2000, 16).flops == 4 * cost("softmax", 1000, 16).flops
    assert cost("softmax", 1000, 16).intermediate == 1000 ** 2 == cost("hstu", 1000, 16).intermediate
    assert cost("quasi_linear", 2000, 16, 100).flops < 2.1 * cost("quasi_linear", 1000, 16, 100).flops
    assert cost("quasi_linear", 10 ** 6, 16, 100).intermediate == 16 * 16  # the state, whatever N
    assert cost("linear", 10 ** 6, 16, causal=True, chunk_size=256).intermediate == 256 * 16 * 16
    assert cost("quasi_linear", 10, 2, n_candidates=3) == A.Cost(flops=2 * 7 * 4 + 2 * 10 * 4 + 2 * 3 * 2 + 3 * 2,
                                                                 intermediate=4)


# ---- the figure ------------------------------------------------------------------------------------
def test_mask_figure_reads_either_convention_and_draws_the_layout():
    from llmrec_mini.viz import attention_mask_figure

    lower = np.tril(np.ones((4, 4), dtype=int))
    assert (np.array(attention_mask_figure(A.causal(4), convention="allowed").data[0].z) == lower).all()
    assert (np.array(attention_mask_figure(A.causal_mask(4)).data[0].z) == lower).all()  # the default: blocked
    lay = Layout(prefix=2, history=3, candidates=2, prefix_name="seeds")
    fig = attention_mask_figure(A.candidate_isolated(lay, "bidirectional"), convention="allowed", layout=lay)
    assert (np.array(fig.data[0].z) == A.candidate_isolated(lay, "bidirectional").int().numpy()).all()
    assert list(fig.data[0].x) == lay.labels() == list(fig.data[0].y)
    edges = sorted({s.x0 for s in fig.layout.shapes if s.x0 == s.x1})
    assert edges == [1.5, 4.5]  # a separator before history and before the candidates
    assert len(fig.layout.shapes) == 4
    assert sorted(a.text for a in fig.layout.annotations) == sorted(["seeds", "history", "candidates"] * 2)
    one = attention_mask_figure(A.causal(3), convention="allowed", layout=Layout(history=3))
    assert not one.layout.shapes and [a.text for a in one.layout.annotations] == ["history"] * 2
    with pytest.raises(ValueError, match="convention"):
        attention_mask_figure(A.causal(3), convention="True")
    with pytest.raises(ValueError, match="layout has n = 7"):
        attention_mask_figure(A.causal(3), convention="allowed", layout=lay)
