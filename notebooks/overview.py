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
# # Overview of LLMs in recommender systems
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/overview.ipynb)
#
# A broad survey with one architecture diagram. This page places every method of the site in
# one picture, states the task they all solve, and runs the two baselines that every later page
# is measured against (a popularity list and SASRec) on the built-in data.
#
# A recommender that reads a user's history and returns a top-$K$ list can use a large language
# model in four places:
#
# 1. **Feature and item encoder.** The LLM turns item text (titles, brands, categories) and user
#    profiles into vectors or discrete codes. A conventional model then does the recommending.
# 2. **Scorer or ranker.** The LLM, or a Transformer trained like one, scores user–item pairs.
# 3. **Generator of item IDs.** Items get short token strings (*semantic IDs*), and the model
#    *generates* the next item token by token, as it would generate a sentence.
# 4. **Conversational controller or agent.** The LLM talks with the user, asks questions, parses
#    critiques ("something cheaper"), explains recommendations and decides when to call the
#    recommender.
#
# ## A map of the field
#
# Two surveys give the axes used throughout this site.
#
# - **Lin et al. ask *where* and *how*.** The *where* is the stage of the pipeline the LLM serves:
#   feature engineering, feature encoder, scoring or ranking function, user interaction, pipeline
#   controller. The *how* has two questions: is the LLM **tuned** on recommendation data or used
#   as is, and is a **conventional recommender model (CRM)** still run at inference?
# - **Wu et al. split discriminative from generative.** *Discriminative* LLM4Rec uses the model
#   to encode and score (BERT-style). *Generative* LLM4Rec produces the answer as text or tokens.
#   Generative methods are either **not tuned** (prompting, in-context learning) or **tuned**
#   (fine-tuning, prompt tuning, instruction tuning).
#
# Not every method here contains a language model. VISTA and OnePiece borrow LLM *ideas*
# (sequence transducers, context engineering, multi-step reasoning) but train Transformers on item
# IDs from scratch. That lineage of LLM-shaped recommenders is part of the story too.
#
# The diagram follows one request through an industrial cascade: understand the user and the
# items, generate candidates, rank them, then present or discuss them. Each box names the methods
# of this site that live at that stage.
#
# ```mermaid
# flowchart TB
#     U(["user: history, query, dialogue turns"]) --> ENC
#     C[("catalog: titles, brands, categories, prices")] --> ENC
#     subgraph ENC ["1 - LLM as feature and item encoder"]
#         direction TB
#         SID["`semantic IDs from item content
#         TIGER: text, PLUM: multi-modal`"]
#         EMB["`LLM embeddings of members and posts
#         LinkedIn`"]
#         TAG["`LLM mines interests, writes tags
#         RecGPT`"]
#         CTX["`context engineering
#         OnePiece`"]
#     end
#     ENC --> RET
#     subgraph RET ["2 - candidate generation, compared on one page"]
#         direction TB
#         GEN["`generate item IDs token by token
#         TIGER, PLUM, OneRec-Think, LUMEN`"]
#         KNN["`dual encoder + kNN index
#         LinkedIn`"]
#         TAR["`tag-aware retrieval
#         RecGPT`"]
#         BASE["`ID-based sequence models
#         SASRec, popularity: this page`"]
#     end
#     RET --> RANK
#     subgraph RANK ["3 - scoring and ranking"]
#         direction TB
#         VIS["`lifelong history at fixed cost
#         VISTA + quasi-linear attention`"]
#         OP["`block-wise reasoning ranker
#         OnePiece`"]
#         AUL["`per-user weights: LoRA, gates
#         adaptive user layers`"]
#     end
#     RANK --> CONV
#     subgraph CONV ["4 - conversational controller and narrator"]
#         direction TB
#         CRS["`ask or recommend policy
#         dialogue recommenders`"]
#         REG["`critiques in, narratives out
#         REGEN: FLARE hybrid, LUMEN unified`"]
#         EXP["`explanations per interest
#         RecGPT`"]
#     end
#     CONV --> OUT(["top-K list + explanation"])
#     classDef gen fill:#ffe8cc,color:#212529,stroke:#e8590c
#     classDef disc fill:#dbe4ff,color:#212529,stroke:#3b5bdb
#     classDef nolm fill:#f1f3f5,color:#212529,stroke:#868e96,stroke-dasharray:4 3
#     classDef either fill:#ffffff,color:#212529,stroke:#495057
#     class TAG,GEN,CRS,REG,EXP gen
#     class SID,EMB,KNN disc
#     class CTX,TAR,BASE,VIS,OP nolm
#     class AUL either
# ```
#
# Colours give the second axis. Orange boxes: a language model *generates* (item IDs, tags,
# questions, text). Blue boxes: a language model *encodes* (discriminative use). Grey dashed boxes:
# no language model at inference, either a conventional model or a Transformer that borrows LLM
# ideas. White: either, depending on the backbone the per-user layers adapt.
#
# The table puts each method on both surveys' axes. "CRM at inference" means a conventional,
# non-LLM model still does part of the serving work.
#
# | Page | Where the LLM enters | Discriminative or generative | LLM tuned? | CRM at inference |
# | --- | --- | --- | --- | --- |
# | [TIGER](tiger.md) | item encoder (Sentence-T5 → semantic IDs) + generator of item IDs | generative | seq2seq trained from scratch; text encoder frozen | no |
# | [PLUM](plum/main.md) | item encoder (multi-modal semantic IDs) + generator of item IDs | generative | pre-trained LLM, continued pre-training + fine-tuning | no |
# | [VISTA](vista_architecture.md) | scorer/ranker over a lifelong history (an LLM-style sequence transducer) | discriminative | no language model; trained from scratch | it *is* the ranker |
# | [Quasi-linear attention](quasi_linear_attention.md) | the attention inside VISTA's ranker | discriminative | n/a | n/a |
# | [REGEN](main.md) | conversational: critiques in, narratives out | generative | Gemini writes the data by prompting; the models are trained on it | FLARE: yes; LUMEN: no |
# | [FLARE](FLARE.md) | item encoder (mT5 text features) + an LLM narrator | hybrid | text encoder frozen; Gemma 2B narrator | yes (Bert4Rec) |
# | [LUMEN](LUMEN.md) | one LLM: critique → item IDs → narrative | generative | tuned | no |
# | [Dialogue recommender systems](dialogue_recommender_systems.md) | conversational controller, user simulator | generative | often zero-shot (prompting) | often |
# | [LinkedIn retrieval](linkedin_large_scale_retrieval.md) | feature encoder: a causal LM as dual encoder | discriminative | fine-tuned (InfoNCE) | yes (kNN, then a ranker) |
# | [OnePiece](onepiece_framework/main.md) | LLM ideas in a ranker: context engineering, block-wise reasoning | discriminative | no language model; trained from scratch | it *is* the ranker |
# | [RecGPT](recgpt/main.md) | feature engineering: interests and tags; explanations | generative (LLM) + discriminative (retrieval) | SFT, distillation, self-training | yes (tag-aware retrieval) |
# | [OneRec-Think](onerec_think/main.md) | generator: a rationale in text, then item IDs | generative | fine-tuned + RL (GRPO) | no |
# | [Candidate generation compared](llm_candidate_generation_approaches.md) | the retrieval stage across all of the above | both | both | both |
# | [Adaptive user layers](concept/concept_adaptive_user_layers.md) | per-user parameters inside the model (LoRA, gates) | either | parameter-efficient tuning | either |
#
# Two more pages sit outside the hub:
# [generative models used in recommenders](llm/models/generative_models.md) and
# [LLM architectures compared](llm/llm_architectures_comparison.md), which covers the attention
# variants.
#
# ## The task every page solves
#
# Users $u \in \mathcal{U}$ interact with items $i \in \mathcal{I}$. Each user has a chronological
# sequence $S_u = (i_1, i_2, \dots, i_{n_u})$. **Next-item prediction** asks for a score
# $s_\theta(h, i)$ for every item given a history $h$, so that the true next item ranks high:
#
# $$
# p_\theta(i_{t+1} = i \mid i_1, \dots, i_t) = \frac{\exp s_\theta(i_{1:t}, i)}{\sum_{j \in \mathcal{I}} \exp s_\theta(i_{1:t}, j)} .
# $$
#
# Generative methods produce the top-$K$ list by decoding instead of scoring every item. The
# evaluation below treats both the same way: it only needs the top-$K$ list.
#
# **Leave-one-out split** (SASRec, S3-Rec and TIGER all use it). For every user with
# $n_u \ge 3$:
#
# $$
# \underbrace{i_1, \dots, i_{n_u-2}}_{\text{train}}, \qquad
# \underbrace{i_{n_u-1}}_{\text{validation target}}, \qquad
# \underbrace{i_{n_u}}_{\text{test target}} .
# $$
#
# The test history is $i_{1:n_u-1}$; the validation history is $i_{1:n_u-2}$.
#
# **Full-catalog metrics.** Let $r_u$ be the 1-based rank of user $u$'s test target among all
# items the model may recommend, never a sample of negatives. With one relevant item per user,
# the ideal DCG is $1$, and over the evaluated users $\mathcal{U}_{\text{test}}$:
#
# $$
# \text{Recall@}K = \frac{1}{|\mathcal{U}_{\text{test}}|}\sum_{u} \mathbb{1}[r_u \le K], \qquad
# \text{NDCG@}K = \frac{1}{|\mathcal{U}_{\text{test}}|}\sum_{u} \frac{\mathbb{1}[r_u \le K]}{\log_2(r_u + 1)} .
# $$
#
# Recall@$K$ equals the hit rate HR@$K$ here. NDCG@$K$ also rewards *where* in the list the hit
# lands: rank $1$ counts $1$, rank $3$ counts $1/\log_2 4 = 0.5$, rank $10$ counts $1/\log_2 11 \approx 0.29$.
# The package also reports
# MRR@$K$ (the mean of $1/r_u$ for hits) and coverage@$K$ (the share of the catalog that appears
# in at least one top-$K$ list).
#
# **Seen items are excluded.** Before the top-$K$ is taken, the items already in the user's
# history are removed from the ranking. In the built-in data, as in Amazon 5-core and MovieLens
# ratings, a user never interacts with the same item twice. A seen item can therefore never be
# the target, and ranking it only wastes a slot. This is S3-Rec's and TIGER's full-ranking
# protocol. RecBole keeps seen items in the ranking; pass `exclude_seen=False` to compare with it.
# The run below measures how much this choice matters.

# %% tags=["colab-install"]
EXTRAS, MODELS = "", ""  # what this note installs on Colab (extras, offline models)
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
SMOKE = smoke()  # LLMREC_SMOKE=1 (the test suite): seconds
FULL = full()  # LLMREC_FULL=1: SASRec's full 30-epoch schedule; the default runs in about a minute on 2 cores

DATA_SIZE = "tiny" if SMOKE else "default"  # the built-in synthetic shop: tiny 200 users, default 3000
SASREC = dict(epochs=2 if SMOKE else 30 if FULL else 20)  # anything else: SASRec's defaults (see its page)
KS = (5, 10, 20)  # cut-offs for the metrics table

# %%
import time
import warnings

import numpy as np
import pandas as pd
import plotly.express as px

import llmrec_mini
from llmrec_mini.notes import minutes, say
from llmrec_mini.utils import set_seed

set_seed(SEED)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets: text bars are fine
pd.set_option("display.precision", 4)
print("llmrec_mini", llmrec_mini.__version__, "| size:", DATA_SIZE, "| SASRec:", SASREC)

# %% [markdown]
# ## The built-in data: a synthetic shop
#
# `load_dataset("synthetic")` generates a shop from a seed. Departments hold leaf categories
# (`Electronics > Cameras`). Items have a brand, title, price, tags and a description, and a
# Zipf-like popularity within their category. Users have sparse tastes that drift over time. After
# each item, the next one is often a specific *follow-up* (this camera → these lenses), another
# item of the same category, or an item of the complementary category. The
# [Datasets](datasets.md) page tells the whole generative story. The point for this page: order
# carries signal that a sequence model can learn and a popularity list cannot.

# %%
from llmrec_mini.data import load_dataset

data = load_dataset("synthetic", size=DATA_SIZE, seed=SEED)
stats = data.stats()
lengths = np.array([len(s) for s in data.interactions.sequences])
repeats = sum(len(s) - len(set(s.tolist())) for s in data.interactions.sequences)
pd.Series({k: v for k, v in stats.items() if k != "text_fields"}, name=stats["dataset"]).to_frame()

# %% tags=["hide-input"]
say("The shop has {users:,} users, {items:,} items and {n:,} interactions. Histories are {mean:.1f} items long "
    "on average (median {median:.0f}, shortest {shortest}), and {repeats}.",
    users=stats["users"], items=stats["items"], n=stats["interactions"], mean=lengths.mean(),
    median=np.median(lengths), shortest=lengths.min(),
    repeats="no user interacts with an item twice" if repeats == 0 else f"{repeats:,} interactions are repeats")

# %% [markdown]
# The catalog is a table. The text columns are what LLM-based methods read: TIGER and PLUM turn
# them into semantic IDs, and LinkedIn's dual encoder reads them directly.

# %%
catalog = data.catalog.to_frame()
catalog.head(8)

# %%
print(data.catalog.item_text(0, fields=("title", "brand", "categories", "price", "description")))

# %% [markdown]
# One user's history in titles shows the structure: runs within a category, and jumps to the
# complementary category.

# %%
user = int(np.argmax([len(s) >= 8 for s in data.interactions.sequences]))  # the first user with 8+ items
pd.DataFrame({"title": [data.catalog.title(i) for i in data.interactions.sequences[user][:8]],
              "category": [data.catalog.category(i) for i in data.interactions.sequences[user][:8]]})

# %% [markdown]
# ### Lengths, popularity and categories
#
# History lengths are skewed: most users have a short history and a few have long ones, as in
# Amazon review data.

# %% tags=["hide-input"]
px.histogram(x=lengths, nbins=40, labels={"x": "history length (items)", "count": "users"},
             title=f"History lengths: mean {lengths.mean():.1f}, median {np.median(lengths):.0f}, "
                   f"longest {lengths.max()}",
             height=330).update_layout(yaxis_title="users", bargap=0.05).show()

# %% [markdown]
# Item popularity has a long tail. On log-log axes a Zipf law is a straight line. Popularity is
# Zipf-like *inside* each category, and categories differ in appeal, so the global curve bends.

# %%
counts = np.bincount(np.concatenate(data.interactions.sequences), minlength=data.n_items)  # (n_items,)
ranked = np.sort(counts)[::-1]
top10 = ranked[: max(1, len(ranked) // 10)].sum() / ranked.sum()
say("The top tenth of the items takes {top10:.0%} of all interactions, and {never} items are never bought at all.",
    top10=top10, never=int((counts == 0).sum()))

# %% tags=["hide-input"]
nz = ranked[ranked > 0]
px.line(x=np.arange(1, len(nz) + 1), y=nz, log_x=True, log_y=True, markers=False,
        labels={"x": "item rank by popularity", "y": "interactions"},
        title="Item popularity: the long tail (log-log)", height=330).show()

# %%
leaf_names = data.info["leaves"]  # "Department > Leaf", one per leaf category
leaf_index = {name: k for k, name in enumerate(leaf_names)}
leaf_of = np.array([leaf_index[" > ".join(c)] for c in data.catalog.categories])  # (n_items,) leaf of each item
per_leaf = pd.DataFrame({"category": leaf_names,
                         "department": [n.split(" > ")[0] for n in leaf_names],
                         "interactions": np.bincount(leaf_of, weights=counts, minlength=len(leaf_names)).astype(int),
                         "items": np.bincount(leaf_of, minlength=len(leaf_names))})
per_leaf = per_leaf.sort_values("interactions", ascending=False)
say("The {n} leaf categories are uneven too: the largest, *{name}*, takes {share:.0%} of all interactions.",
    n=len(leaf_names), name=per_leaf.category.iloc[0], share=per_leaf.interactions.iloc[0] / per_leaf.interactions.sum())

# %% tags=["hide-input"]
px.bar(per_leaf, x="category", y="interactions", color="department", hover_data=["items"],
       title="Interactions per leaf category", height=400).update_layout(xaxis_tickangle=-45).show()

# %% [markdown]
# ### Is there sequential structure?
#
# For every consecutive pair $(i_t, i_{t+1})$ in the data, we ask how $i_{t+1}$ relates to
# $i_t$. Is it one of $i_t$'s follow-up items? Another item of the complementary category? Another
# item of the same category? Two baselines say what "chance" looks like:
#
# - **shuffled:** the same user's items in random order. The user's taste is kept, the order is
#   lost.
# - **popularity:** $i_{t+1}$ replaced by an item drawn at random by popularity. Both taste and
#   order are lost.
#
# The gap between *observed* and *shuffled* is signal that only a model that reads the order can
# use.

# %%
followups = [set(f) for f in data.info["followups"]]  # item -> its few follow-up items
complement = np.array(data.info["complement"])  # leaf -> its complementary leaf
rng = np.random.default_rng(SEED)


def transition_kinds(prev: np.ndarray, nxt: np.ndarray) -> dict:
    """Share of pairs (prev -> next) by relation; the kinds are exclusive, checked in this order."""
    is_follow = np.array([b in followups[a] for a, b in zip(prev, nxt)])
    is_comp = (complement[leaf_of[prev]] == leaf_of[nxt]) & ~is_follow
    is_same = (leaf_of[prev] == leaf_of[nxt]) & ~is_follow & ~is_comp
    return {"follow-up of previous item": is_follow.mean(), "complementary category": is_comp.mean(),
            "same category": is_same.mean(), "anything else": 1 - is_follow.mean() - is_comp.mean() - is_same.mean()}


def pairs(seqs):
    return (np.concatenate([s[:-1] for s in seqs]), np.concatenate([s[1:] for s in seqs]))


seqs = data.interactions.sequences
prev, nxt = pairs(seqs)
kinds = pd.DataFrame({
    "observed": transition_kinds(prev, nxt),
    "shuffled (same user)": transition_kinds(*pairs([rng.permutation(s) for s in seqs])),
    "popularity (random item)": transition_kinds(prev, rng.choice(data.n_items, size=len(prev), p=counts / counts.sum())),
})
kinds

# %% tags=["hide-input"]
long = kinds.drop(index="anything else").reset_index(names="next item is").melt(
    id_vars="next item is", var_name="pairs", value_name="share of transitions")
px.bar(long, x="next item is", y="share of transitions", color="pairs", barmode="group", text_auto=".1%",
       title="How the next item relates to the previous one, vs chance", height=400).show()

# %% tags=["hide-input"]
k = kinds.T  # rows: observed / shuffled / popularity
say("{f0:.0%} of transitions go to a follow-up of the previous item. With the same items shuffled the share "
    "drops to {f1:.0%}, and with a random item drawn by popularity it is {f2:.1%}. Same-category transitions are "
    "{s0:.0%}, against {s1:.0%} shuffled and {s2:.0%} at random. The remaining complementary-category share "
    "(moves to the complementary category that are not follow-ups) is {c0:.0%} in order and {c1:.0%} shuffled.",
    **{f"{key}{j}": k[col].iloc[j] for key, col in (("f", "follow-up of previous item"), ("s", "same category"),
                                                     ("c", "complementary category")) for j in range(3)
       if not (key == "c" and j == 2)})

# %% [markdown]
# The gap between the first two columns is the order signal, and most of it is "this item, then
# one of *its* follow-ups". A model must remember item-to-item links to use it; knowing the
# user's favourite categories is not enough.

# %% [markdown]
# ## Two baselines: popularity and SASRec
#
# **Popularity** scores every item by its number of training interactions,
# $s(h, i) = \#\{(u, t) : i^u_t = i\}$. It is the same list for everyone, minus the items the user
# has already seen. Every model on this site must beat it.
#
# **SASRec** (Kang and McAuley, ICDM; see the references) is a causal Transformer over item IDs, and the ID-based
# ancestor of the generative recommenders on this site. Item $i_t$ at position $t$ enters as
# $\mathbf{x}_t = \sqrt{d}\,\mathbf{E}_{i_t} + \mathbf{P}_t$. Self-attention with a causal mask
# lets position $t$ see only $i_1, \dots, i_t$:
#
# $$
# \operatorname{Attn}(\mathbf{Q},\mathbf{K},\mathbf{V}) = \operatorname{softmax}\!\Big(\frac{\mathbf{Q}\mathbf{K}^\top}{\sqrt{d}} + \mathbf{M}\Big)\mathbf{V},
# \qquad M_{tj} = \begin{cases} 0 & j \le t \\ -\infty & j > t \end{cases}
# $$
#
# After $L$ blocks, the output $\mathbf{h}_t$ scores every item against the shared embedding
# table: $r_{t,i} = \mathbf{h}_t^\top \mathbf{E}_i$. Each training sequence supervises every
# position at once. Two losses are in use, and the choice matters for published baselines:
#
# $$
# \mathcal{L}_{\text{CE}} = -\sum_t \log \frac{\exp r_{t,\,i_{t+1}}}{\sum_{j \in \mathcal{I}} \exp r_{t,j}},
# \qquad
# \mathcal{L}_{\text{BCE}} = -\sum_t \Big[\log \sigma(r_{t,\,i_{t+1}}) + \log\big(1 - \sigma(r_{t,\,j^-_t})\big)\Big].
# $$
#
# The first is a full softmax over the catalog (RecBole's SASRec, used here). The second is the
# paper's loss, with one uniformly sampled negative $j^-_t$ per position, and it gives the SASRec
# rows in the S3-Rec and TIGER tables. At serving time, $\mathbf{h}$ at the last position scores
# the whole catalog.
#
# Both models sit in the package's model registry and share one interface: `fit(split)`, then
# `recommend(histories, k)`.

# %%
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.models import get_model

split = leave_one_out(data)
print(split)

popularity = get_model("popularity").fit(split)

t0 = time.time()
sasrec = get_model("sasrec", **SASREC, seed=SEED, progress=False).fit(split)
train_seconds = time.time() - t0
history = pd.DataFrame(sasrec.result.history).set_index("epoch")
n_params = sum(p.numel() for p in sasrec.module.parameters())
print(f"SASRec: {n_params:,} parameters, {len(history)} epochs in {train_seconds:.0f} s, "
      f"best validation NDCG@10 {sasrec.result.best_score:.4f} at epoch {sasrec.result.best_epoch + 1}")
print({k: v for k, v in sasrec.train_config.__dict__.items() if k in ("epochs", "batch_size", "lr", "schedule")})
history.round(4)

# %% [markdown]
# The training curve shows the cross-entropy loss on the training windows and NDCG@10 on a fixed
# subset of validation users after every epoch. The learning rate follows a cosine schedule, and
# the loop keeps the weights of the best validation epoch.

# %% tags=["hide-input"]
from llmrec_mini.viz import training_curve_figure

training_curve_figure(sasrec.result, title="SASRec: training loss and validation NDCG@10 per epoch").show()

# %% tags=["hide-input"]
best, n_ep = sasrec.result.best_epoch + 1, len(history)
say("SASRec ({params:,} parameters) trained for {n} epochs in {time}, {per:.1f} s per epoch on this machine (the "
    "footer names its CPU). Its best validation NDCG@10, {score:.3f}, came at epoch {best}{tail}.",
    params=n_params, n=n_ep, time=minutes(train_seconds), per=float(history.seconds.mean()),
    score=float(sasrec.result.best_score), best=best,
    tail=", the last one, so more epochs might still help a little" if best == n_ep else
         f", {n_ep - best} before the end; those weights are the ones kept")

# %% [markdown]
# ## Results on held-out users
#
# `compare` evaluates both models with the same harness on every test user. It uses
# full-catalog ranking with seen items excluded, at each $K$ in `KS`.

# %%
from llmrec_mini.evaluate import compare, evaluate

table = compare({"popularity": popularity, "SASRec": sasrec}, split, ks=KS, progress=False)
cols = [f"{m}@{k}" for k in KS for m in ("recall", "ndcg")] + [f"coverage@{max(KS)}"]
table[["users"] + cols]

# %%
pop, sas = table.loc["popularity"], table.loc["SASRec"]
# seen items left in the ranking (RecBole's protocol): the same SASRec, scored the other way
with_seen = evaluate(sasrec, split, ks=(10,), exclude_seen=False, progress=False, name="SASRec, seen kept")
print(f"NDCG@10  popularity {pop['ndcg@10']:.4f}   SASRec {sas['ndcg@10']:.4f}   "
      f"(x{sas['ndcg@10'] / pop['ndcg@10']:.1f})   SASRec with seen items kept {with_seen['ndcg@10'].iloc[0]:.4f}")

# %% tags=["hide-input"]
bars = table[[f"recall@{k}" for k in KS] + [f"ndcg@{k}" for k in KS]].reset_index(names="model").melt(
    id_vars="model", var_name="metric", value_name="value")
px.bar(bars, x="metric", y="value", color="model", barmode="group", text_auto=".3f", height=380,
       title="Popularity vs SASRec on held-out users (full catalog, seen items excluded)").show()

# %% tags=["hide-input"]
say("On {users:,} test users and {items:,} items, popularity reaches Recall@10 = {pr:.3f} and NDCG@10 = {pn:.3f}; "
    "guessing at random would give Recall@10 $= 10/{items} \\approx {chance:.3f}$. SASRec reaches Recall@10 = {sr:.3f} "
    "and NDCG@10 = {sn:.3f}, {x:.1f} times popularity on NDCG@10. It also spreads its recommendations over far more "
    "of the catalog: coverage@20 is {sc:.2f}, against {pc:.2f} for the one popularity list everyone gets. Keeping "
    "seen items in the ranking lowers SASRec's NDCG@10 from {sn:.3f} to {kept:.3f}.",
    users=int(sas["users"]), items=data.n_items, pr=pop["recall@10"], pn=pop["ndcg@10"], chance=10 / data.n_items,
    sr=sas["recall@10"], sn=sas["ndcg@10"], x=sas["ndcg@10"] / pop["ndcg@10"], sc=sas["coverage@20"],
    pc=pop["coverage@20"], kept=float(with_seen["ndcg@10"].iloc[0]))

# %% [markdown]
# SASRec has learned the item-to-item follow-ups measured above, which popularity cannot see.
# With seen items kept, the model ranks some items the user already has highly, because they
# resemble the recent ones, and they take top-10 slots that can never be hits. A difference of
# this size can reorder close models, so always state which protocol a table uses.
#
# These are the reference numbers for the rest of the site: [TIGER](tiger.md) and the other
# generative retrievers are compared with this SASRec on the same split.

# %% [markdown]
# ## What changes at scale
#
# - **Catalogs of $10^7$–$10^9$ items.** A full softmax over the catalog, and full-catalog
#   evaluation, stop being affordable. Training moves to sampled softmax, in-batch negatives or
#   InfoNCE ([LinkedIn](linkedin_large_scale_retrieval.md)). Serving splits into a cascade:
#   candidate generation (kNN over embeddings, or generating semantic IDs) and then ranking. This
#   is why the [candidate-generation comparison](llm_candidate_generation_approaches.md) exists.
# - **Item IDs stop being enough.** New items arrive every minute and have no interactions yet.
#   Text and content embeddings, and semantic IDs built from them ([TIGER](tiger.md),
#   [PLUM](plum/main.md)), let a model recommend items it never saw in training. The embedding
#   table also shrinks from one row per item to a few codebooks.
# - **Histories of $10^4$–$10^6$ events.** SASRec's $O(L^2)$ attention over its last `max_len` items does
#   not reach a lifelong history. [VISTA](vista_architecture.md) compresses the history into a
#   fixed number of summary embeddings with
#   [quasi-linear attention](quasi_linear_attention.md) and caches them, so inference cost no
#   longer depends on history length.
# - **Latency and cost.** An LLM is orders of magnitude more expensive per request than SASRec.
#   Production systems run LLMs offline or nearline: LinkedIn embeds members and posts nearline,
#   RecGPT refreshes user interests every two weeks, and OneRec-Think's Think-Ahead generates the
#   reasoning offline. They keep a cheap model on the online path.
# - **Objectives beyond the next click.** Industrial systems align generators with rewards (DPO
#   in OneRec, GRPO in [OneRec-Think](onerec_think/main.md)) and track watch time, revenue and
#   diversity. Leave-one-out Recall@10 is a sanity check there, not the goal.
# - **Evaluation.** A time-based split (`llmrec_mini.data.sequences.time_split`) avoids training on
#   the future, which leave-one-out allows across users. Sampled metrics (rank among a hundred random
#   negatives) can reorder models, so this site always ranks the full catalog. Numbers on the
#   built-in data will not match the papers: they show *relative* behaviour at CPU scale.
#
# ## Summary
#
# - An LLM can sit in four places of a recommender: feature and item encoder, scorer or ranker,
#   generator of item IDs, and conversational controller.
# - Every page solves the same task: from a user's history, return a top-$K$ list, evaluated on
#   held-out users with Recall@K and NDCG@K.
# - The built-in shop (`llmrec_mini.data.synthetic.make_synthetic`) gives every method the same
#   items with text, categories, brands and prices.
# - Popularity and SASRec are the two baselines every later page must beat; a method that does not
#   beat popularity has not learned from users.
#
# ## Exercises
#
# 1. Train SASRec with `loss="bce"` (one sampled negative per position) instead of `"ce"`.
#    How far does NDCG@10 drop, and how does that change the gap to popularity? This gap is why
#    published SASRec baselines differ so much.
# 2. Regenerate the data with `make_synthetic(size="default", seed=0, p_follow=0.0)` (in
#    `llmrec_mini.data.synthetic`), rerun the transition plot and both models. How much of SASRec's
#    lead over popularity comes from the follow-up structure?
# 3. Evaluate with `llmrec_mini.data.sequences.time_split` instead of `leave_one_out`. Which model
#    loses more?
# 4. Place a method you know (for example P5, or an LLM used as a zero-shot reranker) on the
#    diagram and in the table: where does the LLM enter, is it tuned, and does a CRM remain at
#    inference?
# 5. Set `max_len=10` in `SASREC`. What does this tell you about how far back the useful signal in
#    this data goes?

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Lin et al., *How Can Recommender Systems Benefit from Large Language Models: A Survey*,
#   ACM TOIS, arXiv:2306.05817. The *where* and *how* axes.
# - Wu et al., *A Survey on Large Language Models for Recommendation*, arXiv:2305.19860.
#   Discriminative vs generative, tuned vs not tuned.
# - Kang and McAuley, *Self-Attentive Sequential Recommendation* (SASRec), ICDM 2018,
#   arXiv:1808.09781.
# - Rajput et al., *Recommender Systems with Generative Retrieval* (TIGER), NeurIPS 2023,
#   arXiv:2305.05065.
# - He et al., *PLUM: Adapting Pre-trained Language Models for Industrial-scale Generative
#   Recommendations*, arXiv:2510.07784.
# - Chen et al., *Massive Memorization with Hundreds of Trillions of Parameters for Sequential
#   Transducer Generative Recommenders* (VISTA), arXiv:2510.22049.
# - Zhai et al., *Actions Speak Louder than Words: Trillion-Parameter Sequential Transducers for
#   Generative Recommendations* (HSTU), ICML 2024, arXiv:2402.17152.
# - Su et al., *REGEN: A Dataset and Benchmarks with Natural Language Critiques and Narratives*,
#   arXiv:2503.11924; Hebert et al., *FLARE: Fusing Language Models and Collaborative
#   Architectures for Recommender Enhancement*, arXiv:2409.11699.
# - He et al., *Large Language Models as Zero-Shot Conversational Recommenders*, CIKM 2023,
#   arXiv:2308.10053.
# - Ramanujam et al., *Large Scale Retrieval for the LinkedIn Feed using Causal Language Models*,
#   arXiv:2510.14223.
# - Dai et al., *OnePiece: Bringing Context Engineering and Reasoning to Industrial Cascade
#   Ranking System*, arXiv:2509.18091.
# - *RecGPT Technical Report* (Taobao), arXiv:2507.22879.
# - Liu et al., *OneRec-Think: In-Text Reasoning for Generative Recommendation*, arXiv:2510.11639;
#   *OneRec*, arXiv:2502.18965.
# - Tan et al., *Democratizing Large Language Models via Personalized Parameter-Efficient
#   Fine-tuning* (OPPU), EMNLP 2024, arXiv:2402.04401; iLoRA, NeurIPS 2024, arXiv:2408.10159.
