"""Datasets: one data model (`Catalog`, `Interactions`, `Dataset`) and one entry point, `load_dataset`."""
from __future__ import annotations

from pathlib import Path

from .core import Catalog, Dataset, Interactions, from_events

__all__ = ["Catalog", "Dataset", "Interactions", "from_events", "load_dataset", "DATASETS", "DataError"]

DATASETS = ("synthetic", "synthetic-long", "ml-100k", "ml-1m", "amazon-<category> (e.g. amazon-beauty)")


class DataError(RuntimeError):
    """A dataset cannot be loaded (missing files, malformed lines). The message says what to do."""


def load_dataset(name: str, *, data_dir: str | None = None, size: str = "default", seed: int = 0,
                 download: bool = True, verify: bool = True) -> Dataset:
    """Load a dataset by name: ``synthetic``, ``ml-100k``, ``ml-1m`` or ``amazon-<category>``.

    ``size``/``seed`` apply to the built-in synthetic data; ``data_dir`` points the real loaders at
    a local folder holding the original files (otherwise they use the cache, downloading if allowed).
    ``verify`` makes the real loaders check the files against the official release (counts, and
    checksums where known) and raise `DataError` on a mismatch; ``False`` loads a modified copy.
    """
    key = name.lower().strip()
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise DataError(f"the data folder {data_dir} does not exist (or is not a folder)")
    if key == "synthetic":
        from .synthetic import make_synthetic

        return make_synthetic(size=size, seed=seed)
    if key in ("synthetic-long", "synthetic_long"):  # lifelong histories (long_history.py)
        from .long_history import make_long_history

        return make_long_history(size=size, seed=seed)
    if key in ("ml-100k", "ml-1m", "movielens-100k", "movielens-1m"):
        from .movielens import load_movielens

        return load_movielens(key.replace("movielens", "ml"), data_dir=data_dir, download=download, verify=verify)
    if key.startswith("amazon-") and len(key) > len("amazon-"):
        from .amazon import load_amazon

        return load_amazon(key[len("amazon-"):], data_dir=data_dir, download=download, verify=verify)
    raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
