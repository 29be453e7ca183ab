"""Shared, cached loaders for every page of the playground.

* data (`dataset`, `split`) with ``st.cache_data``: cheap to rebuild, copied per session;
* models, embeddings and semantic IDs with ``st.cache_resource``: one object per process, shared by
  every session, and also stored on disk under the cache folder so a restart is instant:

      <cache>/v<version>/synthetic-<size>-<seed>-<model>-<settings hash>/   model.save() (any registered model)
      <cache>/v<version>/embeddings/                                  encode_items(cache_dir=...)
      <cache>/v<version>/semantic_ids/<...>.npz                        SemanticIDs.save()

Environment: ``LLMREC_PLAYGROUND_SIZE`` (tiny/default/large, default "default") is the dataset size
the sidebar starts with; ``LLMREC_PLAYGROUND_CACHE`` moves the cache folder
(default ``~/.cache/llmrec_mini/playground``).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import streamlit as st

import llmrec_mini

SIZES = ("tiny", "default", "large")
EVAL_USERS = 1000  # test users the metrics are computed on (a fixed random subset)
SID_METHODS = ("rqkmeans", "rqvae", "lsh", "random")
ENCODERS = ("auto", "hashing")


# ------------------------------------------------------------------------------------------------ settings
def default_size() -> str:
    size = os.environ.get("LLMREC_PLAYGROUND_SIZE", "default")
    if size not in SIZES:
        raise ValueError(f"LLMREC_PLAYGROUND_SIZE={size!r}; choose one of {', '.join(SIZES)}")
    return size


def cache_dir() -> Path:
    root = os.environ.get("LLMREC_PLAYGROUND_CACHE") or Path.home() / ".cache" / "llmrec_mini" / "playground"
    return Path(root) / f"v{llmrec_mini.__version__}"


def sidebar_settings() -> None:
    """The dataset controls (rendered by app.py on every run, so their values persist across pages)."""
    st.sidebar.selectbox("Dataset size", SIZES, index=SIZES.index(default_size()), key="size",
                         help="The built-in synthetic shop: tiny = 200 users, default = 3000, large = 20000.")
    st.sidebar.number_input("Seed", min_value=0, max_value=10_000, value=0, step=1, key="seed",
                            help="The dataset is generated from this seed; models are trained per seed.")


def settings() -> tuple[str, int]:
    """(size, seed) chosen in the sidebar (defaults when a page runs without app.py)."""
    return st.session_state.get("size", default_size()), int(st.session_state.get("seed", 0))


# ------------------------------------------------------------------------------------------------ data
@st.cache_data(show_spinner="Generating the dataset...")
def dataset(size: str, seed: int):
    from llmrec_mini.data import load_dataset

    return load_dataset("synthetic", size=size, seed=seed)


@st.cache_data(show_spinner=False)
def split(size: str, seed: int):
    """Leave-one-out: the last item of each user is the test target, the one before the validation target."""
    from llmrec_mini.data.sequences import leave_one_out

    return leave_one_out(dataset(size, seed))


# ------------------------------------------------------------------------------------------------ models
# What the playground trains, per registered model and dataset size: small budgets for a 2-core CPU.
# Any other registered model trains with its defaults (its "tiny" preset on the tiny data).
TRAINING = {
    "sasrec": {"tiny": {"epochs": 5}, "default": {"epochs": 10}, "large": {"epochs": 4}},  # ~4-5 s/epoch at default
}


def training_settings(name: str, size: str) -> dict:
    from llmrec_mini.models import model_class

    if name in TRAINING:
        return dict(TRAINING[name][size])
    presets = model_class(name).presets
    return dict(presets["tiny"]) if size == "tiny" and "tiny" in presets else {}


def model_dir(name: str, size: str, seed: int) -> Path:
    """Where a trained model is kept: one folder per model, data and training settings."""
    tag = hashlib.sha1(json.dumps(training_settings(name, size), sort_keys=True).encode()).hexdigest()[:8]
    return cache_dir() / f"synthetic-{size}-{seed}-{name}-{tag}"


@st.cache_resource(show_spinner=False)
def _model(name: str, size: str, seed: int):
    """Load a registered model from disk, or train it (small budget) and save it there."""
    from llmrec_mini.models import get_model, model_class

    path = model_dir(name, size, seed)
    if (path / "config.json").exists():
        return model_class(name).load(path, dataset(size, seed).catalog)
    model = get_model(name, seed=seed, progress=False, **training_settings(name, size))
    model.fit(split(size, seed), dataset(size, seed).catalog)
    model.save(path)
    return model


def model(name: str, size: str, seed: int):
    """A fitted registered model (trained on the first call for this size/seed, with a spinner)."""
    on_disk = (model_dir(name, size, seed) / "config.json").exists()
    epochs = training_settings(name, size).get("epochs")
    budget = f" ({epochs} epochs; about a minute at the default size on 2 CPU cores)" if epochs else ""
    message = (f"Loading {name}..." if on_disk else
               f"Training {name}{budget}. This happens once: the model is then cached on disk.")
    with st.spinner(message, show_time=not on_disk):
        return _model(name, size, seed)


def models(size: str, seed: int, names=("popularity", "sasrec")) -> dict:
    """{name: fitted recommender} for the models the pages compare."""
    return {name: model(name, size, seed) for name in names}


@st.cache_data(show_spinner="Evaluating on held-out users...")
def test_metrics(size: str, seed: int, model_name: str) -> dict:
    """recall@10, ndcg@10 (and users) of one model on a fixed subset of the test split."""
    from llmrec_mini.evaluate import evaluate

    row = evaluate(_model(model_name, size, seed), split(size, seed), ks=(10,), max_users=EVAL_USERS,
                   progress=False).iloc[0]  # no UI in here
    return {"recall@10": float(row["recall@10"]), "ndcg@10": float(row["ndcg@10"]), "users": int(row["users"])}


# ------------------------------------------------------------------------------------------------ semantic IDs
@st.cache_resource(show_spinner=False)
def _embeddings(size: str, seed: int, encoder: str):
    from llmrec_mini.text import encode_items

    return encode_items(dataset(size, seed).catalog, encoder=encoder, cache_dir=cache_dir() / "embeddings",
                        dataset_name=f"synthetic-{size}-{seed}", progress=False)


def embeddings(size: str, seed: int, encoder: str):
    """(n_items, d) unit-norm text embeddings of every item (cached in memory and on disk)."""
    from llmrec_mini.text import minilm_installed

    name = "all-MiniLM-L6-v2" if encoder == "auto" and minilm_installed() else "the hashing encoder"
    with st.spinner(f"Encoding item texts with {name} (once; cached on disk)...", show_time=True):
        return _embeddings(size, seed, encoder)


@st.cache_resource(show_spinner=False)
def _semantic_ids(size: str, seed: int, encoder: str, method: str, codebook_size: int, levels: int):
    import warnings

    from llmrec_mini.semantic_ids import SemanticIDs, build_semantic_ids

    path = cache_dir() / "semantic_ids" / f"synthetic-{size}-{seed}-{encoder}-{method}-K{codebook_size}-L{levels}.npz"
    if path.exists():
        return SemanticIDs.load(path)
    with warnings.catch_warnings():  # a codebook larger than a tiny catalog is clamped; the page shows the size used
        warnings.simplefilter("ignore")
        sids = build_semantic_ids(_embeddings(size, seed, encoder), method=method, levels=levels,
                                  codebook_size=codebook_size, seed=seed, progress=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    sids.save(path)
    return sids


def semantic_ids(size: str, seed: int, encoder: str, method: str, codebook_size: int, levels: int = 3):
    """`SemanticIDs` of every item (levels codes + the collision token)."""
    embeddings(size, seed, encoder)  # its own spinner
    slow = " (RQ-VAE trains for about 40 s at the default size)" if method == "rqvae" else ""
    with st.spinner(f"Building semantic IDs with {method}{slow}...", show_time=True):
        return _semantic_ids(size, seed, encoder, method, codebook_size, levels)
