"""Popularity: rank items by how often they occur in the training sequences. The baseline every model must beat."""
from __future__ import annotations

import numpy as np

from .base import CheckpointError, Recommender


class Popularity(Recommender):
    name = "popularity"
    description = "the baseline: every user gets the items bought most often in training"

    def __init__(self, **params):
        from ..config import route
        from ..train import TrainConfig

        routed = route(params, {"train": TrainConfig}, self.name)  # training options are accepted and checked,
        TrainConfig(**routed["train"])  # but do not apply: there is nothing to train
        self.counts: np.ndarray | None = None

    def fit(self, split, catalog=None) -> "Popularity":
        from .base import catalog_fingerprint

        seqs = [s for s in split.train if len(s)]
        self.counts = np.bincount(np.concatenate(seqs), minlength=split.n_items).astype(np.float32) if seqs \
            else np.zeros(split.n_items, dtype=np.float32)
        self.n_items, self.catalog_fingerprint = split.n_items, catalog_fingerprint(catalog)
        return self

    def score(self, histories, users=None) -> np.ndarray:
        if self.counts is None:
            raise RuntimeError("fit the popularity model first")
        return np.broadcast_to(self.counts, (len(histories), len(self.counts)))

    def save_state(self, path) -> None:
        np.save(path / "counts.npy", self.counts)

    def load_state(self, path, catalog=None) -> None:
        try:
            counts = np.load(path / "counts.npy", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise CheckpointError(f"{path / 'counts.npy'} is missing or not a numpy array ({err})") from None
        if counts.shape != (self.n_items,) or not np.isfinite(counts).all():
            raise CheckpointError(f"{path / 'counts.npy'} does not hold {self.n_items} finite counts")
        self.counts = counts.astype(np.float32)
