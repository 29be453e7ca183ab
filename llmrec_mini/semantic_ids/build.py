"""`build_semantic_ids`: item embeddings -> `SemanticIDs`, with any of four quantizers.

RQ-VAE (`rqvae`) and residual k-means (`rq_kmeans`) learn codes from the embeddings; random codes
and LSH are TIGER's ablations (Table 2). Every method then gets TIGER's collision token (§3.1):
items that share the same ``levels``-tuple get 0, 1, 2, ... in item-index order, items with no
collision get 0, so every ID has the same length ``L = levels + 1`` and is unique.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..config import Settings
from .stats import collision_stats, level_stats
from .table import SemanticIDs

METHODS = ("rqvae", "rqkmeans", "random", "lsh", "sid-v2")


@dataclass
class SIDConfig(Settings):
    """How a model gets its semantic IDs: item text -> sentence embeddings -> a quantizer (a settings group)."""
    method: Literal["rqvae", "rqkmeans", "random", "lsh", "sid-v2"] = "rqvae"
    levels: int = 3
    codebook_size: int = 64
    encoder: str = "auto"  # "auto" (all-MiniLM-L6-v2 when installed, else hashing), "minilm", "hashing"
    text_fields: tuple[str, ...] = ("title", "brand", "categories", "price")
    embedding_cache: bool = True  # item embeddings on disk under <data cache>/embeddings (False: recompute)
    rqvae: dict = field(default_factory=dict)  # RQ-VAE / SID-v2 training options (`RQVAEConfig` / `SIDv2Config`
    # fields), e.g. rqvae_epochs=100
    cooc_dim: int = 64  # sid-v2: width of the collaborative embedding learned from the training sequences
    cooc_window: int = 3  # sid-v2: items within this many events of each other co-occur

    def check(self) -> None:
        if self.levels < 1 or self.codebook_size < 2:
            raise ValueError(f"need levels >= 1 and codebook_size >= 2, got {self.levels} and {self.codebook_size}")
        from .rqvae import RQVAEConfig
        from .sid_v2 import SIDv2Config

        options = SIDv2Config if self.method == "sid-v2" else RQVAEConfig
        unknown = set(self.rqvae) - options.names()
        if unknown:
            raise ValueError(f"unknown {options.__name__[:-6]} option(s) {sorted(unknown)} (rqvae_<option>); "
                             f"options: {', '.join(sorted(options.names()))}")
        if self.method == "sid-v2":
            options(levels=self.levels, codebook_size=self.codebook_size, **self.rqvae)
        else:
            options(**self.rqvae)  # mistyped values fail here, not after the encoder ran

    def build(self, catalog, seed: int = 0, progress: bool = True, train_sequences=None) -> SemanticIDs:
        """Encode the catalog's item text (cached on disk unless disabled) and quantize it.

        ``sid-v2`` also needs the training sequences (its collaborative embedding and contrastive pairs)."""
        from ..data.download import cache_dir
        from ..text import encode_items

        cache = cache_dir() / "embeddings" if self.embedding_cache else None
        emb = encode_items(catalog, encoder=self.encoder, fields=self.text_fields, cache_dir=cache, progress=progress)
        if self.method == "sid-v2":
            if train_sequences is None:
                raise ValueError("sid-v2 semantic IDs need the training sequences (build(..., train_sequences=...))")
            return build_sid_v2(emb, train_sequences, levels=self.levels, codebook_size=self.codebook_size, seed=seed,
                                progress=progress, cooc_dim=self.cooc_dim, window=self.cooc_window, **self.rqvae)
        return build_semantic_ids(emb, method=self.method, levels=self.levels, codebook_size=self.codebook_size,
                                  seed=seed, progress=progress, **(self.rqvae if self.method == "rqvae" else {}))


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
    if method == "sid-v2":
        raise ValueError("sid-v2 quantizes several modalities and needs training sequences: use build_sid_v2")
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
    return _semantic_ids(raw, [codebook_size] * levels, method, quantizer, history, start)


def _semantic_ids(raw: np.ndarray, sizes: list[int], method: str, quantizer, history, start: float) -> SemanticIDs:
    """Raw codes (n, levels) -> `SemanticIDs` with the collision token and the usage/collision report."""
    codes = add_collision_token(raw)
    metrics = {"method": method, "n_items": len(raw), "levels": len(sizes), "codebook_size": max(sizes),
               "codebook_sizes": list(sizes), **level_stats(raw, sizes), **collision_stats(raw),
               "fit_seconds": round(time.perf_counter() - start, 3)}
    if hasattr(quantizer, "best_epoch"):
        metrics["best_epoch"] = int(quantizer.best_epoch)  # RQ-VAE: the epoch whose weights were kept
    return SemanticIDs(codes=codes, codebook_sizes=(*sizes, int(codes[:, -1].max()) + 1), method=method,
                       metrics=metrics, history=history, quantizer=quantizer)


def build_sid_v2(text_embeddings: np.ndarray, train_sequences, levels: int = 3, codebook_size: int = 256,
                 seed: int = 0, progress: bool = True, cooc_dim: int = 64, window: int = 3,
                 extra_modalities=(), **kw) -> SemanticIDs:
    """PLUM's SID-v2 (`sid_v2`): the text embedding and a collaborative embedding learned from
    ``train_sequences`` only (plus any ``extra_modalities``), fused, quantized with multi-resolution
    codebooks and progressive masking, and pulled together on co-interacted pairs. ``kw`` ->
    `SIDv2Config` (e.g. epochs, multi_resolution=False, contrastive_weight=0 for ablations)."""
    from .sid_v2 import SIDv2Quantizer, cooccurrence_embeddings, cooccurrence_pairs

    x = np.asarray(text_embeddings, dtype=np.float32)
    if x.ndim != 2 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(f"text_embeddings must be a finite (n_items, d) array, got shape {x.shape}")
    n = len(x)
    train_sequences = [np.asarray(s, dtype=np.int64) for s in train_sequences]
    if any(len(s) and (s.min() < 0 or s.max() >= n) for s in train_sequences):
        raise ValueError(f"train_sequences must hold item indices in [0, {n})")
    if codebook_size > n:
        clamped = max(2 << (levels - 1), 2 ** int(np.log2(max(2, n // 2))))
        warnings.warn(f"codebook_size={codebook_size} > n_items={n}; clamped to {clamped}", stacklevel=2)
        codebook_size = clamped
    start = time.perf_counter()
    modalities = [x, cooccurrence_embeddings(train_sequences, n, dim=cooc_dim, window=window, seed=seed),
                  *extra_modalities]
    pairs, _ = cooccurrence_pairs(train_sequences, n, window)
    quantizer = SIDv2Quantizer(progress=progress, levels=levels, codebook_size=codebook_size, seed=seed, **kw)
    raw = quantizer.fit(modalities, pairs)
    quantizer.modalities, quantizer.pairs = modalities, pairs  # kept for reports (pair similarity, encode)
    return _semantic_ids(raw, quantizer.codebook_sizes(), "sid-v2", quantizer, quantizer.history, start)
