"""`llmrec-mini`: data statistics, training, evaluation, benchmarks and the playground from the shell.

    llmrec-mini data stats --dataset ml-100k --data-dir ../shared/data/ml-100k --json
    llmrec-mini train --model sasrec --dataset synthetic --size default --out runs/sasrec
    llmrec-mini train --model tiger --preset cpu --dataset amazon-beauty --data-dir ../shared/data/amazon2014-beauty/raw
    llmrec-mini evaluate --model sasrec --dataset synthetic --checkpoint runs/sasrec --json
    llmrec-mini bench amazon-beauty --data-root ../shared/data --json
    llmrec-mini compare --dataset synthetic --size tiny --models popularity sasrec --json
    llmrec-mini models
    llmrec-mini playground

Training scales out through accelerate: ``accelerate launch --num_processes 2 -m llmrec_mini.cli
train ...`` runs data parallel on two processes (add ``--cpu`` without GPUs); only the first
process prints and saves. Bad input (an unknown dataset, model, preset or setting, a bad value, a
missing folder, a malformed file, a checkpoint that does not fit) prints one message and exits 2.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
from pathlib import Path


def _is_main_process() -> bool:
    """False on the other ranks of an `accelerate launch` run (they train, the first one reports)."""
    return int(os.environ.get("RANK", "0")) == 0


def _params(items: list[str]) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--param expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value  # a plain string (typed settings reject it where a number is needed)
    return out


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, help="synthetic | ml-100k | ml-1m | amazon-<category>")
    p.add_argument("--data-dir", help="folder holding the dataset's original files (real datasets)")
    p.add_argument("--size", default="default", choices=("tiny", "small", "default", "large"),
                   help="size of the built-in data (default: %(default)s; small: synthetic only)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the synthetic data and of training (default: %(default)s)")


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a model name (`llmrec-mini models` lists them)")
    p.add_argument("--preset", help="a named configuration of the model, e.g. tiger's cpu or paper "
                                    "(`llmrec-mini models` lists them); --param values go on top")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a model or training setting, repeatable (e.g. --param d_model=128 --param lr=0.001)")
    p.add_argument("--epochs", type=int, help="training epochs (overrides the model's default)")
    p.add_argument("--device", default=None, choices=("auto", "cpu", "cuda"), help="where to train (default: auto)")


def _load(args):
    from .data import load_dataset
    from .data.sequences import leave_one_out

    dataset = load_dataset(args.dataset, data_dir=args.data_dir, size=args.size, seed=args.seed)
    return dataset, leave_one_out(dataset)


def _model(args):
    from .models import get_model

    params = {"seed": args.seed, **_params(args.param)}
    if args.epochs is not None:
        params["epochs"] = args.epochs
    if args.device:
        params["device"] = args.device
    params.setdefault("progress", not getattr(args, "json", False))
    return get_model(args.model, preset=args.preset, **params)


def _print_table(table, as_json: bool) -> None:
    if as_json:
        print(json.dumps(table.reset_index().to_dict(orient="records"), indent=2))
    else:
        print(table.round(4).to_string())


def cmd_data(args) -> None:
    from .data import load_dataset

    stats = load_dataset(args.dataset, data_dir=args.data_dir, size=args.size, seed=args.seed).stats()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print("\n".join(f"{k:>16}: {round(v, 4) if isinstance(v, float) else v}" for k, v in stats.items()))


def cmd_train(args) -> None:
    from .evaluate import evaluate

    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} is a file; give a folder for the checkpoint")
    dataset, split = _load(args)
    model = _model(args).fit(split, dataset.catalog)
    if not _is_main_process():
        return
    res = getattr(model, "result", None)
    if res is not None:
        print(f"trained {len(res.history)} epoch(s), {res.steps} steps on {res.num_processes} process(es) in "
              f"{res.seconds:.1f} s; best epoch {res.best_epoch + 1}", file=sys.stderr)
    if args.out:
        print(f"saved to {model.save(args.out)}", file=sys.stderr)
    _print_table(evaluate(model, split, on="valid", progress=False), args.json)


def cmd_evaluate(args) -> None:
    from .evaluate import evaluate
    from .metrics import check_ks
    from .models import model_class

    ks = check_ks(args.ks)
    dataset, split = _load(args)
    if args.checkpoint:
        if args.preset or args.param or args.epochs is not None:
            raise ValueError("--checkpoint loads a trained model: --preset, --param and --epochs do not apply")
        model = model_class(args.model).load(args.checkpoint, dataset.catalog)
    else:  # train first (validation excludes seen items whatever the test protocol: it selects better epochs)
        model = _model(args).fit(split, dataset.catalog)
        if not _is_main_process():
            return
    table = evaluate(model, split, ks=ks, exclude_seen=not args.keep_seen, progress=not args.json)
    _print_table(table, args.json)


def cmd_bench(args) -> None:
    from .bench import BENCHES, run_bench, to_markdown

    # "all" = every CPU-sized benchmark; GPU-sized ones (the papers' configs) run only by name
    names = [n for n, b in BENCHES.items() if not b.gpu] if args.name == "all" else [args.name]
    results = []
    for name in names:
        needs_data = name in BENCHES and BENCHES[name].dataset not in ("synthetic", "none")  # built-in data or none
        if args.name == "all" and needs_data and not args.data_root:
            print(f"skipping {name}: no --data-root", file=sys.stderr)
            continue
        results.append(run_bench(name, data_root=args.data_root, quick=args.quick, write_docs=not args.no_write,
                                 only=args.only, progress=not args.json))
    print(json.dumps(results, indent=2) if args.json else "\n\n".join(to_markdown(r) for r in results))


def cmd_compare(args) -> None:
    from .compare import check_models, compare

    models = check_models(args.models)  # before loading data: a bad name fails at once
    if args.max_users is not None and args.max_users < 1:
        raise ValueError(f"--max-users must be a positive integer, got {args.max_users}")
    dataset, split = _load(args)
    table = compare(split, dataset.catalog, models=models, quick=args.quick, max_users=args.max_users,
                    seed=args.seed, progress=not args.json)
    if args.json:
        rows = table.reset_index().to_dict(orient="records")  # NaN (no invalid IDs) becomes null
        print(json.dumps([{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows],
                         indent=2))
    else:
        _print_table(table, False)


def cmd_models(args) -> None:
    from .models import MODELS, model_class

    rows = []
    for name in sorted(MODELS):
        cls = model_class(name)
        caps = [k.replace("_", " ") for k, v in vars(cls.capabilities).items() if v]
        rows.append({"model": name, "description": cls.description, "presets": sorted(cls.presets),
                     "capabilities": caps})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        presets = f"  [presets: {', '.join(r['presets'])}]" if r["presets"] else ""
        print(f"{r['model']:<12} {r['description']}{presets}")


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
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(func=cmd_data)
    train = sub.add_parser("train", help="train a model (validation metrics printed) and save a checkpoint")
    _dataset_args(train)
    _model_args(train)
    train.add_argument("--out", help="checkpoint folder (created; config.json, model.safetensors, ...)")
    train.add_argument("--json", action="store_true", help="machine-readable output, no progress bars")
    train.set_defaults(func=cmd_train)
    ev = sub.add_parser("evaluate", help="evaluate a model on the test split (trains one if no checkpoint)")
    _dataset_args(ev)
    _model_args(ev)
    ev.add_argument("--checkpoint", help="folder written by `train --out`")
    ev.add_argument("--ks", type=int, nargs="+", default=[5, 10], help="cut-offs K of the metrics (default: 5 10)")
    ev.add_argument("--keep-seen", action="store_true",
                    help="do not exclude history items from the ranking (RecBole's protocol)")
    ev.add_argument("--json", action="store_true", help="machine-readable output, no progress bars")
    ev.set_defaults(func=cmd_evaluate)
    bench = sub.add_parser("bench", help="run a benchmark and write its results to docs/reproduction.md")
    bench.add_argument("name", help="synthetic | ml-100k | ml-100k-speed | amazon-beauty | amazon-beauty-paper (GPU) | "
                                    "attention-scaling | all (the CPU ones)")
    bench.add_argument("--data-root", help="folder holding ml-100k/ and amazon2014-beauty/ (e.g. ../shared/data)")
    bench.add_argument("--quick", action="store_true", help="1 epoch (tiny data for synthetic), nothing written: a smoke run")
    bench.add_argument("--only", nargs="+", help="run only these model labels or names (their rows replace those saved)")
    bench.add_argument("--no-write", action="store_true", help="do not update docs/")
    bench.add_argument("--json", action="store_true", help="machine-readable output")
    bench.set_defaults(func=cmd_bench)
    cmp = sub.add_parser("compare", help="train every candidate generator (or --models) and compare quality and cost")
    _dataset_args(cmp)
    cmp.add_argument("--models", nargs="+", help="candidate generators to compare (default: all of them)")
    cmp.add_argument("--quick", action="store_true", help="the models' tiny presets only (seconds per model)")
    cmp.add_argument("--max-users", type=int, help="evaluate on a random subset of this many test users")
    cmp.add_argument("--json", action="store_true", help="machine-readable output (a list of rows), no progress")
    cmp.set_defaults(func=cmd_compare)
    models = sub.add_parser("models", help="list the models, what each is, and its presets")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.set_defaults(func=cmd_models)
    pg = sub.add_parser("playground", help="start the Streamlit playground")
    pg.add_argument("--port", type=int, default=8501, help="port to serve on (default: %(default)s)")
    pg.set_defaults(func=cmd_playground)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .data import DataError

    try:
        args.func(args)
    except (DataError, ValueError, KeyError, OSError) as err:  # CheckpointError and LLMError are ValueErrors
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"llmrec-mini: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
