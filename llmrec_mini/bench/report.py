"""Benchmarks: train and evaluate models at full size on one dataset and publish the results.

`run_bench(name)` loads the dataset, makes the leave-one-out split, trains every model of the
benchmark, evaluates it with the shared harness (full-catalog ranking, seen items excluded, and
also with seen items kept, RecBole's protocol), and writes a Markdown table with the command,
wall time and hardware into docs/reproduction.md between ``<!-- bench:start NAME -->`` markers,
plus the raw numbers to docs/bench/NAME.json. Published numbers are listed beside ours, labelled.
"""
from __future__ import annotations

import json
import os
import platform
import re
import shlex
import sys
import time
from pathlib import Path

# TIGER paper (Rajput et al., NeurIPS 2023), Table 1, full ranking, leave-one-out [verified].
PUBLISHED = {
    "amazon-beauty": [
        {"model": "SASRec (TIGER Tab. 1, BCE)", "recall@5": .0387, "ndcg@5": .0249, "recall@10": .0605, "ndcg@10": .0318},
        {"model": "TIGER (TIGER Tab. 1)", "recall@5": .0454, "ndcg@5": .0321, "recall@10": .0648, "ndcg@10": .0384},
    ],
}
# RecBole SASRec (CE) measured on this kind of machine (../shared/research/peer_recbole.md); seen items kept.
PEER = {
    "ml-100k": [{"model": "RecBole SASRec CE (peer run, seen kept)", "recall@5": .0689, "ndcg@5": .0428,
                 "recall@10": .1251, "ndcg@10": .0609}],
    "amazon-beauty": [{"model": "RecBole SASRec CE (peer run, 20 epochs, seen kept)", "recall@5": .0529,
                       "ndcg@5": .0318, "recall@10": .0803, "ndcg@10": .0407}],
}

# TIGER sized for a 2-core CPU (the paper's sizes are in models/tiger.py PAPER_CONFIG and below)
TIGER_CPU = {"d_model": 64, "n_layers": 2, "n_heads": 4, "d_kv": 16, "d_ff": 256, "dropout": 0.1, "lr": 0.005,
             "warmup_steps": 200, "schedule": "inverse_sqrt", "batch_size": 128, "patience": 3}

# name -> dataset and the models to train: (label, registry name, params). Quick mode shrinks epochs.
BENCHES: dict[str, dict] = {
    "synthetic": {"dataset": "synthetic", "models": [
        ("popularity", "popularity", {}),
        ("sasrec (CE)", "sasrec", {"epochs": 40, "patience": 5}),
        ("tiger", "tiger", TIGER_CPU | {"epochs": 12}),
    ]},
    "ml-100k": {"dataset": "ml-100k", "models": [
        ("popularity", "popularity", {}),
        ("sasrec (CE)", "sasrec", {"epochs": 200, "patience": 10, "dropout": 0.5, "max_len": 50, "batch_size": 128,
                                   "lr": 1e-3, "max_minutes": 12}),
    ]},
    "amazon-beauty": {"dataset": "amazon-beauty", "models": [
        ("popularity", "popularity", {}),
        ("sasrec (CE)", "sasrec", {"epochs": 200, "patience": 10, "dropout": 0.5, "max_len": 50, "batch_size": 128,
                                   "lr": 2e-3, "max_minutes": 35}),
        ("sasrec (BCE)", "sasrec", {"loss": "bce", "epochs": 200, "patience": 10, "dropout": 0.5, "max_len": 50,
                                    "batch_size": 128, "lr": 1e-3, "max_minutes": 30}),
        # the paper's 3x256 codes; width and depth of TIGER_CPU (paper size: ~27 min per epoch on 2 cores)
        ("tiger (CPU config)", "tiger", TIGER_CPU | {"text_fields": ["title", "categories"], "codebook_size": 256,
                                                      "epochs": 50, "patience": 5, "val_users": 2000,
                                                      "max_minutes": 60}),
    ]},
    # The paper's sizes (TIGER §4): 4+4 layers, d_model 128, 6x64 heads, d_ff 1024, 3x256 codes, batch 256,
    # lr 0.01 with inverse-sqrt decay after 10k warm-up steps, 200k steps (~390 epochs here). Needs a GPU.
    "amazon-beauty-paper": {"dataset": "amazon-beauty", "gpu": True, "models": [
        ("tiger (paper config)", "tiger", {"d_model": 128, "n_layers": 4, "n_heads": 6, "d_kv": 64, "d_ff": 1024,
                                           "dropout": 0.1, "levels": 3, "codebook_size": 256, "n_user_buckets": 2000,
                                           "max_history": 20, "batch_size": 256, "lr": 0.01, "warmup_steps": 10_000,
                                           "schedule": "inverse_sqrt", "epochs": 400, "patience": 20,
                                           "decoding": "filter", "text_fields": ["title", "categories"]}),
    ]},
}
DATA_FOLDERS = {"ml-100k": "ml-100k", "amazon-beauty": "amazon2014-beauty/raw"}
METRICS = ("recall@5", "ndcg@5", "recall@10", "ndcg@10")


def hardware() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads){gpu}"


def run_bench(name: str, data_root: str | None = None, quick: bool = False, write_docs: bool = True,
              only: list[str] | None = None, progress: bool = True) -> dict:
    from .data import DataError, load_dataset
    from .data.sequences import leave_one_out
    from .evaluate import evaluate
    from .models import get_model

    if name not in BENCHES:
        raise ValueError(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHES)}, all")
    spec = BENCHES[name]
    data_dir = None
    if spec["dataset"] in DATA_FOLDERS:
        if not data_root:
            raise DataError(f"benchmark {name} needs --data-root: the folder holding {DATA_FOLDERS[spec['dataset']]}/")
        data_dir = str(Path(data_root) / DATA_FOLDERS[spec["dataset"]])
    t0 = time.time()
    # quick mode is a smoke run: the tiny built-in data and one epoch per model
    dataset = load_dataset(spec["dataset"], data_dir=data_dir, download=False, size="tiny" if quick else "default")
    split = leave_one_out(dataset)
    rows = []
    for label, model_name, params in spec["models"]:
        if only and label not in only and model_name not in only:
            continue
        params = dict(params, progress=progress)
        if quick:
            params.update(epochs=1, max_minutes=None)
        model = get_model(model_name, **params)
        t1 = time.time()
        model.fit(split, dataset.catalog)
        train_s = time.time() - t1
        res = getattr(model, "result", None)
        # generative models are scored once (seen excluded): keeping seen items changes their decoding
        for seen in ((True, False) if model_name != "tiger" else (True,)):
            table = evaluate(model, split, exclude_seen=seen, progress=False, name=label)
            row = {"model": label, "seen items": "excluded" if seen else "kept",
                   **{m: round(float(table[m].iloc[0]), 4) for m in METRICS},
                   "train_s": round(train_s, 1),
                   "epochs": (len(res.history) if res else None), "best_epoch": (res.best_epoch if res else None),
                   "params": {k: v for k, v in params.items() if k != "progress"},
                   # the training curve: mean loss, validation NDCG@10 and seconds per epoch
                   "curve": [{k: round(float(v), 4) for k, v in h.items()} for h in (res.history if res else [])]}
            if getattr(model, "last_invalid_rate", None) is not None:
                row["invalid@10"] = round(model.last_invalid_rate, 4)
            rows.append(row)
    out = {"benchmark": name, "dataset": dataset.stats(), "rows": rows,
           "published": PUBLISHED.get(name, []), "peer": PEER.get(name, []),
           "command": "llmrec-mini " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[0].endswith(
               "llmrec-mini") else f"llmrec-mini bench {name}" + (f" --data-root {data_root}" if data_root else ""),
           "hardware": hardware(), "wall_s": round(time.time() - t0, 1), "quick": quick,
           "date": time.strftime("%Y-%m-%d")}
    if write_docs and not quick:
        write_results(out, merge=bool(only))  # a partial run (--only) keeps the other models' rows
    return out


def to_markdown(out: dict) -> str:
    st = out["dataset"]
    lines = [f"Command: `{out['command']}`  ",
             f"Date {out['date']}; wall time {out['wall_s'] / 60:.1f} min; hardware: {out['hardware']}.  ",
             f"Data: {st['users']:,} users, {st['items']:,} items, {st['interactions']:,} interactions; "
             "leave-one-out, full-catalog ranking.", "",
             "| model | seen items | R@5 | N@5 | R@10 | N@10 | train time | epochs (best epoch) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in out["rows"]:
        ep = f"{r['epochs']} ({r['best_epoch'] + 1})" if r["epochs"] else "-"  # counted from 1 on the page
        lines.append(f"| {r['model']} | {r['seen items']} | " + " | ".join(f"{r[m]:.4f}" for m in METRICS)
                     + f" | {r['train_s']:.0f} s | {ep} |")
    for r in out["published"] + out["peer"]:
        lines.append(f"| *{r['model']}* | {'kept' if 'kept' in r['model'] else 'excluded'} | "
                     + " | ".join(f"{r[m]:.4f}" for m in METRICS) + " | - | - |")
    for r in out["rows"]:
        if r["seen items"] == "excluded" and r.get("curve"):
            points = ", ".join(f"{int(h['epoch']) + 1}: {h['loss']:.3f} / {h.get('score', float('nan')):.4f}"
                               for h in r["curve"])
            lines += ["", f"Training curve of {r['model']} (epoch: train loss / validation NDCG@10): {points}."]
    lines += ["", "Hyperparameters: " + "; ".join(
        f"{r['model']}: `{json.dumps(r['params'])}`" for r in out["rows"] if r["seen items"] == "excluded")]
    return "\n".join(lines)


def merge_results(old: dict, new: dict) -> dict:
    """``old`` with ``new``'s rows (same model label = replaced), commands joined, wall times summed."""
    labels = {r["model"] for r in new["rows"]}
    return {**new, "rows": [r for r in old["rows"] if r["model"] not in labels] + new["rows"],
            "command": f"{old['command']}; {new['command']}", "wall_s": round(old["wall_s"] + new["wall_s"], 1)}


def write_results(out: dict, docs: Path | None = None, merge: bool = False) -> None:
    """docs/bench/NAME.json, the curves SVG and the page block; ``merge`` adds to the results already there."""
    docs = docs or Path(__file__).resolve().parents[1] / "docs"
    (docs / "bench").mkdir(parents=True, exist_ok=True)
    saved = docs / "bench" / f"{out['benchmark']}.json"
    if merge and saved.exists():
        out = merge_results(json.loads(saved.read_text()), out)
    saved.write_text(json.dumps(out, indent=2))
    block = to_markdown(out)
    if plot_curves(out, docs / "bench" / f"{out['benchmark']}-curves.svg"):
        block += f"\n\n![Training curves of {out['benchmark']}](bench/{out['benchmark']}-curves.svg)"
    page = docs / "reproduction.md"
    if not page.exists():
        return
    text, name = page.read_text(), re.escape(out["benchmark"])
    pattern = re.compile(rf"(<!-- bench:start {name} -->\n).*?(\n<!-- bench:end {name} -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"docs/reproduction.md has no bench:start/bench:end markers for {out['benchmark']}")
    page.write_text(pattern.sub(lambda m: m.group(1) + block + m.group(2), text))


def plot_curves(out: dict, path: Path) -> bool:
    """Train loss and validation NDCG@10 per epoch of every trained model, as an SVG; False if none."""
    rows = [r for r in out["rows"] if r["seen items"] == "excluded" and r.get("curve")]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(9, 3.2))
    for r in rows:
        epochs = [h["epoch"] + 1 for h in r["curve"]]
        ax_loss.plot(epochs, [h["loss"] for h in r["curve"]], marker=".", label=r["model"])
        ax_val.plot(epochs, [h.get("score", float("nan")) for h in r["curve"]], marker=".", label=r["model"])
    ax_loss.set(xlabel="epoch", ylabel="train loss (log scale)", title="training loss", yscale="log")  # losses differ
    ax_val.set(xlabel="epoch", ylabel="NDCG@10", title="validation NDCG@10")
    ax_val.legend(fontsize=8)
    fig.tight_layout()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "bench"}):  # text as text; stable ids
        fig.savefig(path, format="svg", metadata={"Date": None})  # no timestamp: reruns diff cleanly
    plt.close(fig)
    return True
