"""The `llmrec-mini` command: machine-readable output and one clear message on bad input."""
import json
import subprocess
import sys

import pytest

from llmrec_mini.cli import main


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "llmrec_mini.cli", *args], capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def test_data_stats_json(capsys):
    assert main(["data", "stats", "--dataset", "synthetic", "--size", "tiny", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["users"] == 200 and stats["items"] == 150


TINY = ["--dataset", "synthetic", "--size", "tiny"]


@pytest.mark.parametrize("args, message", [
    (["data", "stats", "--dataset", "nope"], "unknown dataset"),
    (["data", "stats", "--dataset", "ml-100k", "--data-dir", "/no/such/folder"], "does not exist"),
    (["evaluate", "--model", "nope", *TINY], "unknown model"),
    (["train", "--model", "sasrec", *TINY, "--param", "oops"], "key=value"),
    (["train", "--model", "sasrec", *TINY, "--param", "d_model=abc"], "d_model must be an integer, got 'abc'"),
    (["train", "--model", "sasrec", *TINY, "--param", "n_heads=3"], "divisible by n_heads (3)"),
    (["train", "--model", "sasrec", *TINY, "--param", "max_len=0"], "max_len must be at least 1"),
    (["train", "--model", "sasrec", *TINY, "--param", "lr=-1"], "lr must be >= 0"),
    (["train", "--model", "sasrec", *TINY, "--param", "loss='hinge'"], "loss must be one of 'ce', 'bce'"),
    (["train", "--model", "sasrec", *TINY, "--param", "d_modle=8"], "unknown setting(s) 'd_modle'"),
    (["train", "--model", "tiger", *TINY, "--preset", "gpu"], "tiger has no preset 'gpu'"),
    (["evaluate", "--model", "sasrec", *TINY, "--epochs", "-3"], "epochs must be at least 1, got -3"),
    (["evaluate", "--model", "sasrec", *TINY, "--ks", "0"], "positive integers"),
    (["evaluate", "--model", "sasrec", *TINY, "--ks", "5", "-5"], "positive integers"),
    (["evaluate", "--model", "sasrec", *TINY, "--checkpoint", "/no/such/ckpt"], "no checkpoint in /no/such/ckpt"),
    (["train", "--model", "sasrec", *TINY, "--device", "cuda"], "no CUDA GPU"),
    (["bench", "nope"], "unknown benchmark"),
])
def test_bad_input_is_one_clear_message(args, message):
    code, out, err = run(*args)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("llmrec-mini: error: ")  # one line


def test_malformed_file_is_one_clear_message(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t5\t100\nnot a line\n")
    (tmp_path / "u.item").write_text("2|Movie (1995)|01-Jan-1995||url|" + "|".join(["0"] * 19) + "\n")
    code, out, err = run("data", "stats", "--dataset", "ml-100k", "--data-dir", str(tmp_path))
    assert code == 2 and "Traceback" not in err and "u.data" in err


@pytest.mark.parametrize("model, params", [
    ("popularity", []),
    ("sasrec", ["d_model=16"]),
    ("tiger", ["d_model=16", "d_kv=8", "d_ff=32", "n_layers=1", "n_heads=2", "encoder='hashing'", "codebook_size=8",
               "rqvae_epochs=2", "val_users=20", "beam_size=10"]),
])
def test_train_then_evaluate_checkpoint(model, params, tmp_path, capsys, monkeypatch):
    """train --out writes a checkpoint; evaluate --checkpoint scores exactly that model (same numbers as in Python)."""
    from llmrec_mini.data import load_dataset
    from llmrec_mini.data.sequences import leave_one_out
    from llmrec_mini.evaluate import evaluate
    from llmrec_mini.models import model_class

    monkeypatch.setenv("LLMREC_DATA_DIR", str(tmp_path))  # TIGER caches item embeddings there
    common = [*TINY, "--model", model]
    assert main(["train", *common, "--epochs", "1", *[a for p in params for a in ("--param", p)],
                 "--out", str(tmp_path / "m"), "--json"]) == 0
    capsys.readouterr()
    assert main(["evaluate", *common, "--checkpoint", str(tmp_path / "m"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    data = load_dataset("synthetic", size="tiny")
    expected = evaluate(model_class(model).load(tmp_path / "m", data.catalog), leave_one_out(data), progress=False)
    assert rows[0]["model"] == model and rows[0]["users"] == 200
    for metric in ("recall@5", "ndcg@5", "recall@10", "ndcg@10", "coverage@10"):
        assert rows[0][metric] == pytest.approx(float(expected[metric].iloc[0])), metric


def test_checkpoints_that_do_not_fit_are_refused(tmp_path):
    """Another dataset's checkpoint, a corrupted or truncated weights file, another model's, --out a file."""
    assert run("train", "--model", "sasrec", *TINY, "--epochs", "1", "--param", "d_model=16", "--out",
               str(tmp_path / "m"))[0] == 0
    cases = [(["--size", "default"], "trained on a catalog of 150 items; this dataset has 1,500"),
             (["--seed", "7"], "another catalog")]
    for extra, message in cases:
        code, _, err = run("evaluate", "--model", "sasrec", "--dataset", "synthetic", "--size", "tiny", *extra,
                           "--checkpoint", str(tmp_path / "m"))
        assert code == 2 and message in err and "Traceback" not in err, err
    code, _, err = run("evaluate", "--model", "tiger", *TINY, "--checkpoint", str(tmp_path / "m"))
    assert code == 2 and "holds a sasrec model, not tiger" in err
    weights = (tmp_path / "m" / "model.safetensors").read_bytes()
    for damaged in (weights[:200], b"not safetensors", weights[:-64]):
        (tmp_path / "m" / "model.safetensors").write_bytes(damaged)
        code, _, err = run("evaluate", "--model", "sasrec", *TINY, "--checkpoint", str(tmp_path / "m"))
        assert code == 2 and "model.safetensors" in err and "Traceback" not in err, err
    (tmp_path / "file").write_text("x")
    code, _, err = run("train", "--model", "sasrec", *TINY, "--out", str(tmp_path / "file"))
    assert code == 2 and "is a file" in err


def test_bench_quick_json(capsys):
    assert main(["bench", "synthetic", "--quick", "--json", "--only", "popularity", "sasrec (CE)"]) == 0
    out = json.loads(capsys.readouterr().out)[0]
    models = {r["model"] for r in out["rows"]}
    assert models == {"popularity", "sasrec (CE)"} and out["hardware"] and out["quick"]
    # the protocol: every model with seen items excluded; catalog scorers also with seen items kept
    assert sorted((r["model"], r["seen items"]) for r in out["rows"]) == [
        ("popularity", "excluded"), ("popularity", "kept"), ("sasrec (CE)", "excluded"), ("sasrec (CE)", "kept")]
    sasrec = next(r for r in out["rows"] if r["model"] == "sasrec (CE)")
    assert sasrec["epochs"] == 1 and len(sasrec["curve"]) == 1 and sasrec["params"]["epochs"] == 1


def test_bench_results_replace_only_their_block_and_plot_the_curves(tmp_path):
    from llmrec_mini.bench import write_results

    page, ru = tmp_path / "reproduction.md", tmp_path / "reproduction.ru.md"
    page.write_text("intro\n<!-- bench:start demo -->\nold\n<!-- bench:end demo -->\nprose after\n")
    ru.write_text("вступление\n<!-- bench:start demo -->\nold\n<!-- bench:end demo -->\nтекст после\n")
    row = {"model": "m", "seen items": "excluded", "recall@5": .1, "ndcg@5": .05, "recall@10": .2, "ndcg@10": .08,
           "train_s": 3.0, "epochs": 2, "best_epoch": 1, "params": {"lr": .01},
           "curve": [{"epoch": 0, "loss": 2.0, "score": .05}, {"epoch": 1, "loss": 1.5, "score": .08}]}
    out = {"benchmark": "demo", "rows": [row], "published": [], "peer": [], "command": "llmrec-mini bench demo",
           "date": "2026-01-01", "wall_s": 60, "hardware": "cpu",
           "dataset": {"users": 10, "items": 5, "interactions": 40}}
    write_results(out, docs=tmp_path)
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("prose after\n") and "old" not in text
    assert "| m | excluded | 0.1000 | 0.0500 | 0.2000 | 0.0800 | 3 s | 2 (2) |" in text  # best epoch counted from 1
    assert "Settings (beyond each model's defaults): m: `{\"lr\": 0.01}`" in text
    assert "](bench/demo-curves.svg)" in text and (tmp_path / "bench" / "demo-curves.svg").stat().st_size > 1000
    assert json.loads((tmp_path / "bench" / "demo.json").read_text())["rows"][0]["curve"] == row["curve"]
    block = text[len("intro\n"): -len("prose after\n")]  # the Russian edition gets the same generated block
    assert ru.read_text() == "вступление\n" + block + "текст после\n"


def test_partial_bench_results_merge_into_the_saved_ones(tmp_path):
    from llmrec_mini.bench import write_results

    (tmp_path / "reproduction.md").write_text("<!-- bench:start demo -->\nnot run\n<!-- bench:end demo -->\n")
    def run(models, command):
        rows = [{"model": m, "seen items": "excluded", "recall@5": .1, "ndcg@5": .05, "recall@10": .2,
                 "ndcg@10": v, "train_s": 1.0, "epochs": None, "best_epoch": None, "params": {}} for m, v in models]
        return {"benchmark": "demo", "rows": rows, "published": [], "peer": [], "command": command,
                "date": "2026-01-01", "wall_s": 60, "hardware": "cpu",
                "dataset": {"users": 10, "items": 5, "interactions": 40}}
    write_results(run([("a", .1), ("b", .2)], "bench demo"), docs=tmp_path)
    write_results(run([("b", .3)], "bench demo --only b"), docs=tmp_path, merge=True)
    saved = json.loads((tmp_path / "bench" / "demo.json").read_text())
    assert [(r["model"], r["ndcg@10"]) for r in saved["rows"]] == [("a", .1), ("b", .3)]
    assert saved["command"] == "bench demo; bench demo --only b" and saved["wall_s"] == 120
    assert "| a |" in (tmp_path / "reproduction.md").read_text()
