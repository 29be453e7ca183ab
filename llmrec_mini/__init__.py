"""llmrec-mini: a compact, complete package behind an executable site on LLM-based recommenders.

Importing the package is cheap; heavy dependencies (torch, transformers, pandas) load on first use.
Start with `llmrec_mini.data.load_dataset`, `llmrec_mini.models.get_model` and `llmrec_mini.evaluate.evaluate`.
"""
__version__ = "0.1.0"
