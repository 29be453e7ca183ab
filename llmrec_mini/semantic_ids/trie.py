"""Prefix trie over the valid semantic IDs: constrained decoding for every generative method.

TIGER itself decodes freely and drops invalid IDs (it proposes prefix matching as future work);
most reimplementations constrain beam search with a trie so that every beam is a real item. That
is a (labelled) deviation the notes compare against.

Token layout assumed by `prefix_allowed_tokens_fn` (the same as `SemanticIDs.to_tokens`): the code
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
