"""Prefix constraints over the valid semantic IDs: constrained decoding for every generative method.

TIGER itself decodes freely and drops invalid IDs (it proposes prefix matching as future work);
most reimplementations constrain beam search with a trie so that every beam is a real item. That
is a (labelled) deviation the notes compare against.

* `PrefixTrie` + `prefix_allowed_tokens_fn` is the readable version (one Python call per beam, for
  any ``generate``), and the reference the tests hold the fast version to;
* `TrieConstraint` applies the same rule to all beams at once as a logits processor (the path every
  model uses) and can also forbid prefixes whose items a user has all seen.

Both read tokens through an `SIDVocab` (`vocab.py`), which owns the token layout.
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np

from .table import prefix_keys


class _Node:
    __slots__ = ("children", "items")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.items: list[int] = []  # every item whose ID starts with this node's prefix


class PrefixTrie:
    """Trie of equal-length code tuples; ``codes`` (n_items, L), row i = item i (or ``items[i]``)."""

    def __init__(self, codes: np.ndarray, items: Sequence[int] | None = None):
        codes = np.asarray(codes, dtype=np.int64)
        if codes.ndim != 2:
            raise ValueError(f"codes must be (n_items, L), got shape {codes.shape}")
        self.depth, self.root, self.n = codes.shape[1], _Node(), len(codes)
        for item, row in zip(range(len(codes)) if items is None else items, codes.tolist()):
            node = self.root
            node.items.append(int(item))
            for c in row:
                node = node.children.setdefault(c, _Node())
                node.items.append(int(item))

    def __len__(self) -> int:
        return self.n

    def _find(self, prefix: Sequence[int]) -> _Node | None:
        node = self.root
        for c in prefix:
            node = node.children.get(int(c))
            if node is None:
                return None
        return node

    def allowed(self, prefix: Sequence[int]) -> list[int]:
        """Sorted codes that may follow ``prefix``; [] when it is complete or not a valid prefix."""
        node = self._find(prefix)
        return sorted(node.children) if node is not None else []

    def is_valid_prefix(self, prefix: Sequence[int]) -> bool:
        return len(prefix) <= self.depth and self._find(prefix) is not None

    def is_complete(self, prefix: Sequence[int]) -> bool:
        """True when ``prefix`` is a full ID of some item."""
        return len(prefix) == self.depth and self._find(prefix) is not None

    def item(self, code: Sequence[int]) -> int | None:
        """The item whose full ID is ``code`` (IDs are unique), or None."""
        return self._find(code).items[0] if self.is_complete(code) else None

    def items_with_prefix(self, prefix: Sequence[int]) -> list[int]:
        """Items whose ID starts with ``prefix`` (all items for the empty prefix)."""
        node = self._find(prefix)
        return list(node.items) if node is not None else []


def prefix_allowed_tokens_fn(vocab, n_prefix_tokens: int | None = None,
                             fallback_token_id: int | None = None) -> Callable:
    """A ``prefix_allowed_tokens_fn(batch_id, input_ids) -> list[int]`` for transformers' ``generate``.

    ``input_ids`` is the sequence so far; its first ``n_prefix_tokens`` (default: the vocabulary's)
    are not codes. The rest are read as the ID's first levels and the function returns the tokens
    of the codes the trie allows next. Generate with ``max_new_tokens = vocab.L``. Beams that are
    already invalid or complete (possible when ``num_beams`` exceeds the valid continuations; such
    beams have score -inf) get ``fallback_token_id`` (default: the first SID token), since
    transformers rejects an empty list; `SIDVocab.decode` returns -1 for them.
    """
    trie, n_prefix = vocab.trie(), vocab.n_prefix_tokens if n_prefix_tokens is None else n_prefix_tokens
    fallback = [vocab.offset if fallback_token_id is None else fallback_token_id]

    def fn(batch_id: int, input_ids) -> list[int]:
        tokens = [int(t) for t in input_ids[n_prefix:]]
        codes, valid = vocab.codes(np.asarray(tokens, dtype=np.int64))
        if len(tokens) >= vocab.L or not valid:
            return fallback
        nxt = trie.allowed(codes.tolist())
        return vocab.encode_level(len(tokens), nxt) if nxt else fallback

    return fn


class TrieConstraint:
    """Prefix-trie constraint for beam search, vectorised: a logits processor for ``generate``.

    The rule of `prefix_allowed_tokens_fn` (the tests check they agree): at step ``l`` a beam may
    only emit the level-``l`` tokens that extend its prefix towards some item; steps past the ID
    (``l >= L``, e.g. an LLM's text after the item) are left alone. It runs as array operations on
    all beams at once instead of one Python call per beam (the per-beam callback cost about half of
    TIGER's retrieval time). `for_batch` adds the users' histories: a code is also forbidden once
    every item below it is in that row's history, so each beam ends on an unseen item, and
    retrieval ranks unseen items only, as scoring models do when they mask the history. This is a
    deviation from TIGER, which decodes freely and drops invalid IDs afterwards.
    """

    def __init__(self, vocab):
        self.vocab, codes, K = vocab, vocab.sids.codes, vocab.K
        self.prefixes, self.children = [], []  # per level l: sorted keys of the length-l prefixes, (P, K) children
        for level in range(vocab.L):
            keys, inverse = np.unique(prefix_keys(codes[:, :level], K), return_inverse=True)
            children = np.zeros((len(keys), K), dtype=bool)
            children[inverse.reshape(-1), codes[:, level]] = True
            self.prefixes.append(keys)
            self.children.append(children)
        self.num_beams, self.n_prefix, self.blocked = 1, vocab.n_prefix_tokens, [None] * vocab.L

    def for_batch(self, num_beams: int, histories=None, n_prefix_tokens: int | None = None) -> "TrieConstraint":
        """A copy for one generate call: beams per row, each row's history to exclude (optional), and
        the prompt width for a decoder-only LM (tokens before the first code; default: the vocabulary's)."""
        out = copy.copy(self)
        out.num_beams = num_beams
        out.n_prefix = self.vocab.n_prefix_tokens if n_prefix_tokens is None else n_prefix_tokens
        out.blocked = [None if histories is None else self._fully_seen(level + 1, histories)
                       for level in range(self.vocab.L)]
        return out

    def _fully_seen(self, length, histories):
        """(row, parent key, child code) of every length-`length` prefix all of whose items a row has seen."""
        K = self.vocab.K
        keys = prefix_keys(self.vocab.sids.codes[:, :length], K)  # (n_items,)
        subtree_keys, subtree_n = np.unique(keys, return_counts=True)
        pairs = [(b, i) for b, h in enumerate(histories) for i in np.unique(np.asarray(h, dtype=np.int64))]
        if not pairs:
            return None
        rows, items = np.array(pairs).T
        row_keys, seen_n = np.unique(rows * K ** length + keys[items], return_counts=True)  # (row, prefix) pairs
        rows, keys = row_keys // K ** length, row_keys % K ** length
        full = seen_n == subtree_n[np.searchsorted(subtree_keys, keys)]
        return rows[full], keys[full] // K, keys[full] % K

    def __call__(self, input_ids, scores):
        """input_ids (B*beams, n_prefix + l): prompt or decoder start, then l codes; scores (B*beams, V)."""
        import torch

        K, level = self.vocab.K, input_ids.shape[1] - self.n_prefix
        if level >= self.vocab.L or level < 0:
            return scores
        codes, valid = self.vocab.codes(input_ids[:, self.n_prefix:].cpu().numpy())  # (N, l), (N,)
        keys = prefix_keys(np.clip(codes, 0, K - 1), K)
        pos = np.minimum(np.searchsorted(self.prefixes[level], keys), len(self.prefixes[level]) - 1)
        valid &= self.prefixes[level][pos] == keys
        allowed = np.zeros((len(codes), K), dtype=bool)
        allowed[valid] = self.children[level][pos[valid]]
        if self.blocked[level] is not None:  # forbid children whose every item the row has seen
            rows, parents, child = self.blocked[level]
            beams = rows[:, None] * self.num_beams + np.arange(self.num_beams)  # (E, beams) of each entry's row
            e, j = np.nonzero((keys[beams] == parents[:, None]) & valid[beams])
            allowed[beams[e, j], child[e]] = False
        level_tokens = self.vocab.level_block(level)  # the K tokens of level l
        out = torch.full_like(scores, -torch.inf)
        block = scores[:, level_tokens]
        out[:, level_tokens] = torch.where(torch.as_tensor(allowed, device=scores.device), block,
                                           torch.full_like(block, -torch.inf))
        return out
