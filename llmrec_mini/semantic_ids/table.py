"""`SemanticIDs`: the one item <-> code table every generative method decodes through.

``codes`` is an (n_items, L) int array, row i = item i's ID, coarse to fine, the last column being
TIGER's collision token (so IDs are unique). Lookups in both directions are vectorised with one
sorted array of *prefix keys*: a code tuple ``(c_0, ..., c_{l-1})`` is the integer
``sum_j c_j * K^(l-1-j)`` with ``K = block_size`` (`prefix_keys`), so "which item has this ID" is
a binary search. Token ids are not this module's business: `vocab.SIDVocab` owns the layout.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


def prefix_keys(codes: np.ndarray, base: int) -> np.ndarray:
    """(..., l) codes -> one int per prefix: sum_j c_j * base^(l-1-j) (0 for the empty prefix)."""
    codes = np.asarray(codes, dtype=np.int64)
    return (codes * base ** np.arange(codes.shape[-1] - 1, -1, -1, dtype=np.int64)).sum(-1)


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
        keys = prefix_keys(self.codes, self.block_size)
        self._order = np.argsort(keys, kind="stable")  # items sorted by their full-ID key
        self._keys = keys[self._order]
        if len(self._keys) and (np.diff(self._keys) == 0).any():
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
        """L: codes per ID, collision token included."""
        return self.codes.shape[1]

    @property
    def block_size(self) -> int:
        """K = max codebook size (the base of `prefix_keys`; token ids reserved per level by `SIDVocab`)."""
        return max(self.codebook_sizes)

    def code_of(self, item: int) -> tuple[int, ...]:
        return tuple(int(c) for c in self.codes[item])

    def items_of(self, codes: np.ndarray) -> np.ndarray:
        """(..., L) code tuples -> item indices, -1 where no item has that ID (or a code is out of range)."""
        codes = np.asarray(codes, dtype=np.int64)
        if codes.shape[-1] != self.length:
            return np.full(codes.shape[:-1], -1, dtype=np.int64)
        ok = ((codes >= 0) & (codes < np.array(self.codebook_sizes))).all(-1)
        keys = prefix_keys(np.where(ok[..., None], codes, 0), self.block_size)
        pos = np.clip(np.searchsorted(self._keys, keys), 0, max(0, len(self._keys) - 1))
        found = ok & (len(self._keys) > 0) & (self._keys[pos] == keys)
        return np.where(found, self._order[pos], -1)

    def item_of(self, code: Sequence[int]) -> int | None:
        """The item with this full ID, or None when no item has it."""
        item = int(self.items_of(np.asarray([list(code)]).reshape(1, -1))[0])
        return None if item < 0 else item

    def trie(self):
        """The readable reference trie over these IDs (`trie.PrefixTrie`)."""
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
