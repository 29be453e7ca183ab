"""LUMEN: one causal LM with SID tokens reads history (+ critique) and writes <item> SID </item> + narrative."""
import json
import subprocess
import sys

import pytest

from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.models import get_model
from llmrec_mini.regen import enrich, score_narratives

SMALL = dict(d_model=64, n_layers=2, n_heads=4, lm_steps=100, cpt_steps=100, epochs=4, rqvae_epochs=30,
             codebook_size=32, num_beams=10, val_users=50, progress=False, seed=0, narrative_tokens=30)


@pytest.fixture(scope="module")
def shop(shop):
    """The shared 600 x 200 shop (tests/conftest.py) with its critiques and narratives."""
    return enrich(shop[0])


@pytest.fixture(scope="module")
def trained(shop):
    return get_model("lumen", regen=shop, **SMALL).fit(shop.split, shop.dataset.catalog)


def test_lumen_beats_popularity_and_never_names_an_invalid_item(shop, trained):
    split, catalog = shop.split, shop.dataset.catalog
    pop = evaluate_metrics(get_model("popularity").fit(split, catalog), split.test, ks=(10,))
    got = evaluate_metrics(trained, split.test, ks=(10,))
    crit = evaluate_metrics(trained, split.test, ks=(10,), per_row={"critiques": shop.target_critiques(split.test)})
    print(f"\nLUMEN {got}\nwith critiques {crit}\npopularity {pop}")
    assert got["recall@10"] >= pop["recall@10"] + 0.15 and got["ndcg@10"] >= pop["ndcg@10"] + 0.08
    recs = trained.recommend(split.test.histories, k=10)
    for row, hist in zip(recs.items, split.test.histories):
        real = row[row >= 0]
        assert len(real) == 10 and len(set(real.tolist())) == 10 and not set(real.tolist()) & set(hist.tolist())
    assert (recs.extras["invalid"] == 0).all()


def test_critiques_enter_the_prompt_and_half_the_training_examples(shop, trained):
    ex = trained.examples(shop.split)
    with_crit = sum(c is not None for _, _, c, _ in ex)
    possible = sum(shop.critique(u, t) is not None for u, s in enumerate(shop.split.train) for t in range(1, len(s)))
    assert abs(with_crit / possible - 0.5) < 0.1  # critique_dropout = 0.5
    h = shop.split.test.histories[0]
    plain, steered = trained.prompt(h), trained.prompt(h, "Something cheaper, please.")
    assert trained.tokenizer.decode(steered[len(plain) - 3:]) == "critique : Something cheaper, please. next item <item>"
    assert steered[-3:] == plain[-3:]  # both end with "next item <item>"
    with pytest.raises(ValueError, match="critiques"):
        trained.recommend(shop.split.test.histories[:3], k=5, critiques=["x"])
    with pytest.raises(ValueError, match="per_row"):  # the harness checks per-row options against the set
        evaluate_metrics(trained, shop.split.test, per_row={"critiques": ["x"]})


def test_the_narrative_follows_the_item(shop, trained):
    te = shop.split.test.subset(80, seed=0)
    scores = score_narratives(trained.narrate, shop, te, seed=1, encoder="hashing")
    true, wrong = scores["true item"], scores["random item"]
    print(f"\nnarratives {scores}")
    assert true["rouge_l"] > wrong["rouge_l"] + 0.05 and true["bleu"] > wrong["bleu"] + 5
    out = trained.respond(te.histories[0], "Something cheaper, please.")
    assert out.startswith("<item> ") and " </item> " in out and "<sid_" not in out.split("</item>")[1]


def test_a_checkpoint_writes_the_same_items(shop, trained, tmp_path):
    h = shop.split.test.histories[:5]
    loaded = type(trained).load(trained.save(tmp_path / "lumen"), shop.dataset.catalog)
    assert (loaded.recommend(h, k=5).items == trained.recommend(h, k=5).items).all()


def test_lumen_settings_fail_clearly(shop):
    with pytest.raises(ValueError, match="narrative"):
        get_model("lumen", narrative="poem")
    with pytest.raises(ValueError, match="critique_dropout"):
        get_model("lumen", critique_dropout=2.0)
    other = enrich(make_synthetic("tiny", seed=1))
    with pytest.raises(ValueError, match="users"):
        get_model("lumen", preset="tiny", regen=other, progress=False).fit(shop.split, shop.dataset.catalog)


def test_cli_evaluates_lumen_on_the_builtin_data():
    out = subprocess.run([sys.executable, "-m", "llmrec_mini.cli", "evaluate", "--model", "lumen", "--preset", "tiny",
                          "--dataset", "synthetic", "--size", "tiny", "--json"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "recall@10" in json.dumps(json.loads(out.stdout))
