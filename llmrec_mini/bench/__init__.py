"""Benchmarks: train and evaluate models at full size on one dataset and publish the results.

* `registry`: what each benchmark runs: a dataset and rows of (label, model, preset, overrides);
  the models' own presets and published numbers (`Recommender.presets`, ``.published``) do the rest;
* `runner`: `run_bench(name)` loads the data, makes the leave-one-out split, trains every row,
  evaluates it with the shared harness and records the command, hardware, curves and wall time;
* `report`: the Markdown table, the training-curve SVG and the block of docs/reproduction.md.
"""
from .registry import BENCHES, DATA_FOLDERS, METRICS, PEER, Bench, BenchRow
from .report import merge_results, plot_curves, to_markdown, write_results
from .runner import hardware, run_bench

__all__ = ["BENCHES", "DATA_FOLDERS", "METRICS", "PEER", "Bench", "BenchRow", "run_bench", "hardware", "to_markdown",
           "merge_results", "write_results", "plot_curves"]
