"""OneRec-Think (models/onerec_think.py): itemic alignment, rationale before the item ID, GRPO with the
rollout-beam reward, Think-Ahead."""
from __future__ import annotations

import numpy as np
import pytest

from llmrec_mini.data import load_dataset
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.models import get_model
from llmrec_mini.models.onerec_think import OneRecThink, rollout_beam_reward

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = dict(d_model=64, n_layers=2, n_heads=4, lm_steps=100, token_warmup_steps=50, cpt_steps=150, epochs=3,
             grpo_steps=6, rationale_beams=3, val_users=50, encoder="hashing", embedding_cache=False, progress=False,
             seed=0)


@pytest.fixture(scope="module")
def trained(shop):
    data, split = shop
    return get_model("onerec_think", **SMALL).fit(split, data.catalog)


# ----------------------------------------------------------------------------------------- eq. R
def test_rollout_beam_reward_is_the_best_partial_match():
    target = np.array([5, 7, 9, 1])
    beams = np.array([[5, 7, 0, 0],   # 2 leading matches
                      [0, 7, 9, 1],   # 3 matches, not leading: eq. R counts every position
                      [5, 0, 0, 0]])
    assert rollout_beam_reward(beams, target) == 3
    assert rollout_beam_reward(beams, target, valid=[True, False, True]) == 2  # a dead beam counts 0
    assert rollout_beam_reward(beams[:1], np.array([1, 2, 3, 4])) == 0
    assert rollout_beam_reward(np.array([target, beams[0]]), target) == 4
    rng = np.random.default_rng(0)
    b = rng.integers(0, 3, size=(50, 6, 4))  # few codes: many partial matches
    t = rng.integers(0, 3, size=(50, 4))
    v = rng.random((50, 6)) < 0.8
    brute = [max([sum(int(b[n, k, l] == t[n, l]) for l in range(4)) if v[n, k] else 0 for k in range(6)])
             for n in range(50)]
    np.testing.assert_array_equal(rollout_beam_reward(b, t, v), brute)
    with pytest.raises(ValueError, match="do not match"):
        rollout_beam_reward(b, t[:, :3])


# ----------------------------------------------------------------------------------------- 1a. token warm-up
def test_token_warmup_trains_only_the_new_item_token_rows(shop):
    import torch

    data, split = shop
    model = get_model("onerec_think", preset="tiny", progress=False, embedding_cache=False)
    model.n_items = split.n_items
    model.prepare(split, data.catalog)
    torch.manual_seed(0)
    model.module = model.build()
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    model.token_warmup(split, steps=5)
    after = model.module.state_dict()
    assert set(after) == set(before)
    new = torch.zeros(len(model.tokenizer), dtype=torch.bool)
    new[model.item_token_ids()] = True
    assert new.sum() == model.vocab.L * model.vocab.K + 2  # the SID tokens, <item>, </item>
    rows_changed = 0
    for name, w in after.items():
        if w.shape[:1] == new.shape and w.ndim == 2:  # the embedding (and a head of the same rows)
            assert torch.equal(w[~new], before[name][~new]), name  # old vocabulary: bit-identical
            rows_changed += int((w[new] != before[name][new]).any(1).sum())
        else:
            assert torch.equal(w, before[name]), name  # the frozen LM: bit-identical
    assert rows_changed >= 0.9 * int(new.sum())  # (almost) every new row moved
    assert all(p.requires_grad for p in model.module.parameters())  # 1b trains everything again


# ----------------------------------------------------------------------------------------- quality
def test_rationales_are_followed_by_real_distinct_unseen_items(shop, trained):
    data, split = shop
    hist = split.test.histories[:40]
    out = trained.reason(hist, k=10)
    cats = {trained.categories[i].lower() for i in range(split.n_items)}
    for (text, items), h in zip(out, hist):
        assert text.startswith(("the user bought", "no recent item")) and " next : " in text, text
        assert text.split(" next : ")[1].rstrip(" .") in cats, text  # it names a real category
        assert len(items) == 10 and (items >= 0).all() and len(set(items.tolist())) == 10
        assert not set(items.tolist()) & set(h.tolist())
    # the rationale is read: after the best rationale, the top item is in the category it names (mostly)
    rationales, _ = trained.write_rationales(hist)
    named = [trained.tokenizer.decode(r).split(" next : ")[1].rstrip(" .") for r in rationales]
    after, _, _ = trained.generate(hist, 10, True, rationales=rationales)
    agree = np.mean([trained.categories[int(i)].lower() == n for i, n in zip(after[:, 0], named)])
    print(f"\ntop item in the rationale's category: {agree:.2f}; e.g. {out[0][0]!r}")
    assert agree >= 0.8
    # the training rationale: counts the related history items (at most 3) and names the target's category
    h, t = split.train[0][:6], int(split.train[0][6])
    text = trained.rationale(h, t)
    same = [int(i) for i in h if trained.categories[int(i)] == trained.categories[t]]
    if same:
        cat = trained.categories[t]
        assert text == f"the user bought {min(len(same), 3)} items in {cat} ; next : {cat} ."
    assert text.endswith(f"; next : {trained.categories[t]} .")
    assert trained.rationale([], t) == f"no recent item near {trained.categories[t]} ; next : {trained.categories[t]} ."


# ----------------------------------------------------------------------------------------- 4. Think-Ahead
def test_think_ahead_completion_keeps_the_precomputed_prefix(shop, trained):
    data, split = shop
    hist = split.test.histories[:40]
    cache = trained.think_ahead(hist)
    items = trained.complete(hist, cache)
    assert (items >= 0).all() and not any(int(i) in set(h.tolist()) for i, h in zip(items, hist))
    np.testing.assert_array_equal(trained.vocab.encode(items)[:, :-1], cache["prefix"])
    # same model, same rationale: the completion is the top beam of full decoding after that rationale
    full, _, _ = trained.generate(hist, trained.config.num_beams, True, rationales=cache["rationales"])
    assert np.mean(items == full[:, 0]) >= 0.95
    with pytest.raises(ValueError, match="think_ahead"):
        trained.complete(hist[:3], cache)


# ----------------------------------------------------------------------------------------- the CLI, checkpoints, inputs
def test_cli_evaluate_onerec_think_beats_popularity(shop, trained, tmp_path, cli_vs_popularity):
    """OneRec-Think beats popularity on held-out users, evaluated by `llmrec-mini evaluate --checkpoint` on the
    model trained above (every stage ran): the CLI's data (`--size small`) is the test shop, so the CLI
    evaluates that model on all 600 test users."""
    assert set(trained.stage_results) == {"lm", "warmup", "alignment", "grpo"} and len(trained.rewards) == 6
    data, _ = shop
    cli_data = load_dataset("synthetic", size="small")
    assert all(np.array_equal(a, b) for a, b in zip(data.interactions.sequences, cli_data.interactions.sequences))
    row, pop = cli_vs_popularity("onerec_think", "--checkpoint", str(trained.save(tmp_path / "ort")), size="small")
    assert row["invalid@10"] == 0.0
    assert row["recall@10"] >= pop["recall@10"] + 0.08 and row["ndcg@10"] >= pop["ndcg@10"] + 0.04


def test_a_checkpoint_reasons_the_same_way(shop, trained, tmp_path):
    data, split = shop
    h = split.test.histories[:5]
    loaded = OneRecThink.load(trained.save(tmp_path / "ort"), data.catalog)
    assert loaded.reason(h, k=5)[0][0] == trained.reason(h, k=5)[0][0]
    np.testing.assert_array_equal(loaded.recommend(h, k=5).items, trained.recommend(h, k=5).items)


def test_bad_inputs_fail_clearly(shop):
    data, split = shop
    for bad, match in [({"task_mix": (1.0, 0.0)}, "task_mix"), ({"task_mix": (-1.0, 1.0, 1.0, 1.0)}, "task_mix"),
                       ({"grpo_group": 1}, "grpo_group"), ({"grpo_clip": 1.5}, "grpo_clip"),
                       ({"token_warmup_steps": -1}, "token_warmup_steps"), ({"rationale_beams": 0}, "rationale_beams"),
                       ({"lm": "smollm2"}, "tiny LM only")]:
        with pytest.raises(ValueError, match=match):
            get_model("onerec_think", **bad)
    with pytest.raises(ValueError, match="needs the catalog"):
        get_model("onerec_think", preset="tiny", progress=False).fit(split)
    with pytest.raises(ValueError, match="do not match"):
        rollout_beam_reward(np.zeros(4), np.zeros(4))
    plain = get_model("onerec_think", preset="tiny", reasoning=False, grpo_steps=0, progress=False)
    tiny_split, tiny_catalog = leave_one_out_tiny()
    plain.fit(tiny_split, tiny_catalog)
    with pytest.raises(ValueError, match="reasoning=False"):
        plain.reason(tiny_split.test.histories[:2])
    assert plain.recommend(tiny_split.test.histories[:2], k=5).items.shape == (2, 5)
    assert get_model("onerec_think").group_settings["sid"].method == "rqkmeans"


def leave_one_out_tiny():
    data = make_synthetic("tiny", seed=0)
    return leave_one_out(data), data.catalog
