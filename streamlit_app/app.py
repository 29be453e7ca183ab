"""llmrec-mini playground: `streamlit run streamlit_app/app.py` (or `make run`).

The entry point only sets up the page, the shared sidebar (dataset size and seed) and the navigation;
each page lives in `app_pages/` and loads what it needs through the cached loaders in `state.py`.
"""
import streamlit as st

import state

st.set_page_config(page_title="llmrec-mini playground", page_icon=":material/recommend:", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/recommendations.py", title="Recommendations", icon=":material/shopping_cart:"),
    st.Page("app_pages/semantic_ids.py", title="Semantic IDs", icon=":material/account_tree:"),
    st.Page("app_pages/attention.py", title="Attention masks", icon=":material/grid_on:", url_path="attention"),
    st.Page("app_pages/chat.py", title="Chat", icon=":material/chat:"),
]

page = st.navigation(PAGES)
state.sidebar_settings()
st.sidebar.caption("Models and semantic IDs are trained on first use and cached on disk "
                   f"(`{state.cache_dir()}`).")
page.run()
