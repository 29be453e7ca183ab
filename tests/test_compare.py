"""The comparison of candidate generators (compare.py, `llmrec-mini compare`): every generator in one table,
measured the same way; the cost columns checked against values computed by hand."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from llmrec_mini import compare as C
from llmrec_mini.cli import main
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.metrics import coverage_at_k
from llmrec_mini.models import MODELS, get_model, model_class

pytestmark = pytest.mark.usefixtures("one_thread")
SASREC = {"d_model": 32, "epochs": 10, "val_users": 200, "patience": 3}  # quick=True keeps presets: train SASRec


@pytest.fixture(scope="module")
def shop():
    data = make_synthetic("default", n_users=600, n_items=200)
    return data, leave_one_out(data)


@pytest.fixture(scope="module")
def table(shop):
    """One comparison of every generator (presets, SASRec trained longer) on 300 held-out users."""
    data, split = shop
    t0 = time.time()
    out = C.compare(split, data.catalog, quick=True, settings={"sasrec": SASREC}, max_users=300, progress=False)
    print(f"\ncomparison of {len(out)} models in {time.time() - t0:.0f} s\n{out.round(4).to_string()}")
    return out


# ----------------------------------------------------------------------------------------- which models
def test_generators_are_every_registered_model_but_the_rankers():
    assert C.candidate_generators() == [n for n in MODELS if n not in ("vista", "target-attention")]
    assert not model_class("vista").generates_candidates and model_class("popularity").generates_candidates


def test_the_table_holds_exactly_every_candidate_generator(table):
    assert list(table.index) == C.candidate_generators()
    assert sorted(C.QUALITATIVE) == sorted(C.candidate_generators()), "describe every generator in QUALITATIVE"
    assert all(set(v) == set(C.QUALITY_FIELDS) and all(v.values()) for v in C.QUALITATIVE.values())
    assert list(C.qualitative_table().columns) == list(C.QUALITY_FIELDS)


def test_bad_model_names_raise_one_clear_error():
    with pytest.raises(ValueError, match="unknown model.*nope"):
        C.check_models(["sasrec", "nope"])
    with pytest.raises(ValueError, match="vista is a ranker"):
        C.check_models(["vista"])
    with pytest.raises(ValueError, match="named twice"):
        C.check_models(["sasrec", "sasrec"])


def test_text_models_without_a_catalog_fail_before_any_training(shop):
    _, split = shop
    with pytest.raises(ValueError, match="tiger, flare read\\(s\\) item text"):
        C.compare(split, None, models=["popularity", "tiger", "flare"], progress=False)


# ----------------------------------------------------------------------------------------- values
def test_coverage_by_hand():
    topk = np.array([[0, 1, -1], [1, 2, 3]])
    assert coverage_at_k(topk, 10, 2) == 3 / 10  # {0, 1, 2}
    assert coverage_at_k(topk, 10, 3) == 4 / 10  # {0, 1, 2, 3}: the -1 padding is no item


def test_trained_sasrec_beats_popularity_and_covers_more_of_the_catalog(table):
    pop, sas = table.loc["popularity"], table.loc["sasrec"]
    # measured: popularity ndcg@10 .163, SASRec .330; coverage .205 / .605
    assert sas["ndcg@10"] > 1.5 * pop["ndcg@10"] and sas["recall@10"] > 1.5 * pop["recall@10"]
    assert pop["coverage@10"] < sas["coverage@10"]
    # popularity sends everyone the top items minus what they saw: a little over 10 of 200 items
    assert 10 / 200 <= pop["coverage@10"] < 0.25


def test_parameters_and_bytes_equal_the_models_own(shop, table):
    data, split = shop
    pop = table.loc["popularity"]
    assert pop["params_total"] == pop["params_trainable"] == 0
    assert pop["model_mb"] == pytest.approx(4 * split.n_items / 1e6)  # one float32 count per item
    params = C.model_settings("sasrec", {"sasrec": SASREC}, quick=True)
    sas = get_model("sasrec", preset=params.pop("preset"), **params).untrained(split.n_items)
    n = sum(p.numel() for p in sas.module.parameters())
    assert table.loc["sasrec", "params_total"] == table.loc["sasrec", "params_trainable"] == n
    byts = sum(t.numel() * t.element_size() for t in [*sas.module.parameters(), *sas.module.buffers()])
    assert table.loc["sasrec", "model_mb"] == pytest.approx(byts / 1e6)


def test_invalid_ids_are_reported_by_generative_models_only(table):
    for name, row in table.iterrows():
        assert np.isnan(row["invalid@10"]) != model_class(name).capabilities.generative, name
    assert (table["train_s"] > 0).all() and (table["latency_ms"] > 0).all()
    assert table.loc["popularity", "train_s"] < table.loc["sasrec", "train_s"]


class Slow:
    """A popularity model whose recommend sleeps 2 ms per user."""

    def __init__(self, split):
        self.model, self.name = get_model("popularity").fit(split), "slow"

    def recommend(self, histories, **kw):
        time.sleep(0.002 * len(histories))
        return self.model.recommend(histories, **kw)


def test_latency_is_the_median_per_user_time_of_the_recommend_calls(shop):
    _, split = shop
    timed = C._Timed(Slow(split))
    evaluate_metrics(timed, split.test.subset(100), ks=(10,), batch_size=20)
    assert len(timed.per_user) == 5  # 100 users in batches of 20
    assert 0.002 <= np.median(timed.per_user) < 0.004


def test_peak_memory_sees_an_allocation_during_the_block():
    with C._PeakRSS() as mem:
        block = np.ones(200_000_000 // 8)  # 200 MB, touched
        time.sleep(0.05)
        del block
    assert 150e6 < mem.growth < 400e6


def test_sample_users_keeps_the_last_events():
    data = make_synthetic("tiny")
    small = C.sample_users(data, 50, max_length=5, seed=1)
    assert small.n_users == 50 and small.n_items == data.n_items
    for uid, seq in zip(small.interactions.user_ids, small.interactions.sequences):
        full = data.interactions.sequences[data.interactions.user_ids.index(uid)]
        np.testing.assert_array_equal(seq, full[-5:])
    with pytest.raises(ValueError, match="max_length >= 3"):
        C.sample_users(data, 10, max_length=2)


# ----------------------------------------------------------------------------------------- the CLI
def test_cli_compare_json_rows_for_exactly_the_named_models(capsys):
    assert main(["compare", "--dataset", "synthetic", "--size", "tiny", "--models", "popularity", "sasrec",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["popularity", "sasrec"]
    assert rows[0]["invalid@10"] is None and rows[0]["params_total"] == 0 and rows[1]["params_total"] > 0


@pytest.mark.parametrize("name, message", [("nope", "unknown model"), ("target-attention", "is a ranker")])
def test_cli_compare_bad_model_exits_2_with_one_message(capsys, name, message):
    assert main(["compare", "--dataset", "synthetic", "--size", "tiny", "--models", "popularity", name]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("llmrec-mini: error:") and message in err[0]


def test_quality_cost_figure_one_point_per_model(table):
    from llmrec_mini.viz import quality_cost_figure

    fig = quality_cost_figure(table)
    (trace,) = fig.data
    assert list(trace.text) == list(table.index) and list(trace.y) == list(table["ndcg@10"])
    assert fig.layout.xaxis.type == "log" and min(trace.x) > 0
    assert max(trace.marker.size) == 40  # the slowest-training model gets the largest marker
    with pytest.raises(ValueError, match="no column 'nope'"):
        quality_cost_figure(table, cost="nope")
