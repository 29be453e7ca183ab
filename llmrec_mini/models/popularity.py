"""Popularity: rank items by how often they occur in the training sequences. The baseline every model must beat."""
from __future__ import annotations

import numpy as np

from .base import Recommender


class Popularity(Recommender):
    name = "popularity"

    def __init__(self, **params):
        from ..train import TrainConfig

        TrainConfig.pop_from(params)  # training options (epochs, progress, ...) do not apply
        if params:
            raise ValueError(f"popularity takes no parameters (got {sorted(params)})")
        self.counts: np.ndarray | None = None

    def fit(self, split, catalog=None) -> "Popularity":
        seqs = [s for s in split.train if len(s)]
        self.counts = np.bincount(np.concatenate(seqs), minlength=split.n_items).astype(np.float32) if seqs \
            else np.zeros(split.n_items, dtype=np.float32)
        return self

    def score(self, histories, users=None) -> np.ndarray:
        if self.counts is None:
            raise RuntimeError("fit the popularity model first")
        return np.broadcast_to(self.counts, (len(histories), len(self.counts)))
