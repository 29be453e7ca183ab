"""Attention masks and attention functions: the package's one library of both.

Models (SASRec, VISTA, ...), the notes and the playground's pages import masks and attention from
here. The module reads in the order of the papers:

1. the sequence layout ``[prefix/seeds P | history H | candidates C]`` (`Layout`),
2. masks (`causal`, `bidirectional`, `prefix_lm`, `block_causal`, `sliding_window`,
   `candidate_isolated`) and the registry `MASKS` a UI can list,
3. softmax attention,
4. linear attention (Katharopoulos et al., ICML 2020, arXiv 2006.16236),
5. HSTU's pointwise attention (Zhai et al., ICML 2024, arXiv 2402.17152),
6. VISTA's quasi-linear attention (Chen et al., arXiv 2510.22049, Appendix B) and its streaming
   state,
7. brute-force references, one per function (loops and dense N x N matrices, for the tests),
8. analytic costs (`attention_cost`) for benchmarks,
9. the blocked-form helpers that ``nn.MultiheadAttention`` users (SASRec) call.

Conventions
-----------
* **Masks** are boolean tensors of shape (N, N): row = query i, column = key j, and
  **True = query i may attend to key j**. This is the papers' mask M and the convention of
  ``F.scaled_dot_product_attention``. ``nn.MultiheadAttention`` uses the opposite (True = blocked):
  convert with `to_blocked`, or to the additive float form (0 where allowed, -inf where blocked)
  with `to_additive`. Only the helpers in section 9 (`causal_mask`, `causal_padding_mask`) return
  the blocked form. ``viz.attention_mask_figure(mask, convention="allowed", layout=...)`` draws
  masks of either form.
* **Tensors** are (..., N, d): any leading dimensions (batch B, heads h), so (N, d), (B, N, d) and
  (B, h, N, d) all work. q and k share d; v may have its own width d_v; q, k and v have the same
  leading dimensions. A mask is (N_q, N_k), or (..., N_q, N_k) broadcastable to the scores.
* **Layout.** VISTA splits the rows into S (seeds + history; here prefix + history) and T
  (candidates), in that order: candidates are always the last ``n_candidates`` positions.
* Every fast function ``f`` has a brute-force twin ``reference_f`` and an entry in
  `attention_cost`. Quasi-linear attention never builds an N x N matrix.

torch is imported on first use (importing the package stays cheap, as everywhere in it).
"""
from __future__ import annotations

import importlib
import inspect
import itertools
import math
from dataclasses import dataclass
from typing import Callable, Iterable


class _LazyModule:
    """A module imported on first attribute access (``torch.ones`` below imports torch once)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


torch = _LazyModule("torch")
F = _LazyModule("torch.nn.functional")


# ============================================================================ 1. the sequence layout
@dataclass(frozen=True)
class Layout:
    """A sequence ``[prefix | history | candidates]`` and where each block sits.

    * prefix: tokens every later position may read in full (a prompt; VISTA's virtual seeds,
      then ``prefix_name="seeds"``),
    * history: the user's interactions,
    * candidates: the items to score, always last (VISTA's T rows; S = prefix + history).

    >>> lay = Layout(prefix=2, history=3, candidates=2, prefix_name="seeds")
    >>> lay.n, lay.context, lay.segment_of(5), lay.labels()[:3]
    (7, 5, 'candidates', ['s0', 's1', 'h0'])
    """

    prefix: int = 0
    history: int = 0
    candidates: int = 0
    prefix_name: str = "prefix"

    def __post_init__(self):
        for name in ("prefix", "history", "candidates"):
            size = getattr(self, name)
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ValueError(f"Layout.{name} must be an int >= 0, got {size!r}")

    @property
    def n(self) -> int:
        """Sequence length N = P + H + C."""
        return self.prefix + self.history + self.candidates

    @property
    def context(self) -> int:
        """|S| = P + H: the positions candidates read (VISTA's S rows)."""
        return self.prefix + self.history

    @property
    def prefix_slice(self) -> slice:
        return slice(0, self.prefix)

    @property
    def history_slice(self) -> slice:
        return slice(self.prefix, self.context)

    @property
    def context_slice(self) -> slice:
        return slice(0, self.context)

    @property
    def candidate_slice(self) -> slice:
        return slice(self.context, self.n)

    def segments(self) -> list[tuple[str, slice]]:
        """The non-empty blocks in order, as (name, slice): what a figure labels."""
        blocks = [(self.prefix_name, self.prefix_slice), ("history", self.history_slice),
                  ("candidates", self.candidate_slice)]
        return [(name, s) for name, s in blocks if s.stop > s.start]

    def segment_of(self, i: int) -> str:
        """The name of the block position ``i`` (0 <= i < n) belongs to."""
        if not 0 <= i < self.n:
            raise ValueError(f"position {i} is outside the layout (n = {self.n})")
        return next(name for name, s in self.segments() if s.start <= i < s.stop)

    def labels(self) -> list[str]:
        """One short label per position: the block's initial and the index inside the block,
        e.g. ``p0 p1 h0 h1 h2 c0 c1``."""
        return [f"{name[0]}{i}" for name, s in self.segments() for i in range(s.stop - s.start)]


# ============================================================================ 2. masks (True = may attend)
def _check_size(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{name} must be an int >= 0, got {n!r}")
    return n


def _grid(n: int, device=None):
    """Query index i (column vector) and key index j (row vector), for masks written as i/j formulas."""
    idx = torch.arange(n, device=device)
    return idx[:, None], idx[None, :]


def causal(n: int, device=None):
    """Query i sees keys j <= i (decoder LMs, SASRec, HSTU's history)."""
    i, j = _grid(_check_size(n), device)
    return j <= i


def bidirectional(n: int, device=None):
    """Every query sees every key (BERT-style encoders, VISTA's S -> S block)."""
    return torch.ones(_check_size(n), _check_size(n), dtype=torch.bool, device=device)


def prefix_lm(n: int, prefix: int, device=None):
    """The first ``prefix`` positions see each other in full; later positions are causal and see the
    whole prefix (a prompt read bidirectionally, then generation)."""
    if not 0 <= _check_size(prefix, "prefix") <= _check_size(n):
        raise ValueError(f"prefix must be in [0, n={n}], got {prefix}")
    i, j = _grid(n, device)
    return (j <= i) | (j < prefix)


def block_causal(block_sizes: Iterable[int], device=None):
    """Blocks of the given sizes; a position sees every position of its own block and of earlier
    blocks (all tokens of one item, e.g. its semantic-ID codes, see each other)."""
    sizes = [_check_size(s, "block size") for s in block_sizes]
    block = torch.repeat_interleave(torch.arange(len(sizes), device=device),
                                    torch.tensor(sizes, dtype=torch.long, device=device))
    return block[None, :] <= block[:, None]


def sliding_window(n: int, window: int, causal: bool = True, device=None):
    """Local attention. ``causal=True``: query i sees the ``window`` keys i - window < j <= i (itself
    included); ``causal=False``: keys with |i - j| < window on both sides."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be an int >= 1, got {window!r}")
    i, j = _grid(_check_size(n), device)
    return ((i - j >= 0) & (i - j < window)) if causal else ((i - j).abs() < window)


HISTORY_MODES = ("causal", "bidirectional")


def candidate_isolated(layout: Layout, history: str = "causal", device=None):
    """Target-aware mask: candidates see the prefix, the history and themselves, never each other;
    prefix and history never see candidates.

    As blocks (S = prefix + history, T = candidates), the mask of VISTA §3.2 and HSTU's target mask:

        M = [[ M_SS      , 0   ],       M_SS = prefix_lm over S ("causal", HSTU; plain causal
             [ 1_{T x S} , I_T ]]              when there is no prefix) or all ones ("bidirectional", VISTA)
    """
    if history not in HISTORY_MODES:
        raise ValueError(f"history must be one of {HISTORY_MODES}, got {history!r}")
    s, c = layout.context, layout.candidates
    allowed = torch.zeros(layout.n, layout.n, dtype=torch.bool, device=device)
    allowed[:s, :s] = prefix_lm(s, layout.prefix, device) if history == "causal" else bidirectional(s, device)
    allowed[s:, :s] = True  # T -> S: every candidate reads the whole context
    allowed[s:, s:] = torch.eye(c, dtype=torch.bool, device=device)  # T -> T: itself only
    return allowed


# ---- the registry: one signature, builder(layout, **options), for pages that list masks --------------
def _mask_causal(layout: Layout):
    """Causal: position i sees positions j <= i."""
    return causal(layout.n)


def _mask_bidirectional(layout: Layout):
    """Bidirectional: every position sees every position."""
    return bidirectional(layout.n)


def _mask_prefix_lm(layout: Layout):
    """Prefix LM: the prefix sees itself in full, the rest is causal."""
    return prefix_lm(layout.n, layout.prefix)


def _mask_block_causal(layout: Layout, block_size: int | None = None):
    """Block-causal: a block sees itself and earlier blocks.

    Blocks are the layout's segments, or ``block_size`` tokens each (the last may be shorter)."""
    if block_size is None:
        sizes = [s.stop - s.start for _, s in layout.segments()]
    else:
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"block_size must be an int >= 1 or None, got {block_size!r}")
        sizes = [min(block_size, layout.n - start) for start in range(0, layout.n, block_size)]
    return block_causal(sizes)


def _mask_sliding_window(layout: Layout, window: int = 3, causal: bool = True):
    """Sliding window: each position sees the last ``window`` positions (both sides if not causal)."""
    return sliding_window(layout.n, window, causal=causal)


def _mask_candidate_isolated(layout: Layout, history: str = "causal"):
    """Candidate-isolated (target-aware): candidates see the context and themselves, never each other."""
    return candidate_isolated(layout, history=history)


MASKS: dict[str, Callable] = {
    "causal": _mask_causal,
    "bidirectional": _mask_bidirectional,
    "prefix_lm": _mask_prefix_lm,
    "block_causal": _mask_block_causal,
    "sliding_window": _mask_sliding_window,
    "candidate_isolated": _mask_candidate_isolated,
}
"""name -> ``builder(layout, **options)`` returning an (n, n) bool mask (True = may attend).
A builder's docstring is its caption; `mask_options` lists its options."""


def build_mask(name: str, layout: Layout, **options):
    """The mask ``name`` of `MASKS` for ``layout``: ``build_mask("sliding_window", lay, window=4)``."""
    if name not in MASKS:
        raise ValueError(f"unknown mask {name!r}; choose one of: {', '.join(MASKS)}")
    unknown = set(options) - set(mask_options(name))
    if unknown:
        raise ValueError(f"mask {name!r} has no option(s) {sorted(unknown)}; options: {mask_options(name)}")
    return MASKS[name](layout, **options)


def mask_options(name: str) -> dict:
    """The options of mask ``name`` with their defaults, e.g. ``{"window": 3, "causal": True}``."""
    if name not in MASKS:
        raise ValueError(f"unknown mask {name!r}; choose one of: {', '.join(MASKS)}")
    params = list(inspect.signature(MASKS[name]).parameters.values())[1:]
    return {p.name: p.default for p in params}


# ---- conversions ----------------------------------------------------------------------------------
def _check_bool(mask, what: str = "mask"):
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise ValueError(f"{what} must be a bool tensor (True = may attend), got "
                         f"{getattr(mask, 'dtype', type(mask).__name__)}")
    return mask


def to_blocked(allowed):
    """True = may attend -> True = blocked (``nn.MultiheadAttention``'s bool ``attn_mask``, the
    default of ``viz.attention_mask_figure``)."""
    return ~_check_bool(allowed)


def from_blocked(blocked):
    """True = blocked -> True = may attend."""
    return ~_check_bool(blocked, "blocked mask")


def to_additive(allowed, dtype=None):
    """True = may attend -> a float mask added to the scores: 0 where allowed, -inf where blocked."""
    allowed = _check_bool(allowed)
    zeros = torch.zeros(allowed.shape, dtype=dtype or torch.get_default_dtype(), device=allowed.device)
    return zeros.masked_fill(~allowed, -math.inf)


# ---- checks shared by the attention functions ------------------------------------------------------
def _check_qkv(q, k, v, same_length: bool = False):
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor) or t.ndim < 2:
            raise ValueError(f"{name} must be a tensor of shape (..., N, d), got "
                             f"{tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__}")
    if not q.shape[:-2] == k.shape[:-2] == v.shape[:-2]:
        raise ValueError(f"q, k, v need the same leading (batch, head) dims, got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k need the same width d, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v need the same length N, got {k.shape[-2]} and {v.shape[-2]}")
    if same_length and q.shape[-2] != k.shape[-2]:
        raise ValueError(f"this attention needs q and k of the same length, got {q.shape[-2]} and {k.shape[-2]}")


def _check_attn_mask(mask, q, k):
    if mask is None:
        return None
    _check_bool(mask)
    want = (q.shape[-2], k.shape[-2])
    if mask.ndim < 2 or tuple(mask.shape[-2:]) != want:
        raise ValueError(f"mask must be (..., {want[0]}, {want[1]}) for these q, k, got {tuple(mask.shape)}")
    scores = tuple(q.shape[:-1]) + (k.shape[-2],)
    try:
        fits = tuple(torch.broadcast_shapes(mask.shape, scores)) == scores
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"mask {tuple(mask.shape)} does not broadcast to the scores {scores}")
    return mask


# ============================================================================ 3. softmax attention
def softmax_attention(q, k, v, mask=None, scale: float | None = None):
    """O = softmax(Q K^T * scale, masked) V, with scale = 1/sqrt(d) by default.

    Cost O(N^2 d): the N_q x N_k score matrix is built (``F.scaled_dot_product_attention``).
    A query whose mask row allows no key gets a zero output (not NaN).
    """
    _check_qkv(q, k, v)
    mask = _check_attn_mask(mask, q, k)
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    has_key = mask.any(-1, keepdim=True)  # (..., N_q, 1)
    # an empty row would be softmax over all -inf = NaN: let it see everything, then zero its output
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask | ~has_key, scale=scale)
    return out * has_key


# ============================================================================ 4. linear attention
def elu_plus_one(x):
    """phi(x) = elu(x) + 1 > 0: Katharopoulos et al.'s feature map."""
    return F.elu(x) + 1


def _check_chunk(chunk_size) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
    return chunk_size


def linear_attention(q, k, v, causal: bool = False, eps: float = 1e-6, chunk_size: int = 1024):
    """Katharopoulos et al.'s linear attention, phi = elu + 1, with its normaliser:

        O_i = phi(Q_i)^T (sum_j phi(K_j) V_j^T) / (phi(Q_i)^T sum_j phi(K_j) + eps)

    ``causal=True`` sums over j <= i: the RNN form S_i = S_{i-1} + phi(K_i) V_i^T,
    z_i = z_{i-1} + phi(K_i), computed as cumulative sums chunk by chunk (``chunk_size`` rows at a
    time), so memory is O(chunk d d_v) and time O(N d d_v); no N x N matrix.
    """
    _check_qkv(q, k, v, same_length=causal)
    _check_chunk(chunk_size)
    fq, fk = elu_plus_one(q), elu_plus_one(k)
    if not causal:
        state = fk.transpose(-2, -1) @ v  # (..., d, d_v) = sum_j phi(K_j) V_j^T
        z = fk.sum(-2, keepdim=True)  # (..., 1, d)   = sum_j phi(K_j)
        return (fq @ state) / ((fq * z).sum(-1, keepdim=True) + eps)
    state = fk.new_zeros(fk.shape[:-2] + (fk.shape[-1], v.shape[-1]))  # S_0
    z = fk.new_zeros(fk.shape[:-2] + (1, fk.shape[-1]))  # z_0
    out = []
    for qc, kc, vc in zip(fq.split(chunk_size, -2), fk.split(chunk_size, -2), v.split(chunk_size, -2)):
        s = state.unsqueeze(-3) + torch.cumsum(kc.unsqueeze(-1) * vc.unsqueeze(-2), dim=-3)  # (..., c, d, d_v): S_i
        zc = z + torch.cumsum(kc, dim=-2)  # (..., c, d): z_i
        num = (qc.unsqueeze(-2) @ s).squeeze(-2)  # (..., c, d_v): phi(Q_i)^T S_i
        out.append(num / ((qc * zc).sum(-1, keepdim=True) + eps))
        state, z = s[..., -1, :, :], zc[..., -1:, :]
    return torch.cat(out, dim=-2)


# ============================================================================ 5. HSTU pointwise attention
def hstu_attention(q, k, v, mask=None, n: float | None = None, rab=None):
    """HSTU's attention (eq. 2), as the reference code computes it: no softmax,

        A = silu(Q K^T + rab) / n  (elementwise, times the mask),    O = A V

    ``n``: the normaliser, the (padded) sequence length (default: the number of keys); ``rab``: an
    optional relative attention bias broadcastable to the scores. Weights are not normalised per
    row, so the output keeps track of how *many* events matched. Cost O(N^2 d).
    """
    _check_qkv(q, k, v)
    mask = _check_attn_mask(mask, q, k)
    n = k.shape[-2] if n is None else n
    if isinstance(n, bool) or not isinstance(n, (int, float)) or not n > 0:
        raise ValueError(f"n must be a positive number, got {n!r}")
    scores = q @ k.transpose(-2, -1)
    if rab is not None:
        scores = scores + rab
    weights = F.silu(scores) / n
    if mask is not None:
        weights = weights * mask
    return weights @ v


# ============================================================================ 6. VISTA quasi-linear attention
def silu(x):
    """phi(x) = x sigmoid(x): VISTA's default for both phi_1 and phi_2."""
    return F.silu(x)


def identity(x):
    """phi(x) = x: the plain form O[S] = Q[S] K[S]^T V[S]."""
    return x


def shifted_elu(x):
    """phi(x) = x if x >= 1 else exp(x - 1): the shifted ELU of VISTA's appendix (continuous at 1)."""
    return torch.where(x >= 1, x, torch.exp(torch.clamp(x, max=1.0) - 1))


PHI: dict[str, Callable] = {"silu": silu, "identity": identity, "shifted_elu": shifted_elu,
                            "elu_plus_one": elu_plus_one}
"""Feature maps by name, for phi_1 / phi_2 (a callable is accepted too)."""


def _phi(phi) -> Callable:
    if callable(phi):
        return phi
    if phi not in PHI:
        raise ValueError(f"unknown feature map {phi!r}; choose one of: {', '.join(PHI)}, or pass a callable")
    return PHI[phi]


def qla_state(k_chunks, v_chunks, phi1="silu"):
    """The S summary of quasi-linear attention, sum_j phi_1(K_j)^T V_j, accumulated chunk by chunk.

    ``k_chunks``, ``v_chunks``: matching iterables of (..., n_i, d) and (..., n_i, d_v) tensors
    (a generator reading a long history from disk works), or two single tensors. Returns the
    (..., d, d_v) state; memory stays O(d d_v) plus one chunk, however long the history.
    """
    if isinstance(k_chunks, torch.Tensor) or isinstance(v_chunks, torch.Tensor):
        k_chunks, v_chunks = [k_chunks], [v_chunks]
    f1, state, n_chunks = _phi(phi1), None, 0
    for kc, vc in itertools.zip_longest(k_chunks, v_chunks):
        if kc is None or vc is None:
            raise ValueError(f"k_chunks and v_chunks have different numbers of chunks (after {n_chunks})")
        _check_qkv(kc, kc, vc)
        part = f1(kc).transpose(-2, -1) @ vc  # (..., d, d_v)
        if state is not None and part.shape != state.shape:
            raise ValueError(f"chunk {n_chunks} gives a state of shape {tuple(part.shape)}, "
                             f"earlier chunks {tuple(state.shape)}")
        state = part if state is None else state + part
        n_chunks += 1
    if state is None:
        raise ValueError("qla_state needs at least one chunk")
    return state


def qla_readout(q, state, k=None, v=None, phi1="silu", phi2="silu"):
    """Queries read the S summary: O = phi_1(Q) phi_2(state), plus, when the queries are candidates
    (``k``, ``v`` given: their own keys and values), the diagonal term Delta(phi_1(Q), phi_1(K)) V,
    i.e. each candidate's dot product with its own key times its own value, and nothing from any
    other candidate. Cost O(C d d_v) for C queries, whatever the length of the history."""
    f1, f2 = _phi(phi1), _phi(phi2)
    if not isinstance(state, torch.Tensor) or state.ndim < 2 or not isinstance(q, torch.Tensor) \
            or q.ndim < 2 or state.shape[-2] != q.shape[-1]:
        raise ValueError(f"q must be (..., C, d) and state (..., d, d_v) with the same d, got "
                         f"{tuple(getattr(q, 'shape', ()))} and {tuple(getattr(state, 'shape', ()))}")
    fq = f1(q)
    out = fq @ f2(state)  # (..., C, d_v)
    if k is None and v is None:
        return out
    if k is None or v is None:
        raise ValueError("give both k and v (the candidates' own keys and values) or neither")
    _check_qkv(q, k, v, same_length=True)
    delta = (fq * f1(k)).sum(-1, keepdim=True)  # (..., C, 1): the diagonal of Delta
    return out + delta * v


def quasi_linear_attention(q, k, v, n_candidates: int, phi1="silu", phi2="silu", chunk_size: int = 4096):
    """VISTA's quasi-linear attention (Appendix B). Rows split into S (the first N - C: seeds and
    history) and T (the last C = ``n_candidates``: candidates):

        O[S] = phi_1(Q[S]) phi_2(phi_1(K[S])^T V[S])
        O[T] = phi_1(Q[T]) phi_2(phi_1(K[S])^T V[S]) + Delta(phi_1(Q[T]), phi_1(K[T])) V[T]

    with Delta(X, Y) = diag((X * Y) 1). The d x d_v state phi_1(K[S])^T V[S] is built once
    (`qla_state`, ``chunk_size`` rows at a time) and shared by every query, so the cost is
    O(N d d_v) and nothing N x N is ever formed. S never reads T, and a candidate reads S and
    itself only: the mask ``candidate_isolated(layout, "bidirectional")``, without its cost.
    There is no row normaliser (unlike `linear_attention`); phi_2 acts on the state.

    ``phi1``, ``phi2``: names in `PHI` ("silu", "identity", "shifted_elu", "elu_plus_one") or callables.
    """
    _check_qkv(q, k, v, same_length=True)
    _check_chunk(chunk_size)
    n = q.shape[-2]
    if isinstance(n_candidates, bool) or not isinstance(n_candidates, int) or not 0 <= n_candidates <= n:
        raise ValueError(f"n_candidates must be an int in [0, N={n}], got {n_candidates!r}")
    s = n - n_candidates
    f1, f2 = _phi(phi1), _phi(phi2)
    if s > 0:
        state = qla_state(k[..., :s, :].split(chunk_size, -2), v[..., :s, :].split(chunk_size, -2), phi1=f1)
    else:  # no context: the empty sum
        state = k.new_zeros(k.shape[:-2] + (k.shape[-1], v.shape[-1]))
    out_s = qla_readout(q[..., :s, :], state, phi1=f1, phi2=f2)
    out_t = qla_readout(q[..., s:, :], state, k[..., s:, :], v[..., s:, :], phi1=f1, phi2=f2)
    return torch.cat([out_s, out_t], dim=-2)


# ============================================================================ 7. brute-force references
# Each follows its definition literally (loops over positions, or the dense N x N matrix); the
# tests check the fast functions against them in float64. Do not use them on long sequences.
def reference_softmax_attention(q, k, v, mask=None, scale: float | None = None):
    """Loop over queries: w_j = exp(s_j - max s) / sum over allowed keys, o_i = sum_j w_j v_j."""
    _check_qkv(q, k, v)
    mask = _check_attn_mask(mask, q, k)
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    out = torch.zeros(q.shape[:-1] + (v.shape[-1],), dtype=v.dtype)
    allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool) if mask is None else mask
    allowed = allowed.expand(q.shape[:-1] + (k.shape[-2],))
    for i in range(q.shape[-2]):
        scores = (q[..., i:i + 1, :] * k).sum(-1) * scale  # (..., N_k)
        scores = scores.masked_fill(~allowed[..., i, :], -math.inf)
        top = scores.max(-1, keepdim=True).values
        w = torch.exp(scores - top.nan_to_num(neginf=0.0))  # exp(-inf) = 0 for blocked keys
        total = w.sum(-1, keepdim=True)
        w = torch.where(total > 0, w / total.clamp_min(1e-300), torch.zeros_like(w))  # empty row: 0
        out[..., i, :] = (w.unsqueeze(-1) * v).sum(-2)
    return out


def reference_linear_attention(q, k, v, causal: bool = False, eps: float = 1e-6):
    """The dense form: A = phi(Q) phi(K)^T (times the causal mask), O = A V / (A 1 + eps)."""
    _check_qkv(q, k, v, same_length=causal)
    a = elu_plus_one(q) @ elu_plus_one(k).transpose(-2, -1)  # (..., N_q, N_k)
    if causal:  # keep j <= i
        a = torch.tril(a)
    return (a @ v) / (a.sum(-1, keepdim=True) + eps)


def reference_hstu_attention(q, k, v, mask=None, n: float | None = None, rab=None):
    """Double loop over (query i, key j): o_i += silu(q_i . k_j + rab_ij) / n * m_ij * v_j."""
    _check_qkv(q, k, v)
    mask = _check_attn_mask(mask, q, k)
    n = k.shape[-2] if n is None else n
    shape = q.shape[:-1] + (k.shape[-2],)
    m = torch.ones(shape, dtype=torch.bool) if mask is None else mask.expand(shape)
    r = torch.zeros(shape, dtype=q.dtype) if rab is None else torch.as_tensor(rab).expand(shape)
    out = torch.zeros(q.shape[:-1] + (v.shape[-1],), dtype=v.dtype)
    for i in range(q.shape[-2]):
        for j in range(k.shape[-2]):
            a = F.silu((q[..., i, :] * k[..., j, :]).sum(-1) + r[..., i, j]) / n * m[..., i, j]  # (...)
            out[..., i, :] += a.unsqueeze(-1) * v[..., j, :]
    return out


def reference_quasi_linear_attention(q, k, v, n_candidates: int, phi1="silu", phi2="silu"):
    """The appendix's equations with explicit loops: the state as a sum of outer products over S,
    then every query row by row, the candidate rows adding their own (key . query) v term."""
    _check_qkv(q, k, v, same_length=True)
    f1, f2 = _phi(phi1), _phi(phi2)
    n = q.shape[-2]
    s = n - n_candidates
    state = torch.zeros(k.shape[:-2] + (k.shape[-1], v.shape[-1]), dtype=v.dtype)
    for j in range(s):  # phi_1(K[S])^T V[S] = sum_j phi_1(k_j) v_j^T
        state += f1(k[..., j, :]).unsqueeze(-1) * v[..., j, :].unsqueeze(-2)
    z = f2(state)
    out = torch.zeros(q.shape[:-1] + (v.shape[-1],), dtype=v.dtype)
    for i in range(n):
        fq = f1(q[..., i, :])
        out[..., i, :] = (fq.unsqueeze(-1) * z).sum(-2)  # phi_1(q_i)^T Z
        if i >= s:  # a candidate: + (phi_1(q_i) . phi_1(k_i)) v_i, its own key only
            out[..., i, :] += (fq * f1(k[..., i, :])).sum(-1, keepdim=True) * v[..., i, :]
    return out


# ============================================================================ 8. analytic costs
@dataclass(frozen=True)
class Cost:
    """Analytic cost of one attention call per (batch, head).

    flops: 2 per multiply-add in the matrix products, plus the row-wise dot products of the
    normaliser / Delta (2 per multiply-add) and the per-row scalings (1 per multiply); activations,
    exp and the additions of partial outputs are not counted. intermediate: elements of the
    largest tensor built besides the inputs and the output (N^2 for dense attention)."""

    flops: int
    intermediate: int


ATTENTIONS = ("softmax", "linear", "hstu", "quasi_linear")


def attention_cost(name: str, n: int, d: int, n_candidates: int = 0, d_v: int | None = None,
                   causal: bool = False, chunk_size: int = 1024) -> Cost:
    """FLOPs and the largest intermediate of attention ``name`` on N = ``n`` positions (of which
    C = ``n_candidates`` are candidates, used by quasi-linear attention), width d (d_v for values)."""
    if name not in ATTENTIONS:
        raise ValueError(f"unknown attention {name!r}; choose one of: {', '.join(ATTENTIONS)}")
    n, d = _check_size(n), _check_size(d, "d")
    d_v = d if d_v is None else _check_size(d_v, "d_v")
    if not 0 <= _check_size(n_candidates, "n_candidates") <= n:
        raise ValueError(f"n_candidates must be in [0, n={n}], got {n_candidates}")
    if name in ("softmax", "hstu"):  # Q K^T and A V
        return Cost(flops=2 * n * n * d + 2 * n * n * d_v, intermediate=n * n)
    if name == "linear":
        # state phi(K)^T V and numerator phi(Q) state: 2 N d d_v each; denominator phi(Q_i) . z: 2 N d;
        # division: N d_v
        inter = d * d_v if not causal else min(n, _check_chunk(chunk_size)) * d * d_v
        return Cost(flops=4 * n * d * d_v + 2 * n * d + n * d_v, intermediate=inter)
    s, c = n - n_candidates, n_candidates
    # state over S: 2 S d d_v; read-out of every query: 2 N d d_v; Delta's dot products: 2 C d;
    # Delta times V[T]: C d_v
    return Cost(flops=2 * s * d * d_v + 2 * n * d * d_v + 2 * c * d + c * d_v, intermediate=d * d_v)


# ============================================================================ 9. blocked-form helpers
# nn.MultiheadAttention (SASRec) takes a bool attn_mask with True = *blocked*; these return that form.
def causal_mask(length: int, device=None):
    """(L, L), True = blocked: query i may not attend to keys j > i. ``to_blocked(causal(L))``."""
    return to_blocked(causal(length, device))


def causal_padding_mask(tokens, pad: int = 0):
    """(B, L, L), True = blocked: causal, and padding keys blocked too; every query keeps itself, so
    no row is empty (an all-blocked row would give NaN in softmax attention)."""
    b, length = tokens.shape
    blocked = causal_mask(length, tokens.device).unsqueeze(0) | (tokens == pad).unsqueeze(1)
    return blocked & ~torch.eye(length, dtype=torch.bool, device=tokens.device).unsqueeze(0)
