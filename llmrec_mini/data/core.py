"""The data model every dataset is turned into: a `Catalog` of items and user `Interactions`.

Items and users get dense integer indices (items ``0..n_items-1``, users ``0..n_users-1``);
the original ids are kept alongside so results can be mapped back. Sequence models shift item
indices by one internally so that 0 can be the padding token (see `sequences.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np


@dataclass
class Catalog:
    """Items and their (optional) text fields. Every list has one entry per item, in index order."""

    item_ids: list[str]
    titles: list[str] | None = None
    descriptions: list[str] | None = None
    categories: list[list[str]] | None = None  # one category path per item, root first
    brands: list[str] | None = None
    prices: np.ndarray | None = None  # float, NaN where unknown
    tags: list[list[str]] | None = None

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        for name in ("titles", "descriptions", "categories", "brands", "prices", "tags"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"Catalog.{name} has {len(value)} entries for {n} items")
        if len(set(self.item_ids)) != n:
            raise ValueError("Catalog.item_ids must be unique")
        self._index = {iid: i for i, iid in enumerate(self.item_ids)}

    def __len__(self) -> int:
        return len(self.item_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def index_of(self, item_id: str) -> int:
        return self._index[item_id]

    def title(self, i: int) -> str:
        return self.titles[i] if self.titles else f"item {self.item_ids[i]}"

    def category_ids(self) -> np.ndarray:
        """Item -> id of its full category path (1, 2, ... in sorted path order; 0 = no category)."""
        if not self.categories:
            return np.zeros(len(self), dtype=np.int64)
        paths = [" > ".join(c) if c else "" for c in self.categories]
        ids = {p: j + 1 for j, p in enumerate(sorted({p for p in paths if p}))}
        return np.array([ids.get(p, 0) for p in paths], dtype=np.int64)

    def category(self, i: int, level: int | None = None) -> str:
        """The category path as 'a > b > c' (or only one level of it)."""
        if not self.categories or not self.categories[i]:
            return ""
        path = self.categories[i]
        return path[level] if level is not None and level < len(path) else " > ".join(path)

    def item_text(self, i: int, fields: Sequence[str] = ("title", "brand", "categories", "price")) -> str:
        """One sentence describing item i from the fields this catalog has (TIGER §3.1)."""
        parts = []
        if "title" in fields and self.titles and self.titles[i]:
            parts.append(f"Title: {self.titles[i]}.")
        if "brand" in fields and self.brands and self.brands[i]:
            parts.append(f"Brand: {self.brands[i]}.")
        if "categories" in fields and self.categories and self.categories[i]:
            parts.append(f"Categories: {', '.join(self.categories[i])}.")
        if "price" in fields and self.prices is not None and np.isfinite(self.prices[i]):
            parts.append(f"Price: {self.prices[i]:.2f}.")
        if "description" in fields and self.descriptions and self.descriptions[i]:
            parts.append(self.descriptions[i])
        return " ".join(parts) or f"Item {self.item_ids[i]}."

    def to_frame(self):
        import pandas as pd

        cols = {"item": np.arange(self.n_items), "item_id": self.item_ids}
        if self.titles:
            cols["title"] = self.titles
        if self.categories:
            cols["category"] = [" > ".join(c) for c in self.categories]
        if self.brands:
            cols["brand"] = self.brands
        if self.prices is not None:
            cols["price"] = self.prices
        if self.tags:
            cols["tags"] = [", ".join(t) for t in self.tags]
        if self.descriptions:
            cols["description"] = self.descriptions
        return pd.DataFrame(cols)


@dataclass
class Interactions:
    """Per-user chronological item sequences (item indices into the catalog)."""

    user_ids: list[str]
    sequences: list[np.ndarray]
    timestamps: list[np.ndarray] | None = None  # same shapes as sequences, where known

    def __post_init__(self) -> None:
        if len(self.user_ids) != len(self.sequences):
            raise ValueError("one sequence per user is required")
        self.sequences = [np.asarray(s, dtype=np.int64) for s in self.sequences]
        if self.timestamps is not None:
            self.timestamps = [np.asarray(t, dtype=np.int64) for t in self.timestamps]
            if any(len(t) != len(s) for t, s in zip(self.timestamps, self.sequences)):
                raise ValueError("timestamps must match sequences in length")

    def __len__(self) -> int:
        return len(self.user_ids)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_interactions(self) -> int:
        return int(sum(len(s) for s in self.sequences))


@dataclass
class Dataset:
    name: str
    catalog: Catalog
    interactions: Interactions
    info: dict = field(default_factory=dict)  # provenance, generative parameters, notes

    def __post_init__(self) -> None:
        n = self.catalog.n_items
        for s in self.interactions.sequences:
            if len(s) and (s.min() < 0 or s.max() >= n):
                raise ValueError(f"{self.name}: a sequence refers to an item outside the catalog")

    @property
    def n_items(self) -> int:
        return self.catalog.n_items

    @property
    def n_users(self) -> int:
        return self.interactions.n_users

    def stats(self) -> dict:
        """Summary statistics (the numbers `llmrec-mini data stats` prints)."""
        lengths = np.array([len(s) for s in self.interactions.sequences])
        n_inter = int(lengths.sum())
        counts = np.bincount(np.concatenate(self.interactions.sequences), minlength=self.n_items) if n_inter else np.zeros(self.n_items)
        repeats = int(sum(len(s) - len(np.unique(s)) for s in self.interactions.sequences))
        return {
            "dataset": self.name,
            "users": self.n_users,
            "items": self.n_items,
            "interactions": n_inter,
            "density": n_inter / max(1, self.n_users * self.n_items),
            "seq_len_mean": float(lengths.mean()) if len(lengths) else 0.0,
            "seq_len_median": float(np.median(lengths)) if len(lengths) else 0.0,
            "seq_len_min": int(lengths.min()) if len(lengths) else 0,
            "seq_len_max": int(lengths.max()) if len(lengths) else 0,
            "item_freq_min": int(counts.min()) if len(counts) else 0,
            "item_freq_max": int(counts.max()) if len(counts) else 0,
            "repeated_items": repeats,
            "has_timestamps": self.interactions.timestamps is not None,
            "text_fields": [
                f for f in ("titles", "descriptions", "categories", "brands", "prices", "tags")
                if getattr(self.catalog, f) is not None
            ],
        }


def from_events(
    name: str,
    events: Iterable[tuple[str, str, int]],
    items: dict[str, dict] | None = None,
    *,
    item_order: str = "first_seen",
    info: dict | None = None,
) -> Dataset:
    """Build a Dataset from raw ``(user_id, item_id, timestamp)`` events.

    Each user's events are sorted by timestamp with a *stable* sort, so ties keep file order
    (the documented tie-breaking rule). Users are indexed in order of first appearance in the
    file; items in order of first appearance in the time-sorted user sequences, users taken in
    that same order (``item_order="first_seen"``), or by sorted id (``"sorted"``).
    ``items`` maps item id -> optional fields: title, description, categories, brand, price, tags.
    """
    per_user: dict[str, list[tuple[int, int, str]]] = {}
    for pos, (u, i, t) in enumerate(events):
        per_user.setdefault(u, []).append((int(t), pos, i))
    users = list(per_user)
    ordered = {u: [i for _, _, i in sorted(per_user[u], key=lambda e: (e[0], e[1]))] for u in users}
    times = {u: sorted(t for t, _, _ in per_user[u]) for u in users}
    if item_order == "first_seen":
        item_ids: list[str] = []
        seen: set[str] = set()
        for u in users:
            for i in ordered[u]:
                if i not in seen:
                    seen.add(i)
                    item_ids.append(i)
    elif item_order == "sorted":
        item_ids = sorted({i for u in users for i in ordered[u]})
    else:
        raise ValueError(f"unknown item_order {item_order!r}")
    index = {iid: k for k, iid in enumerate(item_ids)}
    items = items or {}

    def field_list(key, default=None):
        vals = [items.get(i, {}).get(key, default) for i in item_ids]
        return vals if any(v not in (None, "", []) for v in vals) else None

    prices = field_list("price")
    catalog = Catalog(
        item_ids=item_ids,
        titles=field_list("title", ""),
        descriptions=field_list("description", ""),
        categories=field_list("categories", []),
        brands=field_list("brand", ""),
        prices=None if prices is None else np.array([np.nan if p is None else float(p) for p in prices]),
        tags=field_list("tags", []),
    )
    interactions = Interactions(
        user_ids=users,
        sequences=[np.array([index[i] for i in ordered[u]], dtype=np.int64) for u in users],
        timestamps=[np.array(times[u], dtype=np.int64) for u in users],
    )
    return Dataset(name=name, catalog=catalog, interactions=interactions, info=info or {})
