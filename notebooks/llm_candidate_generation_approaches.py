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
# # Comparing LLM candidate-generation approaches
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/llm_candidate_generation_approaches.ipynb)
#
# A recommender's first stage, **candidate generation** (retrieval), picks a few hundred items out of
# the whole catalog for the later stages to rank. Language models enter this stage in very different
# ways: as an encoder of item and user text, as a generator that *writes* the next item's identifier,
# as a reasoner that turns behaviour into interests and tags, or only as a source of architectural
# ideas. This page puts every candidate generator of the package side by side, trained and evaluated
# the same way by `llmrec_mini.compare`: quality (Recall@10, NDCG@10), catalog coverage,
# invalid generated IDs, training time, inference latency, parameters and memory, first on the
# built-in shop, then on a real dataset (MovieLens-100k), and closes with a qualitative table of
# what each approach needs and gives.

# %% tags=["colab-install"]
EXTRAS, MODELS = "llm", ""  # what this note installs on Colab (extras, offline models)
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
import os
from pathlib import Path

from llmrec_mini.utils import full, smoke

SEED = 0
SMOKE = smoke()  # LLMREC_SMOKE=1 (the test suite): every size shrinks to a seconds-long run
FULL = full()  # LLMREC_FULL=1: larger data and the comparison settings on the real data too
# The default (neither switch) is what the site shows: it must run in at most 3 minutes on an idle
# 2-core CPU (`python scripts/execute_notes.py <page>` prints the time; the page's footer states it).
N_USERS, N_ITEMS = (150, 80) if SMOKE else (3000, 1500) if FULL else (600, 200)  # the built-in shop
QUICK = SMOKE  # True: the models' "tiny" presets only; False: compare.SETTINGS (more epochs, wider)
EVAL_USERS = 60 if SMOKE else None if FULL else 300  # held-out users scored (None: all)
# The real dataset: a folder with MovieLens-100k's files (u.data, u.item, ...); skipped when absent (Colab)
_root = os.environ.get("LLMREC_DATA_ROOT")
REAL_DATA_DIR = Path(_root) / "ml-100k" if _root else Path.cwd().resolve().parent.parent / "shared/data/ml-100k"
REAL_USERS, REAL_LENGTH = (60, 12) if SMOKE else (None, None) if FULL else (200, 20)  # sampled users, last events
REAL_QUICK = not FULL

# %%
import time

from IPython.display import display

import llmrec_mini
from llmrec_mini.compare import candidate_generators, compare, qualitative_table, sample_users
from llmrec_mini.data import load_dataset
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.models import MODELS
from llmrec_mini.utils import set_seed
from llmrec_mini.viz import quality_cost_figure

set_seed(SEED)
print("llmrec_mini", llmrec_mini.__version__)
start = time.perf_counter()

# %% [markdown]
# ## A map of the field
#
# Two surveys give the vocabulary. [Wu et al.](https://arxiv.org/abs/2305.19860)
# split LLM-based recommenders into **discriminative** ones, where a BERT-like model encodes users
# and items and a score compares them, and **generative** ones, where a GPT-like model produces the
# answer, either used as is (prompting, in-context learning) or tuned (fine-tuning, instruction
# tuning). They also name three roles: LLM *embeddings* feeding a recommender, LLM *tokens*
# (generated text or IDs) feeding a recommender, and the LLM *as* the recommender.
# [Lin et al.](https://arxiv.org/abs/2306.05817) ask **where** the LLM sits (feature
# engineering, feature encoder, scoring function, user interaction, pipeline controller) and
# **how** it is used (tuned or frozen; with or without a conventional recommender at inference).
#
# For candidate generation this gives five families, each with a page of its own here:
#
# * **Conventional sequence models and counts**: popularity, item-to-item transitions
#   (`llmrec_mini.models.revisit`), SASRec (`llmrec_mini.models.sasrec`) and its per-user adaptive
#   variant (`llmrec_mini.models.adaptive_user_layers`): the baselines every LLM method must beat.
# * **LLM as feature encoder** (discriminative): [FLARE](FLARE.md) adds frozen text embeddings to
#   SASRec's item IDs; [LinkedIn's dual encoder](linkedin_large_scale_retrieval.md) embeds member and
#   item prompts with one causal LM and retrieves by nearest neighbours.
# * **Generative retrieval with semantic IDs**: [TIGER](tiger.md) writes the next item's code tuple
#   with a small T5; [PLUM](plum/main.md) does it with a causal LM after continued pre-training;
#   [LUMEN](LUMEN.md) adds a narrative and critiques; [OneRec-Think](onerec_think/main.md) writes a
#   rationale before the item.
# * **LLM as reasoner over interests**: [RecGPT](recgpt/main.md) mines interests and tags from
#   behaviour, then matches tags to items.
# * **LLM-inspired, no LLM at serving**: [OnePiece](onepiece_framework/main.md) keeps a plain
#   Transformer but borrows context engineering and latent reasoning steps.
#
# ```mermaid
# flowchart LR
#   H["user history<br/>(+ item text)"] --> D{"how does the LLM enter?"}
#   D -->|"encoder: embed users and items"| E["FLARE, LinkedIn<br/>kNN over embeddings"]
#   D -->|"generator: write the item ID"| G["TIGER, PLUM, LUMEN, OneRec-Think<br/>beam search over semantic IDs"]
#   D -->|"reasoner: interests, tags"| R["RecGPT<br/>tags matched to items"]
#   D -->|"ideas only"| O["OnePiece<br/>Transformer + latent reasoning"]
#   D -->|"not at all"| B["popularity, transitions, SASRec"]
#   E --> C["candidates<br/>(top 10 here)"]
#   G --> C
#   R --> C
#   O --> C
#   B --> C
#   C --> K["ranking stage<br/>(VISTA, target attention)"]
# ```
#
# The ranking-stage models of the package, [VISTA](vista_architecture.md) and full target attention
# (`llmrec_mini.models.target_attention`), score a *given* candidate set and are left out: their class
# says `generates_candidates = False`.

# %%
generators = candidate_generators()
rankers = [n for n in MODELS if n not in generators]
print("candidate generators:", ", ".join(generators))
print("rankers (left out):  ", ", ".join(rankers))

# %% [markdown]
# ## One harness, every generator: the built-in shop
#
# `llmrec_mini.compare.compare` trains each generator with the small settings of
# `llmrec_mini.compare.SETTINGS` (minutes in all on a CPU) and scores every model on the same
# held-out users with the one evaluation harness (`llmrec_mini.evaluate.evaluate_metrics`, seen
# items excluded, leave-one-out). Its docstring says exactly what each cost column measures:
# latency is the median per-user time of the very `recommend` calls that produce the metrics;
# `model_mb` is the bytes of the weights and tables; `peak_rss_mb` is how far the process's
# memory rose during training.

# %%
shop = make_synthetic("default", n_users=N_USERS, n_items=N_ITEMS, seed=SEED)
split = leave_one_out(shop)
t0 = time.perf_counter()
table = compare(split, shop.catalog, quick=QUICK, max_users=EVAL_USERS, seed=SEED)
shop_seconds = time.perf_counter() - t0
table.sort_values("ndcg@10", ascending=False).round(4)

# %%
quality_cost_figure(table, quality="ndcg@10", cost="latency_ms", size="train_s",
                    title="Built-in shop: NDCG@10 against inference latency per user (marker area: training time)")

# %% tags=["hide-input"]
from llmrec_mini.notes import minutes, say


def summary(tab, where):
    """Sentences from a comparison table: who wins, by how much over popularity, what it costs."""
    pop = tab.loc["popularity", "ndcg@10"]
    best = tab["ndcg@10"].idxmax()
    beat = tab[tab["ndcg@10"] > pop].drop(index="popularity", errors="ignore")
    lose = [n for n in tab.index if n != "popularity" and n not in beat.index]
    if not len(beat):
        say("On {where} no generator beats popularity (NDCG@10 = {p:.3f}) at these sizes and settings.",
            where=where, p=pop)
    else:
        say("On {where} the best generator is {best} with NDCG@10 = {b:.3f} and Recall@10 = {r:.3f}, "
            "{ratio:.1f} times popularity's NDCG@10 ({p:.3f}).", where=where, best=best, b=tab.loc[best, "ndcg@10"],
            r=tab.loc[best, "recall@10"], ratio=tab.loc[best, "ndcg@10"] / max(pop, 1e-9), p=pop)
    if len(beat):
        cheap = beat["latency_ms"].idxmin()
        say("{n} of the {m} other generators beat popularity; the cheapest of them to serve is {c} "
            "({l:.3f} ms per user, NDCG@10 = {q:.3f}).", n=len(beat), m=len(tab) - 1, c=cheap,
            l=beat.loc[cheap, "latency_ms"], q=beat.loc[cheap, "ndcg@10"])
    if len(beat) and lose:
        say("Below popularity at this size: {names}.", names=", ".join(lose))
    counts = [n for n in ("revisit-counts",) if n in tab.index]
    if counts and best == counts[0]:
        say("A plain transition count wins here: on this data what followed what carries much of the signal.")
    slow_train, slow_serve = tab["train_s"].idxmax(), tab["latency_ms"].idxmax()
    say("Training took longest for {t} ({ts:.1f} s) and serving for {s} ({sl:.2f} ms per user, "
        "{x:.0f} times the fastest model).", t=slow_train, ts=tab.loc[slow_train, "train_s"], s=slow_serve,
        sl=tab.loc[slow_serve, "latency_ms"], x=tab.loc[slow_serve, "latency_ms"] / tab["latency_ms"].min())
    gen = tab[tab["invalid@10"].notna()]
    if len(gen):
        say("The generative models produced {inv:.1%} invalid IDs on average in their top 10.",
            inv=gen["invalid@10"].mean())


summary(table, "the built-in shop")
say("The whole comparison took {took}.", took=minutes(shop_seconds))

# %% [markdown]
# Read the cost columns together with quality. Count models and popularity have no parameters and
# answer in microseconds; the sequence models (SASRec, FLARE, OnePiece) cost one small Transformer
# pass per user; the generative ones pay a beam search through a decoder per user, and OneRec-Think
# also writes its rationale before the item. The tiny language models here, trained for an epoch or
# two, are far from what the papers' backbones reach at scale: the table ranks what these settings
# buy on a CPU, not the methods' ceilings.

# %% [markdown]
# ## A real dataset: MovieLens-100k
#
# The same call on real ratings (film titles and genres as item text). To keep
# the page within minutes it samples users and keeps each one's most recent events
# (`llmrec_mini.compare.sample_users`) and uses the models' tiny presets; the full-size run
# (`LLMREC_FULL=1`) takes every user and the comparison settings. The folder is a parameter
# (`REAL_DATA_DIR`, or `LLMREC_DATA_ROOT` holding `ml-100k/`); without it the section is skipped.

# %%
real = None
if not (REAL_DATA_DIR / "u.data").is_file():
    print(f"MovieLens-100k not found in {REAL_DATA_DIR}: skipping the real-data comparison "
          "(set LLMREC_DATA_ROOT to a folder holding ml-100k/ to run it)")
else:
    movies = load_dataset("ml-100k", data_dir=str(REAL_DATA_DIR))
    if REAL_USERS:
        movies = sample_users(movies, REAL_USERS, REAL_LENGTH, seed=SEED)
    t0 = time.perf_counter()
    real = compare(leave_one_out(movies), movies.catalog, quick=REAL_QUICK, seed=SEED)
    real_seconds = time.perf_counter() - t0
    display(real.sort_values("ndcg@10", ascending=False).round(4))

# %%
if real is not None:
    display(quality_cost_figure(real, quality="ndcg@10", cost="latency_ms", size="train_s",
                                title="MovieLens-100k: NDCG@10 against latency per user (marker area: training time)"))

# %% tags=["hide-input"]
if real is None:
    say("The real-data section was skipped: no MovieLens-100k folder at {path}.", path=str(REAL_DATA_DIR))
else:
    summary(real, "MovieLens-100k")
    say("The comparison on {u} users took {took}.", u=movies.n_users, took=minutes(real_seconds))

# %% [markdown]
# ## What each approach needs and gives
#
# Numbers say little about cold start, serving infrastructure or explanations. The table below,
# `llmrec_mini.compare.QUALITATIVE`, states them per model, following the surveys' synthesis and
# each method's paper: an LLM dual encoder handles new items from their text but needs a
# nearest-neighbour index and re-embedding; semantic-ID generation needs no index and can unify
# retrieval with ranking, at the price of possibly invalid or colliding IDs and a beam search per
# request; tag-based reasoning is readable but can go stale and leaves a gap between tags and items;
# an LLM-inspired ranker is cheap to serve but does not read text natively.

# %%
qualitative_table()

# %% [markdown]
# ## What changes at scale
#
# * **Catalog size.** Scoring every item (SASRec, FLARE, OnePiece, the count models) is a matrix
#   product over the catalog; at millions of items it becomes an approximate nearest-neighbour
#   search, an index to build and refresh. Generative models instead pay beam width x code levels
#   decoder steps, independent of the catalog size.
# * **Cold start.** Here every test item was seen in training. With many new items, the text-reading
#   models (FLARE, LinkedIn, the semantic-ID generators) keep working while ID-only models cannot
#   recommend what they never saw.
# * **Model size.** The language models here are tiny and barely trained; the papers' gains come
#   from billion-parameter backbones and much more data, which also multiplies training and serving
#   cost. The latency column is where that bill shows up first.
# * **Invalid IDs.** With more levels and sparser code tables, unconstrained generation writes codes
#   that name no item; constrained decoding (a trie of valid codes) removes them at some cost.
#
# ## Summary
#
# - Language models enter candidate generation as text encoders, as generators of item IDs, as
#   reasoners that write interests and tags, or only as a source of architectural ideas.
# - `llmrec_mini.compare` trains and evaluates every generator of the package the same way, so
#   differences in Recall@10 and NDCG@10 come from the methods, not the harness.
# - Quality is one column among several: catalog coverage, invalid generated IDs, training time,
#   latency and memory decide what can be deployed.
# - Results on the built-in shop and on MovieLens-100k need not agree; a real dataset is the check
#   on conclusions drawn from synthetic data.
#
# ## Exercises
#
# 1. Rerun the built-in comparison with `quick=True` and compare the tables: which models gain most
#    from more training?
# 2. Pass `settings={"sasrec": {"epochs": 30}}` to `compare`: does SASRec overtake the transition counts?
# 3. Hold out a share of items from training (cold items) and measure which generators can still
#    recommend them.
# 4. Add a row to `llmrec_mini.compare.QUALITATIVE` for a new model and check the test that guards it.

# %% [markdown] tags=["static-numbers"]
# ## References
#
# * L. Wu et al., *A Survey on Large Language Models for Recommendation*, arXiv 2305.19860.
# * J. Lin et al., *How Can Recommender Systems Benefit from Large Language Models: A Survey*, ACM TOIS, arXiv 2306.05817.
# * The methods' own papers are cited on their pages, linked above.

# %% tags=["hide-input"]
say("This page ran in {took}.", took=minutes(time.perf_counter() - start))
