"""Ranking metrics over the full catalog, one held-out target per user.

With one target per user and its 1-based rank r in the model's ranking of the *whole* catalog
(never a sample of negatives):

* Recall@K = HR@K = 1[r <= K]
* NDCG@K   = 1[r <= K] / log2(r + 1)      (the ideal DCG is 1: one relevant item)
* MRR@K    = 1[r <= K] / r

averaged over users. Ranks come from a top-K list (`rank_in_topk`), so generative models that only
produce K items are scored exactly like models that score every item. Whether items already in the
user's history are excluded from the ranking is decided by the caller (`evaluate.py`, default: excluded).

A ranker is also scored inside the lists a user was shown (`impression_metrics`: click and order AUC,
NDCG with graded gains), and generated text against references (`text_metrics`).
"""
from __future__ import annotations

import numpy as np


def rank_in_topk(topk: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of each target in its row of `topk` (B, K); 0 where the target is not in the list."""
    topk, targets = np.asarray(topk), np.asarray(targets)
    hit = topk == targets[:, None]
    return np.where(hit.any(1), hit.argmax(1) + 1, 0)


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    ranks = np.asarray(ranks)
    return float(np.mean((ranks > 0) & (ranks <= k))) if len(ranks) else 0.0


def ndcg_at_k(ranks: np.ndarray, k: int) -> float:
    ranks = np.asarray(ranks, dtype=float)
    hit = (ranks > 0) & (ranks <= k)
    return float(np.mean(np.where(hit, 1.0 / np.log2(np.where(hit, ranks, 1) + 1), 0.0))) if len(ranks) else 0.0


def mrr_at_k(ranks: np.ndarray, k: int) -> float:
    ranks = np.asarray(ranks, dtype=float)
    hit = (ranks > 0) & (ranks <= k)
    return float(np.mean(np.where(hit, 1.0 / np.where(hit, ranks, 1), 0.0))) if len(ranks) else 0.0


def coverage_at_k(topk: np.ndarray, n_items: int, k: int) -> float:
    """Share of the catalog that appears in at least one user's top-K (the -1 padding is no item)."""
    items = np.unique(np.asarray(topk)[:, :k])
    return int((items >= 0).sum()) / n_items if n_items else 0.0


def check_ks(ks) -> tuple[int, ...]:
    """The cut-offs as a tuple of positive ints; ValueError for anything else (0, -5, 2.5, [])."""
    ks = tuple(ks) if isinstance(ks, (list, tuple)) else (ks,)
    if not ks or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in ks):
        raise ValueError(f"cut-offs K must be positive integers, got {list(ks)}")
    return tuple(int(k) for k in ks)


def ranking_metrics(topk: np.ndarray, targets: np.ndarray, ks=(5, 10), n_items: int | None = None) -> dict:
    """All metrics for every K, named like `recall@10`."""
    ks = check_ks(ks)
    topk, targets = np.asarray(topk), np.asarray(targets)
    if topk.ndim != 2 or len(topk) != len(targets):
        raise ValueError(f"topk must be (users, K) with one row per target, got {topk.shape} for {len(targets)} targets")
    ranks = rank_in_topk(topk, targets)
    out = {}
    for k in ks:
        out[f"recall@{k}"] = recall_at_k(ranks, k)
        out[f"ndcg@{k}"] = ndcg_at_k(ranks, k)
        out[f"mrr@{k}"] = mrr_at_k(ranks, k)
        if n_items:
            out[f"coverage@{k}"] = coverage_at_k(topk, n_items, k)
    return out


# ---------------------------------------------------------------------------------------------- generated text
def impression_metrics(scores, clicks, orders) -> dict:
    """Ranking inside impression lists (rows): ``c_auc`` = mean per-list AUC of the clicks (lists with
    both clicked and unclicked items), ``o_auc`` the same for orders, ``ndcg`` = mean NDCG of the list
    with gains order 2 / click 1 / shown 0 (scikit-learn's ``roc_auc_score`` and ``ndcg_score``)."""
    from sklearn.metrics import ndcg_score, roc_auc_score

    scores, clicks, orders = (np.asarray(x) for x in (scores, clicks, orders))
    if scores.shape != clicks.shape or scores.shape != orders.shape or scores.ndim != 2:
        raise ValueError(f"scores, clicks and orders must be (lists, C) alike, got {scores.shape}, {clicks.shape}, "
                         f"{orders.shape}")
    out = {}
    for name, y in (("c_auc", clicks), ("o_auc", orders)):
        rows = [r for r in range(len(y)) if 0 < y[r].sum() < y.shape[1]]
        out[name] = float(np.mean([roc_auc_score(y[r], scores[r]) for r in rows])) if rows else float("nan")
    out["ndcg"] = float(ndcg_score(clicks.astype(float) + orders, scores)) if scores.shape[1] > 1 else 1.0
    return out


def text_metrics(hypotheses, references, encoder="auto") -> dict:
    """Narrative quality against reference texts (REGEN §5), one hypothesis per reference:

    * ``bleu``: corpus BLEU (0..100) by ``sacrebleu`` (its default 13a tokenisation, 4-grams);
    * ``rouge_l``: mean ROUGE-L F1 (0..1) by Google's ``rouge-score`` (longest common subsequence,
      Porter stemming);
    * ``similarity``: mean cosine between the sentence embeddings of each pair (``encoder`` of
      `llmrec_mini.text`: MiniLM when installed), which rewards the same meaning in other words.

    Overlap metrics reward template-like text: a narrator that copies the reference templates
    scores high without saying anything more (the notes show the numbers beside examples).
    """
    hypotheses, references = [str(h) for h in hypotheses], [str(r) for r in references]
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    if not hypotheses:
        raise ValueError("text_metrics needs at least one (hypothesis, reference) pair")
    try:
        import sacrebleu
        from rouge_score import rouge_scorer
    except ImportError as err:
        raise ImportError(f"text metrics need sacrebleu and rouge-score: pip install 'llmrec-mini[nlg]' ({err})") \
            from None
    from .text import get_encoder

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    rouge = [scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hypotheses, references)]
    enc = get_encoder(encoder)
    h_emb, r_emb = enc.encode(hypotheses, progress=False), enc.encode(references, progress=False)  # unit-norm rows
    return {"bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score), "rouge_l": float(np.mean(rouge)),
            "similarity": float(np.mean(np.sum(h_emb * r_emb, axis=1)))}
