"""Where real datasets live on disk, and how they get there.

* `cache_dir` picks the root folder: the ``data_dir`` argument, else the environment variable
  ``LLMREC_DATA_DIR``, else ``~/.cache/llmrec_mini``.
* `fetch` downloads one URL with ``urllib`` (tqdm progress bar) into a temporary file next to the
  destination, checks its SHA-256 when one is known, and only then renames it into place, so an
  interrupted or corrupted download never leaves a half-written file under the final name.
* `ensure_files` is what the loaders call: it returns at once when every file is there, tries the
  download when allowed, and otherwise raises one `DataError` that says which files to put in
  which folder and where to get them (the machine may be offline, or ``download=False``).
"""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

from . import DataError

ENV_VAR = "LLMREC_DATA_DIR"
DEFAULT_DIR = Path("~/.cache/llmrec_mini")


def cache_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: ``data_dir`` if given, else ``$LLMREC_DATA_DIR``, else ``~/.cache/llmrec_mini``."""
    root = data_dir if data_dir is not None else os.environ.get(ENV_VAR) or DEFAULT_DIR
    return Path(root).expanduser()


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, dest: str | os.PathLike, sha256: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` (temp file + rename) and verify ``sha256`` when given.

    Raises `DataError` on a checksum mismatch (the bad download is deleted); network failures
    propagate as ``OSError``/``urllib.error.URLError`` for the caller to report.
    """
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
        if sha256 is not None and h.hexdigest() != sha256.lower():
            raise DataError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, got {h.hexdigest()}. "
                f"The download was deleted; retry, or place a good copy at {dest}."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def missing(folder: Path, names: Sequence[str]) -> list[str]:
    """The names in ``names`` that are not files in ``folder``."""
    return [n for n in names if not (folder / n).is_file()]


def missing_files_error(dataset: str, folder: Path, names: Sequence[str], urls: Sequence[str],
                        reason: str) -> DataError:
    """One message: which files, which folder, where to get them, and why they were not downloaded."""
    return DataError(
        f"{dataset}: missing {', '.join(names)} in {folder} ({reason}). "
        f"Put {' and '.join(names)} into the folder {folder} (or pass data_dir= pointing at a folder "
        f"that holds them). Official download: {' and '.join(urls)}."
    )


def ensure_files(dataset: str, folder: Path, names: Sequence[str], urls: Sequence[str], *,
                 download: bool, get: Callable[[Path], None]) -> Path:
    """Return ``folder`` once all ``names`` are in it, calling ``get(folder)`` to download if allowed.

    Any failure (``download=False``, no network, checksum mismatch) becomes one `DataError`
    naming the files, the folder and the official URLs.
    """
    absent = missing(folder, names)
    if not absent:
        return folder
    if not download:
        raise missing_files_error(dataset, folder, absent, urls, "download=False")
    try:
        get(folder)
    except (OSError, urllib.error.URLError, DataError) as exc:  # offline, HTTP error, bad checksum
        raise missing_files_error(dataset, folder, absent, urls, f"download failed: {exc}") from exc
    absent = missing(folder, names)
    if absent:
        raise missing_files_error(dataset, folder, absent, urls, "the download did not contain them")
    return folder
