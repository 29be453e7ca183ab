"""Every candidate generator of the package on the same data, through the one evaluation harness.

`compare(split, catalog)` trains each registered model whose class says ``generates_candidates``
(`candidate_generators`) with the small settings of `SETTINGS`, then asks it for the top-10 items
of the same held-out users (`evaluate.evaluate_metrics`, seen items excluded) and returns one row
per model:

* ``recall@10``, ``ndcg@10``: the shared full-catalog metrics (`llmrec_mini.metrics`);
* ``coverage@10``: the share of catalog items in at least one user's top 10
  (`metrics.coverage_at_k`): a model that sends everyone the same items covers little;
* ``invalid@10``: the share of generated IDs that name no item, for models that report it
  (generative retrieval: TIGER, PLUM, ...); NaN for models that cannot produce one;
* ``train_s``: wall-clock seconds of ``fit`` (every stage: semantic IDs, LM pre-training, the loop);
* ``latency_ms``: inference time per user, the median over the evaluation batches of
  (seconds of that batch's ``recommend`` call) / (users in the batch), measured on the very calls
  that produce the metrics;
* ``params_total`` / ``params_trainable``: the torch module's parameters (all / those with
  ``requires_grad``); 0 for count models, which learn statistics, not parameters;
* ``model_mb``: bytes the fitted model holds, in MB (10^6 bytes): its module's parameters and
  buffers plus the numpy arrays stored on the model object (count tables, semantic-ID tables);
* ``peak_rss_mb``: how far the process's resident memory rose above its level before ``fit``, at
  its highest during ``fit``, sampled every 10 ms by a thread (`psutil` when installed, else
  ``VmRSS`` of /proc/self/status). It includes activations, optimizer state and temporary
  arrays, and reads 0 when fit reuses memory freed earlier: an indication, not an exact bill.

`QUALITATIVE` describes each generator in words (cold start, index needed, invalid IDs, what it
explains, cost), from the surveys' synthesis (Wu et al. arXiv 2305.19860; Lin et al. arXiv
2306.05817) and each method's paper.
"""
from __future__ import annotations

import sys
import threading
import time

import numpy as np

from .models.base import parameter_counts

# Per-model settings for a comparison that trains every generator in minutes on 2 CPU cores: each
# model's "tiny" preset, with more epochs (and a wider model) where that pays; ``quick=True`` keeps
# only the preset (seconds per model). The settings of `compare(settings=...)` go on top.
SETTINGS: dict[str, dict] = {
    "popularity": {},
    "revisit-counts": {},
    "sasrec": {"preset": "tiny", "d_model": 32, "epochs": 10, "val_users": 200, "patience": 3},
    "flare": {"preset": "tiny", "d_model": 32, "epochs": 10, "val_users": 200, "patience": 3,
              "embedding_cache": False},
    "tiger": {"preset": "tiny", "d_model": 32, "d_kv": 16, "d_ff": 64, "codebook_size": 16, "rqvae_epochs": 10,
              "epochs": 5, "val_users": 100, "patience": 3},
    "plum": {"preset": "tiny", "val_users": 50},
    "lumen": {"preset": "tiny", "val_users": 50},
    "onerec_think": {"preset": "tiny", "val_users": 50},
    "linkedin": {"preset": "tiny", "epochs": 3, "val_users": 100},
    "recgpt": {"preset": "tiny", "d_model": 32, "epochs": 6, "val_users": 200},
    "onepiece": {"preset": "tiny", "d_model": 32, "epochs": 3, "val_users": 200},
    "sasrec-adaptive": {"preset": "tiny", "epochs": 10, "val_users": 200, "patience": 3},
}

# name -> (cold start, index needed, invalid IDs possible, interpretability, cost): own words, from the
# surveys' synthesis table (research notes, methods_part2 §7) and each method's paper.
QUALITY_FIELDS = ("cold start", "index needed", "invalid IDs", "interpretability", "cost")
QUALITATIVE: dict[str, dict[str, str]] = {
    "popularity": {
        "cold start": "new users get the bestsellers; new items are never shown until they sell",
        "index needed": "no: one sorted list",
        "invalid IDs": "no",
        "interpretability": "complete: 'most bought'",
        "cost": "a count per item; serving is a lookup",
    },
    "revisit-counts": {
        "cold start": "new users: popularity; new items have no transitions until observed",
        "index needed": "no: a sparse transition table",
        "invalid IDs": "no",
        "interpretability": "high: 'people who bought X next bought Y'",
        "cost": "one pass over the log; memory grows with observed item pairs",
    },
    "sasrec": {
        "cold start": "poor for new items: an unseen ID has an untrained embedding",
        "index needed": "yes at scale: maximum inner product search over item embeddings",
        "invalid IDs": "no: it scores real items only",
        "interpretability": "low: attention weights over past items at most",
        "cost": "small Transformer; one forward pass per user plus the nearest-neighbour search",
    },
    "flare": {
        "cold start": "better than ID-only: a new item still has a text embedding",
        "index needed": "yes: inner product search over fused ID + text item embeddings",
        "invalid IDs": "no",
        "interpretability": "low; the text side can be inspected by nearest titles",
        "cost": "a frozen text encoder once per item, then SASRec's cost",
    },
    "tiger": {
        "cold start": "an unseen item gets a semantic ID from its text, so it can be generated",
        "index needed": "no nearest-neighbour index: beam search over a code tree",
        "invalid IDs": "yes: a generated code tuple may name no item (reported as invalid@10)",
        "interpretability": "medium: code prefixes group similar items (category-like)",
        "cost": "RQ-VAE to train; beam search per user costs beam x levels decoder steps",
    },
    "plum": {
        "cold start": "semantic IDs from text and an LM's world knowledge help new items",
        "index needed": "no: the LM writes the item's semantic ID",
        "invalid IDs": "yes, unless decoding is constrained to existing IDs",
        "interpretability": "medium: the prompt is readable text; the output is a code",
        "cost": "the highest: LM pre-training, continued pre-training and beam search through an LLM",
    },
    "lumen": {
        "cold start": "as PLUM: items are written as semantic IDs of their text",
        "index needed": "no: generated IDs",
        "invalid IDs": "yes, as in every generative-ID model",
        "interpretability": "high: it writes a narrative next to the item and takes critiques",
        "cost": "PLUM's, plus the narrative tokens at every request",
    },
    "onerec_think": {
        "cold start": "semantic IDs from text; the rationale can use item text",
        "index needed": "no: generated IDs",
        "invalid IDs": "yes",
        "interpretability": "high: a text rationale precedes the item",
        "cost": "the highest per request: reasoning tokens before the ID, RL fine-tuning",
    },
    "linkedin": {
        "cold start": "good: items and members are embedded from their text prompts",
        "index needed": "yes: cosine kNN over LM item embeddings",
        "invalid IDs": "no: it retrieves real items",
        "interpretability": "medium: the prompts are readable; the embeddings are not",
        "cost": "an LM forward per item (offline) and per member (online), then kNN",
    },
    "recgpt": {
        "cold start": "tags mined from text reach new items that carry them",
        "index needed": "yes: tag-to-item matching plus embedding retrieval",
        "invalid IDs": "no: tags are matched to real items",
        "interpretability": "high: the user's interests and tags are words",
        "cost": "LLM reasoning per user (offline in the paper), a light online model",
    },
    "onepiece": {
        "cold start": "item words and category enter the item tokens, so new items are not blank",
        "index needed": "yes: inner product search over item vectors",
        "invalid IDs": "no",
        "interpretability": "low to medium: anchors are visible context, reasoning blocks are latent",
        "cost": "a Transformer with a few extra reasoning blocks (KV-cached) per request",
    },
    "sasrec-adaptive": {
        "cold start": "new users fall back to the shared network; new items as poor as SASRec's",
        "index needed": "yes: inner product search, with a user-specific query vector",
        "invalid IDs": "no",
        "interpretability": "low: a per-user low-rank change of the hidden state",
        "cost": "SASRec's, plus per-user parameters that grow with the number of users (mode-dependent)",
    },
}


def candidate_generators() -> list[str]:
    """Registered model names whose class generates candidates from the whole catalog (not rankers)."""
    from .models import MODELS, model_class

    return [name for name in MODELS if model_class(name).generates_candidates]


def check_models(models) -> list[str]:
    """The names, checked: every one registered and a candidate generator (ValueError otherwise)."""
    from .models import MODELS, model_class

    gens = candidate_generators()
    if models is None:
        return gens
    models = [str(m).lower().strip() for m in ([models] if isinstance(models, str) else models)]
    if not models:
        raise ValueError("no models to compare")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; candidate generators: {', '.join(gens)}")
    rankers = [m for m in models if not model_class(m).generates_candidates]
    if rankers:
        raise ValueError(f"{', '.join(rankers)} {'is a ranker' if len(rankers) == 1 else 'are rankers'} (scoring a "
                         f"given candidate set, not the catalog); candidate generators: {', '.join(gens)}")
    if len(set(models)) != len(models):
        raise ValueError(f"a model is named twice in {models}")
    return models


class _PeakRSS:
    """Peak resident memory above the starting level while the block runs, sampled by a thread."""

    def __init__(self, interval: float = 0.01):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    @staticmethod
    def rss() -> int:
        try:
            import psutil

            return psutil.Process().memory_info().rss
        except ImportError:
            with open("/proc/self/status") as f:
                kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            return kb * 1024

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.start = self.peak = self.rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())
        self.growth = self.peak - self.start


class _Timed:
    """The model, with each ``recommend`` call timed (seconds per user, one entry per batch)."""

    def __init__(self, model):
        self.model, self.per_user = model, []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def recommend(self, histories, **kwargs):
        t0 = time.perf_counter()
        out = self.model.recommend(histories, **kwargs)
        self.per_user.append((time.perf_counter() - t0) / max(1, len(histories)))
        return out


def model_bytes(model) -> int:
    """Bytes of the module's parameters and buffers plus the numpy arrays stored on the model."""
    total = sum(a.nbytes for a in vars(model).values() if isinstance(a, np.ndarray))
    module = getattr(model, "module", None)
    if module is not None:
        total += sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])
    return int(total)


def model_settings(name: str, settings: dict | None = None, quick: bool = False, seed: int = 0) -> dict:
    """The settings `compare` trains ``name`` with: `SETTINGS` (only its preset when ``quick``), then ``settings``."""
    from .models import model_class

    default = {"preset": "tiny"} if "tiny" in model_class(name).presets else {}  # a model new to SETTINGS
    base = dict(SETTINGS.get(name, default))
    if quick:
        base = {"preset": base["preset"]} if "preset" in base else {}
    return {"seed": seed, **base, **(settings or {}).get(name, {})}


def compare(split, catalog=None, models=None, settings: dict | None = None, ks=(10,), quick: bool = False,
            max_users: int | None = None, batch_size: int = 64, seed: int = 0, progress: bool = True):
    """One row per candidate generator (index ``model``): metrics, coverage, invalid IDs, cost (module docstring).

    ``models``: names (default: every `candidate_generators`); ``settings``: {name: params} on top of
    `SETTINGS`; ``quick``: presets only; ``max_users``: a random subset of the test users;
    ``batch_size``: users per ``recommend`` call (the latency is measured per batch).
    """
    import pandas as pd

    from .evaluate import evaluate_metrics
    from .metrics import check_ks
    from .models import get_model, model_class

    names, ks = check_models(models), check_ks(ks)
    if batch_size < 1 or (max_users is not None and max_users < 1):
        raise ValueError(f"batch_size and max_users must be positive integers, got {batch_size!r}, {max_users!r}")
    text = [n for n in names if model_class(n).capabilities.needs_catalog]
    if text and catalog is None:
        raise ValueError(f"{', '.join(text)} read(s) item text: compare(split, catalog) needs the catalog")
    unknown = set(settings or {}) - set(names)
    if unknown:
        raise ValueError(f"settings given for model(s) not compared: {sorted(unknown)}")
    evalset = split.test.subset(max_users, seed=seed) if max_users else split.test
    kmax, rows = max(ks), []
    for name in names:
        params = model_settings(name, settings, quick, seed)
        model = get_model(name, preset=params.pop("preset", None), progress=False, **params)
        with _PeakRSS() as mem:
            t0 = time.perf_counter()
            model.fit(split, catalog)
            train_s = time.perf_counter() - t0
        timed = _Timed(model)
        metrics = evaluate_metrics(timed, evalset, ks=ks, batch_size=batch_size, n_items=split.n_items)
        total, trainable = parameter_counts(model)
        rows.append({"model": name, **{f"{m}@{k}": metrics[f"{m}@{k}"] for k in ks for m in ("recall", "ndcg")},
                     f"coverage@{kmax}": metrics[f"coverage@{kmax}"],
                     f"invalid@{kmax}": metrics.get(f"invalid@{kmax}", np.nan),
                     "train_s": train_s, "latency_ms": 1000 * float(np.median(timed.per_user)),
                     "params_total": total, "params_trainable": trainable, "model_mb": model_bytes(model) / 1e6,
                     "peak_rss_mb": mem.growth / 1e6})
        if progress:
            print(f"compare: {name:<14} ndcg@{kmax} {metrics[f'ndcg@{kmax}']:.4f}  trained in {train_s:.1f} s",
                  file=sys.stderr, flush=True)
    return pd.DataFrame(rows).set_index("model")


def sample_users(dataset, n_users: int, max_length: int | None = None, seed: int = 0):
    """A smaller copy of ``dataset`` for a quick comparison: ``n_users`` random users, each with only the
    last ``max_length`` events of its sequence (and timestamps); the catalog is kept whole."""
    from .data import Dataset, Interactions

    inter = dataset.interactions
    if n_users < 1 or (max_length is not None and max_length < 3):
        raise ValueError(f"need n_users >= 1 and max_length >= 3 (a train, a valid and a test item), "
                         f"got {n_users} and {max_length}")
    rows = np.sort(np.random.default_rng(seed).choice(len(inter), min(n_users, len(inter)), replace=False))
    cut = slice(-max_length, None) if max_length else slice(None)
    times = None if inter.timestamps is None else [inter.timestamps[r][cut] for r in rows]
    return Dataset(dataset.name, dataset.catalog,
                   Interactions([inter.user_ids[r] for r in rows], [inter.sequences[r][cut] for r in rows], times),
                   {**dataset.info, "sample": {"users": len(rows), "max_length": max_length, "seed": seed}})


def qualitative_table(models=None):
    """`QUALITATIVE` as a DataFrame (index ``model``), for the given candidate generators (default: all)."""
    import pandas as pd

    names = check_models(models)
    missing = [n for n in names if n not in QUALITATIVE]
    if missing:
        raise ValueError(f"no qualitative description for {missing}: add them to compare.QUALITATIVE")
    return pd.DataFrame([{"model": n, **QUALITATIVE[n]} for n in names]).set_index("model")


__all__ = ["QUALITATIVE", "SETTINGS", "candidate_generators", "check_models", "compare", "model_bytes",
           "model_settings", "parameter_counts", "qualitative_table", "sample_users"]
