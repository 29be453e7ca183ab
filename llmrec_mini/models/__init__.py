"""Every recommender of the package, reachable by name: ``get_model("sasrec", d_model=64)``.

A new method is one file, ``models/<method>.py``, with a `base.TorchRecommender` subclass, and one
line in `MODELS` below. The registry-wide tests then train, evaluate, save and load it at tiny
size, and the CLI, benchmarks and playground reach it by name (see docs/contributing.md).
"""
from __future__ import annotations

import importlib

# name -> "module:Class"
MODELS = {
    "popularity": "llmrec_mini.models.popularity:Popularity",
    "sasrec": "llmrec_mini.models.sasrec:SASRec",
    "tiger": "llmrec_mini.models.tiger:TIGER",
    "vista": "llmrec_mini.models.vista:VISTA",
    "target-attention": "llmrec_mini.models.target_attention:TargetAttention",
    "revisit-counts": "llmrec_mini.models.revisit:RevisitCounts",
    "plum": "llmrec_mini.models.plum:PLUM",
    "lumen": "llmrec_mini.models.lumen:LUMEN",
    "flare": "llmrec_mini.models.flare:FLARE",
    "recgpt": "llmrec_mini.models.recgpt:RecGPT",
    "linkedin": "llmrec_mini.models.linkedin:LinkedInRetrieval",
    "onepiece": "llmrec_mini.models.onepiece:OnePiece",
    "onerec_think": "llmrec_mini.models.onerec_think:OneRecThink",
    "sasrec-adaptive": "llmrec_mini.models.adaptive_user_layers:AdaptiveSASRec",
}


def model_class(name: str):
    key = str(name).lower().strip()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    module, cls = MODELS[key].split(":")
    return getattr(importlib.import_module(module), cls)


def get_model(name: str, preset: str | None = None, **params):
    """Instantiate a model by name: a named preset's settings (e.g. ``"paper"``), then ``params`` on top.

    ``params`` are model settings and training-loop settings (epochs, lr, ...) in one flat dict;
    each goes to the typed settings group that owns it.
    """
    cls = model_class(name)
    if preset is not None:
        if preset not in cls.presets:
            raise ValueError(f"{cls.name} has no preset {preset!r}; "
                             f"presets: {', '.join(cls.presets) or 'none'}")
        params = {**cls.presets[preset], **params}
    return cls(**params)


__all__ = ["MODELS", "get_model", "model_class"]
