"""SASRec: Self-Attentive Sequential Recommendation (Kang & McAuley, ICDM 2018, arXiv 1808.09781).

A causal Transformer over the item-id sequence. Position t sees items s_1..s_t (causal mask) and
predicts s_{t+1} by a dot product with the (shared) item embedding table:

    h_t = Transformer(E[s_1..s_t] + P[1..t])_t,      r_{t,i} = h_t . E_i

Two losses, because published baselines differ:

* ``loss="ce"`` (default): full-softmax cross-entropy over the whole catalog at every position
  (RecBole's SASRec; it scores much higher on Amazon than the paper's loss),
* ``loss="bce"``: the paper's binary cross-entropy with one uniformly sampled negative per position,
  -log s(r_pos) - log(1 - s(r_neg)) (the SASRec rows of the S3-Rec and TIGER tables).

Training examples are windows of at most ``max_len + 1`` items (`data.sequences.training_windows`):
inputs w[:-1], next-item targets w[1:], so every training transition is used once per epoch.
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
    dropout: float = 0.2
    loss: Literal["ce", "bce"] = "ce"

    def check(self) -> None:
        for name in ("d_model", "n_layers", "n_heads", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def _module(n_items: int, c: SASRecConfig):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class SASRecModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.items = nn.Embedding(n_items + 1, c.d_model, padding_idx=PAD)  # token = item + 1
            self.positions = nn.Embedding(c.max_len, c.d_model)
            self.dropout = nn.Dropout(c.dropout)
            layer = nn.TransformerEncoderLayer(c.d_model, c.n_heads, 4 * c.d_model, c.dropout, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(c.d_model)
            nn.init.normal_(self.items.weight, std=0.02)
            nn.init.normal_(self.positions.weight, std=0.02)

        def encode(self, tokens):  # (B, L) -> (B, L, D), L <= max_len, left-padded
            # positions count back from the most recent item, so a batch padded only to its own
            # longest sequence gives exactly the result of padding to max_len
            pos = torch.arange(c.max_len - tokens.shape[1], c.max_len, device=tokens.device)
            x = self.dropout(self.items(tokens) * math.sqrt(c.d_model) + self.positions(pos))
            mask = causal_padding_mask(tokens).repeat_interleave(c.n_heads, dim=0)  # (B*H, L, L)
            h = self.norm(self.encoder(x, mask=mask))
            return h * (tokens != PAD).unsqueeze(-1)

        def item_logits(self, h):  # (..., D) -> (..., n_items): r = h . E_i for real items
            return h @ self.items.weight[1:].T

        def forward(self, tokens, targets=None):
            """Hidden states, or with next-item ``targets`` (token ids, 0 = none) the training loss."""
            h = self.encode(tokens)
            if targets is None:
                return h
            keep = targets != PAD
            h, pos = h[keep], targets[keep] - 1  # (N, D), item indices
            if c.loss == "ce":
                return F.cross_entropy(self.item_logits(h), pos)
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
    presets = {
        "tiny": {"d_model": 16, "n_layers": 1, "n_heads": 1, "epochs": 1, "val_users": 50},  # smoke size (tests)
        # the settings of the real-data benchmarks (docs/reproduction.md): heavier dropout, long patience
        "bench": {"epochs": 200, "patience": 10, "dropout": 0.5, "max_len": 50, "batch_size": 128, "lr": 1e-3},
        # the paper's loss with our sizes (TIGER's and S3-Rec's SASRec baseline rows)
        "paper": {"loss": "bce", "epochs": 200, "patience": 10, "dropout": 0.5, "max_len": 50, "batch_size": 128,
                  "lr": 1e-3},
    }
    published = (
        Published("amazon-beauty", "SASRec (TIGER Tab. 1, BCE)", "Rajput et al., NeurIPS 2023, Table 1",
                  {"recall@5": .0387, "ndcg@5": .0249, "recall@10": .0605, "ndcg@10": .0318}),
    )

    def build(self):
        return _module(self.n_items, self.config)

    def examples(self, split):
        return training_windows(split.train, self.config.max_len)

    def collate(self, windows):
        import torch

        length = max(len(w) for w in windows) - 1  # pad to this batch's longest window only
        return (torch.as_tensor(pad_left([w[:-1] for w in windows], length)),
                torch.as_tensor(pad_left([w[1:] for w in windows], length)))

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
