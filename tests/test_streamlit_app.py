"""The playground under Streamlit's AppTest: every page renders without an exception, widgets set by key
re-run cleanly, and the expected tables, metrics and charts are there; trainings show a progress bar and
only measured time estimates. Tiny dataset, fresh cache folder."""
from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP_DIR = Path(__file__).resolve().parents[1] / "streamlit_app"
APP = str(APP_DIR / "app.py")
TIMEOUT = 180  # first runs train SASRec / build embeddings on 2 shared CPU cores
PAGES = ("app_pages/home.py", "app_pages/recommendations.py", "app_pages/semantic_ids.py", "app_pages/attention.py",
         "app_pages/chat.py")


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


# ---- the Attention masks page ----------------------------------------------------------------------------------
def figure(at, index: int) -> dict:
    """The plotly figure (data, layout) of the index-th chart on the page."""
    return json.loads(charts(at)[index].proto.spec)


def array(value):
    """A plotly array as numpy: plain lists, or plotly's typed form {"dtype", "bdata" (base64), "shape"}."""
    import numpy as np

    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.asarray(value)


def shown_mask(at):
    return array(figure(at, 0)["data"][0]["z"]).astype(bool)


def verdict(at, about: str) -> set[str]:
    """The kinds ("ok" / "leak") of the verdicts whose text mentions `about`, over every attention shown."""
    texts = [("ok", el.value) for el in at.success] + [("leak", el.value) for el in at.error]
    return {kind for kind, text in texts if about in text}


def test_attention_masks_page(app):
    import inspect

    from llmrec_mini import attention

    at = app.switch_page("app_pages/attention.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Attention masks"
    assert at.selectbox(key="mask").value == "candidate_isolated"
    assert len(charts(at)) == 4  # mask, leakage bars, SASRec weights, cost
    layout = attention.Layout(prefix=2, history=5, candidates=3)
    assert figure(at, 0)["data"][0]["x"] == layout.labels()
    assert (shown_mask(at) == attention.build_mask("candidate_isolated", layout).numpy()).all()
    # softmax under the mask and VISTA's quasi-linear attention: neither leaks between candidates nor into history
    assert len(at.success) == 4 and not at.error
    assert any("quasi-linear" in m.value for m in at.markdown)

    at.number_input(key="mask_prefix").set_value(1)
    at.number_input(key="mask_history").set_value(3)
    at.number_input(key="mask_candidates").set_value(2)
    at.radio(key="prefix_name").set_value("seeds").run()
    assert not at.exception, at.exception
    layout = attention.Layout(prefix=1, history=3, candidates=2, prefix_name="seeds")
    assert figure(at, 0)["data"][0]["x"] == layout.labels() == ["s0", "h0", "h1", "h2", "c0", "c1"]

    # every mask of the registry, its caption, and each of its options set away from the default
    other = {bool: lambda v: not v, int: lambda v: v + 1, type(None): lambda v: 1}
    for name in attention.MASKS:
        at.selectbox(key="mask").set_value(name).run()
        assert not at.exception, (name, at.exception)
        first_line = inspect.getdoc(attention.MASKS[name]).splitlines()[0]
        assert first_line in [c.value for c in at.caption], name
        assert (shown_mask(at) == attention.build_mask(name, layout).numpy()).all(), name
        for option, default in attention.mask_options(name).items():
            key = f"mask_opt_{name}_{option}"
            if option == "history":
                value = next(m for m in attention.HISTORY_MODES if m != default)
                at.selectbox(key=key).set_value(value).run()
            elif isinstance(default, bool):
                value = not default
                at.checkbox(key=key).set_value(value).run()
            else:
                value = other[type(default)](default)
                at.number_input(key=key).set_value(value).run()
            assert not at.exception, (name, option, at.exception)
            want = attention.build_mask(name, layout, **{option: value}).numpy()
            assert (shown_mask(at) == want).all(), (name, option)
            # and back, so the next option is checked on its own
            reset = {"history": lambda: at.selectbox(key=key).set_value(default),
                     bool: lambda: at.checkbox(key=key).set_value(default),
                     int: lambda: at.number_input(key=key).set_value(default),
                     type(None): lambda: at.number_input(key=key).set_value(0)}
            (reset["history"] if option == "history" else reset[type(default)])().run()
            assert (shown_mask(at) == attention.build_mask(name, layout).numpy()).all(), (name, option)

    # the leakage verdicts follow the mask: c0 perturbed, then c1 (the last one)
    expect = {  # mask: (candidates move, context moves) when c0 changes
        "causal": ("leak", "ok"), "bidirectional": ("leak", "leak"), "prefix_lm": ("leak", "ok"),
        "block_causal": ("leak", "ok"), "sliding_window": ("leak", "ok"), "candidate_isolated": ("ok", "ok")}
    for name, (between, context) in expect.items():
        at.selectbox(key="mask").set_value(name)
        at.selectbox(key="perturbed").set_value(0).run()
        assert not at.exception, at.exception
        assert verdict(at, "between candidates") == {between}, name
        assert verdict(at, "Prefix and history outputs") | verdict(at, "context reads") == {context}, name
        bars = figure(at, 1)["data"]
        assert len(bars) == (2 if name == "candidate_isolated" else 1)
        delta = array(bars[0]["y"])
        assert delta[4] > 0 and (delta[5] > 0) == (between == "leak"), name  # c0 itself always moves
    at.selectbox(key="mask").set_value("causal")
    at.selectbox(key="perturbed").set_value(1).run()  # the last candidate: no later one reads it
    assert verdict(at, "between candidates") == {"ok"}
    at.number_input(key="mask_candidates").set_value(1).run()  # c1 no longer exists
    assert not at.exception, at.exception
    assert at.selectbox(key="perturbed").value == 0


def test_attention_page_sasrec_weights(app, cache_dir):
    import numpy as np

    from llmrec_mini.data import load_dataset
    from llmrec_mini.data.sequences import leave_one_out
    from llmrec_mini.models import model_class

    at = app.switch_page("app_pages/attention.py").run()
    assert not at.exception, at.exception
    (saved,) = [p.parent for p in Path(cache_dir).rglob("*sasrec*/model.safetensors")]
    data = load_dataset("synthetic", size="tiny")
    split = leave_one_out(data)
    sasrec = model_class("sasrec").load(saved, data.catalog)
    assert at.selectbox(key="attn_layer").options == ["layer 1", "layer 2"]
    assert at.selectbox(key="attn_head").options == ["head 1", "head 2", "mean of heads"]

    def check(user: int, n: int, layer: int, head):
        rows = {int(u): r for r, u in enumerate(split.test.users)}
        history = split.test.histories[rows[user]] if user in rows else data.interactions.sequences[user]
        recent = np.asarray(history)[-n:]
        w = sasrec.attention_weights(recent)[layer]
        want = w.mean(0) if head == "mean" else w[head]
        fig = figure(at, 2)["data"][0]
        assert np.allclose(array(fig["z"]), want, atol=1e-6)
        assert fig["y"] == fig["x"] and len(fig["x"]) == n
        assert [x.split(". ", 1)[1] for x in fig["x"]] == [data.catalog.title(int(i))[:32] for i in recent]

    users = [u for u in range(data.n_users) if len(data.interactions.sequences[u]) >= 8]
    at.selectbox(key="attn_user").set_value(users[1]).run()
    assert not at.exception, at.exception
    n = at.slider(key="attn_items").value
    check(users[1], n, 0, 0)
    at.slider(key="attn_items").set_value(4)
    at.selectbox(key="attn_layer").set_value(1)
    at.selectbox(key="attn_head").set_value(1).run()
    assert not at.exception, at.exception
    check(users[1], 4, 1, 1)
    at.selectbox(key="attn_head").set_value("mean").run()
    assert not at.exception, at.exception
    check(users[1], 4, 1, "mean")
    assert any(c.value.startswith("The last row is what the next-item prediction reads") for c in at.caption)


def test_attention_page_cost_panel(app):
    import numpy as np

    from llmrec_mini.attention import attention_cost

    at = app.switch_page("app_pages/attention.py").run()
    assert not at.exception, at.exception
    assert at.header[-1].value == "VISTA cost per request: analytic FLOP counts"

    def curves():
        fig = figure(at, 3)
        assert fig["layout"]["xaxis"]["type"] == fig["layout"]["yaxis"]["type"] == "log"
        return {t["name"]: (array(t["x"]).astype(float), array(t["y"]).astype(float)) for t in fig["data"]}

    lines = curves()
    assert len(lines) == 3  # stage 1 shown by default
    n, full = lines["full target attention (per request)"]
    assert n.min() == 1000 and n.max() == 1_000_000
    _, stage2 = lines["VISTA stage 2 (per request)"]
    assert np.allclose(stage2, attention_cost("quasi_linear", 256 + 500, 64, n_candidates=500).flops)
    assert np.allclose(full, 4 * 500 * n * 64)  # C query rows over N keys: 2 N d (QK^T) + 2 N d (AV) each

    at.select_slider(key="cost_k").set_value(64)
    at.select_slider(key="cost_d").set_value(128)
    at.select_slider(key="cost_c").set_value(10)
    at.checkbox(key="cost_stage1").set_value(False).run()
    assert not at.exception, at.exception
    lines = curves()
    assert set(lines) == {"full target attention (per request)", "VISTA stage 2 (per request)"}
    stage2 = attention_cost("quasi_linear", 64 + 10, 128, n_candidates=10).flops
    assert np.allclose(lines["VISTA stage 2 (per request)"][1], stage2)
    n, full = lines["full target attention (per request)"]
    assert np.allclose(full, 4 * 10 * n * 128)
    metric = {m.label: m.value for m in at.metric}
    assert metric["Ratio at N = 1,000,000"] == f"{4 * 10 * 1_000_000 * 128 / stage2:,.0f}×"


MIN_SCREENSHOT_BYTES = 100_000  # the rendered page is ~360 kB as a PNG


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def playground_server(cache_dir, tmp_path_factory):
    """The running app (`streamlit run`, as `make run` starts it) on the tiny dataset, for Chromium."""
    sys.path.insert(0, str(APP_DIR.parent / "scripts"))
    import check_site

    chromium = check_site.find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): no screenshot of the running pages")
    port = check_site._free_port()
    env = {**os.environ, "LLMREC_PLAYGROUND_SIZE": "tiny", "LLMREC_PLAYGROUND_CACHE": str(cache_dir),
           "OMP_NUM_THREADS": "1"}
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", APP, "--server.headless", "true",
                                   "--server.port", str(port), "--server.address", "127.0.0.1",
                                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                                  cwd=APP_DIR.parent, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.3)
        yield check_site, chromium, base
    finally:
        server.terminate()
        server.wait(timeout=20)


# Each playground page in Chromium: its URL (st.Page's url_path), the window, the text it must show, the
# plotly figures it draws (the start of each title, in order), and how many data frames at least.
PLAYGROUND_PAGES = {
    "home": ("", (1400, 2000), ("llmrec-mini playground",), [], 1),
    "recommendations": ("recommendations", (1400, 3400), ("Recommendations", "Test metrics", "recall@10", "History"), ["SASRec training"], 3),
    "semantic_ids": ("semantic_ids", (1400, 3400), ("Semantic IDs", "Collisions"),
                     ["Semantic-ID tree", "Codebook usage", "Item embeddings"], 2),
    "attention": ("attention", (1400, 3400), ("Attention masks", "Leakage check", "No leak between candidates"),
                  ["candidate_isolated", "max |Δ output| per position after changing c0", "layer 1, head 1",
                   "FLOPs against history length"], 0),
    "chat": ("chat", (1400, 2000), ("Chat", "Settings", "Policy", "Belief state", "Best candidates now"), [], 0),
}


@pytest.mark.parametrize("page", list(PLAYGROUND_PAGES))
def test_playground_page_in_chromium(playground_server, page, tmp_path):
    """One page of the running app in headless Chromium: a full-window screenshot, and the rendered
    elements (plotly SVGs with their titles, data frames, the page's own text), not just a loaded shell."""
    check_site, chromium, base = playground_server
    path, (width, height), texts, titles, n_frames = PLAYGROUND_PAGES[page]
    shot = tmp_path / f"{page}.png"
    # the DOM and the screenshot of one page load. Chromium's virtual time does not wait for Streamlit's
    # websocket, so a load that ends before the script has run (the first session imports torch, trains or
    # loads the models; run alone, this test trains them) is retried, for up to 5 minutes of wall time
    deadline = time.monotonic() + 300
    while True:
        shot.unlink(missing_ok=True)
        dom = check_site._chromium(chromium, ["--virtual-time-budget=30000", "--run-all-compositor-stages-before-draw",
                                              f"--window-size={width},{height}", f"--screenshot={shot}",
                                              "--dump-dom", f"{base}/{path}"], timeout=180, attempts=1).stdout
        figures = check_site.plotly_figures(dom)
        text = check_site.visible_text(dom)
        done = (len(figures) >= len(titles) and all(t in text for t in texts)
                and dom.count('data-testid="stDataFrame"') >= n_frames)
        if (done and shot.is_file() and shot.stat().st_size > MIN_SCREENSHOT_BYTES) or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert 'data-testid="stException"' not in dom, text[:2000]
    for expected in texts:
        assert expected in text, f"{page}: {expected!r} is not on the rendered page: {text[:1500]}"
    assert len(figures) == len(titles) and all(f["title"].startswith(t) for f, t in zip(figures, titles)), figures
    assert all(f["width"] >= 300 and f["height"] >= 250 for f in figures), figures  # drawn, readable
    assert dom.count('data-testid="stDataFrame"') >= n_frames, f"{page}: fewer than {n_frames} data frames"
    assert shot.is_file(), "Chromium wrote no screenshot"
    assert _png_size(shot) == (width, height)
    assert shot.stat().st_size > MIN_SCREENSHOT_BYTES, shot.stat().st_size  # the empty app shell is ~20 kB
    keep = os.environ.get("LLMREC_SCREENSHOTS")  # e.g. to look at them: LLMREC_SCREENSHOTS=/tmp/shots
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / f"playground-{page}.png")


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


def test_attention_page_vista_weights(app, cache_dir):
    """Switching the model to VISTA shows seeds x recent events: its attention_weights, per head."""
    import numpy as np

    from llmrec_mini.data import load_dataset
    from llmrec_mini.data.sequences import leave_one_out
    from llmrec_mini.models import model_class

    at = app.switch_page("app_pages/attention.py").run()
    at.radio(key="attn_model").set_value("vista").run()
    assert not at.exception, at.exception
    (saved,) = [p.parent for p in Path(cache_dir).rglob("*vista*/model.safetensors")]
    data = load_dataset("synthetic", size="tiny")
    split = leave_one_out(data)
    vista = model_class("vista").load(saved, data.catalog)
    heads = at.selectbox(key="attn_head").options
    assert len(heads) == len(vista.config.decays) + 1 and heads[0].startswith("head 1 (γ = ")
    assert at.selectbox(key="attn_layer").options == ["layer 1"]
    users = [u for u in range(data.n_users) if len(data.interactions.sequences[u]) >= 8]
    at.selectbox(key="attn_user").set_value(users[0])
    at.slider(key="attn_items").set_value(5)
    at.selectbox(key="attn_head").set_value(1).run()
    assert not at.exception, at.exception
    rows = {int(u): r for r, u in enumerate(split.test.users)}
    history = np.asarray(split.test.histories[rows[users[0]]] if users[0] in rows
                         else data.interactions.sequences[users[0]])
    fig = figure(at, 2)["data"][0]
    assert np.allclose(array(fig["z"]), vista.attention_weights(history)[1][:, -5:], atol=1e-6)
    assert fig["y"] == [f"seed {i + 1}" for i in range(vista.config.n_seeds)] and len(fig["x"]) == 5
    assert any("the largest weight" in c.value for c in at.caption)
    at.radio(key="attn_model").set_value("sasrec").run()  # back: the head choice is still valid
    assert not at.exception, at.exception


@pytest.mark.parametrize("name", ["tiger", "plum"])
def test_recommendations_page_shows_generated_semantic_ids(app, cache_dir, name):
    """The generative model's top-10: real items, each with the ID the model wrote and its beam score."""
    import numpy as np

    from llmrec_mini.data import load_dataset
    from llmrec_mini.data.sequences import leave_one_out
    from llmrec_mini.models import model_class

    at = app.switch_page("app_pages/recommendations.py").run()
    assert at.radio(key="gen_model").value == "none"
    at.radio(key="gen_model").set_value(name).run()
    assert not at.exception, at.exception
    (saved,) = [p.parent for p in Path(cache_dir).rglob(f"*{name}*/model.safetensors")]
    data = load_dataset("synthetic", size="tiny")
    split = leave_one_out(data)
    model = model_class(name).load(saved, data.catalog)
    top = frames(at, "semantic ID")[0]
    user = at.selectbox(key="user").value
    rows = {int(u): r for r, u in enumerate(split.test.users)}
    history = split.test.histories[rows[user]] if user in rows else data.interactions.sequences[user]
    rec = model.recommend([history], k=10)
    shown = top["item"].to_numpy()
    np.testing.assert_array_equal(shown, rec.items[0])
    np.testing.assert_allclose(top["beam log-prob"].to_numpy(), rec.scores[0], rtol=1e-5)
    for item, sid in zip(shown, top["semantic ID"]):
        if item >= 0:
            assert tuple(int(c) for c in sid.split("-")) == tuple(model.sids.code_of(int(item)))
