"""The playground under Streamlit's AppTest: every page renders without an exception, widgets set by key
re-run cleanly, and the expected tables, metrics and charts are there. Tiny dataset, fresh cache folder."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py")
TIMEOUT = 180  # first runs train SASRec / build embeddings on 2 shared CPU cores


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("playground-cache")


@pytest.fixture
def app(monkeypatch, cache_dir):
    """The whole app (navigation included) on the tiny dataset, with a temporary cache folder."""
    monkeypatch.setenv("LLMREC_PLAYGROUND_SIZE", "tiny")
    monkeypatch.setenv("LLMREC_PLAYGROUND_CACHE", str(cache_dir))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at) -> list:
    return at.get("plotly_chart")


def frames(at, column: str) -> list:
    """The DataFrames shown on the page that have `column` (st.dataframe exposes no key to AppTest)."""
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_home(app):
    assert app.title[0].value == "llmrec-mini playground"
    assert app.sidebar.selectbox(key="size").value == "tiny"
    users = next(m for m in app.metric if m.label == "Users")
    assert users.value == "200"
    assert len(app.dataframe) == 1


def test_recommendations(app, cache_dir):
    at = app.switch_page("app_pages/recommendations.py").run()
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["popularity recall@10", "popularity ndcg@10", "sasrec recall@10", "sasrec ndcg@10"]
    assert all(0.0 <= float(m.value) <= 1.0 for m in at.metric)
    # SASRec was trained once and cached on disk for the next start
    assert list(Path(cache_dir).rglob("*sasrec*/model.safetensors"))
    history, *tops = frames(at, "item")
    assert "step" in history.columns and len(tops) == 2
    top = dict(zip(("popularity", "sasrec"), tops))
    assert all(len(t) == 10 and list(t["rank"]) == list(range(1, 11)) for t in top.values())
    # popularity recommends the same items to everyone but excludes each user's history
    history_0 = set(history["item"])
    assert not history_0 & set(top["sasrec"]["item"])

    assert len(charts(at)) == 1  # SASRec's training curve

    at.selectbox(key="user").set_value(7).run()
    assert not at.exception, at.exception
    history_7, top_pop, _ = frames(at, "item")
    assert at.selectbox(key="user").value == 7
    assert set(history_7["item"]) != history_0 and not set(history_7["item"]) & set(top_pop["item"])
    assert at.info, "the held-out target (or its absence) is shown"

    at.button(key="random_user").click().run()
    assert not at.exception, at.exception
    assert [len(t) for t in frames(at, "rank")] == [10, 10]


def test_semantic_ids(app):
    at = app.switch_page("app_pages/semantic_ids.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="method").value == "rqkmeans"
    metric = {m.label: m.value for m in at.metric}
    assert {"Unique rate", "Items in a collision", "Largest collision"} <= set(metric)
    # code tree, codebook usage, PCA projection
    assert len(charts(at)) == 3
    (summary,) = frames(at, "items sharing it")
    assert list(summary["items sharing it"]) == sorted(summary["items sharing it"], reverse=True)
    assert summary["items sharing it"].iloc[-1] >= 1

    at.selectbox(key="item").set_value(5).run()
    assert not at.exception, at.exception
    sharing = frames(at, "ID")  # one table per level: the items sharing c0, c0..c1, c0..c2
    assert len(sharing) == 3 and all(5 in set(t["item"]) for t in sharing)
    assert len(sharing[0]) >= len(sharing[1]) >= len(sharing[2])

    at.radio(key="tree_scope").set_value("the whole catalogue (an even sample)").run()
    at.radio(key="colour_by").set_value("leaf category").run()
    assert not at.exception, at.exception

    at.selectbox(key="method").set_value("lsh").run()
    assert not at.exception, at.exception
    assert len(charts(at)) == 3
    (collisions,) = frames(at, "titles")
    assert set(collisions.columns) == {"codes", "items", "titles", "categories"}
    assert (collisions["items"] >= 2).all()

    # TIGER's quantiser, and the model-free text encoder
    at.selectbox(key="method").set_value("rqvae").run()
    assert not at.exception, at.exception
    at.selectbox(key="encoder").set_value("hashing").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Codebook size used"] == "64"
    assert len(charts(at)) == 3
