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
# # Adaptive user layers
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/concept/concept_adaptive_user_layers.ipynb)
#
# One network serves every user, yet users differ. An **adaptive user layer** keeps the network
# shared and adds a small user-specific change: $y = f(x;\ \theta_{\text{shared}}, \phi_u)$. This
# page writes five ways of doing it behind one interface, `llmrec_mini.models.adaptive_user_layers.UserAdaptiveLinear`,
# plugs them into SASRec (`llmrec_mini.models.adaptive_user_layers`, registered as `sasrec-adaptive`),
# trains each one and the plain backbone on the built-in shop, and compares them on **warm** users
# (seen in training) and **cold** users (held out of training entirely), with what each costs per user.

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

# %% [markdown]
# ## Five ways to make a layer personal
#
# Start from a linear layer $h = W_0 x$ of a trained network. Each mode adds a term that depends on
# the user, either through a *per-user* table (indexed by the user id $u$) or through a function of
# the user's **sequence representation** $z_u$ (here SASRec's hidden state of the user's history):
#
# | mode | update | stored per user | paper |
# |---|---|---|---|
# | `lora_bank` | $h = W_0 x + s\,B_u A_u x$ | $r\,(d_{in} + d_{out})$ | OPPU: one PEFT per user |
# | `plora` | $h = W_0 x + s\,B\,(A x + P\,p_u)$, $p_u$ zero at start | $d_u$ | PLoRA |
# | `moe_lora` | $\Delta W(u) = \sum_k \mathrm{softmax}(W_g z_u)_k\, B_k A_k$ | nothing | iLoRA |
# | `hyper` | $A_u, B_u = H(z_u)$, $h = W_0 x + s\,B_u A_u x$ | nothing | hypernetworks (APG) |
# | `film` | $h = \gamma(z_u) \odot W_0 x + \beta(z_u)$, $\gamma = 2\,\sigma(\cdot) \in (0, 2)$ | nothing | FiLM, PEPNet |
#
# $A$ factors start random and $B$ factors at zero (LoRA's initialisation), $p_u$ at zero, the
# hypernetwork's $B$-generator at zero and FiLM at $(\gamma, \beta) = (1, 0)$: **every mode starts as
# the identity of its base layer**, so an untrained adaptive model is exactly its backbone and
# training only moves away from it where the data asks.
#
# A **cold** user (one the per-user table never trained) falls back to the shared path: $W_0 x$, plus
# $s\,BAx$ for PLoRA. The three $z$-conditioned modes store nothing per user, so a new user is served
# by the same function of its history as an old one: they trade per-user memory for generalisation.
#
# ```mermaid
# flowchart LR
#     H["history s_1..s_t"] --> T["SASRec Transformer (shared)"]
#     T --> Z["h_t = z_u"]
#     U["user id u"] --> BANK["per-user table: B_u A_u (bank) or p_u (PLoRA)"]
#     Z --> G["z-conditioned: gate over LoRA experts, hypernetwork H(z), FiLM gamma, beta"]
#     Z --> L["UserAdaptiveLinear: W0 h + user term"]
#     BANK --> L
#     G --> L
#     L --> S["scores h'_t . E_i over the catalog"]
# ```
#
# In SASRec the layer sits on the final hidden state, between the Transformer and the item scores,
# with $W_0 = I$ frozen (so every mode keeps the backbone's capacity and adds only its own part) and
# $x = z_u = h_t$. Per-user parameters are pulled towards the shared model by a penalty
# $\lambda\,\lVert s B_u A_u \rVert_F^2$ (bank) or $\lambda \lVert p_u \rVert^2$ (PLoRA): with a handful
# of interactions per user, a free per-user matrix would otherwise memorise them.

# %% tags=["parameters"]
from llmrec_mini.utils import full, smoke

SEED = 0
SMOKE = smoke()  # LLMREC_SMOKE=1 (the test suite): every size shrinks to a seconds-long run
FULL = full()  # LLMREC_FULL=1: a larger shop and longer training (about 15 minutes)
# The default (neither switch) is what the site shows: it must run in at most 3 minutes on an idle
# 2-core CPU (`python scripts/execute_notes.py <page>` prints the time; the page's footer states it).
N_USERS, N_ITEMS = (150, 80) if SMOKE else (3000, 1000) if FULL else (600, 200)  # the built-in shop
COLD_SHARE = 0.2  # users held out of training entirely
TRAIN = dict(epochs=1 if SMOKE else 30 if FULL else 15, d_model=32 if SMOKE else 64, seed=SEED, progress=False,
             val_users=200)
ADAPT = dict(rank=4, d_user=16, n_experts=4, user_l2=1e-3)

# %%
import time

import numpy as np
import pandas as pd
import plotly.express as px
import torch

import llmrec_mini
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.metrics import ndcg_at_k, rank_in_topk
from llmrec_mini.models import get_model
from llmrec_mini.models.adaptive_user_layers import MODES, UserAdaptiveLinear, cold_user_split
from llmrec_mini.notes import minutes, say
from llmrec_mini.utils import set_seed

set_seed(SEED)
print("llmrec_mini", llmrec_mini.__version__)
note_start = time.perf_counter()

# %% [markdown]
# ## The layer on its own
#
# Every mode wraps a plain `nn.Linear`. Before training the output is the base layer's, bit for bit;
# after we perturb the zero-initialised pieces, each mode's own structure shows: the mixture's gate
# weights sum to one and PEPNet's gate stays inside $(0, 2)$.

# %%
torch.manual_seed(SEED)
x, z, users = torch.randn(8, 16), torch.randn(8, 16) * 3, torch.tensor([0, 1, 2, 3, 4, 5, -1, 99])
layers = {mode: UserAdaptiveLinear(torch.nn.Linear(16, 16), mode, n_users=6, rank=4, d_user=8) for mode in MODES}
with torch.no_grad():
    init_gap = {mode: float((m(x, users, z) - m.base(x)).abs().max()) for mode, m in layers.items()}
    for m in layers.values():
        for p in m.parameters():
            p.normal_(0, 0.1)
    gate_sums = layers["moe_lora"].gates(z).sum(-1)
    gamma, _ = layers["film"].film(z)
pd.DataFrame({"max |output - W0 x| at init": init_gap,
              "per-user parameters": {mode: m.parameters_per_user() for mode, m in layers.items()}})

# %% tags=["hide-input"]
say("At initialisation the largest difference from the base layer over all modes is {gap:g}. With random weights "
    "the mixture's gate weights sum to {lo:.6f} to {hi:.6f} per row and the FiLM gate ranges over "
    "[{g0:.3f}, {g1:.3f}].", gap=max(init_gap.values()), lo=float(gate_sums.min()), hi=float(gate_sums.max()),
    g0=float(gamma.min()), g1=float(gamma.max()))

# %% [markdown]
# ## Warm and cold users
#
# Leave-one-out on the built-in shop (last item = test target), then a share of users leaves
# training altogether: their test histories are read only at inference, so for them the per-user
# tables hold nothing. Validation (which picks the best epoch) uses warm users only.

# %%
dataset = make_synthetic("default", n_users=N_USERS, n_items=N_ITEMS, seed=SEED)
split, cold_users = cold_user_split(leave_one_out(dataset), share=COLD_SHARE, seed=SEED)
is_cold = np.isin(split.test.users, cold_users)
test_sets = {"warm": split.test.select(~is_cold), "cold": split.test.select(is_cold)}
print(split)
print({name: len(s) for name, s in test_sets.items()}, "test users")

# %% [markdown]
# ## Train the backbone and the five modes
#
# Same data, seed, epochs and backbone sizes for all six; `mode="none"` is plain SASRec (the same
# network without the adaptive layer).

# %%
runs, seconds = {}, {}
for mode in ("none",) + MODES:
    t0 = time.perf_counter()
    runs[mode] = get_model("sasrec-adaptive", mode=mode, **ADAPT, **TRAIN).fit(split)
    seconds[mode] = time.perf_counter() - t0
    print(f"{mode}: {seconds[mode]:.0f} s")
popularity = get_model("popularity").fit(split)


def per_user_ndcg(model, evalset, k=10):
    """NDCG@k of each row (the package's metric on one row at a time), for paired comparisons."""
    ranks = rank_in_topk(model.recommend(evalset.histories, k=k, users=evalset.users).items, evalset.targets)
    return np.array([ndcg_at_k(ranks[i:i + 1], k) for i in range(len(ranks))])


rows = []
for name, model in {"popularity": popularity, **runs}.items():
    row = {"mode": name}
    for group, evalset in test_sets.items():
        res = evaluate_metrics(model, evalset, ks=(10,))
        row[f"{group} NDCG@10"], row[f"{group} Recall@10"] = res["ndcg@10"], res["recall@10"]
    if name != "popularity":
        row["params per user"] = model.parameters_per_user()
        row["trainable params"] = model.n_parameters()
        row["train seconds"] = seconds[name]
    rows.append(row)
results = pd.DataFrame(rows).set_index("mode")
results.round(3)

# %%
long = results.reset_index().melt(id_vars="mode", value_vars=["warm NDCG@10", "cold NDCG@10"], var_name="users",
                                  value_name="NDCG@10")
fig = px.bar(long, x="mode", y="NDCG@10", color="users", barmode="group",
             title="Warm vs cold test users (NDCG@10); popularity and the plain backbone for reference")
fig.update_layout(height=420, xaxis_title=None)
fig.show()

# %%
cost = results.drop(index="popularity").reset_index()
fig = px.scatter(cost, x="trainable params", y="warm NDCG@10", text="mode", log_x=True,
                 size=np.maximum(cost["params per user"], 1) ** 0.5, title="What each mode costs and buys (warm users)")
fig.update_traces(textposition="top center")
fig.update_layout(height=420)
fig.show()

# %% [markdown]
# ## Verdicts from the numbers
#
# One test user per row is noisy at this size, so each mode is compared with the backbone *on the
# same users*: the mean per-user NDCG@10 difference and twice its standard error. A mode "beats" the
# backbone only when the difference is above that band, "loses to" it when below, and "is no
# different from" it otherwise.

# %%
base_ndcg = {group: per_user_ndcg(runs["none"], s) for group, s in test_sets.items()}
verdicts = []
for mode in MODES:
    for group, evalset in test_sets.items():
        diff = per_user_ndcg(runs[mode], evalset) - base_ndcg[group]
        mean, band = diff.mean(), 2 * diff.std(ddof=1) / np.sqrt(len(diff))
        verdict = "beats" if mean > band else "loses to" if mean < -band else "is no different from"
        verdicts.append({"mode": mode, "users": group, "NDCG@10 - backbone": mean, "2 SE": band, "verdict": verdict})
verdicts = pd.DataFrame(verdicts)
verdicts.round(4)

# %% tags=["hide-input"]
warm_v = verdicts[verdicts.users == "warm"].set_index("mode")
cold_v = verdicts[verdicts.users == "cold"].set_index("mode")
r = results
say("On {nw} warm test users the plain backbone reaches NDCG@10 = {bw:.3f} (popularity {pw:.3f}); on {nc} cold "
    "users {bc:.3f} (popularity {pc:.3f}).", nw=len(test_sets["warm"]), nc=len(test_sets["cold"]),
    bw=r.loc["none", "warm NDCG@10"], pw=r.loc["popularity", "warm NDCG@10"], bc=r.loc["none", "cold NDCG@10"],
    pc=r.loc["popularity", "cold NDCG@10"])
for mode in MODES:
    say("`{mode}` ({ppu} parameters per user): warm NDCG@10 {w:.3f}, so it **{vw}** the backbone on warm users "
        "({dw:+.3f}, band {bw:.3f}); on cold users {c:.3f}, it {vc} the backbone ({dc:+.3f}).",
        mode=mode, ppu=int(r.loc[mode, "params per user"]), w=r.loc[mode, "warm NDCG@10"],
        vw=warm_v.loc[mode, "verdict"], dw=warm_v.loc[mode, "NDCG@10 - backbone"], bw=warm_v.loc[mode, "2 SE"],
        c=r.loc[mode, "cold NDCG@10"], vc=cold_v.loc[mode, "verdict"], dc=cold_v.loc[mode, "NDCG@10 - backbone"])
winners = [m for m in MODES if warm_v.loc[m, "verdict"] == "beats"]
say("Modes that beat the non-adaptive backbone on warm users at this size: {w}. Every mode that does not is "
    "reported as such above.", w=", ".join(f"`{m}`" for m in winners) if winners else "none")

# %% [markdown]
# How to read it. The per-user modes (`lora_bank`, `plora`) can only help users with enough history
# to fit their own parameters, and they can do nothing for cold users by construction. The
# $z$-conditioned modes (`moe_lora`, `hyper`, `film`) add a little capacity that every user shares,
# and their effect on cold users follows from the same function of the history; on a small synthetic
# shop, part of any gain is simply extra capacity at the output, not personalisation.
#
# ## What changes at scale
#
# **Storage.** A per-user LoRA costs $r(d_{in} + d_{out})$ numbers per adapted matrix. OPPU puts one
# on an LLM's attention projections; the cell below prices it for a 7B-class model (its sizes are
# in the code), adapting the query and value projections of every layer:

# %%
d, layers_, matrices, rank = 4096, 32, 2, 8
per_user = layers_ * matrices * rank * (d + d)  # numbers per user
users_ = 10_000_000
bank_tb = per_user * 2 * users_ / 1e12  # bf16 bytes
d_user = 64  # a PLoRA user embedding instead
plora_gb = d_user * 2 * users_ / 1e9

# %% tags=["hide-input"]
say("With {nl} layers of width {d}, one rank-{r} user adapter is {n:,} numbers ({mb:.1f} MB in bf16); for {u:,} "
    "users the bank needs {tb:.0f} TB, against {gb:.2f} GB for PLoRA user embeddings of {du} numbers. The "
    "z-conditioned modes store nothing per user.", nl=layers_, d=d, r=rank, n=per_user, mb=per_user * 2 / 1e6,
    u=users_, tb=bank_tb, gb=plora_gb, du=d_user)

# %% [markdown]
# **Serving.** A batch of requests from different users needs a different $B_u A_u$ per row. The
# einsum gather used here (`llmrec_mini.models.adaptive_user_layers.UserAdaptiveLinear.forward`) is the
# small-scale version of multi-LoRA serving systems (S-LoRA, Punica), which keep adapters in a paged
# pool and run batched gathered matrix products on the GPU; a Python loop over users would serialise the batch.
# PLoRA, iLoRA, hypernetworks and FiLM batch like the plain model, since only a vector per row differs.
#
# **Cold users and drift.** OPPU has nothing for a new user; PLoRA trains with personalised dropout
# so the shared path works alone; $z$-conditioned modes handle new users for free. Adapters trained on
# old data go stale as tastes move: retrain them on a rolling window, never on test-period data.
#
# **In an LLM.** The same `llmrec_mini.models.adaptive_user_layers.UserAdaptiveLinear` wraps any
# `nn.Linear` of a causal LM; the tests wrap the output head of the tiny Llama from
# `llmrec_mini.llm.tiny_lm` and teach two users who share a prompt two different next tokens,
# while a cold user still gets the frozen model's output exactly.

# %% [markdown] tags=["static-numbers"]
# ### What the papers report
#
# | paper | setting | reported |
# |---|---|---|
# | OPPU (arXiv 2402.04401) | 7 LaMP personalisation tasks, LLM + one LoRA per user | state of the art on all 7; robust to behaviour shift |
# | PLoRA (arXiv 2403.06208) | shared LoRA + user embedding | $d_u$ numbers per user, batchable |
# | iLoRA (arXiv 2408.10159) | LLM sequential recommendation, MoE of LoRA experts gated by a SASRec representation | 4 experts best; up to +11.4% relative HR |
# | PEPNet (arXiv 2302.01115) | Kuaishou, gates in (0, 2) on embeddings and towers | more than 1% online gains, 300M+ daily users |

# %% [markdown]
# ## Summary
#
# - An adaptive user layer keeps one shared network and adds a small per-user change $\phi_u$; the
#   five modes of `llmrec_mini.models.adaptive_user_layers.UserAdaptiveLinear` differ in how that
#   change is parameterised and what it costs per user.
# - The modes plug into SASRec behind one interface (`sasrec-adaptive`), so the comparison with the
#   plain backbone isolates the layer itself.
# - Warm users (seen in training) and cold users (held out entirely) must be reported separately: a
#   per-user parameter helps only users it was trained for, and cold users fall back to the shared
#   part.
# - Every mode starts as the identity of its base layer; the per-user tables (`lora_bank`, `plora`)
#   cost memory per user, while the modes conditioned on the history (`moe_lora`, `hyper`, `film`)
#   store nothing per user and serve new users with the same function.
#
# ## Exercises
#
# 1. Set `user_l2=0` and train `lora_bank` for longer: does warm-user NDCG@10 fall as the bank
#    memorises each user's few items? Plot the validation curve (`model.result.history`).
# 2. Move the adaptive layer from the output state into the last Transformer block (for example
#    its feed-forward output projection), with $z_u$ from a first pass over the history.
# 3. Give PLoRA personalised dropout: zero $p_u$ for a random share of rows during training, and
#    compare cold-user NDCG@10.
# 4. Sweep `n_experts` for `moe_lora` and plot the gate entropy per user: do users specialise?

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Tan et al., *Democratizing Large Language Models via Personalized Parameter-Efficient Fine-tuning* (OPPU), EMNLP 2024, arXiv 2402.04401.
# - Zhang et al., *Personalized LoRA for Human-Centered Text Understanding* (PLoRA), AAAI 2024, arXiv 2403.06208.
# - Kong et al., *Customizing Language Models with Instance-wise LoRA for Sequential Recommendation* (iLoRA), NeurIPS 2024, arXiv 2408.10159.
# - Yan et al., *APG: Adaptive Parameter Generation Network for Click-Through Rate Prediction*, arXiv 2203.16218.
# - Perez et al., *FiLM: Visual Reasoning with a General Conditioning Layer*, AAAI 2018, arXiv 1709.07871.
# - Chang et al., *PEPNet: Parameter and Embedding Personalized Network*, KDD 2023, arXiv 2302.01115.
# - Kang and McAuley, *Self-Attentive Sequential Recommendation* (SASRec), ICDM 2018, arXiv 1808.09781.

# %% tags=["hide-input"]
say("The whole page ran in {took}.", took=minutes(time.perf_counter() - note_start))
