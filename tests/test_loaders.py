"""Real dataset loaders: MovieLens 100K/1M, Amazon 2014 (Beauty benchmark), download/cache helpers.

Tests on the shared real files skip when ``<repo>/../shared/data`` (or ``$LLMREC_SHARED/data``) is
absent. Nothing here touches the network: downloads use ``file://`` URLs or a patched `fetch`.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from llmrec_mini.data import DataError, load_dataset
from llmrec_mini.data import download as dl
from llmrec_mini.data.amazon import category_name, k_core, load_amazon
from llmrec_mini.data.movielens import SHA256, load_movielens

SHARED = Path(os.environ.get("LLMREC_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared"))
DATA = SHARED / "data"
ML100K = DATA / "ml-100k"
BEAUTY = DATA / "amazon2014-beauty"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set LLMREC_SHARED)")
    return path


def one_message(err: DataError) -> bool:
    """The error carries no chained exception: Python shows one traceback, the CLI one line."""
    return err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


# ----------------------------------------------------------------------------- download helpers

def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path / "env"))
    assert dl.cache_dir(tmp_path / "arg") == tmp_path / "arg"
    assert dl.cache_dir() == tmp_path / "env"
    monkeypatch.delenv(dl.ENV_VAR)
    assert dl.cache_dir() == Path.home() / ".cache" / "llmrec_mini"


def test_fetch_verifies_checksum_and_renames(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello recsys" * 1000)
    good = dl.sha256_of(src)
    out = dl.fetch(src.as_uri(), tmp_path / "dl" / "file.bin", sha256=good, progress=False)
    assert out.read_bytes() == src.read_bytes()
    assert sorted(p.name for p in out.parent.iterdir()) == ["file.bin"]  # no .part left behind
    with pytest.raises(DataError, match="checksum mismatch"):
        dl.fetch(src.as_uri(), tmp_path / "dl" / "bad.bin", sha256="0" * 64, progress=False)
    assert sorted(p.name for p in out.parent.iterdir()) == ["file.bin"]


def test_missing_files_error_names_files_folder_and_url(tmp_path):
    with pytest.raises(DataError) as err:
        load_movielens("ml-100k", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert "u.data" in msg and "u.item" in msg and str(tmp_path) in msg
    assert "https://files.grouplens.org/datasets/movielens/ml-100k.zip" in msg and "download=False" in msg
    with pytest.raises(DataError) as err:
        load_dataset("amazon-beauty", data_dir=str(tmp_path), download=False)
    msg = str(err.value)
    assert "reviews_Beauty_5.json.gz" in msg and "meta_Beauty.json.gz" in msg and str(tmp_path) in msg
    assert "https://snap.stanford.edu/data/amazon/productGraph/categoryFiles/reviews_Beauty_5.json.gz" in msg
    assert one_message(err.value)


def test_failed_download_becomes_one_clear_error(tmp_path, monkeypatch):
    def offline(url, dest, sha256=None, progress=True):
        raise OSError("network is unreachable")

    monkeypatch.setattr(dl, "fetch", offline)
    with pytest.raises(DataError, match=r"meta_Toys_and_Games\.json\.gz.*network is unreachable"):
        load_amazon("toys", data_dir=tmp_path, download=True)


class ShortResponse(io.BytesIO):
    """A response whose connection closed after 600 of the 1,000 bytes its Content-Length announced."""
    headers = {"Content-Length": "1000"}


def test_fetch_rejects_a_download_shorter_than_content_length(tmp_path, monkeypatch):
    monkeypatch.setattr(dl.urllib.request, "urlopen", lambda url, timeout: ShortResponse(b"x" * 600))
    with pytest.raises(DataError, match=r"incomplete download of https://example\.org/f\.gz: got 600 of 1,000 bytes"):
        dl.fetch("https://example.org/f.gz", tmp_path / "dl" / "f.gz", progress=False)
    assert list((tmp_path / "dl").iterdir()) == []  # neither f.gz nor f.gz.part
    monkeypatch.setattr(dl.urllib.request, "urlopen", lambda url, timeout: ShortResponse(b"x" * 1000))
    assert dl.fetch("https://example.org/f.gz", tmp_path / "dl" / "f.gz", progress=False).stat().st_size == 1000


# ----------------------------------------------------------------------------- MovieLens

def write_ml1m(folder: Path, ratings: list[str], movies: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_bytes("\n".join(ratings).encode("latin-1") + b"\n")
    (folder / "movies.dat").write_bytes("\n".join(movies).encode("latin-1") + b"\n")


ML1M_RATINGS = ["2::20::5::300", "1::10::4::100", "1::30::2::100", "2::10::3::50", "1::20::5::90", "10::30::4::7"]
ML1M_MOVIES = ["10::Café Society (1999)::Comedy|Drama", "20::Heat (1995)::Action|Crime|Thriller",
               "30::Toy Story (1995)::Animation|Children's|Comedy"]


def test_ml1m_layout(tmp_path):
    write_ml1m(tmp_path, ML1M_RATINGS, ML1M_MOVIES)
    ds = load_movielens("ml-1m", data_dir=tmp_path, download=False, verify=False)  # a made-up subset
    assert ds.name == "ml-1m" and ds.interactions.user_ids == ["1", "2", "10"]  # numeric user order
    ids = ds.catalog.item_ids
    # user 1: t=90 (20), then t=100 twice: file order 10 before 30
    assert [ids[i] for i in ds.interactions.sequences[0]] == ["20", "10", "30"]
    assert ds.interactions.timestamps[0].tolist() == [90, 100, 100]
    assert [ids[i] for i in ds.interactions.sequences[1]] == ["10", "20"]
    k = ids.index("10")
    assert ds.catalog.titles[k] == "Café Society (1999)"  # latin-1 decoded, year kept
    assert ds.catalog.categories[k] == ["Movies", "Comedy"] and ds.catalog.tags[k] == ["Comedy", "Drama"]
    liked = load_movielens("ml-1m", data_dir=tmp_path, download=False, min_rating=4, verify=False)
    assert liked.interactions.n_interactions == 4 and liked.n_items == 3


def test_download_path_extracts_zip_and_checks_ml100k_checksum(tmp_path, monkeypatch):
    def fake_fetch(files):
        def fetch(url, dest, sha256=None, progress=True):
            with zipfile.ZipFile(dest, "w") as zf:
                for name, text in files.items():
                    zf.writestr(f"{Path(url).stem}/{name}", text.encode("latin-1"))
            return Path(dest)
        return fetch

    monkeypatch.setattr(dl, "fetch", fake_fetch({"ratings.dat": "\n".join(ML1M_RATINGS),
                                                 "movies.dat": "\n".join(ML1M_MOVIES), "README": "x"}))
    ds = load_movielens("ml-1m", data_dir=tmp_path / "m", download=True, verify=False)
    assert ds.interactions.n_interactions == 6
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["README", "movies.dat", "ratings.dat"]
    monkeypatch.setattr(dl, "fetch", fake_fetch({"u.data": "1\t1\t5\t10\n", "u.item": "1|A|||" + "|0" * 19}))
    with pytest.raises(DataError, match=r"checksum mismatch for u\.data"):
        load_movielens("ml-100k", data_dir=tmp_path / "h", download=True)
    def error_page(url, dest, sha256=None, progress=True):  # an HTML page instead of the archive
        Path(dest).write_bytes(b"<html>")
        return Path(dest)

    monkeypatch.setattr(dl, "fetch", error_page)
    with pytest.raises(DataError, match=r"ml-100k\.zip is not a valid zip archive") as err:
        load_movielens("ml-100k", data_dir=tmp_path / "z", download=True)
    assert one_message(err.value)


def test_ml1m_counts_must_match_the_release(tmp_path):
    write_ml1m(tmp_path, ML1M_RATINGS, ML1M_MOVIES)
    with pytest.raises(DataError) as err:
        load_movielens("ml-1m", data_dir=tmp_path, download=False, min_rating=4)  # counts the raw file
    msg = str(err.value)
    assert "MovieLens ml-1m in " + str(tmp_path) in msg and "the GroupLens ml-1m release" in msg
    assert "ratings.dat has 6 ratings (expected 1,000,209), 3 users (expected 6,040)" in msg
    assert "3 rated items (expected 3,706)" in msg and "movies.dat has 3 items (expected 3,883)" in msg
    assert "https://files.grouplens.org/datasets/movielens/ml-1m.zip" in msg and "verify=False" in msg
    with pytest.raises(DataError, match="does not match"):
        load_dataset("ml-1m", data_dir=str(tmp_path), download=False)
    assert load_dataset("ml-1m", data_dir=str(tmp_path), download=False, verify=False).interactions.n_interactions == 6


def test_malformed_lines_name_file_and_line(tmp_path):
    write_ml1m(tmp_path, ["1::10::4::100", "1::20::5::90", "1::20::five::90"], ML1M_MOVIES)
    with pytest.raises(DataError, match=r"ratings\.dat, line 3"):
        load_movielens("ml-1m", data_dir=tmp_path, download=False)
    write_ml1m(tmp_path, ML1M_RATINGS, ML1M_MOVIES + ["40::Broken"])
    with pytest.raises(DataError, match=r"movies\.dat, line 4: expected 3 fields"):
        load_movielens("ml-1m", data_dir=tmp_path, download=False)
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n1\t2\t3\n")
    (tmp_path / "u.item").write_text("")
    with pytest.raises(DataError, match=r"u\.data, line 2: expected 4 fields"):
        load_movielens("ml-100k", data_dir=tmp_path, download=False)


@pytest.mark.data
def test_ml100k_real_files():
    folder = need(ML100K)
    ds = load_dataset("ml-100k", data_dir=str(folder))
    assert (ds.n_users, ds.n_items, ds.interactions.n_interactions) == (943, 1682, 100_000)
    assert ds.info["sha256"] == SHA256["ml-100k"] and ds.info["verified"].startswith("sha256 of u.data, u.item match")
    assert ds.interactions.user_ids == [str(u) for u in range(1, 944)]
    cat = ds.catalog
    toy = cat.index_of("1")
    assert cat.titles[toy] == "Toy Story (1995)"
    assert cat.categories[toy] == ["Movies", "Animation"]
    assert cat.tags[toy] == ["Animation", "Children's", "Comedy"]
    assert cat.titles[cat.index_of("267")] == "unknown"
    # chronological per user, and equal timestamps keep u.data's line order
    line_of = {}
    for n, row in enumerate((folder / "u.data").read_text().splitlines()):
        u, i, _, _ = row.split("\t")
        line_of[(u, i)] = n
    ties = 0
    for u, seq, ts in zip(ds.interactions.user_ids, ds.interactions.sequences, ds.interactions.timestamps):
        assert np.all(np.diff(ts) >= 0)
        lines = [line_of[(u, cat.item_ids[i])] for i in seq]
        for k in np.flatnonzero(np.diff(ts) == 0):
            assert lines[k] < lines[k + 1]
            ties += 1
    assert ties > 50_000  # ML-100k is full of same-second ratings: the rule matters


def ml100k_copy(folder: Path, u_data: bytes, info: bool = True) -> Path:
    """A folder with the real u.item (and u.info), and ``u_data`` as u.data."""
    folder.mkdir()
    shutil.copy(need(ML100K) / "u.item", folder)
    if info:
        shutil.copy(ML100K / "u.info", folder)
    (folder / "u.data").write_bytes(u_data)
    return folder


@pytest.mark.data
def test_truncated_ml100k_is_an_error_unless_verify_false(tmp_path):
    full = (need(ML100K) / "u.data").read_bytes()
    folder = ml100k_copy(tmp_path / "half", full[: len(full) // 2])  # used to load as 766 users, no error
    with pytest.raises(DataError) as err:
        load_dataset("ml-100k", data_dir=str(folder))
    msg = str(err.value)
    assert f"MovieLens ml-100k in {folder} does not match its u.info" in msg
    assert "u.data has 50,177 ratings (expected 100,000), 766 users (expected 943)" in msg and "u.item has" not in msg
    assert "download https://files.grouplens.org/datasets/movielens/ml-100k.zip again" in msg
    assert "verify=False" in msg and one_message(err.value)
    # a subset on purpose: verify=False loads it, and min_rating still filters
    ds = load_dataset("ml-100k", data_dir=str(folder), verify=False)
    assert (ds.n_users, ds.interactions.n_interactions) == (766, 50_177) and "verify=False" in ds.info["verified"]
    liked = load_movielens("ml-100k", data_dir=folder, verify=False, min_rating=4)
    assert 0 < liked.interactions.n_interactions < 50_177
    # without u.info the known counts apply; a u.info that states the subset's counts is believed
    (folder / "u.info").unlink()
    with pytest.raises(DataError, match=r"does not match the GroupLens ml-100k release: u\.data has 50,177"):
        load_movielens("ml-100k", data_dir=folder)
    (folder / "u.info").write_text("766 users\n1682 items\n50177 ratings\n")
    assert load_movielens("ml-100k", data_dir=folder).info["verified"].startswith("counts match its u.info")


@pytest.mark.data
def test_ml100k_counts_decide_when_the_hash_differs(tmp_path):
    lines = (need(ML100K) / "u.data").read_bytes().splitlines(keepends=True)
    u, i, r, t = lines[0].split(b"\t")
    lines[0] = b"\t".join((u, i, b"5" if r != b"5" else b"4", t))  # one rating changed: same counts
    folder = ml100k_copy(tmp_path / "edited", b"".join(lines), info=False)
    ds = load_movielens("ml-100k", data_dir=folder)
    assert ds.info["sha256"]["u.data"] != SHA256["ml-100k"]["u.data"]
    assert ds.info["verified"] == "counts match the GroupLens ml-100k release: 100,000 ratings, 943 users, 1,682 items"
    (folder / "u.item").write_bytes(b"".join((ML100K / "u.item").read_bytes().splitlines(keepends=True)[:-1]))
    with pytest.raises(DataError, match=r"u\.item has 1,681 items \(expected 1,682\)"):
        load_movielens("ml-100k", data_dir=folder)


def run_cli(*args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "llmrec_mini.cli", *args], capture_output=True, text=True)
    return proc.returncode, proc.stderr


@pytest.mark.data
def test_cli_reports_a_damaged_file_in_one_line(tmp_path):
    full = (need(ML100K) / "u.data").read_bytes()
    ml = ml100k_copy(tmp_path / "ml", full[: len(full) // 2])
    amazon = tmp_path / "amazon"
    amazon.mkdir()
    reviews = (need(BEAUTY / "raw") / "reviews_Beauty_5.json.gz").read_bytes()
    (amazon / "reviews_Beauty_5.json.gz").write_bytes(reviews[:1000])
    shutil.copy(BEAUTY / "raw" / "meta_Beauty.json.gz", amazon)
    for dataset, folder, names in [("ml-100k", ml, ["u.data", "verify=False"]),
                                   ("amazon-beauty", amazon, ["reviews_Beauty_5.json.gz", "truncated"])]:
        code, err = run_cli("data", "stats", "--dataset", dataset, "--data-dir", str(folder))
        assert code == 2 and err.startswith("llmrec-mini: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err and all(n in err for n in names) and str(folder) in err


# ----------------------------------------------------------------------------- Amazon

def write_amazon(folder: Path, cat: str, reviews: list[tuple[str, str, int]], meta: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / f"reviews_{cat}_5.json.gz", "wt", encoding="utf-8") as f:
        for u, i, t in reviews:
            f.write(json.dumps({"reviewerID": u, "asin": i, "unixReviewTime": t, "overall": 5.0}) + "\n")
    with gzip.open(folder / f"meta_{cat}.json.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(meta) + "\n")


def test_category_names():
    assert category_name("beauty") == "Beauty"
    assert category_name("sports") == "Sports_and_Outdoors"
    assert category_name("toys-and-games") == "Toys_and_Games"
    assert category_name("clothing-shoes-and-jewelry") == "Clothing_Shoes_and_Jewelry"
    assert category_name("Cell_Phones_and_Accessories") == "Cell_Phones_and_Accessories"
    with pytest.raises(DataError, match="unknown Amazon 2014 category"):
        category_name("spaceships")


def test_k_core_is_iterative():
    # core 2, a cascade: item c has 1 review -> dropped; then user z has 1 left -> dropped; then item b
    # has 1 left -> dropped; then user y has 1 left -> dropped. Only x and w (items a, d) survive.
    ev = [("x", "a", 1), ("x", "d", 2), ("w", "a", 3), ("w", "d", 4),
          ("y", "a", 5), ("y", "b", 6), ("z", "b", 7), ("z", "c", 8)]
    assert k_core(ev, 2) == ev[:4]
    assert k_core(ev, 1) == ev and k_core(ev, None) == ev
    assert k_core(ev, 3) == []


def test_amazon_made_up_files(tmp_path):
    reviews = [("u1", "A", 30), ("u1", "B", 10), ("u1", "C", 10), ("u2", "B", 5), ("u2", "A", 6),
               ("u3", "C", 1), ("u3", "A", 2), ("u3", "B", 3), ("u4", "Z", 1)]  # u4/Z fall out of the 2-core
    meta = [
        "{'asin': 'Q', 'title': __import__('os').system('echo never')}",  # not reviewed: skipped unparsed
        "{'asin': 'A', 'title': 'Tom &amp; Jerry\\tsoap', 'categories': [['Beauty', 'Bath'], ['Gifts', 'Sets']],"
        " 'brand': 'Acme', 'price': 12.5, 'description': 'A  &lt;b&gt;'}",
        "{'asin': 'B', 'categories': [['Beauty', 'Makeup', 'Nails']]}",
        '{"asin": "C", "title": "It\'s C", "price": 3}',
    ]
    write_amazon(tmp_path / "raw", "Toys_and_Games", reviews, meta)
    ds = load_amazon("toys", data_dir=tmp_path, download=False, core=2)  # finds data_dir/raw
    assert ds.name == "amazon-toys-and-games" and ds.interactions.user_ids == ["u1", "u2", "u3"]
    assert ds.catalog.item_ids == ["B", "C", "A"]  # first appearance in the time-sorted sequences
    assert [s.tolist() for s in ds.interactions.sequences] == [[0, 1, 2], [0, 2], [1, 2, 0]]
    a = ds.catalog.index_of("A")
    assert ds.catalog.titles[a] == "Tom & Jerry soap" and ds.catalog.brands[a] == "Acme"
    assert ds.catalog.categories[a] == ["Beauty", "Bath"] and ds.catalog.tags[a] == ["Bath", "Sets"]
    assert ds.catalog.descriptions[a] == "A <b>" and ds.catalog.prices[a] == 12.5
    b = ds.catalog.index_of("B")
    assert ds.catalog.titles[b] == "" and np.isnan(ds.catalog.prices[b]) and ds.catalog.brands[b] == ""
    assert ds.info["reviews_in_file"] == 9 and ds.interactions.n_interactions == 8
    # a broken line of a reviewed item is an error with its line number; a non-literal is never run
    write_amazon(tmp_path / "bad", "Beauty", reviews, ["{'asin': 'A', 'title': print('x')}"])
    with pytest.raises(DataError, match=r"meta_Beauty\.json\.gz, line 1"):
        load_amazon("beauty", data_dir=tmp_path / "bad", download=False, core=2, verify=False)
    with gzip.open(tmp_path / "bad" / "reviews_Beauty_5.json.gz", "wt") as f:
        f.write('{"reviewerID": "u", "asin": "A", "unixReviewTime": 1}\n{"reviewerID": "u"}\n')
    with pytest.raises(DataError, match=r"reviews_Beauty_5\.json\.gz, line 2"):
        load_amazon("beauty", data_dir=tmp_path / "bad", download=False)


def test_amazon_counts_must_match_the_5core_statistics(tmp_path):
    reviews = [(f"u{k % 7}", f"I{k % 5}", k) for k in range(40)]
    write_amazon(tmp_path, "Beauty", reviews, [f"{{'asin': 'I{k}'}}" for k in range(5)])
    with pytest.raises(DataError) as err:
        load_amazon("beauty", data_dir=tmp_path, download=False, core=None)  # raw counts, whatever the core
    msg = str(err.value)
    assert f"Amazon 2014 Beauty in {tmp_path} does not match the official 5-core file" in msg
    assert ("reviews_Beauty_5.json.gz has 40 reviews (expected 198,502), 7 users (expected 22,363), "
            "5 items (expected 12,101)") in msg
    assert "https://snap.stanford.edu/data/amazon/productGraph/categoryFiles/reviews_Beauty_5.json.gz" in msg
    assert "verify=False" in msg and one_message(err.value)
    ds = load_dataset("amazon-beauty", data_dir=str(tmp_path), download=False, verify=False)
    assert ds.interactions.n_interactions == 40 and ds.info["verified"] == "gzip streams complete; counts not checked"
    names = ("reviews_Beauty_5.json.gz", "meta_Beauty.json.gz")
    assert ds.info["sha256"] == {n: dl.sha256_of(tmp_path / n) for n in names}
    # categories without known statistics are not count-checked
    write_amazon(tmp_path / "toys", "Toys_and_Games", reviews, [])
    assert "no known statistics" in load_amazon("toys", data_dir=tmp_path / "toys", download=False).info["verified"]


@pytest.mark.data
def test_truncated_or_corrupted_gzip_names_the_file(tmp_path):
    raw = need(BEAUTY / "raw")
    reviews = (raw / "reviews_Beauty_5.json.gz").read_bytes()
    flipped = bytearray(reviews)
    flipped[len(reviews) // 3] ^= 0x5A  # garbles a line: json fails before the CRC32 at the end would
    cases = {"reviews_Beauty_5.json.gz": [reviews[: len(reviews) // 2], bytes(flipped), reviews[:-4], b""],
             "meta_Beauty.json.gz": [(raw / "meta_Beauty.json.gz").read_bytes()[:-100]]}
    for name, broken in cases.items():
        for k, data in enumerate(broken):
            folder = tmp_path / f"{name}-{k}"
            folder.mkdir()
            for original in raw.iterdir():
                (folder / original.name).symlink_to(original)
            (folder / name).unlink()
            (folder / name).write_bytes(data)
            with pytest.raises(DataError) as err:
                load_amazon("beauty", data_dir=folder, download=False)
            assert str(err.value).startswith(f"{folder / name} is truncated or corrupted"), str(err.value)
            assert f"download https://snap.stanford.edu/data/amazon/productGraph/categoryFiles/{name}" in str(err.value)
            assert one_message(err.value)


@pytest.fixture(scope="module")
def beauty():
    return load_dataset("amazon-beauty", data_dir=str(need(BEAUTY / "raw")), download=False)


@pytest.mark.data
def test_beauty_reproduces_the_p5_benchmark(beauty):
    assert (beauty.n_users, beauty.n_items, beauty.interactions.n_interactions) == (22_363, 12_101, 198_502)
    p5 = {}
    for line in (BEAUTY / "p5" / "sequential_data.txt").read_text().splitlines():
        uid, *items = line.split()
        p5[uid] = items
    maps = json.loads((BEAUTY / "p5" / "datamaps.json").read_text())
    ours_to_p5, p5_to_ours = {}, {}
    seen_users = set()
    for k, (user, seq) in enumerate(zip(beauty.interactions.user_ids, beauty.interactions.sequences)):
        uid = maps["user2id"][user]  # match users by reviewerID
        assert uid == str(k + 1)  # users by first appearance = the P5 user order
        seen_users.add(uid)
        theirs = p5[uid]
        assert len(theirs) == len(seq)
        for ours, pid in zip(seq.tolist(), theirs):
            assert ours_to_p5.setdefault(ours, pid) == pid  # consistent at every position
            assert p5_to_ours.setdefault(pid, ours) == ours  # ... and one-to-one
    assert seen_users == set(p5) and len(ours_to_p5) == len(p5_to_ours) == 12_101
    # the documented ordering gives exactly the P5 ids (minus one), and the ASINs agree
    assert all(int(pid) == ours + 1 for ours, pid in ours_to_p5.items())
    assert all(maps["item2id"][asin] == str(i + 1) for i, asin in enumerate(beauty.catalog.item_ids))


@pytest.mark.data
def test_beauty_item_text(beauty):
    cat = beauty.catalog
    assert sum(bool(t) for t in cat.titles) == 12_094 and cat.brands is None and cat.prices is None
    assert all(c and c[0] == "Beauty" for c in cat.categories)
    assert not any("&amp;" in t or "\n" in t for t in cat.titles)
    assert beauty.interactions.timestamps is not None


@pytest.mark.data
def test_beauty_info_records_checksums_and_verification(beauty):
    assert beauty.info["sha256"] == {n: dl.sha256_of(BEAUTY / "raw" / n)
                                     for n in ("reviews_Beauty_5.json.gz", "meta_Beauty.json.gz")}
    assert beauty.info["verified"] == ("gzip streams complete; counts match the official 5-core file: "
                                       "198,502 reviews, 22,363 users, 12,101 items")
    assert all(np.all(np.diff(t) >= 0) for t in beauty.interactions.timestamps)
