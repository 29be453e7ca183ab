"""The ``plum-cost`` benchmark: what the LLM path of PLUM costs on this CPU.

``llmrec-mini bench plum-cost [--quick] [--json] [--only tiny smollm2]``

For each language model (``tiny``: PLUM's default tiny Llama; ``smollm2``: SmolLM2-135M with LoRA
and trainable SID rows, read offline) a PLUM is built on the built-in shop (default size) and
measured, untrained (cost depends on shapes, not weights):

* ``cpt`` and ``sft``: training throughput, **tokens per second** (non-padding tokens of a batch
  over the median wall time of one optimizer step: forward, backward, AdamW on the trainable
  parameters), batches as `llmrec_mini.models.plum.PLUM` builds them (CPT: the behaviour/metadata
  mix at ``cpt_batch_size``; SFT: (history, next SID) pairs at the training batch size);
* ``decode (trie)`` and ``decode (free)``: **latency per user**, the median wall time of
  ``recommend([history], k=10)`` for one user, with beam search constrained by the SID trie and
  without it (``constrained=False``), ``num_beams`` beams.

Rows carry ``lm``, ``stage``, ``tokens_per_s`` (training rows), ``median_ms``, ``repeats``,
``batch``, ``params`` and ``trainable``.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .attention_scaling import time_ms, torch_threads
from .report import fmt_num, header_lines, write_runner_results

NAME = "plum-cost"
LMS = ("tiny", "smollm2")
SEED = 0
SID = {"method": "rqkmeans", "encoder": "hashing", "levels": 3, "codebook_size": 64}  # IDs do not change the cost
DECODE_USERS = 20  # users decoded one at a time
LABELS = {"tiny": "tiny Llama (PLUM default)", "smollm2": "SmolLM2-135M + LoRA"}


def build(lm: str, split, catalog):
    """An untrained PLUM on ``lm`` (its default settings; SmolLM2: the ``smollm2`` preset)."""
    from ..models import get_model

    model = get_model("plum", preset="smollm2" if lm == "smollm2" else None, seed=SEED, progress=False, **SID)
    model.prepare(split, catalog)
    return model.untrained(split.n_items, catalog)


def train_step_cost(model, batches, repeats: int, min_seconds: float) -> dict:
    """Median time of one optimizer step over ``batches`` (cycled) and the tokens it processes."""
    import itertools

    import torch

    module = model.module
    module.train()
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    cycle = itertools.cycle(batches)
    state = {"tokens": 0}

    def step():
        ids, mask, labels = next(cycle)
        loss = module(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        state["tokens"] += int(mask.sum())

    ms, n = time_ms(step, min_repeats=repeats, min_seconds=min_seconds)
    module.eval()
    tokens = sum(int(b[1].sum()) for b in batches) / len(batches)  # mean tokens per batch
    return {"median_ms": ms, "repeats": n, "tokens_per_s": tokens / (ms / 1000), "batch": int(batches[0][0].shape[0])}


def measure(lm: str, split, catalog, quick: bool = False) -> list[dict]:
    import numpy as np

    from .. import llm
    from ..models.base import parameter_counts

    model = build(lm, split, catalog)
    c, tc = model.config, model.train_config
    params, trainable = parameter_counts(model)
    base = {"lm": lm, "params": int(params), "trainable": int(trainable)}
    rng = np.random.default_rng(SEED)
    behaviour, metadata = model.cpt_corpus(split)
    repeats, min_s = (2, 0.0) if quick else (5, 2.0)
    rows = []
    cpt = []
    for _ in range(3):
        docs = [model.behaviour_tokens(behaviour[int(rng.integers(len(behaviour)))][: c.cpt_window])
                if rng.random() < c.cpt_behaviour_share else metadata[int(rng.integers(len(metadata)))]
                for _ in range(c.cpt_batch_size)]
        cpt.append(llm.lm_batch([[] for _ in docs], docs, model.tokenizer.pad_token_id))
    rows.append({**base, "stage": "cpt", **train_step_cost(model, cpt, repeats, min_s)})
    examples = model.examples(split)
    sft = [model.collate([examples[int(i)] for i in rng.choice(len(examples), tc.batch_size, replace=False)])
           for _ in range(3)]
    rows.append({**base, "stage": "sft", **train_step_cost(model, sft, repeats, min_s)})
    users = split.test.histories[: 3 if quick else DECODE_USERS]
    for stage, constrained in (("decode (trie)", True), ("decode (free)", False)):
        times = []
        for h in users:
            t0 = time.perf_counter()
            model.recommend([h], k=10, constrained=constrained)
            times.append((time.perf_counter() - t0) * 1000)
        rows.append({**base, "stage": stage, "median_ms": float(np.median(times[1:] or times)), "repeats": len(times),
                     "tokens_per_s": None, "batch": 1, "num_beams": c.num_beams})
    return rows


def run(quick: bool = False, write_docs: bool = True, progress: bool = True, only: list[str] | None = None,
        threads: int | None = None, docs: Path | None = None) -> dict:
    """The benchmark (``run_bench("plum-cost")``), on all of torch's threads unless ``threads``; ``quick``: tiny LM only, a few repeats, nothing written."""
    from ..data import load_dataset
    from ..data.sequences import leave_one_out
    from .runner import _command, hardware

    lms = tuple(only) if only else (("tiny",) if quick else LMS)
    unknown = [m for m in lms if m not in LMS]
    if unknown:
        raise ValueError(f"--only {' '.join(unknown)}: not a language model of {NAME} ({', '.join(LMS)})")
    t0 = time.time()
    data = load_dataset("synthetic", size="tiny" if quick else "default", seed=SEED)
    split = leave_one_out(data)
    rows = []
    with torch_threads(threads):
        import torch

        used = torch.get_num_threads()
        for lm in lms:
            if progress:
                print(f"{NAME}: {LABELS[lm]} ...", file=sys.stderr, flush=True)
            rows += measure(lm, split, data.catalog, quick)
    out = {"benchmark": NAME, "rows": rows,
           "settings": {"dataset": f"synthetic ({'tiny' if quick else 'default'})", "users": data.n_users,
                        "items": data.n_items, "threads": used, "decode_users": DECODE_USERS, "sid": SID,
                        "timing": "median wall time; training: one optimizer step (forward, backward, AdamW)"},
           "command": _command(NAME, None), "hardware": hardware(), "wall_s": round(time.time() - t0, 1),
           "quick": quick, "date": time.strftime("%Y-%m-%d")}
    if write_docs and not quick:
        write_results(out, docs=docs)
    return out


def to_markdown(out: dict) -> str:
    st = out["settings"]
    lines = [*header_lines(out),
             f"PLUM built untrained on the built-in shop, {st['dataset']}: {st['users']:,} users, {st['items']:,} "
             f"items; {st['threads']} torch thread(s). Training rows: tokens per second of one optimizer step "
             f"(CPT: the behaviour/metadata mix; SFT: history -> next SID). Decoding rows: one user per call, "
             f"median over {st['decode_users']} users, top-10 from beam search with and without the SID trie.", "",
             "| language model | stage | tokens / s | median time | batch | parameters (trainable) |",
             "|---|---|---|---|---|---|"]
    for r in out["rows"]:
        tps = f"{r['tokens_per_s']:,.0f}" if r["tokens_per_s"] else "-"
        unit = "per step" if r["tokens_per_s"] else "per user"
        lines.append(f"| {LABELS[r['lm']]} | {r['stage']} | {tps} | {fmt_num(r['median_ms'])} ms {unit} | "
                     f"{r['batch']} | {r['params'] / 1e6:.2f} M ({r['trainable'] / 1e6:.2f} M) |")
    return "\n".join(lines)


def write_results(out: dict, docs: Path | None = None) -> None:
    """docs/bench/plum-cost.json and its block on the Reproduction page (`report.write_runner_results`)."""
    write_runner_results(out, to_markdown(out), docs=docs, new_section=(
        "## PLUM: the cost of the LLM path\n\nTraining throughput and decoding latency of PLUM's language "
        "models on this CPU; see the [PLUM](plum/main.md) page."))
