"""TIGER: generative retrieval with semantic IDs (Rajput et al., NeurIPS 2023, arXiv 2305.05065).

Instead of scoring every item, TIGER *generates* the next item's ID token by token:

1. **Semantic IDs (§3.1).** Every item's text (title, brand, categories, price) is embedded by a
   sentence encoder and quantised by an RQ-VAE into ``m`` codes ``(c_0, ..., c_{m-1})``, coarse to
   fine; items sharing a tuple get a collision token, so every ID has ``L = m + 1`` tokens
   (`llmrec_mini.semantic_ids`).
2. **Sequence-to-sequence model (§3.2).** A T5 encoder reads ``[user] + ID tokens of the last <= 20
   items``; the decoder emits the next item's ``L`` tokens. Training is teacher-forced
   cross-entropy over those tokens:  ``-sum_l log p(c_l | c_<l, history)``.
3. **Retrieval = beam search.** The top beams are mapped back to items. The paper decodes
   freely and drops IDs that match no item ("invalid IDs", reported as a rate);
   ``decoding="trie"`` instead masks every step to the prefixes of real items, a labelled
   deviation that most reimplementations use (`semantic_ids.trie.TrieConstraint`).

Vocabulary (one embedding table shared by encoder and decoder)::

    0 = PAD | 1 = EOS / decoder start | 2 .. 2+B-1 = user buckets | SID tokens: offset + l*K + c

with ``B = n_user_buckets`` and ``offset = 2 + B``; ``K = sids.block_size`` (the codebook size).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data.sequences import iterate_batches
from ..semantic_ids.trie import TrieConstraint, prefix_keys
from .base import TorchRecommender

PAD, EOS = 0, 1  # EOS doubles as the decoder start token
USER_OFFSET = 2
HASH_PRIME = 1_000_003  # user index -> bucket: (user * prime) % buckets, fixed across runs
TRAIN_DEFAULTS = {"epochs": 10, "batch_size": 128, "lr": 5e-3, "warmup_steps": 200, "schedule": "inverse_sqrt",
                  "patience": 3}  # TrainConfig fields TIGER sets unless given

# The paper's setup (§4, Appendix; see research notes). The CPU defaults (`TIGER.defaults`, TRAIN_DEFAULTS)
# are smaller: 2+2 layers of width 64, 64 codes per level for the 1,500-item built-in catalog (256 codes
# leave ~6 items per first code there and trained worse), no dropout and a higher AdamW learning rate,
# so that a few epochs on a 2-core CPU suffice.
PAPER_CONFIG = {
    "d_model": 128, "n_layers": 4, "n_heads": 6, "d_kv": 64, "d_ff": 1024, "activation": "relu",
    "dropout": 0.1, "levels": 3, "codebook_size": 256, "collision_token": True, "n_user_buckets": 2000,
    "max_history": 20, "encoder": "Sentence-T5 (768 dims)", "batch_size": 256,
    "lr": 0.01, "schedule": "inverse_sqrt", "warmup_steps": 10_000, "steps": 200_000, "decoding": "filter",
}


def user_buckets(users, n_buckets: int) -> np.ndarray:
    """Hash user indices into ``n_buckets`` buckets (the paper hashes raw user ids into 2000)."""
    return (np.asarray(users, dtype=np.int64) * HASH_PRIME) % n_buckets


class TIGER(TorchRecommender):
    """TIGER on top of the shared semantic-ID, training and evaluation machinery.

    ``TIGER(semantic_ids=sids, ...)`` reuses already-built IDs (fit then skips the text encoder
    and the quantiser). Keyword arguments starting with ``rqvae_`` go to `build_semantic_ids`
    without the prefix (``rqvae_epochs=100`` -> ``epochs=100``).
    After `fit`: ``sids`` (the `SemanticIDs`), ``result.history`` (loss and validation NDCG@10
    per epoch), ``t5_config``; after `recommend`: ``last_invalid_rate``.
    """

    name = "tiger"

    def __init__(self, semantic_ids=None, **params):
        sid_kwargs = dict(params.pop("sid_kwargs", None) or {})
        sid_kwargs.update({k[len("rqvae_"):]: params.pop(k) for k in list(params) if k.startswith("rqvae_")})
        super().__init__(**{**TRAIN_DEFAULTS, **params}, sid_kwargs=sid_kwargs)
        p = self.params
        if p["decoding"] not in ("trie", "filter"):
            raise ValueError(f"decoding must be 'trie' or 'filter', got {p['decoding']!r}")
        if p["d_model"] < 1 or p["n_layers"] < 1 or p["max_history"] < 1 or p["beam_size"] < 1:
            raise ValueError("d_model, n_layers, max_history and beam_size must be positive")
        self.sids = semantic_ids
        self.t5_config = None
        self.last_invalid_rate: float | None = None

    @classmethod
    def defaults(cls) -> dict:
        return {
            # seq2seq model (paper: 4+4 layers, d_model 128, 6 heads x 64, d_ff 1024, dropout 0.1; PAPER_CONFIG)
            "d_model": 64, "n_layers": 2, "n_heads": 4, "d_kv": 16, "d_ff": 256, "dropout": 0.0,
            "max_history": 20, "n_user_buckets": 2000,
            # semantic IDs (paper: RQ-VAE over Sentence-T5 embeddings, 3 levels x 256 codes for ~12k items)
            "sid_method": "rqvae", "levels": 3, "codebook_size": 64, "encoder": "auto",
            "text_fields": ["title", "brand", "categories", "price"], "sid_kwargs": {},
            "embedding_cache": True,  # item embeddings on disk under <data cache>/embeddings (False: recompute)
            # retrieval
            "beam_size": 20, "decoding": "trie", "val_users": 500, "eval_batch_size": 256,
        }

    # ------------------------------------------------------------------ §3.1 semantic IDs
    def build_ids(self, catalog):
        """Item text -> embeddings -> semantic IDs (skipped when ``semantic_ids`` was given)."""
        from ..semantic_ids import build_semantic_ids

        p = self.params
        if catalog is None:
            raise ValueError("TIGER needs the catalog (item text) to build semantic IDs: fit(split, catalog), "
                             "or pass semantic_ids=... to TIGER(...)")
        return build_semantic_ids(self._embeddings(catalog), method=p["sid_method"], levels=p["levels"],
                                  codebook_size=p["codebook_size"], seed=self.train_config.seed,
                                  progress=self.train_config.progress, **p["sid_kwargs"])

    def _embeddings(self, catalog):
        """Item text -> sentence embeddings, cached on disk (keyed by encoder and texts) unless disabled."""
        from ..data.download import cache_dir
        from ..text import encode_items

        p = self.params
        cache = Path(cache_dir()) / "embeddings" if p["embedding_cache"] else None
        return encode_items(catalog, encoder=p["encoder"], fields=tuple(p["text_fields"]), cache_dir=cache,
                            progress=self.train_config.progress)

    @property
    def sid_offset(self) -> int:
        """Token id of the first SID token (code 0 at level 0)."""
        return USER_OFFSET + self.params["n_user_buckets"]

    # ------------------------------------------------------------------ §3.2 the encoder-decoder
    def build(self, n_items: int, catalog=None):
        """A randomly initialised T5 (transformers) over the vocabulary above; needs ``self.sids``."""
        from transformers import T5Config, T5ForConditionalGeneration

        if self.sids is None:
            raise ValueError("build needs semantic IDs: call fit(split, catalog) or pass semantic_ids=...")
        if self.sids.n_items != n_items:
            raise ValueError(f"semantic IDs cover {self.sids.n_items} items, the data has {n_items}")
        p = self.params
        self.n_items = n_items
        if self.t5_config is None:
            self.t5_config = T5Config(
                vocab_size=self.sid_offset + self.sids.vocab_size, d_model=p["d_model"], d_kv=p["d_kv"],
                d_ff=p["d_ff"], num_layers=p["n_layers"], num_decoder_layers=p["n_layers"], num_heads=p["n_heads"],
                dropout_rate=p["dropout"], feed_forward_proj="relu", pad_token_id=PAD, eos_token_id=EOS,
                decoder_start_token_id=EOS)
        self.module = T5ForConditionalGeneration(self.t5_config)
        self._tables()
        return self.module

    def _tables(self) -> None:
        """Lookup tables: item -> L tokens, sorted code keys -> item (to decode beams quickly), the trie."""
        self.item_tokens = self.sids.all_tokens(self.sid_offset)  # (n_items, L)
        K, L = self.sids.block_size, self.sids.length
        keys = prefix_keys(self.sids.codes, K)  # a unique int per full ID
        order = np.argsort(keys)
        self._keys, self._key_items = keys[order], order
        self._trie = TrieConstraint(self.sids, self.sid_offset)

    def encode_inputs(self, histories, users=None):
        """Encoder input ``[user] + tokens of the last max_history items``, right-padded.

        Returns input_ids, attention_mask: (B, 1 + L * max_history) at most, int64 tensors.
        No user token when ``users`` is None or ``n_user_buckets == 0``.
        """
        import torch

        p, L = self.params, self.sids.length
        use_user = users is not None and p["n_user_buckets"] > 0
        rows = []
        for b, h in enumerate(histories):
            toks = self.item_tokens[np.asarray(h, dtype=np.int64)[-p["max_history"]:]].reshape(-1)
            if use_user:
                toks = np.concatenate([[USER_OFFSET + user_buckets(users[b], p["n_user_buckets"])], toks])
            rows.append(toks if len(toks) else np.array([EOS]))  # an empty input still needs one token
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), PAD, dtype=np.int64)
        for b, r in enumerate(rows):
            ids[b, :len(r)] = r
        ids = torch.as_tensor(ids)
        return ids, (ids != PAD).long()

    # ------------------------------------------------------------------ training
    def _examples(self, train):
        """(user, end) pairs: predict item train[user][end] from the items before it, for every end >= 1."""
        return np.array([(u, t) for u, s in enumerate(train) for t in range(1, len(s))], dtype=np.int64).reshape(-1, 2)

    def _loss(self, module, batch):
        input_ids, attention_mask, labels = batch  # (B, T), (B, T), (B, L)
        return module(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss  # mean CE over L tokens

    def fit(self, split, catalog=None) -> "TIGER":
        import torch

        from ..train import train_model

        if self.sids is None:
            self.sids = self.build_ids(catalog)
        self.t5_config = None
        self.build(split.n_items, catalog)
        ex = self._examples(split.train)
        if len(ex) == 0:
            raise ValueError("no training sequence has 2 or more items")
        cfg, max_h = self.train_config, self.params["max_history"]
        lengths = np.minimum(ex[:, 1], max_h)

        def make_batches(epoch):
            # shuffle, then sort chunks of 32 batches by history length: less padding, same examples
            for chunk in iterate_batches(len(ex), cfg.batch_size * 32, seed=cfg.seed + epoch):
                chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
                batches = [chunk[i:i + cfg.batch_size] for i in range(0, len(chunk), cfg.batch_size)]
                for j in np.random.default_rng(cfg.seed + epoch).permutation(len(batches)):
                    rows = ex[batches[j]]
                    hist = [split.train[u][max(0, t - max_h):t] for u, t in rows]
                    targets = np.array([split.train[u][t] for u, t in rows])
                    input_ids, mask = self.encode_inputs(hist, rows[:, 0])
                    yield input_ids, mask, torch.as_tensor(self.item_tokens[targets])

        self.result = train_model(self.module, make_batches, self._loss, cfg,
                                  validate=self.validation_fn(split, n_users=self.params["val_users"]), desc="TIGER")
        return self

    # ------------------------------------------------------------------ retrieval by beam search
    def tokens_to_items(self, tokens: np.ndarray) -> np.ndarray:
        """(..., L) generated SID tokens -> item indices, -1 where the tokens are no item's ID."""
        tokens = np.asarray(tokens, dtype=np.int64)
        K, L = self.sids.block_size, self.sids.length
        codes = tokens - self.sid_offset - np.arange(L) * K  # c_l = token - offset - l*K
        ok = ((codes >= 0) & (codes < K)).all(-1)
        keys = prefix_keys(np.clip(codes, 0, K - 1), K)
        pos = np.clip(np.searchsorted(self._keys, keys), 0, len(self._keys) - 1)
        found = ok & (self._keys[pos] == keys)
        return np.where(found, self._key_items[pos], -1)

    def generate(self, histories, users=None, num_beams: int | None = None, exclude_seen: bool = True):
        """Beam search for a batch: (B, num_beams) items (-1 = invalid ID) and (B, num_beams) log-probs."""
        import torch

        if self.module is None:
            raise RuntimeError("fit or load the model first")
        num_beams = max(2, num_beams or self.params["beam_size"])  # 1 beam = greedy search, which has no beam scores
        L, device = self.sids.length, next(self.module.parameters()).device
        input_ids, mask = self.encode_inputs(histories, users)
        kwargs = {}
        if self.params["decoding"] == "trie":
            kwargs["logits_processor"] = [self._trie.for_batch(num_beams, histories if exclude_seen else None)]
        self.module.eval()
        with torch.no_grad():
            out = self.module.generate(
                input_ids=input_ids.to(device), attention_mask=mask.to(device), num_beams=num_beams,
                num_return_sequences=num_beams, max_new_tokens=L, do_sample=False,
                length_penalty=0.0, eos_token_id=None, output_scores=True,
                return_dict_in_generate=True, **kwargs)
        seq = out.sequences[:, 1:].cpu().numpy()  # drop the decoder start token
        if seq.shape[1] < L:  # no EOS token is set, so this cannot happen; never index past the end anyway
            seq = np.pad(seq, ((0, 0), (0, L - seq.shape[1])), constant_values=PAD)
        items = self.tokens_to_items(seq[:, :L]).reshape(len(histories), num_beams)
        scores = out.sequences_scores.float().cpu().numpy().reshape(len(histories), num_beams)  # sum of log p
        return items, scores

    def recommend(self, histories, k: int = 10, exclude_seen: bool = True, users=None):
        """Top-k valid, distinct (and, with exclude_seen, unseen) items per user, by beam log-probability.

        Rows with fewer than k such items are padded with item -1 and score -inf.
        ``last_invalid_rate``: share of invalid IDs among the top-k beams (the paper's statistic).
        """
        histories = list(histories)
        num_beams = max(2, self.params["beam_size"], k)
        out_items = np.full((len(histories), k), -1, dtype=np.int64)
        out_scores = np.full((len(histories), k), -np.inf, dtype=np.float32)
        invalid, bs = [], self.params["eval_batch_size"]
        for s in range(0, len(histories), bs):
            h = histories[s:s + bs]
            items, scores = self.generate(h, None if users is None else np.asarray(users)[s:s + bs], num_beams,
                                          exclude_seen)
            invalid.append((items[:, :k] < 0).mean(1))
            for b in range(len(h)):
                seen = set(np.asarray(h[b]).tolist()) if exclude_seen else set()
                picked: list[int] = []
                for item, score in zip(items[b], scores[b]):
                    if item >= 0 and np.isfinite(score) and item not in seen and item not in picked:
                        picked.append(int(item))
                        out_scores[s + b, len(picked) - 1] = score
                        if len(picked) == k:
                            break
                out_items[s + b, :len(picked)] = picked
        self.last_invalid_rate = float(np.concatenate(invalid).mean()) if invalid else 0.0
        return out_items, out_scores

    # ------------------------------------------------------------------ save / load
    def save(self, path) -> Path:
        """config.json (as TorchRecommender) + model.safetensors + sids.npz + t5_config.json (+ history.json).

        T5 ties its embedding tables, which ``safetensors.save_file`` refuses; ``save_model`` stores them once.
        """
        from safetensors.torch import save_model

        if self.module is None:
            raise RuntimeError("fit the model before saving it")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps({"model": self.name, "n_items": self.n_items,
                                                      "params": self.params}, indent=2))
        save_model(self.module, str(path / "model.safetensors"))
        self.sids.save(path / "sids.npz")
        (path / "t5_config.json").write_text(self.t5_config.to_json_string())
        if self.result is not None:
            (path / "history.json").write_text(json.dumps(self.result.history, indent=1))
        return path

    @classmethod
    def load(cls, path, catalog=None) -> "TIGER":
        from safetensors.torch import load_model
        from transformers import T5Config

        from ..semantic_ids import SemanticIDs

        path = Path(path)
        if not (path / "config.json").exists() or not (path / "sids.npz").exists():
            raise FileNotFoundError(f"no TIGER checkpoint in {path} (expected config.json, model.safetensors, "
                                    "sids.npz, t5_config.json)")
        cfg = json.loads((path / "config.json").read_text())
        model = cls(semantic_ids=SemanticIDs.load(path / "sids.npz"), **cfg["params"])
        model.t5_config = T5Config.from_json_file(str(path / "t5_config.json"))
        model.build(cfg["n_items"], catalog)
        load_model(model.module, str(path / "model.safetensors"))
        model.module.eval()
        return model
