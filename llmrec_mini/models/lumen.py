"""LUMEN: one causal LM that reads the history (and a critique), names the next item by its semantic
ID, then writes the narrative (REGEN's unified architecture, Su et al., arXiv 2503.11924 §4;
../shared/research/methods_part2.md §1).

REGEN's hybrid (`models/flare.py` + `regen.Narrator`) uses two models: a recommender picks the
item, a language model explains it. LUMEN is a single LM whose vocabulary holds text tokens *and*
semantic-ID tokens, so retrieval and generation are one left-to-right pass::

    user history : <item> s s s </item> ... [critique : something cheaper , please .] next item
    <item> s s s </item> i bought ... because ... . <eos>
    \\____________ prompt ______________________________/ \\______ target (the loss) _________/

* **Item part**: beam search under the SID trie (`llm.generate_items`), so the model never names
  an item that does not exist (`recommend`; ``critiques=[...]`` per row is a decode option).
* **Narrative part**: greedy decoding after ``</item>`` with the SID tokens banned (`narrate`).

LUMEN is PLUM's machinery (`models/plum.py`: semantic IDs, tiny LM pre-trained on item text or
SmolLM2 + LoRA, continued pre-training on SID/metadata sentences) with a longer target. Training
critiques come from ``regen`` (a `regen.RegenData`); without it the model trains without
critiques. Narratives are written for every training pair by the writer (``regen.writer``, else
`regen.TemplateWriter`). A share ``critique_dropout`` of the training examples hides their
critique, so one model serves requests with and without one.

Deviations: the paper's LUMEN backbone and SID settings are not published (research notes: [U]);
here a tiny Llama with SID-v2 IDs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import llm, regen as rg
from .plum import END, ITEM, PLUM, PLUMConfig

LUMEN_WORDS = "critique : next item narrative"


@dataclass
class LUMENConfig(PLUMConfig):
    narrative: str = "purchase_reason"  # which REGEN narrative follows the item
    critique_dropout: float = 0.5  # share of training examples whose critique is hidden
    narrative_tokens: int = 60  # at most this many generated narrative tokens

    def check(self) -> None:
        super().check()
        if self.narrative not in rg.NARRATIVES:
            raise ValueError(f"narrative must be one of {rg.NARRATIVES}, got {self.narrative!r}")
        if not 0 <= self.critique_dropout <= 1:
            raise ValueError(f"critique_dropout must be in [0, 1], got {self.critique_dropout}")
        if self.narrative_tokens < 1:
            raise ValueError(f"narrative_tokens must be at least 1, got {self.narrative_tokens}")


class LUMEN(PLUM):
    name = "lumen"
    description = "LUMEN: one causal LM with SID tokens reads history + critique, writes <item> SID </item> + narrative"
    Config = LUMENConfig
    decode_options = {**PLUM.decode_options, "critiques": None}  # one critique (or None) per history
    lowercase = False  # narratives keep their case (BLEU/ROUGE against the references)
    presets = {
        "tiny": {**PLUM.presets["tiny"], "narrative_tokens": 12},
        "smollm2": PLUM.presets["smollm2"],
    }

    def __init__(self, regen: rg.RegenData | None = None, writer: rg.Writer | None = None, semantic_ids=None,
                 **params):
        super().__init__(semantic_ids=semantic_ids, **params)
        self.regen = regen
        self.writer = writer or (regen.writer if regen is not None else rg.TemplateWriter())
        self.attributes: list[dict] = []
        self.texts: dict = {}  # (user, t) -> (critique or None, narrative) of every training pair

    # ------------------------------------------------------------------ the training texts
    def prepare(self, split, catalog) -> None:
        if catalog is None:
            raise ValueError("LUMEN needs the catalog (item text): fit(split, catalog)")
        if self.regen is not None:
            self.regen.check_split(split)
        self.attributes = rg.item_attributes(catalog)
        rng = np.random.default_rng(self.train_config.seed)
        self.texts = {}
        for u, s in enumerate(split.train):
            for t in range(1, len(s)):
                crit = self.regen.critique(u, t) if self.regen is not None else None
                if crit is not None and rng.random() < self.config.critique_dropout:
                    crit = None
                hist = [self.attributes[i] for i in s[:t]]
                self.texts[u, t] = crit, self.writer.narrative(self.config.narrative, hist, self.attributes[s[t]],
                                                               catalog.title(int(s[t])), key=(u, t))
        super().prepare(split, catalog)

    def extra_texts(self, split) -> list[str]:
        return [LUMEN_WORDS] + [t for pair in self.texts.values() for t in pair if t]

    # ------------------------------------------------------------------ prompt and target
    def prompt(self, history, critiques: str | None = None) -> list[int]:
        """``user history : <item>..</item> ... [critique : text .] next item <item>``."""
        out = self.history_tokens(np.asarray(history)[-self.config.max_history:])
        if critiques:
            text = critiques.strip()
            out += self.words(f"critique : {text if text.endswith(('.', '?', '!')) else text + ' .'}")
        return out + self.words("next item") + [self.special[ITEM]]

    def examples(self, split):
        h = self.config.max_history
        return [(s[max(0, t - h):t], s[t], *self.texts[u, t]) for u, s in enumerate(split.train)
                for t in range(1, len(s))]

    def collate(self, examples):
        prompts = [self.prompt(h, c) for h, _, c, _ in examples]
        targets = [self.vocab.encode(np.array([i]))[0].tolist() + [self.special[END]] + self.words(n)
                   + [self.tokenizer.eos_token_id] for _, i, _, n in examples]
        return llm.lm_batch(prompts, targets, self.tokenizer.pad_token_id)

    # ------------------------------------------------------------------ the narrative after the item
    def narrate(self, histories, items, critiques=None, batch_size: int = 64) -> list[str]:
        """The narrative LUMEN writes after ``<item> SID(item) </item>``, greedy, no item tokens."""
        self.check_fitted()
        if len(histories) != len(items):
            raise ValueError(f"{len(histories)} histories for {len(items)} items")
        critiques = [None] * len(items) if critiques is None else list(critiques)
        if len(critiques) != len(items):
            raise ValueError(f"{len(critiques)} critiques for {len(items)} items")
        banned = list(range(self.vocab.offset, self.vocab.end)) + [self.special[ITEM], self.special[END]]
        out = []
        for s in range(0, len(items), batch_size):
            prompts = [self.prompt(h, c) + self.vocab.encode(np.array([int(i)]))[0].tolist() + [self.special[END]]
                       for h, i, c in zip(histories[s:s + batch_size], items[s:s + batch_size],
                                          critiques[s:s + batch_size])]
            rows = llm.generate_text(self.module, prompts, self.tokenizer.pad_token_id, self.tokenizer.eos_token_id,
                                     self.config.narrative_tokens, banned_ids=banned)
            out += [self.tokenizer.decode(r, skip_special_tokens=True).strip() for r in rows]
        return out

    def respond(self, history, critique: str | None = None) -> str:
        """The whole output for one request: ``<item> s s s </item> narrative`` (top beam, unseen item)."""
        rec = self.recommend([history], k=1, critiques=[critique])
        item = int(rec.items[0, 0])
        sid = " ".join(self.tokenizer.convert_ids_to_tokens(self.vocab.encode(np.array([item]))[0].tolist()))
        return f"{ITEM} {sid} {END} {self.narrate([history], [item], [critique])[0]}"
