"""LinkedIn's LLM dual encoder for feed retrieval (Ramanujam et al., *Large Scale Retrieval for the
LinkedIn Feed using Causal Language Models*, arXiv 2510.14223), at CPU size.

LinkedIn retrieves about 2,000 candidate posts from hundreds of millions in a few milliseconds. One
causal LLM (LLaMA 3) reads a *member* written as text and a *post* written as text; the mean of its
last hidden states is the embedding of each, and a member's candidates are the posts nearest to it
by cosine similarity. Everything the model knows is in the prompts: there are no ID embeddings.
Here, top to bottom as in the paper (research notes: ../shared/research/methods_part2.md §3):

1. **Prompts from fields** (§ prompt library). Each field is introduced by its own special token
   (``<ST_TITLE>``, ``<ST_PRICE>``, ...; one token per marker, added to the tokenizer). The member
   prompt is an instruction, the member's activity and the time-ordered history of engaged items
   (title and category); the item prompt is title, category path, brand, price and popularity.
   Markers written inside field text are dropped (`clean`), so a title cannot forge a field (the
   paper's guard against prompt injection).
   `LinkedInRetrieval.member_prompt` and `LinkedInRetrieval.item_prompt` return them as text; training
   and serving tokenize the same strings (train/serve template skew is one of the paper's pitfalls).
2. **Numbers as percentile tokens.** A count written as digits means little to an LLM; the paper
   writes each number as its percentile bucket, a token ``<P1>``..``<P100>``. `PercentileBuckets`
   fits the boundaries on training data only (item popularity = its count in ``split.train``,
   catalog prices, member activity = training events per member). ``numeric="raw"`` writes the
   digits instead (one token per digit, as LLM tokenizers split numbers), the paper's ablation.
3. **One shared causal LM** (``DualEncoder``): ``lm="tiny"`` is a tiny Llama (`llm.tiny_lm`) over
   a word tokenizer of the catalog's text, first pre-trained for ``lm_steps`` on the items' plain
   text (the stand-in for LLaMA's pre-training; memoised, so ablation arms share it);
   ``lm="smollm2"`` is SmolLM2-135M with LoRA and trainable field/bucket-token rows.
   Pooling: masked mean of the last hidden states (``pooling="mean"``, padding excluded) or the
   last real token (``"last"``); embeddings are L2-normalised, so the score is the cosine.
4. **Loss.** InfoNCE over the batch's items (every member's positive is a negative for the others,
   except for members who engaged with the same item: duplicates are masked), plus
   ``hard_negatives`` per member; or BCE on sigmoid(s / tau) (``loss="bce"``). **Matryoshka**
   (``matryoshka_dims``): the loss summed over prefixes e[:m] of the embeddings, each re-normalised,
   so that a prefix is an embedding of its own. In-batch negatives are other members' positives,
   i.e. items drawn in proportion to their popularity, so a plain softmax over them learns to rank
   popular items *down* (it estimates p(i | member) / p(i)); ``logq=True`` (default) subtracts
   log q(i), the item's share of training events, from every logit (the sampling-bias correction of
   Yi et al., RecSys 2019), which the research notes do not mention for the paper. Measured on the
   tiny built-in shop (10 epochs, CLI): NDCG@10 .18 without it, .28 with it, popularity .19
   (``logq=False`` is an ablation arm of the note).
5. **Hard negatives and the history filter.** The paper's hard negatives are posts a member was
   shown and did not engage with. The package's data has no impressions, so `SimulatedFeed` makes
   them: for every engaged event, the feed showed the engaged item plus ``feed_size`` other items
   of the same category (then of the parent category, then of the whole catalog when the member
   owns the rest), drawn by training popularity, never an item of the member's own (a hard
   negative that the member actually engaged with would be a false negative). ``history="all"`` mixes one such
   impressed-but-skipped item per event (marked ``<ST_SKIPPED>``) into the member's history, the
   paper's "all interactions" arm (which lost to positive-only history).
6. **Serving.** Item embeddings are computed once per trained model and cached; a member's top-k
   is an exact kNN (one matrix product and a top-k: `LinkedInRetrieval.score`), or an approximate
   FAISS HNSW index (`LinkedInRetrieval.build_index`, `LinkedInRetrieval.search`,
   `LinkedInRetrieval.index_recall`); `retrieval_latency` times both. ``recommend(..., dim=m)``
   ranks with a Matryoshka prefix.

Deviations: the logQ correction (item 4); a tiny Llama (or SmolLM2-135M) instead of LLaMA-3
1B/3B; prompts of at most ``max_history`` history entries (the paper: 20,480 tokens); in-batch
negatives from one process (the paper gathers them across GPUs); simulated impressions; no author
or post-type fields (the catalog has none); the nearline pipeline (activity log -> prompt ->
embedding -> KV store / GPU index) is reduced to the in-memory cache and a CPU index.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import llm
from ..config import Settings
from .base import CheckpointError, TorchRecommender
from .contract import Capabilities

# the field markers: one token each (the paper's <ST_...> tokens). Field text never produces them (`clean`),
# so an item title cannot forge a field: the paper's guard against prompt injection.
FIELDS = ("<ST_INSTRUCTION>", "<ST_ACTIVITY>", "<ST_HISTORY>", "<ST_ITEM>", "<ST_SKIPPED>", "<ST_TITLE>",
          "<ST_CATEGORY>", "<ST_BRAND>", "<ST_PRICE>", "<ST_POPULARITY>")
INSTRUCTION = "retrieve items for this member"
UNKNOWN = "unknown"  # a number the catalog does not have (e.g. a missing price)
_MARKUP = re.compile(r"<(?:ST_\w*|P\d+)>")


def clean(text) -> str:
    """Field text with any field or bucket token written inside it removed (the prompt-injection guard)."""
    return " ".join(_MARKUP.sub(" ", str(text)).split())

_PRETRAINED: dict = {}  # the last pre-trained tiny LM: key -> (state, TrainResult) (see `before_training`)


# ---------------------------------------------------------------------------------------------- 2. numbers
class PercentileBuckets:
    """Percentile buckets of one numeric feature, fitted on training values.

    ``fit(values, n)`` puts the boundaries at the training quantiles 1/n, 2/n, ..., (n-1)/n;
    ``bucket(x)`` is 1 + the number of boundaries strictly below x, in 1..n (values below every
    training value fall in bucket 1, above every one in bucket n). ``token(x)`` is ``<P{bucket}>``.
    """

    def __init__(self, boundaries):
        self.boundaries = np.asarray(boundaries, dtype=np.float64)
        if self.boundaries.ndim != 1 or np.any(np.diff(self.boundaries) < 0):
            raise ValueError("boundaries must be a non-decreasing 1-D array")

    @property
    def n(self) -> int:
        return len(self.boundaries) + 1

    @classmethod
    def fit(cls, values, n: int = 100) -> "PercentileBuckets":
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise ValueError(f"the number of buckets must be an integer >= 2, got {n!r}")
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            raise ValueError("cannot fit percentile buckets on no (finite) values")
        return cls(np.quantile(values, np.arange(1, n) / n))

    def bucket(self, x):
        """The bucket (1..n) of a number or an array of numbers."""
        out = 1 + np.searchsorted(self.boundaries, np.asarray(x, dtype=np.float64), side="left")
        return int(out) if np.ndim(out) == 0 else out

    def token(self, x) -> str:
        return f"<P{self.bucket(x)}>"


def digits(x: float) -> str:
    """``numeric="raw"``: a number rounded to an integer, one token per digit (``137`` -> ``1 3 7``)."""
    return " ".join(str(int(round(x)))) if np.isfinite(x) else UNKNOWN


# ---------------------------------------------------------------------------------------------- 3. pooling
def mean_pool(hidden, mask):
    """Masked mean over positions: e = sum_t m_t H_t / sum_t m_t (padding excluded; NaN-safe)."""
    import torch

    m = mask.unsqueeze(-1).bool()
    return torch.where(m, hidden, torch.zeros((), dtype=hidden.dtype, device=hidden.device)).sum(1) / \
        m.sum(1).clamp_min(1).to(hidden.dtype)


def last_pool(hidden, mask):
    """The hidden state of each row's last real (non-pad) position, left or right padding alike."""
    import torch

    positions = torch.arange(mask.shape[1], device=mask.device)
    last = (mask.long() * (positions + 1)).argmax(1)
    return hidden[torch.arange(len(hidden), device=hidden.device), last]


# ---------------------------------------------------------------------------------------------- 4. losses
def _logits(members, items, column_items, tau, log_q=None):
    """s_bc / tau (minus ``log_q`` of each column, when given) with the duplicates of each member's
    positive masked out (-inf). Column b is member b's positive; every other column is a negative
    unless it holds the same item."""
    import torch

    B = len(members)
    logits = members @ items.T / tau  # (B, C)
    if log_q is not None:
        logits = logits - log_q[None, :]
    own = torch.arange(B, device=logits.device)
    dup = column_items[None, :] == column_items[:B, None]  # (B, C): the column holds b's positive item
    dup[own, own] = False
    return logits.masked_fill(dup, -torch.inf), dup


def info_nce(members, items, column_items, tau: float, log_q=None):
    """InfoNCE: mean_b -log[exp(s_bb/tau) / sum_c exp(s_bc/tau)] over unmasked columns c.

    ``members`` (B, d) and ``items`` (C >= B, d) are unit vectors; ``column_items`` (C,) the item of
    each column (the first B columns are the members' positives, then other negatives)."""
    import torch
    import torch.nn.functional as F

    logits, _ = _logits(members, items, column_items, tau, log_q)
    return F.cross_entropy(logits, torch.arange(len(members), device=logits.device))


def bce(members, items, column_items, tau: float, log_q=None):
    """BCE on sigmoid(s/tau): -mean_b log sigma(s_bb/tau) - mean_{b,c negative} log(1 - sigma(s_bc/tau)),
    the positive and the (unmasked) negative pairs averaged separately."""
    import torch
    import torch.nn.functional as F

    logits, dup = _logits(members, items, column_items, tau, log_q)
    B = len(members)
    own = torch.zeros_like(dup)
    diagonal = torch.arange(B, device=dup.device)
    own[diagonal, diagonal] = True
    pos = F.logsigmoid(logits[own]).mean()
    neg = F.logsigmoid(-logits[~own & ~dup]).mean() if bool((~own & ~dup).any()) else logits.new_zeros(())
    return -(pos + neg)


LOSSES = {"infonce": info_nce, "bce": bce}


def matryoshka_loss(members, items, column_items, tau: float, loss: str = "infonce", dims=(), weights=(), log_q=None):
    """L = sum_k lambda_k L(e[:m_k]) over prefix dimensions m_k, each prefix re-normalised; no
    ``dims`` = the whole embedding, once. ``members``/``items`` are raw (un-normalised) embeddings."""
    import torch.nn.functional as F

    dims = tuple(dims) or (members.shape[1],)
    weights = tuple(weights) or (1.0,) * len(dims)
    return sum(w * LOSSES[loss](F.normalize(members[:, :m], dim=-1), F.normalize(items[:, :m], dim=-1),
                                column_items, tau, log_q) for m, w in zip(dims, weights))


# ---------------------------------------------------------------------------------------------- 5. the simulated feed
class SimulatedFeed:
    """Impressions the built-in data does not have. For the event "item i engaged at position t" the
    feed showed i and ``size`` other items: drawn without replacement in proportion to training
    popularity + 1 from i's category (its full path), then, when the member already has too many of
    those, from the parent category (the path's first level), then from the whole catalog; the draw
    is seeded by (seed, i, t). ``shown(i, t, exclude)`` are those items, never one of ``exclude``
    (the member's own): the impressed-but-not-engaged items."""

    MEMO_POOL = 256  # the draw over a pool up to this size is kept per event; larger pools are drawn again

    def __init__(self, catalog, popularity: np.ndarray, size: int, seed: int = 0):
        self.size, self.seed = int(size), int(seed)
        self.weight = np.asarray(popularity, dtype=np.float64) + 1.0
        n = len(self.weight)
        leaf = catalog.category_ids() if catalog is not None else np.zeros(n, dtype=np.int64)
        top = np.array([c[0] if c else "" for c in catalog.categories]) if catalog is not None and catalog.categories \
            else np.full(n, "")
        self.levels = [(leaf, {g: np.flatnonzero(leaf == g) for g in np.unique(leaf)}),
                       (top, {g: np.flatnonzero(top == g) for g in np.unique(top)}),
                       (np.zeros(n, dtype=np.int64), {0: np.arange(n)})]
        self._orders: dict[tuple[int, int, int], np.ndarray] = {}

    def order(self, item: int, position: int, level: int = 0, at_least: int | None = None) -> np.ndarray:
        """The items of ``item``'s category at ``level`` (0 leaf, 1 parent, 2 catalog) in the order the
        feed draws them for this event (Gumbel top-k: sampling without replacement by weight). Only
        the first ``at_least`` are guaranteed (all of them by default)."""
        group, members = self.levels[level]
        pool = members[group[item]]
        pool = pool[pool != item]
        key = (int(item), int(position), level)
        if key in self._orders:
            return self._orders[key]
        rng = np.random.default_rng([self.seed, *key])
        keys = np.log(self.weight[pool]) + rng.gumbel(size=len(pool))
        m = len(pool) if at_least is None or len(pool) <= self.MEMO_POOL else min(len(pool), at_least)
        top = np.argpartition(-keys, m - 1)[:m] if 0 < m < len(pool) else np.arange(len(pool))
        order = pool[top[np.argsort(-keys[top], kind="stable")]]
        if len(pool) <= self.MEMO_POOL:
            self._orders[key] = order
        return order

    def shown(self, item: int, position: int, exclude=()) -> list[int]:
        out: list[int] = []
        for level in range(3):
            for j in self.order(item, position, level, at_least=self.size + len(exclude) + 1).tolist():
                if j not in exclude and j not in out:
                    out.append(j)
                    if len(out) == self.size:
                        return out
        return out


# ---------------------------------------------------------------------------------------------- 3. the shared encoder
def _dual_encoder(lm, pooling: str):
    """The shared LM and its pooling as one ``nn.Module``: ``module((ids, mask), ...)`` -> one (B, d)
    raw embedding per token batch (members and items in one forward call)."""
    from torch import nn

    pool = {"mean": mean_pool, "last": last_pool}[pooling]

    class DualEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.lm = lm

        def body(self):
            """The transformer under the LM head (through peft's wrapper when there is one): no logits."""
            base = self.lm.get_base_model() if hasattr(self.lm, "get_base_model") else self.lm
            return base.model

        def encode(self, ids, mask):
            positions = (mask.long().cumsum(1) - 1).clamp_min(0)  # count from each row's first real token
            hidden = self.body()(input_ids=ids, attention_mask=mask, position_ids=positions).last_hidden_state
            return pool(hidden, mask)

        def forward(self, *batches):
            return [self.encode(ids, mask) for ids, mask in batches]

    return DualEncoder()


def pad_right(rows, pad_id: int):
    """Token-id lists -> (ids, mask) int64 tensors, right-padded."""
    import torch

    width = max(1, max(len(r) for r in rows))
    ids = torch.full((len(rows), width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.as_tensor(r, dtype=torch.long)
        mask[b, :len(r)] = 1
    return ids, mask


def normalize(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


# ---------------------------------------------------------------------------------------------- the model
@dataclass
class LinkedInConfig(Settings):
    lm: Literal["tiny", "smollm2"] = "tiny"
    d_model: int = 32  # tiny LM sizes (SmolLM2: 576, its own)
    n_layers: int = 1
    n_heads: int = 2
    lm_steps: int = 150  # tiny LM: steps of next-token pre-training on the items' text first (0: none)
    lm_batch_size: int = 32
    lm_lr: float = 3e-3
    pooling: Literal["mean", "last"] = "mean"
    loss: Literal["infonce", "bce"] = "infonce"
    tau: float = 0.1  # temperature of s / tau
    logq: bool = True  # subtract log q(item) (its share of training events) from every logit (see the docstring)
    hard_negatives: int = 1  # impressed-but-not-engaged items per member and example
    feed_size: int = 4  # items the simulated feed shows per event besides the engaged one
    matryoshka_dims: tuple[int, ...] = ()  # prefix dims of the Matryoshka loss; () = the whole embedding
    matryoshka_weights: tuple[float, ...] = ()  # lambda_k; () = 1 each
    numeric: Literal["percentile", "raw"] = "percentile"
    n_buckets: int = 100
    history: Literal["positive", "all"] = "positive"
    max_history: int = 5  # history entries in the member prompt (the most recent)
    eval_batch_size: int = 128
    lora_r: int = 8  # SmolLM2: LoRA rank on the attention projections

    def check(self) -> None:
        self.at_least(1, "d_model", "n_layers", "n_heads", "lm_batch_size", "feed_size", "max_history",
                      "eval_batch_size", "lora_r")
        if self.lm_steps < 0:
            raise ValueError(f"lm_steps must be >= 0, got {self.lm_steps}")
        if self.tau <= 0 or self.lm_lr <= 0:
            raise ValueError(f"tau and lm_lr must be positive, got {self.tau} and {self.lm_lr}")
        if not 0 <= self.hard_negatives <= self.feed_size:
            raise ValueError(f"hard_negatives must be in 0..feed_size ({self.feed_size}), got {self.hard_negatives}")
        if self.n_buckets < 2:
            raise ValueError(f"n_buckets must be at least 2, got {self.n_buckets}")
        if self.max_history > 64:
            raise ValueError(f"max_history must be at most 64 entries, got {self.max_history}")
        dims = self.matryoshka_dims
        if any(m < 1 for m in dims) or list(dims) != sorted(set(dims)):
            raise ValueError(f"matryoshka_dims must be positive and strictly increasing, got {list(dims)}")
        if self.lm == "tiny" and dims and dims[-1] > self.d_model:
            raise ValueError(f"matryoshka_dims {list(dims)} exceed the embedding size d_model = {self.d_model}")
        if self.matryoshka_weights and len(self.matryoshka_weights) != len(dims):
            raise ValueError(f"matryoshka_weights needs one weight per matryoshka_dims entry ({len(dims)}), "
                             f"got {len(self.matryoshka_weights)}")
        if any(w < 0 for w in self.matryoshka_weights):
            raise ValueError(f"matryoshka_weights must be >= 0, got {list(self.matryoshka_weights)}")


class LinkedInRetrieval(TorchRecommender):
    """LinkedIn's LLM dual encoder; see the module docstring.

    After `fit`: ``buckets`` (the `PercentileBuckets` of ``popularity``, ``price``, ``activity``),
    ``popularity`` (training counts per item), ``feed`` (the `SimulatedFeed`), ``tokenizer``.
    ``recommend(histories, k, dim=m)`` ranks with the first m dimensions (Matryoshka)."""

    name = "linkedin"
    description = "LinkedIn: one causal LM embeds member and item prompts (field and percentile tokens); cosine kNN"
    capabilities = Capabilities(needs_catalog=True)
    Config = LinkedInConfig
    decode_options = {"dim": None}  # embedding prefix to rank with (None: the trained size)
    train_defaults = {"epochs": 3, "batch_size": 64, "lr": 3e-3, "schedule": "cosine", "patience": None,
                      "val_users": 200}
    presets = {
        "tiny": {"d_model": 16, "n_layers": 1, "n_heads": 2, "lm_steps": 20, "max_history": 3, "n_buckets": 10,
                 "epochs": 1, "val_users": 20},
        # SmolLM2-135M + LoRA for a few steps: CPU-feasible, not converged
        "smollm2": {"lm": "smollm2", "max_history": 5, "batch_size": 8, "lr": 1e-3, "epochs": 1, "max_steps": 20,
                    "eval_batch_size": 16, "val_users": 50},
    }
    published = ()  # LinkedIn's offline numbers are internal (Feed data)

    def __init__(self, **params):
        super().__init__(**params)
        self.catalog = None
        self.tokenizer = self.word_tokenizer = None
        self.buckets: dict[str, PercentileBuckets] = {}
        self.popularity: np.ndarray | None = None
        self.feed: SimulatedFeed | None = None
        self.stage_results: dict = {}
        self._train: list[np.ndarray] = []
        self._item_tokens: list[list[int]] | None = None
        self._prepared: dict[tuple[int, int], tuple] = {}  # training example -> (member prompt tokens, hard negatives)
        self._cache: np.ndarray | None = None  # raw item embeddings of the current weights
        self.index = None  # the last approximate index built (`build_index`)

    # ------------------------------------------------------------------ data: numbers, feed, vocabulary
    def fit_numeric(self, split, catalog) -> dict[str, PercentileBuckets]:
        """Percentile buckets from training data only: item popularity (its count in ``split.train``,
        kept as ``self.popularity`` for the item prompts), catalog prices, member activity (training
        events per member). Validation and test interactions are never read."""
        n = self.config.n_buckets
        seqs = [s for s in split.train if len(s)]
        counts = np.bincount(np.concatenate(seqs), minlength=split.n_items) if seqs else np.zeros(split.n_items)
        self.popularity = counts.astype(np.int64)
        out = {"popularity": PercentileBuckets.fit(self.popularity, n),
               "activity": PercentileBuckets.fit([len(s) for s in split.train], n)}
        if catalog.prices is not None and np.isfinite(catalog.prices).any():
            out["price"] = PercentileBuckets.fit(catalog.prices, n)
        return out

    def prepare(self, split, catalog) -> None:
        if catalog is None:
            raise ValueError("the LinkedIn dual encoder reads item text: fit(split, catalog) needs the catalog")
        self.catalog, self._train = catalog, [np.asarray(s) for s in split.train]
        self.buckets = self.fit_numeric(split, catalog)
        self._set_data()
        if self.config.lm == "tiny":
            self.word_tokenizer = llm.word_tokenizer(self.corpus(), lowercase=True)

    def _set_data(self) -> None:
        """What follows from the catalog, the training counts and the settings (fit and load)."""
        self.feed = SimulatedFeed(self.catalog, self.popularity, self.config.feed_size, self.train_config.seed)
        self._item_tokens, self._cache, self.index = None, None, None

    def item_text(self, i: int) -> str:
        """Plain text of item ``i`` (title, category path, brand, description): the tiny LM's pre-training corpus."""
        c, i = self.catalog, int(i)
        parts = [c.title(i)]
        if c.categories and c.categories[i]:
            parts.append(" > ".join(c.categories[i]))
        if c.brands and c.brands[i]:
            parts.append(c.brands[i])
        if c.descriptions and c.descriptions[i]:
            parts.append(c.descriptions[i])
        return " . ".join(clean(p) for p in parts)

    def corpus(self) -> list[str]:
        """The words the tiny LM's tokenizer knows: the items' text and the template's words and digits
        (field and bucket tokens are added to it as whole tokens in `build`)."""
        return [self.item_text(i) for i in range(len(self.catalog))] + [INSTRUCTION, UNKNOWN, "0 1 2 3 4 5 6 7 8 9 >"]

    def new_tokens(self) -> list[str]:
        """Field markers and bucket tokens (the latter unused with ``numeric="raw"``: every arm has one vocabulary)."""
        return list(FIELDS) + [f"<P{b}>" for b in range(1, self.config.n_buckets + 1)]

    # ------------------------------------------------------------------ 1. prompts (one template: training = serving)
    def number(self, feature: str, x) -> str:
        if x is None or not np.isfinite(x):
            return UNKNOWN
        return self.buckets[feature].token(x) if self.config.numeric == "percentile" else digits(x)

    def item_prompt(self, i: int) -> str:
        """Title, category path, brand, price and popularity of item ``i``, each after its field token."""
        c, i = self.catalog, int(i)
        parts = [f"<ST_TITLE> {clean(c.title(i))}"]
        if c.categories and c.categories[i]:
            parts.append(f"<ST_CATEGORY> {clean(' > '.join(c.categories[i]))}")
        if c.brands and c.brands[i]:
            parts.append(f"<ST_BRAND> {clean(c.brands[i])}")
        if "price" in self.buckets:
            parts.append(f"<ST_PRICE> {self.number('price', c.prices[i])}")
        parts.append(f"<ST_POPULARITY> {self.number('popularity', self.popularity[i])}")
        return " ".join(parts)

    def history_entry(self, i: int, marker: str = "<ST_ITEM>") -> str:
        c = self.catalog
        leaf = f" <ST_CATEGORY> {clean(c.categories[i][-1])}" if c.categories and c.categories[i] else ""
        return f"{marker} {clean(c.title(i))}{leaf}"

    def member_prompt(self, history, exclude=None) -> str:
        """Instruction, activity, then the most recent events' entries (at most ``max_history``),
        oldest first. With ``history="all"`` each engaged item is followed by one item its feed showed
        and the member skipped (never one of ``exclude``, by default the history's items)."""
        h = [int(i) for i in np.asarray(history).reshape(-1)]
        exclude = set(h) if exclude is None else set(int(i) for i in exclude)
        events, room = [], self.config.max_history  # per event, newest first, until max_history entries
        for t in range(len(h) - 1, max(-1, len(h) - 1 - room), -1):
            group = [self.history_entry(h[t])]
            if self.config.history == "all":
                group += [self.history_entry(j, "<ST_SKIPPED>") for j in self.feed.shown(h[t], t, exclude)[:1]]
            events.append(group[:room])
            room -= len(events[-1])
            if room == 0:
                break
        entries = [e for group in reversed(events) for e in group]
        return " ".join([f"<ST_INSTRUCTION> {INSTRUCTION}", f"<ST_ACTIVITY> {self.number('activity', len(h))}",
                         "<ST_HISTORY>", *entries])

    def tokens(self, texts) -> list[list[int]]:
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    def item_tokens(self) -> list[list[int]]:
        if self._item_tokens is None:
            self._item_tokens = self.tokens(self.item_prompt(i) for i in range(len(self.catalog)))
        return self._item_tokens

    # ------------------------------------------------------------------ 3. the shared LM
    def build(self):
        c = self.config
        lm, self.tokenizer = llm.base_lm(c.lm, self.word_tokenizer, c.d_model, c.n_layers, c.n_heads)
        if c.lm == "tiny":
            llm.add_tokens(lm, self.tokenizer, self.new_tokens(), init="normal")
        else:
            size = lm.config.hidden_size
            if c.matryoshka_dims and c.matryoshka_dims[-1] > size:
                raise ValueError(f"matryoshka_dims {list(c.matryoshka_dims)} exceed SmolLM2's embedding size {size}")
            ids = llm.add_tokens(lm, self.tokenizer, self.new_tokens(), init="mean")
            lm = llm.apply_lora(lm, r=c.lora_r, alpha=2 * c.lora_r, train_token_ids=ids)
        self._item_tokens, self._prepared, self._cache, self.index = None, {}, None, None
        return _dual_encoder(lm, c.pooling)

    def embedding_size(self) -> int:
        """The size the model ranks with by default: the largest Matryoshka prefix, else the LM's width."""
        self.check_fitted()
        dims = self.config.matryoshka_dims
        return int(dims[-1]) if dims else int(self.module.lm.config.hidden_size)

    def before_training(self, split, catalog) -> None:
        """Tiny LM: ``lm_steps`` of next-token pre-training on the items' plain text (`item_text`), the
        stand-in for LLaMA's pre-training. It depends on the catalog's text, the LM's settings and the
        seed only, so it is memoised: the arms of an ablation share one pre-trained LM, as the paper's
        arms share LLaMA 3."""
        import hashlib

        c, tc = self.config, self.train_config
        self.stage_results = {}
        if c.lm != "tiny" or not c.lm_steps:
            return
        corpus = self.corpus()
        key = (hashlib.sha256("\x1f".join(corpus).encode()).hexdigest(), c.d_model, c.n_layers, c.n_heads,
               c.n_buckets, c.lm_steps, c.lm_batch_size, c.lm_lr, tc.seed)
        if key not in _PRETRAINED:
            texts = [t + [self.tokenizer.eos_token_id] for t in self.tokens(corpus[:len(self.catalog)])]
            result = llm.train_lm_steps(
                self.module.lm, lambda rng: ([], texts[rng.integers(len(texts))]), c.lm_steps, c.lm_batch_size,
                c.lm_lr, self.tokenizer.pad_token_id, seed=tc.seed, device=tc.device, progress=tc.progress,
                max_minutes=tc.max_minutes, desc="LM pre-training")
            _PRETRAINED.clear()  # keep one
            _PRETRAINED[key] = ({k: v.detach().cpu().clone() for k, v in self.module.state_dict().items()}, result)
        state, self.stage_results["lm"] = _PRETRAINED[key]
        self.module.load_state_dict(state)

    # ------------------------------------------------------------------ 4. training: (member prefix, next item) pairs
    def examples(self, split):
        """Every (member u, position t >= 1) of the training sequences: history ``train[u][:t]``,
        positive ``train[u][t]``."""
        return [(u, t) for u, s in enumerate(self._train) for t in range(1, len(s))]

    def example_lengths(self, examples) -> np.ndarray:
        return np.array([min(t, self.config.max_history) for _, t in examples])

    def hard_negatives(self, u: int, t: int) -> list[int]:
        """Items the simulated feed showed with ``train[u][t]`` that member u never engaged with in training."""
        s = self._train[u]
        return self.feed.shown(int(s[t]), t, set(s.tolist()))[:self.config.hard_negatives]

    def collate(self, examples):
        import torch

        new = [(u, t) for u, t in examples if (u, t) not in self._prepared]
        if new:  # each example's prompt is tokenized (the slow part of a batch) and its negatives drawn once
            texts = [self.member_prompt(self._train[u][:t], exclude=self._train[u]) for u, t in new]
            for (u, t), ids in zip(new, self.tokens(texts)):
                self._prepared[u, t] = ids, self.hard_negatives(u, t)
        members, positives, negatives = [], [], []
        for u, t in examples:
            ids, hard = self._prepared[u, t]
            members.append(ids)
            positives.append(int(self._train[u][t]))
            negatives += hard
        column_items = np.array(positives + negatives, dtype=np.int64)
        unique, columns = np.unique(column_items, return_inverse=True)  # each item is encoded once
        item_tokens = self.item_tokens()
        member_batch = pad_right(members, self.tokenizer.pad_token_id)
        item_batch = pad_right([item_tokens[i] for i in unique], self.tokenizer.pad_token_id)
        return member_batch, item_batch, torch.as_tensor(columns), torch.as_tensor(column_items)

    def loss(self, module, batch):
        import torch

        self._cache, self.index = None, None  # the weights move: cached item embeddings are stale
        c = self.config
        member_batch, item_batch, columns, column_items = batch
        members, items = module(member_batch, item_batch)
        log_q = None
        if c.logq:
            q = (self.popularity + 1) / (self.popularity + 1).sum()
            log_q = torch.as_tensor(np.log(q), dtype=members.dtype, device=members.device)[column_items]
        return matryoshka_loss(members, items[columns], column_items, c.tau, c.loss, c.matryoshka_dims,
                               c.matryoshka_weights, log_q)

    def fit(self, split, catalog=None, on_epoch=None):
        super().fit(split, catalog, on_epoch)
        self._cache, self.index = None, None  # the best epoch's weights were restored after the last validation
        return self

    # ------------------------------------------------------------------ 6. serving: embeddings and exact kNN
    def _encode(self, token_lists) -> np.ndarray:
        import torch

        self.check_fitted()
        out = []
        self.module.eval()
        with torch.no_grad():
            for s in range(0, len(token_lists), self.config.eval_batch_size):
                ids, mask = pad_right(token_lists[s:s + self.config.eval_batch_size], self.tokenizer.pad_token_id)
                dev = self.device()
                out.append(self.module.encode(ids.to(dev), mask.to(dev)).float().cpu().numpy())
        return np.concatenate(out)

    def check_dim(self, dim) -> int:
        size = self.embedding_size()
        if dim is None:
            return size
        width = self.module.lm.config.hidden_size
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 1 <= dim <= width:
            raise ValueError(f"dim must be an integer in 1..{width}, got {dim!r}")
        return int(dim)

    def item_embeddings(self, dim: int | None = None) -> np.ndarray:
        """(n_items, dim) unit vectors; the catalog is embedded once per trained model (cached)."""
        dim = self.check_dim(dim)
        if self._cache is None:
            self._cache = self._encode(self.item_tokens())
        return normalize(self._cache[:, :dim])

    def embed_members(self, histories, dim: int | None = None) -> np.ndarray:
        """(B, dim) unit vectors of the members' prompts."""
        dim = self.check_dim(dim)
        histories = self.check_histories(histories)
        return normalize(self._encode(self.tokens(self.member_prompt(h) for h in histories))[:, :dim])

    def score(self, histories, users=None, dim: int | None = None) -> np.ndarray:
        """Cosine of every (member, item) pair: exact kNN is this matrix's top-k."""
        dim = self._dim if dim is None else dim
        return self.embed_members(histories, dim) @ self.item_embeddings(dim).T

    _dim = None  # the ``dim`` of the `recommend` call in progress

    def _recommend(self, histories, k, exclude_seen, users, dim=None):
        """Top-k of `score` (the base class's), ranked with the first ``dim`` dimensions."""
        self._dim = self.check_dim(dim)
        try:
            return super()._recommend(histories, k, exclude_seen, users)
        finally:
            self._dim = None

    # ------------------------------------------------------------------ 6. serving: the approximate index
    def build_index(self, kind: str = "hnsw", M: int = 16, ef_search: int = 64, ef_construction: int = 80,
                    dim: int | None = None):
        """A FAISS index over the item embeddings (inner product = cosine); kept as ``self.index``."""
        self.index = build_index(self.item_embeddings(dim), kind, M=M, ef_search=ef_search,
                                 ef_construction=ef_construction)
        return self.index

    def search(self, member_emb, k: int = 10, index=None):
        """(scores, items) of the approximate top-k for (B, d) member embeddings (``self.index`` by default)."""
        index = index if index is not None else self.index
        if index is None:
            raise ValueError("no index: call build_index() first (or pass index=...)")
        return search(index, member_emb, k)

    def index_recall(self, histories, k: int = 10, index=None) -> float:
        """Recall@k of the approximate top-k against the exact top-k (seen items kept in both)."""
        index = index if index is not None else self.index
        if index is None:
            raise ValueError("no index: call build_index() first (or pass index=...)")
        members = self.embed_members(histories, index.d)
        _, exact = exact_top_k(members, self.item_embeddings(index.d), k)
        _, approx = search(index, members, k)
        return overlap(approx, exact)

    def serving_costs(self, split, members: int = 1000, k: int = 10) -> dict:
        """What the benchmark page prints beside the quality: the time to embed the catalog, and the
        retrieval latency per member, exact and approximate, on ``members`` random test users."""
        r = retrieval_latency(self, split.test.subset(min(members, len(split.test))).histories, k=k)
        return {"catalog embedding": f"{r['catalog_embed_s']:.1f} s for {r['items']:,} items "
                                     f"({r['items_per_s']:,.0f} items/s)",
                "member embedding": f"{r['member_embed_ms']:.2f} ms",
                "exact kNN": f"{r['exact_knn_ms']:.3f} ms per member",
                "FAISS HNSW": f"{r['ann_ms']:.3f} ms per member, recall@{k} {r[f'index_recall@{k}']:.3f} "
                              f"against exact (built in {r['index_build_s']:.1f} s)"}

    # ------------------------------------------------------------------ checkpoints
    def save_extra(self, path) -> None:
        np.savez(path / "numeric.npz", popularity=self.popularity,
                 **{f"buckets_{k}": b.boundaries for k, b in self.buckets.items()})
        if self.word_tokenizer is not None:
            self.word_tokenizer.save_pretrained(str(path / "tokenizer"))

    def load_extra(self, path, catalog=None) -> None:
        if catalog is None:
            raise ValueError("the LinkedIn dual encoder writes item prompts from the catalog: load(path, catalog)")
        try:
            with np.load(path / "numeric.npz") as f:
                self.popularity = f["popularity"]
                self.buckets = {k[len("buckets_"):]: PercentileBuckets(f[k])
                                for k in f.files if k.startswith("buckets_")}
            if self.config.lm == "tiny":
                from transformers import PreTrainedTokenizerFast

                self.word_tokenizer = PreTrainedTokenizerFast.from_pretrained(str(path / "tokenizer"))
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(f"{path} lacks the LinkedIn model's numeric buckets or tokenizer ({err})") from None
        self.catalog = catalog
        self._set_data()


# ---------------------------------------------------------------------------------------------- 6. kNN helpers
def exact_top_k(queries: np.ndarray, items: np.ndarray, k: int):
    """Brute-force top-k by inner product: (scores, indices), best first."""
    s = np.asarray(queries, dtype=np.float32) @ np.asarray(items, dtype=np.float32).T
    k = min(k, s.shape[1])
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(part, np.argsort(-np.take_along_axis(s, part, 1), axis=1, kind="stable"), 1)
    return np.take_along_axis(s, order, 1), order


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("approximate kNN needs FAISS: pip install 'llmrec-mini[ann]' (faiss-cpu)") from None
    return faiss


def build_index(vectors, kind: str = "hnsw", M: int = 16, ef_search: int = 64, ef_construction: int = 80):
    """A FAISS inner-product index over (n, d) vectors: ``"hnsw"`` (approximate, a graph of ``M``
    links per node, ``ef_search`` candidates per query) or ``"flat"`` (exact)."""
    if kind not in ("hnsw", "flat"):
        raise ValueError(f"kind must be 'hnsw' or 'flat', got {kind!r}")
    for name, v in (("M", M), ("ef_search", ef_search), ("ef_construction", ef_construction)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    faiss = _faiss()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"vectors must be a non-empty (n, d) array, got shape {x.shape}")
    if kind == "flat":
        index = faiss.IndexFlatIP(x.shape[1])
    else:
        index = faiss.IndexHNSWFlat(x.shape[1], int(M), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(ef_construction)
        index.hnsw.efSearch = int(ef_search)
    index.add(x)
    return index


def search(index, queries, k: int):
    """(scores, items) of the top-k of each query row in a FAISS index."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    if q.ndim != 2 or q.shape[1] != index.d:
        raise ValueError(f"queries must be (B, {index.d}), got shape {q.shape}")
    scores, items = index.search(q, int(min(k, index.ntotal)))
    return scores, items


def overlap(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each row's exact top-k found by the approximate top-k (recall of the index)."""
    return float(np.mean([len(set(a.tolist()) & set(e.tolist())) / len(e) for a, e in zip(approx, exact)]))


def retrieval_latency(model: LinkedInRetrieval, histories, k: int = 10, repeats: int = 3, kind: str = "hnsw",
                      **index_params) -> dict:
    """Serving costs of a trained model, best of ``repeats``: embedding the catalog (cache cleared),
    embedding a member, exact kNN (matmul + top-k) and the approximate index per member, and the
    index's recall@k against exact kNN."""
    def best(fn):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    def embed_catalog():
        model._cache = None
        return model.item_embeddings()

    n = len(histories)
    catalog_s, items = best(embed_catalog)
    member_s, members = best(lambda: model.embed_members(histories))
    exact_s, (_, exact) = best(lambda: exact_top_k(members, items, k))
    build_s, index = best(lambda: build_index(items, kind, **index_params))
    ann_s, (_, approx) = best(lambda: search(index, members, k))
    model.index = index
    return {"items": len(items), "members": n, "dim": items.shape[1], "catalog_embed_s": catalog_s,
            "items_per_s": len(items) / catalog_s, "member_embed_ms": 1e3 * member_s / n,
            "exact_knn_ms": 1e3 * exact_s / n, "index_build_s": build_s, "ann_ms": 1e3 * ann_s / n,
            f"index_recall@{k}": overlap(approx, exact)}


__all__ = ["LinkedInRetrieval", "LinkedInConfig", "PercentileBuckets", "SimulatedFeed", "mean_pool", "last_pool",
           "info_nce", "bce", "matryoshka_loss", "exact_top_k", "build_index", "search", "overlap",
           "retrieval_latency"]
