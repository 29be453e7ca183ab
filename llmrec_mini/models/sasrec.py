"""SASRec: Self-Attentive Sequential Recommendation (Kang & McAuley, ICDM 2018, arXiv 1808.09781).

A causal Transformer over the item-id sequence. Position t sees items s_1..s_t (causal mask) and
predicts s_{t+1} by a dot product with the (shared) item embedding table:

    h_t = Transformer(E[s_1..s_t] + P[1..t])_t,      r_{t,i} = h_t . E_i

Two losses, because published baselines differ:

* ``loss="ce"`` (default): full-softmax cross-entropy over the whole catalog at every position
  (RecBole's SASRec; it scores much higher on Amazon than the paper's loss),
* ``loss="bce"``: the paper's binary cross-entropy with one uniformly sampled negative per position,
  -log s(r_pos) - log(1 - s(r_neg)) (the SASRec rows of the S3-Rec and TIGER tables).

Training examples are windows of at most ``max_len + 1`` items (`data.sequences.training_windows`),
inputs w[:-1] and next-item targets w[1:]. By default a window starts every ``max_len / 2`` items
and trains on its last ``max_len / 2`` targets, so every transition is used once per epoch and sees
at least ``max_len / 2`` earlier items, as at test time, where the model reads the last ``max_len``
(``window_stride = max_len``: plain windows, half the compute, more targets with a short context).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..attention import causal_padding_mask
from ..config import Settings
from ..data.sequences import PAD, pad_left, training_windows
from .base import TorchRecommender
from .contract import Published


@dataclass
class SASRecConfig(Settings):
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    max_len: int = 50  # the most recent items the model reads
    window_stride: int | None = None  # a training window every this many items (None: max_len // 2; see above)
    dropout: float = 0.2  # on embeddings, after attention and in the feed-forward block
    attn_dropout: float = 0.2  # on the attention weights
    loss: Literal["ce", "bce"] = "ce"
    label_smoothing: float = 0.0  # ce only: the target gets 1 - eps, the other items share eps

    def check(self) -> None:
        for name in ("d_model", "n_layers", "n_heads", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.window_stride is not None and not 1 <= self.window_stride <= self.max_len:
            raise ValueError(f"window_stride must be in [1, max_len={self.max_len}], got {self.window_stride}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        for name in ("dropout", "attn_dropout", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")


def _module(n_items: int, c: SASRecConfig):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class FastDropout(nn.Dropout):
        """Inverted dropout whose mask comes from ``torch.rand`` (on a CPU, ``bernoulli_``, which
        ``nn.Dropout`` uses, costs about as much as the whole rest of a SASRec training step)."""

        def forward(self, x):
            if not self.training or self.p == 0:
                return x
            return x * ((torch.rand_like(x) >= self.p) * (1.0 / (1 - self.p)))

    class SelfAttention(nn.MultiheadAttention):
        """nn.MultiheadAttention whose dropout on the attention weights uses FastDropout's mask while
        training (softmax(QK^T / sqrt(d_h) + mask) V, per head); inference is the parent's, unchanged."""

        def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                    average_attn_weights=True, is_causal=False):
            if not self.training or self.dropout == 0:
                return super().forward(query, key, value, key_padding_mask=key_padding_mask, need_weights=need_weights,
                                       attn_mask=attn_mask, average_attn_weights=average_attn_weights,
                                       is_causal=is_causal)
            (b, length, d), h = query.shape, self.num_heads
            q, k, v = (t.view(b, length, h, d // h).transpose(1, 2)
                       for t in F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1))
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // h)  # (B, H, L, L)
            mask = attn_mask.view(b, h, length, length)  # the encoder hands it over as 0 / -inf floats
            scores = scores.masked_fill(mask, -torch.inf) if mask.dtype == torch.bool else scores + mask
            weights = self.attn_dropout(torch.softmax(scores, dim=-1))
            return self.out_proj((weights @ v).transpose(1, 2).reshape(b, length, d)), None

    class SASRecModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.items = nn.Embedding(n_items + 1, c.d_model, padding_idx=PAD)  # token = item + 1
            self.positions = nn.Embedding(c.max_len, c.d_model)
            self.dropout = FastDropout(c.dropout)
            layer = nn.TransformerEncoderLayer(c.d_model, c.n_heads, 4 * c.d_model, c.dropout, activation="gelu",
                                               batch_first=True, norm_first=True)
            layer.dropout, layer.dropout1, layer.dropout2 = (FastDropout(c.dropout) for _ in range(3))
            layer.self_attn = SelfAttention(c.d_model, c.n_heads, dropout=c.attn_dropout, batch_first=True)
            layer.self_attn.attn_dropout = FastDropout(c.attn_dropout)
            self.encoder = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(c.d_model)
            nn.init.normal_(self.items.weight, std=0.02)
            nn.init.normal_(self.positions.weight, std=0.02)

        def encode(self, tokens, extra=None):  # (B, L) -> (B, L, D), L <= max_len, left-padded
            # positions count back from the most recent item, so a batch padded only to its own
            # longest sequence gives exactly the result of padding to max_len
            pos = torch.arange(c.max_len - tokens.shape[1], c.max_len, device=tokens.device)
            x = self.items(tokens) * math.sqrt(c.d_model) + self.positions(pos)
            if extra is not None:  # (B, L, D) more input per position (FLARE adds its critiques here)
                x = x + extra
            x = self.dropout(x)
            mask = causal_padding_mask(tokens).repeat_interleave(c.n_heads, dim=0)  # (B*H, L, L)
            h = self.norm(self.encoder(x, mask=mask))
            return h * (tokens != PAD).unsqueeze(-1)

        def item_logits(self, h):  # (..., D) -> (..., n_items): r = h . E_i for real items
            return h @ self.items.weight[1:].T

        def forward(self, tokens, targets=None, extra=None, adapt=None):
            """Hidden states, or with next-item ``targets`` (token ids, 0 = none) the training loss;
            ``adapt`` (B, L, D) -> (B, L, D) changes the states first (adaptive user layers)."""
            h = self.encode(tokens, extra)
            if adapt is not None:
                h = adapt(h)
            if targets is None:
                return h
            keep = targets != PAD
            h, pos = h[keep], targets[keep] - 1  # (N, D), item indices
            if c.loss == "ce":
                return F.cross_entropy(self.item_logits(h), pos, label_smoothing=c.label_smoothing)
            neg = torch.randint(0, n_items, pos.shape, device=pos.device)
            neg = torch.where(neg == pos, (neg + 1) % n_items, neg)  # never the positive itself
            emb = self.items.weight[1:]
            logits = torch.cat([(h * emb[pos]).sum(-1), (h * emb[neg]).sum(-1)])
            labels = torch.cat([torch.ones(len(pos), device=h.device), torch.zeros(len(neg), device=h.device)])
            return F.binary_cross_entropy_with_logits(logits, labels)

    return SASRecModule()


class SASRec(TorchRecommender):
    name = "sasrec"
    description = "SASRec: a causal Transformer over item ids, next-item softmax (CE) or sampled BCE"
    Config = SASRecConfig
    # 30 epochs on a cosine schedule, the best validation epoch kept: on ML-100K this matches RecBole's
    # SASRec in about 2 minutes on 2 CPU cores (docs/reproduction.md, benchmark ml-100k-speed)
    train_defaults = {"epochs": 30, "lr": 4e-3, "schedule": "cosine", "patience": None}
    presets = {
        "tiny": {"d_model": 16, "n_layers": 1, "n_heads": 1, "epochs": 1, "val_users": 50},  # smoke size (tests)
        # the settings of the real-data benchmarks (docs/reproduction.md): heavier dropout, long patience
        "bench": {"epochs": 200, "patience": 10, "dropout": 0.5, "attn_dropout": 0.5, "max_len": 50, "window_stride": 50,
                  "batch_size": 128, "lr": 1e-3, "schedule": "constant"},
        # the paper's loss with our sizes (TIGER's and S3-Rec's SASRec baseline rows)
        "paper": {"loss": "bce", "epochs": 200, "patience": 10, "dropout": 0.5, "attn_dropout": 0.5, "max_len": 50,
                  "window_stride": 50, "batch_size": 128, "lr": 1e-3, "schedule": "constant"},
    }
    published = (
        Published("amazon-beauty", "SASRec (TIGER Tab. 1, BCE)", "Rajput et al., NeurIPS 2023, Table 1",
                  {"recall@5": .0387, "ndcg@5": .0249, "recall@10": .0605, "ndcg@10": .0318}),
    )

    def build(self):
        return _module(self.n_items, self.config)

    def examples(self, split):
        c = self.config
        return training_windows(split.train, c.max_len, c.window_stride or max(1, c.max_len // 2))

    def collate(self, examples):
        import torch

        length = max(len(w) for w, _ in examples) - 1  # pad to this batch's longest window only
        targets = pad_left([w[1:] for w, _ in examples], length)
        for row, (w, n) in zip(targets, examples):
            row[:length - n] = PAD  # only the last n targets of a window are trained on
        return torch.as_tensor(pad_left([w[:-1] for w, _ in examples], length)), torch.as_tensor(targets)

    def loss(self, module, batch):
        tokens, targets = batch  # (B, L) inputs and next-item tokens, 0 = no target
        return module(tokens, targets)

    def score(self, histories, users=None) -> np.ndarray:
        import torch

        self.check_fitted()
        length = max(1, min(self.config.max_len, max((len(h) for h in histories), default=1)))
        tokens = torch.as_tensor(pad_left(histories, length), device=self.device())
        with torch.no_grad():
            h = self.module(tokens)[:, -1]  # the most recent position (left padding)
            return self.module.item_logits(h).float().cpu().numpy()

    def attention_weights(self, history) -> np.ndarray:
        """The softmax attention weights of every layer and head when the model reads ``history``.

        Returns a float array (n_layers, n_heads, L, L) over the last L = min(len(history), max_len)
        items, as `score` reads them (no padding): row = query position, column = key position,
        oldest first. Each row sums to 1 and is zero above the diagonal (the causal mask).

        The model's own forward pass runs (eval mode, no gradient); a hook on each encoder layer
        takes the layer's input and mask and asks its attention module for the per-head weights
        (``need_weights=True``) of the same pre-norm input the layer attends over.
        """
        import torch

        self.check_fitted()
        history = self.check_history(history)
        module = self.module
        tokens = torch.as_tensor(pad_left([history], min(len(history), self.config.max_len)), device=self.device())
        weights = []

        def grab(layer, args, kwargs):
            x = layer.norm1(args[0]) if layer.norm_first else args[0]
            _, w = layer.self_attn(x, x, x, attn_mask=kwargs.get("src_mask"), need_weights=True,
                                   average_attn_weights=False)  # (B, H, L, L)
            weights.append(w[0].float().cpu().numpy())

        hooks = [layer.register_forward_pre_hook(grab, with_kwargs=True) for layer in module.encoder.layers]
        was_training = module.training
        try:
            module.eval()
            with torch.no_grad():
                module.encode(tokens)
        finally:
            for hook in hooks:
                hook.remove()
            module.train(was_training)
        return np.stack(weights)
