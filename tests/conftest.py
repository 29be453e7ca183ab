"""Fixtures shared by several test modules."""
import pytest


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's torch work on one thread (small models: less overhead, steadier timings)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def shop():
    """The built-in shop at its ``small`` size (600 users x 200 items) and its leave-one-out split: the small data that
    several models' quality tests train on (a module may override it with its own ``shop``)."""
    from llmrec_mini.data.sequences import leave_one_out
    from llmrec_mini.data.synthetic import make_synthetic

    data = make_synthetic("small", seed=0)
    return data, leave_one_out(data)


@pytest.fixture
def cli_vs_popularity(capsys):
    """``cli_vs_popularity(model, *args, size=..., ks=...)`` runs ``llmrec-mini evaluate --model MODEL
    --dataset synthetic --size SIZE ARGS --ks KS --json`` through the CLI and popularity on the same
    split, and returns (the CLI's row, popularity's row): the "beats popularity through the CLI" tests."""
    import json

    from llmrec_mini.cli import main
    from llmrec_mini.data import load_dataset
    from llmrec_mini.data.sequences import leave_one_out
    from llmrec_mini.evaluate import evaluate
    from llmrec_mini.models import get_model

    def run(model: str, *args: str, size: str = "default", ks=(5, 10)):
        assert main(["evaluate", "--model", model, "--dataset", "synthetic", "--size", size, *args,
                     "--ks", *map(str, ks), "--json"]) == 0
        row = json.loads(capsys.readouterr().out)[0]
        split = leave_one_out(load_dataset("synthetic", size=size))
        pop = evaluate(get_model("popularity").fit(split), split, ks=ks, progress=False).iloc[0].to_dict()
        print(f"\nCLI {model}: " + ", ".join(f"{k} {row[k]:.4f} (popularity {pop[k]:.4f})"
                                             for k in (f"ndcg@{ks[-1]}", f"recall@{ks[-1]}")))
        assert row["model"] == model and row["users"] == len(split.test)
        return row, pop

    return run
