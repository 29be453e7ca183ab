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


@pytest.mark.parametrize("args, message", [
    (["data", "stats", "--dataset", "nope"], "unknown dataset"),
    (["data", "stats", "--dataset", "ml-100k", "--data-dir", "/no/such/folder"], "does not exist"),
    (["evaluate", "--model", "nope", "--dataset", "synthetic", "--size", "tiny"], "unknown model"),
    (["train", "--model", "sasrec", "--dataset", "synthetic", "--size", "tiny", "--param", "oops"], "key=value"),
    (["bench", "nope"], "unknown benchmark"),
])
def test_bad_input_is_one_clear_message(args, message):
    code, out, err = run(*args)
    assert code == 2 and message in err and "Traceback" not in err


def test_malformed_file_is_one_clear_message(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t5\t100\nnot a line\n")
    (tmp_path / "u.item").write_text("2|Movie (1995)|01-Jan-1995||url|" + "|".join(["0"] * 19) + "\n")
    code, out, err = run("data", "stats", "--dataset", "ml-100k", "--data-dir", str(tmp_path))
    assert code == 2 and "Traceback" not in err and "u.data" in err


@pytest.mark.parametrize("model, params", [
    ("sasrec", ["d_model=16"]),
    ("tiger", ["d_model=16", "d_kv=8", "d_ff=32", "n_layers=1", "n_heads=2", "encoder=hashing", "codebook_size=8",
               "rqvae_epochs=2", "val_users=20", "beam_size=10"]),
])
def test_train_then_evaluate_checkpoint(model, params, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LLMREC_DATA_DIR", str(tmp_path))  # TIGER caches item embeddings there
    common = ["--dataset", "synthetic", "--size", "tiny", "--model", model]
    assert main(["train", *common, "--epochs", "1", *[a for p in params for a in ("--param", p)],
                 "--out", str(tmp_path / "m"), "--json"]) == 0
    capsys.readouterr()
    assert main(["evaluate", *common, "--checkpoint", str(tmp_path / "m"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["model"] == model and 0 <= rows[0]["ndcg@10"] <= 1 and "recall@5" in rows[0]


def test_bench_quick_json(capsys):
    assert main(["bench", "synthetic", "--quick", "--json", "--only", "popularity", "sasrec (CE)"]) == 0
    out = json.loads(capsys.readouterr().out)[0]
    models = {r["model"] for r in out["rows"]}
    assert {"popularity", "sasrec (CE)"} <= models and out["hardware"]
