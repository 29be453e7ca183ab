"""The platform every method stands on: the model contract, the one fit, the trainer, typed settings,
presets and published numbers, data-parallel training through accelerate, the dialogue protocol."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pytest

from llmrec_mini.config import Settings, route
from llmrec_mini.data import Catalog, Dataset, Interactions, load_dataset
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.evaluate import evaluate
from llmrec_mini.models import MODELS, get_model, model_class
from llmrec_mini.models.base import TorchRecommender
from llmrec_mini.models.contract import (Capabilities, Conversational, DialogueState, Recommendations,
                                         RecommendOnly)
from llmrec_mini.models.sasrec import SASRec


@pytest.fixture(scope="module")
def tiny():
    data = load_dataset("synthetic", size="tiny")
    return data, leave_one_out(data)


class SGDSASRec(SASRec):
    """SASRec with plain SGD: updates are linear in the gradients, so float noise stays float noise (Adam's
    first steps, g / (|g| + eps), turn a 1e-9 difference in a near-zero gradient into a whole step)."""

    def make_optimizer(self, module):
        import torch

        return torch.optim.SGD(module.parameters(), lr=self.train_config.lr)


def equal_length_split(n_users=128, n_items=40, length=8, seed=0):
    """Every user has the same number of items, so every batch half holds as many targets as the other:
    a mean over half-batches equals the mean over the batch, and runs can be compared exactly."""
    rng = np.random.default_rng(seed)
    seqs = [rng.choice(n_items, length, replace=False) for _ in range(n_users)]
    data = Dataset("equal", Catalog([f"i{i}" for i in range(n_items)]),
                   Interactions([f"u{u}" for u in range(n_users)], seqs))
    return leave_one_out(data)


def weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.module.state_dict().items()}


# ----------------------------------------------------------------------------------------- every registered model
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_model_fits_recommends_saves_and_loads(name, tiny, tmp_path, monkeypatch):
    """fit -> recommend -> save -> load -> recommend (same output), at the model's "tiny" preset."""
    monkeypatch.setenv("LLMREC_DATA_DIR", str(tmp_path / "cache"))
    data, split = tiny
    cls = model_class(name)
    assert cls.name == name and cls.description, "every model has a one-line description"
    if issubclass(cls, TorchRecommender):
        assert "tiny" in cls.presets, f"{name} needs a 'tiny' preset (seconds, for the registry-wide tests)"
    model = get_model(name, preset="tiny" if "tiny" in cls.presets else None, progress=False)
    model.fit(split, data.catalog)
    h, u = split.test.histories[:30], split.test.users[:30]
    rec = model.recommend(h, k=10, users=u)
    assert isinstance(rec, Recommendations) and rec.items.shape == (30, 10)
    for row, hist in zip(rec.items, h):
        real = row[row >= 0]
        assert len(real) == len(set(real.tolist())) and not set(real.tolist()) & set(hist.tolist())
        assert (row[len(real):] == -1).all() and len(real) == 10  # 150 items: every slot can be filled
    assert np.all(np.diff(rec.scores, axis=1) <= 1e-6), "best first"
    model.save(tmp_path / name)
    loaded = cls.load(tmp_path / name, data.catalog)
    again = loaded.recommend(h, k=10, users=u)
    np.testing.assert_array_equal(again.items, rec.items)
    np.testing.assert_allclose(again.scores, rec.scores, rtol=1e-4, atol=1e-5)


def test_evaluate_asks_every_model_the_same_question(tiny, tmp_path, monkeypatch):
    """The harness gives each model the same histories, users, K and protocol, in the same batches."""
    monkeypatch.setenv("LLMREC_DATA_DIR", str(tmp_path))
    data, split = tiny
    calls = {}
    for name in sorted(MODELS):
        cls = model_class(name)
        model = get_model(name, preset="tiny" if "tiny" in cls.presets else None, progress=False)
        model.fit(split, data.catalog)
        original, log = model.recommend, []

        def recording(histories, k=10, exclude_seen=True, users=None, _orig=original, _log=log, **options):
            _log.append(([h.tolist() for h in histories], None if users is None else users.tolist(), k, exclude_seen))
            return _orig(histories, k=k, exclude_seen=exclude_seen, users=users, **options)

        model.recommend = recording
        evaluate(model, split, ks=(5, 10), batch_size=64, progress=False)
        calls[name] = log
    first = next(iter(calls.values()))
    assert len(first) == 4 and all(k == 10 and seen for _, _, k, seen in first)  # 200 users in batches of 64
    assert sum((c[0] for c in first), []) == [h.tolist() for h in split.test.histories]
    assert sum((c[1] for c in first), []) == split.test.users.tolist()
    assert all(log == first for log in calls.values())


def test_presets_published_numbers_and_bench_rows_are_consistent():
    from llmrec_mini.bench import BENCHES

    for bench in BENCHES.values():
        for row in bench.rows:
            cls = model_class(row.model)
            assert row.preset is None or row.preset in cls.presets, (row, sorted(cls.presets))
            get_model(row.model, preset=row.preset, **row.overrides)  # every setting is known and well typed
    for name in MODELS:
        cls = model_class(name)
        for preset in cls.presets:
            get_model(name, preset=preset)
        for p in cls.published:
            assert p.dataset in {b.dataset for b in BENCHES.values()} and p.source and p.metrics
    with pytest.raises(ValueError, match="no preset 'gpu'"):
        get_model("tiger", preset="gpu")


# ----------------------------------------------------------------------------------------- the contract
def test_recommendations_unpack_slice_and_concatenate():
    a = Recommendations(np.array([[3, 1]]), np.array([[2.0, 1.0]]), {"invalid": np.array([0.5]), "text": ["x"]})
    b = Recommendations(np.array([[4, 5, 6], [7, -1, -1]]), np.array([[3.0, 2.0, 1.0], [1.0, -np.inf, -np.inf]]),
                        {"invalid": np.array([0.0, 0.25]), "text": ["y", "z"]})
    items, scores = a
    assert items.tolist() == [[3, 1]] and scores.dtype == np.float32
    both = Recommendations.concat([a, b])
    assert both.items.tolist() == [[3, 1, -1], [4, 5, 6], [7, -1, -1]]  # narrower rows padded with "no item"
    assert np.isneginf(both.scores[0, 2]) and both.extras["text"] == ["x", "y", "z"]
    assert both.rows(slice(1, 3)).extras["invalid"].tolist() == [0.0, 0.25]
    assert both.rows([2, 0]).extras["text"] == ["z", "x"]
    with pytest.raises(ValueError, match="rows"):
        Recommendations(np.zeros((2, 3)), np.zeros((2, 3)), {"text": ["only one"]})
    with pytest.raises(ValueError, match="both be"):
        Recommendations(np.zeros((2, 3)), np.zeros((2, 2)))


def test_recommend_checks_its_inputs(tiny):
    data, split = tiny
    pop = get_model("popularity").fit(split)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        pop.recommend(split.test.histories[:2], k=0)
    with pytest.raises(ValueError, match="item index 150"):
        pop.recommend([np.array([1, 150])], k=5)
    with pytest.raises(ValueError, match="unknown option"):
        pop.recommend(split.test.histories[:2], k=5, decoding="trie")
    with pytest.raises(RuntimeError, match="fit or load"):
        get_model("popularity").recommend(split.test.histories[:2])
    # a catalog smaller than k: the rest is "no item"; every seen item is excluded, never returned as -inf
    few = pop.recommend([np.arange(147)], k=5)
    assert set(few.items[0][:3].tolist()) == {147, 148, 149}
    assert (few.items[0][3:] == -1).all() and np.isneginf(few.scores[0][3:]).all()


def test_nan_scores_are_refused(tiny):
    _, split = tiny
    pop = get_model("popularity").fit(split)
    pop.counts[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate(pop, split, progress=False)


def test_capabilities_choose_the_protocol(tiny):
    _, split = tiny

    class NoSeen(type(get_model("popularity"))):
        name, description = "noseen", "test"
        capabilities = Capabilities(keeps_seen=False)

    model = NoSeen().fit(split)
    assert evaluate(model, split, progress=False)["recall@10"].iloc[0] > 0
    with pytest.raises(ValueError, match="cannot rank items the user has already seen"):
        evaluate(model, split, exclude_seen=False, progress=False)


def test_a_recommender_in_a_dialogue_never_repeats_itself(tiny):
    data, split = tiny
    agent = RecommendOnly(get_model("popularity").fit(split))
    assert isinstance(agent, Conversational)
    state = DialogueState(history=split.test.histories[0], user=int(split.test.users[0])).say("user", "hello")
    first = agent.respond(state, k=5)
    second = agent.respond(first.state.say("user", "something else"), k=5)
    a, b = first.items.items[0].tolist(), second.items.items[0].tolist()
    assert len(a) == len(b) == 5 and not set(a) & set(b) and not set(a + b) & set(state.history.tolist())
    assert second.state.shown == a + b and [s for s, _ in second.state.utterances] == ["user", "system"] * 2
    with pytest.raises(ValueError, match="speaker"):
        state.say("robot", "hi")


# ----------------------------------------------------------------------------------------- typed settings
def test_settings_are_typed_and_routed():
    @dataclass
    class S(Settings):
        n: int = 1
        x: float = 0.5
        mode: Literal["a", "b"] = "a"
        dims: tuple[int, ...] = (1, 2)
        cap: float | None = None
        extra: dict = field(default_factory=dict)

    assert S(x=2).x == 2.0 and S(dims=[3, 4]).dims == (3, 4) and S(cap=None).cap is None
    for bad, message in [({"n": "3"}, "n must be an integer, got '3'"), ({"n": True}, "n must be an integer"),
                         ({"mode": "c"}, "mode must be one of 'a', 'b'"), ({"dims": [1, "x"]}, r"dims\[1\]"),
                         ({"x": "fast"}, "x must be a number")]:
        with pytest.raises(ValueError, match=message):
            S(**bad)

    @dataclass
    class T(Settings):
        lr: float = 0.1
        opts: dict = field(default_factory=dict)

    groups = route({"n": 2, "lr": 0.5, "opts_depth": 3, "T": {"lr": 0.7}}, {"S": S, "T": T}, "toy")
    assert groups == {"S": {"n": 2}, "T": {"lr": 0.7, "opts": {"depth": 3}}}
    with pytest.raises(ValueError, match="unknown setting.*'nn'.*accepted: .*lr"):
        route({"nn": 1}, {"S": S, "T": T}, "toy")


# ----------------------------------------------------------------------------------------- the trainer
def test_gradient_accumulation_equals_the_larger_batch():
    split = equal_length_split()
    kw = dict(d_model=16, n_layers=1, n_heads=2, dropout=0.0, attn_dropout=0.0, epochs=2, lr=0.5, progress=False)
    big = SGDSASRec(batch_size=64, **kw).fit(split)
    accumulated = SGDSASRec(batch_size=32, grad_accum=2, **kw).fit(split)
    small = SGDSASRec(batch_size=32, **kw).fit(split)
    assert big.result.steps == accumulated.result.steps == 4 and small.result.steps == 8
    wb, wa, ws = weights(big), weights(accumulated), weights(small)
    for k in wb:
        np.testing.assert_allclose(wa[k].numpy(), wb[k].numpy(), rtol=1e-4, atol=1e-6, err_msg=k)
    assert max(float((ws[k] - wb[k]).abs().max()) for k in wb) > 1e-3  # the small batch really differs


def test_step_budget_stops_mid_epoch_and_validates():
    split = equal_length_split()
    reported = []
    m = SASRec(d_model=16, n_layers=1, n_heads=2, batch_size=32, epochs=10, max_steps=6, progress=False)
    m.fit(split, on_epoch=lambda row, epochs: reported.append((row["epoch"], row["steps"], epochs)))
    assert m.result.steps == 6 and m.result.stop_reason == "max_steps" and len(m.result.history) == 2
    assert "score" in m.result.history[-1]
    assert reported == [(0, 4, 10), (1, 6, 10)]  # the progress hook sees every epoch and the budget


def test_param_groups_hook_and_best_epoch_snapshot():
    """A zero learning rate for one group leaves it untouched; the best epoch's weights are the ones kept."""
    split = equal_length_split()

    class FrozenPositions(SASRec):
        def param_groups(self, module):
            rest = [p for n, p in module.named_parameters() if not n.startswith("positions")]
            return [{"params": rest}, {"params": [module.positions.weight], "lr": 0.0}]

    m = FrozenPositions(d_model=16, n_layers=1, n_heads=2, epochs=2, progress=False)
    m.untrained(split.n_items)
    initial = weights(m)
    m.fit(split)
    after = weights(m)
    assert np.array_equal(after["positions.weight"].numpy(), initial["positions.weight"].numpy())
    assert not np.array_equal(after["items.weight"].numpy(), initial["items.weight"].numpy())
    # lr 0 everywhere: nothing improves after epoch 1, and epoch 1's (untrained) weights are restored
    still = SASRec(d_model=16, n_layers=1, n_heads=2, epochs=3, patience=5, lr=0.0, progress=False).fit(split)
    assert still.result.best_epoch == 0 and len(still.result.history) == 3


def test_mostly_frozen_models_save_only_their_trainable_weights(tmp_path):
    from safetensors import safe_open

    split = equal_length_split()

    class HeadOnly(SASRec):  # everything frozen but the final layer norm: a stand-in for LoRA-style training
        name = "sasrec"

        def build(self):
            module = super().build()
            for n, p in module.named_parameters():
                p.requires_grad = n.startswith("norm.")
            return module

    m = HeadOnly(d_model=32, n_layers=2, n_heads=2, epochs=1, seed=3, progress=False)
    m.untrained(split.n_items)
    initial = weights(m)
    m.fit(split)
    changed = {k for k, v in weights(m).items() if not np.array_equal(v.numpy(), initial[k].numpy())}
    assert changed and changed <= {"norm.weight", "norm.bias"}
    m.save(tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as f:
        assert set(f.keys()) == {"norm.weight", "norm.bias"} and f.metadata()["weights"] == "trainable"
    loaded = HeadOnly.load(tmp_path)  # the frozen weights are rebuilt from the seed, the trained ones read
    h = split.test.histories[:16]
    np.testing.assert_allclose(loaded.recommend(h, k=10).scores, m.recommend(h, k=10).scores, rtol=1e-5, atol=1e-6)


def test_bf16_mixed_precision_trains(tiny):
    _, split = tiny
    m = get_model("sasrec", preset="tiny", mixed_precision="bf16", progress=False).fit(split)
    assert np.isfinite(m.result.history[0]["loss"])


# ----------------------------------------------------------------------------------------- several processes
DDP_SCRIPT = """
import json, os, sys
sys.path.insert(0, {tests!r})
from test_platform import SGDSASRec, equal_length_split
m = SGDSASRec(d_model=16, n_layers=1, n_heads=2, dropout=0.0, attn_dropout=0.0, epochs=2, batch_size=64, lr=0.5,
              progress=False)
m.fit(equal_length_split())
if int(os.environ.get("RANK", "0")) == 0:
    m.save(sys.argv[1])
"""


def _accelerate_launch(*args, timeout=240):
    exe = os.path.join(os.path.dirname(sys.executable), "accelerate")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([exe, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                           "--mixed_precision", "no", "--dynamo_backend", "no", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_two_processes_train_like_one(tmp_path):
    """accelerate's data parallelism (2 CPU processes, gloo) gives the single-process result when the
    global batch is the same: each batch of 64 is split 32 + 32 and the gradients averaged."""
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT.format(tests=os.path.dirname(__file__)))
    proc = _accelerate_launch(str(script), str(tmp_path / "two"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    subprocess.run([sys.executable, str(script), str(tmp_path / "one")], check=True, capture_output=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    one = SGDSASRec.load(tmp_path / "one")
    two = SGDSASRec.load(tmp_path / "two")
    assert (one.result.num_processes, two.result.num_processes) == (1, 2)
    assert one.result.steps == two.result.steps == 4
    w1, w2 = weights(one), weights(two)
    for k in w1:
        np.testing.assert_allclose(w2[k].numpy(), w1[k].numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


def test_the_cli_trains_on_two_processes(tmp_path):
    proc = _accelerate_launch("-m", "llmrec_mini.cli", "train", "--model", "sasrec", "--dataset", "synthetic",
                              "--size", "tiny", "--epochs", "1", "--param", "d_model=16", "--out",
                              str(tmp_path / "m"), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on 2 process(es)" in proc.stderr and proc.stdout.count('"model"') == 1  # only rank 0 reports
    from llmrec_mini.data.sequences import training_windows

    training = json.loads((tmp_path / "m" / "training.json").read_text())
    windows = len(training_windows(leave_one_out(load_dataset("synthetic", size="tiny")).train, 50))
    assert training["num_processes"] == 2 and training["steps"] == -(-windows // 128)  # global batches of 128


def test_learning_rate_schedules():
    from llmrec_mini.train import TrainConfig, _lr_lambda

    cosine = _lr_lambda(TrainConfig(schedule="cosine", warmup_steps=10), total_steps=110)
    assert [round(cosine(s), 3) for s in (0, 4, 9, 10, 60, 109, 200)] == [0.1, 0.5, 1.0, 1.0, 0.5, 0.0, 0.0]
    assert cosine(109) > 0  # the last step of the budget still learns
    one_step = _lr_lambda(TrainConfig(schedule="cosine"), total_steps=1)
    assert one_step(0) == 1.0
    inv = _lr_lambda(TrainConfig(schedule="inverse_sqrt", warmup_steps=100), total_steps=0)
    assert inv(99) == 1.0 and inv(399) == pytest.approx(0.5)
    assert _lr_lambda(TrainConfig(), total_steps=0)(1000) == 1.0


def test_every_benchmark_row_names_a_model_preset_and_settings_that_exist():
    """A mistyped setting in the registry would fail only after an hour of benchmark: fail here."""
    from llmrec_mini.bench import BENCHES

    for name, bench in BENCHES.items():
        for row in bench.rows:
            cls = model_class(row.model)
            assert row.preset is None or row.preset in cls.presets, (name, row.label)
            get_model(row.model, **{**(cls.presets[row.preset] if row.preset else {}), **row.overrides})
            assert row.eval_users is None or row.eval_users >= 1, (name, row.label)
