"""Recommendations: one user's history and the top-10 of popularity and SASRec, side by side, and on
request a generative model's (TIGER or PLUM) with the semantic ID it wrote and its beam score.

The split is leave-one-out: the user's last item is held out as the test target, so both models see
the history without it (exactly what `llmrec_mini.evaluate.evaluate` scores) and we can check
whether they find it.
"""
import numpy as np
import pandas as pd
import streamlit as st

import state
from llmrec_mini.viz import training_curve_figure

K = 10
SCORE_HELP = {"popularity": "training purchases of the item", "sasrec": "logit h_t . E_i of the next item"}
size, seed = state.settings()
ds = state.dataset(size, seed)
split = state.split(size, seed)
catalog = ds.catalog
models = state.models(size, seed)

st.title("Recommendations")
st.caption(f"Built-in shop ({size}, seed {seed}): {ds.n_users:,} users, {ds.n_items:,} items. "
           "Leave-one-out split: each user's last item is the held-out test target.")

# ---- test metrics of both models (a fixed subset of test users) -------------------------------------
metrics = {name: state.test_metrics(size, seed, name) for name in models}
st.subheader(f"Test metrics ({metrics['popularity']['users']:,} held-out users, full-catalogue ranking)")
cols = st.columns(4)
for c, (name, metric) in enumerate([(n, m) for n in models for m in ("recall@10", "ndcg@10")]):
    value = metrics[name][metric]
    delta = None if name == "popularity" else f"{value - metrics['popularity'][metric]:+.3f} vs popularity"
    cols[c].metric(f"{name} {metric}", f"{value:.3f}", delta=delta)

# ---- pick a user --------------------------------------------------------------------------------------
seqs = ds.interactions.sequences
test_row = {int(u): r for r, u in enumerate(split.test.users)}  # user -> row of split.test


def pick_random_user() -> None:
    st.session_state["user"] = int(np.random.default_rng().choice(split.test.users))


if st.session_state.get("user", 0) >= ds.n_users:  # the dataset got smaller (sidebar)
    st.session_state["user"] = 0
left, right = st.columns([4, 1], vertical_alignment="bottom")
user = left.selectbox("User", range(ds.n_users), key="user",
                      format_func=lambda u: f"{ds.interactions.user_ids[u]} ({len(seqs[u])} purchases)")
right.button("Random user", on_click=pick_random_user, key="random_user")

if user in test_row:
    history, target = split.test.histories[test_row[user]], int(split.test.targets[test_row[user]])
else:  # fewer than 3 interactions: nothing held out
    history, target = seqs[user], None


def item_rows(items) -> pd.DataFrame:
    return pd.DataFrame({"item": items, "title": [catalog.title(i) for i in items],
                         "category": [catalog.category(i) for i in items],
                         "brand": [catalog.brands[i] if catalog.brands else "" for i in items],
                         "price": [float(catalog.prices[i]) if catalog.prices is not None else np.nan for i in items]})


# ---- the history -----------------------------------------------------------------------------------------
st.subheader(f"History ({len(history)} items, most recent last)")
hist = item_rows(history)
hist.insert(0, "step", np.arange(1, len(history) + 1))
if ds.interactions.timestamps is not None:
    hist["date"] = pd.to_datetime(ds.interactions.timestamps[user][: len(history)], unit="s").date
st.dataframe(hist, hide_index=True, column_config={"price": st.column_config.NumberColumn(format="%.2f")},
             height=min(420, 38 + 35 * len(hist)))
if target is not None:
    st.info(f"Held-out test target: **{catalog.title(target)}** ({catalog.category(target)}, "
            f"{catalog.brands[target]}, {catalog.prices[target]:.2f})", icon=":material/flag:")
else:
    st.info("This user has fewer than 3 purchases, so nothing is held out.")

# ---- top-10 of each model ------------------------------------------------------------------------------
st.subheader(f"Top-{K} (items in the history excluded)")
for col, (name, model) in zip(st.columns(len(models)), models.items()):
    items, scores = model.recommend([history], k=K, exclude_seen=True)
    top = item_rows(items[0])[["item", "title", "category"]]
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    top["score"] = scores[0]
    top["target"] = items[0] == target
    with col:
        st.markdown(f"**{name}**")
        st.dataframe(top, hide_index=True, key=f"top_{name}", column_config={
            "item": None,  # kept in the frame (tests, hover), not shown
            "rank": st.column_config.NumberColumn(width=40),
            "title": st.column_config.TextColumn(width="medium"),
            "score": st.column_config.NumberColumn(format="%d" if name == "popularity" else "%.3f", width=60,
                                                   help=SCORE_HELP[name]),
            "target": st.column_config.CheckboxColumn("target", width=50, help="the held-out test item")})
        if target is not None:
            hit = np.flatnonzero(items[0] == target)
            st.caption(f"Target found at rank {hit[0] + 1}." if len(hit) else f"Target not in the top-{K}.")

# ---- a generative model: the IDs it wrote -----------------------------------------------------------------
GENERATIVE = {"none": "none", "tiger": "TIGER (T5 from scratch)", "plum": "PLUM (LM + CPT + SFT)"}
st.subheader("Generative retrieval: the semantic IDs behind the items")
gen = st.radio("Generative model", list(GENERATIVE), format_func=GENERATIVE.get, horizontal=True, key="gen_model",
               help="trained once on first use (a progress bar follows it), then loaded from the disk cache")
if gen != "none":
    model = state.model(gen, size, seed)
    rec = model.recommend([history], k=K, exclude_seen=True)
    codes, valid = model.vocab.codes(rec.extras["tokens"][0])
    top = item_rows(rec.items[0])[["item", "title", "category"]]
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    top["semantic ID"] = ["-".join(map(str, c)) if ok and i >= 0 else "" for c, ok, i in zip(codes, valid, rec.items[0])]
    top["beam log-prob"] = rec.scores[0]
    top["target"] = rec.items[0] == target
    st.dataframe(top, hide_index=True, key=f"top_{gen}", column_config={
        "item": None, "rank": st.column_config.NumberColumn(width=40),
        "semantic ID": st.column_config.TextColumn(help="the codes the model generated, coarse to fine; the last is "
                                                   "the collision token"),
        "beam log-prob": st.column_config.NumberColumn(format="%.3f", help="sum of the log-probabilities of the "
                                                       "ID's tokens: the beam's score"),
        "target": st.column_config.CheckboxColumn("target", width=50, help="the held-out test item")})
    st.caption(f"Beam search under the SID trie (every beam is a real item) with {len(top)} beams kept; "
               f"{int((rec.items[0] >= 0).sum())} items. Items sharing a first code share its subtree of the trie.")

with st.expander("How SASRec was trained"):
    sasrec = models["sasrec"]
    st.markdown(f"{len(sasrec.result.history)} epochs, batch {sasrec.train_config.batch_size}, full-softmax "
                "cross-entropy; the weights of the epoch with the best validation NDCG@10 are kept. Checkpoint: "
                f"`{state.model_dir('sasrec', size, seed)}`.")
    took = state.last_timing(state.model_dir("sasrec", size, seed).name)
    if took is not None:
        st.caption(f"Its last training here took {state.seconds_text(took)} (wall time, recorded in "
                   f"`{state.timings_file()}`).")
    if sasrec.result.history:
        st.plotly_chart(training_curve_figure(sasrec.result.history, title="SASRec training"), key="sasrec_curve")
