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
# # OneRec-Think: reasoning in text before the item
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/onerec_think/main.ipynb)
#
# Kuaishou's **OneRec** generates the next videos as semantic IDs (SIDs) with one generative model
# that replaced the retrieve-then-rank cascade. **OneRec-Think** (Liu et al., Kuaishou; see the
# references) puts a language model's habit in front of it: before writing the item's ID the model
# writes a short **rationale in text**, and it is trained, then reinforced, to make that rationale
# useful for the item that follows. The backbone is a Qwen LLM (Qwen3-1.7B on public data, Qwen-8B in
# production) whose vocabulary gains the item tokens. This page builds every stage with
# `llmrec_mini.models.onerec_think` on the built-in shop:
#
# 1. **itemic alignment**: residual k-means SIDs, an *embedding-only* warm-up of the new tokens, then
#    a four-task next-token mix (persona grounding, sequential preference, item captioning, text);
# 2. **reasoning activation**: a category chain of thought before the ID, trained with $\mathcal{L}_{RA}$;
# 3. **reasoning enhancement**: GRPO with the *rollout-beam* reward;
# 4. the ablation base → + itemic alignment → + reasoning → + GRPO beside popularity and SASRec, and
#    the **Think-Ahead** split of decoding into an offline and an online part.
#
# ```mermaid
# flowchart LR
#     T["item text"] --> SID["RQ-k-means SIDs (3 x 64 + collision)"]
#     SID --> W["token warm-up: only the new rows train"]
#     LM["LM pre-trained on text"] --> W
#     W --> MT["multi-task alignment: persona / sequence / caption / text"]
#     MT --> RA["reasoning activation: rationale, then SID (L_RA)"]
#     RA --> G["GRPO: rollout-beam reward"]
#     G --> S["serve: rationale beams, then SID beams under the trie"]
#     S --> TA["Think-Ahead: rationale + first L-1 tokens offline, last token online"]
# ```

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
from llmrec_mini.utils import full, smoke

SEED = 0
SMOKE = smoke()  # LLMREC_SMOKE=1 (the test suite): seconds
FULL = full()  # LLMREC_FULL=1: a larger shop and longer training (about a quarter of an hour)
# The default (neither switch) runs in under three minutes on an idle 2-core CPU.
N_USERS, N_ITEMS = (150, 80) if SMOKE else (1000, 300) if FULL else (300, 120)  # the built-in shop
SID = dict(levels=2 if SMOKE else 3, codebook_size=16 if SMOKE else 64)  # residual k-means, + a collision token
MODEL = dict(d_model=32 if SMOKE else 64 if FULL else 48, n_layers=1 if SMOKE else 2, n_heads=2 if SMOKE else 4,
             lm_steps=20 if SMOKE else 100 if FULL else 80, token_warmup_steps=10 if SMOKE else 40,
             cpt_steps=20 if SMOKE else 300 if FULL else 100, epochs=1 if SMOKE else 6 if FULL else 4,
             batch_size=32, num_beams=10, rationale_beams=2 if SMOKE else 5 if FULL else 3, val_users=20 if SMOKE else 30,
             grpo_steps=0)
GRPO_STEPS = 3 if SMOKE else 40 if FULL else 8  # reasoning enhancement, on top of the reasoning model
SASREC = dict(epochs=1 if SMOKE else 20, max_minutes=None if FULL else 0.3)
SHOW = 4  # rationales printed

# %%
import copy
import time
import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go

import llmrec_mini
from llmrec_mini.notes import minutes, say
from llmrec_mini.utils import set_seed

set_seed(SEED)
warnings.filterwarnings("ignore", message="IProgress not found")
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()
pd.set_option("display.precision", 4)
t_start = time.perf_counter()
print("llmrec_mini", llmrec_mini.__version__, "| shop:", N_USERS, "users x", N_ITEMS, "items", "| full" if FULL else "")

# %% [markdown] tags=["static-numbers"]
# ## The setting: OneRec, and why reason in text
#
# OneRec generates items as sequences of semantic-ID tokens: each item is a short tuple of codes
# $s = (s^1, \dots, s^L)$ from residual k-means over item embeddings, and a model writes $s$ one token
# at a time under a prefix trie, so every output is a real item. OneRec-Think keeps that output and
# moves it into a pre-trained LLM, so the model can first write **why**: a rationale $r$ in words,
# then the item tokens, in one autoregressive pass. Three stages teach it:
#
# - **Itemic alignment.** The item tokens are new rows of the vocabulary. A *token warm-up* trains only
#   those rows, the LLM frozen, so the new tokens land where the LLM already reads; then every weight
#   trains on a mix of four next-token tasks (the paper's shares: persona grounding 24.30%, sequential
#   preference 65.73%, item captioning 4.94%, general text 5.03%).
# - **Reasoning activation.** For each training pair the history items most related to the target are
#   picked and a rationale is written from them (on public data the paper builds a category-based
#   chain of thought); then supervised fine-tuning on the full history, with the rationale *before*
#   the item tokens:
#
# $$\mathcal{L}_{RA} = -\Big(\sum_{i} \log P(r_i \mid P(S), r_{<i}) + \sum_{j=1}^{L} \log P(s^j \mid P(S), r, s^{<j})\Big)$$
#
# - **Reasoning enhancement.** GRPO samples $G$ rationales per prompt; after each, a width-$K$ beam
#   over the item tokens gives the **rollout-beam reward**, the best partial match with the target's
#   ID (dense, where an exact hit is rare):
#
# $$R = \max_{\hat s \in \text{Beam}_K} \sum_{l=1}^{L} \mathbb{1}[\hat s^l = s^l], \qquad A_g = \frac{R_g - \operatorname{mean}(R_{1..G})}{\operatorname{std}(R_{1..G})},$$
#
# $$J(\theta) = \mathbb{E}\Big[\frac{1}{|r|}\sum_{t} \min\big(\rho_t A,\ \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon) A\big) - \beta\, \mathrm{KL}(\pi_\theta \,\|\, \pi_{\text{ref}})\Big], \qquad \rho_t = \frac{\pi_\theta(r_t \mid \cdot)}{\pi_{\text{old}}(r_t \mid \cdot)} .$$
#
# Here the LLM is a tiny Llama over a word tokenizer of the catalog's text, pre-trained on that text
# first (the package's `llmrec_mini.models.plum` machinery), and the IDs are residual k-means codes.

# %%
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.models import get_model
from llmrec_mini.semantic_ids import build_semantic_ids, sid_report
from llmrec_mini.text import encode_items

dataset = make_synthetic("default", n_users=N_USERS, n_items=N_ITEMS, seed=SEED)
split, catalog = leave_one_out(dataset), dataset.catalog
emb = encode_items(catalog, encoder="hashing", progress=False)
sids = build_semantic_ids(emb, method="rqkmeans", seed=SEED, progress=False, **SID)
report = pd.DataFrame(sid_report({"RQ-k-means": sids})).set_index("ids")
report[["codebook_sizes", "usage", "unique_rate", "collision_rate", "max_collision"]]

# %% tags=["hide-input"]
say("{n} items get IDs of {L} tokens: {lv} residual k-means levels of {k} codes, {u:.1%} of them unique before "
    "the collision token, which numbers the items that share a code tuple.", n=N_ITEMS, L=sids.length,
    lv=SID["levels"], k=SID["codebook_size"], u=report["unique_rate"].iloc[0])

# %% [markdown]
# ## Training every stage
#
# One `llmrec_mini.models.onerec_think.OneRecThink` run does the LM pre-training on text, the token
# warm-up, the multi-task alignment and the reasoning SFT; GRPO then runs on a copy, so the
# ablation below can compare the model before and after it.

# %%
t0 = time.perf_counter()
think = get_model("onerec_think", semantic_ids=sids, seed=SEED, progress=False, **MODEL).fit(split, catalog)
think_seconds = time.perf_counter() - t0
t0 = time.perf_counter()
grpo = copy.deepcopy(think)
grpo_result = grpo.grpo(split, GRPO_STEPS)
grpo_seconds = time.perf_counter() - t0
for task, rows in think.alignment_examples(split, n=1, seed=SEED).items():
    print(f"[{task}] {rows[0][:200]}")

# %% [markdown]
# Each alignment task above, decoded back to text (the item tokens show as `<sid_l_c>`). The curves:
# the training loss of each stage (next-token cross-entropy; the warm-up moves only the item-token
# rows, reasoning SFT covers the rationale and the ID), and GRPO's mean rollout-beam reward per step.

# %%
from plotly.subplots import make_subplots

names = {"lm": "LM pre-training (text)", "warmup": "token warm-up", "alignment": "multi-task alignment",
         "sft": "reasoning SFT (L_RA)"}
fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss per stage", "GRPO: mean rollout-beam reward"))
offset = 0
for name, result in [*think.stage_results.items(), ("sft", think.result)]:
    steps = np.array([h["steps"] for h in result.history]) + offset
    fig.add_trace(go.Scatter(x=steps, y=[h["loss"] for h in result.history], mode="lines+markers", name=names[name]),
                  1, 1)
    offset = int(steps[-1])
fig.add_trace(go.Scatter(x=np.arange(1, len(grpo.rewards) + 1), y=grpo.rewards, mode="lines+markers",
                         name="reward (max = L)"), 1, 2)
fig.update_xaxes(title_text="optimizer steps", row=1, col=1)
fig.update_xaxes(title_text="GRPO step", row=1, col=2)
fig.update_layout(height=380)
fig

# %% tags=["hide-input"]
st = {k: r.history for k, r in think.stage_results.items()}
half = max(1, len(grpo.rewards) // 2)
say("Training took {t} (GRPO {g} more). The warm-up brought the loss from {w0:.2f} to {w1:.2f} with only the "
    "item-token rows free; the multi-task stage took it to {a1:.2f}, and reasoning SFT from {s0:.2f} to {s1:.2f}. "
    "GRPO's mean reward went from {r0:.2f} over its first {h} steps to {r1:.2f} over the last {h} (out of {L}).",
    t=minutes(think_seconds), g=minutes(grpo_seconds), w0=st["warmup"][0]["loss"], w1=st["warmup"][-1]["loss"],
    a1=st["alignment"][-1]["loss"], s0=think.result.history[0]["loss"], s1=think.result.history[-1]["loss"],
    r0=float(np.mean(grpo.rewards[:half])), r1=float(np.mean(grpo.rewards[-half:])), h=half, L=sids.length)

# %% [markdown]
# ## What the model writes
#
# Held-out users: the rationale the model writes (the best of a small beam), then its top items under
# the trie, with their categories. The training rationales count the history items in the target's
# category (else in its department) and name the category to come.

# %%
hist = split.test.histories[:SHOW]
for (text, items), h, target in zip(grpo.reason(hist, k=3), hist, split.test.targets[:SHOW]):
    print("last bought:", " | ".join(grpo.categories[int(i)] for i in h[-3:]))
    print("  rationale:", text)
    print("  items    :", " | ".join(f"{catalog.title(int(i))} ({grpo.categories[int(i)]})" for i in items))
    print("  truth    :", f"{catalog.title(int(target))} ({grpo.categories[int(target)]})")

# %% [markdown]
# ## Ablation: base → + itemic alignment → + reasoning → + GRPO
#
# The paper's ablation, in miniature, with the same IDs and the same SFT budget for every arm: the
# **base** model is the text-pre-trained LM fine-tuned straight from history to ID (no warm-up, no
# multi-task stage, no rationale); **+ itemic alignment** adds the warm-up and the four-task mix;
# **+ reasoning** writes the rationale first ($\mathcal{L}_{RA}$); **+ GRPO** is that model after
# reasoning enhancement. Popularity and SASRec on the same split, through the shared harness
# (`llmrec_mini.evaluate.evaluate`, seen items excluded).

# %%
from llmrec_mini.evaluate import evaluate

arms = {"base": get_model("onerec_think", semantic_ids=sids, seed=SEED, progress=False,
                          **{**MODEL, "reasoning": False, "token_warmup_steps": 0, "cpt_steps": 0}).fit(split, catalog),
        "+ itemic alignment": get_model("onerec_think", semantic_ids=sids, seed=SEED, progress=False,
                                        **{**MODEL, "reasoning": False}).fit(split, catalog),
        "+ reasoning": think, "+ GRPO": grpo,
        "popularity": get_model("popularity").fit(split, catalog),
        "SASRec": get_model("sasrec", seed=SEED, progress=False, **SASREC).fit(split, catalog)}
ablation = pd.concat([evaluate(m, split, ks=(10,), progress=False, name=n) for n, m in arms.items()])
ablation[["recall@10", "ndcg@10"]]

# %%
fig = go.Figure()
for metric in ("recall@10", "ndcg@10"):
    fig.add_trace(go.Bar(x=ablation.index, y=ablation[metric], name=metric.replace("@", "@").capitalize()))
fig.update_layout(barmode="group", title="Held-out users: the ablation beside popularity and SASRec",
                  yaxis_title="metric", height=380)
fig

# %% tags=["hide-input"]
r, n = ablation["recall@10"].to_dict(), ablation["ndcg@10"].to_dict()
say("Recall@10 / NDCG@10 on {u} test users: base {b:.3f} / {bn:.3f}, + itemic alignment {a:.3f} / {an:.3f}, "
    "+ reasoning {t:.3f} / {tn:.3f}, + GRPO {g:.3f} / {gn:.3f}; popularity {p:.3f} / {pn:.3f}, SASRec {s:.3f} / "
    "{sn:.3f}.", u=len(split.test), b=r["base"], bn=n["base"], a=r["+ itemic alignment"], an=n["+ itemic alignment"],
    t=r["+ reasoning"], tn=n["+ reasoning"], g=r["+ GRPO"], gn=n["+ GRPO"], p=r["popularity"], pn=n["popularity"],
    s=r["SASRec"], sn=n["SASRec"])
steps = ["base", "+ itemic alignment", "+ reasoning", "+ GRPO"]
ups = [later for earlier, later in zip(steps, steps[1:]) if r[later] > r[earlier]]
downs = [later for earlier, later in zip(steps, steps[1:]) if r[later] <= r[earlier]]
why = {"+ itemic alignment": "the alignment tasks teach what the SFT pairs already hold on a shop this small (the "
                             "paper's alignment corpus carries knowledge its SFT data does not)",
       "+ reasoning": "a rationale is a hard commitment for a tiny LM: its items follow the category it names, so "
                      "when the rationale beams miss the target's category the item beams cannot recover",
       "+ GRPO": "a few GRPO steps with small groups are a noisy signal (the paper: groups of 16 and a beam of 32)"}
gain = r["+ GRPO"] - r["+ reasoning"]
noise = 2 * float(np.sqrt(r["+ reasoning"] * (1 - r["+ reasoning"]) / len(split.test)))  # two standard errors
say("{verdict}", verdict=(
    ("Every stage adds Recall@10 here, as in the paper." if not downs else
     f"Here {', '.join(ups) or 'no stage'} raised Recall@10 and {', '.join(downs)} did not: "
     + "; ".join(why[d] for d in downs) + ".")
    + (f" GRPO's change ({gain:+.3f}) is within two standard errors of a recall on {len(split.test)} users "
       f"({noise:.3f}): a few steps refine the rationales a little rather than change the ranking."
       if abs(gain) < noise else "")))
say("{sas}", sas=("SASRec, trained for this task alone, is ahead of every OneRec-Think arm: at this size a small "
                  "sequence model fits the shop's patterns better than a language model that must also learn words."
                  if r["SASRec"] > max(r[a] for a in steps) else
                  "The best OneRec-Think arm is level with or ahead of SASRec."))

# %% [markdown]
# ## Think-Ahead: most of the decoding offline
#
# An 8B model cannot write a rationale inside a request's latency budget. Think-Ahead splits the
# decoding: **offline**, the model writes the rationale and the first $L-1$ item tokens for each
# user (`OneRecThink.think_ahead`); **online**, only the last token is chosen, constrained to the
# items under the cached prefix (`OneRecThink.complete`, one forward pass). In production the online
# part is a fresher real-time OneRec model; here the same model completes its own prefix, and the
# demo compares the completed item with full decoding after the same rationale.

# %%
users = split.test.histories[: min(200, len(split.test))]
t0 = time.perf_counter()
cache = grpo.think_ahead(users)
offline = time.perf_counter() - t0
t0 = time.perf_counter()
online_items = grpo.complete(users, cache)
online = time.perf_counter() - t0
full_items, _, _ = grpo.generate(users, grpo.config.num_beams, True, rationales=cache["rationales"])
prefix_kept = (grpo.vocab.encode(online_items)[:, :-1] == cache["prefix"]).all(1).mean()
agree = float(np.mean(online_items == full_items[:, 0]))
targets = split.test.targets[: len(users)]
pd.DataFrame({"ms per user": [1000 * offline / len(users), 1000 * online / len(users)],
              "hit@1 of the item": [float(np.mean(full_items[:, 0] == targets)), float(np.mean(online_items == targets))]},
             index=["offline: rationale + full ID", "online: last token after the cached prefix"])

# %% tags=["hide-input"]
say("On {n} users the offline part takes {off:.1f} ms per user and the online completion {on:.2f} ms; every "
    "completed item keeps the cached prefix ({pk:.0%}) and {ag:.0%} of them equal the top item of full decoding "
    "after the same rationale.", n=len(users), off=1000 * offline / len(users), on=1000 * online / len(users),
    pk=prefix_kept, ag=agree)

# %% [markdown] tags=["static-numbers"]
# ## The paper's results
#
# Recall@10 on Amazon Beauty (leave-one-out, Qwen3-1.7B backbone, 4 levels x 256 SIDs, beam 10):
#
# | model | Beauty R@10 |
# |---|---|
# | TIGER | 0.0623 |
# | ReaRec | 0.0704 |
# | **OneRec-Think** | **0.0791** |
#
# Ablation on Beauty (R@10): base 0.0654 → + itemic alignment 0.0735 → + reasoning 0.0791. Online at
# Kuaishou, with Think-Ahead: **+0.159%** app stay time (watch time +0.169%, forwards +0.758%).
#
# ## What changes at scale
#
# - **The backbone.** Qwen3-1.7B on public data and Qwen-8B in production, with 3 x 8,192 item tokens,
#   trained daily on about 20B tokens; here a tiny Llama and a few hundred steps.
# - **The rationales.** The paper has the aligned LLM write the rationale from a pruned context (the
#   history items most related to the target) and only then trains on the full history; here a
#   template over the shop's categories plays that role.
# - **GRPO.** Groups of 16 rationales and a rollout beam of 32, learning rate 1e-5, KL weight 0.001,
#   clip 0.2 (community report); here small groups and a few steps, with one update per rollout batch.
# - **Serving.** Think-Ahead moves the rationale offline: the live model only completes the last ID token.
#
# ## Summary
#
# - OneRec-Think writes a short rationale in text before the item's semantic ID, and is trained in
#   stages (`llmrec_mini.models.onerec_think`).
# - Itemic alignment comes first: the new item tokens are warmed up alone, then trained on a mix of
#   tasks that tie them to words.
# - Reasoning activation teaches the rationale, and GRPO with the rollout-beam reward reinforces
#   rationales that lead to the right item.
# - The ablation adds one stage at a time beside popularity and SASRec, and Think-Ahead splits
#   decoding into an offline part (the rationale) and a cheap online part.
#
# ## Exercises
#
# 1. Set `task_mix=(0, 1, 0, 0)`: is the alignment gain the sequential task alone?
# 2. Raise `rationale_beams`: how much of the gap between "+ reasoning" and the base is beam diversity?
# 3. Write a rationale that names two categories (`OneRecThink.rationale`) and retrain.
#
# ## References
#
# - Z. Liu et al., *OneRec-Think: In-Text Reasoning for Generative Recommendation*, arXiv 2510.11639, 2025.
# - J. Deng et al., *OneRec: Unifying Retrieve and Rank with Generative Recommender and Iterative
#   Preference Alignment*, arXiv 2502.18965, 2025.
# - Z. Shao et al., *DeepSeekMath* (GRPO), arXiv 2402.03300, 2024.
