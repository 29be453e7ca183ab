"""SASRec: Self-Attentive Sequential Recommendation (Kang & McAuley, ICDM 2018, arXiv 1808.09781).

A causal Transformer over the item-id sequence. Position t sees items s_1..s_t (causal mask) and
predicts s_{t+1} by a dot product with the (shared) item embedding table:

    h_t = Transformer(E[s_1..s_t] + P[1..t])_t,      r_{t,i} = h_t . E_i

Two losses, because published baselines differ:

* ``loss="ce"`` (default): full-softmax cross-entropy over the whole catalog at every position
  (RecBole's SASRec; it scores much higher on Amazon than the paper's loss),
* ``loss="bce"``: the paper's binary cross-entropy with one uniformly sampled negative per position,
  -log s(r_pos) - log(1 - s(r_neg)) (the SASRec rows of the S3-Rec and TIGER tables).
"""
from __future__ import annotations

import math

import numpy as np

from ..attention import causal_padding_mask
from ..data.sequences import PAD, iterate_batches, pad_left, training_windows
from .base import TorchRecommender


def _module(n_items, d_model, n_layers, n_heads, max_len, dropout):
    import torch
    from torch import nn

    class SASRecModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.items = nn.Embedding(n_items + 1, d_model, padding_idx=PAD)  # token = item + 1
            self.positions = nn.Embedding(max_len, d_model)
            self.dropout = nn.Dropout(dropout)
            layer = nn.TransformerEncoderLayer(d_model, n_heads, 4 * d_model, dropout, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d_model)
            nn.init.normal_(self.items.weight, std=0.02)
            nn.init.normal_(self.positions.weight, std=0.02)

        def forward(self, tokens):  # (B, L) -> (B, L, D), L <= max_len, left-padded
            # positions count back from the most recent item, so a batch padded only to its own
            # longest sequence gives exactly the result of padding to max_len
            pos = torch.arange(max_len - tokens.shape[1], max_len, device=tokens.device)
            x = self.dropout(self.items(tokens) * math.sqrt(d_model) + self.positions(pos))
            mask = causal_padding_mask(tokens).repeat_interleave(n_heads, dim=0)  # (B*H, L, L)
            h = self.norm(self.encoder(x, mask=mask))
            return h * (tokens != PAD).unsqueeze(-1)

        def item_logits(self, h):  # (..., D) -> (..., n_items): r = h . E_i for real items
            return h @ self.items.weight[1:].T

    return SASRecModule()


class SASRec(TorchRecommender):
    name = "sasrec"

    @classmethod
    def defaults(cls) -> dict:
        return {"d_model": 64, "n_layers": 2, "n_heads": 2, "max_len": 50, "dropout": 0.2, "loss": "ce"}

    def build(self, n_items: int, catalog=None):
        p = self.params
        if p["loss"] not in ("ce", "bce"):
            raise ValueError("loss must be 'ce' or 'bce'")
        self.n_items = n_items
        self.module = _module(n_items, p["d_model"], p["n_layers"], p["n_heads"], p["max_len"], p["dropout"])
        return self.module

    def _loss(self, module, batch):
        import torch
        import torch.nn.functional as F

        tokens, targets = batch  # (B, L) inputs and next-item tokens, 0 = no target
        h = module(tokens)
        keep = targets != PAD
        h, pos = h[keep], targets[keep] - 1  # (N, D), item indices
        if self.params["loss"] == "ce":
            return F.cross_entropy(module.item_logits(h), pos)
        neg = torch.randint(0, self.n_items, pos.shape, device=pos.device)
        neg = torch.where(neg == pos, (neg + 1) % self.n_items, neg)  # never the positive itself
        emb = module.items.weight[1:]
        pos_logit, neg_logit = (h * emb[pos]).sum(-1), (h * emb[neg]).sum(-1)
        return F.binary_cross_entropy_with_logits(torch.cat([pos_logit, neg_logit]),
                                                  torch.cat([torch.ones_like(pos_logit), torch.zeros_like(neg_logit)]))

    def fit(self, split, catalog=None) -> "SASRec":
        import torch

        from ..train import train_model
        from ..utils import set_seed

        set_seed(self.train_config.seed)  # the initial weights are part of the seeded run
        self.build(split.n_items, catalog)
        windows = training_windows(split.train, self.params["max_len"])
        if not windows:
            raise ValueError("no training sequence has 2 or more items")
        cfg = self.train_config

        def make_batches(epoch):
            for idx in iterate_batches(len(windows), cfg.batch_size, seed=cfg.seed + epoch):
                w = [windows[i] for i in idx]
                length = max(len(x) for x in w) - 1  # pad to this batch's longest window only
                yield (torch.as_tensor(pad_left([x[:-1] for x in w], length)),
                       torch.as_tensor(pad_left([x[1:] for x in w], length)))

        self.result = train_model(self.module, make_batches, self._loss, cfg, validate=self.validation_fn(split),
                                  desc="SASRec")
        return self

    def score(self, histories, users=None) -> np.ndarray:
        import torch

        if self.module is None:
            raise RuntimeError("fit or load the model first")
        device = next(self.module.parameters()).device
        length = max(1, min(self.params["max_len"], max(len(h) for h in histories)))
        tokens = torch.as_tensor(pad_left(histories, length), device=device)
        with torch.no_grad():
            h = self.module(tokens)[:, -1]  # the most recent position (left padding)
            return self.module.item_logits(h).float().cpu().numpy()
