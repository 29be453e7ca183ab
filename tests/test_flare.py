"""FLARE (models/flare.py): fused ID + frozen-text item embeddings, the ID-text InfoNCE, REGEN critiques."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from llmrec_mini import regen as R
from llmrec_mini.data import Catalog, Dataset, Interactions
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.models import get_model
from llmrec_mini.models.flare import FLARE
from llmrec_mini.text import encode_items

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = {"encoder": "hashing", "embedding_cache": False, "val_users": 200, "progress": False}


@pytest.fixture(scope="module")
def shop():
    """The built-in shop at 1,000 users and 300 items, with REGEN critiques (regen.split = leave-one-out)."""
    data = make_synthetic("default", n_users=1000, n_items=300)
    rg = R.enrich(data)
    pop = evaluate_metrics(get_model("popularity").fit(rg.split), rg.split.test, ks=(10,))
    return data, rg, pop


@pytest.fixture(scope="module")
def flare(shop):
    data, rg, _ = shop
    return FLARE(epochs=5, **SMALL).fit(rg.split, data.catalog)


@pytest.fixture(scope="module")
def critic(shop):
    """Trained with critiques; the real sentence encoder when installed (encoder="auto")."""
    data, rg, _ = shop
    return FLARE(regen=rg, use_critiques=True, epochs=5, **{**SMALL, "encoder": "auto"}).fit(rg.split, data.catalog)


# ----------------------------------------------------------------------------------------- quality
def test_flare_beats_popularity_on_held_out_users(shop, flare):
    _, rg, pop = shop
    res = evaluate_metrics(flare, rg.split.test, ks=(10,))
    print(f"\npopularity ndcg@10 {pop['ndcg@10']:.4f}  flare {res['ndcg@10']:.4f}")
    # measured: popularity .113, FLARE (5 epochs, hashing text) .326, i.e. 2.9x
    assert res["ndcg@10"] > 2.0 * pop["ndcg@10"]
    assert res["recall@10"] > 1.5 * pop["recall@10"]


def test_the_infonce_aligns_id_and_text_embeddings(shop, flare):
    """After training, InfoNCE of the true (E_id[i], W t_i) pairs is far below that of shuffled pairs, and
    far below what the same training reaches without the loss (the fused sum alone aligns them a little)."""
    data, rg, _ = shop
    perm = np.random.default_rng(0).permutation(flare.n_items)
    true, shuffled = flare.align_loss(), flare.align_loss(text_items=perm)
    without = FLARE(epochs=3, lambda_align=0, **SMALL).fit(rg.split, data.catalog).align_loss()
    untrained = FLARE(**SMALL).untrained(flare.n_items, data.catalog)
    before = untrained.align_loss(), untrained.align_loss(text_items=perm)
    print(f"\nInfoNCE true {true:.3f} shuffled {shuffled:.3f}; lambda_align=0: {without:.3f}; "
          f"untrained {before[0]:.3f} / {before[1]:.3f}")
    # measured: true .87, shuffled 8.7; lambda_align=0 5.2; untrained 6.6 / 6.4 (log 300 = 5.7)
    assert true < 0.3 * shuffled and true < 0.5 * without
    assert min(before) > 4 * true  # no alignment before training
    with pytest.raises(ValueError, match="needs the catalog"):
        FLARE(**SMALL).untrained(flare.n_items)


def test_text_embeddings_stay_frozen(shop, flare, tmp_path):
    data, _, _ = shop
    expected = encode_items(data.catalog, encoder="hashing", progress=False)
    text = flare.module.items.text
    assert not text.requires_grad and "text" not in dict(flare.module.named_parameters())
    np.testing.assert_array_equal(flare.text_embeddings, expected)  # bit-identical after fit
    np.testing.assert_array_equal(text[1:].numpy(), expected)
    assert (text[0] == 0).all()  # the padding row
    loaded = FLARE.load(flare.save(tmp_path / "m"), data.catalog)
    np.testing.assert_array_equal(loaded.module.items.text.numpy(), text.numpy())
    # e_i = E_id[i] + W t_i is the table SASRec's output layer reads
    e = flare.module.items
    torch.testing.assert_close(e.weight[5], e.ids.weight[5] + e.proj(e.text[5]))


# ----------------------------------------------------------------------------------------- critiques
def test_critiques_improve_the_same_model(shop, critic, tmp_path):
    """Critiques are written knowing the target, so they leak it: with them the model must rank better.
    Both rows are reported; only the users whose target has a critique can change."""
    data, rg, _ = shop
    test = rg.split.test
    crit = rg.target_critiques(test)
    has = np.array([c is not None for c in crit])
    plain = evaluate_metrics(critic, test, ks=(10,))
    with_c = evaluate_metrics(critic, test, ks=(10,), per_row={"critiques": crit})
    sub = test.select(has)
    sub_plain = evaluate_metrics(critic, sub, ks=(10,))
    sub_with = evaluate_metrics(critic, sub, ks=(10,), per_row={"critiques": [c for c in crit if c]})
    print(f"\n{has.mean():.0%} of test targets have a critique; ndcg@10 without {plain['ndcg@10']:.4f} with "
          f"{with_c['ndcg@10']:.4f}; on those users {sub_plain['ndcg@10']:.4f} -> {sub_with['ndcg@10']:.4f}")
    # measured (MiniLM): all users .306 -> .368 (+20%); users with a critique .303 -> .515 (+70%)
    assert with_c["ndcg@10"] > 1.08 * plain["ndcg@10"]
    assert sub_with["ndcg@10"] > 1.3 * sub_plain["ndcg@10"]
    none = critic.recommend(test.histories[:20], k=10, critiques=[None] * 20)
    np.testing.assert_array_equal(none.items, critic.recommend(test.histories[:20], k=10).items)
    # the checkpoint keeps the critique table: same rankings with critiques after loading
    loaded = FLARE.load(critic.save(tmp_path / "c"), data.catalog)
    assert json.loads((tmp_path / "c" / "critiques.json").read_text()) == critic.critique_texts
    rows = np.flatnonzero(has)[:20]
    h, c = [test.histories[i] for i in rows], [crit[i] for i in rows]
    np.testing.assert_array_equal(loaded.recommend(h, k=10, critiques=c).items,
                                  critic.recommend(h, k=10, critiques=c).items)


def hand_made(max_len=50):
    """Two users with hand-written critiques: critiques[u][t] leads to user u's t-th event."""
    cats = [["Shop", "A"], ["Shop", "A"], ["Shop", "B"], ["Shop", "B"], ["Shop", "C"], ["Shop", "C"]]
    catalog = Catalog([f"i{i}" for i in range(6)], titles=[f"item {w}" for w in "abcdef"], categories=cats)
    data = Dataset("hand", catalog, Interactions(["u0", "u1"], [[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]))
    rg = R.enrich(data)
    rg.critiques = [[None, "cheaper", None, "in red", "x", "y"], [None, None, "by acme", "z", "w"]]
    model = FLARE(regen=rg, use_critiques=True, d_model=8, n_heads=1, n_layers=1, max_len=max_len, window_stride=1,
                  dropout=0, attn_dropout=0, epochs=1, **SMALL).fit(rg.split, catalog)
    return rg, model


def test_the_critique_of_item_t_plus_1_is_added_at_position_t():
    rg, model = hand_made()
    assert [s.tolist() for s in rg.split.train] == [[0, 1, 2, 3], [5, 4, 3]]
    vec = lambda t: model.critique_table[model.critique_texts.index(t) + 1]  # noqa: E731
    zero = np.zeros_like(vec("cheaper"))
    tokens, targets, align, crit = model.collate(model.examples(rg.split))
    assert tokens.tolist() == [[1, 2, 3], [0, 6, 5]] and targets.tolist() == [[2, 3, 4], [0, 5, 4]]
    # u0: position 0 reads item 0 and predicts item 1, which critique "cheaper" leads to; item 2 has none
    for b, row in enumerate([["cheaper", None, "in red"], [None, None, "by acme"]]):
        for t, text in enumerate(row):
            np.testing.assert_array_equal(crit[b, t].numpy(), zero if text is None else vec(text))
    assert sorted(align.tolist()) == [0, 1, 2, 3, 4, 5]  # every item of the batch, as item indices
    # shorter windows start mid-sequence: window [1, 2, 3] of u0 gets the critiques of events 2 and 3
    _, short = hand_made(max_len=2)
    ex = short.examples(rg.split)
    (w, n, rows), = [e for e in ex if e[0].tolist() == [1, 2, 3]]
    _, _, _, crit = short.collate([(w, n, rows)])
    np.testing.assert_array_equal(crit[0].numpy(), np.stack([zero, vec("in red")]))
    # at recommend time each row's critique goes to the last position (the one that predicts the next item)
    tokens, crit = model.inputs([np.array([0, 1, 2]), np.array([4])], ["in red", None])
    assert tokens.tolist() == [[1, 2, 3], [0, 0, 5]]
    expected = np.zeros(crit.shape, dtype=np.float32)
    expected[0, 2] = vec("in red")
    np.testing.assert_array_equal(crit.numpy(), expected)
    # causal: a critique at position 1 changes the hidden states at positions >= 1 only
    model.module.eval()
    crit2 = torch.zeros(1, 3, crit.shape[-1])
    crit2[0, 1] = torch.as_tensor(vec("cheaper"))
    with torch.no_grad():
        a, b = model.module.encode(tokens[:1]), model.module.encode(tokens[:1], crit2)
    torch.testing.assert_close(a[:, 0], b[:, 0])
    assert (a[:, 1:] - b[:, 1:]).abs().amax() > 1e-4


def test_a_new_critique_text_is_embedded_like_the_known_ones():
    _, model = hand_made()
    known = model.critique_vectors(["in red", None])
    np.testing.assert_array_equal(known[0], model.critique_table[model.critique_texts.index("in red") + 1])
    assert (known[1] == 0).all()
    new = model.critique_vectors(["something in blue"])
    assert np.linalg.norm(new[0]) == pytest.approx(1, abs=1e-5)
    rec = model.recommend([np.array([0, 1])], k=3, critiques=["something in blue"])
    assert rec.items.shape == (1, 3)


# ----------------------------------------------------------------------------------------- the CLI
def test_cli_evaluate_flare_beats_popularity(cli_vs_popularity, tmp_path, monkeypatch):
    monkeypatch.setenv("LLMREC_DATA_DIR", str(tmp_path))  # the item embedding cache
    row, pop = cli_vs_popularity("flare", "--epochs", "2", "--param", "encoder='hashing'", "--param", "val_users=200")
    # measured: flare (2 epochs) .175 vs popularity .078, i.e. 2.2x
    assert row["ndcg@10"] > 1.6 * pop["ndcg@10"]


# ----------------------------------------------------------------------------------------- bad input
def test_bad_inputs_are_one_clear_error(shop, flare, critic):
    data, rg, _ = shop
    h = rg.split.test.histories[:3]
    with pytest.raises(ValueError, match="got 2 critiques for 3 histories"):
        critic.recommend(h, k=5, critiques=["cheaper", None])
    with pytest.raises(ValueError, match="one critique .* per history"):
        critic.recommend(h, k=5, critiques="cheaper")
    with pytest.raises(ValueError, match="string or None"):
        critic.recommend(h, k=5, critiques=[1, None, None])
    with pytest.raises(ValueError, match="trained without critiques"):
        flare.recommend(h, k=5, critiques=["cheaper", None, None])
    with pytest.raises(ValueError, match="use_critiques=True needs the critiques"):
        FLARE(use_critiques=True, **SMALL).fit(rg.split, data.catalog)
    with pytest.raises(ValueError, match="needs the catalog"):
        FLARE(**SMALL).fit(rg.split)
    other = leave_one_out(make_synthetic("default", n_users=1000, n_items=300, seed=1))
    with pytest.raises(ValueError, match="not the REGEN data's"):
        FLARE(regen=rg, use_critiques=True, **SMALL).fit(other, data.catalog)
    with pytest.raises(ValueError, match="lambda_align must be >= 0"):
        FLARE(lambda_align=-1)
    with pytest.raises(ValueError, match="no narrator attached"):
        flare.narrate(h, [1, 2, 3])


def test_narrate_delegates_to_the_attached_narrator(flare):
    class Echo:
        def write(self, histories, items):
            return [f"{len(h)} items, then {i}" for h, i in zip(histories, items)]

    flare.narrator = Echo()
    try:
        assert flare.narrate([np.array([1, 2])], [7]) == ["2 items, then 7"]
    finally:
        flare.narrator = None
