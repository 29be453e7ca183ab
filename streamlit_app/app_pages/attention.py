"""Attention masks: who may read whom in ``[prefix/seeds | history | candidates]``, checked live.

1. Any mask of `llmrec_mini.attention.MASKS` on a layout of your size, drawn with its blocks, and a
   leakage check: random queries, keys and values go through softmax attention under the mask (and
   VISTA's quasi-linear attention for the candidate-isolated case); one candidate's inputs are
   perturbed and the page reports whether any *other* position's output moved.
2. A trained SASRec's or VISTA's real attention weights over one user's history, per layer and head
   (VISTA: each event's kernel weight in what each seed reads).
3. VISTA's per-request cost against the history length, from the analytic FLOP counts of
   `attention.attention_cost` (nothing is timed here).
"""
import inspect

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import state
from llmrec_mini import attention
from llmrec_mini.viz import attention_mask_figure

OPTION_CHOICES = {"history": attention.HISTORY_MODES}  # string options of the mask builders, and their values
OPTION_LABELS = {"history": "history mode", "block_size": "block size", "window": "window", "causal": "causal window"}
OPTION_HELP = {
    "block_size": "tokens per block; 0 = one block per segment of the layout (prefix, history, candidates)",
    "window": "how many positions each query sees (itself included)",
    "causal": "off: the window reaches both sides",
    "history": "how the prefix and history read each other: causal (HSTU) or bidirectional (VISTA)",
}
TOLERANCE = 1e-12  # float64: an output that moved by less than this did not move
HEADS, WIDTH = 2, 8  # the random inputs of the leakage check: (heads, N, d)

st.title("Attention masks")
st.caption("Masks from `llmrec_mini.attention` on a sequence laid out as [prefix or seeds | history | candidates]. "
           "Row = query, column = key, dark = may attend.")

# ================================================================================= 1. a mask and its leakage
st.header("Mask")
left, right = st.columns([1, 2])
with left:
    name = st.selectbox("Mask type", list(attention.MASKS), key="mask",
                        index=list(attention.MASKS).index("candidate_isolated"))
    c1, c2, c3 = st.columns(3)
    prefix = c1.number_input("Prefix", min_value=0, max_value=8, value=2, key="mask_prefix",
                             help="tokens every later position may read in full (a prompt, or VISTA's seeds)")
    history = c2.number_input("History", min_value=1, max_value=24, value=5, key="mask_history",
                              help="the user's interactions")
    candidates = c3.number_input("Candidates", min_value=1, max_value=8, value=3, key="mask_candidates",
                                 help="the items to score, always last")
    prefix_name = st.radio("The prefix is", ["prefix", "seeds"], key="prefix_name", horizontal=True,
                           format_func={"prefix": "a prompt prefix", "seeds": "VISTA's virtual seeds"}.get)
    layout = attention.Layout(prefix=int(prefix), history=int(history), candidates=int(candidates),
                              prefix_name=prefix_name)

    options = {}
    for option, default in attention.mask_options(name).items():
        key, label, tip = f"mask_opt_{name}_{option}", OPTION_LABELS.get(option, option), OPTION_HELP.get(option)
        if isinstance(default, bool):
            options[option] = st.checkbox(label, value=default, key=key, help=tip)
        elif option in OPTION_CHOICES:
            choices = list(OPTION_CHOICES[option])
            options[option] = st.selectbox(label, choices, index=choices.index(default), key=key, help=tip)
        elif default is None or isinstance(default, int):  # None: "0" stands for the builder's default
            value = st.number_input(label, min_value=0 if default is None else 1, value=default or 0, step=1,
                                    key=key, help=tip)
            options[option] = None if default is None and value == 0 else int(value)
        else:
            options[option] = st.text_input(label, value=str(default), key=key, help=tip)

mask = attention.build_mask(name, layout, **options)
doc = inspect.getdoc(attention.MASKS[name]) or name
with right:
    st.caption(doc.splitlines()[0])
    st.plotly_chart(attention_mask_figure(mask, title=f"{name} (N = {layout.n})", convention="allowed", layout=layout),
                    key="mask_figure")

# ---- the live leakage check --------------------------------------------------------------------------------
st.subheader("Leakage check")
st.caption(f"Random queries, keys and values ({HEADS} heads, width {WIDTH}, float64) go through the attention; "
           "then one candidate's query, key and value are replaced and the attention runs again. "
           "A position whose output moves has read that candidate.")
labels = layout.labels()
cand = layout.candidate_slice
if st.session_state.get("perturbed", 0) >= layout.candidates:  # fewer candidates than before
    st.session_state["perturbed"] = layout.candidates - 1
j = st.columns(4)[0].selectbox("Perturbed candidate", range(layout.candidates), key="perturbed",
                 format_func=lambda c: labels[cand.start + c])


def leakage(run, layout, j: int) -> dict:
    """|change| of every position's output when candidate ``j``'s inputs change (max over heads and width)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(HEADS, layout.n, WIDTH, generator=gen, dtype=torch.float64) for _ in range(3))
    row = layout.candidate_slice.start + j
    q2, k2, v2 = q.clone(), k.clone(), v.clone()
    for t in (q2, k2, v2):
        t[:, row] = torch.randn(HEADS, WIDTH, generator=gen, dtype=torch.float64)
    delta = (run(q2, k2, v2) - run(q, k, v)).abs().amax(dim=(0, 2)).numpy()  # (N,)
    others = [i for i in range(layout.candidate_slice.start, layout.n) if i != row]
    return {"delta": delta, "candidates": delta[others].max() if others else 0.0,
            "moved": [i for i in others if delta[i] > TOLERANCE],
            "context": delta[layout.context_slice].max() if layout.context else 0.0,
            "context_moved": [i for i in range(layout.context) if delta[i] > TOLERANCE]}


def verdicts(title: str, result: dict) -> None:
    st.markdown(f"**{title}**")
    who = labels[cand.start + j]
    if result["moved"]:
        st.error(f"Leak between candidates: changing {who} moves {', '.join(labels[i] for i in result['moved'])} "
                 f"(max |Δ| = {result['candidates']:.3g}).", icon=":material/warning:")
    else:
        st.success(f"No leak between candidates: changing {who} moves no other candidate "
                   f"(max |Δ| = {result['candidates']:.3g}).", icon=":material/check_circle:")
    if result["context_moved"]:
        st.error(f"The context reads the candidates: changing {who} moves "
                 f"{len(result['context_moved'])} of {layout.context} prefix/history outputs "
                 f"(max |Δ| = {result['context']:.3g}).", icon=":material/warning:")
    else:
        st.success(f"Prefix and history outputs unchanged (max |Δ| = {result['context']:.3g}).",
                   icon=":material/check_circle:")


runs = {"Softmax attention under this mask": lambda q, k, v: attention.softmax_attention(q, k, v, mask=mask)}
if name == "candidate_isolated":
    runs["VISTA quasi-linear attention (its own candidate-isolated rule, no mask)"] = (
        lambda q, k, v: attention.quasi_linear_attention(q, k, v, n_candidates=layout.candidates))
results = {title: leakage(run, layout, j) for title, run in runs.items()}
for col, (title, result) in zip(st.columns(len(results)), results.items()):
    with col:
        verdicts(title, result)
bars = go.Figure([go.Bar(x=labels, y=r["delta"], name=t.split(" (")[0]) for t, r in results.items()])
bars.update_layout(title=f"max |Δ output| per position after changing {labels[cand.start + j]}", height=300,
                   barmode="group", xaxis=dict(type="category", title="position"), yaxis_title="max |Δ|",
                   margin=dict(t=50), legend=dict(orientation="h", y=-0.35))
st.plotly_chart(bars, key="leakage_figure")

# ================================================================================= 2. a trained model's real attention
st.header("A trained model's attention over a user's history")
size, seed = state.settings()
ds = state.dataset(size, seed)
split = state.split(size, seed)
catalog = ds.catalog
seqs = ds.interactions.sequences
kind = st.radio("Model", ["sasrec", "vista"], horizontal=True, key="attn_model",
                format_func={"sasrec": "SASRec (causal softmax)", "vista": "VISTA (seeds read by quasi-linear attention)"}.get)
model = state.model(kind, size, seed)
cfg = model.config
if kind == "sasrec":
    st.caption(f"SASRec trained on the built-in shop ({size}, seed {seed}): {cfg.n_layers} layers, {cfg.n_heads} heads, "
               f"width {cfg.d_model}, reads the last {cfg.max_len} items. Causal: each position attends to itself and "
               "earlier items only. Weights are softmax(QKᵀ/√d_h) of the model's own forward pass (eval mode).")
    layers, heads, window = cfg.n_layers, [f"head {h + 1}" for h in range(cfg.n_heads)], cfg.max_len
else:
    st.caption(f"VISTA trained on the built-in shop ({size}, seed {seed}): {cfg.n_seeds} seeds read the whole history "
               f"through one quasi-linear attention layer with {len(cfg.decays)} heads, one recency decay γ each. "
               "Shown: each event's kernel weight in what a seed reads, w_j φ₁(q_seed)·φ₁(k_j) / Σw "
               "(`VISTA.attention_weights`; before φ₂, so it can be negative and rows need not sum to 1).")
    layers, heads, window = 1, [f"head {h + 1} (γ = {g:g})" for h, g in enumerate(cfg.decays)], 50

if st.session_state.get("attn_user", 0) >= ds.n_users:  # the dataset got smaller (sidebar)
    st.session_state["attn_user"] = 0
test_row = {int(u): r for r, u in enumerate(split.test.users)}
c1, c2, c3, c4 = st.columns([3, 2, 1, 1])
user = c1.selectbox("User", range(ds.n_users), key="attn_user",
                    format_func=lambda u: f"{ds.interactions.user_ids[u]} ({len(seqs[u])} purchases)")
# the history the model scores from: the held-out test target excluded (as on the Recommendations page)
history = np.asarray(split.test.histories[test_row[user]] if user in test_row else seqs[user])
longest = min(window, len(history))
if longest > 2:
    if st.session_state.get("attn_items", 0) > longest:
        st.session_state["attn_items"] = longest
    n_items = c2.slider("Recent items read" if kind == "sasrec" else "Recent items shown", min_value=2,
                        max_value=longest, value=min(12, longest), key="attn_items",
                        help="SASRec reads exactly these most recent items; VISTA reads the whole history, and "
                             "these are the columns shown")
else:
    n_items = longest
if st.session_state.get("attn_layer", 0) >= layers:
    st.session_state["attn_layer"] = 0
if st.session_state.get("attn_head", 0) not in [*range(len(heads)), "mean"]:
    st.session_state["attn_head"] = 0
layer = c3.selectbox("Layer", range(layers), key="attn_layer", format_func=lambda i: f"layer {i + 1}")
head = c4.selectbox("Head", [*range(len(heads)), "mean"], key="attn_head",
                    format_func=lambda h: "mean of heads" if h == "mean" else heads[h])

if n_items == 0:
    st.info("This user has no purchases to attend over.")
else:
    recent = history[-n_items:]
    names = [f"{t + 1}. {catalog.title(int(i))[:32]}" for t, i in enumerate(recent)]  # numbered: titles may repeat
    if kind == "sasrec":
        weights = model.attention_weights(recent)[layer]  # (heads, L, L)
        rows, y_title = names, "query (position reading)"
    else:
        weights = model.attention_weights(history)[:, :, -n_items:]  # (heads, seeds, shown events)
        rows, y_title = [f"seed {i + 1}" for i in range(cfg.n_seeds)], "seed (summary being built)"
    shown = weights.mean(0) if head == "mean" else weights[head]
    bound = float(np.abs(shown).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=shown, x=names, y=rows, zmin=0 if kind == "sasrec" else -bound, zmax=bound,
                               colorscale="Blues" if kind == "sasrec" else "RdBu", colorbar=dict(title="weight"),
                               hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>"))
    side = 260 + 24 * n_items
    fig.update_layout(title=f"layer {layer + 1}, {'mean of heads' if head == 'mean' else heads[head]}",
                      height=260 + 24 * len(rows), width=side + 260, margin=dict(t=60),
                      xaxis=dict(title="key (attended item)", side="top", type="category", tickangle=-45),
                      yaxis=dict(title=y_title, autorange="reversed", type="category"))
    st.plotly_chart(fig, key="model_attention")
    if kind == "sasrec":
        last = shown[-1]
        top = int(np.argmax(last))
        st.caption(f"The last row is what the next-item prediction reads: it puts weight {last[top]:.2f} on "
                   f"{names[top]} ({catalog.category(int(recent[top]))}).")
    else:
        top = np.unravel_index(int(np.argmax(np.abs(shown))), shown.shape)
        st.caption(f"Among the events shown, the largest weight ({shown[top]:+.3f}) is {rows[top[0]]} on "
                   f"{names[top[1]]} ({catalog.category(int(recent[top[1]]))}); with γ < 1 older events fade.")

# ================================================================================= 3. VISTA's cost per request
st.header("VISTA cost per request: analytic FLOP counts")
st.caption("Counted with `attention.attention_cost` (2 per multiply-add, per head), not measured: these curves "
           "are arithmetic. Measured time and memory are a separate benchmark "
           "(`llmrec-mini bench attention-scaling`). VISTA stage 2: each request's C candidates attend only to "
           "the k summary tokens cached for the user (quasi-linear attention over [k summaries | C candidates]), "
           "so its cost does not depend on the history length N. Full target "
           "attention: each candidate attends to all N history items, 4·C·N·d FLOPs (QKᵀ and AV).")
c1, c2, c3, c4 = st.columns(4)
k_sum = c1.select_slider("k cached summaries", [16, 32, 64, 128, 256, 512, 1024], value=256, key="cost_k")
d = c2.select_slider("Width d", [16, 32, 64, 128, 256], value=64, key="cost_d")
n_cand = c3.select_slider("Candidates C", [1, 10, 100, 500, 1000, 5000], value=500, key="cost_c")
stage1 = c4.checkbox("Show stage 1 (not per request)", value=True, key="cost_stage1",
                     help="summarising the history into the k tokens: once per user, cached between requests")

ns = np.unique(np.round(np.logspace(3, 6, 31)).astype(int))


def target_flops(n: int) -> int:
    """C query rows of dense softmax attention over n keys: attention_cost("softmax") is n such rows."""
    return n_cand * attention.attention_cost("softmax", int(n), d).flops // int(n)


vista = attention.attention_cost("quasi_linear", k_sum + n_cand, d, n_candidates=n_cand).flops
curves = {"full target attention (per request)": [target_flops(n) for n in ns],
          "VISTA stage 2 (per request)": [vista] * len(ns)}
if stage1:
    curves["VISTA stage 1 (per history update, cached)"] = [
        attention.attention_cost("quasi_linear", k_sum + int(n), d).flops for n in ns]
cost = go.Figure([go.Scatter(x=ns, y=y, name=label, mode="lines",
                             line=dict(dash="dot") if "stage 1" in label else None) for label, y in curves.items()])
cost.update_layout(title=f"FLOPs against history length (k = {k_sum}, d = {d}, C = {n_cand})", height=420,
                   xaxis=dict(type="log", dtick=1, exponentformat="SI", range=[2.95, 6.05], title="history length N"),
                   yaxis=dict(type="log", dtick=1, exponentformat="SI", title="FLOPs (analytic)"),
                   legend=dict(orientation="h", y=-0.25), margin=dict(t=50))
st.plotly_chart(cost, key="cost_figure")


def flops_text(x: float) -> str:
    for unit, scale in (("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6), ("kFLOP", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.0f} FLOP"


m1, m2, m3 = st.columns(3)
m1.metric("VISTA stage 2 per request", flops_text(vista), help="the same for every history length")
m2.metric("Full target attention at N = 1,000,000", flops_text(target_flops(1_000_000)))
m3.metric("Ratio at N = 1,000,000", f"{target_flops(1_000_000) / vista:,.0f}×",
          help="full target attention / VISTA stage 2, both analytic")
