"""Semantic IDs: item text -> embedding -> a short tuple of codes (TIGER §3.1), and the tree those codes form.

Residual quantisation gives each item codes (c0, c1, c2): c0 is the coarsest description, each
later code refines what the previous ones left unexplained. Items that still share all codes get
a collision token 0, 1, 2, ... so every ID is unique.
"""
import numpy as np
import pandas as pd
import streamlit as st

import state
from llmrec_mini.text import minilm_installed
from llmrec_mini.viz import code_sunburst, codebook_usage_figure, embedding_projection_figure

size, seed = state.settings()
ds = state.dataset(size, seed)
catalog = ds.catalog

st.title("Semantic IDs")
st.caption("Every item's text (title, brand, categories, price) is embedded by a sentence encoder; the embeddings "
           "are quantised level by level into codes. Similar items should share prefixes.")

# ---- controls --------------------------------------------------------------------------------------------
c1, c2, c3 = st.columns(3)
encoder = c1.selectbox("Text encoder", state.ENCODERS, key="encoder",
                       format_func=lambda e: ("auto: all-MiniLM-L6-v2" if minilm_installed() else "auto: hashing")
                       if e == "auto" else "hashing (TF-IDF + SVD, no model)")
method = c2.selectbox("Quantiser", state.SID_METHODS, key="method",
                      format_func={"rqkmeans": "RQ-KMeans", "rqvae": "RQ-VAE (TIGER; trains a network)",
                                   "lsh": "LSH (ablation)", "random": "random (ablation)"}.get)
codebook_size = c3.select_slider("Codebook size K per level", [16, 32, 64, 128, 256], value=64, key="codebook_size")

emb = state.embeddings(size, seed, encoder)
sids = state.semantic_ids(size, seed, encoder, method, codebook_size)
codes = sids.codes  # (n_items, L): c0..c{L-2}, then the collision token
n_levels = sids.length - 1
trie = sids.trie()
m = sids.metrics

# ---- quality of the codes ----------------------------------------------------------------------------------
cols = st.columns(5)
cols[0].metric("Unique rate", f"{m['unique_rate']:.1%}", help="distinct code tuples / items, before the collision token")
cols[1].metric("Items in a collision", f"{m['collision_rate']:.1%}", help="share of items whose tuple is shared")
cols[2].metric("Largest collision", m["max_collision"], help="most items sharing one code tuple")
cols[3].metric("Codebook size used", m["codebook_size"],
               help="K (clamped to the catalogue for k-means methods when it is too large)")
cols[4].metric("Fit time", f"{m['fit_seconds']:.1f} s")

# ---- one item's code path ------------------------------------------------------------------------------------
st.subheader("An item's code path")
if st.session_state.get("item", 0) >= ds.n_items:
    st.session_state["item"] = 0
item = st.selectbox("Item", range(ds.n_items), key="item",
                    format_func=lambda i: f"{catalog.title(i)} ({catalog.category(i)})")
code = sids.code_of(item)
path = " → ".join(f"c{lv}=`{c}`" for lv, c in enumerate(code[:-1])) + f" → collision `{code[-1]}`"
st.markdown(f"**{catalog.title(item)}**: {path}  (ID `{'-'.join(map(str, code))}`)")

leaf = catalog.categories[item][-1] if catalog.categories else None
level_name = ["(" + ", ".join(f"c{j}" for j in range(lv + 1)) + ")" for lv in range(n_levels)]  # "(c0, c1)"
summary, sharing = [], {}
for lv in range(n_levels):
    prefix = code[: lv + 1]
    members = trie.items_with_prefix(prefix)
    sharing[lv] = members
    same = np.mean([catalog.categories[j][-1] == leaf for j in members]) if leaf else np.nan
    summary.append({"codes": level_name[lv], "prefix": "-".join(map(str, prefix)), "items sharing it": len(members),
                    "same leaf category": same})
st.dataframe(pd.DataFrame(summary), hide_index=True, key="prefix_summary",
             column_config={"same leaf category": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                                                  max_value=1)})
tabs = st.tabs([f"Items sharing {level_name[lv]}: {len(sharing[lv])}" for lv in range(n_levels)])
for lv, tab in enumerate(tabs):
    members = sharing[lv][:200]
    tab.dataframe(pd.DataFrame({"item": members, "ID": ["-".join(map(str, codes[j])) for j in members],
                                "title": [catalog.title(j) for j in members],
                                "category": [catalog.category(j) for j in members],
                                "brand": [catalog.brands[j] for j in members] if catalog.brands else ""}),
                  hide_index=True, height=250, key=f"sharing_{lv}")

# ---- the code tree -------------------------------------------------------------------------------------------
st.subheader("The code tree")
left, right = st.columns([3, 1])
scope = left.radio("Show", ["the picked item's c0 branch", "the whole catalogue (an even sample)"], key="tree_scope",
                   horizontal=True)
kind = right.radio("As", ["sunburst", "treemap"], key="tree_kind", horizontal=True)
prefix = code[:1] if scope.startswith("the picked") else ()
st.plotly_chart(code_sunburst(sids, catalog, max_items=400, prefix=prefix, kind=kind), key="code_tree")

# ---- codebook usage and collisions -----------------------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader("Codebook usage")
    st.plotly_chart(codebook_usage_figure(sids), key="codebook_usage")
with right:
    st.subheader("Collisions")
    frame = sids.to_frame()
    groups = frame[frame["group_size"] > 1].groupby([f"c{lv}" for lv in range(n_levels)])["item"].apply(list)
    rows = [{"codes": "-".join(map(str, key)), "items": len(items),
             "titles": " | ".join(catalog.title(i) for i in items),
             "categories": ", ".join(sorted({catalog.category(i) for i in items}))}
            for key, items in groups.items()]
    collisions = pd.DataFrame(rows, columns=["codes", "items", "titles", "categories"])
    collisions = collisions.sort_values("items", ascending=False, kind="stable")
    st.caption(f"{len(collisions)} code tuples shared by several items; the collision token tells them apart.")
    st.dataframe(collisions, hide_index=True, height=420, key="collisions")

# ---- the embedding space ---------------------------------------------------------------------------------------
st.subheader("Item embeddings (PCA)")
colour = st.radio("Colour by", ["first code c0", "department", "leaf category"], key="colour_by", horizontal=True)
if colour == "first code c0":
    labels, name = codes[:, 0], "c0"
else:
    level = 0 if colour == "department" else -1
    labels, name = [catalog.categories[i][level] for i in range(ds.n_items)], colour
st.plotly_chart(embedding_projection_figure(emb, labels, hover=[catalog.title(i) for i in range(ds.n_items)],
                                            color_name=name), key="projection")
