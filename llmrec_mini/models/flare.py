"""FLARE: Fusing Language models and collaborative Architectures for Recommender Enhancement
(Hebert et al., arXiv 2409.11699), the item model of REGEN's hybrid recommender (arXiv 2503.11924).

FLARE keeps a sequential recommender and feeds it language: every item's text goes through a
*frozen* language model, and the result is added to the item's learned ID embedding. REGEN adds
the user's free-text *critique* ("something cheaper, please") as one more input. A separate LM
(Gemma 2B in REGEN) then writes a narrative about the recommended item (`narrate`, below).

Here, on the package's shared machinery (../shared/research/methods_part2.md §1):

* **Backbone**: our SASRec (`models/sasrec.py`, causal, full-softmax CE), reused as is. The paper
  uses a Bert4Rec (bidirectional, masked-item) backbone; a causal one lets the same model rank the
  next item directly, like every other model of the package.
* **Fused item embedding**: ``e_i = E_id[i] + W t_i``, where ``t_i`` is the frozen sentence
  embedding of item i's text (`llmrec_mini.text.encode_items`: all-MiniLM-L6-v2 when installed,
  else the hashing encoder; settings ``encoder`` and ``text_fields``) and ``W`` a learned **linear
  projection** (no bias). The paper resamples mT5 token states with a Perceiver before projecting;
  with one pooled vector per item a linear map does that job. ``e_i`` replaces SASRec's item table
  both at the input and in the output layer, so ``r_{t,i} = h_t . e_i``.
* **Loss**: the backbone's next-item cross-entropy plus ``lambda_align`` times an InfoNCE loss that
  pulls each item's ID embedding towards its own projected text, against the other items of the
  batch (FLARE's auxiliary alignment loss; the symmetric form of CLIP / InfoNCE):

      L_align = 1/2 [ CE(S, I) + CE(S^T, I) ],   S_ij = cos(E_id[i], W t_j) / tau   (i, j in the batch)

  with ``tau = align_temperature`` (default 0.1). The text vectors ``t_i`` never change; only
  ``E_id``, ``W`` and the Transformer learn.
* **Critiques** (REGEN): ``FLARE(regen=enrich(dataset), use_critiques=True)``. Critique texts are
  embedded by the same frozen encoder, projected by their own linear map ``W_c`` and added to the
  input at the position that *predicts* the critiqued item: position t reads item t and predicts
  item t+1, so it receives ``W_c c_{t+1}`` (a zero vector where there is no critique). At
  recommend time the critique of the next item is a call argument::

      model.recommend(histories, k, users=users, critiques=[text or None per row])

  and goes to the last position. ``critiques=None`` is the no-critique baseline of the same model.
  REGEN's critiques are written knowing the target item, so they leak its attributes: always
  report both rows.

What is left out: the Bert4Rec backbone and masked-item training, the Perceiver resampler over
token states, and mT5 (MiniLM here). The narrator is not part of this file: attach one to
``model.narrator`` (anything with ``write(histories, items) -> list[str]``, e.g. the one in
`llmrec_mini.regen`) and call ``model.narrate(histories, items)``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.sequences import PAD, pad_left, training_windows
from ..text import DEFAULT_FIELDS
from .contract import Capabilities
from .sasrec import SASRec, SASRecConfig
from .sasrec import _module as sasrec_module


@dataclass
class FLAREConfig(SASRecConfig):
    encoder: str = "auto"  # item and critique text: "auto" (MiniLM when installed, else hashing), "minilm", "hashing"
    text_fields: tuple[str, ...] = DEFAULT_FIELDS  # what the item sentence says (`Catalog.item_text`)
    embedding_cache: bool = True  # item text embeddings cached under <data cache>/embeddings
    lambda_align: float = 0.1  # weight of the ID-text InfoNCE loss (0: off)
    align_temperature: float = 0.1  # tau of the InfoNCE loss
    use_critiques: bool = False  # train with REGEN critiques (needs FLARE(regen=...))

    def check(self) -> None:
        super().check()
        if self.lambda_align < 0:
            raise ValueError(f"lambda_align must be >= 0, got {self.lambda_align}")
        if self.align_temperature <= 0:
            raise ValueError(f"align_temperature must be positive, got {self.align_temperature}")


def _module(n_items: int, c: FLAREConfig, text: np.ndarray, critiques: bool):
    """SASRec's module with its item table replaced by the fused one, plus the critique projection."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class FusedItems(nn.Module):
        """A drop-in for SASRec's ``nn.Embedding`` item table (token = item + 1, 0 = padding):
        row i = E_id[i] + W t_i, with the text vectors t a frozen buffer (row 0 = zeros)."""

        def __init__(self):
            super().__init__()
            self.ids = nn.Embedding(n_items + 1, c.d_model, padding_idx=PAD)
            nn.init.normal_(self.ids.weight, std=0.02)  # SASRec's initialisation
            with torch.no_grad():
                self.ids.weight[PAD].zero_()
            rows = torch.cat([torch.zeros(1, text.shape[1]), torch.as_tensor(text, dtype=torch.float32)])
            # not in state_dict: the checkpoint keeps the vectors in text.npy (`FLARE.save_extra`)
            self.register_buffer("text", rows, persistent=False)
            self.proj = nn.Linear(text.shape[1], c.d_model, bias=False)  # W

        @property
        def weight(self):  # (n_items + 1, D): what SASRec reads as ``items.weight``
            return self.ids.weight + self.proj(self.text)

        def forward(self, tokens):
            return self.ids(tokens) + self.proj(self.text[tokens])

        def align_loss(self, items, text_items=None):
            """The InfoNCE of the module docstring between E_id[items] and W t[text_items] (default: the
            same items, i.e. the true pairs; a permutation gives the loss of shuffled pairs)."""
            text_items = items if text_items is None else text_items
            e = F.normalize(self.ids(items + 1), dim=-1)  # (N, D) ID embeddings
            u = F.normalize(self.proj(self.text[text_items + 1]), dim=-1)  # (N, D) projected text
            logits = e @ u.T / c.align_temperature  # S_ij
            labels = torch.arange(len(items), device=logits.device)
            return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2

    class FLAREModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = sasrec_module(n_items, c)
            self.backbone.items = FusedItems()  # SASRec now reads e_i = E_id[i] + W t_i everywhere
            self.critique_proj = nn.Linear(text.shape[1], c.d_model, bias=False) if critiques else None  # W_c

        @property
        def items(self):
            return self.backbone.items

        @property
        def encoder(self):  # the Transformer layers (SASRec.attention_weights reads them)
            return self.backbone.encoder

        def critique_input(self, critiques):
            """(B, L, d_text) critique vectors -> (B, L, D) added input (zero rows stay zero: no bias)."""
            if critiques is None:
                return None
            if self.critique_proj is None:
                raise ValueError("this FLARE model was trained without critiques (use_critiques=False)")
            return self.critique_proj(critiques) * math.sqrt(c.d_model)  # the scale of the item input

        def encode(self, tokens, critiques=None):
            return self.backbone.encode(tokens, self.critique_input(critiques))

        def item_logits(self, h):
            return self.backbone.item_logits(h)

        def forward(self, tokens, targets=None, critiques=None, align_items=None):
            """Hidden states; with ``targets`` the loss: next-item CE + lambda_align * InfoNCE(align_items)."""
            out = self.backbone(tokens, targets, self.critique_input(critiques))
            if targets is None or align_items is None or c.lambda_align == 0:
                return out
            return out + c.lambda_align * self.items.align_loss(align_items)

    return FLAREModule()


class FLARE(SASRec):
    """FLARE on our SASRec; see the module docstring.

    ``FLARE(regen=None, **settings)``: ``regen`` is a `llmrec_mini.regen.RegenData` (its ``split`` is
    the one to fit on); it is needed only with ``use_critiques=True``. After `fit`:
    ``text_embeddings`` (n_items, d_text, frozen), ``critique_texts`` (the critiques seen at fit
    time), ``result``. ``narrator``: attach one to use `narrate`.

    Evaluating with critiques: ``critiques`` has one entry per row, so the harness takes them as a
    per-row option: ``evaluate_metrics(model, evalset, per_row={"critiques":
    regen.target_critiques(evalset)})``. Critique texts never seen at fit time are embedded
    on first use (the hashing encoder fits its IDF per call, so they are encoded together with the
    known ones). A model trained with critiques sees them at history positions too, which
    ``recommend`` does not supply (only the next item's): its no-critique row is a little below a
    model trained without them.
    """

    name = "flare"
    description = ("FLARE: SASRec whose item embeddings add frozen text embeddings (ID-text InfoNCE), "
                   "optionally fed REGEN critiques")
    capabilities = Capabilities(needs_catalog=True)
    Config = FLAREConfig
    decode_options = {"critiques": None}  # one critique (str or None) per history row; None: no critiques
    train_defaults = {"epochs": 10, "lr": 4e-3, "schedule": "cosine", "patience": None, "val_users": 500}
    presets = {
        "tiny": {"d_model": 16, "n_layers": 1, "n_heads": 1, "encoder": "hashing", "epochs": 1,
                 "val_users": 50},  # smoke size (tests)
    }
    published = ()  # REGEN's and FLARE's result tables are not verified in the research notes

    def __init__(self, regen=None, **params):
        super().__init__(**params)
        self.regen = regen
        self.narrator = None  # anything with write(histories, items) -> list[str]
        self.text_embeddings: np.ndarray | None = None
        self.critique_texts: list[str] = []
        self.critique_table: np.ndarray | None = None  # (1 + n_critiques, d_text); row 0 = no critique
        self._critique_row: dict[str, int] = {}
        self._new_critiques: dict[str, np.ndarray] = {}  # critiques first seen at recommend time
        self._train_critique_rows: list[np.ndarray] | None = None  # per user and event: its critique's row
        self._encoder = None
        self._call_critiques = None

    # ------------------------------------------------------------------ text
    def encoder(self):
        """The sentence encoder of the item and critique text (built once)."""
        from ..text import get_encoder

        if self._encoder is None:
            self._encoder = get_encoder(self.config.encoder)
        return self._encoder

    def prepare(self, split, catalog) -> None:
        """Frozen item text embeddings; with ``use_critiques``, the critique table and rows."""
        from ..data.download import cache_dir
        from ..text import encode_items

        c = self.config
        if catalog is None:
            raise ValueError("FLARE adds item text to its item embeddings: fit(split, catalog) needs the catalog")
        if c.use_critiques and self.regen is None:
            raise ValueError("use_critiques=True needs the critiques: FLARE(regen=llmrec_mini.regen.enrich(dataset), "
                             "use_critiques=True).fit(regen.split, dataset.catalog)")
        cache = cache_dir() / "embeddings" if c.embedding_cache else None
        self.text_embeddings = encode_items(catalog, encoder=c.encoder, fields=c.text_fields, cache_dir=cache,
                                            progress=self.train_config.progress)
        self._train_critique_rows = None
        if c.use_critiques:
            self.regen.check_split(split)
            # every critique text of the data, embedded once (text only: no held-out transition is trained on)
            self._set_critiques(sorted({t for row in self.regen.critiques for t in row if t is not None}))
            self._train_critique_rows = [np.array([self._critique_row.get(t, 0) for t in row[:len(s)]], dtype=np.int64)
                                         for row, s in zip(self.regen.critiques, split.train)]

    def _set_critiques(self, texts: list[str], vectors: np.ndarray | None = None) -> None:
        if vectors is None:
            vectors = (self.encoder().encode(texts, progress=False) if texts
                       else np.zeros((0, self.text_embeddings.shape[1]), dtype=np.float32))
        self.critique_texts = list(texts)
        self.critique_table = np.concatenate([np.zeros((1, vectors.shape[1]), np.float32), vectors]).astype(np.float32)
        self._critique_row = {t: i + 1 for i, t in enumerate(texts)}
        self._new_critiques = {}

    def critique_vectors(self, texts) -> np.ndarray:
        """(n, d_text) frozen sentence embeddings of critique texts (zeros for None)."""
        from ..text import HashingEncoder

        if self.critique_table is None:
            raise ValueError("this FLARE model was trained without critiques (use_critiques=False); "
                             "recommend with critiques=None")
        new = sorted({t for t in texts if t is not None and t not in self._critique_row and t not in self._new_critiques})
        if new:
            enc = self.encoder()
            if isinstance(enc, HashingEncoder):  # its IDF is fitted per call: encode new texts with the known ones
                vecs = enc.encode(self.critique_texts + new, progress=False)[len(self.critique_texts):]
            else:
                vecs = enc.encode(new, progress=False)
            self._new_critiques.update(zip(new, vecs))
        out = np.zeros((len(texts), self.critique_table.shape[1]), dtype=np.float32)
        for i, t in enumerate(texts):
            if t is not None:
                out[i] = self.critique_table[self._critique_row[t]] if t in self._critique_row else self._new_critiques[t]
        return out

    # ------------------------------------------------------------------ the network
    def build(self):
        if self.text_embeddings is None:
            raise RuntimeError("FLARE needs its item text embeddings before build (fit with the catalog, or load)")
        return _module(self.n_items, self.config, self.text_embeddings, self.config.use_critiques)

    def untrained(self, n_items: int, catalog=None) -> "FLARE":
        """The seeded, randomly initialised model (no critiques); it needs the catalog's item text."""
        from ..text import encode_items

        if catalog is None:
            raise ValueError("FLARE adds item text to its item embeddings: untrained(n_items, catalog) needs the catalog")
        self.text_embeddings = encode_items(catalog, encoder=self.config.encoder, fields=self.config.text_fields,
                                            progress=False)
        return super().untrained(n_items, catalog)

    def examples(self, split):
        """SASRec's windows, each with the critique row of every event in it (None without critiques):
        ``(items, n_trained_targets, critique_rows)``."""
        c = self.config
        stride = c.window_stride or max(1, c.max_len // 2)
        starts = np.cumsum([0] + [len(s) for s in split.train])
        events = np.concatenate([np.asarray(s, dtype=np.int64) for s in split.train] + [np.zeros(0, np.int64)])
        rows = None if self._train_critique_rows is None else np.concatenate(
            self._train_critique_rows + [np.zeros(0, np.int64)])
        # windows over global event positions, so each window knows its events' critiques
        windows = training_windows([np.arange(a, b) for a, b in zip(starts[:-1], starts[1:])], c.max_len, stride)
        return [(events[w], n, None if rows is None else rows[w]) for w, n in windows]

    def collate(self, examples):
        """tokens, next-item targets (SASRec's), the batch's items for the InfoNCE, and critique vectors
        (B, L, d_text): input position t gets the critique of the window's event t + 1, i.e. of its target."""
        import torch

        tokens, targets = super().collate([(w, n) for w, n, _ in examples])
        items = torch.unique(torch.cat([tokens, targets]).reshape(-1))
        align = items[items != PAD] - 1
        critiques = None
        if examples[0][2] is not None:
            rows = np.zeros(tokens.shape, dtype=np.int64)  # 0 = no critique (also at padding)
            for b, (_, _, r) in enumerate(examples):
                if len(r) > 1:
                    rows[b, -(len(r) - 1):] = r[1:]  # the critique that leads to the target of each position
            critiques = torch.as_tensor(self.critique_table[rows])
        return tokens, targets, align, critiques

    def loss(self, module, batch):
        tokens, targets, align, critiques = batch
        return module(tokens, targets, critiques=critiques, align_items=align)

    def validation_fn(self, split, metric: str = "ndcg@10"):
        """The base validation; a critique-trained model is validated with the critiques it will get."""
        validate = super().validation_fn(split, metric)
        if validate is None or not self.config.use_critiques:
            return validate
        from ..evaluate import evaluate_metrics

        cfg = self.train_config
        subset = split.valid.subset(cfg.val_users, seed=cfg.seed)  # the base's users
        crit, k = self.regen.target_critiques(subset), int(metric.split("@")[1])
        return lambda module: evaluate_metrics(self, subset, ks=(k,), exclude_seen=cfg.val_exclude_seen,
                                               per_row={"critiques": crit})[metric]

    # ------------------------------------------------------------------ inference
    def inputs(self, histories, critiques=None):
        """The model's input for a batch: tokens (B, L) and critique vectors (B, L, d_text) or None;
        each row's critique (of the item to predict) sits at the last position, which predicts it."""
        import torch

        length = max(1, min(self.config.max_len, max((len(h) for h in histories), default=1)))
        tokens = torch.as_tensor(pad_left(histories, length))
        if critiques is None:
            return tokens, None
        vec = torch.zeros(len(histories), length, self.critique_table.shape[1])
        vec[:, -1] = torch.as_tensor(self.critique_vectors(critiques))
        return tokens, vec

    def _check_critiques(self, critiques, n: int):
        if critiques is None:
            return None
        if isinstance(critiques, str) or not hasattr(critiques, "__len__"):
            raise ValueError(f"critiques must be a list with one critique (str or None) per history, got {critiques!r}")
        if len(critiques) != n:
            raise ValueError(f"got {len(critiques)} critiques for {n} histories (one per history, None for none)")
        if any(t is not None and not isinstance(t, str) for t in critiques):
            raise ValueError("each critique must be a string or None")
        if not self.config.use_critiques:
            raise ValueError("this FLARE model was trained without critiques (use_critiques=False); "
                             "recommend with critiques=None")
        return list(critiques)

    def _recommend(self, histories, k, exclude_seen, users, critiques=None):
        self._call_critiques = self._check_critiques(critiques, len(histories))
        try:
            return super()._recommend(histories, k, exclude_seen, users)  # top-k of `score`, which reads them
        finally:
            self._call_critiques = None

    def score(self, histories, users=None, critiques=None) -> np.ndarray:
        import torch

        self.check_fitted()
        critiques = self._check_critiques(critiques, len(histories)) if critiques is not None else self._call_critiques
        tokens, vec = self.inputs(histories, critiques)
        device = self.device()
        with torch.no_grad():
            h = self.module(tokens.to(device), critiques=None if vec is None else vec.to(device))[:, -1]
            return self.module.item_logits(h).float().cpu().numpy()

    def align_loss(self, items=None, text_items=None) -> float:
        """The ID-text InfoNCE (module docstring) over ``items`` (default: all), pairing E_id[items[j]]
        with W t[text_items[j]] (default: the same items, the true pairs)."""
        import torch

        self.check_fitted()
        items = np.arange(self.n_items) if items is None else np.asarray(items)
        text_items = items if text_items is None else np.asarray(text_items)
        device = self.device()
        with torch.no_grad():
            return float(self.module.items.align_loss(torch.as_tensor(items, device=device),
                                                      torch.as_tensor(text_items, device=device)))

    # ------------------------------------------------------------------ narratives (REGEN's hybrid)
    def narrate(self, histories, items) -> list[str]:
        """One narrative per (history, recommended item), written by the attached ``narrator``."""
        if self.narrator is None:
            raise ValueError("no narrator attached: set model.narrator to an object with write(histories, items) "
                             "(e.g. the narrator of llmrec_mini.regen)")
        return self.narrator.write(histories, items)

    # ------------------------------------------------------------------ checkpoints
    def save_extra(self, path: Path) -> None:
        np.save(path / "text.npy", self.text_embeddings)
        if self.critique_table is not None:
            (path / "critiques.json").write_text(json.dumps(self.critique_texts))
            np.save(path / "critique_vectors.npy", self.critique_table[1:])

    def load_extra(self, path: Path, catalog=None) -> None:
        from .base import CheckpointError

        if not (path / "text.npy").is_file():
            raise CheckpointError(f"{path} has no text.npy (FLARE's item text embeddings)")
        self.text_embeddings = np.load(path / "text.npy")
        if self.config.use_critiques:
            if not (path / "critiques.json").is_file():
                raise CheckpointError(f"{path} has no critiques.json (a FLARE model trained with critiques)")
            self._set_critiques(json.loads((path / "critiques.json").read_text()),
                                np.load(path / "critique_vectors.npy"))
