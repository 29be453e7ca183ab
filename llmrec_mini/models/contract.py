"""What a recommender gives back and what it declares: the types every model, harness and page share.

* `Recommendations`: the answer of ``recommend(histories, k)``: items and scores (B, K), padded
  with item -1 and score -inf where a model has fewer than K items, plus ``extras`` that only some
  models have (per-row arrays such as ``invalid`` for the share of invalid generated IDs, the
  generated ``tokens``, or ``text``). It unpacks like a pair: ``items, scores = model.recommend(h)``.
* `Capabilities`: what a model can do, so harnesses decide by capability, never by model name.
* `Published`: a number from a paper, with its source, next to which the benchmarks print ours.
* The conversational protocol: `DialogueState` in, `Turn` (an utterance and/or items) out, for
  models that talk (`Conversational`); `RecommendOnly` lets any recommender sit in a dialogue loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class Recommendations:
    items: np.ndarray  # (B, K) int64 item indices, best first; -1 = no item
    scores: np.ndarray  # (B, K) float32; -inf where there is no item
    extras: dict = field(default_factory=dict)  # name -> per-row array (B, ...) or list of length B

    def __post_init__(self) -> None:
        self.items = np.asarray(self.items, dtype=np.int64)
        self.scores = np.asarray(self.scores, dtype=np.float32)
        if self.items.shape != self.scores.shape or self.items.ndim != 2:
            raise ValueError(f"items and scores must both be (B, K), got {self.items.shape} and {self.scores.shape}")
        for name, value in self.extras.items():
            if len(value) != len(self.items):
                raise ValueError(f"extra {name!r} has {len(value)} rows, expected {len(self.items)}")

    def __iter__(self):  # items, scores = model.recommend(...)
        return iter((self.items, self.scores))

    def __len__(self) -> int:
        return len(self.items)

    def rows(self, index) -> "Recommendations":
        """The recommendations of some rows (a slice or an index array)."""
        pick = (lambda v: v[index]) if isinstance(index, slice) else (lambda v: [v[i] for i in index])
        return Recommendations(self.items[index], self.scores[index],
                               {k: (v[index] if isinstance(v, np.ndarray) else pick(v)) for k, v in self.extras.items()})

    @classmethod
    def concat(cls, parts: list["Recommendations"]) -> "Recommendations":
        """Stack batches row-wise (widths may differ: narrower ones are padded with -1 / -inf)."""
        if not parts:
            return cls(np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
        width = max(p.items.shape[1] for p in parts)
        pad = lambda a, v: np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=v)  # noqa: E731
        extras = {}
        for name in parts[0].extras:
            values = [p.extras[name] for p in parts]
            extras[name] = np.concatenate(values) if isinstance(values[0], np.ndarray) else sum(map(list, values), [])
        return cls(np.concatenate([pad(p.items, -1) for p in parts]),
                   np.concatenate([pad(p.scores, -np.inf) for p in parts]), extras)


@dataclass(frozen=True)
class Capabilities:
    scores_catalog: bool = True  # score() gives every catalog item a score (top-K by sorting)
    generative: bool = False  # recommend() decodes item IDs (beam search) instead of sorting scores
    keeps_seen: bool = True  # can rank items the user already has (RecBole's keep-seen protocol)
    conversational: bool = False  # answers the dialogue protocol: respond(state) -> Turn
    needs_catalog: bool = False  # fit() reads item text from the catalog


@dataclass(frozen=True)
class Published:
    """A result reported by a paper, shown beside ours (only numbers tagged verified in the research notes)."""
    dataset: str  # benchmark dataset name, e.g. "amazon-beauty"
    label: str  # row label on the page
    source: str  # paper and table
    metrics: dict  # e.g. {"recall@10": .0648, "ndcg@10": .0384}
    protocol: str = "excluded"  # seen items "excluded" (full ranking, S3-Rec/TIGER) or "kept" (RecBole)


# ---------------------------------------------------------------------------------------------- dialogue
@dataclass
class DialogueState:
    """Everything a conversational recommender knows at one turn."""
    history: np.ndarray  # items the user had before the conversation (item indices, oldest first)
    utterances: list = field(default_factory=list)  # (speaker, text) pairs; speaker is "user" or "system"
    user: int | None = None  # user index, when known
    shown: list = field(default_factory=list)  # items already recommended in this conversation
    preferences: dict = field(default_factory=dict)  # belief state: attribute -> wanted value(s)

    def say(self, speaker: str, text: str) -> "DialogueState":
        if speaker not in ("user", "system"):
            raise ValueError(f"speaker must be 'user' or 'system', got {speaker!r}")
        return replace(self, utterances=[*self.utterances, (speaker, text)])


@dataclass
class Turn:
    """A system turn: a question or remark, and/or recommendations (one row), and the updated state."""
    utterance: str | None
    items: Recommendations | None
    state: DialogueState


@runtime_checkable
class Conversational(Protocol):
    def respond(self, state: DialogueState, k: int = 10) -> Turn: ...


class RecommendOnly:
    """Any recommender as a (mute) conversational model: every turn recommends its top-k, never
    repeating an item already shown. The baseline a dialogue policy has to beat."""

    def __init__(self, recommender):
        self.recommender = recommender

    def respond(self, state: DialogueState, k: int = 10) -> Turn:
        history = np.concatenate([np.asarray(state.history, dtype=np.int64), np.asarray(state.shown, dtype=np.int64)])
        users = None if state.user is None else np.array([state.user])
        recs = self.recommender.recommend([history], k=k, exclude_seen=True, users=users)
        shown = [int(i) for i in recs.items[0] if i >= 0]
        text = f"You might like {len(shown)} items." if shown else "I have nothing new to recommend."
        new = replace(state, shown=[*state.shown, *shown], utterances=[*state.utterances, ("system", text)])
        return Turn(text, recs, new)
