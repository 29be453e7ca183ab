"""`run_bench(name)`: train and evaluate every row of a benchmark with the shared harness.

Every model is scored with seen items excluded (full ranking, the S3-Rec/TIGER protocol); models
that score the whole catalog are also scored with seen items kept (RecBole's protocol), so they can
be set beside the RecBole peer run. The result is a JSON-able dict that `report` writes out.
"""
from __future__ import annotations

import importlib
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from .registry import BENCHES, DATA_FOLDERS, METRICS, PEER


def hardware() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads){gpu}"


def _command(name: str, data_root: str | None) -> str:
    if sys.argv[0].endswith("llmrec-mini"):
        return "llmrec-mini " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    return f"llmrec-mini bench {name}" + (f" --data-root {data_root}" if data_root else "")


def run_bench(name: str, data_root: str | None = None, quick: bool = False, write_docs: bool = True,
              only: list[str] | None = None, progress: bool = True) -> dict:
    from ..data import DataError, load_dataset
    from ..data.sequences import leave_one_out
    from ..evaluate import evaluate
    from ..models import get_model, model_class
    from .report import write_results

    if name not in BENCHES:
        raise ValueError(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHES)}, all")
    bench = BENCHES[name]
    if bench.runner:  # a benchmark with its own runner and report (e.g. attention-scaling)
        return importlib.import_module(bench.runner).run(quick=quick, write_docs=write_docs, progress=progress,
                                                         only=only)
    rows = [r for r in bench.rows if not only or r.label in only or r.model in only]
    if not rows:
        raise ValueError(f"--only {' '.join(only)} matches no row of {name}: "
                         f"{', '.join(r.label for r in bench.rows)}")
    data_dir = None
    if bench.dataset in DATA_FOLDERS:
        if not data_root:
            raise DataError(f"benchmark {name} needs --data-root: the folder holding {DATA_FOLDERS[bench.dataset]}/")
        data_dir = str(Path(data_root) / DATA_FOLDERS[bench.dataset])
    t0 = time.time()
    # quick mode is a smoke run: the tiny built-in data and one epoch per model
    dataset = load_dataset(bench.dataset, data_dir=data_dir, download=False, size="tiny" if quick else "default")
    split = leave_one_out(dataset)
    out_rows, published = [], []
    load_s = time.time() - t0
    for row in rows:
        cls = model_class(row.model)
        params = {**(cls.presets[row.preset] if row.preset else {}), **row.overrides, "progress": progress}
        if quick:
            params.update(epochs=1, max_minutes=None, max_steps=None)
        model = get_model(row.model, **params)
        t1 = time.time()
        model.fit(split, dataset.catalog)
        train_s = time.time() - t1
        res = getattr(model, "result", None)
        # what serving costs beyond ranking quality (LinkedIn: catalog embedding time, exact vs approximate kNN)
        serving = model.serving_costs(split) if hasattr(model, "serving_costs") else None
        published += [p for p in cls.published if p.dataset == bench.dataset and p not in published]
        for seen in ((True, False) if cls.capabilities.scores_catalog else (True,)):
            t2 = time.time()
            table = evaluate(model, split, exclude_seen=seen, progress=False, name=row.label,
                             max_users=row.eval_users)
            eval_s = time.time() - t2
            result = {"model": row.label, "seen items": "excluded" if seen else "kept",
                      **{m: round(float(table[m].iloc[0]), 4) for m in METRICS}, "users": int(table["users"].iloc[0]),
                      "train_s": round(train_s, 1), "eval_s": round(eval_s, 1), "load_s": round(load_s, 1),
                      "epochs": (len(res.history) if res else None), "best_epoch": (res.best_epoch if res else None),
                      "preset": row.preset, "params": {k: v for k, v in params.items() if k != "progress"},
                      "settings": model.settings(),  # every resolved setting, defaults included
                      # the training curve: mean loss, validation NDCG@10 and seconds per epoch
                      "curve": [{k: round(float(v), 4) for k, v in h.items()} for h in (res.history if res else [])]}
            stages = getattr(model, "stage_results", None) or {}  # LLM stages before training (PLUM: lm, cpt)
            if stages:
                result["stages"] = {k: {"steps": r.steps, "seconds": round(r.seconds, 1)} for k, r in stages.items()}
            if res is not None:
                result["steps"] = res.steps
            if serving:
                result["serving"] = serving
            if "invalid@10" in table:
                result["invalid@10"] = round(float(table["invalid@10"].iloc[0]), 4)
            out_rows.append(result)
    out = {"benchmark": name, "dataset": dataset.stats(), "rows": out_rows,
           "published": [{"model": p.label, "source": p.source, **p.metrics} for p in published],
           "peer": PEER.get(name, []), "curve_x": bench.curve_x, "command": _command(name, data_root),
           "hardware": hardware(),
           "wall_s": round(time.time() - t0, 1), "quick": quick, "date": time.strftime("%Y-%m-%d")}
    if write_docs and not quick:
        write_results(out, merge=bool(only))  # a partial run (--only) keeps the other models' rows
    return out
