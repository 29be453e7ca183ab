"""Attention masks shared by every model. Convention: a boolean mask where True means *blocked*
(PyTorch's `attn_mask` convention), shape (L, L) or (B, L, L), row = query, column = key."""
from __future__ import annotations


def causal_mask(length: int, device=None):
    """Query i may attend to keys j <= i (SASRec, decoder LMs)."""
    import torch

    return torch.triu(torch.ones(length, length, dtype=torch.bool, device=device), diagonal=1)


def causal_padding_mask(tokens, pad: int = 0):
    """(B, L, L) causal mask that also blocks padding keys; every query keeps itself, so no row is empty
    (an all-blocked row would give NaN in softmax attention)."""
    import torch

    b, length = tokens.shape
    blocked = causal_mask(length, tokens.device).unsqueeze(0) | (tokens == pad).unsqueeze(1)
    return blocked & ~torch.eye(length, dtype=torch.bool, device=tokens.device).unsqueeze(0)
