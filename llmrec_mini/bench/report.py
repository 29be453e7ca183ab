"""Publishing a benchmark: the Markdown table, the training curves as SVG, and the page block.

`write_results` stores the raw result as docs/bench/NAME.json, draws docs/bench/NAME-curves.svg and
replaces the block of docs/reproduction.md between ``<!-- bench:start NAME -->`` and
``<!-- bench:end NAME -->``; a partial run (``--only``) merges its rows into the saved ones.
Published and peer numbers are listed beside ours, labelled.
"""
from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import numpy as np

from .registry import BENCHES, METRICS


def to_markdown(out: dict) -> str:
    bench = BENCHES.get(out.get("benchmark"))
    if bench is not None and bench.runner:  # a benchmark with its own report (e.g. attention-scaling)
        return importlib.import_module(bench.runner).to_markdown(out)
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
        wall = f"{r['wall_s'] / 60:.0f} min (wall)" if r.get("wall_s") else "-"
        lines.append(f"| *{r['model']}* | {'kept' if 'kept' in r['model'] else 'excluded'} | "
                     + " | ".join(f"{r[m]:.4f}" for m in METRICS) + f" | {wall} | - |")
    if out.get("curve_x") == "minutes":  # the time a user waits for the command: load, train, test (seen kept)
        runs = [f"{r['model']}: {r['load_s'] + r['train_s'] + r['eval_s']:.0f} s" for r in out["rows"]
                if r["seen items"] == "kept"]
        lines += ["", "Wall time per run (load the data, train, score the test users with seen items kept): "
                  + "; ".join(runs) + "."]
    subsets = [f"{r['model']}: {r['users']:,} random test users" for r in out["rows"]
               if r.get("users") and r["users"] < st["users"] and r["seen items"] == "excluded"]
    if subsets:
        lines += ["", "Scored on a subset of the test users (slow decoders): " + "; ".join(subsets) + "."]
    stages = [f"{r['model']}: " + ", ".join(f"{k} {v['steps']:,} steps ({v['seconds'] / 60:.1f} min)"
                                            for k, v in r["stages"].items()) + f", SFT {r.get('steps', 0):,} steps"
              for r in out["rows"] if r.get("stages") and r["seen items"] == "excluded"]
    if stages:
        lines += ["", "LLM stages before fine-tuning (train time includes them): " + "; ".join(stages) + "."]
    serving = [f"{r['model']}: " + "; ".join(f"{k} {v}" for k, v in r["serving"].items())
               for r in out["rows"] if r.get("serving") and r["seen items"] == "excluded"]
    if serving:
        lines += ["", "Serving costs (measured after training, same machine): " + " | ".join(serving) + "."]
    lines += ["", "Settings (beyond each model's defaults): " + "; ".join(
        f"{r['model']}: " + (f"`{json.dumps(r['params'])}`" if r["params"] else "none")
        for r in out["rows"] if r["seen items"] == "excluded")]
    return "\n".join(lines)


def merge_results(old: dict, new: dict, key: str = "model") -> dict:
    """``old`` with ``new``'s rows (same ``key`` value, e.g. model label = replaced), commands joined,
    wall times summed."""
    labels = {r[key] for r in new["rows"]}
    return {**new, "rows": [r for r in old["rows"] if r[key] not in labels] + new["rows"],
            "command": f"{old['command']}; {new['command']}", "wall_s": round(old["wall_s"] + new["wall_s"], 1)}


def write_results(out: dict, docs: Path | None = None, merge: bool = False) -> None:
    """docs/bench/NAME.json, the curves SVG and the page block; ``merge`` adds to the results already there."""
    docs = docs or Path(__file__).resolve().parents[2] / "docs"
    (docs / "bench").mkdir(parents=True, exist_ok=True)
    saved = docs / "bench" / f"{out['benchmark']}.json"
    if merge and saved.exists():
        out = merge_results(json.loads(saved.read_text()), out)
    saved.write_text(json.dumps(out, indent=2))
    block = to_markdown(out)
    if plot_curves(out, docs / "bench" / f"{out['benchmark']}-curves.svg"):
        block += f"\n\n![Training curves of {out['benchmark']}](bench/{out['benchmark']}-curves.svg)"
    write_page_block(docs, out["benchmark"], block)


def fmt_n(n: int) -> str:
    """A size as the page writes it: 1M, 16k (multiples of 1,000,000 / 1,024 / 1,000), else 1,536."""
    if n and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}k"
    return f"{n // 1000}k" if n and n % 1000 == 0 else f"{n:,}"


def fmt_num(x: float) -> str:
    """Three significant digits, never in exponent form above 0.001: 0.0508, 6.25, 43.7, 2,801."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}" if x >= 0.001 else f"{x:.1e}"


def fmt_flops(x: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.0f}"


def header_lines(out: dict) -> list[str]:
    """The first lines of a benchmark's page block: its command, date, wall time and hardware."""
    return [f"Command: `{out['command']}`  ",
            f"Date {out['date']}; wall time {out['wall_s'] / 60:.1f} min; hardware: {out['hardware']}.  "]


def write_runner_results(out: dict, block: str, new_section: str, docs: Path | None = None) -> None:
    """A no-data benchmark's results: docs/bench/<name>.json and its block on docs/reproduction.md
    (``new_section``: the heading and intro written with the block the first time)."""
    docs = docs or Path(__file__).resolve().parents[2] / "docs"
    (docs / "bench").mkdir(parents=True, exist_ok=True)
    (docs / "bench" / f"{out['benchmark']}.json").write_text(json.dumps(out, indent=2))
    write_page_block(docs, out["benchmark"], block, new_section=new_section)


def write_page_block(docs: Path, name: str, block: str, new_section: str | None = None) -> None:
    """Put ``block`` between the ``bench:start/end name`` markers of docs/reproduction.md and of each
    translation of it (``reproduction.ru.md``: the generated block is the same in every edition).
    Without markers: append ``new_section`` (a heading and intro) with the marked block, or fail if None."""
    pattern = re.compile(rf"(<!-- bench:start {re.escape(name)} -->\n).*?(\n<!-- bench:end {re.escape(name)} -->)", re.S)
    for page in sorted(docs.glob("reproduction*.md")):
        text = page.read_text()
        if pattern.search(text):
            page.write_text(pattern.sub(lambda m: m.group(1) + block + m.group(2), text))
        elif new_section is None:
            raise ValueError(f"docs/{page.name} has no bench:start/bench:end markers for {name}")
        else:
            page.write_text(f"{text.rstrip(chr(10))}\n\n{new_section}\n\n<!-- bench:start {name} -->\n{block}\n"
                            f"<!-- bench:end {name} -->\n")


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
        if out.get("curve_x") == "minutes":  # quality against wall-clock time, the peer's curve beside ours
            minutes = np.cumsum([h["seconds"] + h.get("val_seconds", 0) for h in r["curve"]]) / 60
            ax_val.plot(minutes, [h.get("score_kept", np.nan) for h in r["curve"]], marker=".", label=r["model"])
        else:
            ax_val.plot(epochs, [h.get("score", np.nan) for h in r["curve"]], marker=".", label=r["model"])
    ax_loss.set(xlabel="epoch", ylabel="train loss (log scale)", title="training loss", yscale="log")  # losses differ
    if out.get("curve_x") == "minutes":
        for p in out["peer"]:
            if p.get("curve"):
                ax_val.plot(np.cumsum([h["seconds"] for h in p["curve"]]) / 60, [h["score"] for h in p["curve"]],
                            marker=".", color="grey", label=p["model"])
        ax_val.set(xlabel="wall-clock minutes (log scale)", ylabel="NDCG@10, seen items kept", xscale="log",
                   title="validation NDCG@10 against time")
    else:
        ax_val.set(xlabel="epoch", ylabel="NDCG@10", title="validation NDCG@10")
    ax_val.legend(fontsize=7)
    fig.tight_layout()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "bench"}):  # text as text; stable ids
        fig.savefig(path, format="svg", metadata={"Date": None})  # no timestamp: reruns diff cleanly
    plt.close(fig)
    return True
