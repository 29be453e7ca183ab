"""llmrec_mini.viz: the RQ-VAE training panels, the vocabulary strip, the beam-search tree and the code treemap."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from llmrec_mini import viz
from llmrec_mini.semantic_ids import SemanticIDs, SIDVocab, add_collision_token, build_semantic_ids


def hand_sids() -> SemanticIDs:
    raw = [[0, 1], [0, 1], [0, 2], [1, 0], [1, 0], [1, 0], [3, 3], [2, 1]]  # (8 items, 2 levels)
    return SemanticIDs(add_collision_token(raw), codebook_sizes=(4, 4, 3), method="hand")


# ---------------------------------------------------------------- rqvae_training_figure
HISTORY = [
    {"epoch": 0, "recon": 9.0, "rq": 0.50, "unique_rate": 0.40, "usage": [0.50, 0.25]},
    {"epoch": 1, "recon": 6.0, "rq": 0.30, "unique_rate": 0.55, "usage": [0.75, 0.50]},
    {"epoch": 2, "recon": 4.5, "rq": 0.25, "unique_rate": 0.60, "usage": [1.00, 0.75]},
]


def panel_of(fig, trace) -> int:
    """The 1-based row of a trace's y axis ('y' -> 1, 'y3' -> 3)."""
    return int(trace.yaxis[1:] or 1)


@pytest.mark.parametrize("as_frame", [False, True])
def test_rqvae_figure_has_one_labelled_panel_per_quantity(as_frame):
    history = pd.DataFrame(HISTORY) if as_frame else HISTORY
    fig = viz.rqvae_training_figure(history, best_epoch=1)
    by_name = {t.name: t for t in fig.data}
    assert list(by_name) == ["reconstruction", "quantization", "distinct IDs", "c0", "c1"]
    assert [panel_of(fig, by_name[n]) for n in by_name] == [1, 2, 3, 4, 4]  # one panel per quantity, levels share one
    for name, key in [("reconstruction", "recon"), ("quantization", "rq"), ("distinct IDs", "unique_rate")]:
        assert list(by_name[name].y) == [h[key] for h in HISTORY]
        assert list(by_name[name].x) == [0, 1, 2]
    for l in range(2):
        assert list(by_name[f"c{l}"].y) == [h["usage"][l] for h in HISTORY]
    ytitles = [fig.layout[f"yaxis{r if r > 1 else ''}"].title.text for r in range(1, 5)]
    assert "‖x − x̂‖²" in ytitles[0] and "input units²" in ytitles[0]
    assert "Σ" in ytitles[1] and "latent units²" in ytitles[1]
    assert "% of items" in ytitles[2] and "% of codebook" in ytitles[3]
    assert all(t != "value" for t in ytitles)
    assert fig.layout.yaxis3.tickformat == ".0%" and fig.layout.xaxis4.title.text == "epoch"
    # subplot titles: one per panel, each ends with the last epoch's value (computed, not typed in)
    subtitles = [a.text for a in fig.layout.annotations if a.yref == "paper"]
    assert len(subtitles) == 4
    assert subtitles[0].endswith("(last epoch: 4.5)") and subtitles[1].endswith("(last epoch: 0.25)")
    assert subtitles[2].endswith("(last epoch: 60.0%)") and subtitles[3].endswith("c0 100.0%, c1 75.0%)")
    # no overlap: between two panels there is room (in pixels) for the tick labels and the next subplot title
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    domains = [fig.layout[f"yaxis{r if r > 1 else ''}"].domain for r in range(1, 5)]
    for upper, lower in zip(domains, domains[1:]):
        assert (upper[0] - lower[1]) * plot_px >= 60
    for ann, dom in zip([a for a in fig.layout.annotations if a.yref == "paper"], domains):
        assert ann.yanchor == "bottom" and ann.y == pytest.approx(dom[1])  # each title sits on its own panel
    assert "<br>" in fig.layout.title.text and fig.layout.margin.t >= 90  # a two-line title that is not clipped
    assert any(s.type == "line" and s.x0 == 1 for s in fig.layout.shapes)  # best_epoch marked
    assert any("weights kept (epoch 1)" in a.text for a in fig.layout.annotations)


def test_rqvae_figure_without_optional_quantities_and_from_a_real_training_run():
    fig = viz.rqvae_training_figure([{"epoch": e, "recon": 2.0 - e, "rq": 1.0} for e in range(3)])
    assert [t.name for t in fig.data] == ["reconstruction", "quantization"] and "yaxis3" not in fig.layout
    assert fig.layout.showlegend is not True  # a legend only for the levels of the usage panel
    gaps = pd.DataFrame([{"epoch": 0, "recon": 2.0, "rq": 1.0}, {"epoch": 1, "recon": 1.0, "rq": 0.5, "usage": [0.5]}])
    fig = viz.rqvae_training_figure(gaps)  # a DataFrame's NaN: a gap in the line, not an error
    assert [t.name for t in fig.data] == ["reconstruction", "quantization", "c0"]  # unique_rate never logged: no panel
    assert np.isnan(fig.data[2].y[0]) and fig.data[2].y[1] == 0.5

    emb = np.random.default_rng(0).standard_normal((40, 6)).astype(np.float32)
    sids = build_semantic_ids(emb, method="rqvae", levels=2, codebook_size=4, progress=False, epochs=3,
                              hidden_dims=(8,), latent_dim=4, batch_size=20)
    fig = viz.rqvae_training_figure(sids)  # the SemanticIDs itself: history and best epoch
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["reconstruction"].y) == [h["recon"] for h in sids.history]
    assert list(by_name["quantization"].y) == [h["rq"] for h in sids.history]
    assert list(by_name["distinct IDs"].y) == [h["unique_rate"] for h in sids.history]
    assert list(by_name["c1"].y) == [h["usage"][1] for h in sids.history]
    assert any(s.x0 == sids.metrics["best_epoch"] for s in fig.layout.shapes)


@pytest.mark.parametrize("history, match", [
    ([], "empty"),
    (5, "list of per-epoch dicts"),
    ([{"epoch": 0, "recon": 1.0}], "missing \\['rq'\\]"),
    ([{"level": 0, "residual_norm": 1.0, "usage": 0.5}], "RQ-KMeans"),
    ([{"epoch": 0, "recon": "big", "rq": 1.0}], "not a number"),
    ([{"epoch": 1, "recon": 1.0, "rq": 1.0}, {"epoch": 0, "recon": 1.0, "rq": 1.0}], "increasing"),
    ([{"epoch": 0, "recon": 1.0, "rq": 1.0, "usage": [1.0]},
      {"epoch": 1, "recon": 1.0, "rq": 1.0, "usage": [1.0, 0.5]}], "same number of levels"),
    ([{"epoch": 0, "recon": 1.0, "rq": 1.0, "usage": 0.5}], "one share per level"),
])
def test_rqvae_figure_rejects_bad_histories(history, match):
    with pytest.raises(ValueError, match=match):
        viz.rqvae_training_figure(history)


# ---------------------------------------------------------------- token_layout_figure
def test_token_layout_blocks_follow_the_vocab():
    vocab = SIDVocab(hand_sids(), specials=("<pad>", "</s>", "<unk>"), offset=7)  # 4 reserved ids (user buckets)
    fig = viz.token_layout_figure(vocab, reserved_name="user buckets")
    bar = fig.data[0]
    names = [t.split("<br>")[0].strip("<b>/") for t in bar.text]
    assert names == ["specials", "user buckets", "c0", "c1", "c2 (collision)"]
    ranges = [(int(c[0]), int(c[1])) for c in bar.customdata]  # first and last token id of each block
    expected = [(0, 2), (3, 6)] + [(vocab.level_block(l).start, vocab.level_block(l).stop - 1) for l in range(vocab.L)]
    assert ranges == expected and ranges[-1][1] == vocab.end - 1
    assert all(f"{a}–{b}" in t for (a, b), t in zip(ranges, bar.text))  # each block labelled with its id range
    x, base = np.asarray(bar.x, dtype=float), np.asarray(bar.base, dtype=float)
    assert x.sum() == pytest.approx(1) and np.allclose(base[1:], base[:-1] + x[:-1])  # one gapless strip
    assert (x >= 0.1 - 1e-9).all()  # the minimum width keeps small blocks legible
    assert x[1] > x[0] and np.allclose(x[2:], x[2])  # 4 reserved ids > 3 specials; the level blocks are equal
    assert len(fig.data) == 1 and "item" not in fig.layout.title.text
    assert f"Vocabulary of {vocab.end} tokens" in fig.layout.title.text


def test_token_layout_marks_an_items_tokens():
    sids = hand_sids()
    vocab = SIDVocab(sids, specials=("<pad>", "</s>"), offset=2)
    for item in (0, 6):
        fig = viz.token_layout_figure(vocab, item, describe_item=lambda i: f"Red shoe #{i}")
        bar, marks = fig.data
        tokens = [int(c[0]) for c in marks.customdata]
        assert tokens == vocab.encode(item).tolist()
        assert list(marks.text) == [f"c{l}={sids.codes[item, l]} → token {t}" for l, t in enumerate(tokens)]
        strings = [vocab.token_strings()[t - vocab.offset] for t in tokens]  # <sid_l_c>, escaped for plotly
        assert [c[1] for c in marks.customdata] == [s.replace("<", "&lt;").replace(">", "&gt;") for s in strings]
        for l, xm in enumerate(marks.x):  # each marker inside its level's block
            left, width = bar.base[1 + l], bar.x[1 + l]
            assert left < xm < left + width
        labels = [a for a in fig.layout.annotations if a.showarrow]  # one label per level, its arrow at the token
        assert [a.text for a in labels] == [f"c{l}={sids.codes[item, l]}<br>→ token {t}" for l, t in enumerate(tokens)]
        assert [a.x for a in labels] == list(marks.x)
        assert f"Red shoe #{item}" in fig.layout.title.text
        assert "tokens " + ", ".join(map(str, tokens)) in fig.layout.title.text
    assert "item 3" in viz.token_layout_figure(vocab, np.int64(3)).layout.title.text  # default description
    hover = viz.token_layout_figure(vocab).data[0].customdata[0][3]
    assert "0 &lt;pad&gt;, 1 &lt;/s&gt;" in hover  # special names survive plotly's pseudo-HTML


def test_token_layout_of_an_llm_vocab_and_scale():
    sids = hand_sids()
    llm_vocab = SIDVocab(sids, offset=1000)  # an LLM: 1000 text tokens, no specials of its own
    bar = viz.token_layout_figure(llm_vocab, reserved_name="text tokens").data[0]
    assert [int(c[0]) for c in bar.customdata] == [0, 1000, 1004, 1008]
    assert bar.x[0] > 0.6 and min(bar.x) == pytest.approx(0.1)
    assert "not to scale" in viz.token_layout_figure(llm_vocab).layout.title.text
    plain = viz.token_layout_figure(SIDVocab(sids))  # three equal blocks: drawn to scale
    assert np.allclose(plain.data[0].x, 1 / 3) and "not to scale" not in plain.layout.title.text
    assert viz._legible_widths([1000, 4, 4, 4], 0.1).tolist() == pytest.approx([0.7, 0.1, 0.1, 0.1])


@pytest.mark.parametrize("kwargs, match", [
    (dict(item=8), "item must be an item index in \\[0, 8\\)"),
    (dict(item=-1), "item must"),
    (dict(item="3"), "item must"),
    (dict(item=True), "item must"),
    (dict(min_width=0), "min_width"),
    (dict(item=1, describe_item="shoe"), "describe_item"),
])
def test_token_layout_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.token_layout_figure(SIDVocab(hand_sids()), **kwargs)
    with pytest.raises(ValueError, match="SIDVocab"):
        viz.token_layout_figure(hand_sids())


# ---------------------------------------------------------------- beam_search_figure
def cand(parent, code, logp, status, beam=None):
    return {"parent": parent, "code": code, "token": 10 + code, "logp": logp, "status": status, "beam": beam}


HAND_TRACE = {"num_beams": 2, "steps": [
    {"level": 0, "candidates": [cand(-1, 0, -1.0, "kept", 0), cand(-1, 3, -1.2, "pruned"),
                                cand(-1, 1, -1.5, "kept", 1)]},
    {"level": 1, "candidates": [cand(0, 2, -2.0, "kept", 0), cand(0, 1, -2.1, "pruned"), cand(0, 0, -3.0, "dropped"),
                                cand(1, 1, -2.5, "kept", 1), cand(1, 3, -2.2, "pruned"), cand(1, 0, -3.1, "dropped")]},
    {"level": 2, "candidates": [cand(0, 0, -2.6, "kept", 1), cand(0, 1, -3.5, "dropped"),
                                cand(1, 0, -2.55, "kept", 0), cand(1, 1, -2.7, "pruned")]},
], "final": [{"beam": 0, "codes": [1, 1, 0], "item": 5, "label": "Red shoes", "logp": -2.55},
             {"beam": 1, "codes": [0, 2, 0], "item": 2, "label": "Blue coat", "logp": -2.6}]}


def nodes_and_edges(fig):
    nodes = {t.legendgroup: t for t in fig.data if t.mode == "markers+text" and t.name != "final beams"}
    edges = {t.legendgroup: t for t in fig.data if t.mode == "lines" and t.name.endswith(" edges")}
    return nodes, edges


def check_beam_figure(fig, trace):
    nodes, edges = nodes_and_edges(fig)
    assert set(nodes) == {"kept", "dropped", "pruned"}
    for status, t in nodes.items():
        for step in trace["steps"]:  # as many nodes per level and status as proposals, with their codes
            mine = [c for c in step["candidates"] if c["status"] == status]
            at = [i for i, x in enumerate(t.x) if x == step["level"]]
            assert len(at) == len(mine)
            assert sorted(int(t.text[i]) for i in at) == sorted(c["code"] for c in mine)
            assert sorted(tuple(t.customdata[i]) for i in at) == sorted((c["token"], c["logp"]) for c in mine)
    y = {pid: yy for t in nodes.values() for pid, yy in zip(t.ids, t.y)}  # node prefix "a-b" -> its y
    assert len(y) == sum(len(s["candidates"]) for s in trace["steps"])  # one node per proposal
    for status, t in nodes.items():  # every node below c0 hangs on its parent's node, by an edge of its status
        e = edges[status]
        segments = {(e.x[i], e.y[i], e.x[i + 1], e.y[i + 1]) for i in range(0, len(e.x), 3)}
        for pid, x in zip(t.ids, t.x):
            if x > 0:
                assert (x - 1, y[pid.rsplit("-", 1)[0]], x, y[pid]) in segments
    assert nodes["pruned"].marker.symbol.startswith("x") and nodes["pruned"].marker.color == "#e03131"
    assert nodes["kept"].marker.color == "#1c7ed6" and nodes["dropped"].marker.line.color == "#adb5bd"  # solid / grey
    assert "pruned by the trie" in nodes["pruned"].name and "outranked" in nodes["dropped"].name
    assert f"among the {trace['num_beams']} best" in nodes["kept"].name
    final = next(t for t in fig.data if t.name == "final beams")
    ranked = sorted(trace["final"], key=lambda f: -f["logp"])
    assert len(final.text) == len(ranked) and all(x == len(trace["steps"]) for x in final.x)
    for r, (text, f) in enumerate(zip(final.text, ranked)):
        assert text.startswith(f"#{r + 1} ") and f"(log p {f['logp']:.2f})" in text
    assert f"{trace['num_beams']} beams" in fig.layout.title.text
    assert list(fig.layout.xaxis.ticktext) == [f"c{l}" for l in range(len(trace["steps"]))] + ["final item"]
    return nodes, final


def test_beam_figure_of_a_hand_trace():
    fig = viz.beam_search_figure(HAND_TRACE)
    nodes, final = check_beam_figure(fig, HAND_TRACE)
    assert [list(nodes["kept"].x).count(l) for l in range(3)] == [2, 2, 2]
    assert sorted(zip(nodes["pruned"].x, nodes["pruned"].ids)) == [(0, "3"), (1, "0-1"), (1, "1-3"), (2, "1-1-1")]
    assert list(final.text) == ["#1 Red shoes (log p -2.55)", "#2 Blue coat (log p -2.60)"]
    kept_y = dict(zip(nodes["kept"].ids, nodes["kept"].y))
    assert list(final.y) == [kept_y["1-1-0"], kept_y["0-2-0"]]  # each final item level with its last code
    assert "3 proposals per beam" in fig.layout.title.text
    assert fig.to_dict() == viz.beam_search_figure(HAND_TRACE).to_dict()  # deterministic


def test_beam_figure_when_no_beam_survives():
    """Few proposals per beam: every proposal of the last level can be pruned; the figure says so."""
    dead = broken(lambda t: (t["steps"][2].update(candidates=[cand(0, 3, -2.6, "pruned"), cand(1, 2, -2.7, "pruned")]),
                             t.update(final=[])))
    fig = viz.beam_search_figure(dead)
    nodes, final = check_beam_figure(fig, dead)
    assert list(nodes["kept"].x).count(2) == 0 and len(final.x) == 0
    assert any("every proposal at c2 was pruned" in a.text for a in fig.layout.annotations)
    dead_at_c1 = [cand(0, 1, -2.1, "pruned"), cand(1, 3, -2.2, "pruned")]
    earlier = broken(lambda t: (t["steps"][1].update(candidates=dead_at_c1), t["steps"][2].update(candidates=[]),
                                t.update(final=[])))  # every beam died at c1: no c2 proposals
    fig = viz.beam_search_figure(earlier)
    check_beam_figure(fig, earlier)
    assert any("every proposal at c1 was pruned" in a.text for a in fig.layout.annotations)


def test_beam_figure_of_a_real_trace(one_thread):
    pytest.importorskip("transformers")
    import torch

    from llmrec_mini import llm

    tok = llm.word_tokenizer(["red running shoes for kids", "a warm winter coat"])
    torch.manual_seed(3)
    model = llm.tiny_lm(len(tok), d_model=32, n_layers=1, n_heads=2, pad_token_id=tok.pad_token_id)
    sids = build_semantic_ids(np.random.default_rng(3).standard_normal((25, 8)), method="random", levels=2,
                              codebook_size=5, seed=3, progress=False)
    vocab, _ = llm.add_sid_tokens(model, tok, sids)
    ids, mask = llm.prompt_batch(tok, ["red shoes for kids"])
    # every code proposed (as generate scores them): the trie prunes some, 3 beams survive every level
    trace = llm.trace_beam_search(model, vocab, ids, mask, num_beams=3, per_beam=vocab.K, label=lambda i: f"item #{i}")
    assert any(c["status"] == "pruned" for s in trace["steps"] for c in s["candidates"])  # the test covers pruning
    fig = viz.beam_search_figure(trace)
    nodes, final = check_beam_figure(fig, trace)
    assert [list(nodes["kept"].x).count(l) for l in range(vocab.L)] == [3] * vocab.L
    assert all(f"item #{f['item']}" in " ".join(final.text) for f in trace["final"]) and len(trace["final"]) == 3
    assert f"{vocab.K} proposals per beam" in fig.layout.title.text
    free = llm.trace_beam_search(model, vocab, ids, mask, num_beams=3, per_beam=3, constrained=False)
    nodes, _ = check_beam_figure(viz.beam_search_figure(free), free)
    assert len(nodes["pruned"].x) == 0


def broken(change):
    steps = [{**s, "candidates": [dict(c) for c in s["candidates"]]} for s in HAND_TRACE["steps"]]
    trace = {**HAND_TRACE, "steps": steps, "final": [dict(f) for f in HAND_TRACE["final"]]}
    change(trace)
    return trace


@pytest.mark.parametrize("trace, match", [
    ({}, "num_beams, steps, final"),
    ([1, 2], "num_beams, steps, final"),
    ({"num_beams": 2, "steps": [], "final": []}, "no steps"),
    (broken(lambda t: t["steps"][1]["candidates"][0].update(status="lost")), "status must be one of"),
    (broken(lambda t: t["steps"][1]["candidates"][0].update(parent=7)), "parent 7 is no beam kept"),
    (broken(lambda t: t["steps"][2]["candidates"][0].pop("logp")), "needs parent, code, token, logp"),
    (broken(lambda t: t["steps"][0]["candidates"][0].update(beam=None)), "needs its beam"),
    (broken(lambda t: t["final"][0].update(beam=4)), "final beam"),
    (broken(lambda t: t["final"].pop()), "each beam kept at the last step once"),
    (broken(lambda t: t["steps"][1].update(candidates=[])), "no candidates"),
])
def test_beam_figure_rejects_bad_traces(trace, match):
    with pytest.raises(ValueError, match=match):
        viz.beam_search_figure(trace)


# ---------------------------------------------------------------- code_treemap
def test_code_treemap_shows_the_first_levels_and_drills_down():
    sids = hand_sids()
    for levels in (1, 2, 3):
        t = viz.code_treemap(sids, levels=levels).data[0]
        assert t.type == "treemap" and t.maxdepth == levels + 1  # the root box + `levels` code levels
    t = viz.code_treemap(sids, levels=2).data[0]
    parent = dict(zip(t.ids, t.parents))
    assert [i for i, p in parent.items() if p == ""] == ["root"]  # one root, so maxdepth counts it as a level
    assert parent["0"] == "root" and parent["0-1"] == "0" and parent["item1"] == "0-1"
    assert sum(i.startswith("item") for i in t.ids) == sids.n_items  # every item is reachable by drilling down
    title = viz.code_treemap(sids, levels=2, max_items=4, prefix=(0,)).layout.title.text
    assert "all 3 items with prefix 0" in title and "first 2 code levels" in title
    assert "4 of 8 items" in viz.code_treemap(sids, max_items=4).layout.title.text


@pytest.mark.parametrize("levels", [0, -1, 1.5, True, "2"])
def test_code_treemap_rejects_bad_levels(levels):
    with pytest.raises(ValueError, match="levels must be an integer >= 1"):
        viz.code_treemap(hand_sids(), levels=levels)
