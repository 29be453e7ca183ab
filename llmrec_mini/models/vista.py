"""VISTA: virtual sequential target attention (Chen et al., Meta, arXiv 2510.22049, ICLR 2026).

Target attention (DIN, HSTU) lets every candidate read the user's whole history: C candidates times
N events, O(C N d) per request, which is what keeps industrial histories short. VISTA splits the
work in two so that serving cost no longer depends on N:

**Stage 1: summarise the history (offline, once per user and refresh).** ``k`` learnable *virtual
seeds* s_1..s_k, shared by all users, are placed before the history u_1..u_N and the sequence goes
through quasi-linear attention (QLA, `llmrec_mini.attention`, the paper's Appendix B), with
S = [seeds, history] and no candidates. The outputs at the seed positions are the user's
*summaries* (k x d)::

    Z      = phi_1(K[S])^T V[S]                       (a d x d state: O(N d^2), nothing N x N)
    O[s_i] = phi_1(Q[s_i]) phi_2(Z)                   phi_1 = phi_2 = SiLU
    summaries = LN(x + FFN(x)),  x = LN(s + W_o O[seeds])

Because a seed reads the history only through Z, a history can be summarised as a *stream*:
Z is a sum over events, accumulated chunk by chunk (`attention.qla_state`) in O(d^2) memory,
however long the history (`VISTA.summarize_stream`).

**Stage 2: candidates attend to the summaries (online).** Each catalog item e_c attends to the k
cached summaries with ordinary softmax attention and is scored against its own embedding::

    e'_c = LN(e_c),   o_c = softmax(W_q e'_c (W_k S)^T / sqrt(d_h)) W_v S,   r_c = (W_o o_c) . e'_c + b_c

No candidate reads another (candidate isolation: logged candidates are a subset of those served),
and the cost is O(C k d), independent of N (`attention.attention_cost`; tests count FLOPs).

**Training.** Next-item cross-entropy over the whole catalog plus the paper's *generative
reconstruction loss*: a small causal decoder (no softmax head) reads [s_1..s_k, u_1..u_M] (the
summaries, then the last M = ``recon_len`` history events) and outputs v_1..v_M;
L_rec = mean_i ||v_i - u_{i+1}||^2, weight ``recon_weight`` = 1.0 as in the paper. It makes the
summaries keep what the history was, not only what the next-item loss needs.

A training example is one user (`HistoryRecommender`): every batch draws ``targets_per_user``
target positions in the user's sequence, and the decayed states at all of them come from *one*
pass over the history (`history_states`: per-chunk sums, a scan over chunk starts, and the few
events between a chunk start and each target), so a target costs O(d^2) on top of the pass, not
another read of its whole history.

**Summary cache.** Summaries are what gets stored (the paper: quantised, in a key-value store
refreshed every 2 hours). `SummaryCache` keeps user -> summaries, optionally int8 with one scale per
row, counts hits and misses, and tracks staleness: the number of events a user has had since the
summaries were computed. ``recommend(..., users=...)`` reads it; a user whose staleness exceeds
``cache_max_staleness`` (0 by default: any new event) is summarised again. Training clears it.

Deviations from the paper (at this scale, on a CPU)
---------------------------------------------------
* **Recency.** The paper's QLA equations have no positions. Here each QLA head h has a decay
  gamma_h (``decays``, default 0.01, 0.5, 0.95, 1.0): event j of N weighs gamma_h^(N-1-j), so one
  head sees the last event, others the last few, the last ~20 and the whole history. A decayed sum stays a sum, so
  streaming is exact: Z <- gamma^n Z + (the new chunk's terms).
* **Normalised state.** The history part of each head's state is divided by the sum of its
  weights (a weighted mean of phi_1(k_j) v_j^T; the seeds' part is their mean). The paper has no
  normaliser; an un-normalised sum grows with N, so a model trained on 1,000-event histories would
  see a 1M-event state ~1,000 times larger than any it was trained on. With every decay 1 and the
  normaliser removed, this is exactly the paper's O[S] at the seed positions.
* **One QLA layer.** The paper uses 1 layer on Amazon and 2 on its production data. With one layer
  the seed outputs need only the accumulated state, so streaming takes one pass; a second QLA layer
  would need the first layer's outputs at every history position, i.e. a second pass over the
  stream after the first state is complete (not implemented). The seeds' feed-forward block touches
  only the k seed rows.
* **Training windows are capped**: a user's window starts ``max_train_history`` events before its
  first drawn target (cost); every target reads the whole window before it, and at inference the
  whole history is summarised (``max_history=None``). The decayed, normalised state makes the two
  comparable. Targets: ``targets_per_user`` positions per user, drawn afresh for every batch
  (seeded) among the last ``target_window`` positions of the training sequence (None: all).
* **Candidates are layer-normalised** before they query the summaries and meet the output (LN(e_c)
  above): with raw, small-initialised embeddings both the attention and the score start near zero
  and training crawls.
* **Reconstruction targets** u_{i+1} are detached (stop-gradient), so the MSE cannot shrink the
  embedding table towards zero; the paper does not say. The decoder reads the last ``recon_len``
  events, not the whole history.
* k = 16 seeds by default (paper: 128), d = 64; one seed feed-forward block after the QLA layer.

The full target-attention baseline (each candidate attends over the whole history) is
`llmrec_mini.models.target_attention.TargetAttention`; it shares this file's training examples
(`HistoryRecommender`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

import numpy as np

from .. import attention as A
from ..config import Settings
from ..data.sequences import PAD, pad_left
from .base import CheckpointError, TorchRecommender

SCAN_CHUNK = 32  # events per chunk of the training-time scan (`history_states`)


# ============================================================================ settings
@dataclass
class HistoryConfig(Settings):
    """Settings shared by the long-history models (VISTA and the target-attention baseline)."""

    d_model: int = 64
    n_heads: int = 2  # softmax heads where candidates attend (to summaries, or to the history)
    dropout: float = 0.1
    max_train_history: int = 1024  # a user's training window starts this many events before its first target
    targets_per_user: int = 32  # training targets per user, drawn afresh for every batch (seeded)
    target_window: int | None = None  # draw them among the last this many positions (None: anywhere)
    max_history: int | None = None  # events read at inference (None: the whole history)
    eval_batch_size: int = 64  # users scored at once
    # pick the best epoch on validation users (False: keep the last epoch; on synthetic-long the validation
    # target is the cue before the held-out return, which no model predicts, so selecting on it picks noise)
    validate: bool = True
    # DIN-style side feature: an item is its id embedding plus its leaf category's embedding (from the catalog)
    use_category: bool = True

    def check(self) -> None:
        for name in ("d_model", "n_heads", "max_train_history", "targets_per_user", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("target_window", "max_history"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 (or None), got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass
class VISTAConfig(HistoryConfig):
    n_seeds: int = 16  # k virtual seeds = summaries per user (paper: 128)
    decays: tuple[float, ...] = (0.01, 0.5, 0.95, 1.0)  # one QLA head per decay, each in (0, 1]
    head_dim: int = 32  # width of each QLA head (its state is head_dim x head_dim)
    phi1: Literal["silu", "identity", "shifted_elu", "elu_plus_one"] = "silu"
    phi2: Literal["silu", "identity", "shifted_elu", "elu_plus_one"] = "silu"
    recon_weight: float = 1.0  # weight of the reconstruction loss (paper: 1.0; 0 switches it off)
    recon_len: int = 32  # history events the reconstruction decoder reads (M)
    stream_chunk: int = 16_384  # events summarised at once when streaming (bounds the activations)
    cache: bool = True  # keep user summaries between recommend() calls that pass users
    cache_quantize: Literal["none", "int8"] = "int8"  # how cached summaries are stored
    cache_max_staleness: int = 0  # serve cached summaries at most this many events old

    def check(self) -> None:
        super().check()
        for name in ("n_seeds", "head_dim", "recon_len", "stream_chunk"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.decays:
            raise ValueError("decays must list at least one decay (one QLA head each)")
        for g in self.decays:
            if not 0 < g <= 1:
                raise ValueError(f"every decay must be in (0, 1], got {g}")
        if self.recon_weight < 0:
            raise ValueError(f"recon_weight must be >= 0, got {self.recon_weight}")
        if self.cache_max_staleness < 0:
            raise ValueError(f"cache_max_staleness must be >= 0, got {self.cache_max_staleness}")


# ============================================================================ the summary cache
class SummaryCache:
    """user -> summaries (k x d), as a key-value store would hold them.

    * ``quantize="int8"``: each row x is stored as round(x / s) in int8 with s = max|x| / 127 (one
      float scale per row): 4x smaller, error at most s / 2 per element.
    * Staleness: `observe` (or a lookup with the user's current history length) records how many
      events a user has; ``staleness(user)`` is the number of events since the summaries were
      computed. `lookup` serves an entry only while staleness <= ``max_staleness``.
    * ``hits`` / ``misses`` count lookups; `refresh` recomputes given users now (``summarize``:
      histories -> (B, k, d) array, attached by the model); `invalidate` drops entries.

    It stores summaries only, never histories (those live in the event log).
    """

    def __init__(self, quantize: str = "int8", max_staleness: int = 0, summarize=None):
        if quantize not in ("none", "int8"):
            raise ValueError(f"quantize must be 'none' or 'int8', got {quantize!r}")
        if isinstance(max_staleness, bool) or not isinstance(max_staleness, (int, np.integer)) or max_staleness < 0:
            raise ValueError(f"max_staleness must be an integer >= 0, got {max_staleness!r}")
        self.quantize, self.max_staleness, self.summarize = quantize, int(max_staleness), summarize
        self.data: dict[int, np.ndarray] = {}  # user -> (k, d) float32 or int8
        self.scales: dict[int, np.ndarray] = {}  # user -> (k,) float32 (int8 only)
        self.at: dict[int, int] = {}  # user -> events summarised
        self.events: dict[int, int] = {}  # user -> latest known number of events
        self.hits = self.misses = self.refreshes = 0

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, user) -> bool:
        return int(user) in self.data

    # ---- storing
    @staticmethod
    def quantize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """int8 codes and per-row scales of a (k, d) float array."""
        x = np.asarray(x, dtype=np.float32)
        scale = np.abs(x).max(-1) / 127.0
        scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
        return np.clip(np.rint(x / scale[:, None]), -127, 127).astype(np.int8), scale

    def put(self, user: int, summaries: np.ndarray, n_events: int) -> None:
        user, summaries = int(user), np.asarray(summaries, dtype=np.float32)
        if summaries.ndim != 2:
            raise ValueError(f"summaries must be (k, d), got shape {summaries.shape}")
        if self.quantize == "int8":
            self.data[user], self.scales[user] = self.quantize_rows(summaries)
        else:
            self.data[user] = summaries.copy()
        self.at[user] = int(n_events)
        self.events[user] = max(int(n_events), self.events.get(user, 0))

    def get(self, user: int) -> np.ndarray | None:
        """The stored summaries (dequantised, float32), or None; no counting, no staleness check."""
        user = int(user)
        if user not in self.data:
            return None
        if self.quantize == "int8":
            return self.data[user].astype(np.float32) * self.scales[user][:, None]
        return self.data[user].copy()

    # ---- staleness
    def observe(self, user: int, n_events: int) -> None:
        """The user now has ``n_events`` events (e.g. from the event log)."""
        user = int(user)
        self.events[user] = max(int(n_events), self.events.get(user, 0))

    def staleness(self, user: int) -> int | None:
        """Events since the user's summaries were computed (None: not cached)."""
        user = int(user)
        return None if user not in self.at else self.events.get(user, self.at[user]) - self.at[user]

    def lookup(self, user: int, n_events: int | None = None) -> np.ndarray | None:
        """Summaries to serve, or None (a miss: absent, or staler than ``max_staleness``)."""
        if n_events is not None:
            self.observe(user, n_events)
        stale = self.staleness(user)
        if stale is None or stale > self.max_staleness:
            self.misses += 1
            return None
        self.hits += 1
        return self.get(user)

    def refresh(self, users, histories) -> None:
        """Summarise these users' current histories now (needs ``summarize``)."""
        if self.summarize is None:
            raise RuntimeError("this SummaryCache has no summarize function; the model attaches one")
        users = [int(u) for u in np.asarray(users).reshape(-1)]
        if len(users) != len(histories):
            raise ValueError(f"got {len(users)} users for {len(histories)} histories")
        if not users:
            return
        for u, h, s in zip(users, histories, np.asarray(self.summarize(histories))):
            self.put(u, s, len(h))
        self.refreshes += len(users)

    def invalidate(self, users=None) -> None:
        """Drop the given users' entries (None: all of them, e.g. after the weights changed)."""
        users = list(self.data) if users is None else [int(u) for u in np.asarray(users).reshape(-1)]
        for u in users:
            for table in (self.data, self.scales, self.at):
                table.pop(u, None)

    def stats(self) -> dict:
        stale = [self.staleness(u) for u in self.data]
        size = sum(a.nbytes for a in self.data.values()) + sum(s.nbytes for s in self.scales.values())
        return {"users": len(self), "hits": self.hits, "misses": self.misses, "refreshes": self.refreshes,
                "max_staleness_seen": max(stale, default=0), "bytes": int(size)}

    # ---- on disk
    def save(self, file) -> None:
        users = np.array(sorted(self.data), dtype=np.int64)
        data = np.stack([self.data[u] for u in users]) if len(users) else np.zeros((0, 0, 0), np.float32)
        scales = np.stack([self.scales[u] for u in users]) if len(users) and self.quantize == "int8" \
            else np.zeros((0, 0), np.float32)
        np.savez(file, users=users, data=data, scales=scales, at=np.array([self.at[u] for u in users], np.int64),
                 events=np.array([self.events.get(u, self.at[u]) for u in users], np.int64),
                 counts=np.array([self.hits, self.misses, self.refreshes], np.int64),
                 quantize=np.array(self.quantize))

    def load(self, file) -> None:
        with np.load(file, allow_pickle=False) as z:
            if str(z["quantize"]) != self.quantize:
                raise ValueError(f"the cache was saved with quantize={str(z['quantize'])!r}, "
                                 f"this one uses {self.quantize!r}")
            self.invalidate()
            for i, u in enumerate(z["users"].tolist()):
                self.data[u], self.at[u], self.events[u] = z["data"][i], int(z["at"][i]), int(z["events"][i])
                if self.quantize == "int8":
                    self.scales[u] = z["scales"][i]
            self.hits, self.misses, self.refreshes = (int(c) for c in z["counts"])


# ============================================================================ shared item features
def item_embedding(n_items: int, d: int, item_category: np.ndarray | None):
    """Token (item + 1, 0 = padding) -> e_item + e_category: DIN's item features (id and category).

    ``table()`` is every catalog item's embedding (C, d). Without categories it is a plain embedding."""
    import torch
    from torch import nn

    cats = torch.zeros(n_items + 1, dtype=torch.long)
    if item_category is not None:
        cats[1:] = torch.as_tensor(np.asarray(item_category, dtype=np.int64))

    class ItemEmbedding(nn.Module):
        def __init__(self):
            super().__init__()
            self.ids = nn.Embedding(n_items + 1, d, padding_idx=PAD)
            self.register_buffer("category", cats)  # persistent: a checkpoint keeps its items' categories
            self.categories = nn.Embedding(int(cats.max()) + 1, d, padding_idx=0)
            for table in (self.ids, self.categories):
                nn.init.normal_(table.weight, std=0.02)
                with torch.no_grad():
                    table.weight[0].zero_()

        def forward(self, tokens):
            return self.ids(tokens) + self.categories(self.category[tokens])

        def table(self):
            return self(torch.arange(1, n_items + 1, device=self.ids.weight.device))

    return ItemEmbedding()


# ============================================================================ shared training data
class HistoryRecommender(TorchRecommender):
    """What VISTA and the target-attention baseline share: training examples, batches, scoring loop.

    An example is one user's training sequence. Each time a batch is built, ``targets_per_user``
    target positions t_1 < ... < t_m are drawn (without replacement; a generator seeded by the
    training seed, so runs repeat) among the last ``target_window`` positions of the sequence
    (None: every position >= 1), so every epoch trains on fresh targets. The user's *window* is
    the events from ``max_train_history`` before t_1 up to t_m: target t_i reads the window's
    events before it (VISTA: all of them, one pass per user; the target-attention baseline:
    the last ``max_train_history``). Tokens are left-padded (token = item + 1, 0 = padding), so
    the most recent event is always the last column.
    """

    Config = HistoryConfig
    _rng = None
    item_category: np.ndarray | None = None  # item -> category id (`Catalog.category_ids`), set by prepare / load

    def prepare(self, split, catalog) -> None:
        self.item_category = catalog.category_ids() if self.config.use_category and catalog is not None else None

    def save_extra(self, path: Path) -> None:
        if self.item_category is not None:
            np.save(path / "item_category.npy", self.item_category)

    def load_extra(self, path: Path, catalog=None) -> None:
        file = path / "item_category.npy"
        try:
            self.item_category = np.load(file) if file.is_file() else None
        except (OSError, ValueError) as err:
            raise CheckpointError(f"{file} is not a readable category index ({err})") from None

    def examples(self, split):
        self._rng = np.random.default_rng(self.train_config.seed)
        return [(u, np.asarray(s, dtype=np.int64)) for u, s in enumerate(split.train) if len(s) >= 2]

    def example_lengths(self, examples) -> np.ndarray:
        return np.array([len(s) for _, s in examples])

    def draw_targets(self, examples) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per example: (window, offsets, targets), where target i is window-relative event
        ``offsets[i]`` (it reads ``window[:offsets[i]]``), offsets ascending, the last = len(window)."""
        c = self.config
        if self._rng is None:
            self._rng = np.random.default_rng(self.train_config.seed)
        out = []
        for _, s in examples:
            lo = 1 if c.target_window is None else max(1, len(s) - c.target_window)
            positions = np.arange(lo, len(s))
            if len(positions) > c.targets_per_user:
                positions = np.sort(self._rng.choice(positions, size=c.targets_per_user, replace=False))
            start = max(0, int(positions[0]) - c.max_train_history)
            out.append((s[start:positions[-1]], positions - start, s[positions]))
        return out

    def collate(self, examples):
        """tokens (B, L) left-padded windows; positions (B, m): targets' indices in the padded rows
        (a target reads the columns before it); targets (B, m) item indices, -1 = none (left padding)."""
        import torch

        drawn = self.draw_targets(examples)
        L = max(1, max(len(w) for w, _, _ in drawn))
        m = max(len(t) for _, _, t in drawn)
        tokens = pad_left([w for w, _, _ in drawn], L)
        positions = np.zeros((len(drawn), m), dtype=np.int64)
        targets = np.full((len(drawn), m), -1, dtype=np.int64)
        for b, (w, offsets, tg) in enumerate(drawn):
            positions[b] = L  # padded target slots repeat a real position; their target is -1
            positions[b, m - len(tg):] = offsets + (L - len(w))
            targets[b, m - len(tg):] = tg
        return torch.as_tensor(tokens), torch.as_tensor(positions), torch.as_tensor(targets)

    def loss(self, module, batch):
        tokens, positions, targets = batch
        return module(tokens, positions, targets)

    def tokens(self, histories, limit: int | None = None):
        """Left-padded (B, L) tokens of the last ``limit`` events (None: all), L >= 1."""
        import torch

        hist = [np.asarray(h)[-limit:] if limit else np.asarray(h) for h in histories]
        tokens = pad_left(hist, max(1, max((len(h) for h in hist), default=1)))
        return torch.as_tensor(tokens, device=self.device())

    def score(self, histories, users=None) -> np.ndarray:
        import torch

        self.check_fitted()
        bs, out = self.config.eval_batch_size, []
        with torch.no_grad():
            for s in range(0, len(histories), bs):
                out.append(self._score_batch(histories[s:s + bs], None if users is None else users[s:s + bs]))
        return np.concatenate(out) if out else np.zeros((0, self.n_items), dtype=np.float32)

    def _score_batch(self, histories, users) -> np.ndarray:
        raise NotImplementedError

    def validation_fn(self, split, metric: str = "ndcg@10"):
        return super().validation_fn(split, metric) if self.config.validate else None


# ============================================================================ the network
def _module(n_items: int, c: VISTAConfig, item_category=None):
    import torch
    import torch.nn.functional as F
    from torch import nn

    H, dh, d, k = len(c.decays), c.head_dim, c.d_model, c.n_seeds

    class FeedForward(nn.Sequential):
        def __init__(self):
            super().__init__(nn.Linear(d, 4 * d), nn.GELU(), nn.Dropout(c.dropout), nn.Linear(4 * d, d))

    class VISTAModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.items = item_embedding(n_items, d, item_category)  # token = item + 1
            self.item_bias = nn.Parameter(torch.zeros(n_items))
            # ---- stage 1: seeds + QLA (one head per decay)
            self.seeds = nn.Parameter(torch.randn(k, d) * 0.02)
            self.in_norm = nn.LayerNorm(d)
            self.kv = nn.Linear(d, 2 * H * dh)  # keys and values of seeds and history events
            self.q = nn.Linear(d, H * dh)  # queries of the seeds
            self.qla_out = nn.Linear(H * dh, d)
            self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.ffn = FeedForward()
            self.drop = nn.Dropout(c.dropout)
            self.register_buffer("log_decay", torch.log(torch.tensor(c.decays, dtype=torch.float64)),
                                 persistent=False)
            # ---- stage 2: candidates attend to the summaries
            self.cand_q, self.sum_kv = nn.Linear(d, d), nn.Linear(d, 2 * d)
            self.cand_out, self.cand_norm = nn.Linear(d, d), nn.LayerNorm(d)
            # ---- reconstruction decoder (training only)
            self.dec_pos = nn.Embedding(c.recon_len, d)
            self.dec_qkv, self.dec_o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.dec_norm1, self.dec_norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.dec_ffn, self.dec_out = FeedForward(), nn.Linear(d, d)

        # ------------------------------------------------------------ stage 1
        def keys_values(self, tokens):
            """(..., L) tokens -> keys and values (..., H, L, dh) of those events."""
            return self.keys_values_of(self.in_norm(self.items(tokens)))

        def keys_values_of(self, x):
            """(..., L, d) inputs -> keys and values (..., H, L, dh)."""
            kv = self.kv(x).unflatten(-1, (2, H, dh)).movedim(-2, -4)  # (..., H, L, 2, dh)
            return kv[..., 0, :], kv[..., 1, :]

        def powers(self, exponents):
            """gamma_h^e for integer exponents (...) -> (H, ...) float32 (computed in float64)."""
            e = exponents.to(torch.float64)
            return torch.exp(self.log_decay.view((H,) + (1,) * e.ndim) * e).float()

        def weight_sums(self, counts):
            """sum_{i<n} gamma_h^i for n = counts (...) -> (H, ...): n if gamma = 1, else (1 - gamma^n) / (1 - gamma)"""
            n = counts.to(torch.float64)
            g = torch.exp(self.log_decay).view((H,) + (1,) * n.ndim)
            geometric = (1 - g ** n) / (1 - g).clamp_min(1e-300)
            return torch.where(g == 1, n.expand_as(geometric), geometric).float()

        def history_states(self, tokens, positions=None):
            """The decayed history sums read by the seeds, for a left-padded batch (B, L).

            At each position p of ``positions`` (B, m) (default: p = L, after the last event):
            sums   sum_{j<p} gamma_h^(p-1-j) phi_1(k_j) v_j^T   (B, m, H, dh, dh)
            weights sum_{j<p} gamma_h^(p-1-j) over real events   (B, m, H, 1, 1)

            With positions, the sums come from one pass per row (chunks of ``SCAN_CHUNK`` events):
            each chunk's own sum T_q (`attention.qla_state`), the state at every chunk start
            S_q = sum_{r<q} gamma^(c (q-1-r)) T_r, and for a target inside chunk q, gamma^r S_q plus
            the r events of chunk q before it: O(L d_h^2 + m c d_h^2), not O(m L d_h^2).
            """
            B, L = tokens.shape
            keys, values = self.keys_values(tokens)  # (B, H, L, dh)
            real = tokens != PAD
            values = values * real[:, None, :, None]
            n_real = real.sum(1)  # left padding: the real events are the last n_real columns
            if positions is None:
                w = self.powers(torch.arange(L - 1, -1, -1, device=tokens.device))  # (H, L)
                sums = A.qla_state(keys, values * w[..., None], phi1=c.phi1)[:, None]  # (B, 1, H, dh, dh)
                counts = n_real[:, None]
            else:
                ch = SCAN_CHUNK
                extra = -L % ch  # pad on the left to whole chunks
                keys, values = (F.pad(t, (0, 0, extra, 0)) for t in (keys, values))
                nc, p = (L + extra) // ch, positions + extra
                kc, vc = (t.unflatten(-2, (nc, ch)) for t in (keys, values))  # (B, H, nc, ch, dh)
                tail = self.powers(torch.arange(ch - 1, -1, -1, device=tokens.device))  # (H, ch)
                chunk_sums = A.qla_state(kc, vc * tail[:, None, :, None], phi1=c.phi1)  # (B, H, nc, dh, dh)
                q_idx = torch.arange(nc, device=tokens.device)
                gap = q_idx[:, None] - 1 - q_idx[None, :]  # (nc, nc): q - 1 - r
                scan = torch.where(gap >= 0, self.powers(gap.clamp_min(0) * ch), 0.0)  # (H, nc, nc)
                starts = torch.einsum("hqr,bhrde->bhqde", scan, chunk_sums)  # state at each chunk start
                q = ((p - 1).clamp_min(0) // ch)  # (B, m): the chunk holding the events just before p
                r = p - q * ch  # events of chunk q before p, 0..ch
                m = p.shape[1]
                gather = q[:, None, :, None, None]
                kq = kc.gather(2, gather.expand(B, H, m, ch, dh))  # (B, H, m, ch, dh)
                vq = vc.gather(2, gather.expand(B, H, m, ch, dh))
                e = r[:, None, :, None] - 1 - torch.arange(ch, device=tokens.device)  # (B, 1, m, ch)
                w = torch.where(e >= 0, self.powers(e.clamp_min(0)).permute(1, 0, 2, 3, 4)[:, :, 0], 0.0)
                inside = A.qla_state(kq, vq * w[..., None], phi1=c.phi1)  # (B, H, m, dh, dh)
                before = starts.gather(2, gather.expand(B, H, m, dh, dh))
                sums = (self.powers(r).permute(1, 0, 2)[..., None, None] * before + inside).transpose(1, 2)
                counts = (p - (L + extra - n_real)[:, None]).clamp_min(0)  # real events before p
            weights = self.weight_sums(counts).movedim(0, -1)[..., None, None]  # (B, m, H, 1, 1)
            return sums, weights

        def seed_state(self):
            """The seeds' own part of S: mean_i phi_1(k_si) v_si^T (H, dh, dh)."""
            keys, values = self.keys_values_of(self.seeds)
            return A.qla_state(keys, values / k, phi1=c.phi1)

        def summaries_from(self, sums, weights):
            """Summaries (..., k, d) from the history's decayed sums (..., H, dh, dh) and weights (..., H, 1, 1):
            Z_h = (seeds' mean term) + sums_h / weights_h, O[seeds] = phi_1(Q_seeds) phi_2(Z), then LN, FFN, LN."""
            state = self.seed_state() + sums / weights.clamp_min(1e-30)  # empty history: sums = 0
            q = self.q(self.seeds).view(k, H, dh).transpose(0, 1)  # (H, k, dh)
            read = A.qla_readout(q, state, phi1=c.phi1, phi2=c.phi2)  # (B, H, k, dh): phi_1(Q) phi_2(Z)
            x = self.norm1(self.seeds + self.drop(self.qla_out(read.transpose(-3, -2).flatten(-2))))
            return self.norm2(x + self.drop(self.ffn(x)))

        def summarize(self, tokens):
            """(B, k, d) summaries of whole left-padded histories (B, L)."""
            return self.summaries_from(*self.history_states(tokens))[:, 0]

        # ------------------------------------------------------------ stage 2
        def score_items(self, summaries, items=None):
            """Scores (B, C) of items (C,) (None: the catalog) given summaries (B, k, d): each candidate
            attends to the k summaries only (softmax), O(B C k d)::

                o_c = softmax(q_c K^T / sqrt(d_h)) V,   r_c = (W_o o_c) . e_c + b_c = o_c . (W_o^T e_c) + b_c

            (the second form never builds W_o o_c for every (user, candidate) pair)."""
            e = self.cand_norm(self.items.table() if items is None else self.items(items + 1))  # (C, d)
            B, C, h = summaries.shape[0], e.shape[0], c.n_heads
            q = self.cand_q(e).view(C, h, d // h).transpose(0, 1)  # (h, C, d/h)
            ks, vs = self.sum_kv(summaries).view(B, k, 2, h, d // h).permute(2, 0, 3, 1, 4)  # (B, h, k, d/h) each
            o = A.softmax_attention(q.expand(B, h, C, d // h), ks, vs)  # (B, h, C, d/h)
            back = (e @ self.cand_out.weight).view(C, h, d // h).transpose(0, 1)  # W_o^T e_c per head
            bias = self.item_bias if items is None else self.item_bias[items]
            return (o * back).sum((1, 3)) + e @ self.cand_out.bias + bias

        # ------------------------------------------------------------ reconstruction
        def reconstruction_loss(self, summaries, tokens):
            """mean_i ||v_i - u_{i+1}||^2 over the last M events: a causal decoder reads [summaries, u_1..u_M]."""
            M = min(c.recon_len, tokens.shape[1])
            toks = tokens[:, -M:]
            real = toks != PAD
            if M < 2 or not (real[:, :-1] & real[:, 1:]).any():
                return summaries.sum() * 0.0
            u = self.items(toks)  # (B, M, d)
            x = torch.cat([summaries, u + self.dec_pos.weight[c.recon_len - M:]], 1)  # (B, k + M, d)
            B, n, h = x.shape[0], k + M, c.n_heads
            keep = torch.cat([torch.ones(B, k, dtype=torch.bool, device=x.device), real], 1)  # (B, k + M)
            mask = (A.prefix_lm(n, k, device=x.device) & keep[:, None, :]).unsqueeze(1)  # (B, 1, n, n)
            qq, kk, vv = self.dec_qkv(x).view(B, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
            att = A.softmax_attention(qq, kk, vv, mask).transpose(1, 2).reshape(B, n, d)
            y = self.dec_norm1(x + self.drop(self.dec_o(att)))
            y = self.dec_norm2(y + self.drop(self.dec_ffn(y)))
            v = self.dec_out(y[:, k:])  # (B, M, d): v_i predicts u_{i+1}
            pair = real[:, :-1] & real[:, 1:]
            err = ((v[:, :-1] - u[:, 1:].detach()) ** 2).sum(-1)
            return err[pair].mean()

        def forward(self, tokens, positions=None, targets=None):
            """Summaries (B, k, d) of whole histories, or the training loss: next-item cross-entropy of
            the targets (B, m) (-1 = none) read at ``positions`` (B, m), plus the reconstruction loss
            of each row's last target (the whole window)."""
            if targets is None:
                return self.summarize(tokens)
            summaries = self.summaries_from(*self.history_states(tokens, positions))  # (B, m, k, d)
            valid = targets >= 0
            loss = F.cross_entropy(self.score_items(summaries[valid]), targets[valid])
            if c.recon_weight > 0:
                loss = loss + c.recon_weight * self.reconstruction_loss(summaries[:, -1], tokens)
            return loss

    return VISTAModule()


# ============================================================================ the recommender
class VISTA(HistoryRecommender):
    """VISTA on the shared fit. After fit: ``summarize(histories)``, ``summarize_stream(chunks)``,
    ``score_summaries(summaries)``, ``cache`` (a `SummaryCache`)."""

    name = "vista"
    description = ("VISTA: k virtual seeds summarise the whole history by quasi-linear attention; "
                   "candidates attend only to the cached summaries")
    Config = VISTAConfig
    generates_candidates = False  # a ranking-stage model: its cost is per candidate of a given set
    # batch_size counts users: each brings up to targets_per_user targets, read in one pass over its history
    train_defaults = {"epochs": 20, "lr": 3e-3, "batch_size": 32, "patience": 4, "val_users": 500,
                      "schedule": "cosine"}
    presets = {
        "tiny": {"d_model": 16, "n_heads": 1, "n_seeds": 4, "decays": [0.5, 1.0], "head_dim": 8, "recon_len": 8,
                 "max_train_history": 64, "targets_per_user": 8, "epochs": 1, "val_users": 50},  # smoke size
        # synthetic-long on 2 CPU cores: whole histories (up to 2,048 events before a user's first target),
        # 64 targets per user, 8 users per step, the last epoch kept (see HistoryConfig.validate)
        "cpu": {"d_model": 64, "n_seeds": 16, "head_dim": 32, "max_train_history": 2048, "targets_per_user": 64,
                "batch_size": 8, "epochs": 30, "validate": False, "max_minutes": 20},
        # the paper's public-data settings (Amazon: 128 seeds, d 64, 4 heads, 1 QLA layer, Adam lr 5e-4,
        # batch 1024, reconstruction weight 1.0); no positions (one undecayed head)
        "paper": {"n_seeds": 128, "d_model": 64, "n_heads": 4, "decays": [1.0], "head_dim": 64, "lr": 5e-4,
                  "batch_size": 1024, "recon_weight": 1.0, "schedule": "constant"},
    }
    published = ()  # the paper reports AUC/NE on CTR data (Amazon-Electronics, KuaiRand), not a top-K benchmark here

    def __init__(self, **params):
        super().__init__(**params)
        c = self.config
        self.cache = SummaryCache(c.cache_quantize, c.cache_max_staleness, summarize=self.summarize)

    def build(self):
        return _module(self.n_items, self.config, self.item_category)

    # ------------------------------------------------------------------ training: a stale cache is a wrong cache
    def fit(self, split, catalog=None, on_epoch=None):
        self.cache.invalidate()
        try:
            return super().fit(split, catalog, on_epoch)
        finally:
            self.cache.invalidate()

    def validation_fn(self, split, metric: str = "ndcg@10"):
        validate = super().validation_fn(split, metric)
        if validate is None:
            return None

        def fresh(module):  # the weights changed since the last epoch
            self.cache.invalidate()
            return validate(module)

        return fresh

    # ------------------------------------------------------------------ stage 1
    def summarize(self, histories) -> np.ndarray:
        """(B, k, d) float32 summaries of whole histories (the last ``max_history`` events if set)."""
        import torch

        self.check_fitted()
        histories = [np.asarray(h, dtype=np.int64) for h in histories]
        out = []
        with torch.no_grad():
            for s in range(0, len(histories), self.config.eval_batch_size):
                part = histories[s:s + self.config.eval_batch_size]
                if max((len(h) for h in part), default=0) > self.config.stream_chunk:  # bounded memory
                    out.extend(self.summarize_stream(_chunks(h, self.config.stream_chunk))[None] for h in part)
                else:
                    out.append(self.module(self.tokens(part, self.config.max_history)).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.config.n_seeds, self.config.d_model), np.float32)

    def attention_weights(self, history) -> np.ndarray:
        """How much each event of ``history`` weighs in what each seed reads, per QLA head: (H, k, L).

        Seed i of head h reads the history through its state, O = phi_1(q_i) phi_2(Z_h) with
        Z_h = sum_j w_j phi_1(k_j) v_j^T / sum_j w_j, w_j = gamma_h^(L-1-j). Before phi_2, event j
        enters seed i's read-out with the kernel weight ``w_j phi_1(q_i) . phi_1(k_j) / sum_j w_j``:
        that is the number returned (linear attention's unnormalised weight; it can be negative, as
        SiLU can, and the rows need not sum to 1). Columns are events oldest first.
        """
        import torch

        self.check_fitted()
        history = self.check_history(history)
        m, c = self.module, self.config
        phi = A._phi(c.phi1)
        with torch.no_grad():
            keys, _ = m.keys_values(torch.as_tensor(history + 1, device=self.device()))  # (H, L, dh)
            q = m.q(m.seeds).view(c.n_seeds, len(c.decays), c.head_dim).transpose(0, 1)  # (H, k, dh)
            w = m.powers(torch.arange(len(history) - 1, -1, -1, device=self.device()))  # (H, L)
            kernel = phi(q) @ phi(keys).transpose(-1, -2)  # (H, k, L)
            out = kernel * (w / w.sum(-1, keepdim=True))[:, None, :]
        return out.float().cpu().numpy()

    def summarize_stream(self, chunks: Iterable) -> np.ndarray:
        """(k, d) summaries of one history given as an iterable of item-index chunks (numpy arrays,
        lists, or `EventChunk` s of `data.long_history`), oldest first, consumed once.

        Holds one chunk and the (H, d_h, d_h) state at a time: S <- gamma^n S + sum over the chunk
        of gamma^(distance to the chunk's end) phi_1(k_j) v_j^T, in float64. Equals `summarize` on
        the concatenated history (``max_history`` does not apply: a stream is read whole).
        """
        import torch

        self.check_fitted()
        m, dev = self.module, self.device()
        sums = weights = None
        with torch.no_grad():
            for chunk in chunks:
                items = np.asarray(getattr(chunk, "items", chunk), dtype=np.int64).reshape(-1)
                if not len(items):
                    continue
                if items.min() < 0 or items.max() >= self.n_items:
                    bad = int(items.min() if items.min() < 0 else items.max())
                    raise ValueError(f"a chunk holds item index {bad}, but the model knows {self.n_items} items")
                for s in range(0, len(items), self.config.stream_chunk):  # bounded activations per piece
                    piece = items[s:s + self.config.stream_chunk]
                    n = len(piece)
                    keys, values = m.keys_values(torch.as_tensor(piece + 1, device=dev))  # (H, n, dh)
                    dist = torch.arange(n - 1, -1, -1, device=dev, dtype=torch.float64)  # to the piece's end
                    w = torch.exp(m.log_decay.to(dev)[:, None] * dist)[..., None]  # (H, n, 1) float64
                    part = A.qla_state(keys.double(), values.double() * w, phi1=self.config.phi1)  # (H, dh, dh)
                    shift = torch.exp(m.log_decay.to(dev) * n)[:, None, None]  # gamma^n: older events age
                    sums = part if sums is None else sums * shift + part
                    weights = w.sum(-2, keepdim=True) if weights is None else weights * shift + w.sum(-2, keepdim=True)
            if sums is None:  # an empty history: the seeds alone
                dh = self.config.head_dim
                sums = torch.zeros(len(self.config.decays), dh, dh, dtype=torch.float64, device=dev)
                weights = torch.zeros(len(self.config.decays), 1, 1, dtype=torch.float64, device=dev)
            out = m.summaries_from(sums.float()[None], weights.float()[None])
        return out[0].float().cpu().numpy()

    # ------------------------------------------------------------------ stage 2
    def score_summaries(self, summaries, items=None) -> np.ndarray:
        """Scores (B, C) from summaries (B, k, d): the whole catalog, or the item indices ``items``."""
        import torch

        self.check_fitted()
        with torch.no_grad():
            s = torch.as_tensor(np.asarray(summaries, dtype=np.float32), device=self.device())
            it = None if items is None else torch.as_tensor(np.asarray(items, dtype=np.int64), device=self.device())
            return self.module.score_items(s, it).float().cpu().numpy()

    def user_summaries(self, histories, users=None) -> np.ndarray:
        """Summaries for a batch: from the cache where fresh enough (with ``users`` and ``cache``), else computed."""
        if users is None or not self.config.cache:
            return self.summarize(histories)
        cached = [self.cache.lookup(u, len(h)) for u, h in zip(users, histories)]
        missing = [i for i, s in enumerate(cached) if s is None]
        if missing:
            self.cache.refresh([users[i] for i in missing], [histories[i] for i in missing])
            for i in missing:
                cached[i] = self.cache.get(users[i])  # served as stored (int8 round trip included)
        return np.stack(cached)

    def _score_batch(self, histories, users) -> np.ndarray:
        return self.score_summaries(self.user_summaries(histories, users))

    # ------------------------------------------------------------------ the cache beside the weights
    def save_extra(self, path: Path) -> None:
        super().save_extra(path)
        self.cache.save(path / "summary_cache.npz")

    def load_extra(self, path: Path, catalog=None) -> None:
        super().load_extra(path, catalog)
        file = path / "summary_cache.npz"
        if file.is_file():
            try:
                self.cache.load(file)
            except (OSError, ValueError, KeyError) as err:
                raise CheckpointError(f"{file} is not a readable summary cache ({err})") from None


def _chunks(items: np.ndarray, size: int):
    for s in range(0, len(items), size):
        yield items[s:s + size]


__all__ = ["VISTA", "VISTAConfig", "HistoryConfig", "HistoryRecommender", "SummaryCache"]
