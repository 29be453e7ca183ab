"""One evaluation harness for every recommender.

`evaluate(recommender, split, ks=(5, 10))` asks the recommender for its top-max(K) items for every
held-out user (`split.test`, or `split.valid` with ``on="valid"``) and scores them with the
full-catalog metrics of `metrics.py`, returning a one-row table. `compare` stacks several.

**Already-seen items.** By default (``exclude_seen=True``) items in the user's history are removed
from the ranking before the top-K is taken, as in S3-Rec's and TIGER's full-ranking protocol; this
is right for data without repeat consumption (Beauty, MovieLens ratings, the built-in data). RecBole
does not exclude them; pass ``exclude_seen=False`` to match it.
"""
from __future__ import annotations

import time

import numpy as np

from .metrics import ranking_metrics


def evaluate_metrics(recommender, evalset, ks=(5, 10), exclude_seen: bool = True, batch_size: int = 512,
                     n_items: int | None = None, progress: bool = False) -> dict:
    """Metrics (dict) of `recommender` on an EvalSet."""
    from tqdm import tqdm

    if len(evalset) == 0:
        raise ValueError("the evaluation set is empty (are all user sequences shorter than 3?)")
    kmax = max(ks)
    tops = []
    for i in tqdm(range(0, len(evalset), batch_size), desc=f"evaluate {getattr(recommender, 'name', '')}",
                  disable=not progress, unit="batch"):
        items, _ = recommender.recommend(evalset.histories[i:i + batch_size], k=kmax, exclude_seen=exclude_seen,
                                         users=evalset.users[i:i + batch_size])
        items = np.asarray(items)
        if items.shape[1] < kmax:  # a generator may return fewer than K valid items: pad with "no item"
            items = np.pad(items, ((0, 0), (0, kmax - items.shape[1])), constant_values=-1)
        tops.append(items)
    return ranking_metrics(np.concatenate(tops), evalset.targets, ks=ks, n_items=n_items)


def evaluate(recommender, split, ks=(5, 10), on: str = "test", exclude_seen: bool = True,
             batch_size: int = 512, max_users: int | None = None, progress: bool = True, name: str | None = None):
    """A one-row DataFrame: model, users, recall@K, ndcg@K, mrr@K, coverage@K for each K, seconds."""
    import pandas as pd

    if on not in ("test", "valid"):
        raise ValueError("on must be 'test' or 'valid'")
    evalset = getattr(split, on)
    if max_users:
        evalset = evalset.subset(max_users)
    t0 = time.time()
    row = evaluate_metrics(recommender, evalset, ks=ks, exclude_seen=exclude_seen, batch_size=batch_size,
                           n_items=split.n_items, progress=progress)
    row = {"model": name or getattr(recommender, "name", type(recommender).__name__), "users": len(evalset),
           **row, "eval_seconds": round(time.time() - t0, 2)}
    return pd.DataFrame([row]).set_index("model")


def compare(recommenders: dict, split, **kwargs):
    """Evaluate several recommenders ({name: model}) the same way; one row each."""
    import pandas as pd

    return pd.concat([evaluate(m, split, name=n, **kwargs) for n, m in recommenders.items()])
