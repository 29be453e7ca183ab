"""Category-return transitions: a count model that looks back for the last item of the current category.

A transparent whole-history baseline for lifelong histories (`data.long_history`), with a
``memory`` span that turns it into a short-memory model, so the two differ *only* in how far they
look back. No neural network; it is what the long-history data was built to reward, so it shows
how much signal there is for a model that reads far enough.

1. **Transitions.** ``M[a, b]`` counts how often item b directly follows item a in the training
   sequences; each row is normalised to sum to 1 (stored sparse: only observed pairs).
2. **The anchor.** For a history ending with item x of category c (the catalog's full category
   path): if x *starts* a run of c (the event before it is in another category) and an earlier
   item of c lies within the last ``memory`` events (None: the whole history), the anchor a is the
   latest such item; otherwise a = x.
3. **Scores.** ``M[a] + 0.1 M[x] + 0.01 pop``: what followed the anchor in training, then what
   followed the last item, then popularity, to break ties.

Without a catalog (or categories) every item shares one category and the model is a first-order
Markov chain on the last item.
"""
from __future__ import annotations

import numpy as np

from .base import CheckpointError, Recommender, catalog_fingerprint


class RevisitCounts(Recommender):
    name = "revisit-counts"
    description = ("category-return transitions: what followed the last item the user bought in the current "
                   "category, however long ago (a count model; memory=N looks back N events only)")

    def __init__(self, memory: int | None = None, **params):
        from ..config import route
        from ..train import TrainConfig

        if memory is not None and (isinstance(memory, bool) or not isinstance(memory, (int, np.integer))
                                   or memory < 2):
            raise ValueError(f"memory must be an integer >= 2 (events looked back) or None, got {memory!r}")
        routed = route(params, {"train": TrainConfig}, self.name)  # accepted and checked; nothing to train
        TrainConfig(**routed["train"])
        self.memory = None if memory is None else int(memory)
        self.pairs = self.weights = self.pop = self.category = None

    def fit(self, split, catalog=None) -> "RevisitCounts":
        n = self.n_items = split.n_items
        self.catalog_fingerprint = catalog_fingerprint(catalog)
        self.category = catalog.category_ids() if catalog is not None else np.zeros(n, dtype=np.int64)
        seqs = [np.asarray(s, dtype=np.int64) for s in split.train if len(s)]
        codes = np.concatenate([s[:-1] * n + s[1:] for s in seqs if len(s) > 1] or [np.zeros(0, np.int64)])
        self.pairs, counts = np.unique(codes, return_counts=True)  # sorted pair codes a * n + b
        rows = self.pairs // n
        self.weights = (counts / np.bincount(rows, weights=counts, minlength=n)[rows]).astype(np.float32)
        pop = np.bincount(np.concatenate(seqs), minlength=n).astype(np.float32) if seqs else np.zeros(n, np.float32)
        self.pop = pop / max(1.0, pop.sum())
        return self

    def row(self, a: int) -> np.ndarray:
        """M[a] as a dense (n_items,) vector."""
        n = self.n_items
        lo, hi = np.searchsorted(self.pairs, [a * n, (a + 1) * n])
        out = np.zeros(n, dtype=np.float32)
        out[self.pairs[lo:hi] - a * n] = self.weights[lo:hi]
        return out

    def anchor(self, history) -> int:
        """The item whose successors are scored (step 2 of the module docstring)."""
        h = np.asarray(history, dtype=np.int64)
        h = h if self.memory is None else h[-self.memory:]
        x, c = int(h[-1]), self.category[h[-1]]
        if len(h) < 2 or self.category[h[-2]] == c:
            return x
        earlier = np.flatnonzero(self.category[h[:-1]] == c)
        return int(h[earlier[-1]]) if len(earlier) else x

    def score(self, histories, users=None) -> np.ndarray:
        if self.pairs is None:
            raise RuntimeError("fit the revisit-counts model first")
        out = np.empty((len(histories), self.n_items), dtype=np.float32)
        for b, h in enumerate(histories):
            if len(h) == 0:
                out[b] = self.pop
                continue
            out[b] = self.row(self.anchor(h)) + 0.1 * self.row(int(h[-1])) + 0.01 * self.pop
        return out

    def save_state(self, path) -> None:
        np.savez(path / "revisit.npz", pairs=self.pairs, weights=self.weights, pop=self.pop,
                 category=self.category)

    def load_state(self, path, catalog=None) -> None:
        file = path / "revisit.npz"
        try:
            with np.load(file, allow_pickle=False) as z:
                pairs, weights, pop, category = (z[k] for k in ("pairs", "weights", "pop", "category"))
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(f"{file} is missing or not a revisit-counts state ({err})") from None
        n = self.n_items
        if pop.shape != (n,) or category.shape != (n,) or pairs.shape != weights.shape or \
                (len(pairs) and (pairs.min() < 0 or pairs.max() >= n * n)):
            raise CheckpointError(f"{file} does not describe a catalog of {n} items")
        self.pairs, self.weights, self.pop, self.category = pairs, weights, pop, category

    def settings(self) -> dict:
        return {"memory": self.memory}


__all__ = ["RevisitCounts"]
