"""Amazon product reviews, 2014 release (McAuley lab), as a `Dataset`: the TIGER / P5 / S3-Rec benchmarks.

Files (gzip, one record per line), as downloaded from the McAuley-lab product-graph page:

* ``reviews_<Cat>_5.json.gz``: the 5-core reviews, **strict JSON** per line; the loader uses
  ``reviewerID``, ``asin`` and ``unixReviewTime`` (other fields are ignored).
* ``meta_<Cat>.json.gz``: item metadata, one **Python literal** per line (single quotes, not JSON),
  parsed with ``ast.literal_eval`` (never ``eval``): ``asin``, ``title``, ``categories`` (a list of
  category paths), ``brand``, ``price``, ``description``, any of them may be missing. The file can be
  large, so only lines whose asin occurs in the reviews are parsed.

Processing (the S3-Rec preprocessing script, which P5 and TIGER reuse):
1. the k-core filter (``core``): repeatedly drop users and items with fewer than ``core`` reviews
   until none is left; the result is the unique largest such subset (a no-op on a 5-core file);
2. each user's reviews are sorted by ``unixReviewTime`` with a *stable* sort: ties keep file order;
3. users are indexed in order of first appearance in the reviews file, items in order of first
   appearance in the time-sorted sequences, users taken in that order (`from_events`, "first_seen").
On the shared Beauty files this reproduces ``p5/sequential_data.txt`` exactly: user index = P5 user
id - 1 and item index = P5 item id - 1 (22,363 users, 12,101 items, 198,502 reviews).

Item text: titles and descriptions are HTML-unescaped with whitespace collapsed; ``categories`` is the
*first* category path; ``tags`` are the leaves of all paths (a few items have several); brand and
price when present (the shared Beauty files have neither).

Integrity: no official checksum of these files is published, so the loader checks what can be
checked. Downloads go over https and must deliver the announced ``Content-Length`` (`download.fetch`).
Both files are decompressed to the end, so gzip's CRC32 and length trailer catch a truncated or
corrupted file: one `DataError` naming it (a garbled line is blamed on the file when the stream is
broken). With ``verify=True`` (the default) the reviews file must hold the known statistics of the
official 5-core file where they are known (`EXPECTED`: Beauty has 22,363 users, 12,101 items and
198,502 reviews; being a 5-core file, the same after the filter); ``verify=False`` loads a
deliberately modified copy. ``dataset.info`` records the SHA-256 of both files so a run can be reproduced.
"""
from __future__ import annotations

import ast
import gzip
import html
import json
import re
import zlib
from collections import Counter
from pathlib import Path

from . import DataError
from . import download as dl
from .core import Dataset, from_events

BASE_URL = "https://snap.stanford.edu/data/amazon/productGraph/categoryFiles"
CATEGORIES = [  # official file-name spelling of the 2014 per-category files
    "Amazon_Instant_Video", "Apps_for_Android", "Automotive", "Baby", "Beauty", "Books", "CDs_and_Vinyl",
    "Cell_Phones_and_Accessories", "Clothing_Shoes_and_Jewelry", "Digital_Music", "Electronics",
    "Grocery_and_Gourmet_Food", "Health_and_Personal_Care", "Home_and_Kitchen", "Kindle_Store",
    "Movies_and_TV", "Musical_Instruments", "Office_Products", "Patio_Lawn_and_Garden", "Pet_Supplies",
    "Sports_and_Outdoors", "Tools_and_Home_Improvement", "Toys_and_Games", "Video_Games",
]
ALIASES = {"sports": "Sports_and_Outdoors", "toys": "Toys_and_Games", "clothing": "Clothing_Shoes_and_Jewelry",
           "phones": "Cell_Phones_and_Accessories", "cell-phones": "Cell_Phones_and_Accessories",
           "health": "Health_and_Personal_Care", "home": "Home_and_Kitchen", "tools": "Tools_and_Home_Improvement",
           "grocery": "Grocery_and_Gourmet_Food", "garden": "Patio_Lawn_and_Garden", "movies": "Movies_and_TV",
           "cds": "CDs_and_Vinyl", "music": "Digital_Music", "instruments": "Musical_Instruments",
           "office": "Office_Products", "pets": "Pet_Supplies", "kindle": "Kindle_Store",
           "games": "Video_Games", "apps": "Apps_for_Android", "instant-video": "Amazon_Instant_Video"}
# Statistics of the official 5-core files (SNAP page; TIGER / P5 / S3-Rec papers), where known.
EXPECTED = {"Beauty": {"reviews": 198_502, "users": 22_363, "items": 12_101}}
_ASIN = re.compile(r"""["']asin["']\s*:\s*["']([^"']+)["']""")


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-").replace("&", "and")


def category_name(category: str) -> str:
    """Official file-name spelling: ``"beauty"`` -> ``"Beauty"``, ``"sports"`` -> ``"Sports_and_Outdoors"``,
    ``"video-games"`` or ``"Video_Games"`` -> ``"Video_Games"``."""
    table = {_key(c): c for c in CATEGORIES} | ALIASES
    if _key(category) not in table:
        raise DataError(f"unknown Amazon 2014 category {category!r}; choose one of: {', '.join(CATEGORIES)} "
                        f"(lower case with dashes also works, e.g. 'toys-and-games', or: {', '.join(ALIASES)})")
    return table[_key(category)]


def file_names(category: str) -> tuple[str, str]:
    cat = category_name(category)
    return f"reviews_{cat}_5.json.gz", f"meta_{cat}.json.gz"


def _broken(path: Path, reason: str) -> DataError:
    return DataError(f"{path} is truncated or corrupted ({reason}). Delete it and download "
                     f"{BASE_URL}/{path.name} again (the loader does so when the file is missing).")


def _open(path: Path):
    """Lines of a gzip text file, with (line number, line), to the end of the stream (CRC32 checked)."""
    if path.stat().st_size == 0:  # gzip reads an empty file as zero lines
        raise _broken(path, "empty file")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            yield from enumerate(f, 1)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise _broken(path, f"gzip: {type(exc).__name__}: {exc}") from None


def _bad_line(path: Path, message: str) -> DataError:
    """A line that does not parse: blame the file when its gzip stream is broken, else the line."""
    try:
        for _ in _open(path):
            pass
    except DataError as broken:
        return broken
    return DataError(f"{path}, {message}")


def read_reviews(path: Path) -> list[tuple[str, str, int]]:
    """``(reviewerID, asin, unixReviewTime)`` events in file order."""
    events = []
    for lineno, line in _open(path):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            events.append((str(r["reviewerID"]), str(r["asin"]), int(r["unixReviewTime"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise _bad_line(path, f"line {lineno}: expected a JSON object with reviewerID, asin and "
                                  f"unixReviewTime ({type(exc).__name__}: {exc})") from None
    return events


def k_core(events: list[tuple[str, str, int]], core: int | None) -> list[tuple[str, str, int]]:
    """Repeatedly drop events of users and items with fewer than ``core`` events (order is kept)."""
    if not core or core <= 1:
        return events
    while True:
        users, items = Counter(e[0] for e in events), Counter(e[1] for e in events)
        kept = [e for e in events if users[e[0]] >= core and items[e[1]] >= core]
        if len(kept) == len(events):
            return kept
        events = kept


def _text(value) -> str:
    return " ".join(html.unescape(str(value)).split()) if value is not None else ""


def read_meta(path: Path, asins: set[str]) -> dict[str, dict]:
    """asin -> {title, description, categories, tags, brand, price} for the asins in ``asins`` only."""
    items: dict[str, dict] = {}
    for lineno, line in _open(path):
        m = _ASIN.search(line)
        if not line.strip() or (m and m.group(1) not in asins):
            continue  # cheap skip of the (many) items without reviews; no literal is parsed
        try:
            d = ast.literal_eval(line.strip())
            asin = d["asin"]
        except (ValueError, SyntaxError, TypeError, KeyError, MemoryError, RecursionError) as exc:
            raise _bad_line(path, f"line {lineno}: expected a Python dict literal with an 'asin' "
                                  f"({type(exc).__name__}: {exc})") from None
        if asin not in asins or asin in items:
            continue
        paths = [[_text(c) for c in p] for p in d.get("categories") or [] if p]
        price = d.get("price")
        items[asin] = {
            "title": _text(d.get("title")), "description": _text(d.get("description")),
            "categories": paths[0] if paths else [], "tags": list(dict.fromkeys(p[-1] for p in paths)),
            "brand": _text(d.get("brand")), "price": float(price) if isinstance(price, (int, float)) else None,
        }
    return items


def amazon_folder(category: str, data_dir: str | Path | None = None) -> Path:
    """``data_dir`` (or its ``raw/`` subfolder when the files are there), else ``<cache>/amazon2014``."""
    if data_dir is None:
        return dl.cache_dir() / "amazon2014"
    folder = Path(data_dir).expanduser()
    names = file_names(category)
    if dl.missing(folder, names) and not dl.missing(folder / "raw", names):
        return folder / "raw"
    return folder


def _download(names: tuple[str, str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (folder / name).is_file():
            dl.fetch(f"{BASE_URL}/{name}", folder / name)  # no published checksum


def _verify(cat: str, folder: Path, name: str, raw: list[tuple[str, str, int]]) -> str:
    """Compare the reviews file with the official 5-core statistics, when known (raises `DataError`)."""
    if cat not in EXPECTED:
        return f"gzip streams complete; no known statistics of the {cat} 5-core file"
    found = {"reviews": len(raw), "users": len({e[0] for e in raw}), "items": len({e[1] for e in raw})}
    dl.check_counts(f"Amazon 2014 {cat}", folder, [(name, what, found[what], n) for what, n in EXPECTED[cat].items()],
                    "the official 5-core file", f"delete {name} there and download {BASE_URL}/{name} again "
                                                f"(the loader does so when the file is missing)")
    return "gzip streams complete; counts match the official 5-core file: " + ", ".join(
        f"{n:,} {what}" for what, n in EXPECTED[cat].items())


def load_amazon(category: str = "beauty", data_dir: str | Path | None = None, download: bool = True,
                core: int | None = 5, verify: bool = True) -> Dataset:
    """Load an Amazon 2014 category (``"beauty"``, ``"sports"``, ``"toys"``, ... or the official name).

    ``data_dir``: folder holding ``reviews_<Cat>_5.json.gz`` and ``meta_<Cat>.json.gz`` (else the
    cache, downloading when ``download``). ``core``: the k-core threshold (``None`` or 1: no filter).
    ``verify``: compare the reviews file with the official statistics (``False`` loads a modified copy).
    """
    cat = category_name(category)
    names = file_names(cat)
    urls = [f"{BASE_URL}/{n}" for n in names]
    folder = dl.ensure_files(f"Amazon 2014 {cat}", amazon_folder(cat, data_dir), names, urls,
                             download=download, get=lambda f: _download(names, f))
    raw = read_reviews(folder / names[0])
    verified = _verify(cat, folder, names[0], raw) if verify else "gzip streams complete; counts not checked"
    events = k_core(raw, core)
    if not events:
        raise DataError(f"{folder / names[0]}: no reviews left after the {core}-core filter")
    items = read_meta(folder / names[1], {e[1] for e in events})
    info = {
        "source": f"Amazon reviews 2014, {cat} 5-core (McAuley lab; {BASE_URL})", "folder": str(folder),
        "files": list(names), "sha256": {n: dl.sha256_of(folder / n) for n in names}, "verified": verified,
        "core": core, "reviews_in_file": len(raw), "items_with_meta": len(items),
        "ordering": "per-user stable sort by unixReviewTime (ties: file order); users by first appearance "
                    "in the file; items by first appearance in the sorted sequences (= S3-Rec/P5 ids - 1)",
        "citation": "McAuley et al., SIGIR 2015; He & McAuley, WWW 2016",
    }
    return from_events(f"amazon-{_key(cat)}", events, items, info=info)
