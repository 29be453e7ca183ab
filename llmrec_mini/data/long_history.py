"""Long-history mode of the built-in shop: lifelong users with thousands to a million events each.

VISTA (and HSTU, SIM, TWIN) exist because a user's *whole* history carries signal that the last
few dozen events do not. The ordinary built-in shop (`synthetic.py`) has sequences of ~15 items,
so nothing there needs long memory. This module generates users whose next item, at the moments
that matter, depends on something they did hundreds to thousands of events earlier, over the same kind of
catalog (it reuses the shop's catalog builder; at the default size it is the exact catalog of
``load_dataset("synthetic", size="default", seed=seed)``).

Generative story
----------------
*The world* (one per seed; `LongHistoryWorld`):

1. **Catalog.** The shop's catalog (departments > leaf categories, brands, titles, prices, tags).
2. **Popularity.** Inside each leaf category, item popularity is Zipf-like over a random rank:
   ``pop(i) ∝ 1 / (1 + rank(i))^popularity_exponent``. Leaves have an appeal
   ``A(l) ∝ 1 / (1 + rank(l))``; global popularity ``g(i) = pop(i) · A(leaf(i))``.
3. **Follow-ups** ("the next in the series": the next volume, the refill, the upgrade). Each item
   ``i`` gets ``F = n_followups`` other items of its *own* leaf, ``f(i, 1..F)`` (distinct where the
   leaf has more than ``F`` items), drawn with weight 4 for an item of the same brand, 1 otherwise.

*A user* ``u`` (every draw from a generator seeded by ``(seed, u)`` alone, so any user's history
can be generated on its own, in any order, without the others):

4. **Long-lived tastes.** ``K = n_tastes`` leaves ``T_u`` drawn without replacement with
   probability ∝ ``A``, visited with weights ``w ~ Dirichlet(taste_concentration · 1_K)``. The
   other leaves are *passing interests* (probability ∝ ``A``). A favourite brand per department
   gives the user's item weights ``π_u(i) ∝ pop(i) · (brand_boost if brand(i) is the favourite
   else 1)``, normalised inside each leaf; ``draw(l)`` samples an item of leaf ``l`` from ``π_u``.
5. **The stream** alternates forever: *noise block, taste visit, noise block, taste visit, ...*

   * **Noise block** (short-term noise and popularity). Length ``B ~ Geometric(1 / noise_mean)``
     (capped at ``20 · noise_mean``). ``M ~ Binomial(B, p_bestseller)`` of its events are
     *bestsellers*: drawn ∝ ``g`` among the ``max(10, n_items // 20)`` items of highest ``g``
     outside the user's taste leaves (so noise never touches a taste, and a taste's anchor below
     is always from its own visits), inserted at uniformly random places among the other
     ``B - M``, which form *runs* of passing interests: run length ``R ~ Geometric(1 / run_mean)``, leaf
     ``l`` ∝ ``A`` over the leaves that are not tastes; a run's first item is ``draw(l)``, each
     later one is ``f(prev, k)``, ``k ~ U{1..F}``, with probability ``p_follow``, else ``draw(l)``.
   * **Taste visit.** Taste ``j ~ w`` restricted to ``j ≠`` the previous visit's taste
     (renormalised); ``l = T_u[j]``; length ``V = 1 + Geometric(1 / (visit_mean - 1)) >= 2``
     (capped at ``1 + 20 · visit_mean``):

     - ``e_0`` (*cue*, kind ``CUE``) ``= draw(l)``: the user is back in the category;
     - ``e_1`` (*return*, kind ``RETURN``) ``= f(a, k)`` with probability ``p_recall``, else
       ``draw(l)``, where ``a`` (the *anchor*) is the last item the user bought in ``l``, in
       any earlier event. A first visit has no anchor: ``e_1 = draw(l)``, kind ``TASTE``;
     - ``e_t`` (kind ``TASTE``), ``t >= 2``: ``f(e_{t-1}, k)`` with probability ``p_follow``,
       else ``draw(l)``.
6. **Timestamps** start at ``U[1.4e9, 1.5e9)`` seconds and grow by ``1 + Exponential(mean_gap_seconds)``.

**Why it needs long memory.** Between two visits of taste ``j`` lie at least two noise blocks and
one other visit, so the anchor is far back: at the default size (seed 0) the held-out return's
anchor lies ~790 events before the cue (median; mean ~1,000), and fewer than 1% of anchors lie
within the last 50 events (tiny size: median ~200, ~5%). The cue tells a
short-memory model *which* category the user is back in, so it can only guess that category's
popular items; the follow-ups of the anchor, bought long ago, are what the user actually buys
(with probability ``p_recall``). A model that reads the whole history finds the anchor; one that
reads the last 50 events almost never does. The same transition-count model reading the whole
history vs the last 50 events (tests/test_long_history.py), default size, seed 0: Recall@10
0.93 vs 0.33, NDCG@10 0.65 vs 0.15 (popularity: 0.04 / 0.02).

**Repeat consumption.** Histories of thousands of events over a catalog of ~1,500 items repeat
items, and a return is often an item the user bought before: evaluate with ``exclude_seen=False``
(``evaluate(model, split, exclude_seen=False)``), or the harness hides most correct answers.

Two ways in
-----------
* Stream: ``world = LongHistoryWorld(config, seed)`` then ``world.iter_user_events(user, n_events,
  chunk_size)`` yields `EventChunk` s (items, timestamps, kinds as numpy arrays) with bounded
  memory (a 1,000,000-event user never exists in memory at once: streaming one takes ~1.5 s and
  peaks at a few MiB with the default 65,536-event chunks); ``iter_user_events(user, ...)`` is
  the one-call version. The stream is a prefix-consistent function of ``(seed, user)``: the
  chunk size changes only where the arrays are cut, and a shorter ``n_events`` gives a prefix.
* Materialise: ``load_dataset("synthetic-long", size=...)`` / `make_long_history` build a
  `Dataset` (``tiny``, ``default``: 500 users x 2,000-5,000 events, ``large``: 100 users x
  10,000-20,000) for `leave_one_out` and the shared harness. User ``u`` gets a nominal length
  ``n_u ~ U{min_events..max_events}``; with ``end_on_revisit`` (default) the history is cut right
  after the last *return* at or before ``n_u`` (or, if there is none, the first one after), so
  the leave-one-out test target is always the moment long memory is for: the history ends with a
  cue and the target is the return. ``dataset.info["event_kinds"]`` holds every event's kind.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..config import Settings
from .core import Dataset, Interactions
from .synthetic import SyntheticConfig, _make_catalog

# event kinds (EventChunk.kinds, dataset.info["event_kinds"])
NOISE, BESTSELLER, CUE, RETURN, TASTE = range(5)
KINDS = ("noise", "bestseller", "cue", "return", "taste")
LEAVES_PER_DEPARTMENT = 5  # every department of the shop has five leaf categories


@dataclass
class LongHistoryConfig(Settings):
    """Settings of the long-history generator (see the module docstring for what each one does)."""

    n_users: int = 500  # users in a materialised dataset (the stream takes any user index)
    min_events: int = 2000  # nominal history length of a materialised user ~ U{min_events..max_events}
    max_events: int = 5000
    n_items: int = 1500  # catalog (the shop's builder)
    n_departments: int = 6
    brands_per_department: int = 5
    n_tastes: int = 5  # long-lived taste categories per user
    taste_concentration: float = 2.0  # Dirichlet concentration of the visit weights over tastes
    noise_mean: float = 250.0  # mean length of a noise block between two taste visits
    run_mean: float = 8.0  # mean length of a passing-interest run inside a noise block
    visit_mean: float = 6.0  # mean length of a taste visit (cue + return + continuation), >= 2
    p_recall: float = 0.85  # a return is a follow-up of the anchor bought long ago
    p_follow: float = 0.6  # inside a run or visit, the next item follows up the previous one
    p_bestseller: float = 0.05  # share of bestsellers among noise events
    n_followups: int = 3
    popularity_exponent: float = 0.9
    brand_boost: float = 3.0
    mean_gap_seconds: float = 1800.0
    end_on_revisit: bool = True  # materialised histories end with a return (the leave-one-out target)

    def check(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(f"LongHistoryConfig: {message}")

        need(self.n_users >= 1, f"n_users must be at least 1, got {self.n_users}")
        need(self.min_events >= 3,
             f"min_events must be at least 3 (leave-one-out needs 3 events), got {self.min_events}")
        need(self.max_events >= self.min_events,
             f"max_events ({self.max_events}) must be at least min_events ({self.min_events})")
        need(1 <= self.n_departments <= 6, f"n_departments must be in 1..6 (the shop has 6), got {self.n_departments}")
        need(self.brands_per_department >= 1,
             f"brands_per_department must be at least 1, got {self.brands_per_department}")
        n_leaves = LEAVES_PER_DEPARTMENT * self.n_departments
        need(self.n_followups >= 1, f"n_followups must be at least 1, got {self.n_followups}")
        need(self.n_items >= (self.n_followups + 1) * n_leaves,
             f"n_items must be at least (n_followups + 1) x {n_leaves} leaves = {(self.n_followups + 1) * n_leaves} "
             f"so that every leaf can have follow-ups, got {self.n_items}")
        need(1 <= self.n_tastes <= n_leaves - 1,
             f"n_tastes must be in 1..{n_leaves - 1} (the other leaves are passing interests), got {self.n_tastes}")
        need(self.taste_concentration > 0, f"taste_concentration must be positive, got {self.taste_concentration}")
        need(self.noise_mean >= 1, f"noise_mean must be at least 1, got {self.noise_mean}")
        need(self.run_mean >= 1, f"run_mean must be at least 1, got {self.run_mean}")
        need(self.visit_mean >= 2, f"visit_mean must be at least 2 (a cue and a return), got {self.visit_mean}")
        for name in ("p_recall", "p_follow", "p_bestseller"):
            need(0 <= getattr(self, name) <= 1, f"{name} must be in [0, 1], got {getattr(self, name)}")
        need(self.p_bestseller < 1, "p_bestseller must be below 1 (noise blocks need passing interests)")
        need(self.popularity_exponent >= 0, f"popularity_exponent must be >= 0, got {self.popularity_exponent}")
        need(self.brand_boost > 0, f"brand_boost must be positive, got {self.brand_boost}")
        need(self.mean_gap_seconds > 0, f"mean_gap_seconds must be positive, got {self.mean_gap_seconds}")

    def catalog_config(self) -> SyntheticConfig:
        """The shop settings its catalog builder reads."""
        return SyntheticConfig(n_items=self.n_items, n_departments=self.n_departments,
                               brands_per_department=self.brands_per_department)


SIZES = {
    "tiny": dict(n_users=80, min_events=600, max_events=1500, n_items=400, n_departments=3, brands_per_department=3,
                 n_tastes=3, noise_mean=100.0, visit_mean=5.0),
    "default": {},
    "large": dict(n_users=100, min_events=10_000, max_events=20_000),
}


def long_history_config(size: str = "default", **overrides) -> LongHistoryConfig:
    """The settings of a named size, with any field overridden (ValueError naming the problem)."""
    if size not in SIZES:
        raise ValueError(f"unknown synthetic-long size {size!r}; choose one of {', '.join(SIZES)}")
    unknown = sorted(set(overrides) - LongHistoryConfig.names())
    if unknown:
        raise ValueError(f"unknown synthetic-long setting(s) {', '.join(map(repr, unknown))}; accepted: "
                         f"{', '.join(f.name for f in dataclasses.fields(LongHistoryConfig))}")
    return LongHistoryConfig(**{**SIZES[size], **overrides})


@dataclass(frozen=True)
class EventChunk:
    """A piece of one user's history: events ``start .. start + len(chunk) - 1``."""

    start: int
    items: np.ndarray  # int64 item indices
    timestamps: np.ndarray  # int64 seconds
    kinds: np.ndarray  # int8: NOISE, BESTSELLER, CUE, RETURN or TASTE

    def __len__(self) -> int:
        return len(self.items)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


class _User:
    """One user's fixed traits (drawn first from the user's generator)."""

    def __init__(self, world: "LongHistoryWorld", rng: np.random.Generator):
        c, n_leaves = world.config, world.n_leaves
        self.tastes = rng.choice(n_leaves, size=c.n_tastes, replace=False, p=world.leaf_appeal)
        self.weights = rng.dirichlet(np.full(c.n_tastes, c.taste_concentration))
        passing = np.setdiff1d(np.arange(n_leaves), self.tastes)
        self.passing = passing
        self.passing_p = world.leaf_appeal[passing] / world.leaf_appeal[passing].sum()
        fav = np.array([rng.choice(b) for b in world.dept_brands])  # favourite brand per department
        weight = world.popularity * np.where(world.brand_code == fav[world.item_dept], c.brand_boost, 1.0)
        self.cdf = world.leaf_cdf(weight)
        outside = world.by_popularity[~np.isin(world.leaf_of[world.by_popularity], self.tastes)]
        self.bestsellers = outside[: world.n_bestsellers]  # the shop's bestsellers outside the user's tastes
        cum = np.cumsum(world.global_pop[self.bestsellers])
        self.bestseller_cdf = cum / cum[-1]
        self.start_time = int(rng.integers(1_400_000_000, 1_500_000_000))


class LongHistoryWorld:
    """The catalog and the item structure shared by every user of one seed; generates users' streams."""

    def __init__(self, config: LongHistoryConfig | None = None, seed: int = 0):
        self.config = c = config if config is not None else LongHistoryConfig()
        self.seed = seed = _check_seed(seed)
        rng = np.random.default_rng(seed)
        self.catalog, leaves, leaf_of, _ = _make_catalog(c.catalog_config(), rng)
        self.leaves = [" > ".join(x) for x in leaves]
        self.n_leaves = n_leaves = len(leaves)
        self.leaf_of = leaf_of = np.asarray(leaf_of, dtype=np.int64)  # sorted: each leaf is a contiguous block
        self.leaf_start = np.searchsorted(leaf_of, np.arange(n_leaves), side="left")
        self.leaf_last = np.searchsorted(leaf_of, np.arange(n_leaves), side="right") - 1
        self.popularity = np.empty(c.n_items)
        for lf in range(n_leaves):
            block = slice(self.leaf_start[lf], self.leaf_last[lf] + 1)
            size = self.leaf_last[lf] + 1 - self.leaf_start[lf]
            self.popularity[block] = 1.0 / (1.0 + rng.permutation(size)) ** c.popularity_exponent
        self.leaf_appeal = 1.0 / (1.0 + rng.permutation(n_leaves))
        self.leaf_appeal /= self.leaf_appeal.sum()
        self.global_pop = self.popularity * self.leaf_appeal[leaf_of]
        self.by_popularity = np.argsort(-self.global_pop, kind="stable")
        self.n_bestsellers = max(10, c.n_items // 20)
        brands = np.array(self.catalog.brands)
        self.brand_code = np.unique(brands, return_inverse=True)[1]
        dept_names = sorted({cat[0] for cat in self.catalog.categories})
        self.item_dept = np.array([dept_names.index(cat[0]) for cat in self.catalog.categories])
        self.dept_brands = [np.unique(self.brand_code[self.item_dept == d]) for d in range(len(dept_names))]
        # follow-ups: F other items of the same leaf, same brand 4x as likely
        F = c.n_followups
        self.followups = np.empty((c.n_items, F), dtype=np.int64)
        for i in range(c.n_items):
            lf = leaf_of[i]
            cand = np.arange(self.leaf_start[lf], self.leaf_last[lf] + 1)
            cand = cand[cand != i]
            w = np.where(self.brand_code[cand] == self.brand_code[i], 4.0, 1.0)
            self.followups[i] = rng.choice(cand, size=F, replace=len(cand) < F, p=w / w.sum())

    # ------------------------------------------------------------------ helpers
    def leaf_cdf(self, weight: np.ndarray) -> np.ndarray:
        """``leaf(i) + P(item <= i | leaf)``: one sorted array from which `_draw` samples any leaf at once."""
        cdf = np.empty(len(weight))
        for lf in range(self.n_leaves):
            block = slice(self.leaf_start[lf], self.leaf_last[lf] + 1)
            cum = np.cumsum(weight[block])
            cdf[block] = lf + cum / cum[-1]
        cdf[self.leaf_last] = np.arange(self.n_leaves) + 1.0  # exact upper ends
        return cdf

    def _draw(self, user: _User, leaves: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One item per entry of ``leaves``, each from the user's weights inside that leaf."""
        leaves = np.asarray(leaves, dtype=np.int64)
        idx = np.searchsorted(user.cdf, leaves + rng.random(len(leaves)), side="right")
        return np.minimum(idx, self.leaf_last[leaves])  # guards the float edge at leaf + 1

    def _chain(self, base: int | None, fresh: np.ndarray, follow: np.ndarray, k: np.ndarray) -> np.ndarray:
        """items[t] = followups[items[t-1], k[t]] where follow[t], else fresh[t] (items[-1] = base)."""
        items = np.concatenate([[-1 if base is None else base], fresh]).astype(np.int64)
        flags = np.concatenate([[False], follow])
        kk = np.concatenate([[0], k])
        pos = np.arange(len(items))
        depth = pos - np.maximum.accumulate(np.where(flags, -1, pos))  # steps since the last fresh item
        for d in range(1, int(depth.max()) + 1):  # resolve the chains one step at a time
            at = np.flatnonzero(depth == d)
            items[at] = self.followups[items[at - 1], kk[at]]
        return items[1:]

    def _noise(self, user: _User, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        B = int(min(rng.geometric(1.0 / c.noise_mean), 20 * c.noise_mean))
        m = int(rng.binomial(B, c.p_bestseller))
        n = B - m
        items = np.empty(0, dtype=np.int64)
        if n:
            lengths = rng.geometric(1.0 / c.run_mean, size=int(n / c.run_mean) + 4)
            while lengths.sum() < n:
                lengths = np.concatenate([lengths, rng.geometric(1.0 / c.run_mean, size=8)])
            ends = np.cumsum(lengths)
            n_runs = int(np.searchsorted(ends, n)) + 1
            lengths = lengths[:n_runs].copy()
            lengths[-1] -= ends[n_runs - 1] - n
            run_leaf = user.passing[rng.choice(len(user.passing), size=n_runs, p=user.passing_p)]
            leaf = np.repeat(run_leaf, lengths)
            follow = rng.random(n) < c.p_follow
            follow[np.concatenate([[0], np.cumsum(lengths)[:-1]])] = False  # a run starts fresh
            items = self._chain(None, self._draw(user, leaf, rng), follow, rng.integers(0, c.n_followups, size=n))
        kinds = np.full(n, NOISE, dtype=np.int8)
        if m:
            where = rng.integers(0, n + 1, size=m)
            best = user.bestsellers[np.searchsorted(user.bestseller_cdf, rng.random(m), side="right")
                                    .clip(max=len(user.bestsellers) - 1)]
            items = np.insert(items, where, best)
            kinds = np.insert(kinds, where, BESTSELLER)
        return items, kinds

    def _visit(self, user: _User, taste: int, anchor: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        leaf = user.tastes[taste]
        V = int(1 + min(rng.geometric(1.0 / (c.visit_mean - 1)), 20 * c.visit_mean))
        cue, first = self._draw(user, [leaf, leaf], rng)
        kinds = np.full(V, TASTE, dtype=np.int8)
        kinds[0] = CUE
        if anchor >= 0:
            kinds[1] = RETURN
            if rng.random() < c.p_recall:
                first = self.followups[anchor, rng.integers(0, c.n_followups)]
        rest = np.empty(0, dtype=np.int64)
        if V > 2:
            rest = self._chain(int(first), self._draw(user, np.full(V - 2, leaf), rng),
                               rng.random(V - 2) < c.p_follow, rng.integers(0, c.n_followups, size=V - 2))
        return np.concatenate([[cue, first], rest]).astype(np.int64), kinds

    def _segments(self, user_index: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The endless stream of one user as (items, kinds, timestamps) segments: noise, visit, noise, ..."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0, user_index)))
        user = _User(self, rng)
        last_in_leaf = np.full(self.n_leaves, -1, dtype=np.int64)
        previous, now = -1, user.start_time

        def stamped(items: np.ndarray, kinds: np.ndarray):
            nonlocal now
            times = now + np.cumsum(1 + rng.exponential(self.config.mean_gap_seconds, size=len(items)).astype(np.int64))
            now = int(times[-1])
            leaves, last = np.unique(self.leaf_of[items[::-1]], return_index=True)
            last_in_leaf[leaves] = items[::-1][last]  # the latest item of each leaf: the anchors
            return items, kinds, times

        while True:
            yield stamped(*self._noise(user, rng))
            p = user.weights.copy()
            if previous >= 0 and len(p) > 1:
                p[previous] = 0.0
            previous = taste = int(rng.choice(len(p), p=p / p.sum()))
            yield stamped(*self._visit(user, taste, int(last_in_leaf[user.tastes[taste]]), rng))

    # ------------------------------------------------------------------ public
    def user_traits(self, user: int) -> dict:
        """The user's long-lived taste leaves and visit weights (as drawn at the start of its stream)."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0, _check_user(user))))
        u = _User(self, rng)
        return {"tastes": u.tastes.tolist(), "taste_leaves": [self.leaves[t] for t in u.tastes],
                "weights": u.weights.tolist()}

    def iter_user_events(self, user: int, n_events: int | None, chunk_size: int = 65_536) -> Iterator[EventChunk]:
        """User ``user``'s first ``n_events`` events (None: endless) in chunks of ``chunk_size`` events.

        Every chunk but the last holds exactly ``chunk_size`` events.

        Memory is bounded by the chunk size plus one segment (a noise block is capped at
        ``20 · noise_mean`` events), whatever ``n_events`` is.
        """
        user = _check_user(user)
        if n_events is not None and (isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer))
                                     or n_events < 0):
            raise ValueError(f"n_events must be a non-negative integer or None, got {n_events!r}")
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        return self._stream(user, np.inf if n_events is None else int(n_events), int(chunk_size))

    def _stream(self, user: int, limit: float, chunk_size: int) -> Iterator[EventChunk]:
        done, parts, buffered = 0, [], 0
        if limit == 0:
            return
        for seg in self._segments(user):
            parts.append(seg)
            buffered += len(seg[0])
            while buffered >= chunk_size or (buffered and done + buffered >= limit):
                take = int(min(chunk_size, limit - done, buffered))
                head, parts, buffered = _split(parts, take)
                yield EventChunk(done, *head)
                done += take
                if done >= limit:
                    return

    def user_history(self, user: int, n_events: int) -> EventChunk:
        """The first ``n_events`` events of ``user`` as one chunk (for modest lengths)."""
        if isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)) or n_events < 0:
            raise ValueError(f"n_events must be a non-negative integer, got {n_events!r}")
        chunks = list(self.iter_user_events(user, n_events, chunk_size=max(1, min(int(n_events), 1 << 20))))
        if not chunks:
            return EventChunk(0, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8))
        return EventChunk(0, *(np.concatenate([getattr(ch, f) for ch in chunks])
                               for f in ("items", "timestamps", "kinds")))


def _check_user(user) -> int:
    if isinstance(user, bool) or not isinstance(user, (int, np.integer)) or user < 0:
        raise ValueError(f"user must be a non-negative integer index, got {user!r}")
    return int(user)


def _split(parts: list, take: int):
    """Cut the first ``take`` events off the buffered segments.

    Returns ``(items, timestamps, kinds)`` of those events, the rest as a one-segment list, and its length.
    """
    items = np.concatenate([p[0] for p in parts])
    kinds = np.concatenate([p[1] for p in parts])
    times = np.concatenate([p[2] for p in parts])
    head = (items[:take], times[:take], kinds[:take])
    rest = [(items[take:], kinds[take:], times[take:])] if len(items) > take else []
    return head, rest, len(items) - take


def iter_user_events(user: int, n_events: int | None, *, seed: int = 0, size: str = "default",
                     chunk_size: int = 65_536, world: LongHistoryWorld | None = None,
                     **overrides) -> Iterator[EventChunk]:
    """User ``user``'s history in chunks, generated on the fly from ``(seed, user)`` (see `LongHistoryWorld`).

    Building the world (catalog and follow-ups) takes a fraction of a second; pass ``world`` to reuse one.
    """
    world = world if world is not None else LongHistoryWorld(long_history_config(size, **overrides), seed)
    return world.iter_user_events(user, n_events, chunk_size)


def make_long_history(size: str = "default", seed: int = 0, **overrides) -> Dataset:
    """A materialised long-history dataset.

    ``size`` is tiny, default or large; any `LongHistoryConfig` field can be overridden.
    """
    cfg = long_history_config(size, **overrides)
    world = LongHistoryWorld(cfg, seed)
    nominal = np.random.default_rng(np.random.SeedSequence(world.seed, spawn_key=(1,))).integers(
        cfg.min_events, cfg.max_events + 1, size=cfg.n_users)
    sequences, timestamps, kinds = [], [], []
    for u in range(cfg.n_users):
        target, cut, total, parts = int(nominal[u]), None, 0, []
        for chunk in world.iter_user_events(u, None, chunk_size=4096):
            parts.append(chunk)
            total += len(chunk)
            if not cfg.end_on_revisit:
                cut = target if total >= target else None
            else:
                returns = np.flatnonzero(chunk.kinds == RETURN) + chunk.start
                if (returns < target).any():
                    cut = int(returns[returns < target][-1]) + 1  # the last return before the nominal end so far
                elif cut is None and len(returns):
                    cut = int(returns[0]) + 1  # none before it: the first return after it
                if cut is None and total > 1_000_000 + 100 * target:
                    raise RuntimeError(f"user {u} has no revisit in {total:,} events; lower noise_mean or n_tastes")
            if cut is not None and total >= target:
                break
        sequences.append(np.concatenate([p.items for p in parts])[:cut])
        timestamps.append(np.concatenate([p.timestamps for p in parts])[:cut])
        kinds.append(np.concatenate([p.kinds for p in parts])[:cut])
    interactions = Interactions(user_ids=[f"L{u:05d}" for u in range(cfg.n_users)], sequences=sequences,
                                timestamps=timestamps)
    info = {"size": size, "seed": world.seed, "config": cfg.to_dict(), "leaves": world.leaves,
            "followups": world.followups, "event_kinds": kinds, "kind_names": KINDS,
            "taste_leaves": [world.user_traits(u)["tastes"] for u in range(cfg.n_users)],
            "note": "histories repeat items: evaluate with exclude_seen=False"}
    return Dataset(name="synthetic-long", catalog=world.catalog, interactions=interactions, info=info)
