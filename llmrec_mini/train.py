"""The one training loop every model uses: seeded, with progress bars, validation-based early stopping,
safetensors checkpoints, and CPU/GPU placement through `accelerate`.

A model supplies three callables:

* ``make_batches(epoch) -> iterable of batches`` (dicts/tuples of tensors; moved to the device here),
* ``loss_fn(module, batch) -> scalar tensor``,
* ``validate(module) -> float`` (higher is better, e.g. validation NDCG@10), optional.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable

from .utils import set_seed


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.0
    patience: int = 5  # epochs without validation improvement before stopping
    grad_clip: float | None = 1.0
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    progress: bool = True
    out_dir: str | None = None  # best checkpoint (safetensors) + history are written here
    max_minutes: float | None = None  # wall-clock budget; stops after the epoch that exceeds it
    warmup_steps: int = 0  # linear warm-up, then constant (or inverse-sqrt with `schedule`)
    schedule: str = "constant"  # "constant" | "inverse_sqrt" (T5/TIGER)

    @classmethod
    def pop_from(cls, kwargs: dict) -> "TrainConfig":
        """Take the TrainConfig fields out of a flat kwargs dict (model hyperparameters stay)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: kwargs.pop(k) for k in list(kwargs) if k in names})


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row per epoch: loss, score, seconds
    best_epoch: int = -1
    best_score: float = -math.inf
    checkpoint: str | None = None
    seconds: float = 0.0
    stopped_early: bool = False


def _to_device(batch: Any, device) -> Any:
    if hasattr(batch, "to"):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _lr_lambda(cfg: TrainConfig) -> Callable[[int], float]:
    def f(step: int) -> float:
        step += 1
        if cfg.warmup_steps and step < cfg.warmup_steps:
            return step / cfg.warmup_steps
        if cfg.schedule == "inverse_sqrt":
            return math.sqrt(max(1, cfg.warmup_steps) / step)
        return 1.0
    return f


def train_model(module, make_batches: Callable[[int], Iterable], loss_fn: Callable[[Any, Any], Any],
                config: TrainConfig, validate: Callable[[Any], float] | None = None, optimizer=None,
                desc: str = "train") -> TrainResult:
    """Train `module` in place; at the end it holds the weights of the best validation epoch."""
    import torch
    from accelerate import Accelerator
    from safetensors.torch import save_file
    from tqdm import tqdm

    set_seed(config.seed)
    accelerator = Accelerator(cpu=config.device == "cpu")
    optimizer = optimizer or torch.optim.AdamW(module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config))
    module, optimizer = accelerator.prepare(module, optimizer)
    device = accelerator.device
    result, best_state, bad_epochs, start = TrainResult(), None, 0, time.time()
    out = Path(config.out_dir) if config.out_dir else None
    epochs = tqdm(range(config.epochs), desc=desc, disable=not config.progress, unit="epoch")
    for epoch in epochs:
        module.train()
        total, n, t0 = 0.0, 0, time.time()
        for batch in make_batches(epoch):
            loss = loss_fn(module, _to_device(batch, device))
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            if config.grad_clip:
                accelerator.clip_grad_norm_(module.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            total, n = total + float(loss.detach()), n + 1
        row = {"epoch": epoch, "loss": total / max(1, n), "seconds": time.time() - t0}
        if validate is not None:
            module.eval()
            with torch.no_grad():
                row["score"] = float(validate(module))
            if row["score"] > result.best_score:
                result.best_score, result.best_epoch, bad_epochs = row["score"], epoch, 0
                best_state = copy.deepcopy(accelerator.unwrap_model(module).state_dict())
                if out:
                    out.mkdir(parents=True, exist_ok=True)
                    save_file({k: v.contiguous().cpu() for k, v in best_state.items()}, str(out / "best.safetensors"))
                    result.checkpoint = str(out / "best.safetensors")
            else:
                bad_epochs += 1
        result.history.append(row)
        epochs.set_postfix({k: round(v, 4) for k, v in row.items() if k in ("loss", "score")})
        if validate is not None and bad_epochs >= config.patience:
            result.stopped_early = True
            break
        if config.max_minutes and (time.time() - start) / 60 > config.max_minutes:
            result.stopped_early = True
            break
    if best_state is not None:
        accelerator.unwrap_model(module).load_state_dict(best_state)
    module.eval()
    result.seconds = time.time() - start
    return result
