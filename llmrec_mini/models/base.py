"""The small interface every recommender answers, so the harness, tables and playground treat all alike.

* ``fit(split, catalog=None)`` trains on ``split.train`` (validating on ``split.valid``),
* ``recommend(histories, k, exclude_seen=True, users=None) -> (items (B, K), scores (B, K))``.

Scoring models implement ``score(histories, users) -> (B, n_items)`` and inherit ``recommend``;
generative models (TIGER, ...) override ``recommend`` directly. Torch models also get
``save(dir)`` / ``load(dir)`` (config.json + model.safetensors).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class Recommender:
    name = "base"

    def fit(self, split, catalog=None) -> "Recommender":
        raise NotImplementedError

    def score(self, histories: list[np.ndarray], users: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not score the full catalog; use recommend()")

    def recommend(self, histories: list[np.ndarray], k: int = 10, exclude_seen: bool = True,
                  users: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        import torch

        scores = torch.tensor(np.asarray(self.score(histories, users), dtype=np.float32))  # a copy: masked below
        if exclude_seen:
            for b, h in enumerate(histories):
                if len(h):
                    scores[b, torch.as_tensor(np.asarray(h))] = -torch.inf
        k = min(k, scores.shape[1])
        top = torch.topk(scores, k, dim=1)
        return top.indices.numpy(), top.values.numpy()


class TorchRecommender(Recommender):
    """A recommender backed by a torch module; hyperparameters live in ``self.params``."""

    def __init__(self, **params):
        from ..train import TrainConfig

        self.train_config = TrainConfig.pop_from(params)
        self.params = {**self.defaults(), **params}
        unknown = set(self.params) - set(self.defaults())
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {sorted(unknown)}; "
                             f"model parameters: {sorted(self.defaults())}")
        self.module = None
        self.n_items = None
        self.result = None  # TrainResult after fit

    @classmethod
    def defaults(cls) -> dict:
        return {}

    def build(self, n_items: int, catalog=None):
        """Create ``self.module`` for a catalog of n_items (called by fit and load)."""
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps({"model": self.name, "n_items": self.n_items,
                                                      "params": self.params}, indent=2))
        save_file({k: v.contiguous().cpu() for k, v in self.module.state_dict().items()}, str(path / "model.safetensors"))
        return path

    @classmethod
    def load(cls, path: str | Path, catalog=None) -> "TorchRecommender":
        from safetensors.torch import load_file

        path = Path(path)
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"no checkpoint in {path} (expected config.json and model.safetensors)")
        cfg = json.loads((path / "config.json").read_text())
        model = cls(**cfg["params"])
        model.n_items = cfg["n_items"]
        model.build(cfg["n_items"], catalog)
        model.module.load_state_dict(load_file(str(path / "model.safetensors")))
        model.module.eval()
        return model

    def validation_fn(self, split, n_users: int = 2000, metric: str = "ndcg@10"):
        """validate(module) for the training loop: `metric` on a fixed subset of validation users."""
        from ..evaluate import evaluate_metrics

        subset = split.valid.subset(n_users, seed=self.train_config.seed)
        return lambda module: evaluate_metrics(self, subset, ks=(10,))[metric]
