"""Where one epoch of TIGER's CPU config goes on Amazon Beauty, and what the alternatives cost.

    python scripts/profile_tiger.py --data-root ../shared/data [--steps 40] [--json]

Builds the semantic IDs once (the CPU preset's RQ-VAE, a few minutes), then times, for each variant
of the model, ``--steps`` optimizer steps on the length-bucketed batches the trainer itself draws
(`train.EpochBatches`, the first batches of epoch 0, after two warm-up steps), the collation of a
batch, and the validation beam search on 500 users. An epoch's estimate is the measured step time
times the number of batches. Variants: the CPU preset as is (transformers runs T5 on PyTorch's
SDPA attention by default); T5's eager attention path; no dropout; batches of 256; a wider model; and
``torch.compile(dynamic=True)`` (its first steps include compilation: it is the cost a short run
pays). Run it on an otherwise idle machine: the numbers are wall-clock.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

VARIANTS = {
    "cpu preset (SDPA attention)": {},
    "T5's eager attention": {"attn": "eager"},
    "no dropout": {"dropout": 0.0},
    "batch 256": {"batch_size": 256},
    "wider: 128-d, 3+3 layers (1.8 M)": {"d_model": 128, "n_layers": 3, "n_heads": 4, "d_kv": 32, "d_ff": 512},
    "torch.compile (dynamic)": {"compile": True},
}


def time_variant(split, sids, steps: int, attn: str | None = None, compile: bool = False, **over) -> dict:
    import torch

    from llmrec_mini.models import get_model
    from llmrec_mini.train import EpochBatches
    from llmrec_mini.utils import set_seed

    m = get_model("tiger", preset="cpu", progress=False, seed=0, semantic_ids=sids, **over)
    m.n_items = split.n_items
    m.prepare(split, None)
    set_seed(0)
    m.module = m.build()
    if attn:  # transformers picks SDPA for T5 by default; T5 reads the setting at every forward
        m.module.config._attn_implementation = attn
    module = torch.compile(m.module, dynamic=True) if compile else m.module
    ex = m.examples(split)
    sampler = EpochBatches(len(ex), m.train_config.batch_size, 0, m.example_lengths(ex))
    it = iter(sampler)
    idx = [next(it) for _ in range(steps + 2)]
    t0 = time.perf_counter()
    batches = [m.collate([ex[i] for i in ix]) for ix in idx]
    collate_ms = (time.perf_counter() - t0) / len(idx) * 1000
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3)
    module.train()

    def step(b):
        m.loss(module, b).backward()
        opt.step()
        opt.zero_grad()

    for b in batches[:2]:
        step(b)
    t0 = time.perf_counter()
    for b in batches[2:]:
        step(b)
    step_ms = (time.perf_counter() - t0) / steps * 1000
    m.module.eval()
    val = split.valid.subset(500, seed=0)
    t0 = time.perf_counter()
    m.recommend(val.histories, k=10, users=val.users)
    beam_s = time.perf_counter() - t0
    n = len(sampler)
    return {"params_M": round(sum(p.numel() for p in m.module.parameters()) / 1e6, 2),
            "mean_tokens": round(float(np.mean([b[0].shape[1] for b in batches])), 1), "step_ms": round(step_ms, 1),
            "collate_ms": round(collate_ms, 2), "batches": n,
            "epoch_min": round(n * (step_ms + collate_ms) / 60000, 1), "beam_s_per_1000_users": round(beam_s * 2, 1)}


def main() -> None:
    import torch

    from llmrec_mini.data import load_dataset
    from llmrec_mini.data.sequences import leave_one_out
    from llmrec_mini.models import get_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True, help="folder holding amazon2014-beauty/raw")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--only", nargs="+", choices=list(VARIANTS))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    folder = Path(args.data_root) / "amazon2014-beauty" / "raw"
    if not folder.is_dir():
        raise SystemExit(f"no Amazon Beauty files at {folder}")
    ds = load_dataset("amazon-beauty", data_dir=str(folder), download=False)
    split = leave_one_out(ds)
    t0 = time.perf_counter()
    m = get_model("tiger", preset="cpu", progress=False, seed=0)
    m.prepare(split, ds.catalog)
    sid_s = time.perf_counter() - t0
    rows = {}
    for name in args.only or VARIANTS:
        rows[name] = time_variant(split, m.sids, args.steps, **VARIANTS[name])
        print(name, rows[name], flush=True)
    out = {"command": "python scripts/profile_tiger.py --data-root ../shared/data", "sid_build_s": round(sid_s, 1),
           "threads": torch.get_num_threads(), "steps": args.steps, "rows": rows}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"\nsemantic IDs built in {sid_s:.0f} s; {torch.get_num_threads()} torch threads\n")
        print("| variant | params (M) | mean tokens | ms/step | collate ms | est. min/epoch | beam s/1000 users |")
        print("|---|---|---|---|---|---|---|")
        for name, r in rows.items():
            print(f"| {name} | {r['params_M']} | {r['mean_tokens']} | {r['step_ms']} | {r['collate_ms']} | "
                  f"{r['epoch_min']} | {r['beam_s_per_1000_users']} |")


if __name__ == "__main__":
    main()
