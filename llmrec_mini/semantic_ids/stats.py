"""Statistics of a set of codes: how much of each codebook is used and how often IDs collide.

Used by the quantizers while they train (RQ-VAE logs them per epoch) and by `build_semantic_ids`
for the final report, so they live apart from both.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def level_stats(codes: np.ndarray, codebook_sizes: Sequence[int]) -> dict:
    """Per level: share of the codebook used, entropy (bits) and perplexity (2^entropy) of code use."""
    usage, entropy, perplexity = [], [], []
    for d, k in enumerate(codebook_sizes):
        p = np.bincount(codes[:, d], minlength=k) / max(1, len(codes))
        h = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
        usage.append(float((p > 0).mean()))
        entropy.append(h)
        perplexity.append(float(2.0**h))
    return {"usage": usage, "entropy_bits": entropy, "perplexity": perplexity}


def collision_stats(codes: np.ndarray) -> dict:
    """unique_rate = distinct tuples / items; collision_rate = share of items whose tuple is shared."""
    _, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    group = counts[inverse.reshape(-1)]
    return {"unique_rate": float(len(counts) / max(1, len(codes))), "collision_rate": float((group > 1).mean()),
            "max_collision": int(counts.max()) if len(counts) else 0}


def sid_report(named: dict) -> list[dict]:
    """One row per named `SemanticIDs` (e.g. {"SID-v1": v1, "SID-v2": v2}): codebook sizes, codebook
    usage, and how unique the IDs are before the collision token (PLUM's "SID uniqueness")."""
    rows = []
    for name, sids in named.items():
        raw = sids.codes[:, :-1]  # without the collision token
        rows.append({"ids": name, "method": sids.method, "codebook_sizes": list(sids.codebook_sizes[:-1]),
                     "usage": [round(u, 3) for u in level_stats(raw, sids.codebook_sizes[:-1])["usage"]],
                     **collision_stats(raw)})
    return rows
