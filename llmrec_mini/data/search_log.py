"""A search log on the built-in shop: queries, impression lists and nested click / order labels.

OnePiece (arXiv 2509.18091) is trained on Shopee's *personalized search* logs: a user types a
query, the engine shows a list of items (impressions), the user clicks some and orders some. This
module turns any dataset with category paths (the built-in shop of `make_synthetic` in particular)
into such a log, deterministically from a seed:

* **one event per interaction**: the item the user interacted with at step t of their sequence is
  the item they *ordered* in search event t (so the sequence of orders is the dataset's sequence,
  and the package's leave-one-out split is the log's split: the last event of a user is a test
  event, the one before a validation event, the rest training events);
* **the query** expresses the intent behind the order, drawn from the target item: its leaf category
  (``"cameras"``), a *modifier + noun*, the item's price tier then its leaf (``"budget cameras"``,
  ``"premium mugs"``: below or above the leaf's median price, `price_tiers`), or, vaguely, the
  parent category (``"electronics"``), with shares ``query_mix`` (default 35% / 25% / 40%). A query
  names a set of items, never one item: which of them the user orders is their own taste (brand,
  price level, what they bought before);
* **impressions**: ``n_impressions`` items shown in a random order: the target, items of the
  query's category (by popularity, boosted where the tier matches) and a few bestsellers;
* **feedback chain**: the target is clicked and ordered; another shown item is clicked with a
  probability that grows when it shares the target's leaf, the user's favourite brands (the two
  most frequent in the user's sequence, a stand-in for the shop's hidden taste) or a price near the
  target's, so clicks carry the user's taste. Labels are nested by construction: ``orders``
  implies ``clicks`` implies shown (OnePiece's pitfall: label chains must be nested).

**Preference anchors** (`query_anchors`, `training_anchors`): for each query, the items most often
ordered, clicked and shown under it (`query_counts`), counted over *training* events only, so no
validation or test event ever reaches an anchor. A training event's own anchors leave the event
itself out of the counts (its own order would otherwise sit in its context, which never happens at
test time). `SearchLog.stats` reports sizes, rates and how often the test order is an anchor.

`SearchLog.from_split(split, catalog)` builds the degenerate log of a plain next-item split (no
queries in the data): the "query" of an event is the leaf category of the user's previous item,
and the only shown, clicked and ordered item is the next one. The OnePiece model uses it when no
log is given, so it also runs on ``llmrec-mini evaluate`` and on real datasets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import Dataset
from .sequences import Split, leave_one_out

PARTS = ("train", "valid", "test")
SIGNALS = ("orders", "clicks", "impressions")  # the anchor groups, most to least specific
QUERY_KINDS = ("leaf", "modifier", "parent", "previous item")


def _leaf(catalog, i: int) -> str:
    path = catalog.categories[i] if catalog.categories else None
    return path[-1].lower() if path else "items"


def _parent(catalog, i: int) -> str:
    path = catalog.categories[i] if catalog.categories else None
    return path[-2].lower() if path and len(path) > 1 else _leaf(catalog, i)


@dataclass
class SearchLog:
    """Search events in user order (``user``, then ``pos``); E events, impression lists of length L.

    ``queries``: the query strings (a query id indexes it); ``item_query``: each item's leaf-category
    query id (the fallback query of a history); ``query_kind``: per query, one of `QUERY_KINDS`.
    Per event: ``user``, ``pos`` (index in the user's sequence: the ordered item is
    ``sequences[user][pos]``), ``query``, ``part`` (0 train, 1 valid, 2 test), ``impressions``
    (E, L) item indices (-1 = empty slot), ``clicks`` and ``orders`` (E, L) booleans.
    ``split``: the leave-one-out split whose targets are the test / validation events' orders.
    """

    queries: list[str]
    query_kind: list[str]
    item_query: np.ndarray
    user: np.ndarray
    pos: np.ndarray
    query: np.ndarray
    part: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    orders: np.ndarray
    split: Split
    seed: int = 0

    def __post_init__(self):
        shown = self.impressions >= 0
        if (self.clicks & ~shown).any() or (self.orders & ~self.clicks).any():
            raise ValueError("labels are not nested: every order must be clicked and every click shown")
        self._row = {(int(u), int(p)): e for e, (u, p) in enumerate(zip(self.user, self.pos))}

    def __len__(self) -> int:
        return len(self.user)

    @property
    def n_items(self) -> int:
        return self.split.n_items

    @property
    def targets(self) -> np.ndarray:
        """(E,) the ordered item of each event (the first order of its list)."""
        return self.impressions[np.arange(len(self)), self.orders.argmax(1)]

    def events(self, part: str) -> np.ndarray:
        """Event rows of one part: "train", "valid" or "test"."""
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {part!r}")
        return np.flatnonzero(self.part == PARTS.index(part))

    def row(self, user: int, pos: int) -> int | None:
        """The event row of ``user``'s ``pos``-th order (None if there is none)."""
        return self._row.get((int(user), int(pos)))

    def history(self, e: int) -> np.ndarray:
        """The orders before event ``e``: its interaction history."""
        return _prefix(self.split, int(self.user[e]), int(self.pos[e]))

    def context(self, rows) -> dict:
        """What a ranker knows about events ``rows``: histories, users, query ids and texts."""
        rows = np.asarray(rows, dtype=np.int64)
        return {"histories": [self.history(e) for e in rows], "users": self.user[rows], "queries": self.query[rows],
                "query_text": [self.queries[q] for q in self.query[rows]]}

    def describe(self, e: int, catalog=None) -> str:
        """One event as text: the query, then each shown item marked ordered / clicked."""
        lines = [f"user {self.user[e]}, event {self.pos[e]} ({PARTS[self.part[e]]}): "
                 f"query {self.queries[self.query[e]]!r}"]
        for item, c, o in zip(self.impressions[e], self.clicks[e], self.orders[e]):
            if item >= 0:
                mark = "ordered" if o else "clicked" if c else "shown"
                name = catalog.title(int(item)) if catalog is not None else f"item {item}"
                lines.append(f"  {mark:>7}  {name}")
        return "\n".join(lines)

    def stats(self) -> dict:
        """Sizes and rates of the log, and how informative the query-level anchors are."""
        shown = self.impressions >= 0
        kinds = np.array(self.query_kind)[self.query]
        test = self.events("test")
        table = query_anchors(self, k=10)
        hit = [self.targets[e] in table[self.query[e], 0] for e in test]
        return {
            "events": len(self), "users": len(self.split.train),
            **{f"{p}_events": int((self.part == j).sum()) for j, p in enumerate(PARTS)},
            "queries": len(self.queries),
            **{f"share_{k.replace(' ', '_')}_queries": float((kinds == k).mean()) for k in QUERY_KINDS},
            "impressions_per_event": float(shown.sum(1).mean()),
            "clicks_per_event": float(self.clicks.sum(1).mean()),
            "ctr": float(self.clicks.sum() / max(1, shown.sum())),
            "orders_per_click": float(self.orders.sum() / max(1, self.clicks.sum())),
            "test_target_in_top10_orders_anchor": float(np.mean(hit)) if len(hit) else 0.0,
        }

    # ------------------------------------------------------------------ the plain next-item log
    @classmethod
    def from_split(cls, split: Split, catalog=None) -> "SearchLog":
        """The log of a split without queries: event t of a user asks for the leaf category of the
        previous item (``item_query``) and shows, clicks and orders the next item only. Training
        events are every training transition; each validation / test row is one more event."""
        n = split.n_items
        leaves = [_leaf(catalog, i) if catalog is not None else "items" for i in range(n)]
        queries = sorted(set(leaves))
        qid = {q: j for j, q in enumerate(queries)}
        item_query = np.array([qid[x] for x in leaves], dtype=np.int64)
        rows = []  # (user, pos, target, part, the previous item)
        for u, s in enumerate(split.train):
            rows += [(u, t, s[t], 0, s[t - 1]) for t in range(1, len(s))]
        for j, ev in ((1, split.valid), (2, split.test)):
            rows += [(u, len(h), y, j, h[-1]) for u, h, y in zip(ev.users, ev.histories, ev.targets) if len(h)]
        user, pos, target, part, prev = (np.array(x, dtype=np.int64).reshape(-1) for x in zip(*rows)) if rows \
            else (np.zeros(0, dtype=np.int64),) * 5
        order = np.lexsort((pos, user))
        ones = np.ones((len(order), 1), dtype=bool)
        return cls(queries, ["previous item"] * len(queries), item_query, user[order], pos[order],
                   item_query[prev[order]], part[order], target[order, None], ones, ones.copy(), split)


def _prefix(split: Split, u: int, p: int) -> np.ndarray:
    """User ``u``'s first ``p`` orders (past the training part: from the test history, which in a
    leave-one-out split holds every order but the last)."""
    seq = split.train[u]
    if p > len(seq):
        seq = split.test.histories[int(np.searchsorted(split.test.users, u))]
    return np.asarray(seq[:p])


# ---------------------------------------------------------------------------------------------- generation
def make_search_log(dataset: Dataset | str = "default", seed: int = 0, n_impressions: int = 10,
                    query_mix: tuple[float, float, float] = (0.35, 0.25, 0.4), bestseller_share: float = 0.2,
                    click_base: float = 0.04) -> SearchLog:
    """The search log of a dataset (or of ``make_synthetic(size, seed)`` when given a size name).

    ``query_mix``: shares of leaf, tier + leaf and parent-category queries; ``bestseller_share``:
    share of the non-target impressions drawn from the global top 5%; ``click_base``: the click
    probability of a shown item that matches nothing the user cares about.
    """
    if isinstance(dataset, str):
        from .synthetic import make_synthetic

        dataset = make_synthetic(dataset, seed=seed)
    if not isinstance(dataset, Dataset):
        raise ValueError(f"make_search_log needs a Dataset or a synthetic size name, got {type(dataset).__name__}")
    if isinstance(n_impressions, bool) or not isinstance(n_impressions, int) or n_impressions < 2:
        raise ValueError(f"n_impressions must be an int >= 2, got {n_impressions!r}")
    mix = np.asarray(query_mix, dtype=float)
    if mix.shape != (3,) or (mix < 0).any() or mix.sum() <= 0:
        raise ValueError(f"query_mix must be three shares >= 0 (leaf, modifier, parent), got {query_mix!r}")
    if not 0 <= bestseller_share <= 1 or not 0 <= click_base <= 1:
        raise ValueError("bestseller_share and click_base must be in [0, 1]")
    catalog, n = dataset.catalog, dataset.n_items
    if not catalog.categories:
        raise ValueError(f"{dataset.name} has no item categories: a search log needs them for its queries")
    rng = np.random.default_rng(seed)
    split = leave_one_out(dataset)
    leaf = np.array([_leaf(catalog, i) for i in range(n)], dtype=object)
    parent = np.array([_parent(catalog, i) for i in range(n)], dtype=object)
    tier = np.array(price_tiers(catalog), dtype=object)
    members = {key: {v: np.flatnonzero(arr == v) for v in set(arr)}
               for key, arr in (("leaf", leaf), ("parent", parent))}
    brand = np.array(catalog.brands if catalog.brands else [""] * n)
    log_price = np.log(np.where(np.isfinite(catalog.prices), catalog.prices, 1.0)) if catalog.prices is not None \
        else np.zeros(n)
    counts = np.bincount(np.concatenate(dataset.interactions.sequences), minlength=n).astype(float) + 1.0
    bestsellers = np.argsort(-counts, kind="stable")[: max(n_impressions, n // 20)]

    queries: dict[str, int] = {}
    kinds: list[str] = []

    def query_id(text: str, kind: str) -> int:
        if text not in queries:
            queries[text] = len(queries)
            kinds.append(kind)
        return queries[text]

    for x in sorted(set(leaf)):  # every leaf is a query (the fallback of a bare history)
        query_id(x, "leaf")
    item_query = np.array([queries[x] for x in leaf], dtype=np.int64)

    L = n_impressions
    users, pos, qs, parts, imps, clicks = [], [], [], [], [], []
    for u, seq in enumerate(dataset.interactions.sequences):
        fav = [b for b, _ in _top(brand[seq], 2)]  # the user's taste: favourite brands
        for t, target in enumerate(seq):
            # the query behind this order: leaf, price tier + leaf, or the vague parent category
            kind = rng.choice(3, p=mix / mix.sum())
            if kind == 1:
                q, scope = query_id(f"{tier[target]} {leaf[target]}", "modifier"), members["leaf"][leaf[target]]
                boost = 1 + 3 * (tier[scope] == tier[target])
            elif kind == 2:
                q, scope = query_id(parent[target], "parent"), members["parent"][parent[target]]
                boost = np.ones(len(scope))
            else:
                q, scope = queries[leaf[target]], members["leaf"][leaf[target]]
                boost = np.ones(len(scope))
            # impressions: the target, items the query matches, bestsellers; shown in a random order
            shown = [int(target)]
            n_best = int(rng.binomial(L - 1, bestseller_share))
            for pool, w, m in ((scope, counts[scope] * boost, L - 1 - n_best), (bestsellers, counts[bestsellers], L)):
                free = ~np.isin(pool, shown)
                k = min(m, L - len(shown), int(free.sum()))
                if k > 0:
                    p = w[free] / w[free].sum()
                    shown += rng.choice(pool[free], size=k, replace=False, p=p).tolist()
            shown = np.array(shown)[rng.permutation(len(shown))]
            # clicks: the target always; another item more often when it fits the intent or the taste
            p_click = (click_base + 0.25 * (leaf[shown] == leaf[target]) + 0.2 * np.isin(brand[shown], fav)
                       + 0.15 * (np.abs(log_price[shown] - log_price[target]) < 0.3))
            clicked = (rng.random(len(shown)) < np.minimum(p_click, 0.9)) | (shown == target)
            row_items = np.full(L, -1, dtype=np.int64)
            row_items[: len(shown)] = shown
            row_clicks = np.zeros(L, dtype=bool)
            row_clicks[: len(shown)] = clicked
            users.append(u), pos.append(t), qs.append(q), imps.append(row_items), clicks.append(row_clicks)
            parts.append(2 if len(seq) >= 3 and t == len(seq) - 1 else 1 if len(seq) >= 3 and t == len(seq) - 2 else 0)
    impressions = np.stack(imps) if imps else np.zeros((0, L), dtype=np.int64)
    targets = np.array([dataset.interactions.sequences[u][t] for u, t in zip(users, pos)], dtype=np.int64)
    return SearchLog([str(q) for q in queries], kinds, item_query, np.array(users, dtype=np.int64),
                     np.array(pos, dtype=np.int64),
                     np.array(qs, dtype=np.int64), np.array(parts, dtype=np.int64), impressions,
                     np.stack(clicks) if clicks else np.zeros((0, L), dtype=bool), impressions == targets[:, None],
                     split, seed)


def price_tiers(catalog) -> list[str]:
    """Each item's price tier inside its leaf category: "budget" below the leaf's median price,
    "premium" at or above it ("" without prices)."""
    n = len(catalog)
    if catalog.prices is None:
        return [""] * n
    leaf = [_leaf(catalog, i) for i in range(n)]
    median = {x: np.nanmedian([catalog.prices[i] for i in range(n) if leaf[i] == x]) for x in set(leaf)}
    return ["budget" if catalog.prices[i] < median[leaf[i]] else "premium" if np.isfinite(catalog.prices[i]) else ""
            for i in range(n)]


def _top(values: np.ndarray, k: int) -> list[tuple[str, int]]:
    keys, cnt = np.unique(values, return_counts=True)
    order = np.lexsort((keys, -cnt))[:k]
    return [(keys[j], int(cnt[j])) for j in order]


# ---------------------------------------------------------------------------------------------- anchors
def query_counts(log: SearchLog, rows: np.ndarray | None = None) -> np.ndarray:
    """(n_queries, 3, n_items) how often each item was ordered / clicked / shown under each query, over
    the events ``rows`` (default: the training events). Its order counts are the query-popularity
    baseline: rank the catalog by how often it was bought under the query."""
    rows = log.events("train") if rows is None else np.asarray(rows)
    out = np.zeros((len(log.queries), len(SIGNALS), log.n_items), dtype=np.float64)
    for s, labels in enumerate((log.orders, log.clicks, log.impressions >= 0)):
        r, c = np.nonzero(labels[rows])
        np.add.at(out[:, s], (log.query[rows][r], log.impressions[rows][r, c]), 1.0)
    return out


def _top_k(counts: np.ndarray, k: int) -> np.ndarray:
    """(..., n_items) counts -> (..., k) the most counted items (ties: lower index first), -1 where count 0."""
    order = np.argsort(-counts, axis=-1, kind="stable")[..., :k]
    top = np.take_along_axis(counts, order, -1)
    return np.where(top > 0, order, -1)


def query_anchors(log: SearchLog, k: int = 10) -> np.ndarray:
    """(n_queries, 3, k) each query's top-k ordered, clicked and shown items over the training events
    (-1 pads a query with fewer items). What the context of a validation or test event holds."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    return _top_k(query_counts(log, log.events("train")), k)


def training_anchors(log: SearchLog, k: int = 10, chunk: int = 2048) -> np.ndarray:
    """(n_train_events, 3, k) the anchors of each training event (rows of ``log.events("train")``),
    counted over the *other* training events: the event's own labels are subtracted first."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    rows = log.events("train")
    counts = query_counts(log, rows)
    out = np.empty((len(rows), len(SIGNALS), k), dtype=np.int64)
    for a in range(0, len(rows), chunk):
        r = rows[a:a + chunk]
        own = counts[log.query[r]].copy()  # (c, 3, n_items)
        for s, labels in enumerate((log.orders, log.clicks, log.impressions >= 0)):
            i, j = np.nonzero(labels[r])
            np.subtract.at(own[:, s], (i, log.impressions[r][i, j]), 1.0)
        out[a:a + chunk] = _top_k(own, k)
    return out
