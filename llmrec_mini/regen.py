"""REGEN-style enrichment: critiques and narratives written into any catalog and its sequences.

REGEN (Su, Sayana, Pham et al., arXiv 2503.11924) takes Amazon review sequences and has an LLM
"inpaint" two kinds of text (../shared/research/methods_part2.md §1):

* **Critiques**: a steering request that leads from item ``i_t`` to ``i_{t+1}`` ("I'd prefer a
  black one"), written only for adjacent pairs that are similar under the category path, so the
  request is one a shopper could make while looking at ``i_t``.
* **Narratives**: a *purchase reason* (why the user took ``i_{t+1}`` given the history), a
  *product endorsement* (the item in one sentence) and a *user summary* (the user's taste).

Here the same fields come from item attributes (`item_attributes`: category path, brand, price
band inside the leaf category, tags and title keywords). Two writers sit behind one interface
(`Writer`): `TemplateWriter` (the default: deterministic attribute templates) and `LLMWriter`
(any causal LM of `llmrec_mini.llm`, e.g. SmolLM2, prompted with the same attributes).
`enrich(dataset)` returns a `RegenData`: the chronological leave-one-out split of the dataset
(the held-out targets are each user's latest events), the critique of every similar adjacent pair,
and the narratives of any (user, position) on request.

What a catalog without prices or brands (Amazon Beauty: titles and categories only) limits: no
"cheaper"/"another brand" critiques; critiques can only name a category or a title keyword, and
narratives cannot speak of price or brand.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

from .data import Dataset
from .data.sequences import Split, leave_one_out

# title words a shopper could ask for (colours, finishes, skin and hair types, formats)
KEYWORDS = ("black", "white", "red", "pink", "blue", "green", "purple", "brown", "gold", "silver", "nude", "coral",
            "clear", "matte", "glossy", "shimmer", "waterproof", "organic", "natural", "vegan", "sensitive", "oily",
            "dry", "curly", "anti-aging", "unscented", "travel", "mini", "spf", "compact", "classic", "pro", "ultra",
            "essential", "premium", "eco", "lite", "deluxe", "smart", "vintage", "sport", "wireless")
PRICE_BANDS = ("budget", "mid-range", "premium")  # terciles of the price inside the item's leaf category
PRICE_STEP = 0.10  # "cheaper" / "pricier" only when the price moves by more than 10%
NARRATIVES = ("purchase_reason", "endorsement", "user_summary")


def item_attributes(catalog) -> list[dict]:
    """Per item: ``path`` (tuple), ``category`` (leaf), ``brand``, ``price``, ``price_band``, ``tags``
    and ``keywords`` (`KEYWORDS` found in the title, as a sorted tuple). Missing fields are None/()."""
    n = len(catalog)
    paths = [tuple(catalog.categories[i]) if catalog.categories else () for i in range(n)]
    prices = catalog.prices if catalog.prices is not None else np.full(n, np.nan)
    bands: list[str | None] = [None] * n
    for leaf in {p[-1] for p in paths if p} | {None}:
        rows = [i for i in range(n) if (paths[i][-1] if paths[i] else None) == leaf and np.isfinite(prices[i])]
        if len(rows) >= 3:
            cuts = np.quantile(prices[rows], [1 / 3, 2 / 3])
            for i in rows:
                bands[i] = PRICE_BANDS[int(np.searchsorted(cuts, prices[i], side="right"))]
    out = []
    for i in range(n):
        words = set(re.findall(r"[a-z][a-z\-]*", catalog.titles[i].lower())) if catalog.titles else set()
        out.append({"path": paths[i], "category": paths[i][-1] if paths[i] else None,
                    "brand": catalog.brands[i] if catalog.brands else None,
                    "price": float(prices[i]) if np.isfinite(prices[i]) else None, "price_band": bands[i],
                    "tags": tuple(catalog.tags[i]) if catalog.tags else (),
                    "keywords": tuple(sorted(w for w in KEYWORDS if w in words))})
    return out


def similar(a: dict, b: dict, depth: int = 2) -> bool:
    """REGEN's pair filter: the two category paths agree on their first ``depth`` levels (the whole
    path when it is shorter). Items without a category are never similar."""
    if not a["path"] or not b["path"]:
        return False
    d = min(depth, len(a["path"]), len(b["path"]))
    return a["path"][:d] == b["path"][:d]


def critique_reasons(a: dict, b: dict) -> list[tuple[str, str]]:
    """Every attribute change from item a to item b a critique can ask for: (kind, value) pairs."""
    out = []
    if a["price"] is not None and b["price"] is not None:
        if b["price"] < a["price"] * (1 - PRICE_STEP):
            out.append(("cheaper", ""))
        elif b["price"] > a["price"] * (1 + PRICE_STEP):
            out.append(("pricier", ""))
    if b["brand"] and b["brand"] != a["brand"]:
        out.append(("brand", b["brand"]))
    if b["category"] and b["category"] != a["category"]:
        out.append(("category", b["category"]))
    out += [("keyword", w) for w in b["keywords"] if w not in a["keywords"]]
    out += [("tag", t) for t in b["tags"] if t not in a["tags"]]
    return out


def stable_hash(*key) -> int:
    """A stable integer from a key (the same across runs and processes, unlike ``hash()``)."""
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "little")


def _pick(options: Sequence, *key) -> object:
    """A deterministic choice among options, seeded by the key."""
    return options[stable_hash(*key) % len(options)]


def _top(values, n: int = 2) -> list:
    vals, counts = np.unique(np.array([v for v in values if v], dtype=object), return_counts=True) \
        if any(values) else (np.array([]), np.array([]))
    return [vals[i] for i in np.argsort(-counts, kind="stable")[:n]]


class Writer(Protocol):
    """Writes REGEN's text fields for items given by their attribute dicts (`item_attributes`)."""

    def critique(self, a: dict, b: dict, key=()) -> str: ...

    def narrative(self, kind: str, history: Sequence[dict], item: dict, title: str, key=()) -> str: ...


CRITIQUE_TEMPLATES = {
    "cheaper": ("Something cheaper, please.", "Do you have a less expensive one?", "I'd like to spend less."),
    "pricier": ("I can spend more for something better.", "Show me a higher-end one.",
                "Something more premium, please."),
    "brand": ("Do you have something from {v}?", "I'd prefer {v}.", "Anything by {v}?"),
    "category": ("I'd rather have a {v} item.", "Show me {v} instead.", "Something in {v}, please."),
    "keyword": ("Something {v}, please.", "I'd like one that is {v}.", "Do you have a {v} one?"),
    "tag": ("I'd like something marked {v}.", "Show me a {v} option.", "Anything that is a {v}?"),
}


@dataclass
class TemplateWriter:
    """The default writer: attribute templates, one phrasing chosen per (user, position) by a hash,
    so the same data always gives the same text."""

    def critique(self, a: dict, b: dict, key=()) -> str:
        reasons = critique_reasons(a, b)
        if not reasons:
            return _pick(("Something similar, please.", "Show me another one like this."), *key)
        kind, value = _pick(reasons, *key, "reason")
        return _pick(CRITIQUE_TEMPLATES[kind], *key, kind).format(v=value)

    def narrative(self, kind: str, history: Sequence[dict], item: dict, title: str, key=()) -> str:
        cat, brand, band = item["category"] or "item", item["brand"], item["price_band"]
        same = sum(h["category"] == item["category"] for h in history)
        traits = [*item["keywords"][:2], *item["tags"][:1]]
        if kind == "purchase_reason":
            why = [f"I already own {same} other {cat} items and wanted one more" if same else f"I wanted to try {cat}"]
            if brand and any(h["brand"] == brand for h in history):
                why.append(f"I trust {brand}")
            if band:
                why.append(f"it is a {band} choice")
            return f"I bought {title} because " + ", ".join(why) + "."
        if kind == "endorsement":
            by = f" by {brand}" if brand else ""
            what = f"a {band} {cat}{by}" if band else f"a {cat}{by}"
            extra = f", {' and '.join(traits)}" if traits else ""
            return _pick((f"{title} is {what}{extra}.", f"Recommended: {title}, {what}{extra}."), *key)
        if kind == "user_summary":
            parts = [f"This shopper mostly buys {' and '.join(_top([h['category'] for h in history]))}"
                     if history else "This shopper is new"]
            brands = _top([h["brand"] for h in history], 1)
            if brands:
                parts.append(f"likes {brands[0]}")
            bands = _top([h["price_band"] for h in history], 1)
            if bands:
                parts.append(f"usually picks {bands[0]} items")
            return ", ".join(parts) + "."
        raise ValueError(f"narrative kind must be one of {NARRATIVES}, got {kind!r}")


def _describe(item: dict, title: str | None = None) -> str:
    parts = [f'"{title}"'] if title else []
    parts += [f"{k}: {item[k]}" for k in ("category", "brand", "price_band") if item[k]]
    parts += [f"features: {', '.join([*item['keywords'], *item['tags']])}"] if item["keywords"] or item["tags"] else []
    return "; ".join(parts)


@dataclass
class LLMWriter:
    """REGEN's LLM inpainting: a causal LM (``model``, ``tokenizer``; e.g. `llm.load_pretrained("smollm2")`)
    prompted with the attributes, greedy decoding of at most ``max_new_tokens`` tokens. The prompts use
    the tokenizer's chat template when it has one (SmolLM2-Instruct does)."""

    model: object
    tokenizer: object
    max_new_tokens: int = 40
    titles: Sequence[str] | None = None  # item titles by attribute dict id, set by `enrich`
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def smollm2(cls, **kw) -> "LLMWriter":
        from .llm import load_pretrained

        model, tok = load_pretrained("smollm2")
        return cls(model, tok, **kw)

    def _generate(self, prompt: str) -> str:
        import torch

        if prompt in self._cache:
            return self._cache[prompt]
        tok = self.tokenizer
        text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                       add_generation_prompt=True) if getattr(tok, "chat_template", None) else prompt
        ids = tok(text, return_tensors="pt")
        with torch.no_grad():
            out = self.model.generate(**ids, max_new_tokens=self.max_new_tokens, do_sample=False,
                                      pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
        reply = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        reply = reply.split("\n")[0].strip() or "(no text)"
        self._cache[prompt] = reply
        return reply

    def critique(self, a: dict, b: dict, key=()) -> str:
        return self._generate(f"A shopper is looking at {_describe(a)}. They really want {_describe(b)}. Write the "
                              "one short sentence the shopper says to steer the shop assistant, without naming the "
                              "product.")

    def narrative(self, kind: str, history: Sequence[dict], item: dict, title: str, key=()) -> str:
        past = " | ".join(_describe(h) for h in history[-5:]) or "nothing yet"
        ask = {"purchase_reason": f"In one sentence, in the first person, say why this shopper bought \"{title}\".",
               "endorsement": f"In one sentence, recommend \"{title}\" to a friend.",
               "user_summary": "In one sentence, summarise this shopper's taste."}
        if kind not in ask:
            raise ValueError(f"narrative kind must be one of {NARRATIVES}, got {kind!r}")
        return self._generate(f"Past purchases: {past}. New item: {_describe(item, title)}. {ask[kind]}")


@dataclass
class RegenData:
    """A dataset enriched REGEN's way. ``split`` is the chronological leave-one-out split (each
    user's last event is the test target, the one before it the validation target);
    ``critiques[u][t]`` steers from ``sequence[t-1]`` to ``sequence[t]`` (None when the pair is not
    category-similar, and at t = 0)."""

    dataset: Dataset
    split: Split
    attributes: list[dict]
    critiques: list[list[str | None]]
    writer: Writer
    depth: int

    @property
    def sequences(self) -> list[np.ndarray]:
        return self.dataset.interactions.sequences

    def critique(self, user: int, t: int) -> str | None:
        """The critique that leads to the user's t-th event (None if none)."""
        return self.critiques[user][t]

    def narrative(self, kind: str, user: int, t: int) -> str:
        """Narrative ``kind`` for the user's t-th event, from the events before it."""
        seq = self.sequences[user]
        hist = [self.attributes[i] for i in seq[:t]]
        item = int(seq[t])
        return self.writer.narrative(kind, hist, self.attributes[item], self.dataset.catalog.title(item), key=(user, t))

    def check_split(self, split) -> None:
        """A model trained on this data must be fit on its split: critiques are indexed by each user's
        event position, so every training sequence must be a prefix of the user's sequence here."""
        seqs = self.sequences
        if len(seqs) != len(split.train) or any(len(s) > len(q) or not np.array_equal(s, q[:len(s)])
                                                 for s, q in zip(split.train, seqs)):
            raise ValueError(f"the split is not the REGEN data's ({len(split.train)} users vs {len(seqs)}, or other "
                             "events): fit on regen.split (critiques are indexed by each user's event position)")

    def target_critiques(self, evalset) -> list[str | None]:
        """For each row of an `EvalSet` of this split, the critique that leads to its target."""
        return [self.critiques[u][len(h)] for u, h in zip(evalset.users.tolist(), evalset.histories)]

    def target_narratives(self, evalset, kind: str = "purchase_reason") -> list[str]:
        """For each row of an `EvalSet` of this split, narrative ``kind`` of its target (the reference
        a generated narrative is scored against)."""
        return [self.narrative(kind, u, len(h)) for u, h in zip(evalset.users.tolist(), evalset.histories)]

    def stats(self) -> dict:
        pairs = sum(max(0, len(s) - 1) for s in self.sequences)
        n = sum(c is not None for row in self.critiques for c in row)
        return {"users": len(self.sequences), "adjacent_pairs": pairs, "critiques": n,
                "critique_share": n / max(pairs, 1), "test_with_critique":
                    float(np.mean([c is not None for c in self.target_critiques(self.split.test)]))}


def score_narratives(write, data: RegenData, evalset, kind: str = "purchase_reason", seed: int = 0,
                     encoder="auto") -> dict:
    """`metrics.text_metrics` of ``write(histories, items)`` against the reference narratives of an
    `EvalSet`, given the true next items and given a random permutation of them: the gap is what the
    text owes to the item, the second row what it owes to the template's fixed words."""
    from .metrics import text_metrics

    ref = data.target_narratives(evalset, kind)
    shuffled = np.random.default_rng(seed).permutation(evalset.targets)
    return {"true item": text_metrics(write(evalset.histories, evalset.targets), ref, encoder),
            "random item": text_metrics(write(evalset.histories, shuffled), ref, encoder)}


def enrich(dataset: Dataset, writer: Writer | None = None, depth: int = 2, split: Split | None = None) -> RegenData:
    """Critiques for every category-similar adjacent pair of every sequence (see the module doc).

    ``depth``: how many leading levels of the category path two items must share to be similar.
    ``split`` defaults to `leave_one_out(dataset)` (chronological per user).
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    if not dataset.catalog.categories:
        raise ValueError(f"{dataset.name} has no item categories: REGEN's critiques need category paths")
    writer = writer or TemplateWriter()
    attrs = item_attributes(dataset.catalog)
    critiques = []
    for u, seq in enumerate(dataset.interactions.sequences):
        row: list[str | None] = [None]
        for t in range(1, len(seq)):
            a, b = attrs[seq[t - 1]], attrs[seq[t]]
            row.append(writer.critique(a, b, key=(u, t)) if similar(a, b, depth) else None)
        critiques.append(row)
    return RegenData(dataset, split or leave_one_out(dataset), attrs, critiques, writer, depth)


# ---------------------------------------------------------------------------------------------- FLARE's narrator
@dataclass
class Narrator:
    """REGEN's hybrid narrator (Gemma 2B in the paper; a tiny Llama here, `llm.tiny_lm`): given the
    titles of the user's last ``max_history`` items and the recommended item's, it writes narrative
    ``kind``. Trained by next-token loss on the narrative only (`llm.train_lm_steps`) over the
    training positions of a `RegenData`; decoding is greedy (`llm.generate_text`).

    It knows nothing about which item is right: the recommender chooses, the narrator explains."""

    kind: str = "purchase_reason"
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    steps: int = 400
    batch_size: int = 32
    lr: float = 3e-3
    max_history: int = 5
    max_new_tokens: int = 60
    seed: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        if self.kind not in NARRATIVES:
            raise ValueError(f"kind must be one of {NARRATIVES}, got {self.kind!r}")
        self.model = self.tokenizer = self.catalog = self.result = None

    def prompt(self, history, item: int) -> str:
        titles = " ; ".join(self.catalog.title(int(i)) for i in np.asarray(history)[-self.max_history:])
        return f"history : {titles or 'none'} . item : {self.catalog.title(int(item))} . {self.kind} :"

    def fit(self, data: RegenData) -> "Narrator":
        from . import llm
        from .utils import set_seed

        self.catalog = data.dataset.catalog
        pairs = [(u, t) for u, s in enumerate(data.split.train) for t in range(1, len(s))]
        if not pairs:
            raise ValueError("the split has no training pair to learn narratives from")
        texts = [(self.prompt(data.sequences[u][:t], data.sequences[u][t]), data.narrative(self.kind, u, t))
                 for u, t in pairs]
        self.tokenizer = llm.word_tokenizer([p for p, _ in texts] + [n for _, n in texts]
                                            + [self.catalog.title(i) for i in range(len(self.catalog))],
                                            lowercase=False)  # narratives keep their case (BLEU is case-sensitive)
        set_seed(self.seed)
        tok = self.tokenizer
        self.model = llm.tiny_lm(len(tok), d_model=self.d_model, n_layers=self.n_layers, n_heads=self.n_heads,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, max_positions=512)
        encoded = [(self._ids(p), self._ids(n) + [tok.eos_token_id]) for p, n in texts]
        self.result = llm.train_lm_steps(self.model, lambda rng: encoded[rng.integers(len(encoded))], self.steps,
                                         self.batch_size, self.lr, tok.pad_token_id, seed=self.seed,
                                         progress=self.progress, desc=f"narrator ({self.kind})")
        return self

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def write(self, histories, items, batch_size: int = 64) -> list[str]:
        """One narrative per (history, item) pair."""
        from . import llm

        if self.model is None:
            raise ValueError("the narrator is not trained: call fit(regen_data) first")
        if len(histories) != len(items):
            raise ValueError(f"{len(histories)} histories for {len(items)} items")
        tok, out = self.tokenizer, []
        for s in range(0, len(items), batch_size):
            prompts = [self._ids(self.prompt(h, i)) for h, i in zip(histories[s:s + batch_size], items[s:s + batch_size])]
            rows = llm.generate_text(self.model, prompts, tok.pad_token_id, tok.eos_token_id, self.max_new_tokens)
            out += [tok.decode(r, skip_special_tokens=True).strip() for r in rows]
        return out
