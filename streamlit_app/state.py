"""Shared, cached loaders for every page of the playground.

* data (`dataset`, `split`) with ``st.cache_data``: cheap to rebuild, copied per session;
* models, embeddings and semantic IDs with ``st.cache_resource``: one object per process, shared by
  every session, and also stored on disk under the cache folder so a restart loads them:

      <cache>/v<version>/synthetic-<size>-<seed>-<model>-<settings hash>/   model.save() (any registered model)
      <cache>/v<version>/embeddings/                                  encode_items(cache_dir=...)
      <cache>/v<version>/semantic_ids/<...>.npz                        SemanticIDs.save()

and ``<cache>/v<version>/timings.json`` records how long each training / semantic-ID build took on this
machine: the only estimate the app shows before the same build runs again ("last time this took N s
on this machine"). While a model trains, a progress bar follows its epochs (`EpochProgress`).

Environment: ``LLMREC_PLAYGROUND_SIZE`` (tiny/default/large, default "default") is the dataset size
the sidebar starts with; ``LLMREC_PLAYGROUND_CACHE`` moves the cache folder
(default ``~/.cache/llmrec_mini/playground``).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import streamlit as st

import llmrec_mini

try:  # what Streamlit raises inside an st call when the user reruns or leaves the page
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException
except ImportError:  # other Streamlit versions: catch nothing, as before
    ScriptControlException = ()

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


# ------------------------------------------------------------------------------------------------ timings
# How long each model / semantic-ID build took on this machine, so the next first run can say so
# instead of guessing: <cache>/v<version>/timings.json, {key: {"seconds", "when", ...}}.
_TIMINGS_LOCK = threading.Lock()


def timings_file() -> Path:
    return cache_dir() / "timings.json"


def read_timings() -> dict:
    try:
        data = json.loads(timings_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_timing(key: str, seconds: float, **details) -> None:
    """Remember that building ``key`` took ``seconds`` (wall time) on this machine."""
    with _TIMINGS_LOCK:
        data = read_timings()
        data[key] = {"seconds": round(float(seconds), 2), "when": time.strftime("%Y-%m-%d %H:%M:%S"), **details}
        path = timings_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(path)  # atomic: a session reading it never sees half a file


def last_timing(key: str) -> float | None:
    """Seconds the last build of ``key`` took here, or None if it never finished on this machine."""
    try:
        return float(read_timings()[key]["seconds"])
    except (KeyError, TypeError, ValueError):
        return None


def seconds_text(seconds: float) -> str:
    """A measured duration for display: "8 s", "95 s", "4 min 12 s"."""
    seconds = max(0.0, float(seconds))
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds // 60:.0f} min {seconds % 60:.0f} s"


def estimate_text(key: str, unknown: str = "first run: time unknown, a progress bar follows") -> str:
    """The only estimate the app gives: what the same build took last time on this machine."""
    last = last_timing(key)
    return unknown if last is None else f"last time this took {seconds_text(last)} on this machine"


# ------------------------------------------------------------------------------------------------ models
# What the playground trains, per registered model and dataset size: small budgets for a 2-core CPU.
# Any other registered model trains with its defaults (its "tiny" preset on the tiny data).
TRAINING = {
    "sasrec": {"tiny": {"epochs": 5}, "default": {"epochs": 10}, "large": {"epochs": 4}},
    "vista": {"tiny": {"preset": "tiny", "epochs": 3}, "default": {"epochs": 4}, "large": {"epochs": 2}},
    "tiger": {"tiny": {"preset": "tiny", "epochs": 3}, "default": {"epochs": 3}, "large": {"epochs": 2}},
    "plum": {"tiny": {"preset": "tiny", "epochs": 3}, "default": {"epochs": 3}, "large": {"epochs": 1}},
}
_TRAINING_LOCK = threading.Lock()  # one training at a time per process: on a few cores two only slow each other


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


class EpochProgress:
    """``on_epoch(row, epochs)`` for `TorchRecommender.fit`: moves an ``st.progress`` bar after each epoch.

    The text says "epoch i/N, elapsed, about X s left", X extrapolated from the epochs measured so
    far (the mean wall time of an epoch, validation included, times the epochs left). ``values``
    keeps every fraction shown. If Streamlit interrupts an update (the user clicked something or
    left), training goes on without the bar, so the model is still finished and cached; the
    interruption is kept in ``interrupted`` for the caller to raise afterwards.
    """

    def __init__(self, name: str, bar=None):
        self.name, self.bar = name, bar
        self.start = self.last = time.perf_counter()
        self.epoch_seconds: list[float] = []
        self.values: list[float] = []
        self.interrupted: BaseException | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def __call__(self, row: dict, epochs: int) -> None:
        now, done = time.perf_counter(), int(row["epoch"]) + 1
        if self.epoch_seconds:  # wall time since the previous epoch ended
            self.epoch_seconds.append(now - self.last)
        else:  # the first epoch: its own timing (the time before it went into data and network setup)
            self.epoch_seconds.append(float(row.get("seconds", 0.0)) + float(row.get("val_seconds", 0.0)))
        self.last = now
        left = sum(self.epoch_seconds) / len(self.epoch_seconds) * max(0, epochs - done)
        self.show(done / max(1, epochs), f"Training {self.name}: epoch {done}/{epochs}, "
                  f"{seconds_text(self.elapsed())} elapsed, about {seconds_text(left)} left")

    def finish(self, epochs_run: int, epochs: int) -> None:
        early = f" (validation stopped it after {epochs_run} of {epochs} epochs)" if 0 < epochs_run < epochs else ""
        self.show(1.0, f"Trained {self.name} in {seconds_text(self.elapsed())}{early}; cached on disk")

    def show(self, value: float, text: str) -> None:
        value = min(1.0, max(0.0, value))
        self.values.append(value)
        if self.bar is None or self.interrupted is not None:
            return
        try:
            self.bar.progress(value, text=text)
        except ScriptControlException as stop:
            self.interrupted = stop


def train(name: str, size: str, seed: int, progress: EpochProgress | None = None):
    """Train a registered model (small budget), save it under `model_dir` and record its wall time."""
    from llmrec_mini.models import get_model
    from llmrec_mini.models.base import TorchRecommender

    data, path = split(size, seed), model_dir(name, size, seed)
    catalog = dataset(size, seed).catalog
    fitted = get_model(name, seed=seed, progress=False, **training_settings(name, size))
    start = time.perf_counter()
    if isinstance(fitted, TorchRecommender):
        fitted.fit(data, catalog, on_epoch=progress)
    else:
        fitted.fit(data, catalog)
    fitted.save(path)
    history = getattr(getattr(fitted, "result", None), "history", None)
    epochs = getattr(getattr(fitted, "train_config", None), "epochs", None)
    details = {} if history is None else {"epochs": epochs, "epochs_run": len(history)}
    record_timing(path.name, time.perf_counter() - start, **details)
    if progress is not None and history is not None:
        progress.finish(len(history), epochs)
    return fitted


@st.cache_resource(show_spinner=False)
def _model(name: str, size: str, seed: int, _fitted=None):
    """The one cached copy of a model per (name, size, seed), shared by every session.

    `model` trains with a progress bar outside this function (Streamlit replays the elements a cached
    function drew, and cannot replay updates to a bar drawn outside it) and hands the result in as
    ``_fitted``, which is not part of the cache key. Without it: load from disk, or train silently.
    """
    if _fitted is not None:
        return _fitted
    from llmrec_mini.models import model_class

    path = model_dir(name, size, seed)
    if (path / "config.json").exists():
        return model_class(name).load(path, dataset(size, seed).catalog)
    return train(name, size, seed)


def model(name: str, size: str, seed: int):
    """A fitted registered model: loaded (memory or disk), or trained once with a progress bar."""
    path = model_dir(name, size, seed)
    if (path / "config.json").exists():
        with st.spinner(f"Loading {name}..."):
            return _model(name, size, seed)
    progress, locked = None, _TRAINING_LOCK.acquire(blocking=False)
    try:
        if not locked:
            with st.spinner(f"Another session is training a model; {name} follows...", show_time=True):
                locked = _TRAINING_LOCK.acquire()
        if not (path / "config.json").exists():  # (the session waited for may have trained this very model)
            progress = training_progress(name, size, seed)
            fitted = train(name, size, seed, progress)
    finally:  # also when Streamlit stops the script in an st call above
        if locked:
            _TRAINING_LOCK.release()
    if progress is None:
        return _model(name, size, seed)
    fitted = _model(name, size, seed, _fitted=fitted)
    if progress.interrupted is not None:  # the rerun (or stop) the user asked for while it trained
        raise progress.interrupted
    return fitted


def training_progress(name: str, size: str, seed: int) -> EpochProgress:
    """The measured estimate and a progress bar for a model about to train (a spinner for models without epochs)."""
    from llmrec_mini.models import model_class
    from llmrec_mini.models.base import TorchRecommender

    key = model_dir(name, size, seed).name
    if not issubclass(model_class(name), TorchRecommender):  # no epochs to follow (popularity)
        st.caption(f"{name} is fitted once, then loaded from the disk cache. Estimate: "
                   f"{estimate_text(key, unknown='first run: time unknown')}.")
        return EpochProgress(name)
    st.caption(f"{name} is trained once, then loaded from the disk cache. Estimate: {estimate_text(key)}.")
    return EpochProgress(name, st.progress(0.0, text=f"Training {name}: preparing the data and the network..."))


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


def semantic_ids_path(size: str, seed: int, encoder: str, method: str, codebook_size: int, levels: int) -> Path:
    return cache_dir() / "semantic_ids" / f"synthetic-{size}-{seed}-{encoder}-{method}-K{codebook_size}-L{levels}.npz"


@st.cache_resource(show_spinner=False)
def _semantic_ids(size: str, seed: int, encoder: str, method: str, codebook_size: int, levels: int):
    import warnings

    from llmrec_mini.semantic_ids import SemanticIDs, build_semantic_ids

    path = semantic_ids_path(size, seed, encoder, method, codebook_size, levels)
    if path.exists():
        return SemanticIDs.load(path)
    emb = _embeddings(size, seed, encoder)
    start = time.perf_counter()
    with warnings.catch_warnings():  # a codebook larger than a tiny catalog is clamped; the page shows the size used
        warnings.simplefilter("ignore")
        sids = build_semantic_ids(emb, method=method, levels=levels, codebook_size=codebook_size, seed=seed,
                                  progress=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    sids.save(path)
    record_timing(f"semantic_ids/{path.stem}", time.perf_counter() - start)
    return sids


def semantic_ids(size: str, seed: int, encoder: str, method: str, codebook_size: int, levels: int = 3):
    """`SemanticIDs` of every item (levels codes + the collision token)."""
    embeddings(size, seed, encoder)  # its own spinner
    path = semantic_ids_path(size, seed, encoder, method, codebook_size, levels)
    if path.exists():
        with st.spinner(f"Loading the {method} semantic IDs..."):
            return _semantic_ids(size, seed, encoder, method, codebook_size, levels)
    # build_semantic_ids reports no epochs, so a spinner (with the elapsed time) and the measured estimate
    estimate = estimate_text(f"semantic_ids/{path.stem}", unknown="first run here: time unknown")
    with st.spinner(f"Building semantic IDs with {method} ({estimate}; cached on disk afterwards)...",
                    show_time=True):
        return _semantic_ids(size, seed, encoder, method, codebook_size, levels)
