"""MovieLens 100K and 1M (GroupLens) as a `Dataset`.

File formats (no header, encoding ISO-8859-1 / latin-1):

* ML-100K ``u.data``: ``user \\t item \\t rating \\t timestamp``, rows in random order.
  ``u.item``: ``id|title|release date|video release date|IMDb URL|`` + 19 genre flags (0/1) in the
  order of ``u.genre`` (``unknown, Action, Adventure, ...``).
* ML-1M ``ratings.dat``: ``user::item::rating::timestamp``; ``movies.dat``: ``id::title::Genre1|Genre2``.

Both layouts go through the same code path. Item text: titles keep the year ("Toy Story (1995)");
``categories = ["Movies", <first genre>]`` (first flagged genre in ``u.genre`` order for 100K, first
listed genre for 1M; ``["Movies"]`` when none); ``tags`` = all the movie's genres.

Ordering: events are built with `from_events`, which sorts each user's ratings by timestamp with a
*stable* sort, so ratings with equal timestamps keep their order in the ratings file (75 % of
ML-100K ratings share a second with another one of the same user, so this matters). Users are
indexed by increasing numeric id (ML user ``u`` -> index ``u - 1``); items in order of first
appearance in those time-sorted sequences. Only rated items (after ``min_rating``) are in the catalog.
A malformed line raises `DataError` naming the file and the line number.

Verification (``verify=True``, the default): a truncated or edited ratings file would otherwise load
as a smaller dataset without a word. So the loader first compares the SHA-256 of ``u.data`` and
``u.item`` with the GroupLens files (ML-100K; a match settles it). Otherwise the counts decide: the
raw files, before ``min_rating``, must hold the release's ratings, users and items, as stated by
``u.info`` when the folder has one (ML-100K: "943 users / 1682 items / 100000 ratings"), else the known
counts in `EXPECTED`. A mismatch is one `DataError` that says what was found and how to get the
original files again; ``verify=False`` loads a deliberately modified copy (a subset, say).
``dataset.info`` records the SHA-256 of the files read and how they were verified.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from . import DataError
from . import download as dl
from .core import Dataset, from_events

BASE_URL = "https://files.grouplens.org/datasets/movielens"
GENRES_100K = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
               "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
               "Romance", "Sci-Fi", "Thriller", "War", "Western"]  # u.genre, index 0..18
LAYOUTS = {
    "ml-100k": {"ratings": "u.data", "items": "u.item", "sep": "\t", "item_sep": "|", "item_fields": 5 + len(GENRES_100K)},
    "ml-1m": {"ratings": "ratings.dat", "items": "movies.dat", "sep": "::", "item_sep": "::", "item_fields": 3},
}
# SHA-256 of the extracted files, computed from byte-identical copies (sizes match the GroupLens
# archive). The zip itself has no known checksum here; ML-1M files are checked by their counts.
SHA256 = {
    "ml-100k": {
        "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
        "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    },
    "ml-1m": {},
}
# What the raw files of each release contain: rating lines, distinct users, items in u.item /
# movies.dat, and (ML-1M) distinct rated items, since 177 of its 3,883 movies have no rating.
EXPECTED = {
    "ml-100k": {"ratings": 100_000, "users": 943, "items": 1_682},
    "ml-1m": {"ratings": 1_000_209, "users": 6_040, "items": 3_883, "rated items": 3_706},
}


def _lines(path: Path, sep: str, n_fields: int):
    """Yield (line number, fields) for the non-blank lines of a latin-1 file, checking the field count."""
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split(sep)
            if len(fields) != n_fields:
                raise DataError(f"{path}, line {lineno}: expected {n_fields} fields separated by "
                                f"{sep!r}, found {len(fields)}: {line[:80]!r}")
            yield lineno, fields


def _read_ratings(path: Path, sep: str) -> list[tuple[str, str, float, int]]:
    """All ``(user, item, rating, timestamp)`` rows in file order."""
    rows = []
    for lineno, (u, i, r, t) in _lines(path, sep, 4):
        try:
            rows.append((str(int(u)), str(int(i)), float(r), int(t)))
        except ValueError:
            raise DataError(f"{path}, line {lineno}: expected integer user, item, timestamp and a "
                            f"numeric rating, found {sep.join((u, i, r, t))!r}") from None
    return rows


def _read_items(path: Path, variant: str) -> dict[str, dict]:
    """Item id -> {title, categories, tags}."""
    layout = LAYOUTS[variant]
    items = {}
    for lineno, fields in _lines(path, layout["item_sep"], layout["item_fields"]):
        if variant == "ml-100k":
            flags = fields[5:]
            if any(f not in ("0", "1") for f in flags):
                raise DataError(f"{path}, line {lineno}: genre flags must be 0 or 1, found {flags}")
            genres = [g for g, f in zip(GENRES_100K, flags) if f == "1"]
        else:
            genres = [g for g in fields[2].split("|") if g]
        items[fields[0].strip()] = {"title": fields[1].strip(), "categories": ["Movies", *genres[:1]],
                                    "tags": genres}
    return items


def _verify(variant: str, folder: Path, rows: list, items: dict, sha256: dict[str, str]) -> str:
    """How the files were verified (see the module docstring); raises `DataError` when they do not match."""
    layout = LAYOUTS[variant]
    if SHA256[variant] and all(sha256[name] == h for name, h in SHA256[variant].items()):
        return f"sha256 of {', '.join(SHA256[variant])} match the GroupLens files"
    expected, reference = dict(EXPECTED[variant]), f"the GroupLens {variant} release"
    if variant == "ml-100k" and (folder / "u.info").is_file():  # "943 users" / "1682 items" / "100000 ratings"
        for line in (folder / "u.info").read_text(encoding="latin-1").splitlines():
            number, _, what = line.strip().partition(" ")
            if number.isdigit() and what.strip() in expected:
                expected[what.strip()] = int(number)
        reference = "its u.info"
    found = {"ratings": len(rows), "users": len({r[0] for r in rows}), "items": len(items),
             "rated items": len({r[1] for r in rows})}
    ratings, movies = layout["ratings"], layout["items"]
    dl.check_counts(f"MovieLens {variant}", folder,
                    [(movies if what == "items" else ratings, what, found[what], n) for what, n in expected.items()],
                    reference, f"download {BASE_URL}/{variant}.zip again and unzip {ratings} and {movies} into "
                               f"{folder} (or delete them there and the loader downloads them)")
    return f"counts match {reference}: " + ", ".join(f"{n:,} {what}" for what, n in expected.items())


def _download(variant: str, folder: Path) -> None:
    """Fetch ``<variant>.zip``, extract the ratings/items/README files flat into ``folder``, verify them."""
    layout = LAYOUTS[variant]
    wanted = {layout["ratings"], layout["items"], "README"}
    folder.mkdir(parents=True, exist_ok=True)
    archive = dl.fetch(f"{BASE_URL}/{variant}.zip", folder / f"{variant}.zip")
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                name = Path(member).name  # flatten "ml-100k/u.data"; never write outside folder
                if name in wanted:
                    (folder / name).write_bytes(zf.read(member))
    except zipfile.BadZipFile as exc:  # not a zip, or a member fails its CRC
        raise DataError(f"{BASE_URL}/{variant}.zip is not a valid zip archive ({exc})") from None
    finally:
        archive.unlink(missing_ok=True)
    for name, expected in SHA256[variant].items():
        if (folder / name).is_file() and dl.sha256_of(folder / name) != expected:
            (folder / name).unlink()
            raise DataError(f"checksum mismatch for {name} extracted from {variant}.zip (expected sha256 {expected})")


def movielens_folder(variant: str, data_dir: str | Path | None = None) -> Path:
    """Folder holding the files: ``data_dir`` (or its ``<variant>/`` subfolder), else ``<cache>/<variant>``."""
    if data_dir is None:
        return dl.cache_dir() / variant
    folder = Path(data_dir).expanduser()
    names = [LAYOUTS[variant]["ratings"], LAYOUTS[variant]["items"]]
    if dl.missing(folder, names) and not dl.missing(folder / variant, names):
        return folder / variant
    return folder


def load_movielens(variant: str = "ml-100k", data_dir: str | Path | None = None, download: bool = True,
                   min_rating: float | None = None, verify: bool = True) -> Dataset:
    """Load MovieLens ``"ml-100k"`` or ``"ml-1m"`` (see the module docstring for formats and ordering).

    ``data_dir``: folder with the original files (else the cache, downloading when ``download``).
    ``min_rating``: keep only ratings >= this value (implicit feedback); ``None`` keeps all.
    ``verify``: check the files against the official release (``False`` loads a modified copy).
    """
    variant = variant.lower().replace("movielens-", "ml-")
    if variant not in LAYOUTS:
        raise ValueError(f"unknown MovieLens variant {variant!r}; choose 'ml-100k' or 'ml-1m'")
    layout = LAYOUTS[variant]
    names = [layout["ratings"], layout["items"]]
    folder = dl.ensure_files(f"MovieLens {variant}", movielens_folder(variant, data_dir), names,
                             [f"{BASE_URL}/{variant}.zip (unzip it)"], download=download,
                             get=lambda f: _download(variant, f))
    rows = _read_ratings(folder / layout["ratings"], layout["sep"])
    items = _read_items(folder / layout["items"], variant)
    sha256 = {name: dl.sha256_of(folder / name) for name in names}
    verified = _verify(variant, folder, rows, items, sha256) if verify else "not checked (verify=False)"
    events = [(u, i, t) for u, i, r, t in rows if min_rating is None or r >= min_rating]
    if not events:
        raise DataError(f"{folder / layout['ratings']}: no ratings left (min_rating={min_rating})")
    events.sort(key=lambda e: int(e[0]))  # users by numeric id; stable, so file order is kept per user
    info = {
        "source": f"GroupLens MovieLens {variant} ({BASE_URL}/{variant}.zip)", "folder": str(folder),
        "files": names, "sha256": sha256, "verified": verified, "min_rating": min_rating,
        "ordering": "per-user stable sort by timestamp (ties: file order); users by numeric id; "
                    "items by first appearance",
        "license": "GroupLens research-only license: no redistribution; cite Harper & Konstan, ACM TiiS 2015",
    }
    return from_events(variant, events, items, info=info)
