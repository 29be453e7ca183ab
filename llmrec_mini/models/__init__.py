"""Every recommender of the package, reachable by name (`get_model("sasrec", d_model=64)`)."""
from __future__ import annotations

import importlib

# name -> "module:Class"; a new method adds one line here and becomes available to the CLI,
# the harness and the playground.
MODELS = {
    "popularity": "llmrec_mini.models.popularity:Popularity",
    "sasrec": "llmrec_mini.models.sasrec:SASRec",
    "tiger": "llmrec_mini.models.tiger:TIGER",
}


def model_class(name: str):
    key = name.lower().strip()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    module, cls = MODELS[key].split(":")
    return getattr(importlib.import_module(module), cls)


def get_model(name: str, **params):
    """Instantiate a model by name with hyperparameters (and TrainConfig fields such as epochs, lr)."""
    return model_class(name)(**params)


__all__ = ["MODELS", "get_model", "model_class"]
