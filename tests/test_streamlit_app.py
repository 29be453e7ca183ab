"""The playground under Streamlit's AppTest: every page renders without an exception, widgets set by key
re-run cleanly, and the expected tables, metrics and charts are there; trainings show a progress bar and
only measured time estimates. Tiny dataset, fresh cache folder."""
from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP_DIR = Path(__file__).resolve().parents[1] / "streamlit_app"
APP = str(APP_DIR / "app.py")
TIMEOUT = 180  # first runs train SASRec / build embeddings on 2 shared CPU cores
PAGES = ("app_pages/home.py", "app_pages/recommendations.py", "app_pages/semantic_ids.py")


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


def state_module():
    """The playground's `state` module, the very object the app imports (AppTest runs in this process)."""
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    import state

    return state


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
    # SASRec was trained once and cached on disk for the next start
    (saved,) = [p.parent for p in Path(cache_dir).rglob("*sasrec*/model.safetensors")]
    # the metrics shown are the harness's numbers for exactly these models (recomputed here)
    from llmrec_mini.data import load_dataset
    from llmrec_mini.data.sequences import leave_one_out
    from llmrec_mini.evaluate import evaluate
    from llmrec_mini.models import get_model, model_class

    data = load_dataset("synthetic", size="tiny")
    split = leave_one_out(data)
    shown = {m.label: m.value for m in at.metric}
    for name, model in (("popularity", get_model("popularity").fit(split)),
                        ("sasrec", model_class("sasrec").load(saved, data.catalog))):
        row = evaluate(model, split, ks=(10,), max_users=1000, progress=False).iloc[0]
        assert shown[f"{name} recall@10"] == f"{row['recall@10']:.3f}"
        assert shown[f"{name} ndcg@10"] == f"{row['ndcg@10']:.3f}"
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

    # TIGER's quantiser (the "hashing" encoder option is left out: its SVD takes ~20 s even on the tiny catalogue)
    at.selectbox(key="method").set_value("rqvae").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Codebook size used"] == "64"
    assert len(charts(at)) == 3


# ---- the figures of llmrec_mini.viz the pages (and the notes) use -------------------------------------------
def small_sids():
    from llmrec_mini.semantic_ids import SemanticIDs, add_collision_token

    raw = [[0, 1], [0, 1], [0, 2], [1, 0], [1, 0], [1, 0]]  # (6 items, 2 levels)
    return SemanticIDs(add_collision_token(raw), codebook_sizes=(4, 4, 3), method="hand")


def test_code_sunburst_tree():
    from llmrec_mini.viz import code_sunburst

    trace = code_sunburst(small_sids()).data[0]
    parent = dict(zip(trace.ids, trace.parents))
    assert parent["0"] == "root" and parent["0-1"] == "0" and parent["1-0"] == "1"
    assert [parent[f"item{i}"] for i in range(6)] == ["0-1", "0-1", "0-2", "1-0", "1-0", "1-0"]
    only_1 = code_sunburst(small_sids(), prefix=(1,)).data[0]
    assert sorted(i for i in only_1.ids if i.startswith("item")) == ["item3", "item4", "item5"]
    assert sum(i.startswith("item") for i in code_sunburst(small_sids(), max_items=3).data[0].ids) == 3
    with pytest.raises(ValueError, match="no item"):
        code_sunburst(small_sids(), prefix=(3,))


def test_codebook_usage_counts():
    from llmrec_mini.viz import codebook_usage_figure

    fig = codebook_usage_figure(small_sids())
    assert [list(bar.y) for bar in fig.data] == [[3, 3, 0, 0], [3, 2, 1, 0]]  # per level, sorted by count
    assert "2/4 codes used" in fig.layout.annotations[0].text


def test_embedding_projection_groups():
    import numpy as np

    from llmrec_mini.viz import embedding_projection_figure

    x = np.random.default_rng(0).normal(size=(30, 5))
    fig = embedding_projection_figure(x, color_by=[i % 3 for i in range(30)], hover=[f"t{i}" for i in range(30)])
    assert [t.name for t in fig.data] == ["group 0", "group 1", "group 2"]
    assert sorted(int(i) for t in fig.data for i in t.customdata) == list(range(30))
    with pytest.raises(ValueError, match="color_by"):
        embedding_projection_figure(x, color_by=[0, 1])


def test_attention_mask_and_training_curve():
    import numpy as np

    from llmrec_mini.attention import causal_mask
    from llmrec_mini.viz import attention_mask_figure, training_curve_figure

    z = np.array(attention_mask_figure(causal_mask(4)).data[0].z)
    assert (z == np.tril(np.ones((4, 4), dtype=int))).all()  # query i attends to keys j <= i
    batch = np.stack([np.zeros((3, 3), bool), np.ones((3, 3), bool)])
    assert np.array(attention_mask_figure(batch, batch_index=1).data[0].z).sum() == 0
    with pytest.raises(ValueError, match="mask"):
        attention_mask_figure(np.zeros(3, bool))

    fig = training_curve_figure([{"epoch": 0, "loss": 2.0, "score": 0.1}, {"epoch": 1, "loss": 1.5, "score": 0.2}])
    assert [list(t.y) for t in fig.data] == [[2.0, 1.5], [0.1, 0.2]] and fig.data[1].yaxis == "y2"
    with pytest.raises(ValueError, match="empty"):
        training_curve_figure([])


# ---- time estimates: measured on this machine, never typed ----------------------------------------------------
# a duration stated in advance: "about a minute", "~40 s", "takes 30 s", "trains for 2 minutes"...
PROMISE = re.compile(r"minute|~\s*\d|\babout an? (minute|hour|second)|\b(about|around|roughly|approx\w*|under|"
                     r"within|takes?|trains?|for)\s+\d+(\.\d+)?\s*(s|secs?|seconds?|mins?|h|hours?)\b", re.I)
LITERAL = re.compile(r"\d+(\.\d+)?\s*(s|secs?|seconds?|mins?|minutes?|h|hours?)\b|\ba (minute|second|hour)\b|~\s*\d",
                     re.I)


def page_text(at) -> list[str]:
    """Every piece of text the page shows (sidebar included), widget labels, options and help."""
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error"):
        out += [el.value for el in at.get(kind)]
    out += [f"{m.label} {m.value} {m.proto.help}" for m in at.metric]
    out += [p.text for p in at.progress]
    for kind in ("selectbox", "radio", "select_slider", "number_input", "button"):
        for w in at.get(kind):
            out += [str(w.label), str(getattr(w.proto, "help", ""))] + [str(o) for o in getattr(w, "options", [])]
    return out


def test_no_duration_promise_in_pages(app):
    """No page states how long something will take (those guesses were 4-7x off on a busy 2-core machine)."""
    shown = page_text(app)
    for page in PAGES[1:]:
        at = app.switch_page(page).run()
        assert not at.exception, at.exception
        shown += page_text(at)
    assert len(shown) > 30
    assert not [t for t in shown if PROMISE.search(t)]
    # and no duration typed into the app's code: every string literal (docstrings aside) of every page
    for file in [APP_DIR / "app.py", APP_DIR / "state.py", *sorted((APP_DIR / "app_pages").glob("*.py"))]:
        tree = ast.parse(file.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    and id(n) not in docstrings]
        assert not [t for t in literals if LITERAL.search(t)], file.name


class _Bar:
    """A stand-in for the DeltaGenerator of st.progress: records (value, text); optionally raises once."""

    def __init__(self, raise_at: int | None = None):
        self.calls, self.raise_at = [], raise_at

    def progress(self, value, text=""):
        if len(self.calls) == self.raise_at:
            from streamlit.runtime.scriptrunner_utils.exceptions import RerunException

            self.raise_at = None
            raise RerunException(None)
        self.calls.append((value, text))


def test_epoch_progress_extrapolates_and_survives_a_rerun():
    state = state_module()
    bar = _Bar()
    progress = state.EpochProgress("sasrec", bar)
    progress({"epoch": 0, "seconds": 3.0, "val_seconds": 1.0}, 5)  # 4 s measured, 4 epochs left
    value, text = bar.calls[-1]
    assert value == pytest.approx(0.2) and text.startswith("Training sasrec: epoch 1/5, ")
    assert text.endswith("about 16 s left")
    for epoch in range(1, 5):
        progress({"epoch": epoch, "seconds": 0.0}, 5)
    assert [v for v, _ in bar.calls] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert bar.calls[-1][1].endswith("about 0 s left")
    progress.finish(5, 5)
    assert bar.calls[-1][0] == 1.0 and bar.calls[-1][1].startswith("Trained sasrec in ")

    # stopped early by validation: the bar still ends full, and says why
    bar = _Bar()
    progress = state.EpochProgress("sasrec", bar)
    progress({"epoch": 0, "seconds": 1.0}, 10)
    progress.finish(1, 10)
    assert bar.calls[-1][0] == 1.0 and "after 1 of 10 epochs" in bar.calls[-1][1]

    # the user clicks something mid-training: Streamlit raises in the bar update; training goes on, the bar
    # is left alone, and the rerun is kept for the caller (state.model raises it once the model is cached)
    bar = _Bar(raise_at=1)
    progress = state.EpochProgress("sasrec", bar)
    for epoch in range(3):
        progress({"epoch": epoch, "seconds": 1.0}, 3)
    assert len(bar.calls) == 1 and progress.values == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert type(progress.interrupted).__name__ == "RerunException"


def test_training_progress_and_measured_estimates(monkeypatch, tmp_path):
    """A fresh cache: the first training says its time is unknown, shows a bar that reaches 1.0 epoch by
    epoch, and records its wall time; the next build of the same model shows that time as its estimate."""
    import streamlit as st

    state = state_module()
    shown = []
    real_show = state.EpochProgress.show
    monkeypatch.setattr(state.EpochProgress, "show", lambda self, value, text: (
        shown.append((self.name, value, text)), real_show(self, value, text)))
    monkeypatch.setenv("LLMREC_PLAYGROUND_SIZE", "tiny")
    monkeypatch.setenv("LLMREC_PLAYGROUND_CACHE", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    st.cache_resource.clear()  # models other tests put in memory: this test trains its own

    def recommendations():
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.switch_page("app_pages/recommendations.py").run()
        assert not at.exception, at.exception
        return at

    at = recommendations()
    captions = [c.value for c in at.caption]
    assert "popularity is fitted once, then loaded from the disk cache. Estimate: first run: time unknown." in captions
    assert ("sasrec is trained once, then loaded from the disk cache. Estimate: first run: time unknown, "
            "a progress bar follows.") in captions
    (bar,) = at.progress
    assert bar.value == 100 and bar.text.startswith("Trained sasrec in ")
    values = [v for name, v, _ in shown if name == "sasrec"]
    assert len(values) >= 3 and values == sorted(values) and values[-1] == 1.0  # epoch by epoch up to 1.0
    assert any(re.search(r"epoch 2/5, \d+ s elapsed, about \d+ s left$", t) for _, _, t in shown)

    timings = json.loads(state.timings_file().read_text())
    sasrec_dir, pop_dir = state.model_dir("sasrec", "tiny", 0), state.model_dir("popularity", "tiny", 0)
    record = timings[sasrec_dir.name]
    assert record["seconds"] > 0 and record["epochs"] == 5 and 1 <= record["epochs_run"] <= 5
    assert pop_dir.name in timings

    at.run()  # a rerun: loaded, no bar; the recorded time is shown with the model
    assert not at.exception and not at.progress
    assert (f"Its last training here took {state.seconds_text(record['seconds'])} (wall time, recorded in "
            f"`{state.timings_file()}`).") in [c.value for c in at.caption]

    # the models leave the caches: the next build shows the time measured above as its estimate
    shutil.rmtree(sasrec_dir)
    shutil.rmtree(pop_dir)
    st.cache_resource.clear()
    shown.clear()
    at = recommendations()
    captions = [c.value for c in at.caption]
    assert (f"sasrec is trained once, then loaded from the disk cache. Estimate: last time this took "
            f"{state.seconds_text(record['seconds'])} on this machine.") in captions
    assert (f"popularity is fitted once, then loaded from the disk cache. Estimate: last time this took "
            f"{state.seconds_text(timings[pop_dir.name]['seconds'])} on this machine.") in captions
    assert [v for name, v, _ in shown if name == "sasrec"][-1] == 1.0
    assert json.loads(state.timings_file().read_text())[sasrec_dir.name]["when"] >= record["when"]
    assert not state._TRAINING_LOCK.locked()
