# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # TIGER: generative retrieval with semantic IDs
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/tiger.ipynb)
#
# **TIGER** (Transformer Index for GEnerative Recommenders; Rajput et al., NeurIPS; see the references) turns
# retrieval into generation. A model such as SASRec scores every item in the catalog and takes the
# top $K$. TIGER instead *writes down* the next item's name, token by token, where the name is a
# short tuple of codes learned from the item's text: its **semantic ID**. It is the direct
# predecessor of [PLUM](plum/main.md), which puts the same IDs into a pre-trained LLM.
#
# This page builds TIGER from first principles and runs it on the built-in shop:
#
# 1. why atomic item IDs are a problem, and how **residual quantization** gives items IDs that
#    share prefixes when the items are similar;
# 2. the **RQ-VAE** that learns those IDs, its loss, codebook usage, and **collisions**;
# 3. the **sequence-to-sequence** Transformer that reads a history of IDs and generates the next
#    one, and **beam search**, where a generated ID may belong to no item at all;
# 4. a comparison with SASRec and popularity on the items seen in training, and then TIGER's case:
#    **cold start**, items that no user had bought when the models were trained;
# 5. an ablation of the ID type (random vs semantic; `FULL` adds LSH and RQ-KMeans).
#
# ```mermaid
# flowchart TB
#     subgraph ids ["1. Semantic IDs: once per catalog"]
#         direction LR
#         T["item text: title, brand, category, price"] --> E["sentence encoder"] --> Q["RQ-VAE"] --> ID["ID (c0, c1, c2, collision)"]
#     end
#     subgraph gen ["2. Retrieval: per user"]
#         direction LR
#         H["history as IDs"] --> ENC["T5 encoder"] --> DEC["T5 decoder: beam search"] --> M["IDs to items, drop invalid"] --> R["top-K"]
#     end
#     ids --> gen
# ```
#
# The whole method lives in the package: `llmrec_mini.semantic_ids` (RQ-VAE, RQ-KMeans, collision
# token, prefix trie) and `llmrec_mini.models.tiger` (the T5 model, training and beam search).

# %% tags=["colab-install"]
EXTRAS, MODELS = "text", ""  # what this note installs on Colab (extras, offline models)
import importlib, importlib.util, os, subprocess, sys
if ("google.colab" in sys.modules or os.environ.get("LLMREC_INSTALL") == "1") \
        and importlib.util.find_spec("llmrec_mini") is None:
    source = os.environ.get("LLMREC_INSTALL_FROM") or "git+https://github.com/llmrec-mini/llmrec-mini@main"
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.check_call(pip + [f"llmrec-mini[{EXTRAS}] @ {source}" if EXTRAS else f"llmrec-mini @ {source}"])
    if MODELS:
        subprocess.check_call(pip + ["--no-deps", *MODELS.split(",")])
    importlib.invalidate_caches()

# %% tags=["parameters"]
from llmrec_mini.utils import full, smoke

SEED = 0
SMOKE = smoke()  # LLMREC_SMOKE=1 (the test suite) shrinks everything to seconds
FULL = full()  # LLMREC_FULL=1: longer training and the four-way ID ablation; the default fits in ~3 min on 2 cores

DATA_SIZE = "tiny" if SMOKE else "default"  # the built-in shop: tiny 150 items, default 1,500 items
ENCODER = "auto"  # item text encoder: all-MiniLM-L6-v2 when installed, else the hashing encoder
LEVELS = 3  # codes per semantic ID before the collision token
CODEBOOK = 8 if SMOKE else 64  # codes per level (the paper: 256 for ~12k items)
RQVAE_EPOCHS = 20 if SMOKE else 200 if FULL else 100
COLD_SHARE = 0.1  # share of the test items held out of training (the paper: 5%)
EPSILON = 0.2  # cold start: at most this share of the top-K may be items unseen in training (the paper's epsilon)
TIGER = dict(d_model=64, n_layers=2, n_heads=4, d_kv=16, d_ff=256, dropout=0.0, max_history=20 if FULL else 10,
             n_user_buckets=2000, beam_size=20, val_users=100 if SMOKE else 250)
TIGER_TRAIN = dict(epochs=1 if SMOKE else 8 if FULL else 3, batch_size=128, lr=5e-3, warmup_steps=200,
                   schedule="inverse_sqrt", patience=3)
ABLATION_IDS = ("random", "lsh", "rqkmeans", "rqvae") if FULL or SMOKE else ("random", "rqvae")
ABLATION = dict(TIGER, n_layers=1)  # the ID ablation: a smaller model and a shorter budget per ID type
ABLATION_TRAIN = dict(TIGER_TRAIN, epochs=3 if FULL else 1)
SASREC_EPOCHS = 1 if SMOKE else 30 if FULL else 10
EVAL_USERS = 100 if SMOKE else None if FULL else 1000  # warm test users for the main table (None = all)
ABLATION_USERS = 100 if SMOKE else 1000 if FULL else 500  # warm test users for the ablation
BEAMS = 20 if SMOKE else 50  # free-decoding beam for the invalid-ID statistics
KS = (5, 10)

# %%
import time
import warnings

import numpy as np
import pandas as pd
import plotly.express as px
import torch

import llmrec_mini
from llmrec_mini.notes import minutes, say
from llmrec_mini.utils import set_seed

set_seed(SEED)
warnings.filterwarnings("ignore", message="IProgress not found")
warnings.filterwarnings("ignore", message="codebook_size=")  # tiny catalogs clamp the codebook, with a warning
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()  # no "Loading weights" bars in the page
pd.set_option("display.precision", 4)
print("llmrec_mini", llmrec_mini.__version__, "| size:", DATA_SIZE, "| full" if FULL else "")

# %% [markdown]
# ## Why not atomic item IDs?
#
# SASRec and its relatives give every item an arbitrary integer and learn one embedding row per
# item. This works, but:
#
# - **nothing is shared.** Two nearly identical lenses get unrelated embeddings, and each must
#   learn from its own interactions;
# - **new items are invisible.** An item added today has an untrained row, so the model cannot
#   recommend it (the cold-start problem);
# - **the table grows with the catalog.** At $10^8$ items the embedding table dominates the model,
#   and scoring every item for every request is expensive.
#
# TIGER replaces the integer by a **semantic ID**: a tuple $(c_0, c_1, c_2)$ of small integers
# derived from the item's content, coarse to fine. Similar items share a prefix: all cameras might
# start with the same $c_0$, the mirrorless ones with the same $(c_0, c_1)$. The vocabulary is now $m \cdot K$
# code tokens ($3 \times 256$ in the paper) whatever the catalog size. A sequence model over these
# tokens can generalise across items that share a prefix, and can even generate the ID of an item
# it never saw in training.
#
# ## The built-in data
#
# The synthetic shop of the [overview](overview.md) and [datasets](datasets.md) pages: items with
# a title, brand, category path and price, and users whose next item is often a specific
# *follow-up* of the previous one, or another item of the same category. TIGER writes one
# sentence per item from these fields (§3.1 of the paper), which a sentence encoder turns into a
# vector.
#
# To test TIGER's main promise we use a **cold-start split** (§4.3 of the paper,
# `llmrec_mini.data.sequences.cold_start`): leave-one-out as on the overview page, and then a
# share `COLD_SHARE` of the items that are test targets is removed from every training sequence
# and every history. No model sees these *cold* items during training, yet they stay in the
# catalog, with their text, and some users' next item is one of them.

# %%
from llmrec_mini.data import load_dataset
from llmrec_mini.data.sequences import cold_start
from llmrec_mini.text import encode_items, item_texts

data = load_dataset("synthetic", size=DATA_SIZE, seed=SEED)
split = cold_start(data, share=COLD_SHARE, seed=SEED)
catalog = data.catalog
cold_rows = np.isin(split.test.targets, split.cold_items)  # test users whose next item is cold
print(split)
print(f"cold items: {len(split.cold_items)}; test users with a cold next item: {cold_rows.sum()} of {len(cold_rows)}")
for i in range(3):
    print(item_texts(catalog)[i])

# %%
t0 = time.time()
embeddings = encode_items(catalog, encoder=ENCODER, progress=False)  # (n_items, d), unit-norm rows
print(f"item embeddings: {embeddings.shape}, {time.time() - t0:.0f} s")

# %% [markdown]
# ## Residual quantization, step by step
#
# A **quantizer** maps a vector $\mathbf{z} \in \mathbb{R}^d$ to the index of its nearest codebook
# entry. One codebook of $K$ entries can name only $K$ items. **Residual quantization** applies
# $m$ codebooks in turn, each to what the previous ones left unexplained:
#
# $$
# \mathbf{r}_0 = \mathbf{z}, \qquad
# c_d = \arg\min_k \big\lVert \mathbf{r}_d - \mathbf{e}^{(d)}_k \big\rVert^2, \qquad
# \mathbf{r}_{d+1} = \mathbf{r}_d - \mathbf{e}^{(d)}_{c_d}, \qquad d = 0, \dots, m-1,
# $$
#
# and the reconstruction is the sum of the chosen entries,
# $\hat{\mathbf{z}} = \sum_{d} \mathbf{e}^{(d)}_{c_d}$. $m$ codebooks of size $K$ name $K^m$
# cells ($256^3 \approx 1.7 \times 10^7$ in the paper) with only $mK$ vectors. The first code says
# roughly where the item is; each later code zooms in. That is what makes the ID *hierarchical*:
# items that share $c_0$ lie in the same coarse region.
#
# The figure runs two levels of residual k-means on 2-D toy points: the first codebook splits the
# points into coarse groups, the second quantizes the residuals, which all groups share.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from llmrec_mini.semantic_ids.rq_kmeans import kmeans

rng = np.random.default_rng(SEED)
centres = np.array([[0, 0], [6, 1], [2, 6]], dtype=float)
offsets = np.array([[-1, -1], [1, -1], [0, 1.2]], dtype=float)
toy = np.concatenate([c + o + 0.25 * rng.standard_normal((40, 2)) for c in centres for o in offsets])  # (360, 2)
e0, c0 = kmeans(toy, 3, seed=SEED)  # level 0: coarse groups
r1 = toy - e0[c0]  # residuals after level 0
e1, c1 = kmeans(r1, 3, seed=SEED)  # level 1: shared codebook for the residuals
recon = e0[c0] + e1[c1]

fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
colors = np.array(["#1f77b4", "#ff7f0e", "#2ca02c"])
axes[0].scatter(*toy.T, c=colors[c0], s=8)
axes[0].scatter(*e0.T, c="k", marker="x", s=80)
axes[0].set_title("level 0: $c_0$ = nearest of $e^{(0)}$ (x)")
axes[1].scatter(*r1.T, c=colors[c1], s=8)
axes[1].scatter(*e1.T, c="k", marker="x", s=80)
axes[1].set_title("residuals $r_1 = z - e^{(0)}_{c_0}$, coloured by $c_1$")
axes[2].scatter(*toy.T, c="lightgray", s=8, label="$z$")
axes[2].scatter(*recon.T, c=colors[c0], marker="s", s=25, label=r"$\hat z = e^{(0)}_{c_0} + e^{(1)}_{c_1}$")
axes[2].set_title(f"reconstruction: {len(e0)} x {len(e1)} = {len(e0) * len(e1)} cells")
axes[2].legend(loc="lower right", fontsize=8)
for ax in axes:
    ax.set_aspect("equal")
plt.tight_layout()
plt.show()
err = [float(np.linalg.norm(toy - e0[c0], axis=1).mean()), float(np.linalg.norm(toy - recon, axis=1).mean())]
print(f"mean reconstruction error: one level {err[0]:.2f}, two levels {err[1]:.2f}")

# %% [markdown]
# ## RQ-VAE: learning the codebooks
#
# TIGER does not quantize the sentence embedding $\mathbf{x}$ directly. An MLP encoder $E$ first
# maps it to a small latent $\mathbf{z} = E(\mathbf{x})$ ($768 \to 512 \to 256 \to 128 \to 32$ in the
# paper), residual quantization produces $\hat{\mathbf{z}}$, and a mirrored decoder $D$
# reconstructs $\hat{\mathbf{x}} = D(\hat{\mathbf{z}})$. Everything is trained together with
#
# $$
# \mathcal{L} = \underbrace{\lVert \mathbf{x} - \hat{\mathbf{x}} \rVert^2}_{\text{reconstruction}}
# + \sum_{d=0}^{m-1} \Big( \big\lVert \operatorname{sg}[\mathbf{r}_d] - \mathbf{e}^{(d)}_{c_d} \big\rVert^2
# + \beta \, \big\lVert \mathbf{r}_d - \operatorname{sg}[\mathbf{e}^{(d)}_{c_d}] \big\rVert^2 \Big),
# \qquad \beta = 0.25,
# $$
#
# where $\operatorname{sg}$ stops the gradient. The first term inside the sum pulls the chosen
# codebook entry towards the residual; the second (the *commitment* loss) keeps the encoder close
# to the codebook. The $\arg\min$ has no gradient, so the reconstruction gradient is copied
# straight through from $\hat{\mathbf{z}}$ to $\mathbf{z}$ (the straight-through estimator).
#
# The known failure is **codebook collapse**: most items land on a few codes and the IDs stop
# saying anything. The paper initialises each codebook with k-means on the first batch. The
# package also resets unused codes onto live residuals, and logs usage per level every epoch.

# %%
from llmrec_mini.semantic_ids import build_semantic_ids

t0 = time.time()
sids = build_semantic_ids(embeddings, method="rqvae", levels=LEVELS, codebook_size=CODEBOOK, seed=SEED,
                          epochs=RQVAE_EPOCHS, progress=False)
rqvae_seconds, m = time.time() - t0, sids.metrics
print(f"RQ-VAE: {LEVELS} levels x {m['codebook_size']} codes, {RQVAE_EPOCHS} epochs in {rqvae_seconds:.0f} s")
print("codebook usage per level:", [f"{u:.0%}" for u in m["usage"]],
      "| perplexity:", [f"{p:.0f}" for p in m["perplexity"]])
print(f"distinct {LEVELS}-code tuples: {m['unique_rate']:.1%} of items; "
      f"items in a collision: {m['collision_rate']:.1%} (largest group {m['max_collision']})")

# %% tags=["hide-input"]
from llmrec_mini.viz import rqvae_training_figure

rqvae_training_figure(sids).show()

# %% [markdown]
# **Why does the quantization loss rise while the codebooks are fine?** The quantization loss is
# measured in the latent space, and nothing fixes the scale of that space. The reconstruction
# term wants items far apart in $\mathbf{z}$, so the encoder spreads the latents out, and the
# codebook entries chase them. The residual distances grow with the latent's scale even when the
# codebook describes the latents *relatively* better and better. The package logs the latent's
# mean squared norm $\overline{\lVert \mathbf{z} \rVert^2}$ every epoch, so the two can be
# compared directly:

# %% tags=["hide-input"]
h0, h1 = sids.history[0], sids.history[-1]
rel0, rel1 = h0["rq"] / h0["latent_sq"], h1["rq"] / h1["latent_sq"]
say("From the first to the last epoch the quantization loss went from {q0:.2f} to {q1:.2f} (x{qr:.1f}), while "
    "the latent's mean squared norm grew from {z0:.2f} to {z1:.2f} (x{zr:.1f}). Relative to the size of what it "
    "quantizes, the quantization error went from {r0:.3f} to {r1:.3f}: {verdict}",
    q0=h0["rq"], q1=h1["rq"], qr=h1["rq"] / h0["rq"], z0=h0["latent_sq"], z1=h1["latent_sq"],
    zr=h1["latent_sq"] / h0["latent_sq"], r0=rel0, r1=rel1,
    verdict="the codes describe the latents better, and the rise is the latent space growing." if rel1 < rel0 else
            "the codes did not improve relative to the latent's scale; a longer run or more codes would help.")

# %% tags=["hide-input"]
say("At this size the RQ-VAE (trained in {secs}) uses {usage} of the codes at the three levels, with perplexities "
    "{perp}. {unique:.0%} of the items get a distinct {levels}-code tuple; {coll:.0%} share theirs with at least one "
    "other item (the largest group has {biggest}). The collision token below has real work to do here, more than in "
    "the paper, whose larger codebooks leave most tuples unique.",
    secs=minutes(rqvae_seconds), usage=" / ".join(f"{u:.0%}" for u in m["usage"]),
    perp=" / ".join(f"{p:.0f}" for p in m["perplexity"]), unique=m["unique_rate"], levels=LEVELS,
    coll=m["collision_rate"], biggest=m["max_collision"])

# %% [markdown]
# **Codebook usage.** A healthy codebook spreads items over many codes at every level. The
# perplexity $2^{H}$ (with $H$ the entropy of code use) is the number of equally used codes that
# would give the same spread.

# %% tags=["hide-input"]
from llmrec_mini.viz import code_treemap, codebook_usage_figure

codebook_usage_figure(sids).show()

# %% [markdown]
# ## Do the codes mean something?
#
# The first code should capture the coarsest property of an item. In this shop that is the
# category. For each level we measure **purity**: the share of items whose leaf category is the
# most common one among the items sharing the same prefix. Random codes give low purity; a prefix
# that pins the category gives $1$.

# %%
leaf = np.array([catalog.category(i) for i in range(catalog.n_items)])


def prefix_purity(codes: np.ndarray, labels: np.ndarray, length: int) -> float:
    """Share of items whose label is the majority label of their length-`length` prefix group."""
    groups = pd.DataFrame({"g": ["-".join(map(str, r)) for r in codes[:, :length]], "y": labels})
    return float(groups.groupby("g")["y"].agg(lambda s: s.value_counts().iloc[0]).sum() / len(groups))


purity = {f"prefix of {n} code(s)": prefix_purity(sids.codes, leaf, n) for n in range(1, LEVELS + 1)}
pd.Series(purity, name="category purity").to_frame()

# %% tags=["hide-input"]
say("The first code alone gives the leaf category for {p1:.0%} of the items ({n_leaf} categories, {k} first-level "
    "codes), and two codes for {p2:.0%}.", p1=purity["prefix of 1 code(s)"], p2=purity["prefix of 2 code(s)"],
    n_leaf=len(set(leaf)), k=sids.codebook_sizes[0])

# %% [markdown]
# Nobody told the RQ-VAE about categories: they are the strongest signal in the item text, so the
# coarsest code picks them up.
#
# The treemap shows the tree two levels at a time: each outer box is a first code $c_0$ (its area
# the number of items under it), the boxes inside are the $c_1$ codes that follow it. Click a box
# to drill down to $c_2$ and the items; hover for the titles and the commonest category.

# %% tags=["hide-input"]
code_treemap(sids, catalog, levels=2, max_items=600 if not SMOKE else 60).show()

# %% [markdown]
# Items that share a prefix, from the largest first-level group:

# %%
table = sids.to_frame()
table["title"] = [catalog.title(i) for i in range(catalog.n_items)]
table["category"] = leaf
biggest = table.c0.value_counts().index[0]
group = table[table.c0 == biggest].sort_values(["c1", "c2", f"c{LEVELS}"])
group[["item", "sid", "title", "category"]].head(12)

# %% [markdown]
# ## Collisions and the extra token
#
# Two items may get the same tuple $(c_0, c_1, c_2)$, for instance two colour variants whose text
# differs by one word. An ID must name exactly one item, so TIGER appends a fourth token: the
# item's index within its collision group, $(7, 1, 4) \to (7, 1, 4, 0), (7, 1, 4, 1), \dots$, and
# $0$ for items without a collision. Every ID then has length $L = m + 1$. The fourth token
# carries no meaning, and the model simply has to memorise it.

# %%
collided = table[table.group_size > 1].sort_values(["group_size", "sid"], ascending=[False, True])
collided[["item", "sid", "group_size", "title"]].head(8)

# %% [markdown]
# ## The sequence-to-sequence model
#
# TIGER is an encoder–decoder Transformer (T5). A user $u$ with history $i_1, \dots, i_t$ becomes
# the encoder input
#
# $$
# \big[\,\text{user}_u,\; c^{(i_{t-H+1})}_0, \dots, c^{(i_{t-H+1})}_{L-1},\; \dots,\;
# c^{(i_t)}_0, \dots, c^{(i_t)}_{L-1}\,\big],
# $$
#
# the last $H$ items (`max_history`; $H = 20$ in the paper), $L$ tokens each, after one token for
# the user: the user id hashed into a fixed number of buckets. The decoder generates the $L$ tokens
# of $i_{t+1}$. Training is teacher-forced cross-entropy over those tokens:
#
# $$
# \mathcal{L}(u, t) = -\sum_{l=0}^{L-1}
#   \log p_\theta\big(c^{(i_{t+1})}_l \,\big|\, c^{(i_{t+1})}_{<l},\; \text{user}_u,\; i_{\le t}\big),
# $$
#
# summed over every user and every position $t$ of the training sequences. Each code level has its
# own block of tokens (token $= \text{offset} + lK + c$), so "code $5$ at level $0$" and "code $5$
# at level $1$" are different words. One embedding table, shared by encoder and decoder, holds
# the special tokens, the user buckets and the code blocks; the diagram below draws it to scale.
# The package builds a randomly initialised `transformers.T5ForConditionalGeneration` from a
# `T5Config`; nothing is pre-trained.

# %%
from llmrec_mini.models import get_model

tiger = get_model("tiger", semantic_ids=sids, **TIGER, **TIGER_TRAIN, seed=SEED, progress=False)
tiger.untrained(catalog.n_items)  # builds T5 now so that we can look at the inputs; fit rebuilds it
user, hist_items = 0, split.train[0][:3]
input_ids, _ = tiger.encode_inputs([hist_items], users=np.array([user]))
print(tiger.vocab)  # the token layout, owned by llmrec_mini.semantic_ids.SIDVocab
print("history:", [catalog.title(i) for i in hist_items])
print("encoder input:", " ".join(tiger.vocab.describe(t) for t in input_ids[0]))
print("target (next item):", catalog.title(split.train[0][3]), "->",
      " ".join(tiger.vocab.describe(t) for t in tiger.vocab.encode(split.train[0][3])))
n_params = sum(p.numel() for p in tiger.module.parameters())
n_examples = int(sum(max(0, len(s) - 1) for s in split.train))
print(f"T5: {n_params:,} parameters, vocabulary {tiger.t5_config.vocab_size:,} tokens; "
      f"{n_examples:,} training examples (user, position)")

# %% tags=["hide-input"]
from llmrec_mini.viz import token_layout_figure

token_layout_figure(tiger.vocab, item=int(split.train[0][3]), describe_item=catalog.title,
                    reserved_name="user buckets").show()

# %% [markdown] tags=["static-numbers"]
# Training uses the package's one training loop (`llmrec_mini.train.train_model`): AdamW with a
# linear warm-up and then an inverse-square-root decay (the paper's schedule shape), validation
# NDCG@10 on a fixed subset of validation users after each epoch, and the weights of the best
# epoch kept.
#
# The paper's model is larger: 4+4 layers, width 128, 6 heads of 64 dimensions, MLP 1024, dropout
# 0.1, about 13M parameters, trained for 200k steps of batch 256 at learning rate 0.01.
# At CPU scale we use the `TIGER` settings of the parameters cell: 2+2 layers of width 64, no
# dropout, a shorter history and a few epochs.

# %%
t0 = time.time()
tiger.fit(split, catalog)
tiger_seconds = time.time() - t0
hist = pd.DataFrame(tiger.result.history).set_index("epoch")
print(f"TIGER: {len(hist)} epochs in {tiger_seconds:.0f} s; best validation NDCG@10 "
      f"{tiger.result.best_score:.4f} at epoch {tiger.result.best_epoch + 1}")
hist.round(4)

# %% tags=["hide-input"]
say("The model has {params:,} parameters. {n} epochs took {time} on this machine ({per:.0f} s each). The loss is "
    "the mean cross-entropy per code token: a uniform guess over the vocabulary would score $\\ln {V} \\approx "
    "{uniform:.1f}$, and the last epoch ends at {last:.2f}. Validation NDCG@10 went from {v0:.3f} after the first "
    "epoch to {v1:.3f} after the last{more}.",
    params=n_params, n=len(hist), time=minutes(tiger_seconds), per=float(hist.seconds.mean()),
    V=tiger.t5_config.vocab_size, uniform=float(np.log(tiger.t5_config.vocab_size)), last=float(hist.loss.iloc[-1]),
    v0=float(hist.score.iloc[0]), v1=float(hist.score.iloc[-1]),
    more=", still rising: a longer run (`FULL`) would help" if hist.score.iloc[-1] >= hist.score.max() else "")

# %% tags=["hide-input"]
from llmrec_mini.viz import training_curve_figure

training_curve_figure(tiger.result,
                      title="TIGER: training cross-entropy (per code token) and validation NDCG@10").show()

# %% [markdown]
# ## Retrieval by beam search
#
# At serving time the decoder generates $L$ tokens with **beam search**: it keeps the $B$
# most probable partial IDs at each step, extends each by every possible next token, and keeps
# the best $B$ again. The score of a complete ID is its log-probability
# $\sum_l \log p_\theta(c_l \mid c_{<l}, \text{history})$, and the top $K$ of the $B$ finished
# beams, mapped back to items, are the recommendation.
#
# Nothing forces the decoder to write an ID that exists. With $K^m$ possible tuples and only a few
# thousand items, most code sequences belong to no item: an **invalid ID**. The paper decodes
# freely, widens the beam, and drops invalid IDs, reporting that they are rare. Most
# reimplementations instead **constrain** each step to tokens that extend a real item's prefix,
# with a prefix trie over all IDs (`llmrec_mini.semantic_ids.TrieConstraint`). That is a deviation
# from the paper (which names prefix matching as future work), so the package offers both:
# `decoding="filter"` (the paper) and `decoding="trie"` (the default here). With `exclude_seen` the
# trie also prunes branches in which every item is already in the user's history, so every beam
# ends on a new item.
#
# The figure follows a small beam search for one test user, step by step
# (`llmrec_mini.llm.trace_beam_search`): at each level every live beam proposes its most probable
# codes; the best proposals become the next beams (blue), the others are outranked (grey), and
# proposals that no item's ID continues are pruned by the trie (red crosses). Hover a node for its
# token and cumulative log-probability.

# %% tags=["hide-input"]
from llmrec_mini.llm import trace_beam_search
from llmrec_mini.viz import beam_search_figure

u = int(np.flatnonzero(~cold_rows)[0])  # the first test user whose next item is warm
ids_u, mask_u = tiger.encode_inputs([split.test.histories[u]], split.test.users[u:u + 1])
trace = trace_beam_search(tiger.module, tiger.vocab, ids_u, mask_u, num_beams=3, per_beam=3, label=catalog.title)
beam_search_figure(trace).show()

# %% [markdown]
# One user's history and TIGER's top-$K$ list ($K = 10$ in the code below):

# %%
hist_u, target_u = split.test.histories[u], split.test.targets[u]
items, scores = tiger.recommend([hist_u], k=10, users=split.test.users[u:u + 1])
print("last 5 items of the history:")
for i in hist_u[-5:]:
    print(f"   {sids.code_of(i)}  {catalog.title(i)}  [{catalog.category(i)}]")
print(f"held-out next item: {sids.code_of(target_u)}  {catalog.title(target_u)}")
pd.DataFrame({"sid": [sids.code_of(i) for i in items[0]], "title": [catalog.title(i) for i in items[0]],
              "category": [catalog.category(i) for i in items[0]], "log p": scores[0],
              "hit": items[0] == target_u})

# %% [markdown]
# The recommendations stay close to the recent history. Items of one category share their first
# code or two, so the beam explores one region of the code tree at a time.
#
# ### Invalid IDs: free decoding vs the trie
#
# How often does free decoding write an ID that is no item? We decode a subset of the test users
# freely with a wide beam (`BEAMS`) and look at each rank of the returned list:


# %%
def invalid_by_rank(model, evalset, n_users: int, beams: int) -> np.ndarray:
    """Share of invalid IDs at each rank 1..beams of free (unconstrained) beam search."""
    sub = evalset.subset(n_users, seed=SEED)
    items = np.concatenate([model.generate(sub.histories[s:s + 50], sub.users[s:s + 50], num_beams=beams,
                                           decoding="filter")[0]
                            for s in range(0, len(sub), 50)])  # (n_users, beams), -1 = invalid
    return (items < 0).mean(0)


warm_test = split.test.select(~cold_rows)
n_invalid_users = 50 if SMOKE else 100
by_rank = invalid_by_rank(tiger, warm_test, n_invalid_users, BEAMS)
within = np.cumsum(by_rank) / np.arange(1, BEAMS + 1)  # share invalid among the top r
print(f"invalid IDs: top 10 {within[9]:.1%}, top 20 {within[19]:.1%}, top {BEAMS} {within[-1]:.1%}")

# %% tags=["hide-input"]
px.line(pd.DataFrame({"rank r": np.arange(1, BEAMS + 1), "invalid at rank r": by_rank,
                      "invalid among the top r": within}).melt(id_vars="rank r", value_name="share of users"),
        x="rank r", y="share of users", color="variable", height=360,
        title=f"Free beam search (beam {BEAMS}): invalid IDs by rank in the returned list").show()

# %% tags=["hide-input"]
say("Over {n} test users, free decoding wrote {t10:.1%} invalid IDs in the top 10, {t20:.1%} in the top 20 and "
    "{tall:.1%} over all {B} ranks. {verdict}",
    n=n_invalid_users, t10=within[9], t20=within[19], tall=within[-1], B=BEAMS,
    verdict=("The decoder has learned which codes follow which: its high-probability paths end on real items, as the "
             "paper found." if within[9] < 0.05 else
             "At this budget the decoder still spends top slots on IDs that are no item: the trie (or a wider beam "
             "and more training) is what keeps the list full."))

# %% [markdown]
# The trie earns its place either way: it guarantees $K$ valid, unseen items for every user
# whatever the beam width and however undertrained the model.
#
# ## TIGER vs SASRec vs popularity on warm items
#
# All three with the same harness: full-catalog ranking of the held-out test item, seen items
# excluded, on the test users whose next item was seen in training (*warm*). SASRec is the
# [overview](overview.md)'s baseline with its default settings and `SASREC_EPOCHS` epochs.

# %%
import dataclasses

from llmrec_mini.evaluate import compare, evaluate

warm = dataclasses.replace(split, test=warm_test)  # the same split, warm test users only
cold = dataclasses.replace(split, test=split.test.select(cold_rows))
popularity = get_model("popularity").fit(split)
t0 = time.time()
sasrec = get_model("sasrec", epochs=SASREC_EPOCHS, seed=SEED, progress=False).fit(split)
sasrec_seconds = time.time() - t0
models = {"popularity": popularity, "SASRec": sasrec, "TIGER": tiger}
main = compare(models, warm, ks=KS, max_users=EVAL_USERS, progress=False)
main.insert(1, "train seconds", [0, round(sasrec_seconds), round(tiger_seconds)])
main[["users", "train seconds"] + [f"{m}@{k}" for k in KS for m in ("recall", "ndcg")] + ["coverage@10"]]

# %% tags=["hide-input"]
bars = main[[f"{m}@{k}" for m in ("recall", "ndcg") for k in KS]].reset_index(names="model").melt(
    id_vars="model", var_name="metric", value_name="value")
px.bar(bars, x="metric", y="value", color="model", barmode="group", text_auto=".3f", height=380,
       title="Warm test users: full catalog, seen items excluded").show()

# %% tags=["hide-input"]
r = main["ndcg@10"]
say("On {users:,} warm test users TIGER reaches Recall@10 = {tr:.3f} and NDCG@10 = {tn:.3f}, {x:.1f} times "
    "popularity's NDCG@10 ({pn:.3f}). SASRec reaches {sr:.3f} and {sn:.3f} after {se} epochs ({ss}). Coverage@10 is "
    "{tc:.2f} for TIGER against {sc:.2f} for SASRec.",
    users=int(main.loc["TIGER", "users"]), tr=main.loc["TIGER", "recall@10"], tn=r["TIGER"], x=r["TIGER"] / r["popularity"],
    pn=r["popularity"], sr=main.loc["SASRec", "recall@10"], sn=r["SASRec"], se=len(sasrec.result.history),
    ss=minutes(sasrec_seconds), tc=main.loc["TIGER", "coverage@10"], sc=main.loc["SASRec", "coverage@10"])

# %% [markdown]
# On warm items an ID-based model with a full softmax over a small catalog is hard to beat: it
# has one embedding per item and a lot of data per item, and it sees every training position of a
# sequence in one pass. TIGER is smaller and less trained here. Its strengths are elsewhere: a
# fixed vocabulary, sharing across similar items, and items nobody has bought yet.
#
# Note also that the SASRec the paper's TIGER beats was trained with binary cross-entropy and one
# sampled negative (see below); the full-softmax SASRec used here is a much stronger baseline.
#
# ## Cold start: items that were never in training
#
# This is the case semantic IDs were made for. A cold item has no interactions, so SASRec's
# embedding row for it was never pulled towards any history: it was only ever a negative of the
# softmax, and the item sinks to the bottom of every ranking. Popularity counts zero for it. But
# its *text* is known, so it has a semantic ID, and that ID shares a prefix with similar warm
# items.
#
# The paper (§4.3) uses this directly. TIGER generates IDs as usual; each generated ID also
# retrieves the cold items whose first $m$ codes match it (all but the collision token, which
# the model cannot know for an item it never saw), and a parameter $\epsilon$ caps the share of
# cold items in the top $K$, here at most $\lfloor \epsilon K \rfloor$ of them. In the package
# this is a call argument: `tiger.recommend(h, k, cold_items=split.cold_items, cold_share=EPSILON)`.
#
# We evaluate on the test users whose next item is cold, and check what the cold slots cost on
# warm users.

# %%
cold_opts = dict(cold_items=split.cold_items, cold_share=EPSILON)
cold_table = pd.concat([
    compare({"popularity": popularity, "SASRec": sasrec}, cold, ks=KS, progress=False),
    evaluate(tiger, cold, ks=KS, progress=False, name="TIGER (no cold retrieval)"),
    evaluate(tiger, cold, ks=KS, progress=False, name=f"TIGER (epsilon = {EPSILON})", **cold_opts)])
warm_cost = evaluate(tiger, warm, ks=KS, max_users=EVAL_USERS, progress=False, name="TIGER on warm users", **cold_opts)
cold_table[["users"] + [f"{m}@{k}" for k in KS for m in ("recall", "ndcg")]]

# %% tags=["hide-input"]
eps_grid = sorted({0.0, 0.1, EPSILON, 0.5})
sweep = pd.DataFrame([{"epsilon": e,
                       "cold users": float(evaluate(tiger, cold, ks=(10,), progress=False, cold_items=split.cold_items,
                                                    cold_share=e)["recall@10"].iloc[0])} for e in eps_grid])
px.line(sweep, x="epsilon", y="cold users", markers=True, height=330,
        labels={"cold users": "Recall@10, users with a cold next item", "epsilon": "epsilon (cap on cold items in the top 10)"},
        title="Cold start: how many cold next items TIGER retrieves, by the cap epsilon").show()

# %% tags=["hide-input"]
ct = cold_table["recall@10"]
w0, w1 = main.loc["TIGER", "ndcg@10"], float(warm_cost["ndcg@10"].iloc[0])
say("On the {n} test users whose next item is one of the {n_cold} cold items, popularity and SASRec reach "
    "Recall@10 = {pr:.3f} and {sr:.3f}: {why}. TIGER without cold retrieval reaches {t0:.3f}; with cold retrieval "
    "(epsilon = {eps}) it reaches Recall@10 = {t1:.3f} and NDCG@10 = {t1n:.3f}, finding {hits} of them. On warm users "
    "the cold slots change NDCG@10 from {w0:.3f} to {w1:.3f} ({rel:+.0%}).",
    n=int(cold_table["users"].iloc[0]), n_cold=len(split.cold_items), pr=ct["popularity"], sr=ct["SASRec"],
    why="they cannot recommend an item they never saw bought" if max(ct["popularity"], ct["SASRec"]) == 0 else
        "an item never seen bought almost never reaches their top 10",
    t0=ct["TIGER (no cold retrieval)"], eps=EPSILON, t1=ct.iloc[-1], t1n=cold_table["ndcg@10"].iloc[-1],
    hits=round(ct.iloc[-1] * cold_table["users"].iloc[0]), w0=w0, w1=w1, rel=w1 / w0 - 1)

# %% [markdown]
# The cold items are found through their prefixes: a user who just bought a tent gets, next to
# the warm items TIGER generates, the new items whose first codes say "sleeping bag like the ones
# people buy after tents". The ranking *among* the cold items of one prefix is as good as the
# prefix allows: the model never saw them, so it cannot prefer one over another. This is the same
# trade-off the paper reports, with $\epsilon$ balancing new items against known ones.
#
# ## Ablation: what kind of ID?
#
# The paper's Table 2 trains the same seq2seq model on different kinds of IDs. Each model here gets
# the same, smaller budget (`ABLATION`: one encoder and one decoder layer; `ABLATION_TRAIN`: fewer
# epochs) and is evaluated on the same warm and cold test users, so compare the rows with each
# other, not with the tables above. The default runs two kinds; `FULL` runs all four:
#
# - **random**: every code drawn uniformly at random, so IDs carry no content;
# - **LSH**: each code is $\log_2 K$ sign bits of random hyperplane projections of the
#   embedding, so similar items tend to share codes, but levels are not coarse-to-fine;
# - **RQ-KMeans**: residual quantization with k-means codebooks (no network, as in GRID and OneRec);
# - **RQ-VAE**: the learned residual quantizer above.

# %%
from llmrec_mini.semantic_ids import build_semantic_ids

ablation = {}
for method in ABLATION_IDS:
    ids = sids if method == "rqvae" else build_semantic_ids(embeddings, method=method, levels=LEVELS,
                                                            codebook_size=sids.codebook_sizes[0], seed=SEED,
                                                            progress=False)
    t0 = time.time()
    model = get_model("tiger", semantic_ids=ids, **ABLATION, **ABLATION_TRAIN, seed=SEED, progress=False).fit(split, catalog)
    res = evaluate(model, warm, ks=KS, max_users=ABLATION_USERS, progress=False, name=method)
    res.insert(1, "train seconds", round(time.time() - t0))
    res["cold recall@10"] = float(evaluate(model, cold, ks=(10,), progress=False, **cold_opts)["recall@10"].iloc[0])
    res["c0 category purity"] = prefix_purity(ids.codes, leaf, 1)
    res["unique 3-code tuples"] = ids.metrics["unique_rate"]
    res[f"invalid IDs in top {BEAMS} (free decoding)"] = invalid_by_rank(model, warm_test, 50, BEAMS).mean()
    ablation[method] = res
ablation = pd.concat(ablation.values())
invalid_col = f"invalid IDs in top {BEAMS} (free decoding)"
ablation[["users", "train seconds", "recall@10", "ndcg@10", "cold recall@10", "c0 category purity",
          "unique 3-code tuples", invalid_col]]

# %% tags=["hide-input"]
a = ablation
say("Random IDs reach NDCG@10 = {rn:.3f} on warm users and Recall@10 = {rc:.3f} on cold ones; the RQ-VAE's semantic "
    "IDs reach {qn:.3f} and {qc:.3f}. The first random code groups items of one category {rp:.0%} of the time, the "
    "RQ-VAE's {qp:.0%}.{others}",
    rn=a.loc["random", "ndcg@10"], rc=a.loc["random", "cold recall@10"], qn=a.loc["rqvae", "ndcg@10"],
    qc=a.loc["rqvae", "cold recall@10"], rp=a.loc["random", "c0 category purity"],
    qp=a.loc["rqvae", "c0 category purity"],
    others="".join(f" {name}: NDCG@10 = {a.loc[key, 'ndcg@10']:.3f}, cold Recall@10 = {a.loc[key, 'cold recall@10']:.3f}."
                   for key, name in (("lsh", "LSH"), ("rqkmeans", "RQ-KMeans")) if key in a.index))

# %% [markdown]
# Random codes give the model nothing to share between items: every ID must be memorised from its
# own interactions, and a cold item's random prefix points nowhere, so cold retrieval finds it
# only by chance. LSH codes are content-based but flat: each level is an independent set of
# hyperplanes, so a shared first code says little. The residual quantizers put the category in
# the first code and refine from there, which is what lets a generated prefix reach a cold item.
# The last column shows the price of sharing: a model that generalises across prefixes also gives
# probability to code combinations that look like real items but do not exist, while a memorised
# random ID is always valid.

# %% [markdown] tags=["static-numbers"]
# ## The paper's numbers
#
# TIGER's Table 1 on three Amazon 5-core categories (leave-one-out, full ranking; each cell is
# Recall@5 / NDCG@5 / Recall@10 / NDCG@10):
#
# | Method | Sports and Outdoors | Beauty | Toys and Games |
# |---|---|---|---|
# | SASRec | .0233 / .0154 / .0350 / .0192 | .0387 / .0249 / .0605 / .0318 | .0463 / .0306 / .0675 / .0374 |
# | S3-Rec | .0251 / .0161 / .0385 / .0204 | .0387 / .0244 / .0647 / .0327 | .0443 / .0294 / .0700 / .0376 |
# | **TIGER** | **.0264 / .0181 / .0400 / .0225** | **.0454 / .0321 / .0648 / .0384** | **.0521 / .0371 / .0712 / .0432** |
#
# and its ID ablation (Table 2), the same cell format:
#
# | ID type | Sports | Beauty | Toys |
# |---|---|---|---|
# | Random ID | .007 / .005 / .0116 / .0063 | .0296 / .0205 / .0434 / .0250 | .0362 / .0270 / .0448 / .0298 |
# | LSH SID | .0215 / .0146 / .0321 / .0180 | .0379 / .0259 / .0533 / .0309 | .0412 / .0299 / .0566 / .0349 |
# | RQ-VAE SID | the TIGER row above | | |
#
# Two cautions when reading them. The baseline rows come from S3-Rec's experiments, where SASRec
# is trained with its original binary cross-entropy loss and one sampled negative (as
# reimplementers point out); SASRec trained with a full softmax, as on this site, scores much
# higher on the same data, so TIGER's margin over "SASRec" depends on which SASRec. And the
# absolute numbers are much lower than on our shop, whose next items follow strong, learnable
# rules.

# %% tags=["hide-input"]
import json
from pathlib import Path

beauty_file = Path("..") / "docs" / "bench" / "amazon-beauty.json"  # written by `llmrec-mini bench amazon-beauty`
if beauty_file.is_file():
    rows = {r["model"]: r for r in json.loads(beauty_file.read_text())["rows"] if r["seen items"] == "excluded"}
    t, pop, bce, ce = (rows.get(k) for k in ("tiger (CPU config)", "popularity", "sasrec (BCE)", "sasrec (CE)"))
    if t and pop and bce and ce:
        say("Our own Beauty runs are on the [reproduction](reproduction.md) page. There, a CPU-sized TIGER trained for "
            "{ep} epochs reaches Recall@10 = {tr:.3f} and NDCG@10 = {tn:.3f}: {x:.1f} times popularity's NDCG@10 and "
            "{paper:.0%} of the paper's Recall@10. That is {b1:.0%} / {b2:.0%} of a SASRec trained with binary "
            "cross-entropy like the paper's baseline ({br:.3f} / {bn:.3f}), and {c1:.0%} / {c2:.0%} of the "
            "full-softmax SASRec ({cr:.3f} / {cn:.3f}).",
            ep=t["epochs"], tr=t["recall@10"], tn=t["ndcg@10"], x=t["ndcg@10"] / pop["ndcg@10"],
            paper=t["recall@10"] / 0.0648, b1=t["recall@10"] / bce["recall@10"], b2=t["ndcg@10"] / bce["ndcg@10"],
            br=bce["recall@10"], bn=bce["ndcg@10"], c1=t["recall@10"] / ce["recall@10"], c2=t["ndcg@10"] / ce["ndcg@10"],
            cr=ce["recall@10"], cn=ce["ndcg@10"])
else:
    say("Our own Beauty runs are on the [reproduction](reproduction.md) page of the site.")

# %% [markdown]
# ## What changes at scale
#
# - **Semantic IDs pay off with size.** With $10^4$–$10^8$ items the ID vocabulary stays at
#   $mK$ tokens while an atomic embedding table grows linearly, and items with few interactions
#   borrow strength from their prefix. On a small catalog, SASRec can afford one row per item.
# - **Cold start.** A new item gets an ID from its text immediately, and the run above shows that
#   a generated prefix reaches it; at scale, new items arrive every minute.
# - **Codebooks.** The paper uses $3 \times 256$ codes for about $12$k items, trained for $20$k
#   epochs with k-means initialisation; collapse and collisions must be monitored (usage per
#   level, unique-ID rate), and reimplementations report collapse as their most common failure.
# - **Decoding cost.** Beam search costs $L$ decoder passes per beam, independent of the catalog
#   size: this is what makes generative retrieval attractive for huge catalogs. The trie costs
#   memory proportional to the number of items; free decoding needs a wider beam to survive
#   invalid IDs.
# - **Bigger models.** [PLUM](plum/main.md) continues pre-training a Gemini-class LLM on semantic
#   IDs and text together, and generates IDs with the LLM; see also the
#   [candidate-generation comparison](llm_candidate_generation_approaches.md).
#
# ## Summary
#
# - Semantic IDs replace atomic item IDs with short tuples of codes learned from item text by
#   residual quantization, so similar items share prefixes.
# - The RQ-VAE must be watched for codebook collapse and collisions; an extra token makes every ID
#   unique.
# - A sequence-to-sequence Transformer generates the next ID by beam search; a trie keeps generated
#   IDs valid, without it some IDs name no item.
# - Against SASRec and popularity, TIGER's distinctive case is cold start: a new item gets an ID
#   from its text and can be generated before anyone has bought it.
#
# ## Exercises
#
# 1. Set `CODEBOOK = 256` (the paper's size). How many items share a first code now, how does the
#    category purity of $c_0$ change, and what happens to TIGER's NDCG@10?
# 2. Train TIGER with `n_user_buckets=0` (no user token). The paper reports a small drop on Beauty;
#    what happens here, where users have strong personal tastes?
# 3. Decode with `decoding="filter"` and a narrow beam after only one training epoch. How often
#    are IDs invalid early in training, and how fast does the rate fall?
# 4. Raise `COLD_SHARE`. At what point does TIGER's cold-start recall fall, and why (think about
#    how many warm items are left to teach each prefix)?
# 5. Replace the RQ-VAE by RQ-KMeans with `levels=2` or `levels=4`. How do the collision rate, the
#    warm results and the cold-start recall change?

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Rajput, Mehta, Singh, Keshavan, Vu, Heldt, Hong, Tay, Tran, Samost, Kula, Chi, Sathiamoorthy.
#   *Recommender Systems with Generative Retrieval.* NeurIPS 2023, arXiv:2305.05065.
# - Zeghidour et al. *SoundStream: An End-to-End Neural Audio Codec* (residual vector
#   quantization), 2021; Lee et al. *Autoregressive Image Generation using Residual Quantization*
#   (RQ-VAE), CVPR 2022.
# - Raffel et al. *Exploring the Limits of Transfer Learning with a Unified Text-to-Text
#   Transformer* (T5), JMLR 2020.
# - Kang and McAuley. *Self-Attentive Sequential Recommendation* (SASRec), ICDM 2018.
# - Zhou et al. *S3-Rec*, CIKM 2020: the source of the baseline numbers in TIGER's Table 1.
# - Reimplementations: EdoardoBotta/RQ-VAE-Recommender, XiaoLongtaoo/TIGER, snap-research/GRID.
