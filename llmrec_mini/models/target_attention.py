"""Full target attention: every candidate reads the user's whole history (DIN, HSTU), the baseline VISTA removes.

DIN (Zhou et al., KDD 2018, arXiv 1706.06978) and HSTU's target mask (Zhai et al., ICML 2024,
arXiv 2402.17152) let each candidate item attend over the history with its own query, so the user
representation is specific to the candidate::

    h_j = LN(e_j + r(N - 1 - j))                 history event j: item embedding + recency bucket
    e'_c = LN(e_c)
    o_c = Attn(q = W_q e'_c, K = W_k h, V = W_v h)   over the last ``max_history`` events
    r_c = (W_o o_c) . e'_c + b_c

with ``attention="softmax"`` (normalised weights, `attention.softmax_attention`) or ``"hstu"``
(SiLU weights divided by n = ``max_train_history``, the padded length as in HSTU's code,
`attention.hstu_attention`, which keeps track of how *many* events matched). Candidates never see each other: the mask is the candidate-isolated
T -> S block of `attention.candidate_isolated` (each row of the score matrix is one candidate's
query against the history only). The recency signal r is a learned embedding of
floor(log2(distance + 1)), so the most recent events are told apart and older ones share buckets.

Cost: O(C N d) per user for C candidates and N events; scoring the whole catalog against a
1,000-event history builds a C x N matrix per head. VISTA (`models/vista.py`) replaces the N events
by k cached summaries: O(C k d). Both train on the same examples (`vista.HistoryRecommender`):
here each drawn target reads the last ``max_train_history`` events before it, and inference reads
as many (``max_history=None``): recency buckets never seen in training would be untrained
embeddings, so reading further than training did gives garbage, not more memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import attention as A
from ..data.sequences import PAD, pad_left
from .vista import HistoryConfig, HistoryRecommender, item_embedding

N_RECENCY_BUCKETS = 24  # floor(log2(distance + 1)) for distances up to 2^24 events; farther ones share the last


@dataclass
class TargetAttentionConfig(HistoryConfig):
    attention: Literal["softmax", "hstu"] = "softmax"
    max_train_history: int = 256  # each training target reads this many events before it
    targets_per_user: int = 8  # C x N per target is the cost: fewer targets than VISTA's
    max_history: int | None = None  # events read at inference (None: max_train_history, what training saw)
    eval_batch_size: int = 16  # users scored at once (a C x N matrix per user and head)


def _module(n_items: int, c: TargetAttentionConfig, item_category=None):
    import torch
    import torch.nn.functional as F
    from torch import nn

    d, h = c.d_model, c.n_heads

    class TargetAttentionModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.items = item_embedding(n_items, d, item_category)
            self.item_bias = nn.Parameter(torch.zeros(n_items))
            self.recency = nn.Embedding(N_RECENCY_BUCKETS, d)
            self.norm, self.cand_norm = nn.LayerNorm(d), nn.LayerNorm(d)
            self.q, self.kv, self.out = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)
            self.drop = nn.Dropout(c.dropout)
            nn.init.normal_(self.recency.weight, std=0.02)

        def score_items(self, tokens, items=None):
            """Scores (B, C) of items (None: the catalog) for left-padded histories (B, L); O(B C L d)."""
            B, L = tokens.shape
            dist = torch.arange(L - 1, -1, -1, device=tokens.device)
            bucket = torch.log2(dist.float() + 1).floor().long().clamp_max(N_RECENCY_BUCKETS - 1)
            hist = self.drop(self.norm(self.items(tokens) + self.recency(bucket)))  # (B, L, d)
            ks, vs = self.kv(hist).view(B, L, 2, h, d // h).permute(2, 0, 3, 1, 4)  # (B, h, L, d/h) each
            e = self.cand_norm(self.items.table() if items is None else self.items(items + 1))  # (C, d)
            C = e.shape[0]
            q = self.q(e).view(C, h, d // h).transpose(0, 1).expand(B, h, C, d // h)
            real = (tokens != PAD)[:, None, None, :].expand(B, 1, C, L)  # T -> S only; padding blocked
            if c.attention == "softmax":
                o = A.softmax_attention(q, ks, vs, real)  # (B, h, C, d/h)
            else:
                o = A.hstu_attention(q, ks, vs, real, n=c.max_train_history)  # HSTU: n = the padded length
            back = (e @ self.out.weight).view(C, h, d // h).transpose(0, 1)  # r_c = o_c . (W_o^T e_c) + ...
            bias = self.item_bias if items is None else self.item_bias[items]
            return (o * back).sum((1, 3)) + e @ self.out.bias + bias

        def forward(self, tokens, targets=None):
            scores = self.score_items(tokens)
            return scores if targets is None else F.cross_entropy(scores, targets)

    return TargetAttentionModule()


class TargetAttention(HistoryRecommender):
    """Full target attention over the (capped) history, trained on VISTA's examples."""

    name = "target-attention"
    description = "target attention (DIN/HSTU): every candidate attends over the user's whole history, O(C N d)"
    Config = TargetAttentionConfig
    generates_candidates = False  # a ranking-stage model: its cost is per candidate of a given set
    train_defaults = {"epochs": 20, "lr": 3e-3, "batch_size": 8, "patience": 4, "val_users": 500,
                      "schedule": "cosine"}
    presets = {
        "tiny": {"d_model": 16, "n_heads": 1, "max_train_history": 32, "targets_per_user": 4, "epochs": 1,
                 "val_users": 50, "max_history": 64},  # smoke size
        "cpu": {"d_model": 64, "max_train_history": 512, "targets_per_user": 16, "epochs": 30, "validate": False,
                "max_minutes": 20},
        # HSTU's pointwise (SiLU) attention instead of softmax
        "hstu": {"attention": "hstu"},
    }
    published = ()

    def build(self):
        return _module(self.n_items, self.config, self.item_category)

    def collate(self, examples):
        """One row per drawn target: the last ``max_train_history`` events before it, left-padded."""
        import torch

        cap, rows, targets = self.config.max_train_history, [], []
        for window, offsets, tg in self.draw_targets(examples):
            rows.extend(window[max(0, o - cap):o] for o in offsets.tolist())
            targets.extend(tg.tolist())
        tokens = pad_left(rows, max(1, max(len(r) for r in rows)))
        return torch.as_tensor(tokens), torch.as_tensor(np.array(targets, dtype=np.int64))

    def loss(self, module, batch):
        tokens, targets = batch
        return module(tokens, targets)

    def _score_batch(self, histories, users) -> np.ndarray:
        limit = self.config.max_history or self.config.max_train_history
        return self.module.score_items(self.tokens(histories, limit)).float().cpu().numpy()


__all__ = ["TargetAttention", "TargetAttentionConfig"]
