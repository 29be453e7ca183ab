"""PLUM: semantic-ID tokens inside a pre-trained causal language model (He et al., Google DeepMind /
YouTube, arXiv 2510.07784).

TIGER (`models/tiger.py`) trains a small encoder-decoder from scratch to write the next item's
semantic ID. PLUM keeps the idea and changes the generator: a *pre-trained* decoder-only LLM whose
vocabulary is extended with the SID tokens, taught what they mean before it is taught to
recommend. Three stages, each one `llmrec_mini.train.train_model` run:

0. **Semantic IDs (§3.1)**: SID-v2 by default (`semantic_ids.sid_v2`: text and co-occurrence
   embeddings fused, multi-resolution codebooks, progressive masking, contrastive loss); the
   settings group ``sid`` (`SIDConfig`) can switch to TIGER's RQ-VAE (SID-v1).
1. **LM init.** ``lm="tiny"`` (default): a Llama-style tiny LM (`llm.tiny_lm`) over a word
   tokenizer of the catalog's text, first pre-trained for ``lm_steps`` on item descriptions
   (``init="lm"``) or left random (``init="random"``, the paper's "no LLM init" arm).
   ``lm="smollm2"``: SmolLM2-135M-Instruct, offline (`llm.load_pretrained`), adapted with LoRA
   and trainable new-token rows (`llm.apply_lora`); its base weights stay frozen.
2. **Continued pre-training (CPT, §3.2)** for ``cpt_steps`` (0 = the "no CPT" arm) on a 50/50 mix
   (``cpt_behaviour_share``) of two corpora, every token a next-token target:

   * behaviour: ``user history : <item> s s s s </item> <item> ... </item>`` (windows of
     ``cpt_window`` consecutive training items);
   * metadata: ``<item> s s s s </item> category : ... . title : ... .`` (one per item),

   which ties each SID to its item's words, and SIDs to the SIDs bought around them.
3. **Supervised fine-tuning (SFT, §3.3)** for generative retrieval: the prompt is the last
   ``max_history`` items written with SIDs, the target the next item's SID; the loss covers the
   target tokens only. Every (prefix, next item) pair of the training sequences is an example.

Serving: beam search under the SID trie (`llm.generate_items`), so every beam is a real item;
``recommend(..., constrained=False)`` decodes freely and the extras' ``invalid`` is the share of
beams that name no item (the paper reports < 5% after SFT).

Deviations: one dense tiny LM (the paper: Gemini MoE, 110M to 3B activated parameters, ~260B CPT
tokens); no numeric-feature tokens (watch time, recency) in the behaviour corpus, which the built-in
data does not have; SFT examples are weighted equally (the paper samples them in proportion to
reward).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import llm
from ..config import Settings
from ..semantic_ids import SemanticIDs, SIDConfig
from .base import CheckpointError, TorchRecommender
from .contract import Capabilities, Recommendations

ITEM, END = "<item>", "</item>"


def item_category(catalog, i: int) -> str:
    """The item's category path as words (``Beauty Skin Care Face``), or ``unknown``."""
    return " ".join(catalog.categories[i]) if catalog.categories and catalog.categories[i] else "unknown"
TEMPLATE_WORDS = "user history : next item title category brand price ."


@dataclass
class PLUMConfig(Settings):
    lm: Literal["tiny", "smollm2"] = "tiny"
    init: Literal["lm", "random"] = "lm"  # tiny LM: pre-train on the catalog's text first ("lm") or not
    d_model: int = 64  # tiny LM sizes
    n_layers: int = 2
    n_heads: int = 4
    lm_steps: int = 300  # tiny LM pre-training steps on item descriptions (init="lm")
    cpt_steps: int = 300  # continued pre-training steps on the mixed corpus (0: no CPT)
    cpt_batch_size: int = 32
    cpt_lr: float = 3e-3
    cpt_behaviour_share: float = 0.5  # share of behaviour sequences in the CPT mix (the rest: item metadata)
    cpt_window: int = 12  # items per behaviour example
    max_history: int = 10  # items in the SFT prompt
    num_beams: int = 20
    eval_batch_size: int = 64
    lora_r: int = 8  # SmolLM2 only: LoRA rank on the attention projections

    def check(self) -> None:
        for name in ("d_model", "n_layers", "n_heads", "cpt_batch_size", "cpt_window", "max_history", "num_beams",
                     "eval_batch_size", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("lm_steps", "cpt_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.cpt_behaviour_share <= 1:
            raise ValueError(f"cpt_behaviour_share must be in [0, 1], got {self.cpt_behaviour_share}")
        if self.lm == "smollm2" and self.init == "random":
            raise ValueError("init='random' is the tiny LM's ablation arm; SmolLM2 is used with its pre-trained weights")


class PLUM(TorchRecommender):
    name = "plum"
    description = "PLUM: a causal LM with semantic-ID tokens, continued pre-training, then SFT to write the next item's SID"
    capabilities = Capabilities(scores_catalog=False, generative=True, needs_catalog=True)
    Config = PLUMConfig
    groups = {"sid": SIDConfig}
    sid_defaults = {"method": "sid-v2", "codebook_size": 64}  # SID-v2 unless told otherwise
    decode_options = {"num_beams": None, "constrained": True}
    train_defaults = {"epochs": 10, "batch_size": 64, "lr": 3e-3, "patience": 3, "val_users": 200,
                      "schedule": "cosine"}
    presets = {
        "tiny": {"d_model": 32, "n_layers": 1, "n_heads": 2, "lm_steps": 20, "cpt_steps": 20, "epochs": 1,
                 "val_users": 20, "num_beams": 10, "levels": 2, "codebook_size": 16, "encoder": "hashing",
                 "rqvae": {"epochs": 5}},
        # SmolLM2-135M + LoRA at a reduced number of steps (minutes per stage on a CPU)
        "smollm2": {"lm": "smollm2", "cpt_steps": 100, "cpt_batch_size": 8, "cpt_lr": 1e-3, "lr": 1e-3,
                    "batch_size": 16, "epochs": 1, "max_history": 5},
    }
    published = ()  # PLUM reports YouTube-internal results only
    lowercase = True  # the tiny LM's word tokenizer lowercases text

    def __init__(self, semantic_ids: SemanticIDs | None = None, **params):
        sid = params.pop("sid", {})
        super().__init__(sid={**self.sid_defaults, **sid}, **params)
        self.sids, self.vocab, self.tokenizer, self.word_tokenizer = semantic_ids, None, None, None
        self.special: dict[str, int] = {}
        self.stage_results: dict = {}  # "lm" / "cpt" -> TrainResult
        self.item_words: list[str] = []

    # ------------------------------------------------------------------ 0. semantic IDs and the text side
    def prepare(self, split, catalog) -> None:
        if catalog is None:
            raise ValueError("PLUM needs the catalog (item text): fit(split, catalog)")
        if self.sids is None:
            sid = self.group_settings["sid"]
            self.sids = sid.build(catalog, seed=self.train_config.seed, progress=self.train_config.progress,
                                  train_sequences=split.train)
        if self.sids.n_items != split.n_items:
            raise ValueError(f"semantic IDs cover {self.sids.n_items} items, the data has {split.n_items}")
        self.item_words = [f"category : {item_category(catalog, i)} . title : {catalog.title(i)} ."
                           for i in range(len(catalog))]
        if self.config.lm == "tiny":
            self.word_tokenizer = llm.word_tokenizer(self.item_words + [TEMPLATE_WORDS] + self.extra_texts(split),
                                                     lowercase=self.lowercase)

    def extra_texts(self, split) -> list[str]:
        """More text the tiny LM's word tokenizer must know (LUMEN: critiques and narratives)."""
        return []

    # ------------------------------------------------------------------ 1. the language model
    def build(self):
        c = self.config
        lm, self.tokenizer = llm.base_lm(c.lm, self.word_tokenizer, c.d_model, c.n_layers, c.n_heads)
        first_new = len(self.tokenizer)
        self.vocab, self.special = llm.add_sid_tokens(lm, self.tokenizer, self.sids, specials=(ITEM, END))
        if c.lm == "smollm2":
            lm = llm.apply_lora(lm, r=c.lora_r, alpha=2 * c.lora_r, train_token_ids=range(first_new, self.vocab.end))
        return lm

    def words(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def sid_tokens(self, item: int) -> list[int]:
        return [self.special[ITEM], *self.vocab.encode(np.array([item]))[0].tolist(), self.special[END]]

    # ------------------------------------------------------------------ 2. LM pre-training and CPT
    def before_training(self, split, catalog) -> None:
        c = self.config
        self.stage_results = {}
        if c.lm == "tiny" and c.init == "lm" and c.lm_steps:
            corpus = [self.words(t) + [self.tokenizer.eos_token_id] for t in self.item_words]
            self.stage_results["lm"] = self._causal_lm_stage(lambda rng: corpus[rng.integers(len(corpus))],
                                                             c.lm_steps, "LM pre-training")
        if c.cpt_steps:
            behaviour, metadata = self.cpt_corpus(split)
            share = c.cpt_behaviour_share if behaviour else 0.0

            def draw(rng):
                if rng.random() < share:
                    seq = behaviour[rng.integers(len(behaviour))]
                    start = rng.integers(max(1, len(seq) - c.cpt_window + 1))
                    return self.behaviour_tokens(seq[start:start + c.cpt_window])
                return metadata[rng.integers(len(metadata))]

            self.stage_results["cpt"] = self._causal_lm_stage(draw, c.cpt_steps, "CPT")

    def cpt_corpus(self, split) -> tuple[list[np.ndarray], list[list[int]]]:
        """Behaviour: the training sequences (windows are cut when drawn). Metadata: one sentence per item."""
        behaviour = [np.asarray(s) for s in split.train if len(s) >= 2]
        metadata = [self.metadata_tokens(i) for i in range(self.sids.n_items)]
        return behaviour, metadata

    def history_tokens(self, items) -> list[int]:
        """``user history : <item> s.. </item> ...`` for the given items (CPT, SFT and LUMEN prompts)."""
        out = self.words("user history :")
        for i in items:
            out += self.sid_tokens(int(i))
        return out

    def behaviour_tokens(self, items) -> list[int]:
        return self.history_tokens(items) + [self.tokenizer.eos_token_id]

    def metadata_tokens(self, item: int) -> list[int]:
        return self.sid_tokens(item) + self.words(self.item_words[item]) + [self.tokenizer.eos_token_id]

    def cpt_examples(self, split, n: int = 3, seed: int = 0) -> dict[str, list[str]]:
        """A few CPT examples of each kind, as text (the note shows them)."""
        rng = np.random.default_rng(seed)
        behaviour, _ = self.cpt_corpus(split)
        return {"metadata": [self.tokenizer.decode(self.metadata_tokens(int(i)))
                             for i in rng.choice(self.sids.n_items, n, replace=False)],
                "behaviour": [self.tokenizer.decode(self.behaviour_tokens(behaviour[int(j)][: self.config.cpt_window]))
                              for j in rng.choice(len(behaviour), n, replace=False)]}

    def _causal_lm_stage(self, draw, steps: int, desc: str):
        """``steps`` optimizer steps of next-token loss on every token of ``draw(rng)`` token lists."""
        c, tc = self.config, self.train_config
        return llm.train_lm_steps(self.module, lambda rng: ([], draw(rng)), steps, c.cpt_batch_size, c.cpt_lr,
                                  self.tokenizer.pad_token_id, seed=tc.seed, device=tc.device, progress=tc.progress,
                                  max_minutes=tc.max_minutes, desc=desc)

    # ------------------------------------------------------------------ 3. SFT: history -> next SID
    def prompt(self, history) -> list[int]:
        out = self.history_tokens(np.asarray(history)[-self.config.max_history:])
        return out + self.words("next item") + [self.special[ITEM]]

    def examples(self, split):
        return [(s[max(0, t - self.config.max_history):t], s[t]) for s in split.train for t in range(1, len(s))]

    def example_lengths(self, examples) -> np.ndarray:
        return np.array([len(e[0]) for e in examples])  # history length (LUMEN adds text to the tuple)

    def collate(self, examples):
        histories, targets = zip(*examples)
        return llm.lm_batch([self.prompt(h) for h in histories], self.vocab.encode(np.array(targets)).tolist(),
                            self.tokenizer.pad_token_id)

    def loss(self, module, batch):
        ids, mask, labels = batch
        return module(input_ids=ids, attention_mask=mask, labels=labels).loss

    # ------------------------------------------------------------------ serving
    def generate(self, histories, num_beams: int, exclude_seen: bool, constrained: bool = True, **context):
        """Beam search from each history's prompt; ``context`` holds per-row prompt inputs (LUMEN: critiques)."""
        import torch

        prompts = [self.prompt(h, **{key: v[b] for key, v in context.items()}) for b, h in enumerate(histories)]
        width = max(map(len, prompts))
        ids = torch.full((len(prompts), width), self.tokenizer.pad_token_id)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for b, p in enumerate(prompts):
            ids[b, width - len(p):], mask[b, width - len(p):] = torch.tensor(p), 1
        return llm.generate_items(self.module, self.vocab, ids, mask, num_beams,
                                  histories if exclude_seen and constrained else None, constrained=constrained)

    def _recommend(self, histories, k, exclude_seen, users, num_beams=None, constrained=True,
                   **context) -> Recommendations:
        """Top-k items by beam log-probability. Extras: ``invalid`` (per row, the share of the top-k
        beams that name no item: 0 under the trie) and ``tokens`` (B, k, L) of each recommended item."""
        self.check_fitted()
        context = {key: list(v) for key, v in context.items() if v is not None}
        for key, v in context.items():
            if len(v) != len(histories):
                raise ValueError(f"{key}: got {len(v)} values for {len(histories)} histories")
        beams = max(2, num_beams or self.config.num_beams, k)
        out_items = np.full((len(histories), k), -1, dtype=np.int64)
        out_scores = np.full((len(histories), k), -np.inf, dtype=np.float32)
        out_tokens = np.zeros((len(histories), k, self.vocab.L), dtype=np.int64)
        invalid = []
        for s in range(0, len(histories), self.config.eval_batch_size):
            h = histories[s:s + self.config.eval_batch_size]
            items, scores, tokens = self.generate(h, beams, exclude_seen, constrained,
                                                  **{key: v[s:s + len(h)] for key, v in context.items()})
            invalid.append(((items < 0) & np.isfinite(scores))[:, :k].mean(1))
            for b in range(len(h)):
                seen = set(h[b].tolist()) if exclude_seen else set()
                picked = []
                for item, score, toks in zip(items[b], scores[b], tokens[b]):
                    if item >= 0 and np.isfinite(score) and item not in seen and item not in picked:
                        out_scores[s + b, len(picked)], out_tokens[s + b, len(picked)] = score, toks[:self.vocab.L]
                        picked.append(int(item))
                        if len(picked) == k:
                            break
                out_items[s + b, :len(picked)] = picked
        return Recommendations(out_items, out_scores, {"invalid": np.concatenate(invalid), "tokens": out_tokens})

    def invalid_rate(self, histories, k: int = 10) -> float:
        """Share of the top-k beams decoded *without* the trie that name no item (PLUM: < 5% after SFT)."""
        return float(self.recommend(histories, k=k, exclude_seen=False, constrained=False).extras["invalid"].mean())

    # ------------------------------------------------------------------ what the LM knows about SIDs
    def sequence_logprob(self, prompts, targets) -> np.ndarray:
        """sum_t log p(target_t | prompt, target_<t) for each (prompt, target) pair of token lists."""
        import torch

        ids, mask, labels = llm.lm_batch(prompts, targets, self.tokenizer.pad_token_id)
        self.module.eval()
        with torch.no_grad():
            logits = self.module(input_ids=ids.to(self.device()), attention_mask=mask.to(self.device())).logits
        logp = torch.log_softmax(logits[:, :-1].float(), -1)
        gold = labels[:, 1:].to(logp.device)
        picked = logp.gather(-1, gold.clamp_min(0)[..., None])[..., 0] * (gold >= 0)
        return picked.sum(-1).cpu().numpy()

    def category_probe(self, items, catalog, shots: int = 3, seed: int = 0) -> dict:
        """Few-shot: can the LM name an item's category from its SID alone?

        Each query is ``shots`` lines ``<item> s.. </item> category : X .`` for other random items,
        then ``<item> s_q.. </item> category :``; the model's answer is the catalog category with the
        highest log-probability. Returns accuracy, chance (share of the most common category
        among the queries) and the predictions."""
        rng = np.random.default_rng(seed)
        items = [int(i) for i in items]
        names = sorted({item_category(catalog, i) for i in range(len(catalog))})
        options = [self.words(f" {n} .") for n in names]
        truth = [item_category(catalog, i) for i in items]
        preds = []
        for q in items:
            others = rng.choice([i for i in range(len(catalog)) if i != q], size=shots, replace=False)
            prompt = []
            for o in others:
                prompt += self.sid_tokens(int(o)) + self.words(f"category : {item_category(catalog, int(o))} .")
            prompt += self.sid_tokens(q) + self.words("category :")
            preds.append(names[int(np.argmax(self.sequence_logprob([prompt] * len(options), options)))])
        _, counts = np.unique(truth, return_counts=True)
        return {"accuracy": float(np.mean([p == t for p, t in zip(preds, truth)])),
                "chance": float(counts.max() / len(truth)), "n_categories": len(names), "predictions": preds}

    # ------------------------------------------------------------------ checkpoints: IDs and tokenizer beside the weights
    def save_extra(self, path) -> None:
        self.sids.save(path / "sids.npz")
        if self.word_tokenizer is not None:
            self.word_tokenizer.save_pretrained(str(path / "tokenizer"))

    def load_extra(self, path, catalog=None) -> None:
        try:
            self.sids = SemanticIDs.load(path / "sids.npz")
            if self.config.lm == "tiny":
                from transformers import PreTrainedTokenizerFast

                self.word_tokenizer = PreTrainedTokenizerFast.from_pretrained(str(path / "tokenizer"))
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(f"{path} lacks PLUM's semantic IDs or tokenizer ({err})") from None


__all__ = ["PLUM", "PLUMConfig"]
