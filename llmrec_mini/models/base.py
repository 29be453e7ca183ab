"""The contract every recommender answers, and the one ``fit`` every torch model shares.

`Recommender` (every model)::

    fit(split, catalog=None) -> self
    recommend(histories, k=10, exclude_seen=True, users=None, **decode_options) -> Recommendations
    score(histories, users=None) -> (B, n_items)        # models whose capabilities say scores_catalog
    save(folder) / Class.load(folder, catalog=None)     # config.json + the model's own files

plus class attributes the harness, CLI, bench and playground read: ``name``, ``description``,
``capabilities`` (`contract.Capabilities`), ``decode_options`` (call arguments of ``recommend``
and their defaults, e.g. TIGER's ``decoding``), ``presets`` (named settings, e.g. ``"paper"``)
and ``published`` (`contract.Published` numbers). Inputs are checked here, once: ``k``, item
indices in the histories, unknown decode options, and a checkpoint that does not fit the data.

`TorchRecommender` (every neural model) owns ``fit``. A model provides, top to bottom:
``Config`` (its typed settings; `groups` adds more, e.g. the quantizer's), ``prepare`` (anything
built from data before the network, e.g. semantic IDs), ``build`` (the ``nn.Module``),
``examples`` + ``collate`` + ``loss`` (what to train on), and optionally ``example_lengths``
(bucket batches by length), ``param_groups`` or ``make_optimizer`` and ``save_extra``/``load_extra``
(vocabularies, tokenizers). ``fit`` seeds, builds, batches, trains and validates through
`llmrec_mini.train.train_model`; save/load keep only the trainable weights when most are frozen.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..config import route
from .contract import Capabilities, Recommendations

FORMAT = 2  # checkpoint format version (config.json "format")
RUNTIME_SETTINGS = ("progress", "out_dir", "device")  # training settings not stored in checkpoints


def parameter_counts(model) -> tuple[int, int]:
    """(total, trainable) parameters of the model's torch module; (0, 0) for a model without one."""
    module = getattr(model, "module", None)
    if module is None:
        return 0, 0
    params = list(module.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be used: missing, corrupted, another model's, or another dataset's."""


def catalog_fingerprint(catalog) -> str | None:
    """A short hash of the catalog's item ids and titles (None without a catalog): a checkpoint knows its data."""
    if catalog is None:
        return None
    text = "\n".join(map(str, catalog.item_ids)) + "\x1f" + "\n".join(map(str, catalog.titles or []))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_checkpoint_config(path) -> dict:
    path = Path(path)
    if not path.is_dir() or not (path / "config.json").is_file():
        raise CheckpointError(f"no checkpoint in {path}: expected a folder with config.json (written by `train --out`)")
    try:
        cfg = json.loads((path / "config.json").read_text())
        cfg["model"], cfg["n_items"]
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{path / 'config.json'} is not a checkpoint config ({err})") from None
    if cfg.get("format") != FORMAT:
        raise CheckpointError(f"{path} was written by another version of llmrec-mini (format {cfg.get('format')}, "
                              f"expected {FORMAT}); train it again")
    return cfg


class Recommender:
    name = "base"
    description = ""  # one line, shown by `llmrec-mini models`
    capabilities = Capabilities()
    generates_candidates: bool = True  # retrieves from the whole catalog; False: a ranker of a given candidate set
    decode_options: dict = {}  # recommend() keyword -> default
    presets: dict = {}  # name -> flat settings; trainable models have "tiny" (seconds, for tests)
    published: tuple = ()  # contract.Published rows
    n_items: int | None = None
    catalog_fingerprint: str | None = None

    # ------------------------------------------------------------------ training
    def fit(self, split, catalog=None) -> "Recommender":
        raise NotImplementedError

    def settings(self) -> dict:
        """What `load` needs to rebuild the model (stored in config.json)."""
        return {}

    # ------------------------------------------------------------------ inference
    def score(self, histories: list[np.ndarray], users: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError(f"{self.name} does not score the full catalog; use recommend()")

    def recommend(self, histories, k: int = 10, exclude_seen: bool = True, users=None, **options) -> Recommendations:
        """Top-k items per history (best first), checked inputs; see the class docstring."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        unknown = set(options) - set(self.decode_options)
        if unknown:
            raise ValueError(f"{self.name}: unknown option(s) {sorted(unknown)} for recommend(); "
                             f"it takes {sorted(self.decode_options) or 'none'}")
        if not exclude_seen and not self.capabilities.keeps_seen:
            raise ValueError(f"{self.name} cannot rank items the user has already seen (keep-seen protocol)")
        histories = self.check_histories(histories)
        if users is not None:
            users = np.asarray(users, dtype=np.int64)
            if len(users) != len(histories):
                raise ValueError(f"got {len(users)} users for {len(histories)} histories")
        return self._recommend(histories, int(k), exclude_seen, users, **{**self.decode_options, **options})

    def check_history(self, history) -> np.ndarray:
        """One user's non-empty history (1-D item indices), checked as in `check_histories`."""
        h = np.asarray(history)
        if h.ndim != 1 or len(h) == 0:
            raise ValueError(f"history must be a non-empty 1-D sequence of item indices, got shape {h.shape}")
        return self.check_histories([h])[0]

    def check_histories(self, histories) -> list[np.ndarray]:
        if self.n_items is None:
            raise RuntimeError(f"fit or load the {self.name} model first")
        out = [np.asarray(h, dtype=np.int64).reshape(-1) for h in histories]
        for h in out:
            if len(h) and (h.min() < 0 or h.max() >= self.n_items):
                item = int(h.min() if h.min() < 0 else h.max())
                raise ValueError(f"a history holds item index {item}, but the model knows {self.n_items} items "
                                 f"(0..{self.n_items - 1}); was it trained on this dataset?")
        return out

    def _recommend(self, histories, k, exclude_seen, users, **options) -> Recommendations:
        """Scoring models: top-k of `score`, history masked; items with no finite score become -1."""
        import torch

        scores = torch.tensor(np.asarray(self.score(histories, users), dtype=np.float32))  # a copy: masked below
        if torch.isnan(scores).any():
            raise ValueError(f"{self.name} produced NaN scores for {int(torch.isnan(scores).any(1).sum())} "
                             "user(s); the model is broken (diverged training or a corrupted checkpoint)")
        if exclude_seen:
            for b, h in enumerate(histories):
                if len(h):
                    scores[b, torch.as_tensor(h)] = -torch.inf
        top = torch.topk(scores, min(k, scores.shape[1]), dim=1)
        items = np.where(torch.isfinite(top.values).numpy(), top.indices.numpy(), -1)
        rec = Recommendations(items, top.values.numpy())
        return rec if rec.items.shape[1] == k else _pad(rec, k)

    # ------------------------------------------------------------------ checkpoints
    def check_data(self, n_items: int, catalog=None) -> None:
        """Raise CheckpointError unless this (fitted or loaded) model was trained on data of this shape."""
        if self.n_items is not None and self.n_items != n_items:
            raise CheckpointError(f"the {self.name} model was trained on a catalog of {self.n_items:,} items; this "
                                  f"dataset has {n_items:,}. Use the dataset (and size/seed) it was trained on.")
        theirs = catalog_fingerprint(catalog)
        if theirs and self.catalog_fingerprint and theirs != self.catalog_fingerprint:
            raise CheckpointError(f"the {self.name} model was trained on another catalog of the same size "
                                  "(item ids or titles differ); use the dataset (and size/seed) it was trained on")

    def save(self, path) -> Path:
        """config.json (format, model name, catalog size and fingerprint, settings) + the model's files."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise CheckpointError(f"cannot save into {path}: it is a file, not a folder")
        if self.n_items is None:
            raise RuntimeError(f"fit the {self.name} model before saving it")
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps({
            "format": FORMAT, "model": self.name, "n_items": self.n_items, "catalog": self.catalog_fingerprint,
            "settings": self.settings()}, indent=2))
        self.save_state(path)
        return path

    @classmethod
    def load(cls, path, catalog=None) -> "Recommender":
        path = Path(path)
        cfg = read_checkpoint_config(path)
        if cfg["model"] != cls.name:
            raise CheckpointError(f"{path} holds a {cfg['model']} model, not {cls.name}")
        model = cls(**cfg.get("settings", {}))
        model.n_items, model.catalog_fingerprint = int(cfg["n_items"]), cfg.get("catalog")
        if catalog is not None:
            model.check_data(len(catalog), catalog)
        model.load_state(path, catalog)
        return model

    def save_state(self, path: Path) -> None:
        raise NotImplementedError

    def load_state(self, path: Path, catalog=None) -> None:
        raise NotImplementedError


def _pad(rec: Recommendations, k: int) -> Recommendations:
    """Pad to k columns with item -1 / score -inf (a catalog smaller than k)."""
    b, w = rec.items.shape
    return Recommendations(np.pad(rec.items, ((0, 0), (0, k - w)), constant_values=-1),
                           np.pad(rec.scores, ((0, 0), (0, k - w)), constant_values=-np.inf), rec.extras)


class _Examples:
    """A Sequence of training examples as a map-style torch Dataset."""

    def __init__(self, examples):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i):
        return self.examples[i]


class TorchRecommender(Recommender):
    """A recommender backed by a torch module, trained by the shared ``fit``."""

    Config = None  # the model's settings dataclass (a config.Settings)
    groups: dict = {}  # more typed settings groups, e.g. {"sid": SIDConfig}
    train_defaults: dict = {}  # TrainConfig values this model prefers to the loop's defaults

    def __init__(self, **params):
        from ..train import TrainConfig

        groups = {"model": self.Config, "train": TrainConfig, **self.groups}
        routed = route(params, groups, self.name)
        self.config = self.Config(**routed["model"])
        self.train_config = TrainConfig(**{**self.train_defaults, **routed["train"]})
        self.group_settings = {g: cls(**routed[g]) for g, cls in self.groups.items()}
        self.module = None
        self.result = None  # TrainResult after fit

    @property
    def params(self) -> dict:
        """The model's settings (model and extra groups) as one flat dict, for display."""
        out = self.config.to_dict()
        for group in self.group_settings.values():
            out.update(group.to_dict())
        return out

    def settings(self) -> dict:
        train = {k: v for k, v in self.train_config.to_dict().items() if k not in RUNTIME_SETTINGS}
        return {"model": self.config.to_dict(), "train": train,
                **{g: s.to_dict() for g, s in self.group_settings.items()}}

    # ------------------------------------------------------------------ hooks a model provides
    def prepare(self, split, catalog) -> None:
        """Data-dependent pieces built before the network (TIGER: the semantic IDs). Default: nothing."""

    def build(self):
        """A fresh ``nn.Module`` for ``self.n_items`` items (called by fit and load)."""
        raise NotImplementedError

    def before_training(self, split, catalog) -> None:
        """Stages that train the freshly built module before the main loop (PLUM: language-model
        pre-training, continued pre-training). Default: nothing."""

    def examples(self, split):
        """The training examples (a sequence) drawn from ``split.train``."""
        raise NotImplementedError

    def example_lengths(self, examples) -> np.ndarray | None:
        """Per-example lengths to bucket batches by (less padding); None = plain shuffling."""
        return None

    def collate(self, examples: list):
        """A list of examples -> one batch of tensors."""
        raise NotImplementedError

    def loss(self, module, batch):
        """Scalar training loss; must come from ``module(...)`` (the forward), as DDP wraps the module."""
        raise NotImplementedError

    def param_groups(self, module) -> list | None:
        """Optimizer parameter groups (e.g. a higher lr for new embeddings); None = one group."""
        return None

    def make_optimizer(self, module):
        """A torch optimizer for ``module``; None = AdamW over `param_groups` (the loop's default)."""
        return None

    def save_extra(self, path: Path) -> None:
        """Files besides the weights (vocabularies, code tables, tokenizers)."""

    def load_extra(self, path: Path, catalog=None) -> None:
        """Read what `save_extra` wrote; runs before `build`."""

    # ------------------------------------------------------------------ the one fit
    def fit(self, split, catalog=None, on_epoch=None) -> "TorchRecommender":
        """Train on ``split.train``, validating on ``split.valid``; ``on_epoch(row, epochs)`` reports each epoch."""
        import torch

        from ..train import EpochBatches, train_model
        from ..utils import set_seed

        cfg = self.train_config
        if catalog is not None and len(catalog) != split.n_items:
            raise ValueError(f"the catalog has {len(catalog)} items but the split {split.n_items}")
        self.n_items, self.catalog_fingerprint = split.n_items, catalog_fingerprint(catalog)
        set_seed(cfg.seed)
        self.prepare(split, catalog)
        set_seed(cfg.seed)  # the initial weights are part of the seeded run
        self.module = self.build()
        self.before_training(split, catalog)
        examples = self.examples(split)
        if len(examples) == 0:
            raise ValueError("no training examples: every training sequence has fewer than 2 items")
        sampler = EpochBatches(len(examples), cfg.batch_size, cfg.seed, self.example_lengths(examples))
        loader = torch.utils.data.DataLoader(_Examples(examples), batch_sampler=sampler, collate_fn=self.collate)
        self.result = train_model(self.module, loader, self.loss, cfg, validate=self.validation_fn(split),
                                  optimizer=self.make_optimizer(self.module),
                                  param_groups=self.param_groups(self.module), desc=self.name, on_epoch=on_epoch)
        return self

    def untrained(self, n_items: int, catalog=None) -> "TorchRecommender":
        """The seeded, randomly initialised model for ``n_items`` items, without training (tests, demos)."""
        from ..utils import set_seed

        self.n_items, self.catalog_fingerprint = n_items, catalog_fingerprint(catalog)
        set_seed(self.train_config.seed)
        self.module = self.build().eval()
        return self

    def validation_fn(self, split, metric: str = "ndcg@10"):
        """validate(module) for the loop: ``metric`` on a fixed subset of validation users (None if none)."""
        from ..evaluate import evaluate_metrics

        cfg = self.train_config
        if len(split.valid) == 0:
            return None
        subset = split.valid.subset(cfg.val_users, seed=cfg.seed)
        k = int(metric.split("@")[1])

        def validate(module):
            score = evaluate_metrics(self, subset, ks=(k,), exclude_seen=cfg.val_exclude_seen)[metric]
            if not cfg.val_log_kept:
                return score
            return {"score": score, "score_kept": evaluate_metrics(self, subset, ks=(k,), exclude_seen=False)[metric]}

        return validate

    def device(self):
        return next(self.module.parameters()).device

    def check_fitted(self) -> None:
        if self.module is None:
            raise RuntimeError(f"fit or load the {self.name} model first")

    # ------------------------------------------------------------------ weights on disk
    def _mostly_frozen(self) -> bool:
        sizes = [(p.numel(), p.requires_grad) for p in self.module.parameters()]
        return sum(n for n, t in sizes if t) < 0.5 * sum(n for n, _ in sizes)

    def _state(self, trainable_only: bool) -> dict:
        from ..train import trainable_state

        if trainable_only:
            return trainable_state(self.module)
        keys = set(self.module.state_dict())
        return {**dict(self.module.named_parameters()), **{n: b for n, b in self.module.named_buffers() if n in keys}}

    def save_state(self, path: Path) -> None:
        from safetensors.torch import save_file

        self.check_fitted()
        kind = "trainable" if self._mostly_frozen() else "full"
        save_file({k: v.detach().contiguous().cpu() for k, v in self._state(kind == "trainable").items()},
                  str(path / "model.safetensors"), metadata={"weights": kind})
        self.save_extra(path)
        if self.result is not None:  # the training curve and how training ended
            (path / "training.json").write_text(json.dumps(asdict(self.result), indent=1))

    def load_state(self, path: Path, catalog=None) -> None:
        from safetensors import safe_open

        from ..train import _restore
        from ..utils import set_seed

        file = path / "model.safetensors"
        if not file.is_file():
            raise CheckpointError(f"{path} has no model.safetensors")
        try:
            with safe_open(str(file), framework="pt") as f:
                kind = (f.metadata() or {}).get("weights", "full")
                state = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as err:  # safetensors raises its own error types for every kind of damage
            raise CheckpointError(f"{file} is not a readable safetensors file ({err})") from None
        self.load_extra(path, catalog)
        set_seed(self.train_config.seed)  # frozen weights not in the file are rebuilt exactly as in fit
        self.module = self.build()
        expected = {k: tuple(v.shape) for k, v in self._state(kind == "trainable").items()}
        got = {k: tuple(v.shape) for k, v in state.items()}
        if expected != got:
            diff = sorted(set(expected) ^ set(got)) or [k for k in expected if expected[k] != got[k]]
            raise CheckpointError(f"{file} does not match the {self.name} model built from its config.json "
                                  f"(differences in {diff[:3]})")
        _restore(self.module, state)
        self.module.eval()
        if (path / "training.json").is_file():
            from ..train import TrainResult

            self.result = TrainResult(**json.loads((path / "training.json").read_text()))
