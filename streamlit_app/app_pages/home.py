"""Home: what the playground shows and the dataset it runs on."""
import streamlit as st

import state

size, seed = state.settings()
ds = state.dataset(size, seed)
stats = ds.stats()

st.title("llmrec-mini playground")
st.markdown(
    """
Poke at the models of the llmrec-mini notes on the **built-in shop**, a
synthetic catalogue whose users behave like real shoppers: they have favourite categories and
brands, buy follow-ups of what they just bought (a camera, then a lens), and drift in taste.
Order therefore carries signal that a sequence model can learn and popularity cannot.

* **Recommendations**: pick a user, see their history and the top-10 of popularity and of
  SASRec (a causal Transformer over item ids), with both models' held-out test metrics.
* **Semantic IDs**: embed every item's text, quantise the embeddings into short code tuples
  (RQ-KMeans, RQ-VAE, or TIGER's LSH / random ablations) and explore the code tree they form.
* **Attention masks**: build every mask of the package's attention library (causal, prefix-LM,
  candidate-isolated, ...), check live whether candidates leak into each other, look at SASRec's
  real attention weights over a user's history, and compare VISTA's per-request cost with full
  target attention.
* **Chat**: a conversational recommender that asks about category, brand, price or features
  (the most uncertain one first), reads free-text answers and critiques ("something cheaper"),
  and recommends when few candidates are left; its belief state is shown beside the chat, and a
  simulated shopper can play the conversation for you.

The dataset size and seed are in the sidebar. Models and semantic IDs are trained on first use and
cached on disk, so later starts load them. A training shows a progress bar with the time left,
extrapolated from its epochs so far, and the time the same training took last on this machine.
"""
)

cols = st.columns(4)
cols[0].metric("Users", f"{stats['users']:,}")
cols[1].metric("Items", f"{stats['items']:,}")
cols[2].metric("Interactions", f"{stats['interactions']:,}")
cols[3].metric("Mean history length", f"{stats['seq_len_mean']:.1f}")

st.subheader(f"The catalogue ({size}, seed {seed})")
st.dataframe(ds.catalog.to_frame().drop(columns=["description"], errors="ignore"), hide_index=True, height=320)

links = st.columns(4)
links[0].page_link("app_pages/recommendations.py", label="Recommendations", icon=":material/shopping_cart:")
links[1].page_link("app_pages/semantic_ids.py", label="Semantic IDs", icon=":material/account_tree:")
links[2].page_link("app_pages/attention.py", label="Attention masks", icon=":material/grid_on:")
links[3].page_link("app_pages/chat.py", label="Chat", icon=":material/chat:")
