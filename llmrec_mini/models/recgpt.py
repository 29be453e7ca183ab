"""RecGPT (Taobao/Alibaba, *RecGPT Technical Report*, arXiv 2507.22879), a compact user-intent pipeline.

RecGPT puts the user's *intent* in the middle of an industrial recommender: LLMs read a compressed
behaviour history and write the user's **interests** (LLM_UI), turn them into short **tags**
("modifier + core word", LLM_IT), a three-tower **tag-aware retrieval** model (TAR) retrieves items
for the user and for the tags, and a third LLM (LLM_RE) writes **explanations** offline for
interest-item pairs; a human-LLM **judge** filters what the LLMs write. This module runs every stage
on the package's shop (../shared/research/methods_part2.md §5), top to bottom as in the paper:

1. **Compressed behaviour text** (`compress_history`): each item compressed to a few words (its
   modifier + core noun), the events grouped by (time bucket, behaviour) and reverse-aggregated, so a
   key is written once with its items: ``Time1(bought): compact mirrorless camera, pro zoom lens | ...``.
   Only reliable behaviours are kept (`RELIABLE_BEHAVIOURS`; plain clicks are dropped).
2. **Interest mining** behind one interface (``mine(histories) -> [[Interest]]``): `RuleInterestMiner`
   (default: leaf categories with at least ``min_support`` items, the user's frequent brands/adjectives/
   tags in each, plus ``related_interests`` categories that training users move to next, the
   counterpart of the LLM's reasoning "a camera buyer wants lenses"), and `LLMInterestMiner` (a causal
   LM, SmolLM2 offline, prompted with the compressed text; `parse_interests` keeps only names of real
   categories, so unparseable output gives no interest, never an error).
3. **Tags** (`generate_tags`): "modifier core" (``kelu face serum``, ``eco-friendly cleanser``), core
   words from the catalog's nouns and leaf categories, modifiers from the user's and the catalog's
   adjectives, brands and tags. `TagMatcher` maps a tag to the items it names; a tag that names no item
   is never generated (the paper's pitfall). Balancing: at most ``tags_per_user`` tags per user and
   ``tags_per_category`` per category (the paper: 80 and 2).
4. **Tag-aware retrieval**: three towers over L2-normalised vectors. Item tower
   ``h_v = norm(E_id[v] + E_cat[c(v)] + mean_w E_tok[w])`` over the item's words; tag tower
   ``h_t = norm(DNN(mean_w E_tok[w]))`` (the paper's h_t = DNN(mean token embedding)), sharing the
   token table with the item tower; user tower a GRU over the item vectors of the last ``max_len``
   items. Scores ``y_col = h_u . h_v`` and ``y_sem = h_t . h_v``. Loss (every term a sampled-softmax
   contrastive loss with temperature tau and ``n_negatives`` shared uniform negatives, `sampled_softmax`)::

       L = L_col + alpha * L_tag + (1 - alpha) * L_cate,        alpha = 0.5

   L_col: user -> next item (`collaborative_loss`); L_tag: tag -> an item the tag names, negatives
   that the tag also names masked (`tag_loss`); L_cate: item -> another item of its leaf category,
   negatives of the same category masked (`category_loss`). Trained by the package's one trainer.
5. **Fused serving**: ``h_fuse = beta * h_u + (1 - beta) * h_t`` with h_t the normalised mean of the
   tag-tower vectors of the user's generated tags (h_u for a user without tags); score = h_fuse . h_v.
   ``beta`` is a setting and a `recommend` option.
6. **Explanations** behind one interface (``write(pairs) -> [str]``): `TemplateExplainer` (default)
   and `LLMExplainer` (SmolLM2); generated offline for (interest, item) pairs matched through the
   category (`RecGPT.build_explanations`) and served by lookup (`RecGPT.explain`).
7. **Judge** (`Judge`): a logistic regression on simple features of an interest or a tag, trained and
   scored against held-out labels (an interest is good when the user's held-out future items fall in
   it), reported with accuracy, Cohen's kappa, the majority-class baseline and the class balance.
8. **Metrics**: `held_out_future`, `interest_precision`, `tag_precision`, `category_diversity`; recall,
   NDCG and HR@30 come from `llmrec_mini.evaluate`.

Deviations. No LLM is fine-tuned: the paper's TBStars-42B/Qwen3 models, trained by multi-task SFT,
DeepSeek-R1 distillation and self-training with rejection sampling, become rules (default) or an
untuned 135M SmolLM2. An interest is a leaf category with the user's modifiers, not free text, so that
it can be checked against held-out purchases. Items are compressed by a title rule (brand and model
code dropped, first word = modifier) instead of an LLM; time buckets are equal slices of the history
(or of its time span when timestamps are given) and every synthetic event is a purchase. The
Tag-to-Cate model of the balancing step is the tag's own category; the user tower is a GRU (the paper
does not fix it); h_t serves the mean of the user's tags rather than one retrieval per tag merged; the
judge is a classifier on held-out behaviour, not an SFT'd Qwen3 checked by humans.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, Sequence

import numpy as np

from ..config import Settings
from ..data.sequences import training_windows
from .base import CheckpointError, TorchRecommender
from .contract import Capabilities

RELIABLE_BEHAVIOURS = ("bought", "cart", "favourite", "reviewed", "viewed", "searched")  # no plain clicks


# ============================================================================ 0. the shop's words
class ItemProfiles:
    """Per item: the compressed words RecGPT reads and writes: ``core`` (the noun: "mirrorless camera"),
    ``modifier`` (its adjective: "compact"), ``brand``, ``tags`` and leaf ``category``; all lowercase.

    The title rule: drop the brand and any word with a digit (model codes); the first remaining word is
    the modifier, the rest the core (the last two words of a longer title). Made for the built-in shop;
    the paper compresses titles with an LLM."""

    def __init__(self, cores, modifiers, brands, tags, categories):
        self.cores, self.modifiers, self.brands = list(cores), list(modifiers), list(brands)
        self.tags = [tuple(t) for t in tags]
        self.categories = list(categories)
        self.category_names = sorted(set(self.categories))
        self.category_index = {c: k for k, c in enumerate(self.category_names)}
        self.category_of = np.array([self.category_index[c] for c in self.categories], dtype=np.int64)
        self.members = [np.flatnonzero(self.category_of == k) for k in range(len(self.category_names))]
        self.brand_set = set(self.brands) - {""}

    @classmethod
    def from_catalog(cls, catalog) -> "ItemProfiles":
        cores, modifiers, brands, tags, cats = [], [], [], [], []
        for i in range(len(catalog)):
            brand = (catalog.brands[i] if catalog.brands else "") or ""
            leaf = catalog.categories[i][-1] if catalog.categories and catalog.categories[i] else "all"
            title = catalog.titles[i] if catalog.titles and catalog.titles[i] else leaf
            modifier, core = _split_title(title, brand)
            cores.append(core or leaf.lower())
            modifiers.append(modifier)
            brands.append(brand.lower())
            tags.append([t.lower() for t in (catalog.tags[i] if catalog.tags else [])])
            cats.append(leaf.lower())
        return cls(cores, modifiers, brands, tags, cats)

    def __len__(self) -> int:
        return len(self.cores)

    def attributes(self, i: int) -> list[str]:
        """The item's possible tag modifiers: adjective, brand, tags (unique, in that order)."""
        return list(dict.fromkeys(a for a in (self.modifiers[i], self.brands[i], *self.tags[i]) if a))

    def core_words(self, i: int) -> list[str]:
        """The item's possible tag core words: its noun and its leaf category."""
        return list(dict.fromkeys((self.cores[i], self.categories[i])))

    def compress(self, i: int) -> str:
        """Item i in a few words: modifier + core ("compact mirrorless camera")."""
        return f"{self.modifiers[i]} {self.cores[i]}".strip()

    def words(self, i: int) -> list[str]:
        """The item tower's words: core, modifier, brand, tags, category (unique)."""
        text = " ".join([self.cores[i], self.modifiers[i], self.brands[i], *self.tags[i], self.categories[i]])
        return list(dict.fromkeys(text.split()))

    def to_dict(self) -> dict:
        return {"cores": self.cores, "modifiers": self.modifiers, "brands": self.brands,
                "tags": [list(t) for t in self.tags], "categories": self.categories}

    @classmethod
    def from_dict(cls, d: dict) -> "ItemProfiles":
        return cls(d["cores"], d["modifiers"], d["brands"], d["tags"], d["categories"])


def _split_title(title: str, brand: str) -> tuple[str, str]:
    """(modifier, core) of a title, lowercase (see `ItemProfiles`)."""
    drop = {w.lower() for w in brand.split()}
    words = [w.strip(",.;:()[]").lower() for w in str(title).split()]
    words = [w for w in words if w and w not in drop and not any(ch.isdigit() for ch in w)]
    if len(words) < 2:
        return "", " ".join(words)
    return words[0], " ".join(words[1:] if len(words) <= 4 else words[-2:])


# ============================================================================ 1. compressed behaviour text
def compress_history(profiles: ItemProfiles, history, timestamps=None, behaviours=None, n_buckets: int = 3) -> str:
    """The user's behaviour as RecGPT's LLMs read it (hierarchical compression, paper §LLM_UI).

    Each item becomes a few words (`ItemProfiles.compress`); events are cut into ``n_buckets`` time
    buckets (equal slices of the history, or of its time span with ``timestamps``), labelled Time1
    (oldest) to Time<n>; each (bucket, behaviour) key is written once, followed by its items in order,
    an item repeated under one key written once with ``xN`` (reverse aggregation). Behaviours default to
    "bought"; events whose behaviour is not in `RELIABLE_BEHAVIOURS` (e.g. "clicked") are dropped.
    """
    history = np.asarray(history, dtype=np.int64).reshape(-1)
    n = len(history)
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, (int, np.integer)) or n_buckets < 1:
        raise ValueError(f"n_buckets must be a positive integer, got {n_buckets!r}")
    behaviours = ["bought"] * n if behaviours is None else list(behaviours)
    if len(behaviours) != n:
        raise ValueError(f"got {len(behaviours)} behaviours for {n} events")
    if timestamps is None:
        bucket = np.arange(n) * n_buckets // max(n, 1)
    else:
        t = np.asarray(timestamps, dtype=float).reshape(-1)
        if len(t) != n:
            raise ValueError(f"got {len(t)} timestamps for {n} events")
        span = t.max() - t.min() if n else 0.0
        bucket = np.minimum(((t - t.min()) / span * n_buckets).astype(int), n_buckets - 1) if span > 0 \
            else np.zeros(n, dtype=int)
    groups: dict[tuple[int, str], Counter] = {}
    for item, b, beh in zip(history, bucket, behaviours):
        if beh in RELIABLE_BEHAVIOURS:
            groups.setdefault((int(b), beh), Counter())[profiles.compress(int(item))] += 1
    parts = []
    for (b, beh) in sorted(groups, key=lambda key: key[0]):  # stable: behaviours in order of first appearance
        items = ", ".join(w if c == 1 else f"{w} x{c}" for w, c in groups[(b, beh)].items())
        parts.append(f"Time{b + 1}({beh}): {items}")
    return " | ".join(parts)


# ============================================================================ 2. interest mining
@dataclass(frozen=True)
class Interest:
    """One mined interest: a leaf ``category``, the user's frequent ``modifiers`` in it (brands,
    adjectives, tags; most frequent first), its ``support`` (history items in it) and its ``source``
    ("history", "related" or "llm")."""
    category: str
    modifiers: tuple[str, ...] = ()
    support: int = 0
    source: str = "history"

    @property
    def text(self) -> str:
        return f"{self.category} ({', '.join(self.modifiers)})" if self.modifiers else self.category


class InterestMiner(Protocol):
    def mine(self, histories: Sequence[np.ndarray]) -> list[list[Interest]]: ...


def _modifier_counts(profiles: ItemProfiles, items) -> Counter:
    return Counter(a for i in items for a in profiles.attributes(int(i)))


class RuleInterestMiner:
    """Interests from support thresholds (see the module docstring); ``fit(sequences)`` learns which
    categories follow which (needed only for ``related > 0``)."""

    def __init__(self, profiles: ItemProfiles, min_support: int = 2, max_interests: int = 4, related: int = 1,
                 max_modifiers: int = 3, min_modifier_support: int = 2):
        for name, value, low in (("min_support", min_support, 1), ("max_interests", max_interests, 1),
                                 ("related", related, 0), ("max_modifiers", max_modifiers, 0),
                                 ("min_modifier_support", min_modifier_support, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.profiles, self.min_support, self.max_interests = profiles, min_support, max_interests
        self.related = related
        self.max_modifiers, self.min_modifier_support = max_modifiers, min_modifier_support
        n = len(profiles.category_names)
        self.transitions = np.zeros((n, n), dtype=np.int64)  # [a, b]: a category-a item followed by a b item

    def fit(self, sequences) -> "RuleInterestMiner":
        cat = self.profiles.category_of
        self.transitions[:] = 0
        for s in sequences:
            c = cat[np.asarray(s, dtype=np.int64)]
            moves = c[:-1] != c[1:]
            np.add.at(self.transitions, (c[:-1][moves], c[1:][moves]), 1)
        return self

    def mine(self, histories) -> list[list[Interest]]:
        return [self._mine_one(np.asarray(h, dtype=np.int64)) for h in histories]

    def _mine_one(self, h: np.ndarray) -> list[Interest]:
        p = self.profiles
        cats = p.category_of[h]
        counts = np.bincount(cats, minlength=len(p.category_names))
        last = np.full(len(counts), -1)
        last[cats] = np.arange(len(h))  # the last position of each category (later positions overwrite)
        strong = sorted(np.flatnonzero(counts >= self.min_support),
                        key=lambda k: (-counts[k], -last[k]))[: self.max_interests]  # ties: the most recent
        out = []
        for k in strong:
            mods = _modifier_counts(p, h[cats == k])
            mods = [m for m in _ranked(mods, p) if mods[m] >= self.min_modifier_support]
            out.append(Interest(p.category_names[k], tuple(mods[: self.max_modifiers]), int(counts[k]), "history"))
        if strong and self.related:
            # P(next category | category), summed over the user's interests weighted by their support
            rows = self.transitions[strong] / np.maximum(1, self.transitions[strong].sum(1, keepdims=True))
            score = (counts[strong, None] * rows).sum(0)
            score[strong] = 0  # not already an interest
            for k in np.argsort(-score, kind="stable")[: self.related]:
                if score[k] > 0:
                    out.append(Interest(p.category_names[k], (), 0, "related"))
        return out


def parse_interests(text, profiles: ItemProfiles, max_interests: int | None = None) -> list[Interest]:
    """Interests named in an LLM's answer: pieces split at commas, semicolons, new lines, bullets and
    numbering, each kept when it names a leaf category of the shop (exactly, in the singular, or inside
    the piece). Anything else, or no text at all, gives no interest: never an error."""
    if not isinstance(text, str):
        return []
    names = sorted(profiles.category_names, key=len, reverse=True)  # longest first: "camera bags" before "cameras"
    found: list[str] = []
    for piece in re.split(r"[,;\n|]|\s-\s|\d+[.)]|\*|•|\band\b", text.lower()):
        piece = re.sub(r"[^a-z0-9\- ]+", " ", piece).strip()
        if not piece:
            continue
        for name in names:
            if piece == name or piece.rstrip("s") == name.rstrip("s") or re.search(rf"\b{re.escape(name)}\b", piece):
                if name not in found:
                    found.append(name)
                break
    return [Interest(c, (), 0, "llm") for c in found[:max_interests]]


class LLMInterestMiner:
    """LLM_UI with a causal LM: the compressed history and the categories it touches in a prompt (the
    tokenizer's chat template when it has one), the answer begun with ``ANSWER_PREFIX``, greedy
    decoding, `parse_interests` on the answer.
    ``last_prompts`` / ``last_outputs`` keep the texts of the latest call."""

    INSTRUCTION = ("Here is what a shopper did, oldest first:\n{history}\n"
                   "Categories: {categories}.\n"
                   "Which of these categories is the shopper most interested in? "
                   "Answer with at most {k} category names, comma-separated.")
    ANSWER_PREFIX = "Interests: "

    def __init__(self, model, tokenizer, profiles: ItemProfiles, max_interests: int = 4, max_new_tokens: int = 24,
                 n_buckets: int = 3):
        self.model, self.tokenizer, self.profiles = model, tokenizer, profiles
        self.max_interests, self.max_new_tokens, self.n_buckets = max_interests, max_new_tokens, n_buckets
        self.last_prompts: list[str] = []
        self.last_outputs: list[str] = []

    @classmethod
    def from_pretrained(cls, profiles: ItemProfiles, name: str = "smollm2", **kwargs) -> "LLMInterestMiner":
        from ..llm import load_pretrained

        model, tokenizer = load_pretrained(name)
        return cls(model, tokenizer, profiles, **kwargs)

    def prompt(self, history) -> str:
        """The prompt; the categories offered are those of the history's items, alphabetically (the
        whole shop's list is too long for a small model to use)."""
        h = np.asarray(history, dtype=np.int64)
        cats = sorted({self.profiles.categories[int(v)] for v in h})
        text = self.INSTRUCTION.format(history=compress_history(self.profiles, h, n_buckets=self.n_buckets),
                                       categories=", ".join(cats), k=self.max_interests)
        if getattr(self.tokenizer, "chat_template", None):  # the answer starts with the prefix: a list follows
            return self.tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                      add_generation_prompt=True) + self.ANSWER_PREFIX
        return f"{text}\n{self.ANSWER_PREFIX}"

    def mine(self, histories) -> list[list[Interest]]:
        from ..llm import generate_text

        self.last_prompts = [self.prompt(h) for h in histories]
        if not self.last_prompts:
            return []
        ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in self.last_prompts]
        eos = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else self.tokenizer.pad_token_id
        rows = generate_text(self.model, ids, self.tokenizer.pad_token_id, eos, max_new_tokens=self.max_new_tokens)
        self.last_outputs = [self.tokenizer.decode(r, skip_special_tokens=True) for r in rows]
        return [parse_interests(t, self.profiles, self.max_interests) for t in self.last_outputs]


# ============================================================================ 3. tags: "modifier + core word"
@dataclass(frozen=True)
class Tag:
    modifier: str
    core: str
    category: str  # the interest it was written for

    @property
    def text(self) -> str:
        return f"{self.modifier} {self.core}"


class TagMatcher:
    """Which items a tag names: item v matches "m c" when m is one of v's attributes (adjective, brand,
    tags) and c one of its core words (noun, leaf category). ``vocabulary``: every (m, c) that names at
    least one item, the only tags that can be generated."""

    def __init__(self, profiles: ItemProfiles):
        table: dict[tuple[str, str], list[int]] = {}
        for i in range(len(profiles)):
            for m in profiles.attributes(i):
                for c in profiles.core_words(i):
                    table.setdefault((m, c), []).append(i)
        self.vocabulary = sorted(table)
        self.index = {key: j for j, key in enumerate(self.vocabulary)}
        self._items = [np.array(table[key], dtype=np.int64) for key in self.vocabulary]
        # the category a vocabulary tag belongs to: that of most of its items
        self.category_of = np.array([np.bincount(profiles.category_of[v]).argmax() for v in self._items],
                                    dtype=np.int64)

    def has(self, modifier: str, core: str) -> bool:
        return (modifier, core) in self.index

    def items(self, tag) -> np.ndarray:
        """Item indices the tag names (a `Tag`, a (modifier, core) pair or a vocabulary index)."""
        if isinstance(tag, (int, np.integer)):
            return self._items[int(tag)]
        key = (tag.modifier, tag.core) if isinstance(tag, Tag) else tuple(tag)
        return self._items[self.index[key]] if key in self.index else np.zeros(0, dtype=np.int64)


def _ranked(counter: Counter, profiles: ItemProfiles | None = None) -> list[str]:
    """Keys by count; ties: brands first (with ``profiles``), then alphabetical."""
    brands = profiles.brand_set if profiles is not None else set()
    return [k for k, _ in sorted(counter.items(), key=lambda x: (-x[1], x[0] not in brands, x[0]))]


def generate_tags(interests: Sequence[Interest], history, profiles: ItemProfiles, matcher: TagMatcher,
                  per_user: int = 8, per_category: int = 2) -> list[Tag]:
    """LLM_IT as a rule: for each interest, modifiers (the interest's own, then the user's most frequent
    attributes, then the category's most common ones) crossed with core words (the user's nouns in the
    category, then the category's, then its name), keeping only tags that name an item (`TagMatcher`),
    at most ``per_category`` per category and ``per_user`` in all."""
    if per_user < 1 or per_category < 1:
        raise ValueError(f"per_user and per_category must be at least 1, got {per_user} and {per_category}")
    h = np.asarray(history, dtype=np.int64)
    user_mods = _ranked(_modifier_counts(profiles, h), profiles)
    out: list[Tag] = []
    for it in interests:
        if len(out) >= per_user or it.category not in profiles.category_index:
            continue
        k = profiles.category_index[it.category]
        members = profiles.members[k]
        mine = h[profiles.category_of[h] == k]
        mods = list(dict.fromkeys([*it.modifiers, *user_mods, *_ranked(_modifier_counts(profiles, members), profiles)]))
        cores = list(dict.fromkeys([*_ranked(Counter(profiles.cores[i] for i in mine)),
                                    *_ranked(Counter(profiles.cores[i] for i in members)), it.category]))
        # candidates best first by rank(modifier) + rank(core); each new tag prefers a modifier and a
        # core word not used yet in this category (the prompt's "diversity")
        valid = sorted(((a + b, a, m, c) for a, m in enumerate(mods) for b, c in enumerate(cores) if matcher.has(m, c)))
        chosen: list[Tag] = []
        for fresh in (True, False):
            for _, _, m, c in valid:
                if len(chosen) >= min(per_category, per_user - len(out)):
                    break
                tag = Tag(m, c, it.category)
                if tag in chosen or tag in out or (fresh and any(m == t.modifier or c == t.core for t in chosen)):
                    continue
                chosen.append(tag)
        out.extend(chosen)
    return out


# ============================================================================ 4. tag-aware retrieval (TAR)
def sampled_softmax(query, positive, negatives, invalid=None, temperature: float = 1.0):
    """Mean over rows n of -log softmax([q_n . p_n, q_n . x_1, ..., q_n . x_K] / tau)[0]: query (N, D),
    positive (N, D), shared negatives (K, D); ``invalid`` (N, K) True = negative k does not count for row n."""
    import torch
    import torch.nn.functional as F

    if len(query) == 0:
        return query.sum() * 0.0
    pos = (query * positive).sum(-1, keepdim=True)
    neg = query @ negatives.T
    if invalid is not None:
        neg = neg.masked_fill(invalid, float("-inf"))
    logits = torch.cat([pos, neg], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(query), dtype=torch.long, device=logits.device))


def collaborative_loss(h_u, h_v, targets, negatives, temperature: float):
    """L_col: each user vector h_u[n] -> its next item targets[n] (y_col = h_u . h_v), against the
    sampled items ``negatives`` (an accidental hit, a negative equal to the target, is masked)."""
    return sampled_softmax(h_u, h_v[targets], h_v[negatives], negatives[None, :] == targets[:, None], temperature)


def tag_loss(h_t, h_v, positives, negatives, matches, temperature: float):
    """L_tag: each tag vector h_t[n] -> an item it names, positives[n] (y_sem = h_t . h_v); ``matches``
    (N, K) True where negative k is also named by tag n (masked: it is no negative)."""
    return sampled_softmax(h_t, h_v[positives], h_v[negatives], matches, temperature)


def category_loss(h_v, anchors, positives, negatives, category_of, temperature: float):
    """L_cate: item -> item, positives[n] from the category of anchors[n], negatives of that category masked."""
    invalid = category_of[negatives][None, :] == category_of[anchors][:, None]
    return sampled_softmax(h_v[anchors], h_v[positives], h_v[negatives], invalid, temperature)


def combined_loss(terms, alpha: float):
    """L = L_col + alpha L_tag + (1 - alpha) L_cate, from ``terms`` = (L_col, L_tag, L_cate)."""
    return terms[0] + alpha * terms[1] + (1 - alpha) * terms[2]


def _module(n_items: int, n_tokens: int, n_categories: int, item_tokens: np.ndarray, category_of: np.ndarray, c):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class TAR(nn.Module):
        def __init__(self):
            super().__init__()
            d = c.d_model
            self.item_id = nn.Embedding(n_items + 1, d, padding_idx=0)  # row 0: padding of user sequences
            self.category = nn.Embedding(n_categories, d)
            self.token = nn.Embedding(n_tokens + 1, d, padding_idx=0)  # shared by the item and tag towers
            for e in (self.item_id, self.category, self.token):
                nn.init.normal_(e.weight, std=0.1)
                if e.padding_idx is not None:
                    with torch.no_grad():
                        e.weight[e.padding_idx].zero_()
            self.tag_dnn = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))  # h_t = DNN(mean tokens)
            self.gru = nn.GRU(d, d, batch_first=True)
            self.user_out = nn.Linear(d, d)
            self.drop = nn.Dropout(c.dropout)
            # derived from the item profiles, which the checkpoint keeps (profiles.json): not in the weights
            self.register_buffer("item_tokens", torch.as_tensor(item_tokens, dtype=torch.long), persistent=False)
            self.register_buffer("category_of", torch.as_tensor(category_of, dtype=torch.long), persistent=False)

        def mean_tokens(self, tokens):  # (..., W) token ids, 0 = padding -> (..., D)
            mask = (tokens > 0).unsqueeze(-1).float()
            return (self.token(tokens) * mask).sum(-2) / mask.sum(-2).clamp(min=1)

        def item_repr(self):  # (n_items, D), before normalisation: also the GRU's input
            return self.item_id.weight[1:] + self.category(self.category_of) + self.mean_tokens(self.item_tokens)

        def items(self):  # the item tower, h_v
            return F.normalize(self.item_repr(), dim=-1)

        def tags(self, tokens):  # the tag tower, h_t = DNN(mean token embedding)
            return F.normalize(self.tag_dnn(self.mean_tokens(tokens)), dim=-1)

        def users(self, tokens, lengths, repr_=None):  # the user tower: GRU over item vectors, right-padded
            repr_ = self.item_repr() if repr_ is None else repr_
            table = torch.cat([repr_.new_zeros(1, repr_.shape[1]), repr_])
            x = self.drop(table[tokens])
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.gru(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
            return F.normalize(self.user_out(out), dim=-1)  # (B, L, D): h_u after each prefix

        def forward(self, batch):
            """(L_col, L_tag, L_cate) of a training batch (`RecGPT.collate`)."""
            repr_ = self.item_repr()
            h_v = F.normalize(repr_, dim=-1)
            h_u = self.users(batch["tokens"], batch["lengths"], repr_)
            keep = batch["targets"] >= 0
            tau = c.temperature
            l_col = collaborative_loss(h_u[keep], h_v, batch["targets"][keep], batch["negatives"], tau)
            l_tag = tag_loss(self.tags(batch["tag_tokens"]), h_v, batch["tag_items"], batch["negatives"],
                             batch["tag_matches"], tau)
            l_cate = category_loss(h_v, batch["anchors"], batch["anchor_positives"], batch["negatives"],
                                   self.category_of, tau)
            return torch.stack([l_col, l_tag, l_cate])

    return TAR()


# ============================================================================ 5. the recommender
@dataclass
class RecGPTConfig(Settings):
    d_model: int = 64
    max_len: int = 20  # the most recent items the user tower reads
    dropout: float = 0.1  # on the user tower's inputs
    temperature: float = 0.1  # tau of every sampled softmax
    n_negatives: int = 256  # shared uniform negatives per batch (all items when the catalog is smaller)
    aux_batch: int = 128  # tags (L_tag) and anchor items (L_cate) per batch
    alpha: float = 0.5  # L = L_col + alpha L_tag + (1 - alpha) L_cate
    beta: float = 0.8  # serving: h_fuse = beta h_u + (1 - beta) h_t (also a recommend option)
    miner: Literal["rule", "llm"] = "rule"  # interest miner at serving time; "llm" prompts `llm` (slow)
    llm: str = "smollm2"  # the LLM of miner="llm" (`llm.load_pretrained`)
    min_support: int = 2  # history items a category needs to be an interest
    max_interests: int = 4
    related_interests: int = 1  # categories added from what training users buy next
    tags_per_user: int = 8  # the paper: 80
    tags_per_category: int = 2  # the paper: 2

    def check(self) -> None:
        self.at_least(1, "d_model", "max_len", "n_negatives", "aux_batch", "min_support", "max_interests",
                      "tags_per_user", "tags_per_category")
        if self.related_interests < 0:
            raise ValueError(f"related_interests must be >= 0, got {self.related_interests}")
        for name in ("alpha", "beta"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")


def _check_beta(beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating, np.integer)) or not 0 <= beta <= 1:
        raise ValueError(f"beta must be a number in [0, 1], got {beta!r}")
    return float(beta)


class RecGPT(TorchRecommender):
    """RecGPT's pipeline; see the module docstring.

    After `fit`: ``profiles`` (`ItemProfiles`), ``matcher`` (`TagMatcher`), ``miner``, ``explanations``
    (the offline table). ``interests(histories)``, ``tags(histories)`` and ``explain(history, items)``
    give each stage's output; ``recommend(histories, k, beta=...)`` the fused ranking.
    """

    name = "recgpt"
    description = ("RecGPT: interests and 'modifier core' tags mined from compressed behaviour, "
                   "tag-aware three-tower retrieval")
    capabilities = Capabilities(needs_catalog=True)
    Config = RecGPTConfig
    decode_options = {"beta": None}  # None: the `beta` setting
    train_defaults = {"epochs": 12, "lr": 3e-3, "batch_size": 128, "patience": None, "val_users": 500}
    presets = {
        "tiny": {"d_model": 16, "max_len": 10, "n_negatives": 64, "aux_batch": 32, "epochs": 2, "val_users": 50},
    }
    published = ()  # online A/B and judge numbers only (no offline benchmark): see the note

    def __init__(self, **params):
        super().__init__(**params)
        self.profiles: ItemProfiles | None = None
        self.matcher: TagMatcher | None = None
        self.miner = None
        self._stats: RuleInterestMiner | None = None  # category statistics when the miner is the LLM
        self.explanations: dict[str, str] = {}
        self._vocab: dict[str, int] = {}
        self._tag_cache: dict[bytes, list[Tag]] = {}
        self._rng = None
        self._terms: list = []
        self._call_beta: float | None = None

    # ------------------------------------------------------------------ data-dependent pieces
    def _setup(self, profiles: ItemProfiles) -> None:
        """Everything derived from the item profiles: words, token table, tag vocabulary."""
        self.profiles = profiles
        words = sorted({w for i in range(len(profiles)) for w in profiles.words(i)})
        self._vocab = {w: j + 1 for j, w in enumerate(words)}  # 0 = padding
        self.matcher = TagMatcher(profiles)
        self._tag_tokens = self.tokenize([f"{m} {c}" for m, c in self.matcher.vocabulary])
        self._tag_cache, self._stats = {}, None

    def tokenize(self, texts: Sequence[str]) -> np.ndarray:
        """(n, W) token ids of texts, right-padded with 0; unknown words are dropped."""
        rows = [[self._vocab[w] for w in dict.fromkeys(t.split()) if w in self._vocab] for t in texts]
        out = np.zeros((len(rows), max([1, *map(len, rows)])), dtype=np.int64)
        for r, ids in enumerate(rows):
            out[r, :len(ids)] = ids
        return out

    def _make_miner(self, transitions: np.ndarray | None = None):
        c = self.config
        if c.miner == "llm":
            return LLMInterestMiner.from_pretrained(self.profiles, c.llm, max_interests=c.max_interests)
        miner = RuleInterestMiner(self.profiles, c.min_support, c.max_interests, c.related_interests)
        if transitions is not None:
            miner.transitions = transitions
        return miner

    def prepare(self, split, catalog) -> None:
        if catalog is None:
            raise ValueError("RecGPT reads item titles, categories, brands and tags: "
                             "fit(split, catalog) needs the catalog")
        self._setup(ItemProfiles.from_catalog(catalog))
        self.miner = self._make_miner()
        self._rule_miner().fit(split.train)
        self.explanations = {}
        self.build_explanations(histories=[s for s in split.train if len(s)])

    def _rule_miner(self) -> RuleInterestMiner:
        """The rule miner's statistics (the LLM miner keeps a rule miner for them too)."""
        if isinstance(self.miner, RuleInterestMiner):
            return self.miner
        if self._stats is None:
            c = self.config
            self._stats = RuleInterestMiner(self.profiles, c.min_support, c.max_interests, c.related_interests)
        return self._stats

    def build(self):
        if self.profiles is None:
            raise RuntimeError("RecGPT needs its item profiles before build (fit with the catalog, or load)")
        p = self.profiles
        return _module(len(p), len(self._vocab), len(p.category_names),
                       self.tokenize([" ".join(p.words(i)) for i in range(len(p))]), p.category_of, self.config)

    def untrained(self, n_items: int, catalog=None) -> "RecGPT":
        if catalog is None:
            raise ValueError("RecGPT reads item titles, categories, brands and tags: untrained(n_items, catalog) "
                             "needs the catalog")
        self._setup(ItemProfiles.from_catalog(catalog))
        self.miner = self._make_miner()
        return super().untrained(n_items, catalog)

    # ------------------------------------------------------------------ training examples
    def examples(self, split):
        """Windows of at most max_len + 1 items (`training_windows`): (items, n trained targets)."""
        return training_windows(split.train, self.config.max_len, max(1, self.config.max_len // 2))

    def before_training(self, split, catalog) -> None:
        self._rng = np.random.default_rng(self.train_config.seed)
        self._terms = []

    def collate(self, examples) -> dict:
        """A batch for the three losses: right-padded sequences, next-item targets (-1: not trained),
        shared negatives, ``aux_batch`` vocabulary tags with an item each, and as many anchor items
        (the batch's targets) with a same-category positive each; masks for the tag loss."""
        import torch

        c, rng, p = self.config, self._rng if self._rng is not None else np.random.default_rng(0), self.profiles
        n_items = len(p)
        width = max(len(w) - 1 for w, _ in examples)
        tokens = np.zeros((len(examples), width), dtype=np.int64)
        targets = np.full((len(examples), width), -1, dtype=np.int64)
        lengths = np.zeros(len(examples), dtype=np.int64)
        for b, (w, n) in enumerate(examples):
            L = len(w) - 1
            tokens[b, :L], lengths[b] = np.asarray(w[:-1]) + 1, L
            targets[b, L - n:L] = w[1:][L - n:]
        negatives = (np.arange(n_items) if c.n_negatives >= n_items
                     else rng.choice(n_items, c.n_negatives, replace=False))
        # L_tag: vocabulary tags, one named item each; negatives the tag also names are masked
        n_tags = len(self.matcher.vocabulary)
        tag_ids = rng.choice(n_tags, min(c.aux_batch, n_tags), replace=False)
        tag_items = np.array([rng.choice(self.matcher.items(int(t))) for t in tag_ids], dtype=np.int64)
        matches = np.array([np.isin(negatives, self.matcher.items(int(t))) for t in tag_ids],
                           dtype=bool).reshape(len(tag_ids), len(negatives))
        # L_cate: the batch's target items, each with another item of its category
        pool = np.unique(targets[targets >= 0])
        pool = pool[[len(p.members[p.category_of[v]]) > 1 for v in pool]]
        anchors = rng.choice(pool, min(c.aux_batch, len(pool)), replace=False) if len(pool) else pool
        positives = np.array([rng.choice(p.members[p.category_of[a]][p.members[p.category_of[a]] != a])
                              for a in anchors], dtype=np.int64)
        t = lambda a: torch.as_tensor(a)  # noqa: E731
        return {"tokens": t(tokens), "lengths": t(lengths), "targets": t(targets), "negatives": t(negatives),
                "tag_tokens": t(self._tag_tokens[tag_ids]), "tag_items": t(tag_items), "tag_matches": t(matches),
                "anchors": t(anchors.astype(np.int64)), "anchor_positives": t(positives)}

    def loss(self, module, batch):
        terms = module(batch)
        self._terms.append(terms.detach())
        return combined_loss(terms, self.config.alpha)

    def validation_fn(self, split, metric: str = "ndcg@10"):
        """The base validation (fused ranking), plus each loss term's training mean of the epoch."""
        validate = super().validation_fn(split, metric)
        if validate is None:
            return None

        def with_terms(module):
            import torch

            means = torch.stack(self._terms).mean(0).tolist() if self._terms else [float("nan")] * 3
            self._terms = []
            return {"score": validate(module), "L_col": means[0], "L_tag": means[1], "L_cate": means[2]}

        return with_terms

    # ------------------------------------------------------------------ stages at serving time
    def interests(self, histories) -> list[list[Interest]]:
        self._check_ready()
        return self.miner.mine([np.asarray(h, dtype=np.int64) for h in histories])

    def tags(self, histories) -> list[list[Tag]]:
        """Each history's generated tags (interests mined, then `generate_tags`), cached per history."""
        self._check_ready()
        c = self.config
        caps = f"{c.tags_per_user},{c.tags_per_category}".encode()  # the caps are settings: part of the key
        keys = [np.asarray(h, dtype=np.int64).tobytes() + caps for h in histories]
        todo = [b for b, k in enumerate(keys) if k not in self._tag_cache]
        if todo:
            mined = self.interests([histories[b] for b in todo])
            for b, its in zip(todo, mined):
                self._tag_cache[keys[b]] = generate_tags(its, histories[b], self.profiles, self.matcher,
                                                         c.tags_per_user, c.tags_per_category)
        return [self._tag_cache[k] for k in keys]

    def _check_ready(self) -> None:
        if self.profiles is None or self.miner is None:
            raise RuntimeError("fit or load the recgpt model first")

    # ------------------------------------------------------------------ the towers
    def item_vectors(self) -> np.ndarray:
        """h_v of every item, (n_items, D)."""
        import torch

        self.check_fitted()
        with torch.no_grad():
            return self.module.items().float().cpu().numpy()

    def user_vectors(self, histories) -> np.ndarray:
        """h_u of each history (its last max_len items), (B, D)."""
        import torch

        self.check_fitted()
        L = self.config.max_len
        hs = [np.asarray(h, dtype=np.int64)[-L:] for h in histories]
        width = max([1, *map(len, hs)])
        tokens = np.zeros((len(hs), width), dtype=np.int64)
        for b, h in enumerate(hs):
            tokens[b, :len(h)] = h + 1
        lengths = np.array([max(1, len(h)) for h in hs])
        dev = self.device()
        with torch.no_grad():
            out = self.module.users(torch.as_tensor(tokens, device=dev), torch.as_tensor(lengths))
            last = torch.as_tensor(lengths - 1, device=out.device)
            return out[torch.arange(len(hs), device=out.device), last].float().cpu().numpy()

    def tag_vectors(self, tags: Sequence) -> np.ndarray:
        """h_t of tags (`Tag`s or strings), (n, D)."""
        import torch

        self.check_fitted()
        texts = [t.text if isinstance(t, Tag) else str(t) for t in tags]
        with torch.no_grad():
            return self.module.tags(torch.as_tensor(self.tokenize(texts), device=self.device())).float().cpu().numpy()

    def tag_query(self, histories, user_vectors: np.ndarray | None = None) -> np.ndarray:
        """The tag side of the fused query: normalised mean of h_t over each user's tags (h_u without tags)."""
        tags = self.tags(histories)
        h_u = self.user_vectors(histories) if user_vectors is None else user_vectors
        unique = sorted({t.text for ts in tags for t in ts})
        vecs = dict(zip(unique, self.tag_vectors(unique))) if unique else {}
        out = h_u.copy()
        for b, ts in enumerate(tags):
            if ts:
                m = np.mean([vecs[t.text] for t in ts], axis=0)
                out[b] = m / max(np.linalg.norm(m), 1e-12)
        return out

    def score(self, histories, users=None, beta=None) -> np.ndarray:
        """h_fuse . h_v with h_fuse = beta h_u + (1 - beta) h_t; (B, n_items)."""
        if beta is not None:
            beta = _check_beta(beta)
        else:  # recommend(..., beta=...) passes its value through _call_beta
            beta = self.config.beta if self._call_beta is None else self._call_beta
        h_v = self.item_vectors()
        h_u = self.user_vectors(histories)
        if beta == 1:
            return h_u @ h_v.T
        h_t = self.tag_query(histories, h_u)
        return (beta * h_u + (1 - beta) * h_t) @ h_v.T

    def _recommend(self, histories, k, exclude_seen, users, beta=None):
        self._call_beta = None if beta is None else _check_beta(beta)
        try:
            return super()._recommend(histories, k, exclude_seen, users)  # top-k of `score`, which reads it
        finally:
            self._call_beta = None

    # ------------------------------------------------------------------ explanations: offline table, lookup
    def build_explanations(self, writer=None, histories=None, pairs=None) -> dict[str, str]:
        """The offline table: one explanation per (interest category, item of that category), for the
        interests mined from ``histories`` (or the given ``pairs`` of (Interest, item)), by ``writer``
        (default `TemplateExplainer`). Served by `explain`."""
        writer = TemplateExplainer(self.profiles) if writer is None else writer
        if pairs is None:
            mined = self._rule_miner().mine(histories or [])
            cats = sorted({it.category for its in mined for it in its})
            members = self.profiles.members
            pairs = [(Interest(cat), int(v)) for cat in cats for v in members[self.profiles.category_index[cat]]]
        texts = writer.write(pairs)
        self.explanations.update({_explanation_key(it.category, v): t for (it, v), t in zip(pairs, texts)})
        return self.explanations

    def explain(self, history, items) -> list[str | None]:
        """Served by lookup: for each item, the explanation of the user's interest in its category
        (None when no interest of the user covers the item's category or the table lacks the pair)."""
        cats = {it.category for it in self.interests([history])[0]}
        out = []
        for v in items:
            cat = self.profiles.categories[int(v)]
            out.append(self.explanations.get(_explanation_key(cat, int(v))) if cat in cats else None)
        return out

    # ------------------------------------------------------------------ checkpoints
    def save_extra(self, path: Path) -> None:
        (path / "profiles.json").write_text(json.dumps(self.profiles.to_dict()))
        np.save(path / "transitions.npy", self._rule_miner().transitions)
        (path / "explanations.json").write_text(json.dumps(self.explanations, indent=0))

    def load_extra(self, path: Path, catalog=None) -> None:
        for name in ("profiles.json", "transitions.npy", "explanations.json"):
            if not (path / name).is_file():
                raise CheckpointError(f"{path} has no {name} (RecGPT's item profiles, interest statistics and "
                                      "explanations)")
        try:
            self._setup(ItemProfiles.from_dict(json.loads((path / "profiles.json").read_text())))
            self.explanations = json.loads((path / "explanations.json").read_text())
            transitions = np.load(path / "transitions.npy", allow_pickle=False)
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(f"{path} holds unreadable RecGPT files ({err})") from None
        self.miner = self._make_miner(transitions)
        if not isinstance(self.miner, RuleInterestMiner):
            self._rule_miner().transitions = transitions


def _explanation_key(category: str, item: int) -> str:
    return f"{category}\t{item}"


# ============================================================================ 6. explanation writers
class Explainer(Protocol):
    def write(self, pairs: Sequence[tuple[Interest, int]]) -> list[str]: ...


class TemplateExplainer:
    """LLM_RE as a template: why this item fits this interest, from the item's own words."""

    def __init__(self, profiles: ItemProfiles):
        self.profiles = profiles

    def write(self, pairs) -> list[str]:
        p, out = self.profiles, []
        for it, v in pairs:
            v = int(v)
            extra = f", {' and '.join(p.tags[v][:2])}" if p.tags[v] else ""
            brand = f" by {p.brands[v].title()}" if p.brands[v] else ""
            out.append(f"For your interest in {it.category}: a {p.compress(v)}{brand}{extra}.")
        return out


class LLMExplainer:
    """LLM_RE with a causal LM (SmolLM2 offline): one sentence per (interest, item) pair, greedy; an
    empty answer falls back to the template's sentence."""

    INSTRUCTION = ("A shopper is interested in {interest}. Recommended item: {item} ({category}). "
                   "In one short sentence, tell the shopper why this item suits them.")

    def __init__(self, model, tokenizer, profiles: ItemProfiles, max_new_tokens: int = 40):
        self.model, self.tokenizer, self.profiles, self.max_new_tokens = model, tokenizer, profiles, max_new_tokens

    @classmethod
    def from_pretrained(cls, profiles: ItemProfiles, name: str = "smollm2", **kwargs) -> "LLMExplainer":
        from ..llm import load_pretrained

        model, tokenizer = load_pretrained(name)
        return cls(model, tokenizer, profiles, **kwargs)

    def write(self, pairs) -> list[str]:
        from ..llm import generate_text

        if not pairs:
            return []
        p, tok = self.profiles, self.tokenizer
        texts = []
        for it, v in pairs:
            text = self.INSTRUCTION.format(interest=it.text, item=f"{p.compress(int(v))} by {p.brands[int(v)].title()}",
                                           category=p.categories[int(v)])
            texts.append(tok.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                 add_generation_prompt=True)
                         if getattr(tok, "chat_template", None) else text + "\nAnswer:")
        ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        eos = tok.eos_token_id if tok.eos_token_id is not None else tok.pad_token_id
        rows = generate_text(self.model, ids, tok.pad_token_id, eos, max_new_tokens=self.max_new_tokens)
        fallback = TemplateExplainer(p).write(pairs)
        return [tok.decode(r, skip_special_tokens=True).strip() or f for r, f in zip(rows, fallback)]


# ============================================================================ 7. the judge
JUDGE_FEATURES = ("share", "log_support", "recency", "last", "last3", "related", "n_modifiers", "log_history",
                  "p_next")


def interest_features(interests: Sequence[Interest], history, profiles: ItemProfiles,
                      transitions: np.ndarray | None = None) -> np.ndarray:
    """One row per interest (`JUDGE_FEATURES`): share of the history in its category, log(1 + support),
    how recent its last item is (1 = the last event, 0 = never), whether the last event is in it, its
    share of the last 3 events, related (1/0), number of modifiers, log of the history length, and
    (with the miner's ``transitions``) how often training users move from the last event's category to it."""
    h = np.asarray(history, dtype=np.int64)
    cats = profiles.category_of[h]
    if transitions is not None and len(h):
        row = transitions[cats[-1]].astype(float)
        p_next = row / max(1.0, row.sum())
    rows = []
    for it in interests:
        k = profiles.category_index.get(it.category, -1)
        pos = np.flatnonzero(cats == k)
        recency = (pos[-1] + 1) / len(h) if len(pos) else 0.0
        rows.append([len(pos) / max(1, len(h)), np.log1p(len(pos)), recency, float(len(h) > 0 and cats[-1] == k),
                     float(np.mean(cats[-3:] == k)) if len(h) else 0.0, float(it.source != "history"),
                     len(it.modifiers), np.log(max(1, len(h))),
                     float(p_next[k]) if transitions is not None and len(h) and k >= 0 else 0.0])
    return np.array(rows, dtype=float).reshape(-1, len(JUDGE_FEATURES))


def tag_features(tags: Sequence[Tag], history, profiles: ItemProfiles, matcher: TagMatcher,
                 transitions: np.ndarray | None = None) -> np.ndarray:
    """One row per tag: its interest's features (`interest_features`), log(1 + items it names), and
    how many history items it names."""
    h = np.asarray(history, dtype=np.int64)
    base = interest_features([Interest(t.category) for t in tags], h, profiles, transitions)
    extra = [[np.log1p(len(matcher.items(t))), float(np.isin(h, matcher.items(t)).sum())] for t in tags]
    return np.hstack([base, np.array(extra, dtype=float).reshape(-1, 2)])


class Judge:
    """Labels interests (or tags) good/bad: standardised features -> logistic regression.
    ``balanced=True`` weights the classes inversely to their frequency (the paper's pitfall: class
    imbalance; its judge uses minority augmentation)."""

    def __init__(self, balanced: bool = True, seed: int = 0):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.model = make_pipeline(StandardScaler(), LogisticRegression(
            class_weight="balanced" if balanced else None, random_state=seed, max_iter=1000))

    def fit(self, features, labels) -> "Judge":
        y = np.asarray(labels).astype(int)
        if len(np.unique(y)) < 2:
            raise ValueError("the judge needs both good and bad examples to learn from")
        self.model.fit(np.asarray(features, dtype=float), y)
        return self

    def predict(self, features) -> np.ndarray:
        return self.model.predict(np.asarray(features, dtype=float)).astype(bool)

    def agreement(self, features, labels) -> dict:
        """Agreement with held-out labels: accuracy, Cohen's kappa, balanced accuracy, the majority-class
        baseline's accuracy and the share of good labels."""
        from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score

        y = np.asarray(labels).astype(bool)
        pred = self.predict(features)
        return {"accuracy": float(np.mean(pred == y)), "kappa": float(cohen_kappa_score(y, pred)),
                "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
                "majority_baseline": float(max(y.mean(), 1 - y.mean())), "good_share": float(y.mean()),
                "n": int(len(y))}


# ============================================================================ 8. metrics against held-out behaviour
def held_out_future(split):
    """(users, histories, futures) for users with both a validation and a test item: the history is the
    training part (what the miner sees), the future the two held-out items."""
    test = {int(u): int(t) for u, t in zip(split.test.users, split.test.targets)}
    rows = [(int(u), h, np.array([int(t), test[int(u)]])) for u, h, t in
            zip(split.valid.users, split.valid.histories, split.valid.targets) if int(u) in test]
    if not rows:
        raise ValueError("no user has both a validation and a test item")
    users, hists, futures = zip(*rows)
    return np.array(users), list(hists), list(futures)


def interest_hits(interests: Sequence[Interest], future, profiles: ItemProfiles) -> np.ndarray:
    """Per interest: does a future item fall in its category?"""
    cats = set(profiles.categories[int(v)] for v in future)
    return np.array([it.category in cats for it in interests], dtype=bool)


def tag_hits(tags: Sequence[Tag], future, profiles: ItemProfiles, matcher: TagMatcher,
             level: str = "tag") -> np.ndarray:
    """Per tag: does it name a future item (``level="tag"``), or share its core word ("core") or its
    category ("category") with one?"""
    future = [int(v) for v in future]
    if level == "tag":
        return np.array([bool(np.isin(future, matcher.items(t)).any()) for t in tags], dtype=bool)
    if level == "core":
        return np.array([any(t.core in profiles.core_words(v) for v in future) for t in tags], dtype=bool)
    if level == "category":
        return np.array([any(t.category == profiles.categories[v] for v in future) for t in tags], dtype=bool)
    raise ValueError(f"level must be 'tag', 'core' or 'category', got {level!r}")


def interest_precision(interests_per_user, futures, profiles: ItemProfiles) -> dict:
    """Precision (share of interests a future item falls in), coverage (share of future items inside an
    interest) and interests per user, over users."""
    hits = [interest_hits(its, f, profiles) for its, f in zip(interests_per_user, futures)]
    covered = [np.mean([profiles.categories[int(v)] in {it.category for it in its} for v in f])
               for its, f in zip(interests_per_user, futures)]
    flat = np.concatenate([h for h in hits] + [np.zeros(0, bool)])
    return {"precision": float(flat.mean()) if len(flat) else 0.0, "coverage": float(np.mean(covered)),
            "per_user": float(np.mean([len(its) for its in interests_per_user]))}


def tag_precision(tags_per_user, futures, profiles: ItemProfiles, matcher: TagMatcher) -> dict:
    """Share of tags that name a future item / share its core word / its category; tags per user."""
    out = {}
    for level in ("tag", "core", "category"):
        flat = np.concatenate([tag_hits(ts, f, profiles, matcher, level) for ts, f in zip(tags_per_user, futures)]
                              + [np.zeros(0, bool)])
        out[f"precision_{level}"] = float(flat.mean()) if len(flat) else 0.0
    out["per_user"] = float(np.mean([len(ts) for ts in tags_per_user]))
    return out


def category_diversity(topk, profiles: ItemProfiles, k: int | None = None) -> dict:
    """Category diversity of top-k lists, averaged over users: the number of distinct leaf categories and
    the entropy (nats) of the category distribution in each list (-1 entries are no item)."""
    topk = np.asarray(topk)[:, :k] if k else np.asarray(topk)
    distinct, entropy = [], []
    for row in topk:
        cats = profiles.category_of[row[row >= 0]]
        if not len(cats):
            distinct.append(0), entropy.append(0.0)
            continue
        p = np.bincount(cats) / len(cats)
        p = p[p > 0]
        distinct.append(len(p))
        entropy.append(float(-(p * np.log(p)).sum()))
    return {"distinct": float(np.mean(distinct)), "entropy": float(np.mean(entropy))}


def tag_retrieval_precision(model: RecGPT, tags: Sequence | None = None) -> float:
    """How well the tag tower retrieves what a tag names: mean over tags (default: the whole tag
    vocabulary) of the R-precision of y_sem = h_t . h_v, the share of a tag's top-|M_t| items that it
    names (M_t: the items `TagMatcher` gives it)."""
    keys = list(model.matcher.vocabulary) if tags is None else [(t.modifier, t.core) for t in tags]
    scores = model.tag_vectors([f"{m} {c}" for m, c in keys]) @ model.item_vectors().T
    out = []
    for row, key in zip(scores, keys):
        named = model.matcher.items(key)
        if len(named):
            out.append(np.isin(np.argsort(-row, kind="stable")[: len(named)], named).mean())
    return float(np.mean(out)) if out else 0.0
