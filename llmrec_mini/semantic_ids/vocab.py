"""`SIDVocab`: where semantic-ID tokens sit in a model's vocabulary. The one place that knows the layout.

    ids 0 .. S-1              named special tokens (``specials``, e.g. <pad>, </s>)
    ids S .. offset-1         reserved for the model (TIGER: user buckets); none by default
    ids offset .. end-1       the SID block: the code c at level l is the token  offset + l*K + c

with ``K = block_size`` (the largest codebook) and ``L`` codes per ID, so ``end = offset + L*K`` and a
token tells its level, ``l = (token - offset) // K``. An LLM whose tokenizer already has N tokens uses
``offset = N`` and adds `token_strings` (``<sid_l_c>``) to its tokenizer (`llmrec_mini.llm`).

``n_prefix_tokens`` is how many tokens a *generated* sequence carries before its first code: 1 for an
encoder-decoder (the decoder-start token), the default; for a decoder-only LM it is the width of the
(left-padded) prompt, passed per call to the constraint (`TrieConstraint.for_batch`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from .table import SemanticIDs

VOCAB_FILE, SIDS_FILE = "sid_vocab.json", "sids.npz"


class SIDVocab:
    def __init__(self, sids: SemanticIDs, specials: Sequence[str] = (), offset: int | None = None,
                 n_prefix_tokens: int = 1):
        self.sids, self.specials = sids, tuple(specials)
        self.offset = len(self.specials) if offset is None else int(offset)
        if self.offset < len(self.specials):
            raise ValueError(f"offset {self.offset} would overlap the {len(self.specials)} special tokens")
        if len(set(self.specials)) != len(self.specials):
            raise ValueError(f"special tokens must be distinct, got {self.specials}")
        self.n_prefix_tokens = int(n_prefix_tokens)
        self._trie = self._constraint = None

    def __repr__(self) -> str:
        return (f"SIDVocab({self.sids.n_items} items, L={self.L}, K={self.K}, specials={len(self.specials)}, "
                f"reserved={self.offset - len(self.specials)}, sid tokens {self.offset}..{self.end - 1})")

    def __eq__(self, other) -> bool:
        return (isinstance(other, SIDVocab) and self.sids == other.sids and self.specials == other.specials
                and self.offset == other.offset and self.n_prefix_tokens == other.n_prefix_tokens)

    # ------------------------------------------------------------------ sizes and special tokens
    @property
    def K(self) -> int:
        return self.sids.block_size

    @property
    def L(self) -> int:
        return self.sids.length

    @property
    def end(self) -> int:
        """One past the last SID token: the vocabulary size a model needs."""
        return self.offset + self.L * self.K

    def special(self, name: str) -> int:
        if name not in self.specials:
            raise KeyError(f"no special token {name!r}; this vocabulary has {list(self.specials)}")
        return self.specials.index(name)

    # ------------------------------------------------------------------ the layout, both ways
    def encode(self, items) -> np.ndarray:
        """Item indices (...,) -> their ID tokens (..., L)."""
        return self.offset + np.arange(self.L) * self.K + self.sids.codes[np.asarray(items, dtype=np.int64)]

    def encode_level(self, level: int, codes) -> list[int]:
        """The tokens of ``codes`` at one level (what a decoder may emit at step ``level``)."""
        return [self.offset + level * self.K + int(c) for c in codes]

    def level_block(self, level: int) -> slice:
        """The token ids of one level, as a slice of the vocabulary (code c is the c-th)."""
        return slice(self.offset + level * self.K, self.offset + (level + 1) * self.K)

    def codes(self, tokens) -> tuple[np.ndarray, np.ndarray]:
        """Tokens (..., l) read as the first l levels of an ID -> codes (..., l) and valid (...,).

        A row is valid when every token lies in its level's block: ``0 <= token - offset - j*K < K``.
        """
        tokens = np.asarray(tokens, dtype=np.int64)
        codes = tokens - self.offset - np.arange(tokens.shape[-1]) * self.K  # c_j = token - offset - j*K
        return codes, ((codes >= 0) & (codes < self.K)).all(-1)

    def decode(self, tokens) -> np.ndarray:
        """ID tokens (..., L) -> item indices (...,), -1 where the tokens are no item's ID."""
        codes, valid = self.codes(tokens)
        return np.where(valid, self.sids.items_of(np.where(valid[..., None], codes, -1)), -1)

    def level_of(self, tokens) -> np.ndarray:
        """The level of each SID token, -1 for tokens outside the SID block."""
        t = np.asarray(tokens, dtype=np.int64)
        return np.where((t >= self.offset) & (t < self.end), (t - self.offset) // self.K, -1)

    def token_strings(self) -> list[str]:
        """``<sid_l_c>`` for every token of the SID block, in token order (to add to a tokenizer)."""
        return [f"<sid_{l}_{c}>" for l in range(self.L) for c in range(self.K)]

    def describe(self, token: int) -> str:
        """A readable name: a special's name, ``<reserved r>``, ``c<l>=<code>``, or ``<token t>`` beyond the vocabulary."""
        token = int(token)
        if token < len(self.specials):
            return self.specials[token]
        if token < self.offset:
            return f"<reserved {token - len(self.specials)}>"
        if token < self.end:
            level, code = divmod(token - self.offset, self.K)
            return f"c{level}={code}"
        return f"<token {token}>"

    # ------------------------------------------------------------------ constrained decoding
    def trie(self):
        """The readable reference trie (`trie.PrefixTrie`), built once."""
        if self._trie is None:
            self._trie = self.sids.trie()
        return self._trie

    def allowed_tokens_fn(self, n_prefix_tokens: int | None = None, fallback_token_id: int | None = None):
        """``prefix_allowed_tokens_fn`` for transformers' ``generate`` (the readable, per-beam version)."""
        from .trie import prefix_allowed_tokens_fn

        return prefix_allowed_tokens_fn(self, n_prefix_tokens, fallback_token_id)

    def constraint(self):
        """The vectorised trie constraint (`trie.TrieConstraint`); call ``.for_batch(...)`` per generate call."""
        if self._constraint is None:
            from .trie import TrieConstraint

            self._constraint = TrieConstraint(self)
        return self._constraint

    # ------------------------------------------------------------------ save / load
    def save(self, folder) -> Path:
        """``folder/sids.npz`` (the codes) + ``folder/sid_vocab.json`` (the layout)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.sids.save(folder / SIDS_FILE)
        (folder / VOCAB_FILE).write_text(json.dumps({"specials": list(self.specials), "offset": self.offset,
                                                     "n_prefix_tokens": self.n_prefix_tokens}, indent=1))
        return folder

    @classmethod
    def load(cls, folder) -> "SIDVocab":
        folder = Path(folder)
        meta = json.loads((folder / VOCAB_FILE).read_text())
        return cls(SemanticIDs.load(folder / SIDS_FILE), meta["specials"], meta["offset"], meta["n_prefix_tokens"])
