"""Semantic IDs: the item <-> code tables every generative recommender decodes through.

`build_semantic_ids(embeddings, method)` quantises item embeddings into ``levels`` codes per item
(RQ-VAE, RQ-KMeans, or the paper's ablations: random codes and LSH), then appends TIGER's
collision token (§3.1): items that share the same ``levels``-tuple get 0, 1, 2, ... in item-index
order, items with no collision get 0, so every ID has the same length ``L = levels + 1``.

Token layout (what TIGER / PLUM vocabularies rely on). With ``K = max(codebook_sizes)``
(``block_size``), the code ``c`` at position ``l`` (``0 <= l < L``, the collision token is
``l = L-1``) is the token id

    token = token_offset + l * K + c

so the SID vocabulary is the contiguous range ``[token_offset, token_offset + L*K)`` and a token
tells its level: ``l = (token - token_offset) // K``.
"""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

METHODS = ("rqvae", "rqkmeans", "random", "lsh")


def level_stats(codes: np.ndarray, codebook_sizes: Sequence[int]) -> dict:
    """Per level: share of the codebook used, entropy (bits) and perplexity (2^entropy) of code use."""
    usage, entropy, perplexity = [], [], []
    for d, k in enumerate(codebook_sizes):
        p = np.bincount(codes[:, d], minlength=k) / max(1, len(codes))
        h = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
        usage.append(float((p > 0).mean()))
        entropy.append(h)
        perplexity.append(float(2.0**h))
    return {"usage": usage, "entropy_bits": entropy, "perplexity": perplexity}


def collision_stats(codes: np.ndarray) -> dict:
    """unique_rate = distinct tuples / items; collision_rate = share of items whose tuple is shared."""
    _, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    group = counts[inverse.reshape(-1)]
    return {"unique_rate": float(len(counts) / max(1, len(codes))), "collision_rate": float((group > 1).mean()),
            "max_collision": int(counts.max()) if len(counts) else 0}


def add_collision_token(codes: np.ndarray) -> np.ndarray:
    """(n, m) -> (n, m+1): last column = rank of the item among items with the same m-tuple."""
    codes = np.asarray(codes, dtype=np.int64)
    seen: dict[tuple, int] = {}
    extra = np.zeros(len(codes), dtype=np.int64)
    for i, row in enumerate(map(tuple, codes)):
        extra[i] = seen.get(row, 0)
        seen[row] = extra[i] + 1
    return np.concatenate([codes, extra[:, None]], axis=1)


def random_codes(n_items: int, levels: int, codebook_size: int, seed: int = 0) -> np.ndarray:
    """Random IDs (TIGER's ablation): every code drawn uniformly, independent of content."""
    return np.random.default_rng(seed).integers(0, codebook_size, size=(n_items, levels), dtype=np.int64)


def lsh_codes(embeddings: np.ndarray, levels: int, codebook_size: int, seed: int = 0, center: bool = True) -> np.ndarray:
    """LSH IDs (TIGER's ablation): per level, log2(K) random hyperplanes; code = their sign bits."""
    bits = int(np.log2(codebook_size))
    if 2**bits != codebook_size:
        raise ValueError(f"LSH needs codebook_size = 2^bits, got {codebook_size}")
    x = np.asarray(embeddings, dtype=np.float64)
    x = x - x.mean(0) if center else x  # hyperplanes through the data's centre split it evenly
    planes = np.random.default_rng(seed).standard_normal((levels, x.shape[1], bits))  # (m, d, bits)
    signs = (np.einsum("nd,mdb->nmb", x, planes) > 0).astype(np.int64)  # (n, m, bits)
    return (signs << np.arange(bits)).sum(-1)  # (n, m)


@dataclass(eq=False)
class SemanticIDs:
    """codes (n_items, L) int64, row i = item i's ID; the last column is the collision token."""

    codes: np.ndarray
    codebook_sizes: tuple[int, ...]  # per position, length L (last = collision positions needed)
    method: str
    metrics: dict = field(default_factory=dict)
    history: list = field(default_factory=list)  # training log of the quantizer (per epoch / level)
    quantizer: Any = field(default=None, repr=False, compare=False)  # fitted RQVAEQuantizer / RQKMeans, not saved

    def __post_init__(self) -> None:
        self.codes = np.asarray(self.codes, dtype=np.int64)
        self.codebook_sizes = tuple(int(k) for k in self.codebook_sizes)
        if self.codes.ndim != 2 or self.codes.shape[1] != len(self.codebook_sizes):
            raise ValueError(f"codes must be (n_items, {len(self.codebook_sizes)}), got {self.codes.shape}")
        if len(self.codes) and ((self.codes < 0).any() or (self.codes >= np.array(self.codebook_sizes)).any()):
            raise ValueError("every code must lie in [0, codebook_sizes[l])")
        self._table = {tuple(map(int, row)): i for i, row in enumerate(self.codes)}
        if len(self._table) != len(self.codes):
            raise ValueError("semantic IDs must be unique; add the collision token (add_collision_token)")

    def __eq__(self, other) -> bool:
        """Same codes, codebook sizes, method, metrics and history (the fitted quantizer is ignored)."""
        if not isinstance(other, SemanticIDs):
            return NotImplemented
        return (np.array_equal(self.codes, other.codes) and self.codebook_sizes == other.codebook_sizes
                and self.method == other.method and self.metrics == other.metrics and self.history == other.history)

    @property
    def n_items(self) -> int:
        return len(self.codes)

    @property
    def length(self) -> int:
        """L: tokens per ID, collision token included."""
        return self.codes.shape[1]

    @property
    def block_size(self) -> int:
        """K = max codebook size: token ids reserved per position."""
        return max(self.codebook_sizes)

    @property
    def vocab_size(self) -> int:
        """L * K: number of SID token ids (the range starting at token_offset)."""
        return self.length * self.block_size

    def code_of(self, item: int) -> tuple[int, ...]:
        return tuple(int(c) for c in self.codes[item])

    def item_of(self, code: Sequence[int]) -> int | None:
        """The item with this full ID, or None when no item has it."""
        return self._table.get(tuple(int(c) for c in code))

    def to_tokens(self, item: int, token_offset: int = 0) -> list[int]:
        """Item -> its L token ids: token_offset + l*K + code_l."""
        return [token_offset + l * self.block_size + c for l, c in enumerate(self.code_of(item))]

    def all_tokens(self, token_offset: int = 0) -> np.ndarray:
        """(n_items, L) token ids of every item (row i = `to_tokens(i)`)."""
        return token_offset + np.arange(self.length) * self.block_size + self.codes

    def from_tokens(self, tokens: Sequence[int], token_offset: int = 0) -> int | None:
        """L token ids -> item, or None when they are not a valid ID (wrong length, level or code)."""
        tokens = [int(t) - token_offset for t in tokens]
        if len(tokens) != self.length:
            return None
        code = []
        for l, t in enumerate(tokens):
            if t // self.block_size != l or t < 0:
                return None
            code.append(t % self.block_size)
        return self.item_of(code)

    def trie(self):
        from .trie import PrefixTrie

        return PrefixTrie(self.codes)

    def to_frame(self):
        """One row per item: item, c0..c{L-1}, sid ('7-1-4-0') and collision group size."""
        import pandas as pd

        df = pd.DataFrame(self.codes, columns=[f"c{l}" for l in range(self.length)])
        df.insert(0, "item", np.arange(self.n_items))
        df["sid"] = ["-".join(map(str, row)) for row in self.codes]
        df["group_size"] = df.groupby([f"c{l}" for l in range(self.length - 1)])["item"].transform("size")
        return df

    def save(self, path) -> None:
        """npz with the codes and json metadata (no pickle); `load` round-trips exactly."""
        meta = {"codebook_sizes": list(self.codebook_sizes), "method": self.method, "metrics": self.metrics,
                "history": self.history}
        with open(path, "wb") as f:
            np.savez(f, codes=self.codes, meta=np.array(json.dumps(meta)))

    @classmethod
    def load(cls, path) -> "SemanticIDs":
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(codes=data["codes"], codebook_sizes=tuple(meta["codebook_sizes"]), method=meta["method"],
                       metrics=meta["metrics"], history=meta["history"])


def build_semantic_ids(embeddings: np.ndarray, method: str = "rqvae", levels: int = 3, codebook_size: int = 256,
                       seed: int = 0, progress: bool = True, **kw) -> SemanticIDs:
    """Item embeddings (n_items, d) -> `SemanticIDs` of length levels+1.

    ``method``: "rqvae" (``kw`` -> `RQVAEConfig`, e.g. epochs, latent_dim), "rqkmeans" (``kw`` ->
    `RQKMeans`), "random", or "lsh" (codebook_size must be a power of two). For the k-means based
    methods a codebook larger than the catalog is clamped, with a warning, to the largest power
    of two <= n_items / 2.
    """
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(f"embeddings must be a finite (n_items, d) array, got shape {x.shape}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if levels < 1 or codebook_size < 2:
        raise ValueError("need levels >= 1 and codebook_size >= 2")
    if method in ("rqvae", "rqkmeans") and codebook_size > len(x):
        clamped = max(2, 2 ** int(np.log2(max(2, len(x) // 2))))
        warnings.warn(f"codebook_size={codebook_size} > n_items={len(x)}; clamped to {clamped}", stacklevel=2)
        codebook_size = clamped
    start, quantizer, history = time.perf_counter(), None, []
    if method == "rqvae":
        from .rqvae import RQVAEQuantizer

        quantizer = RQVAEQuantizer(progress=progress, levels=levels, codebook_size=codebook_size, seed=seed, **kw)
    elif method == "rqkmeans":
        from .rq_kmeans import RQKMeans

        quantizer = RQKMeans(levels=levels, codebook_size=codebook_size, seed=seed, progress=progress, **kw)
    if quantizer is not None:
        raw = quantizer.fit(x)
        history = quantizer.history
    elif method == "random":
        raw = random_codes(len(x), levels, codebook_size, seed)
    else:
        raw = lsh_codes(x, levels, codebook_size, seed, **kw)
    codes = add_collision_token(raw)
    metrics = {"method": method, "n_items": len(x), "levels": levels, "codebook_size": codebook_size,
               **level_stats(raw, [codebook_size] * levels), **collision_stats(raw),
               "fit_seconds": round(time.perf_counter() - start, 3)}
    if hasattr(quantizer, "best_epoch"):
        metrics["best_epoch"] = int(quantizer.best_epoch)  # RQ-VAE: the epoch whose weights were kept
    sizes = (codebook_size,) * levels + (int(codes[:, -1].max()) + 1,)
    return SemanticIDs(codes=codes, codebook_sizes=sizes, method=method, metrics=metrics, history=history,
                       quantizer=quantizer)
