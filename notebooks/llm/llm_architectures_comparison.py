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
# # LLM architectures compared: attention mechanisms
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/llm/llm_architectures_comparison.ipynb)
#
# Every Transformer in this site's recommenders spends its compute and memory in attention. This
# page compares the attention mechanisms the methods use or could use: **multi-head attention**
# (MHA) and its cheaper-to-serve variants **multi-query** and **grouped-query attention** (MQA,
# GQA), a **sliding window**, **linear** and **quasi-linear** attention, and **HSTU's pointwise**
# attention. It draws their masks with `llmrec_mini.attention`, counts parameters, FLOPs and KV
# cache from `transformers` configs with `llmrec_mini.architectures` (the counts are checked
# against the built models and torch's FLOP counter in the tests), and times tiny decoders and the
# attention functions on this CPU. The model families themselves (encoder-decoder, decoder-only,
# bidirectional encoder) are the subject of [Generative models](models/generative_models.md).

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
D_MODEL, N_HEADS, N_LAYERS = (32, 4, 1) if SMOKE else (256, 8, 2)  # the timed decoders
GQA_KV_HEADS = 2  # key/value heads of the GQA variant (MQA: one)
WINDOW = 16 if SMOKE else 128  # keys of the sliding-window variant
SEQ_LENS = (16, 32) if SMOKE else (128, 512, 2048, 8192) if FULL else (128, 512, 2048)  # prompt lengths N
ATT_SIZES = (64, 128) if SMOKE else (256, 1024, 4096, 16384) if FULL else (256, 1024, 4096)  # attention-function N
MIN_SECONDS = 0.01 if SMOKE else 0.5  # each timing: repeats until this much time has passed (median)
COUNT_AT = 4096  # context length of the parameter / FLOP / KV-cache table

# %%
import time

import pandas as pd
import torch

import llmrec_mini
from llmrec_mini import architectures as X
from llmrec_mini import viz
from llmrec_mini.attention import Layout, build_mask
from llmrec_mini.bench.attention_scaling import torch_threads
from llmrec_mini.utils import set_seed

set_seed(SEED)
print("llmrec_mini", llmrec_mini.__version__)
start = time.perf_counter()

# %% [markdown]
# ## Attention, and what each variant changes
#
# One head of softmax attention over N positions reads queries, keys and values
# $Q, K, V \in \mathbb{R}^{N \times d_h}$ and a boolean mask $M$ (true where query $i$ may read key $j$):
#
# $$\mathrm{Attn}(Q, K, V) = \mathrm{softmax}\Big(\frac{Q K^\top}{\sqrt{d_h}} + \log M\Big) V ,$$
#
# an $N \times N$ score matrix, so $O(N^2 d_h)$ time and, built naively, $O(N^2)$ memory
# (Vaswani et al.). The variants change one of three things.
#
# **Which keys and values there are (MHA, MQA, GQA).** Multi-head attention runs $h$ heads, each
# with its own $W_Q^i, W_K^i, W_V^i$. A decoder that generates token by token keeps every past
# token's keys and values (the **KV cache**) so it does not recompute them: per token and layer,
# $2 h d_h$ numbers. Multi-query attention (Shazeer) shares one key head and one value head
# among all query heads; grouped-query attention (Ainslie et al.) shares each of $g$
# key/value heads among $h/g$ query heads:
#
# $$\text{KV cache} = 2 \cdot L \cdot g \cdot d_h \cdot N \cdot \text{bytes}, \qquad g = h \ \text{(MHA)},\ 1 < g < h \ \text{(GQA)},\ g = 1 \ \text{(MQA)} .$$
#
# The score computation is unchanged (each query head still reads N keys), so FLOPs barely move;
# what shrinks is the cache, which is what limits batch size and decoding speed on accelerators,
# where a decode step mostly *reads* the cache.
#
# **Which keys a query reads (masks).** A sliding window (Longformer, Beltagy et al.;
# Mistral) lets query $i$ read only keys $i - w < j \le i$: cost $O(N w d_h)$ and a cache of $w$
# positions at most. The other masks on this site say who may read whom: causal (decoders),
# bidirectional (encoders), prefix-LM (a prompt read in full, then generation), block-causal
# (all tokens of an item or a reasoning block see each other) and candidate-isolated (HSTU's and
# VISTA's target-aware ranking: candidates read the history, never each other).
#
# **How scores become weights (linear, quasi-linear, HSTU).** Linear attention (Katharopoulos et
# al.) replaces the softmax by a kernel $\phi(q)^\top \phi(k)$, so the product reassociates:
# $O = \phi(Q)\,(\phi(K)^\top V)$ costs $O(N d_h^2)$ and never builds the $N \times N$ matrix.
# VISTA's quasi-linear attention (see [quasi-linear attention](../quasi_linear_attention.md)) builds
# that $d_h \times d_h$ state once over the history and lets candidates read it. HSTU (Zhai et al.,
# 2024) keeps the $N \times N$ scores but replaces the row softmax by a pointwise
# $A = \mathrm{SiLU}(Q K^\top + \mathrm{rab}) / N$: weights are not normalised per row, so the
# output keeps track of *how many* events matched, which the paper argues suits recommendation.
#
# ```mermaid
# flowchart LR
#     subgraph MHA ["MHA: h query heads, h KV heads"]
#         q1[q1] --> kv1[k1 v1]
#         q2[q2] --> kv2[k2 v2]
#         q3[q3] --> kv3[k3 v3]
#         q4[q4] --> kv4[k4 v4]
#     end
#     subgraph GQA ["GQA: groups share a KV head"]
#         g1[q1] --> gkv1[k1 v1]
#         g2[q2] --> gkv1
#         g3[q3] --> gkv2[k2 v2]
#         g4[q4] --> gkv2
#     end
#     subgraph MQA ["MQA: one KV head"]
#         m1[q1] --> mkv[k v]
#         m2[q2] --> mkv
#         m3[q3] --> mkv
#         m4[q4] --> mkv
#     end
# ```
#
# ## The masks
#
# Each mask below comes from `llmrec_mini.attention.build_mask` on one `llmrec_mini.attention.Layout`
# (a prefix, a history and candidates); dark cells are the keys (columns) a query (row) may read.

# %%
layout = Layout(prefix=2, history=6, candidates=3)
masks = {
    "causal (decoder-only)": build_mask("causal", layout),
    "bidirectional (encoder)": build_mask("bidirectional", layout),
    "prefix-LM (prompt, then generation)": build_mask("prefix_lm", layout),
    "sliding window, w = 3": build_mask("sliding_window", layout, window=3),
    "block-causal (blocks of 3)": build_mask("block_causal", layout, block_size=3),
    "candidate-isolated (HSTU, VISTA)": build_mask("candidate_isolated", layout),
}
viz.mask_grid_figure(masks, cols=3, title="Attention masks over [prefix | history | candidates]")

# %% [markdown]
# The candidate-isolated mask with its blocks named: each candidate reads the prefix and the
# history and itself, so one forward pass scores all candidates as if each were alone.

# %%
viz.attention_mask_figure(masks["candidate-isolated (HSTU, VISTA)"], convention="allowed", layout=layout,
                          title="Candidate-isolated mask")

# %% tags=["hide-input"]
from llmrec_mini.notes import say

n_allowed = {name: int(m.sum()) for name, m in masks.items()}
say("Over these {n} positions the causal mask allows {causal} of the {cells} query-key pairs, the sliding "
    "window {window} and the candidate-isolated mask {iso}: a mask is also a count of the score entries an "
    "implementation that skips blocked pairs would compute.", n=layout.n, cells=layout.n ** 2,
    causal=n_allowed["causal (decoder-only)"], window=n_allowed["sliding window, w = 3"],
    iso=n_allowed["candidate-isolated (HSTU, VISTA)"])

# %% [markdown]
# ## Parameters, FLOPs and KV cache, from the configs
#
# `llmrec_mini.architectures.attention_variants` builds four decoder-only configs that differ only
# in attention (`LlamaConfig` with `num_key_value_heads` = h, g or one; `MistralConfig` with a
# `sliding_window`). `llmrec_mini.architectures.param_count`, `llmrec_mini.architectures.flops_per_token`
# and `llmrec_mini.architectures.kv_cache_bytes` compute from the config alone:
#
# $$\text{FLOPs per token} = 2 \times (\text{matmul parameters}) + L \cdot 2 \cdot 2 \cdot n_{\text{keys}} \cdot h \, d_h ,$$
#
# the first term for every weight a token passes through (a multiply and an add each), the second
# for $QK^\top$ and $AV$ over the $n_{\text{keys}}$ keys the token reads (all $N$, or $w$ under a
# window). The table adds a T5 (FLOPs of a generated token, reading as many source tokens) and a
# BERT of the same width, the other two families; their KV-cache cells stay empty, as
# `llmrec_mini.architectures.kv_cache_bytes` covers decoder-only models. The same functions count
# SmolLM2-135M from its config exactly (a GQA model: nine query heads share three KV heads).

# %%
variants = X.attention_variants(d_model=D_MODEL, n_heads=N_HEADS, n_layers=N_LAYERS, window=WINDOW,
                                gqa_kv_heads=GQA_KV_HEADS, max_positions=max(max(SEQ_LENS), COUNT_AT) + 1)
families = {"T5 (encoder-decoder)": X.make_config("encoder-decoder", vocab_size=512, d_model=D_MODEL,
                                                   n_layers=N_LAYERS, n_heads=N_HEADS),
            "BERT (bidirectional encoder)": X.make_config("bidirectional encoder", vocab_size=512, d_model=D_MODEL,
                                                           n_layers=N_LAYERS, n_heads=N_HEADS,
                                                           max_positions=COUNT_AT)}
table = []
for name, cfg in {**variants, **families}.items():
    decoder = X.family_of(cfg) == "decoder-only"
    table.append({"model": name, "family": X.family_of(cfg), "parameters": X.param_count(cfg),
                  f"GFLOPs / token at N = {COUNT_AT}": X.flops_per_token(cfg, COUNT_AT) / 1e9,
                  f"KV cache at N = {COUNT_AT} (MiB, bf16)": X.kv_cache_bytes(cfg, COUNT_AT, torch.bfloat16) / 2 ** 20
                  if decoder else None})
table = pd.DataFrame(table).set_index("model")
table.round(4)

# %% tags=["hide-input"]
kv_col = f"KV cache at N = {COUNT_AT} (MiB, bf16)"
fl_col = f"GFLOPs / token at N = {COUNT_AT}"
say("GQA with {g} KV heads cuts the KV cache by {gqa:.1f}x against MHA ({h} heads), MQA by {mqa:.1f}x, and the "
    "window of {w} keys by {win:.1f}x at N = {n}; the FLOPs per token move far less: GQA saves {gqa_fl:.1%} of MHA's "
    "(only the smaller key and value projections), the window {win_fl:.1%} (the scores over the keys it skips).",
    g=GQA_KV_HEADS, h=N_HEADS, w=WINDOW, n=COUNT_AT,
    gqa=table.loc["MHA", kv_col] / table.loc["GQA", kv_col], mqa=table.loc["MHA", kv_col] / table.loc["MQA", kv_col],
    win=table.loc["MHA", kv_col] / table.loc["sliding window", kv_col],
    gqa_fl=1 - table.loc["GQA", fl_col] / table.loc["MHA", fl_col],
    win_fl=1 - table.loc["sliding window", fl_col] / table.loc["MHA", fl_col])

# %% [markdown]
# ## Timing tiny decoders: prefill, decode step, cache
#
# `llmrec_mini.architectures.measure_decoding` builds each variant (random weights), runs the
# *prefill* (one forward over a prompt of N tokens, filling the cache) and one *decode step* (the
# next token, reading the cache), and reports median times over repeats on one thread, the prefill's
# peak memory and the bytes the cache really holds, which the tests check against the formula.

# %%
with torch_threads(1):
    decode_rows = X.measure_decoding(variants, seq_lens=SEQ_LENS, min_seconds=MIN_SECONDS, seed=SEED)
decode = pd.DataFrame(decode_rows)
decode[["variant", "n", "prefill_ms", "decode_ms", "prefill_peak_mb", "kv_cache_mb", "kv_cache_mb_formula"]].round(3)

# %%
viz.scaling_lines_figure(decode_rows, x="n", x_title="prompt length N", group="variant",
                         panels={"prefill_ms": "prefill time (ms)", "decode_ms": "one decode step (ms)",
                                 "kv_cache_mb": "KV cache (MiB, float32)"},
                         title="Tiny decoders against the prompt length N (log-log)")

# %% tags=["hide-input"]
top, low = max(SEQ_LENS), min(SEQ_LENS)
at = decode[decode.n == top].set_index("variant")
at0 = decode[decode.n == low].set_index("variant")
exact = bool((decode.kv_cache_mb == decode.kv_cache_mb_formula).all())
shared = at.loc[["MHA", "GQA", "MQA"], "prefill_ms"]
heads_spread = shared.max() / shared.min()
window_vs_mha = at.loc["sliding window", "prefill_ms"] / at.loc["MHA", "prefill_ms"]
growth = at.loc["MHA", "decode_ms"] / at0.loc["MHA", "decode_ms"]  # MHA reads the largest cache
say("At N = {n} the measured caches are {mha:.2f} MiB (MHA), {gqa:.2f} (GQA), {mqa:.2f} (MQA) and {win:.2f} "
    "(sliding window), {match} the formula. The prefill of MHA, GQA and MQA differs by {heads:.2f}x at most "
    "({heads_why}); the windowed prefill takes {wv:.2f}x the time of MHA's ({win_why}). One decode step takes "
    "{d_mha:.1f} ms (MHA), {d_gqa:.1f} (GQA), {d_mqa:.1f} (MQA) and {d_win:.1f} (window) at N = {n}, against "
    "{d0:.1f} ms for MHA at N = {n0}: {step_note} On an accelerator serving long contexts and large batches the "
    "step is bound by reading the cache, and that is where GQA, MQA and windows pay.",
    n=top, n0=low, mha=at.loc["MHA", "kv_cache_mb"], gqa=at.loc["GQA", "kv_cache_mb"],
    mqa=at.loc["MQA", "kv_cache_mb"], win=at.loc["sliding window", "kv_cache_mb"],
    match="equal to" if exact else "NOT equal to", heads=heads_spread,
    heads_why="their arithmetic is the same: the library repeats each shared KV head for its query heads before "
    "the score product" + ("" if heads_spread < 1.3 else ", so a gap this size is timing noise on a shared machine"),
    wv=window_vs_mha, win_why="the window is a mask on the dense score matrix here, so it saves nothing in prefill"
    if window_vs_mha > 0.8 else "the implementation skips the masked blocks",
    d_mha=at.loc["MHA", "decode_ms"], d_gqa=at.loc["GQA", "decode_ms"], d_mqa=at.loc["MQA", "decode_ms"],
    d_win=at.loc["sliding window", "decode_ms"], d0=at0.loc["MHA", "decode_ms"],
    step_note="at this width most of a step is fixed work (projections, MLP, output head, Python) and the part that "
    "reads the cache is small." if growth < 2 else "the part of the step that reads the cache already shows as N grows.")

# %% [markdown]
# ## Timing the attention functions: softmax, linear, quasi-linear, HSTU
#
# One head, random inputs, the functions of `llmrec_mini.attention` alone (no projections), timed by
# `llmrec_mini.architectures.measure_attention_functions`, which reuses the benchmark of
# `llmrec_mini.bench.attention_scaling` and adds HSTU's pointwise attention under a causal mask.

# %%
att_rows = X.measure_attention_functions(sizes=ATT_SIZES, min_seconds=MIN_SECONDS)
att = pd.DataFrame(att_rows)
att[["attention", "n", "median_ms", "peak_mb", "flops"]].round(3)

# %%
viz.scaling_lines_figure(att_rows, x="n", x_title="sequence length N", group="attention",
                         panels={"median_ms": "median time (ms)", "peak_mb": "peak memory (MiB)"},
                         title="Attention functions against N (log-log)")

# %% tags=["hide-input"]
big = max(ATT_SIZES)
a = att[att.n == big].set_index("attention")
h_s = a.loc["hstu", "median_ms"] / a.loc["softmax", "median_ms"]
say("At N = {n}, softmax attention takes {s_q:.1f}x the time of quasi-linear attention and {s_l:.1f}x that of "
    "linear attention, and holds {m_s:.1f} MiB at its peak against {m_q:.2f} MiB for quasi-linear. HSTU's pointwise "
    "attention {hstu_cmp} ({h_s:.2f}x its time, {hm:.1f} MiB): it changes what the weights mean, not the N x N "
    "cost.", n=big, hstu_cmp="is no cheaper than softmax" if h_s > 0.8 else "runs faster than softmax here, yet still", s_q=a.loc["softmax", "median_ms"] / a.loc["quasi_linear", "median_ms"],
    s_l=a.loc["softmax", "median_ms"] / a.loc["linear", "median_ms"], m_s=a.loc["softmax", "peak_mb"],
    m_q=a.loc["quasi_linear", "peak_mb"], h_s=h_s,
    hm=a.loc["hstu", "peak_mb"])

# %% [markdown]
# ## Which mechanism where
#
# | mechanism | cost per layer | cache while decoding | used here |
# |---|---|---|---|
# | MHA | $O(N^2 d)$ | $2 h d_h$ per token | TIGER's T5, SASRec, the tiny Llamas |
# | GQA / MQA | $O(N^2 d)$ | $2 g d_h$ per token | SmolLM2 (GQA) behind PLUM, LUMEN, LinkedIn with `lm="smollm2"` |
# | sliding window | $O(N w d)$ | $w$ positions | not used; the Mistral-style variant above |
# | linear | $O(N d^2)$ | a $d \times d$ state | `llmrec_mini.attention.linear_attention` |
# | quasi-linear | $O(N d^2)$ | a $d \times d$ state per user | [VISTA](../vista_architecture.md) |
# | HSTU pointwise | $O(N^2 d)$ | as MHA | `llmrec_mini.models.target_attention` (`attention="hstu"`) |
#
# ## What changes at scale
#
# - **Serving is memory-bound.** A decode step reads every cached key and value once for one new
#   token, so at long context and large batch its time follows the cache size, not the FLOPs; GQA
#   became the default of open LLMs (Llama, Mistral, Qwen, SmolLM2) for that reason, with little
#   quality loss when converted from MHA with a short up-training (Ainslie et al.).
# - **Fused kernels.** FlashAttention never writes the $N \times N$ matrix to memory, so softmax
#   attention's memory becomes linear in N while its FLOPs stay quadratic; the memory gap to linear
#   attention measured above is the naive implementation's.
# - **Windows with global tokens.** Longformer mixes a window with a few global positions; a
#   recommender could keep the target item or user tokens global and window the long history.
# - **Recommendation workloads** are ranking many candidates per user rather than long generation:
#   candidate-isolated masks (HSTU), summaries reused across candidates (VISTA) and caching the
#   user's history once matter more there than KV-head sharing.
#
# ## Summary
#
# - Attention variants differ in who sees whom (the mask) and in what serving costs: MQA and GQA
#   shrink the KV cache by sharing keys and values across heads, a sliding window bounds it.
# - Parameters, FLOPs and KV-cache sizes can be computed from a `transformers` config with
#   `llmrec_mini.architectures`, before building anything.
# - Linear and quasi-linear attention remove the quadratic attention matrix; HSTU's pointwise
#   attention replaces the softmax, which changes what the scores mean.
# - Measured CPU times on tiny models show the trends but not the constants of accelerators: memory
#   traffic, not FLOPs, dominates decoding at scale.
#
# ## Exercises
#
# 1. Set `GQA_KV_HEADS` to the number of heads and to one: check that the KV-cache column of the table
#    matches MHA and MQA.
# 2. Raise `D_MODEL` and the largest `SEQ_LENS` until the decode step's time starts to depend on the
#    variant. Which term of `llmrec_mini.architectures.flops_per_token` dominates then?
# 3. Time `llmrec_mini.attention.softmax_attention` with and without a sliding-window mask at the
#    largest N: does the dense implementation get faster? Why not?
# 4. Compute the KV cache of SmolLM2-135M (`llmrec_mini.llm.load_pretrained`, its config) at a context
#    of a user's whole history written as text.

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Vaswani et al. *Attention Is All You Need.* NeurIPS 2017, arXiv:1706.03762.
# - Shazeer. *Fast Transformer Decoding: One Write-Head is All You Need* (MQA). arXiv:1911.02150, 2019.
# - Ainslie et al. *GQA: Training Generalized Multi-Query Transformer Models from Multi-Head Checkpoints.*
#   EMNLP 2023, arXiv:2305.13245.
# - Beltagy, Peters, Cohan. *Longformer: The Long-Document Transformer.* arXiv:2004.05150, 2020.
# - Katharopoulos, Vyas, Pappas, Fleuret. *Transformers are RNNs: Fast Autoregressive Transformers with
#   Linear Attention.* ICML 2020, arXiv:2006.16236.
# - Zhai et al. *Actions Speak Louder than Words: Trillion-Parameter Sequential Transducers for
#   Generative Recommendations* (HSTU). ICML 2024, arXiv:2402.17152.
# - Chen et al. *VISTA* (quasi-linear attention, Appendix B). arXiv:2510.22049.
# - Kaplan et al. *Scaling Laws for Neural Language Models* (the FLOP count convention). arXiv:2001.08361.

# %% tags=["hide-input"]
from llmrec_mini.notes import minutes

say("This page's run took {took}.", took=minutes(time.perf_counter() - start))
