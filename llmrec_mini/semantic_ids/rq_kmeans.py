"""Residual k-means (RQ-KMeans): semantic IDs without training a network.

The same residual coding as RQ-VAE (TIGER §3.1) applied directly to the item embeddings, with
each codebook fitted by k-means instead of gradient descent (used by e.g. GRID and OneRec):

    r_0 = x,   C_d = kmeans(r_d, K),   c_d = argmin_k ||r_d - C_d[k]||^2,   r_{d+1} = r_d - C_d[c_d].

Level d therefore clusters what the previous levels could not explain, so the first code is the
coarsest description of an item and later codes refine it.
"""
from __future__ import annotations

import numpy as np


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_init: int = 1, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ / Lloyd (sklearn). x (n, d) -> centroids (k, d) float32, labels (n,) int64."""
    from sklearn.cluster import KMeans

    if k > len(x):
        raise ValueError(f"k-means needs at least k={k} points, got {len(x)}; lower codebook_size")
    km = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, random_state=seed).fit(x.astype(np.float64))
    return km.cluster_centers_.astype(np.float32), km.labels_.astype(np.int64)


def nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """argmin_k ||x_i - c_k||^2 for each row: (n, d), (K, d) -> (n,) int64."""
    d2 = (x * x).sum(1, keepdims=True) - 2 * x @ centroids.T + (centroids * centroids).sum(1)  # (n, K)
    return d2.argmin(1).astype(np.int64)


class RQKMeans:
    """Residual k-means quantizer with the `fit(embeddings) -> codes (n, levels)` interface.

    ``standardize``: z-score every embedding dimension first (off by default: k-means on the raw
    unit-norm sentence embeddings works well). After `fit`, ``codebooks[d]`` is the (K, dim)
    codebook of level d and ``history`` holds one dict per level (inertia, usage, perplexity).
    """

    method = "rqkmeans"

    def __init__(self, levels: int = 3, codebook_size: int = 256, seed: int = 0, standardize: bool = False,
                 n_init: int = 1, max_iter: int = 100, progress: bool = True):
        self.levels, self.codebook_size, self.seed = levels, codebook_size, seed
        self.standardize, self.n_init, self.max_iter, self.progress = standardize, n_init, max_iter, progress
        self.codebooks: list[np.ndarray] = []
        self.history: list[dict] = []

    def _prepare(self, embeddings: np.ndarray) -> np.ndarray:
        x = np.asarray(embeddings, dtype=np.float32)
        return (x - self.mean_) / self.std_ if self.standardize else x

    def fit(self, embeddings: np.ndarray) -> np.ndarray:
        """Fit one codebook per level on the residuals; returns codes (n_items, levels) int64."""
        from tqdm import tqdm

        from .stats import level_stats

        x = np.asarray(embeddings, dtype=np.float32)
        self.mean_, self.std_ = x.mean(0), x.std(0) + 1e-6
        residual = self._prepare(x)  # r_0 = x
        codes = np.zeros((len(x), self.levels), dtype=np.int64)
        self.codebooks, self.history = [], []
        for d in tqdm(range(self.levels), desc="RQ-KMeans", disable=not self.progress, leave=False):
            centroids, labels = kmeans(residual, self.codebook_size, seed=self.seed + d,
                                       n_init=self.n_init, max_iter=self.max_iter)  # C_d, c_d
            codes[:, d] = labels
            residual = residual - centroids[labels]  # r_{d+1} = r_d - C_d[c_d]
            self.codebooks.append(centroids)
            stats = level_stats(codes[:, d : d + 1], [self.codebook_size])
            self.history.append({"level": d, "residual_norm": float(np.linalg.norm(residual, axis=1).mean()),
                                 "usage": stats["usage"][0], "perplexity": stats["perplexity"][0]})
        return codes

    def encode(self, embeddings: np.ndarray) -> np.ndarray:
        """Codes of (possibly new) items with the fitted codebooks: (n, d) -> (n, levels) int64."""
        if not self.codebooks:
            raise RuntimeError("call fit(embeddings) before encode()")
        residual = self._prepare(embeddings)
        codes = np.zeros((len(residual), self.levels), dtype=np.int64)
        for d, centroids in enumerate(self.codebooks):
            codes[:, d] = nearest(residual, centroids)
            residual = residual - centroids[codes[:, d]]
        return codes
