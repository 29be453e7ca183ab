"""One evaluation harness for every recommender.

`evaluate(recommender, split, ks=(5, 10))` asks the recommender for its top-max(K) items for every
held-out user (`split.test`, or `split.valid` with ``on="valid"``) and scores them with the
full-catalog metrics of `metrics.py`, returning a one-row table. `compare` stacks several. Every
model is asked the same way (the same histories, users, K and protocol); what differs is only what
it reports besides items: per-row ``extras`` of its `Recommendations` that are numbers (TIGER's
share of invalid generated IDs, ``invalid``) become columns (``invalid@10``), averaged over users.

**Already-seen items.** By default (``exclude_seen=True``) items in the user's history are removed
from the ranking before the top-K is taken, as in S3-Rec's and TIGER's full-ranking protocol; this
is right for data without repeat consumption (Beauty, MovieLens ratings, the built-in data). RecBole
does not exclude them; pass ``exclude_seen=False`` to match it (models whose capabilities say
``keeps_seen``).
"""
from __future__ import annotations

import time

import numpy as np

from .metrics import check_ks, ranking_metrics


def evaluate_metrics(recommender, evalset, ks=(5, 10), exclude_seen: bool = True, batch_size: int = 512,
                     n_items: int | None = None, progress: bool = False, per_row: dict | None = None,
                     **options) -> dict:
    """Metrics (dict) of `recommender` on an EvalSet; ``options`` go to ``recommend`` (e.g. decoding),
    and so do ``per_row`` options, one value per row of the set, cut into the same batches (e.g.
    ``per_row={"critiques": regen.target_critiques(split.test)}``)."""
    from tqdm import tqdm

    from .models.contract import Recommendations

    ks = check_ks(ks)
    if len(evalset) == 0:
        raise ValueError("the evaluation set is empty (are all user sequences shorter than 3?)")
    if n_items is not None and getattr(recommender, "check_data", None):
        recommender.check_data(n_items)
    per_row = per_row or {}
    for key, values in per_row.items():
        if len(values) != len(evalset):
            raise ValueError(f"per_row[{key!r}] has {len(values)} values for {len(evalset)} rows")
    kmax, parts = max(ks), []
    batches = range(0, len(evalset), batch_size)
    for i in tqdm(batches, desc=f"evaluate {getattr(recommender, 'name', '')}", disable=not progress, unit="batch",
                  delay=2):  # shown only when evaluation takes longer than 2 s
        rec = recommender.recommend(evalset.histories[i:i + batch_size], k=kmax, exclude_seen=exclude_seen,
                                    users=evalset.users[i:i + batch_size], **options,
                                    **{key: list(v[i:i + batch_size]) for key, v in per_row.items()})
        parts.append(rec if isinstance(rec, Recommendations) else Recommendations(*rec))
    recs = Recommendations.concat(parts)
    if recs.items.shape[1] < kmax:  # a model may return fewer than K items: pad with "no item"
        recs = Recommendations(np.pad(recs.items, ((0, 0), (0, kmax - recs.items.shape[1])), constant_values=-1),
                               np.pad(recs.scores, ((0, 0), (0, kmax - recs.scores.shape[1])),
                                      constant_values=-np.inf), recs.extras)
    if np.isnan(recs.scores).any():
        raise ValueError(f"{getattr(recommender, 'name', 'the model')} returned NaN scores; refusing to score them")
    out = ranking_metrics(recs.items, evalset.targets, ks=ks, n_items=n_items)
    for name, value in recs.extras.items():  # numeric per-row extras: averaged over users
        if isinstance(value, np.ndarray) and value.ndim == 1 and np.issubdtype(value.dtype, np.number):
            out[f"{name}@{kmax}"] = float(value.mean())
    return out


def evaluate(recommender, split, ks=(5, 10), on: str = "test", exclude_seen: bool = True,
             batch_size: int = 512, max_users: int | None = None, progress: bool = True, name: str | None = None,
             **options):
    """A one-row DataFrame: model, users, recall@K, ndcg@K, mrr@K, coverage@K for each K, extras, seconds."""
    import pandas as pd

    if on not in ("test", "valid"):
        raise ValueError("on must be 'test' or 'valid'")
    evalset = getattr(split, on)
    if max_users:
        evalset = evalset.subset(max_users)
    t0 = time.time()
    row = evaluate_metrics(recommender, evalset, ks=ks, exclude_seen=exclude_seen, batch_size=batch_size,
                           n_items=split.n_items, progress=progress, **options)
    row = {"model": name or getattr(recommender, "name", type(recommender).__name__), "users": len(evalset),
           **row, "eval_seconds": round(time.time() - t0, 2)}
    return pd.DataFrame([row]).set_index("model")


def compare(recommenders: dict, split, **kwargs):
    """Evaluate several recommenders ({name: model}) the same way; one row each."""
    import pandas as pd

    return pd.concat([evaluate(m, split, name=n, **kwargs) for n, m in recommenders.items()])
