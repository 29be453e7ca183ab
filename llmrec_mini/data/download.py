"""Where real datasets live on disk, and how they get there.

* `cache_dir` picks the root folder: the ``data_dir`` argument, else the environment variable
  ``LLMREC_DATA_DIR``, else ``~/.cache/llmrec_mini``.
* `fetch` downloads one URL with ``urllib`` (tqdm progress bar) into a temporary file next to the
  destination, checks that it got as many bytes as the server's ``Content-Length`` announced and
  the SHA-256 when one is known, and only then renames it into place, so an interrupted or
  corrupted download never leaves a half-written file under the final name.
* `ensure_files` is what the loaders call: it returns at once when every file is there, tries the
  download when allowed, and otherwise raises one `DataError` that says which files to put in
  which folder and where to get them (the machine may be offline, or ``download=False``).
* `check_counts` is the loaders' last check: the users / items / ratings parsed from the files must
  be what the official release contains, otherwise one `DataError` lists what differs, names the
  folder, says how to get the original files again and how to load a deliberately changed copy.

Every error here is one `DataError` whose message already holds the cause (``raise ... from None``),
so the command line prints one line and Python shows one traceback, not a chain.
"""
from __future__ import annotations

import hashlib
import http.client
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
    """Download ``url`` to ``dest`` (temp file + rename), checking ``Content-Length`` and ``sha256``.

    Raises `DataError` when fewer (or more) bytes arrive than the server announced, or on a checksum
    mismatch; the bad download is deleted. Network failures propagate as ``OSError`` /
    ``urllib.error.URLError`` / ``http.client.HTTPException`` for the caller to report.
    """
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            size = 0
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    h.update(block)
                    size += len(block)
                    bar.update(len(block))
        if total is not None and size != total:  # the connection ended early: a truncated file
            raise DataError(f"incomplete download of {url}: got {size:,} of {total:,} bytes (Content-Length). "
                            f"The partial file was deleted; retry, or place a good copy at {dest}.")
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

    Any failure (``download=False``, no network, short download, checksum mismatch) becomes one
    `DataError` naming the files, the folder and the official URLs.
    """
    absent = missing(folder, names)
    if not absent:
        return folder
    if not download:
        raise missing_files_error(dataset, folder, absent, urls, "download=False")
    try:
        get(folder)
    except (OSError, urllib.error.URLError, http.client.HTTPException, DataError) as exc:  # offline, bad file
        raise missing_files_error(dataset, folder, absent, urls, f"download failed: {exc}") from None
    absent = missing(folder, names)
    if absent:
        raise missing_files_error(dataset, folder, absent, urls, "the download did not contain them")
    return folder


def check_counts(dataset: str, folder: Path, counts: Sequence[tuple[str, str, int, int]], reference: str,
                 fix: str) -> None:
    """Raise one `DataError` when a ``(file, what, found, expected)`` row of ``counts`` differs.

    ``reference`` says where the expected numbers come from (``"its u.info"``), ``fix`` how to get
    the original files again. The message ends with the way to load a deliberately changed copy.
    """
    wrong: dict[str, list[str]] = {}
    for name, what, found, expected in counts:
        if found != expected:
            wrong.setdefault(name, []).append(f"{found:,} {what} (expected {expected:,})")
    if wrong:
        summary = "; ".join(f"{name} has {', '.join(diffs)}" for name, diffs in wrong.items())
        raise DataError(
            f"{dataset} in {folder} does not match {reference}: {summary}. The files are truncated or "
            f"modified. To fix it, {fix}. To load a deliberately modified copy on purpose, pass verify=False "
            f"(load_dataset(..., verify=False))."
        )
