"""TIGER: generative retrieval with semantic IDs (Rajput et al., NeurIPS 2023, arXiv 2305.05065).

Instead of scoring every item, TIGER *generates* the next item's ID token by token:

1. **Semantic IDs (§3.1).** Every item's text (title, brand, categories, price) is embedded by a
   sentence encoder and quantised by an RQ-VAE into ``m`` codes ``(c_0, ..., c_{m-1})``, coarse to
   fine; items sharing a tuple get a collision token, so every ID has ``L = m + 1`` tokens
   (`llmrec_mini.semantic_ids`, settings group ``sid``: `SIDConfig`).
2. **Sequence-to-sequence model (§3.2).** A T5 encoder reads ``[user] + ID tokens of the last <= 20
   items``; the decoder emits the next item's ``L`` tokens. Training is teacher-forced
   cross-entropy over those tokens:  ``-sum_l log p(c_l | c_<l, history)``.
3. **Retrieval = beam search.** The top beams are mapped back to items. The paper decodes
   freely and drops IDs that match no item ("invalid IDs", reported as a rate):
   ``decoding="filter"``. ``decoding="trie"`` (the default) masks every step to the prefixes of
   real items, a labelled deviation most reimplementations use (`semantic_ids.TrieConstraint`).
   Both are call arguments: ``model.recommend(histories, k, decoding="filter", num_beams=50)``.
4. **Cold start (§4.3).** Items never seen in training still have semantic IDs (their text is
   known). Given ``cold_items``, each generated ID also retrieves the cold items that share its
   first ``m`` codes (all but the collision token), and ``cold_share`` (the paper's epsilon) caps
   their share of the top-k: ``model.recommend(h, 10, cold_items=split.cold_items, cold_share=0.2)``.

Vocabulary (`semantic_ids.SIDVocab`, shared by encoder and decoder)::

    0 = <pad> | 1 = </s> (also the decoder start) | 2 .. 2+B-1 = user buckets | the SID block

with ``B = n_user_buckets``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..config import Settings
from ..semantic_ids import SIDConfig, SIDVocab
from .base import TorchRecommender
from .contract import Capabilities, Published, Recommendations

SPECIALS = ("<pad>", "</s>")  # PAD = 0, EOS = 1 (the decoder start token)
PAD, EOS = 0, 1
HASH_PRIME = 1_000_003  # user index -> bucket: (user * prime) % buckets, fixed across runs


@dataclass
class TIGERConfig(Settings):
    # the seq2seq model (paper: 4+4 layers, d_model 128, 6 heads x 64, d_ff 1024, dropout 0.1: preset "paper")
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    d_kv: int = 16
    d_ff: int = 256
    dropout: float = 0.0
    max_history: int = 20  # items of history the encoder reads
    n_user_buckets: int = 2000  # hashed user tokens (0: none)
    # retrieval
    beam_size: int = 20
    decoding: Literal["trie", "filter"] = "trie"  # the default of recommend(decoding=...)
    eval_batch_size: int = 256

    def check(self) -> None:
        for name in ("d_model", "n_layers", "n_heads", "d_kv", "d_ff", "max_history", "beam_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.n_user_buckets < 0:
            raise ValueError(f"n_user_buckets must be >= 0, got {self.n_user_buckets}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def user_buckets(users, n_buckets: int) -> np.ndarray:
    """Hash user indices into ``n_buckets`` buckets (the paper hashes raw user ids into 2000)."""
    return (np.asarray(users, dtype=np.int64) * HASH_PRIME) % n_buckets


class TIGER(TorchRecommender):
    """TIGER on top of the shared semantic-ID, training and evaluation machinery.

    ``TIGER(semantic_ids=sids, ...)`` reuses already-built IDs (fit then skips the text encoder and
    the quantiser). Settings: `TIGERConfig` (model), `SIDConfig` (``levels``, ``codebook_size``,
    ``encoder``, ``rqvae_<option>``...) and the training loop's. After `fit`: ``vocab`` (the
    `SIDVocab`), ``sids``, ``result.history``, ``t5_config``.
    """

    name = "tiger"
    description = "TIGER: a T5 generates the next item's semantic ID (RQ-VAE codes of its text) by beam search"
    capabilities = Capabilities(scores_catalog=False, generative=True, needs_catalog=True)
    Config = TIGERConfig
    groups = {"sid": SIDConfig}
    decode_options = {"decoding": None, "num_beams": None,  # None: the model's settings
                      "cold_items": None, "cold_share": 0.0}  # §4.3 cold-start retrieval (off by default)
    train_defaults = {"epochs": 10, "batch_size": 128, "lr": 5e-3, "warmup_steps": 200, "schedule": "inverse_sqrt",
                      "patience": 3, "val_users": 500}
    presets = {
        "tiny": {"d_model": 16, "d_kv": 8, "d_ff": 32, "n_layers": 1, "n_heads": 2, "encoder": "hashing",
                 "codebook_size": 8, "rqvae_epochs": 2, "epochs": 1, "val_users": 20, "beam_size": 10},  # smoke size
        # Amazon Beauty on 2 CPU cores: the paper's 3 x 256 codes, a narrow 2+2-layer T5 (0.42 M parameters).
        # A wider 3+3-layer T5 (d_model 128, d_ff 512, 1.8 M) matched it epoch for epoch over the 3 epochs it
        # ran (validation NDCG@10 .0175 / .0187 / .0204 vs .0177 / .0215 / .0203) at 2.5x the time per epoch.
        "cpu": {"d_model": 64, "n_layers": 2, "n_heads": 4, "d_kv": 16, "d_ff": 256, "dropout": 0.1,
                "codebook_size": 256, "text_fields": ["title", "categories"], "epochs": 50, "patience": 5,
                "val_users": 2000, "max_minutes": 60},
        # the paper's sizes (§4 and appendix; Sentence-T5 768-d embeddings there, MiniLM 384-d here);
        # 200k steps of 256 sequences, about 390 epochs of Beauty: a GPU run
        "paper": {"d_model": 128, "n_layers": 4, "n_heads": 6, "d_kv": 64, "d_ff": 1024, "dropout": 0.1,
                  "levels": 3, "codebook_size": 256, "n_user_buckets": 2000, "max_history": 20, "batch_size": 256,
                  "lr": 0.01, "warmup_steps": 10_000, "schedule": "inverse_sqrt", "max_steps": 200_000,
                  "epochs": 400, "patience": 20, "decoding": "filter", "text_fields": ["title", "categories"]},
    }
    published = (
        Published("amazon-beauty", "TIGER (TIGER Tab. 1)", "Rajput et al., NeurIPS 2023, Table 1",
                  {"recall@5": .0454, "ndcg@5": .0321, "recall@10": .0648, "ndcg@10": .0384}),
    )

    def __init__(self, semantic_ids=None, **params):
        super().__init__(**params)
        self.vocab = None if semantic_ids is None else self._vocab(semantic_ids)
        self.t5_config = None

    def _vocab(self, sids) -> SIDVocab:
        return SIDVocab(sids, specials=SPECIALS, offset=len(SPECIALS) + self.config.n_user_buckets)

    @property
    def sids(self):
        return None if self.vocab is None else self.vocab.sids

    # ------------------------------------------------------------------ §3.1 semantic IDs
    def prepare(self, split, catalog) -> None:
        """Item text -> embeddings -> semantic IDs (skipped when ``semantic_ids`` was given)."""
        if self.vocab is None:
            if catalog is None:
                raise ValueError("TIGER needs the catalog (item text) to build semantic IDs: fit(split, catalog), "
                                 "or pass semantic_ids=... to TIGER(...)")
            sid = self.group_settings["sid"]
            self.vocab = self._vocab(sid.build(catalog, seed=self.train_config.seed,
                                               progress=self.train_config.progress, train_sequences=split.train))
        if self.sids.n_items != split.n_items:
            raise ValueError(f"semantic IDs cover {self.sids.n_items} items, the data has {split.n_items}")

    # ------------------------------------------------------------------ §3.2 the encoder-decoder
    def build(self):
        """A randomly initialised T5 (transformers) over the vocabulary above."""
        from transformers import T5Config, T5ForConditionalGeneration

        c = self.config
        self.t5_config = T5Config(
            vocab_size=self.vocab.end, d_model=c.d_model, d_kv=c.d_kv, d_ff=c.d_ff, num_layers=c.n_layers,
            num_decoder_layers=c.n_layers, num_heads=c.n_heads, dropout_rate=c.dropout, feed_forward_proj="relu",
            pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=EOS)
        return T5ForConditionalGeneration(self.t5_config)

    def encode_inputs(self, histories, users=None):
        """Encoder input ``[user] + tokens of the last max_history items``, right-padded.

        Returns input_ids, attention_mask: (B, 1 + L * max_history) at most, int64 tensors.
        No user token when ``users`` is None or ``n_user_buckets == 0``.
        """
        import torch

        c = self.config
        use_user = users is not None and c.n_user_buckets > 0
        rows = []
        for b, h in enumerate(histories):
            toks = self.vocab.encode(np.asarray(h, dtype=np.int64)[-c.max_history:]).reshape(-1)
            if use_user:
                toks = np.concatenate([[len(SPECIALS) + user_buckets(users[b], c.n_user_buckets)], toks])
            rows.append(toks if len(toks) else np.array([EOS]))  # an empty input still needs one token
        ids = np.full((len(rows), max(len(r) for r in rows)), PAD, dtype=np.int64)
        for b, r in enumerate(rows):
            ids[b, :len(r)] = r
        ids = torch.as_tensor(ids)
        return ids, (ids != PAD).long()

    # ------------------------------------------------------------------ training examples
    def examples(self, split):
        """(user, history, next item) for every position >= 1 of every training sequence."""
        h = self.config.max_history
        return [(u, s[max(0, t - h):t], s[t]) for u, s in enumerate(split.train) for t in range(1, len(s))]

    def example_lengths(self, examples) -> np.ndarray:
        return np.array([len(hist) for _, hist, _ in examples])

    def collate(self, examples):
        import torch

        users, hist, targets = zip(*examples)
        input_ids, mask = self.encode_inputs(hist, np.array(users))
        return input_ids, mask, torch.as_tensor(self.vocab.encode(np.array(targets)))

    def loss(self, module, batch):
        input_ids, attention_mask, labels = batch  # (B, T), (B, T), (B, L)
        return module(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss  # mean CE over L tokens

    # ------------------------------------------------------------------ retrieval by beam search
    def generate(self, histories, users=None, num_beams: int | None = None, exclude_seen: bool = True,
                 decoding: str | None = None):
        """Beam search for a batch: (B, num_beams) items (-1 = invalid ID or no beam), log-probs, tokens (B, beams, L)."""
        from ..llm import generate_items

        self.check_fitted()
        decoding = decoding or self.config.decoding
        if decoding not in ("trie", "filter"):
            raise ValueError(f"decoding must be 'trie' or 'filter', got {decoding!r}")
        input_ids, mask = self.encode_inputs(histories, users)
        return generate_items(self.module, self.vocab, input_ids, mask, num_beams or self.config.beam_size,
                              histories=histories if exclude_seen else None, constrained=decoding == "trie")

    def _cold_by_prefix(self, cold_items, cold_share, k) -> tuple[dict, int]:
        """§4.3: cold items grouped by their first m codes, and how many of the top k they may take."""
        if not 0 <= cold_share <= 1:
            raise ValueError(f"cold_share must be in [0, 1], got {cold_share}")
        if cold_items is None or cold_share == 0:
            return {}, 0
        cold = np.unique(np.asarray(cold_items, dtype=np.int64).reshape(-1))
        if len(cold) and (cold.min() < 0 or cold.max() >= self.n_items):
            raise ValueError(f"cold_items must be item indices in [0, {self.n_items}), got {cold.min()}..{cold.max()}")
        groups: dict = {}
        for item, codes in zip(cold.tolist(), self.sids.codes[cold, :-1]):
            groups.setdefault(tuple(codes.tolist()), []).append(item)
        return groups, int(np.floor(cold_share * k + 1e-9))

    def _recommend(self, histories, k, exclude_seen, users, decoding=None, num_beams=None, cold_items=None,
                   cold_share=0.0) -> Recommendations:
        """Top-k valid, distinct (and, with exclude_seen, unseen) items per user, by beam log-probability.

        Rows with fewer than k such items are padded with item -1 and score -inf. Extras:
        ``invalid``, the share of invalid IDs among each row's top-k beams (the paper's statistic),
        and ``tokens`` (B, k, L), the generated ID of each recommended item. With ``cold_items``,
        a beam is followed by the cold items sharing its first m codes (same score), at most
        ``floor(cold_share * k)`` of them per row.
        """
        cold_groups, cold_quota = self._cold_by_prefix(cold_items, cold_share, k)
        cold_set = {i for g in cold_groups.values() for i in g}
        num_beams = max(2, num_beams or self.config.beam_size, k)
        out_items = np.full((len(histories), k), -1, dtype=np.int64)
        out_scores = np.full((len(histories), k), -np.inf, dtype=np.float32)
        out_tokens = np.full((len(histories), k, self.vocab.L), PAD, dtype=np.int64)
        invalid, bs = [], self.config.eval_batch_size
        for s in range(0, len(histories), bs):
            h = histories[s:s + bs]
            items, scores, tokens = self.generate(h, None if users is None else users[s:s + bs], num_beams,
                                                  exclude_seen, decoding)
            invalid.append(((items < 0) & np.isfinite(scores))[:, :k].mean(1))  # beams that decoded to no item
            for b in range(len(h)):
                seen = set(h[b].tolist()) if exclude_seen else set()
                picked: list[int] = []
                n_cold = 0
                for item, score, toks in zip(items[b], scores[b], tokens[b]):
                    if not np.isfinite(score):
                        continue
                    prefix = tuple(self.vocab.codes(toks)[0][:-1].tolist()) if cold_groups else ()  # c_0..c_{m-1}
                    for cand in ([int(item)] if item >= 0 else []) + cold_groups.get(prefix, []):
                        if cand in seen or cand in picked or (cand in cold_set and n_cold >= cold_quota):
                            continue
                        n_cold += cand in cold_set
                        out_scores[s + b, len(picked)], out_tokens[s + b, len(picked)] = score, self.vocab.encode(
                            np.array([cand]))[0]
                        picked.append(cand)
                        if len(picked) == k:
                            break
                    if len(picked) == k:
                        break
                out_items[s + b, :len(picked)] = picked
        return Recommendations(out_items, out_scores, {"invalid": np.concatenate(invalid), "tokens": out_tokens})

    # ------------------------------------------------------------------ save / load: the vocabulary beside the weights
    def save_extra(self, path) -> None:
        self.vocab.save(path)

    def load_extra(self, path, catalog=None) -> None:
        from .base import CheckpointError

        try:
            self.vocab = SIDVocab.load(path)
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(f"{path} has no readable semantic-ID vocabulary (sids.npz, sid_vocab.json): {err}") \
                from None
        if self.vocab.sids.n_items != self.n_items:
            raise CheckpointError(f"{path}: the semantic IDs cover {self.vocab.sids.n_items} items, config.json says "
                                  f"{self.n_items}")
