"""Prefix trie over the valid semantic IDs: constrained decoding for every generative method.

TIGER itself decodes freely and drops invalid IDs (it proposes prefix matching as future work);
most reimplementations constrain beam search with a trie so that every beam is a real item. That
is a (labelled) deviation the notes compare against.

`PrefixTrie` + `prefix_allowed_tokens_fn` is the readable version (one Python call per beam, for any
``generate``); `TrieConstraint` applies the same rule to all beams at once as a logits processor
(the fast path TIGER uses) and can also forbid prefixes whose items a user has all seen.

Token layout assumed by both (the same as `SemanticIDs.to_tokens`): the code
``c`` at position ``l`` of an ID is the token ``token_offset + l * block_size + c``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


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
        self.depth = codes.shape[1]
        self.root = _Node()
        self._leaf: dict[tuple[int, ...], int] = {}
        for item, row in zip(range(len(codes)) if items is None else items, codes.tolist()):
            node = self.root
            node.items.append(int(item))
            for c in row:
                node = node.children.setdefault(c, _Node())
                node.items.append(int(item))
            self._leaf[tuple(row)] = int(item)

    def __len__(self) -> int:
        return len(self._leaf)

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
        return tuple(int(c) for c in prefix) in self._leaf

    def item(self, code: Sequence[int]) -> int | None:
        return self._leaf.get(tuple(int(c) for c in code))

    def items_with_prefix(self, prefix: Sequence[int]) -> list[int]:
        """Items whose ID starts with ``prefix`` (all items for the empty prefix)."""
        node = self._find(prefix)
        return list(node.items) if node is not None else []


def prefix_allowed_tokens_fn(trie: PrefixTrie, token_offset: int, block_size: int, n_prefix_tokens: int = 1,
                             fallback_token_id: int | None = None) -> Callable:
    """A ``prefix_allowed_tokens_fn(batch_id, input_ids) -> list[int]`` for transformers' ``generate``.

    ``input_ids`` is the sequence generated so far. Its first ``n_prefix_tokens`` tokens are not
    codes: 1 for an encoder-decoder (the decoder start token), the padded prompt length for a
    decoder-only model. The remaining tokens are read as codes (``(tok - token_offset) % block_size``)
    and the function returns the tokens of the codes the trie allows next. Generate with
    ``max_new_tokens = trie.depth``. Beams that are already invalid or complete (possible when
    ``num_beams`` exceeds the valid continuations; such beams have score -inf) get
    ``fallback_token_id`` (default: the first SID token), since transformers rejects an empty list;
    decode results with `SemanticIDs.from_tokens`, which returns None for them.
    """
    fallback = [token_offset if fallback_token_id is None else fallback_token_id]

    def fn(batch_id: int, input_ids) -> list[int]:
        tokens = [int(t) for t in input_ids[n_prefix_tokens:]]
        level = len(tokens)
        codes = [t - token_offset - l * block_size for l, t in enumerate(tokens)]
        if level >= trie.depth or any(not 0 <= c < block_size for c in codes):
            return fallback
        nxt = trie.allowed(codes)
        return [token_offset + level * block_size + c for c in nxt] if nxt else fallback

    return fn


def prefix_keys(codes: np.ndarray, base: int) -> np.ndarray:
    """(..., l) codes -> one int per prefix: sum_j c_j * base^(l-1-j) (0 for the empty prefix)."""
    codes = np.asarray(codes, dtype=np.int64)
    return (codes * base ** np.arange(codes.shape[-1] - 1, -1, -1, dtype=np.int64)).sum(-1)


class TrieConstraint:
    """Prefix-trie constraint for beam search, vectorised: a logits processor for ``T5.generate``.

    The rule of `semantic_ids.prefix_allowed_tokens_fn` (the tests check they agree): at step ``l``
    a beam may only emit the level-``l`` codes that extend its prefix towards some item. It runs as
    array operations on all beams at once instead of one Python call per beam (the shared function
    cost about half of the retrieval time). `for_batch` adds the users' histories: a code is also
    forbidden once every item below it is in that row's history, so each beam ends on an unseen
    item, and retrieval ranks unseen items only, as scoring models do when they mask the history.
    This is a deviation from TIGER, which decodes freely and drops invalid IDs afterwards.
    ``token_offset``: the token of code 0 at level 0 (token = offset + l * K + c, as `SemanticIDs.to_tokens`).
    """

    def __init__(self, sids, token_offset: int):
        codes, K = sids.codes, sids.block_size
        self.codes, self.offset, self.K, self.L = codes, token_offset, K, sids.length
        self.prefixes, self.children = [], []  # per level l: sorted keys of the length-l prefixes, (P, K) children
        for level in range(self.L):
            keys, inverse = np.unique(prefix_keys(codes[:, :level], K), return_inverse=True)
            children = np.zeros((len(keys), K), dtype=bool)
            children[inverse.reshape(-1), codes[:, level]] = True
            self.prefixes.append(keys)
            self.children.append(children)
        self.num_beams, self.blocked = 1, [None] * self.L

    def for_batch(self, num_beams: int, histories=None) -> "TrieConstraint":
        """A copy for one generate call: beams per row, and (optionally) each row's history to exclude."""
        import copy

        out = copy.copy(self)
        out.num_beams = num_beams
        out.blocked = [None if histories is None else self._fully_seen(level + 1, histories) for level in range(self.L)]
        return out

    def _fully_seen(self, length, histories):
        """(row, parent key, child code) of every length-`length` prefix all of whose items a row has seen."""
        K = self.K
        keys = prefix_keys(self.codes[:, :length], K)  # (n_items,)
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
        """input_ids (B*beams, 1+l): decoder start + l codes so far; scores (B*beams, V) -> masked scores."""
        import torch

        level = input_ids.shape[1] - 1
        if level >= self.L:
            return scores
        codes = input_ids[:, 1:].cpu().numpy() - self.offset - np.arange(level) * self.K  # (N, l)
        valid = ((codes >= 0) & (codes < self.K)).all(1)
        keys = prefix_keys(np.clip(codes, 0, self.K - 1), self.K)
        pos = np.minimum(np.searchsorted(self.prefixes[level], keys), len(self.prefixes[level]) - 1)
        valid &= self.prefixes[level][pos] == keys
        allowed = np.zeros((len(codes), self.K), dtype=bool)
        allowed[valid] = self.children[level][pos[valid]]
        if self.blocked[level] is not None:  # forbid children whose every item the row has seen
            rows, parents, child = self.blocked[level]
            beams = rows[:, None] * self.num_beams + np.arange(self.num_beams)  # (E, beams) of each entry's row
            e, j = np.nonzero((keys[beams] == parents[:, None]) & valid[beams])
            allowed[beams[e, j], child[e]] = False
        lo = self.offset + level * self.K  # the level-l token block
        out = torch.full_like(scores, -torch.inf)
        block = scores[:, lo:lo + self.K]
        out[:, lo:lo + self.K] = torch.where(torch.as_tensor(allowed, device=scores.device), block,
                                             torch.full_like(block, -torch.inf))
        return out
