"""`llmrec-mini`: data statistics, training, evaluation, benchmarks and the playground from the shell.

    llmrec-mini data stats --dataset ml-100k --data-dir ../shared/data/ml-100k --json
    llmrec-mini train --model sasrec --dataset synthetic --size default --out runs/sasrec
    llmrec-mini evaluate --model sasrec --dataset synthetic --checkpoint runs/sasrec --json
    llmrec-mini bench amazon-beauty --data-root ../shared/data --json
    llmrec-mini playground

Bad input (unknown dataset or model, missing folder, malformed file) prints one message and exits 2.
"""
from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path


def _params(items: list[str]) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--param expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, help="synthetic | ml-100k | ml-1m | amazon-<category>")
    p.add_argument("--data-dir", help="folder holding the dataset's original files")
    p.add_argument("--size", default="default", help="size of the synthetic data: tiny | default | large")
    p.add_argument("--seed", type=int, default=0)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a model name (llmrec-mini models lists them)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="model or training parameter, repeatable")
    p.add_argument("--epochs", type=int)
    p.add_argument("--device", default=None, help="auto | cpu | cuda")


def _load(args):
    from .data import load_dataset
    from .data.sequences import leave_one_out

    if args.data_dir and not Path(args.data_dir).exists():
        raise FileNotFoundError(f"--data-dir {args.data_dir} does not exist")
    dataset = load_dataset(args.dataset, data_dir=args.data_dir, size=args.size, seed=args.seed)
    return dataset, leave_one_out(dataset)


def _model(args):
    from .models import get_model

    params = _params(args.param)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    if args.device:
        params["device"] = args.device
    return get_model(args.model, **params)


def _print_table(table, as_json: bool) -> None:
    if as_json:
        print(json.dumps(table.reset_index().to_dict(orient="records"), indent=2))
    else:
        print(table.round(4).to_string())


def cmd_data(args) -> None:
    from .data import load_dataset

    if args.data_dir and not Path(args.data_dir).exists():
        raise FileNotFoundError(f"--data-dir {args.data_dir} does not exist")
    stats = load_dataset(args.dataset, data_dir=args.data_dir, size=args.size, seed=args.seed).stats()
    print(json.dumps(stats, indent=2) if args.json else "\n".join(f"{k:>16}: {v}" for k, v in stats.items()))


def cmd_train(args) -> None:
    from .evaluate import evaluate

    dataset, split = _load(args)
    model = _model(args).fit(split, dataset.catalog)
    if args.out and hasattr(model, "save"):
        print(f"saved to {model.save(args.out)}", file=sys.stderr)
    _print_table(evaluate(model, split, on="valid", progress=False), args.json)


def cmd_evaluate(args) -> None:
    from .evaluate import evaluate
    from .models import model_class

    dataset, split = _load(args)
    if args.checkpoint:
        model = model_class(args.model).load(args.checkpoint, dataset.catalog)
    else:
        model = _model(args).fit(split, dataset.catalog)
    table = evaluate(model, split, ks=tuple(args.ks), exclude_seen=not args.keep_seen, progress=not args.json)
    _print_table(table, args.json)


def cmd_bench(args) -> None:
    from .bench import BENCHES, run_bench, to_markdown

    # "all" = every CPU-sized benchmark; GPU-sized ones (the paper's configs) run only by name
    names = [n for n in BENCHES if not BENCHES[n].get("gpu")] if args.name == "all" else [args.name]
    results = []
    for name in names:
        if args.name == "all" and name != "synthetic" and not args.data_root:
            print(f"skipping {name}: no --data-root", file=sys.stderr)
            continue
        results.append(run_bench(name, data_root=args.data_root, quick=args.quick, write_docs=not args.no_write,
                                 only=args.only, progress=not args.json))
    print(json.dumps(results, indent=2) if args.json else "\n\n".join(to_markdown(r) for r in results))


def cmd_models(args) -> None:
    from .models import MODELS

    print("\n".join(sorted(MODELS)))


def cmd_playground(args) -> None:
    app = Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py"
    if not app.exists():
        raise FileNotFoundError(f"the playground is not found at {app} (run from a source checkout)")
    sys.exit(subprocess.call([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
                              "--server.headless", "true"]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmrec-mini", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="dataset tools").add_subparsers(dest="action", required=True)
    stats = data.add_parser("stats", help="print dataset statistics")
    _dataset_args(stats)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_data)
    train = sub.add_parser("train", help="train a model and save a checkpoint")
    _dataset_args(train)
    _model_args(train)
    train.add_argument("--out", help="checkpoint folder")
    train.add_argument("--json", action="store_true")
    train.set_defaults(func=cmd_train)
    ev = sub.add_parser("evaluate", help="evaluate a model on the test split (trains one if no checkpoint)")
    _dataset_args(ev)
    _model_args(ev)
    ev.add_argument("--checkpoint", help="folder written by `train --out`")
    ev.add_argument("--ks", type=int, nargs="+", default=[5, 10])
    ev.add_argument("--keep-seen", action="store_true", help="do not exclude history items (RecBole's protocol)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_evaluate)
    bench = sub.add_parser("bench", help="run a benchmark and write its results to docs/reproduction.md")
    bench.add_argument("name", help="synthetic | ml-100k | amazon-beauty | amazon-beauty-paper (GPU) | all (the CPU ones)")
    bench.add_argument("--data-root", help="folder holding ml-100k/ and amazon2014-beauty/ (e.g. ../shared/data)")
    bench.add_argument("--quick", action="store_true", help="1 epoch (tiny data for synthetic), nothing written: a smoke run")
    bench.add_argument("--only", nargs="+", help="run only these model labels or names (their rows replace those saved)")
    bench.add_argument("--no-write", action="store_true", help="do not update docs/")
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=cmd_bench)
    sub.add_parser("models", help="list model names").set_defaults(func=cmd_models)
    pg = sub.add_parser("playground", help="start the Streamlit playground")
    pg.add_argument("--port", type=int, default=8501)
    pg.set_defaults(func=cmd_playground)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .data import DataError

    try:
        args.func(args)
    except (DataError, ValueError, FileNotFoundError, KeyError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"llmrec-mini: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
