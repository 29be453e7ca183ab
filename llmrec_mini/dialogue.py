"""Conversational recommendation: a simulated user, a belief state and an ask-or-recommend policy.

A conversational recommender (CRS) elicits a preference over several turns. At each turn the
system either **asks** about an attribute ("Which brand?") or **recommends** k items; the user
answers or critiques in free text, and the system updates its **belief state** (the candidate
items still consistent with everything said, plus the attribute preferences behind them).
This module is the compact, runnable version of that loop (../shared/research/methods_part2.md §2):

1. `AttributeTable`: the attribute-annotated catalogue (category path, brand, price band inside
   the leaf category, and *features* = title keywords + tags, all from `llmrec_mini.regen.item_attributes`).
2. `SimulatedUser`: holds a hidden target item (a held-out test row). It answers attribute
   questions with the target's value in free text, critiques shown items in free text with REGEN's
   critique writer (`llmrec_mini.regen.TemplateWriter`, shown item -> target) and accepts when the
   target is shown. It never names the target.
3. `parse_utterance`: free text -> constraints (category / brand / feature / price-band mentions,
   negations, "cheaper" / "more expensive" relative to the last shown item); nonsense -> ``{}``.
4. `BeliefState` (a `llmrec_mini.models.contract.DialogueState` with a candidate mask):
   ``preferences`` holds the merged constraints, ``candidates`` the items that satisfy them.
5. Policies answering the `llmrec_mini.models.contract.Conversational` protocol: `MaxEntropyPolicy`
   (ask the attribute of highest entropy over the candidates, recommend when |C| <= k or on the
   last turn), `RandomPolicy` (the baseline: random ask / recommend), `ReinforcePolicy` (a softmax
   policy over {ask a_1..a_n, recommend} trained with REINFORCE on the simulator), and the
   package's `llmrec_mini.models.contract.RecommendOnly` (a mute recommender). Any recommender of
   the package ranks the candidates inside the loop.
6. `run_dialogues`: plays a policy against simulated users: SR@T (success within T turns), average
   turns (T counted for a failure, as in EAR) and every transcript.

References: EAR (Lei et al., WSDM 2020, arXiv 2002.09102: Estimation-Action-Reflection; its policy
state holds attribute entropies, preferences and the candidate-list length); UNICORN (Deng et al.,
SIGIR 2021, arXiv 2105.09710: one policy over the combined ask/recommend action space);
He et al. (CIKM 2023, arXiv 2308.10053: LLMs as zero-shot CRS, and the *repeated-item shortcut*,
ground-truth items already mentioned in the dialogue, which `simulator_rows` removes);
iEvaLM (arXiv 2305.13112: evaluate interactive policies with user simulators, not static logs).
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from .models.contract import DialogueState, Recommendations, Turn
from .regen import PRICE_BANDS, PRICE_STEP, TemplateWriter, item_attributes, stable_hash

__all__ = ["ATTRIBUTES", "QUESTIONS", "RECOMMEND", "AttributeTable", "parse_utterance", "merge_preferences",
           "describe_preferences", "BeliefState", "candidate_mask", "SimulatedUser", "question_attribute",
           "SimulatorRows", "simulator_rows", "attribute_entropy", "DialoguePolicy", "MaxEntropyPolicy",
           "RandomPolicy", "ReinforcePolicy", "DialogueResults", "play", "run_dialogues"]

ATTRIBUTES = ("category", "brand", "price_band", "feature")  # what the system can ask about
RECOMMEND = "recommend"  # the other action
QUESTIONS = {"category": "Which category are you shopping in?",
             "brand": "Which brand do you prefer?",
             "price_band": "What price range: budget, mid-range or premium?",
             "feature": "Any feature you want?"}


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _check_attributes(attributes) -> tuple:
    attributes = tuple(attributes)
    unknown = [a for a in attributes if a not in ATTRIBUTES]
    if unknown or not attributes:
        raise ValueError(f"unknown attribute(s) {unknown or '(none given)'}; choose from {ATTRIBUTES}")
    return attributes


# ================================================================================ 1. the attribute table
def _singular(phrase: str) -> str:
    """A plural category name's singular ("Coffee Makers" -> "coffee maker", "Knives" -> "knife")."""
    head, _, last = phrase.rpartition(" ")
    for end, repl in (("ies", "y"), ("ves", "fe"), ("ses", "s"), ("s", "")):
        if last.endswith(end) and not last.endswith("ss") and len(last) > len(end) + 2:
            last = last[: -len(end)] + repl
            break
    return f"{head} {last}".strip()


# how people say "cheaper" / "pricier" relative to a shown item, and the price bands in absolute terms
RELATIVE = {"cheaper": ("cheaper", "less expensive", "spend less", "lower price", "lower priced", "lower-priced",
                        "more affordable", "less pricey", "too expensive", "too pricey", "less money", "cheaper one"),
            "pricier": ("pricier", "more expensive", "spend more", "higher-end", "higher end", "higher price",
                        "higher priced", "more premium", "fancier", "more upscale", "too cheap", "more luxurious")}
BAND_WORDS = {"budget": ("budget", "cheap", "inexpensive", "affordable", "low-cost", "low cost", "low price",
                         "entry-level", "entry level", "bargain"),
              "mid-range": ("mid-range", "mid range", "midrange", "mid-priced", "mid priced", "moderately priced",
                            "medium price", "medium-priced"),
              "premium": ("premium", "high-end", "high end", "luxury", "expensive", "top-end", "top end", "pricey")}
NEGATORS = {"not", "no", "don't", "dont", "never", "without", "except", "hate", "dislike", "avoid", "isn't",
            "aren't", "won't", "nothing", "neither", "nor", "exclude"}
# words never read as an attribute value, even when a catalogue has a value spelt that way
STOPWORDS = {"a", "an", "the", "i", "me", "my", "it", "one", "ones", "any", "other", "some", "this", "that", "these",
             "those", "yes", "no", "not", "and", "or", "in", "on", "by", "for", "of", "to", "with", "please", "thing"}
PRICE_CONTEXT = re.compile(r"\b(?:price|priced|prices|range|budget|cost|costs|spend|tier|pay)\b")


@dataclass
class AttributeTable:
    """The attribute-annotated catalogue, indexed for filtering and entropy.

    ``attributes[i]`` is `llmrec_mini.regen.item_attributes`'s dict for item i. Single-valued
    attributes (``brand``, ``price_band``, and ``category`` = the leaf) get integer codes (-1 = missing);
    ``feature`` is multi-valued: an item's title keywords and tags, a boolean (items, features) matrix.
    A ``category`` constraint may name any level of the path (a leaf "Cameras" or a department
    "Electronics"); the system asks for, and the simulated user answers with, the leaf.
    """

    attributes: list[dict]
    titles: list[str] | None = None
    item_ids: list[str] | None = None

    def __post_init__(self) -> None:
        a = self.attributes
        self.n_items = len(a)
        if self.titles is None:
            self.titles = [f"item {i}" for i in range(self.n_items)]
        if self.item_ids is None:
            self.item_ids = [str(i) for i in range(self.n_items)]
        feats = [tuple(dict.fromkeys([*x["keywords"], *x["tags"]])) for x in a]
        self.values = {"category": sorted({x["category"] for x in a if x["category"]}),
                       "brand": sorted({x["brand"] for x in a if x["brand"]}),
                       "price_band": [b for b in PRICE_BANDS if any(x["price_band"] == b for x in a)],
                       "feature": sorted({f for fs in feats for f in fs})}
        self.codes = {}
        for attr in ("category", "brand", "price_band"):
            index = {v: j for j, v in enumerate(self.values[attr])}
            self.codes[attr] = np.array([index.get(x[attr], -1) for x in a], dtype=np.int64)
        index = {v: j for j, v in enumerate(self.values["feature"])}
        self.features = np.zeros((self.n_items, len(index)), dtype=bool)
        for i, fs in enumerate(feats):
            self.features[i, [index[f] for f in fs]] = True
        self.prices = np.array([np.nan if x["price"] is None else x["price"] for x in a], dtype=np.float64)
        # every level of every category path -> the items under it
        levels = sorted({p for x in a for p in x["path"]})
        self.in_category = {v: np.array([v in x["path"] for x in a]) for v in levels}
        self._build_vocabulary(levels)

    @classmethod
    def from_catalog(cls, catalog) -> "AttributeTable":
        return cls(item_attributes(catalog), titles=[catalog.title(i) for i in range(len(catalog))],
                   item_ids=list(catalog.item_ids))

    def __len__(self) -> int:
        return self.n_items

    def item_values(self, item: int, attribute: str) -> tuple:
        """The values an item has for an attribute (a tuple; empty when missing)."""
        x = self.attributes[item]
        if attribute == "feature":
            return tuple(dict.fromkeys([*x["keywords"], *x["tags"]]))
        if attribute not in ATTRIBUTES:
            raise ValueError(f"unknown attribute {attribute!r}; choose from {ATTRIBUTES}")
        return (x[attribute],) if x[attribute] else ()

    # ---- the parser's vocabulary: phrase -> what it may mean (built from the values the catalogue has)
    def _build_vocabulary(self, levels) -> None:
        meanings: dict[str, list] = {}

        def add(phrase, kind, value):
            for p in {phrase.lower(), phrase.lower().replace("-", " ")}:
                if p and p not in STOPWORDS and (kind, value) not in meanings.setdefault(p, []):
                    meanings[p].append((kind, value))

        for kind, phrases in RELATIVE.items():
            for p in phrases:
                add(p, kind, None)
        for v in levels:  # "Coffee Makers" and "coffee maker"
            add(v, "category", v)
            add(_singular(v.lower()), "category", v)
        for v in self.values["brand"]:
            add(v, "brand", v)
        for v in self.values["feature"]:
            add(v, "feature", v)
            if " " in v:
                add(v + "s", "feature", v)  # "new arrivals"
        if self.values["price_band"]:
            for band, phrases in BAND_WORDS.items():
                for p in phrases:
                    add(p, "price_band", band)
        self.meanings = meanings
        alternatives = "|".join(re.escape(p) for p in sorted(meanings, key=lambda p: (-len(p), p)))
        self.pattern = re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")

    # ---- constraints -> candidate mask
    def matches(self, preferences: dict) -> np.ndarray:
        """Items that satisfy every constraint (see `parse_utterance` for their form)."""
        keep = np.ones(self.n_items, dtype=bool)
        for attr, wanted in preferences.items():
            if attr in ("category", "brand", "price_band", "feature"):
                keep &= self._has(attr, wanted, every=attr == "feature")
            elif attr == "price_max":
                keep &= np.nan_to_num(self.prices, nan=np.inf) < wanted
            elif attr == "price_min":
                keep &= np.nan_to_num(self.prices, nan=-np.inf) > wanted
            elif attr == "exclude":
                for a, vals in wanted.items():
                    for v in vals:
                        keep &= ~self._has(a, {v}, every=False)
            else:
                raise ValueError(f"unknown constraint {attr!r}")
        return keep

    def _has(self, attr: str, values, every: bool) -> np.ndarray:
        """Items having any (or, for features, ``every``) of the values; unknown values match nothing."""
        cols = []
        for v in values:
            if attr == "category":
                cols.append(self.in_category.get(v, np.zeros(self.n_items, dtype=bool)))
            elif attr == "feature":
                j = self.values["feature"].index(v) if v in self.values["feature"] else None
                cols.append(self.features[:, j] if j is not None else np.zeros(self.n_items, dtype=bool))
            elif attr in self.codes:
                j = self.values[attr].index(v) if v in self.values[attr] else -2
                cols.append(self.codes[attr] == j)
            else:
                raise ValueError(f"unknown attribute {attr!r}; choose from {ATTRIBUTES}")
        if not cols:
            return np.ones(self.n_items, dtype=bool)
        stack = np.stack(cols)
        return stack.all(0) if every else stack.any(0)


def _table(data) -> AttributeTable:
    """An AttributeTable from a table, a Catalog, a Dataset, or a list of attribute dicts."""
    if isinstance(data, AttributeTable):
        return data
    if hasattr(data, "catalog"):
        data = data.catalog
    if hasattr(data, "item_ids"):
        return AttributeTable.from_catalog(data)
    if isinstance(data, (list, tuple)) and all(isinstance(x, dict) for x in data):
        return AttributeTable(list(data))
    raise TypeError(f"expected an AttributeTable, a Catalog, a Dataset or item_attributes(...), got {type(data)}")


# ================================================================================ 2. parsing free text
def _negated(prefix: str) -> bool:
    """Whether the words just before a mention negate it ("not", "no", "don't want", "other than" ...,
    within the same clause and at most four words back)."""
    if re.search(r"\b(?:anything|everything|all) but\s+(?:[\w'-]+\s+){0,2}$", prefix):
        return True
    clause = re.split(r"[.,;!?]|\bbut\b", prefix)[-1]
    if re.search(r"\b(?:other than|instead of|rather than)\s+(?:[\w'-]+\s+){0,2}$", clause):
        return True
    return any(w in NEGATORS or w.endswith("n't") for w in re.findall(r"[a-z']+", clause)[-4:])


def parse_utterance(text, attributes, asked: str | None = None, shown: int | dict | None = None) -> dict:
    """Constraints stated in one free-text utterance (``{}`` when there are none; never an exception on text).

    ``attributes``: an `AttributeTable` (or anything `AttributeTable` is built from: a catalogue,
    ``item_attributes(catalog)``). ``asked``: the attribute the system just asked about (it settles
    "premium" as a price band rather than a feature); ``shown``: the last item shown (index or
    attribute dict), the reference of "cheaper" / "more expensive" (ignored without one).

    Returns a dict with any of: ``category`` / ``brand`` / ``price_band`` (a set: any of these
    values), ``feature`` (a set: all of these), ``price_max`` / ``price_min`` (the shown price
    times 1 -/+ `llmrec_mini.regen.PRICE_STEP`, REGEN's threshold for "cheaper"), ``exclude``
    ({attribute: set of values not wanted}, from "not", "no", "don't", "other than" ...).
    """
    if text is None:
        return {}
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    table = _table(attributes)
    if asked is not None and asked not in ATTRIBUTES:
        raise ValueError(f"unknown attribute {asked!r}; choose from {ATTRIBUTES}")
    text = text.lower().replace("\u2019", "'")
    ref = shown if isinstance(shown, dict) or shown is None else table.attributes[int(shown)]
    out: dict = {}
    for m in table.pattern.finditer(text):
        meanings = table.meanings[m.group(0)]
        negated = _negated(text[: m.start()])
        if {"feature", "price_band"} <= {k for k, _ in meanings}:
            # "premium": a price band when the system asked for one or a price word is in the sentence
            sentence = re.split(r"[.;!?]", text[: m.start()])[-1] + re.split(r"[.;!?]", text[m.start():])[0]
            drop = "feature" if asked == "price_band" or PRICE_CONTEXT.search(sentence) else "price_band"
            meanings = [(k, v) for k, v in meanings if k != drop]
        for kind, value in meanings:
            if kind in ("cheaper", "pricier"):
                if ref is not None and ref.get("price") is not None and not negated:
                    if kind == "cheaper":
                        out["price_max"] = min(out.get("price_max", np.inf), ref["price"] * (1 - PRICE_STEP))
                    else:
                        out["price_min"] = max(out.get("price_min", -np.inf), ref["price"] * (1 + PRICE_STEP))
            elif negated:
                out.setdefault("exclude", {}).setdefault(kind, set()).add(value)
            else:
                out.setdefault(kind, set()).add(value)
    return out


def merge_preferences(old: dict, new: dict) -> dict:
    """The belief's preferences after a new utterance's constraints: the latest category / brand /
    price band replaces the earlier one; features accumulate (all wanted); exclusions accumulate and
    cancel an earlier positive mention of the same value (and vice versa); price bounds tighten."""
    prefs = copy.deepcopy(old)
    excl = prefs.setdefault("exclude", {})
    for attr in ("category", "brand", "price_band", "feature"):
        if attr in new:
            prefs[attr] = (prefs.get(attr, set()) | new[attr]) if attr == "feature" else set(new[attr])
            if attr in excl:
                excl[attr] -= new[attr]
    for attr, vals in new.get("exclude", {}).items():
        excl[attr] = excl.get(attr, set()) | vals
        if attr in prefs:
            prefs[attr] -= vals
    if "price_max" in new:
        prefs["price_max"] = min(prefs.get("price_max", np.inf), new["price_max"])
    if "price_min" in new:
        prefs["price_min"] = max(prefs.get("price_min", -np.inf), new["price_min"])
    prefs["exclude"] = {a: v for a, v in excl.items() if v}
    return {k: v for k, v in prefs.items() if not (isinstance(v, (set, dict)) and not v)}  # drop empty entries


def describe_preferences(preferences: dict) -> str:
    """The preferences in words ("category Cameras; brand Dozevi; under 123.45")."""
    parts = []
    for attr in ATTRIBUTES:
        if attr in preferences:
            joint = " and " if attr == "feature" else " or "  # all features wanted; any of the other values
            parts.append(f"{attr.replace('_', ' ')} {joint.join(sorted(preferences[attr]))}")
    if "price_max" in preferences:
        parts.append(f"under {preferences['price_max']:.2f}")
    if "price_min" in preferences:
        parts.append(f"over {preferences['price_min']:.2f}")
    for attr, vals in preferences.get("exclude", {}).items():
        parts.append(f"not {attr.replace('_', ' ')} {' or '.join(sorted(vals))}")
    return "; ".join(parts) or "none yet"


# ================================================================================ 3. the belief state
@dataclass(eq=False)
class BeliefState(DialogueState):
    """A `DialogueState` with the belief a policy keeps: ``preferences`` (merged constraints, see
    `merge_preferences`) and ``candidates`` (bool mask over the catalogue: not in the history, not
    shown yet, satisfying every preference). ``asked``: attributes asked so far; ``last_asked`` gives
    the context of the next answer; ``understood``: the constraints read from the latest user turn;
    ``conflict``: set when a turn's constraints would have left no candidate (they are then dropped)."""

    candidates: np.ndarray | None = None
    asked: tuple = ()
    last_asked: str | None = None
    turn: int = 0  # system turns so far
    max_turns: int | None = None
    parsed: int = 0  # utterances already read into the belief
    scores: np.ndarray | None = None  # the wrapped recommender's score of every item (computed once)
    understood: dict | None = None
    conflict: bool = False
    top_shown: int | None = None  # the top item of the last recommendation: what "cheaper" refers to
    key: int = 0  # which dialogue (seeds the random choices of a policy)

    @property
    def n_candidates(self) -> int:
        return 0 if self.candidates is None else int(self.candidates.sum())


def candidate_mask(table: AttributeTable, history, shown, preferences: dict) -> np.ndarray:
    """C = items not in the history, not shown, satisfying every preference."""
    mask = table.matches(preferences)
    mask[np.asarray(history, dtype=np.int64)] = False
    mask[np.asarray(list(shown), dtype=np.int64)] = False
    return mask


# ================================================================================ 4. the simulated user
ANSWERS = {"category": ("I'm looking for {v}.", "Something in {v}.", "{v}, please."),
           "brand": ("I'd prefer {v}.", "{v}, if possible.", "Ideally something by {v}."),
           "price_band": ("Something {v} in price.", "In the {v} price range.", "I'd like a {v} price."),
           "feature": ("I'd like one that is {v}.", "Something {v}, please.", "It should be {v}.")}
DONT_KNOW = ("I don't mind.", "No preference there.", "Anything is fine.")
QUESTION_PATTERNS = (("price_band", r"price|budget|spend|cost"), ("brand", r"\bbrand"),
                     ("category", r"categor|kind of|type of|department"), ("feature", r"feature|special|must"))


def question_attribute(utterance: str | None) -> str | None:
    """The attribute a system question asks about, read from its text (None if it asks none)."""
    questions = re.findall(r"[^.?!]*\?", (utterance or "").lower())
    question = questions[-1] if questions else ""  # the last question asked
    for attr, pattern in QUESTION_PATTERNS:
        if re.search(pattern, question):
            return attr
    return None


class SimulatedUser:
    """A user with a hidden target item (the iEvaLM / EAR style simulator).

    * a question about an attribute -> the target's value in free text (one of a few phrasings,
      picked by a hash of (seed, key, turn)); a feature question -> a feature of the target not
      given before; with probability ``dont_know`` (seeded), "I don't mind" instead;
    * recommended items -> accepts if the target is among them, else critiques the top item in free
      text with the critique writer (``writer.critique(shown, target)``, REGEN's templates by default);
    * it never says the target's id or title before accepting it.
    """

    def __init__(self, table: AttributeTable, target: int, seed: int = 0, key: int = 0, dont_know: float = 0.0,
                 writer=None):
        self.table, self.target = _table(table), int(target)
        if not 0 <= self.target < self.table.n_items:
            raise ValueError(f"target {target} is not an item index (0..{self.table.n_items - 1})")
        if not 0.0 <= dont_know <= 1.0:
            raise ValueError(f"dont_know must be a probability, got {dont_know}")
        self.seed, self.key, self.dont_know = seed, key, dont_know
        self.writer = writer or TemplateWriter()
        self.turn, self.accepted, self.revealed = 0, False, set()

    def _pick(self, options, *what):
        return options[stable_hash(self.seed, self.key, self.turn, *what) % len(options)]

    def reply(self, utterance: str | None, items: Sequence[int] | None = None) -> str:
        self.turn += 1
        items = [int(i) for i in (items if items is not None else []) if i >= 0]
        if items:
            if self.target in items:
                self.accepted = True
                return f"Yes, {self.table.titles[self.target]} is what I want."
            shown, target = self.table.attributes[items[0]], self.table.attributes[self.target]
            return f"No, thanks. {self.writer.critique(shown, target, key=(self.seed, self.key, self.turn))}"
        attr = question_attribute(utterance)
        if attr is None:
            return self._pick(("I'm not sure what you mean.", "Hmm, can you show me something?"), "lost")
        values = [v for v in self.table.item_values(self.target, attr) if (attr, v) not in self.revealed]
        if not values or stable_hash(self.seed, self.key, self.turn, "dk") % 10_000 < self.dont_know * 10_000:
            return self._pick(DONT_KNOW, "dk-text")
        value = self._pick(values, attr)
        self.revealed.add((attr, value))
        return self._pick(ANSWERS[attr], attr, "text").format(v=value)


@dataclass
class SimulatorRows:
    """The dialogues to simulate: per row a user, their history and the hidden target."""

    table: AttributeTable
    users: np.ndarray
    histories: list
    targets: np.ndarray
    dropped: int = 0  # rows removed because the target was already in the history (repeated-item shortcut)

    def __len__(self) -> int:
        return len(self.targets)

    def select(self, rows) -> "SimulatorRows":
        idx = np.asarray(rows, dtype=np.int64)
        return SimulatorRows(self.table, self.users[idx], [self.histories[i] for i in idx], self.targets[idx],
                             self.dropped)


def simulator_rows(data, evalset, n: int | None = None, seed: int = 0, drop_repeats: bool = True) -> SimulatorRows:
    """Rows of an `EvalSet` (e.g. ``leave_one_out(ds).test``) as simulated users; ``n`` rows sampled.

    ``drop_repeats`` removes rows whose target is already in the history: the repeated-item
    shortcut (He et al., CIKM 2023), where a system scores by repeating what the user already
    mentioned. Here every candidate set excludes the history anyway, so such targets are unreachable.
    """
    table = _table(data)
    users = np.asarray(evalset.users, dtype=np.int64)
    targets = np.asarray(evalset.targets, dtype=np.int64)
    keep = np.array([not (drop_repeats and t in set(np.asarray(h).tolist()))
                     for h, t in zip(evalset.histories, targets)], dtype=bool)
    idx = np.flatnonzero(keep)
    if n is not None:
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if n < len(idx):
            idx = np.sort(np.random.default_rng(seed).choice(idx, size=n, replace=False))
    if targets.size and (targets.max() >= table.n_items or targets.min() < 0):
        raise ValueError("the evaluation set's items do not fit the catalogue")
    return SimulatorRows(table, users[idx], [np.asarray(evalset.histories[i], dtype=np.int64) for i in idx],
                         targets[idx], int((~keep).sum()))


# ================================================================================ 5. entropy and policies
def _weights(state: BeliefState, weighting: str) -> np.ndarray:
    """Per-candidate weights: uniform, or a softmax of the recommender's standardised scores."""
    cand = state.candidates
    if weighting == "uniform" or state.scores is None:
        return cand.astype(np.float64)
    s = state.scores[cand].astype(np.float64)
    s = np.where(np.isfinite(s), s, np.nan)
    z = (s - np.nanmean(s)) / (np.nanstd(s) + 1e-9) if np.isfinite(s).any() else np.zeros_like(s)
    z = np.nan_to_num(z, nan=-10.0)
    w = np.zeros(len(cand))
    w[cand] = np.exp(z - z.max())
    return w


def attribute_entropy(table: AttributeTable, attribute: str, candidates: np.ndarray,
                      weights: np.ndarray | None = None) -> float:
    """H(a) = -sum_v p(v) log p(v), p(v) = the (weighted) share of candidates with value v (nats).

    Candidates without a value do not count. For the multi-valued ``feature``, each candidate
    spreads its weight evenly over its features. EAR (Lei et al. 2020) feeds these entropies to
    its policy network; the max-entropy rule asks the attribute that splits C most evenly.
    """
    table = _table(table)
    if attribute not in ATTRIBUTES:
        raise ValueError(f"unknown attribute {attribute!r}; choose from {ATTRIBUTES}")
    cand = np.asarray(candidates, dtype=bool)
    w = cand.astype(np.float64) if weights is None else np.where(cand, np.asarray(weights, dtype=np.float64), 0.0)
    if attribute == "feature":
        f = table.features.astype(np.float64)
        per = f / np.maximum(f.sum(1, keepdims=True), 1)
        mass = w @ per
    else:
        codes = table.codes[attribute]
        ok = codes >= 0
        mass = np.bincount(codes[ok], weights=w[ok], minlength=len(table.values[attribute]))
    total = mass.sum()
    if total <= 0:
        return 0.0
    p = mass[mass > 0] / total
    return float(-(p * np.log(p)).sum())


class DialoguePolicy:
    """The shared loop of a belief-tracking policy (subclasses only ``choose`` the action).

    ``respond(state, k)`` (the `llmrec_mini.models.contract.Conversational` protocol): read the
    user turns not yet read into the belief (`parse_utterance` with the question just asked and the
    last shown item as context, `merge_preferences`, `candidate_mask`), choose an action, then ask
    its question or recommend the top-k candidates by the wrapped recommender's scores.

    ``recommender``: any fitted recommender of the package (None: uniform scores, item order).
    Models that score the catalogue use ``score``; others ``recommend`` their top ``max_rank`` and
    the rest rank after them. ``weighting``: ``"uniform"`` or ``"scores"`` (candidates weighted by a
    softmax of their standardised scores in the entropy).
    """

    name = "policy"

    def __init__(self, table, recommender=None, attributes: Sequence[str] = ATTRIBUTES, weighting: str = "uniform",
                 max_rank: int = 200):
        self.table = _table(table)
        self.recommender = recommender
        self.attributes = _check_attributes(attributes)
        if weighting not in ("uniform", "scores"):
            raise ValueError(f"weighting must be 'uniform' or 'scores', got {weighting!r}")
        self.weighting, self.max_rank = weighting, _check_k(max_rank)
        n = getattr(recommender, "n_items", None)
        if n is not None and n != self.table.n_items:
            raise ValueError(f"the recommender knows {n} items, the catalogue has {self.table.n_items}")

    # ---- the recommender inside the loop
    def scores_for(self, histories, users=None, batch: int = 256) -> np.ndarray:
        """(B, n_items) scores of the wrapped recommender (zeros without one; higher = better)."""
        n, rec = self.table.n_items, self.recommender
        if rec is None:
            return np.zeros((len(histories), n), dtype=np.float32)
        out = []
        for s in range(0, len(histories), batch):
            h = [np.asarray(x, dtype=np.int64) for x in histories[s:s + batch]]
            u = None if users is None else np.asarray(users[s:s + batch])
            if getattr(getattr(rec, "capabilities", None), "scores_catalog", False):
                out.append(np.asarray(rec.score(h, users=u), dtype=np.float32))
            else:
                recs = rec.recommend(h, k=min(self.max_rank, n), exclude_seen=True, users=u)
                sc = np.full((len(h), n), -np.inf, dtype=np.float32)
                rows, ranks = np.nonzero(recs.items >= 0)
                sc[rows, recs.items[rows, ranks]] = -ranks.astype(np.float32)
                out.append(sc)
        return np.concatenate(out) if out else np.zeros((0, n), dtype=np.float32)

    # ---- the belief
    def start(self, history, user: int | None = None, max_turns: int | None = None, key: int = 0,
              scores: np.ndarray | None = None) -> BeliefState:
        history = np.asarray(history, dtype=np.int64).reshape(-1)
        if history.size and (history.min() < 0 or history.max() >= self.table.n_items):
            raise ValueError("the history holds item indices outside the catalogue")
        if max_turns is not None and max_turns < 1:
            raise ValueError(f"max_turns must be at least 1, got {max_turns}")
        if scores is None:
            scores = self.scores_for([history], None if user is None else [user])[0]
        return BeliefState(history=history, user=user, candidates=candidate_mask(self.table, history, [], {}),
                           max_turns=max_turns, scores=np.asarray(scores, dtype=np.float32), key=key)

    def track(self, state: DialogueState) -> BeliefState:
        """Read the user turns not yet in the belief and update it."""
        if not isinstance(state, BeliefState):  # any DialogueState: start a belief from its history
            new = self.start(state.history, state.user)
            state = replace(new, utterances=list(state.utterances), shown=list(state.shown),
                            preferences=dict(state.preferences), top_shown=state.shown[-1] if state.shown else None)
        if state.candidates is None or state.scores is None:
            state = replace(state, candidates=candidate_mask(self.table, state.history, state.shown, state.preferences),
                            scores=self.scores_for([state.history], None if state.user is None else [state.user])[0])
        prefs, understood, conflict = state.preferences, None, False
        last_shown = state.top_shown
        for speaker, text in state.utterances[state.parsed:]:
            if speaker != "user":
                continue
            said = parse_utterance(text, self.table, asked=state.last_asked, shown=last_shown)
            understood = said if understood is None else merge_preferences(understood, said)
            merged = merge_preferences(prefs, said)
            if said and not candidate_mask(self.table, state.history, state.shown, merged).any():
                conflict = True  # nothing would be left: keep the earlier preferences
            else:
                prefs = merged
        mask = candidate_mask(self.table, state.history, state.shown, prefs)
        return replace(state, preferences=prefs, candidates=mask, parsed=len(state.utterances),
                       understood=understood, conflict=conflict)

    def entropies(self, state: BeliefState) -> dict:
        """{attribute: H} over the candidates for the attributes not asked yet."""
        w = _weights(state, self.weighting)
        return {a: attribute_entropy(self.table, a, state.candidates, w) for a in self.attributes
                if a not in state.asked}

    # ---- acting
    def choose(self, state: BeliefState, k: int) -> str:
        raise NotImplementedError

    def respond(self, state: DialogueState, k: int = 10) -> Turn:
        k = _check_k(k)
        state = self.track(state)
        action = self.choose(state, k)
        if action == RECOMMEND:
            return self._recommend(state, k)
        if action not in self.attributes:
            raise ValueError(f"{self.name} chose {action!r}, not an attribute or {RECOMMEND!r}")
        text = QUESTIONS[action]
        new = replace(state, asked=(*state.asked, action), last_asked=action, turn=state.turn + 1,
                      utterances=[*state.utterances, ("system", text)], parsed=len(state.utterances) + 1)
        return Turn(text, None, new)

    def ranked_candidates(self, state: BeliefState) -> np.ndarray:
        """The candidates, best first by the recommender's score (ties: item order)."""
        cand = np.flatnonzero(state.candidates)
        s = state.scores[cand].astype(np.float64)
        return cand[np.argsort(-np.nan_to_num(s, nan=-np.inf, neginf=-1e30), kind="stable")]

    def _recommend(self, state: BeliefState, k: int) -> Turn:
        top = self.ranked_candidates(state)[:k]
        text = (f"Here {'is' if len(top) == 1 else 'are'} {len(top)} item{'s' if len(top) != 1 else ''} "
                "you might like." if len(top) else "I have nothing left that matches what you said.")
        recs = Recommendations(top[None, :], state.scores[top][None, :])
        shown = [*state.shown, *map(int, top)]
        new = replace(state, shown=shown, last_asked=None, turn=state.turn + 1,
                      utterances=[*state.utterances, ("system", text)], parsed=len(state.utterances) + 1,
                      top_shown=int(top[0]) if len(top) else state.top_shown,
                      candidates=candidate_mask(self.table, state.history, shown, state.preferences))
        return Turn(text, recs, new)


class MaxEntropyPolicy(DialoguePolicy):
    """The rule policy: recommend the top-k when |C| <= k or on the last allowed turn; otherwise ask
    the not-yet-asked attribute of highest entropy over C (`attribute_entropy`), recommending when no
    attribute splits C any more (ties: the order of ``attributes``)."""

    name = "max-entropy"

    def choose(self, state: BeliefState, k: int) -> str:
        if state.n_candidates <= k or (state.max_turns is not None and state.turn >= state.max_turns - 1):
            return RECOMMEND
        h = {a: v for a, v in self.entropies(state).items() if v > 1e-12}
        return max(h, key=h.get) if h else RECOMMEND


class RandomPolicy(DialoguePolicy):
    """The baseline: each turn, uniformly one of {ask an attribute not asked yet that still splits C,
    recommend}; seeded per (seed, dialogue key, turn), so every run of the same dialogues is the same."""

    name = "random"

    def __init__(self, table, recommender=None, seed: int = 0, **kw):
        super().__init__(table, recommender, **kw)
        self.seed = seed

    def choose(self, state: BeliefState, k: int) -> str:
        valid = [a for a, h in self.entropies(state).items() if h > 1e-12] + [RECOMMEND]
        return valid[np.random.default_rng([self.seed, state.key, state.turn]).integers(len(valid))]


class ReinforcePolicy(DialoguePolicy):
    """A softmax policy over {ask a_1, ..., ask a_n, recommend} (one action space, as in UNICORN),
    linear in state features in the spirit of EAR's policy network:

        phi(s) = [1, H(a_1)/log|V_1|, ..., H(a_n)/log|V_n|, log(1+|C|)/log(1+N), [|C| <= k], t/T, [t = T-1]]
        pi(a | s) = softmax_a(theta_a . phi(s)),  asked / uninformative attributes masked out.

    Trained with REINFORCE (Williams 1992) on the simulator: reward ``success_reward`` when the
    target is recommended, ``-turn_penalty`` every turn (EAR's reward values are a design choice
    [U]); theta += lr * mean over episodes of sum_t (G_t - b_t) grad log pi(a_t | s_t), with b_t the
    running mean return at turn t (plus ``entropy_bonus`` times the gradient of the policy's entropy,
    to keep exploring). theta = 0 is uniformly random over the allowed actions; after ``fit`` it acts greedily
    (argmax). ``recommend_last``: on the last allowed turn only "recommend" is allowed (asking then
    can only lose); without it, REINFORCE from the uniform policy tends to settle on recommending
    every turn, because under a random continuation a question's value only shows turns later."""

    name = "reinforce"

    def __init__(self, table, recommender=None, seed: int = 0, turn_penalty: float = 0.1,
                 success_reward: float = 1.0, lr: float = 0.5, entropy_bonus: float = 0.0,
                 recommend_last: bool = True, **kw):
        super().__init__(table, recommender, **kw)
        self.seed, self.turn_penalty, self.success_reward, self.lr = seed, turn_penalty, success_reward, lr
        self.entropy_bonus, self.recommend_last = entropy_bonus, recommend_last
        self.actions = (*self.attributes, RECOMMEND)
        self.theta = np.zeros((len(self.actions), 4 + len(self.attributes) + 1))
        self.explore, self.trace, self.history = False, [], []

    def features(self, state: BeliefState, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(phi, valid): the state features and which actions are allowed."""
        h = self.entropies(state)
        T = state.max_turns or 10
        ent = [h.get(a, 0.0) / max(math.log(max(len(self.table.values[a]), 2)), 1e-9) for a in self.attributes]
        c = state.n_candidates
        phi = np.array([1.0, *ent, math.log1p(c) / math.log1p(self.table.n_items), float(c <= k),
                        state.turn / T, float(state.turn >= T - 1)])
        valid = np.array([h.get(a, 0.0) > 1e-12 and not (self.recommend_last and state.turn >= T - 1)
                          for a in self.attributes] + [True])
        return phi, valid

    def probabilities(self, phi: np.ndarray, valid: np.ndarray) -> np.ndarray:
        logits = np.where(valid, self.theta @ phi, -np.inf)
        p = np.exp(logits - logits.max())
        return p / p.sum()

    def choose(self, state: BeliefState, k: int) -> str:
        phi, valid = self.features(state, k)
        p = self.probabilities(phi, valid)
        if self.explore:
            a = int(np.random.default_rng([self.seed, self._episode, state.key, state.turn]).choice(len(p), p=p))
            self.trace.append((phi, valid, a))
        else:
            a = int(np.argmax(p))
        return self.actions[a]

    def fit(self, rows: SimulatorRows, episodes: int = 900, batch: int = 10, max_turns: int = 5, k: int = 10,
            progress: bool = False) -> "ReinforcePolicy":
        """REINFORCE on simulated dialogues (rows drawn with replacement, seeded). Keeps
        ``history``: per batch the mean return and success rate of the sampled episodes."""
        if episodes < 1 or batch < 1:
            raise ValueError("episodes and batch must be at least 1")
        _check_turns(max_turns), _check_k(k)
        rng = np.random.default_rng(self.seed)
        scores = self.scores_for(rows.histories, rows.users)
        baseline = np.zeros(max_turns)
        self.explore, self._episode = True, 0
        try:
            for start in range(0, episodes, batch):
                grad, returns, wins = np.zeros_like(self.theta), [], []
                picks = rng.integers(len(rows), size=min(batch, episodes - start))
                for r in picks:
                    self._episode += 1
                    self.trace = []
                    ok, turns, _ = play(self, rows, int(r), max_turns, k, seed=self.seed, scores=scores[r],
                                        key=self._episode)
                    rewards = np.full(len(self.trace), -self.turn_penalty)
                    if ok:
                        rewards[-1] += self.success_reward
                    g = np.cumsum(rewards[::-1])[::-1]  # G_t = sum of the rewards from t on
                    for t, ((phi, valid, a), gt) in enumerate(zip(self.trace, g)):
                        p = self.probabilities(phi, valid)
                        onehot = np.eye(len(p))[a]
                        grad += (gt - baseline[t]) * np.outer(onehot - p, phi)  # grad log pi = (e_a - pi) phi^T
                        if self.entropy_bonus:  # + beta grad H(pi): dH/dlogit_j = -p_j (log p_j + H)
                            logp = np.log(np.where(p > 0, p, 1.0))
                            grad += self.entropy_bonus * np.outer(-p * (logp - (p * logp).sum()), phi)
                        baseline[t] += 0.05 * (gt - baseline[t])
                    returns.append(g[0] if len(g) else 0.0), wins.append(ok)
                self.theta += self.lr * grad / len(picks)
                self.history.append({"episodes": start + len(picks), "return": float(np.mean(returns)),
                                     "success": float(np.mean(wins))})
                if progress:
                    print(self.history[-1])
        finally:
            self.explore, self.trace = False, []
        return self


# ================================================================================ 6. running dialogues
def _check_turns(max_turns) -> int:
    if isinstance(max_turns, bool) or not isinstance(max_turns, (int, np.integer)) or max_turns < 1:
        raise ValueError(f"max_turns (T) must be a positive integer, got {max_turns!r}")
    return int(max_turns)


def play(policy, rows: SimulatorRows, row: int, max_turns: int = 10, k: int = 10, seed: int = 0,
         scores: np.ndarray | None = None, key: int | None = None, dont_know: float = 0.0,
         states: list | None = None):
    """One dialogue of ``policy`` with the simulated user of ``rows[row]``: (success, turns, transcript).

    Each system turn asks or recommends; the target found in a recommendation ends it (success at
    that turn); T turns without it is a failure (turns = T). The transcript lists
    (speaker, text, items) with items () for a question and for every user turn. ``states``: a list
    that receives the state after each system turn (the belief behind it), for display."""
    max_turns, k = _check_turns(max_turns), _check_k(k)
    key = row if key is None else key
    user = SimulatedUser(rows.table, int(rows.targets[row]), seed=seed, key=row, dont_know=dont_know)
    uid, history = int(rows.users[row]), rows.histories[row]
    if isinstance(policy, DialoguePolicy):
        state = policy.start(history, uid, max_turns=max_turns, key=key, scores=scores)
    else:  # any Conversational, e.g. RecommendOnly
        state = BeliefState(history=np.asarray(history, dtype=np.int64), user=uid, max_turns=max_turns, key=key)
    transcript = []
    for t in range(1, max_turns + 1):
        out = policy.respond(state, k)
        items = () if out.items is None else tuple(int(i) for i in out.items.items[0] if i >= 0)
        transcript.append(("system", out.utterance or "", items))
        if states is not None:
            states.append(out.state)
        reply = user.reply(out.utterance, items if out.items is not None else None)
        transcript.append(("user", reply, ()))
        if user.accepted:
            return True, t, transcript
        state = out.state.say("user", reply)
    return False, max_turns, transcript


@dataclass
class DialogueResults:
    """The outcome of `run_dialogues`: per dialogue ``success`` and ``turns`` (the turn of success,
    T for a failure) and its transcript."""

    policy: str
    max_turns: int
    k: int
    success: np.ndarray
    turns: np.ndarray
    transcripts: list = field(repr=False, default_factory=list)

    @property
    def success_rate(self) -> float:
        """SR@T: the share of dialogues that recommend the target within T turns."""
        return float(self.success.mean()) if len(self.success) else 0.0

    @property
    def average_turns(self) -> float:
        """AT: mean number of turns (T for a failure, as in EAR and UNICORN)."""
        return float(self.turns.mean()) if len(self.turns) else 0.0

    def success_within(self, t: int) -> float:
        """The share that succeeded by turn t of this run (a policy that plans for T may differ from a T=t run)."""
        return float((self.success & (self.turns <= t)).mean()) if len(self.success) else 0.0

    def summary(self) -> dict:
        return {"policy": self.policy, "T": self.max_turns, "k": self.k, "dialogues": len(self.success),
                f"SR@{self.max_turns}": self.success_rate, "avg_turns": self.average_turns}


def run_dialogues(policy, simulator_rows: SimulatorRows, max_turns: int = 5, k: int = 10, seed: int = 0,
                  dont_know: float = 0.0, name: str | None = None) -> DialogueResults:
    """Play ``policy`` (any `llmrec_mini.models.contract.Conversational`) against every simulated user
    of ``simulator_rows`` for at most ``max_turns`` turns with ``k`` items per recommendation."""
    max_turns, k = _check_turns(max_turns), _check_k(k)
    rows = simulator_rows
    if not isinstance(rows, SimulatorRows):
        raise TypeError("simulator_rows must come from dialogue.simulator_rows(...)")
    if not hasattr(policy, "respond"):
        raise TypeError(f"{type(policy).__name__} has no respond(state, k): not a conversational policy")
    scores = policy.scores_for(rows.histories, rows.users) if isinstance(policy, DialoguePolicy) else None
    success, turns, transcripts = [], [], []
    for r in range(len(rows)):
        ok, t, tr = play(policy, rows, r, max_turns, k, seed=seed, scores=None if scores is None else scores[r],
                         dont_know=dont_know)
        success.append(ok), turns.append(t), transcripts.append(tr)
    label = name or getattr(policy, "name", type(policy).__name__)
    if label == type(policy).__name__ and hasattr(policy, "recommender"):
        label = f"{label}({getattr(policy.recommender, 'name', '?')})"
    return DialogueResults(label, max_turns, k, np.array(success, dtype=bool), np.array(turns, dtype=np.int64),
                           transcripts)
