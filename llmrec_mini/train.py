"""The one training loop every model uses, from a 30k-parameter SASRec to a LoRA-adapted LLM.

`train_model(module, batches, loss_fn, config, validate)` trains ``module`` in place:

* **devices and processes through `accelerate`.** The same code runs on a CPU, a GPU, or several
  processes: ``accelerate launch --num_processes N -m llmrec_mini.cli train ...`` gives data
  parallelism (DDP). ``batch_size`` is the *global* batch: each batch of indices is split across
  the processes (accelerate's ``split_batches``), so N processes see exactly the batches one
  process would, and the result matches a single-process run to tolerance;
* **seeded**, with a progress bar on the main process;
* **mixed precision** (bf16 autocast) where the device supports it, **gradient accumulation**
  (``grad_accum`` micro-batches per optimizer step), gradient clipping, linear warm-up then constant
  or inverse-square-root learning rate;
* **budgets**: ``epochs``, ``max_steps`` (optimizer steps) and ``max_minutes`` (wall clock);
* **early stopping** on ``validate(module) -> float`` (higher is better; or a dict with ``"score"``
  and more metrics to log per epoch), keeping a snapshot of the
  *trainable* weights of the best epoch only (a frozen LLM is never copied) and restoring it at the
  end; with ``out_dir`` the snapshot is also written as ``best.safetensors``;
* **parameter groups**: ``param_groups`` (a list of torch optimizer groups) gives e.g. new token
  embeddings a higher learning rate than LoRA adapters. Frozen parameters are never optimised.

``batches`` is a torch ``DataLoader`` (what `models.base.TorchRecommender.fit` builds from a model's
examples and collate function; required for several processes), or a callable ``epoch -> iterable``
of batches for simple single-process loops (the RQ-VAE's).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from .config import Settings
from .utils import set_seed


@dataclass
class TrainConfig(Settings):
    epochs: int = 30
    batch_size: int = 128  # global batch (split across processes); one optimizer step per grad_accum batches
    lr: float = 2e-3
    weight_decay: float = 0.0
    patience: int | None = 5  # epochs without validation improvement before stopping (None: train every epoch)
    grad_clip: float | None = 1.0
    grad_accum: int = 1
    mixed_precision: Literal["auto", "no", "bf16"] = "auto"  # auto: bf16 on GPUs that support it, else off
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    progress: bool = True
    out_dir: str | None = None  # best checkpoint (safetensors) is written here
    max_minutes: float | None = None  # wall-clock budget; stops after the epoch that exceeds it
    max_steps: int | None = None  # optimizer-step budget; stops (and validates) as soon as it is reached
    warmup_steps: int = 0  # linear warm-up, then the schedule
    # constant; inverse_sqrt (T5/TIGER); cosine: half a cosine from lr to 0 over the whole budget (epochs or max_steps)
    schedule: Literal["constant", "inverse_sqrt", "cosine"] = "constant"
    val_users: int = 2000  # validation users (a fixed random subset) scored after every epoch
    val_exclude_seen: bool = True  # validate with seen items excluded (False: RecBole's keep-seen protocol)
    val_log_kept: bool = False  # also log validation NDCG@10 with seen items kept ("score_kept"), not used to select

    def check(self) -> None:
        for name in ("epochs", "batch_size", "grad_accum", "val_users"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("lr", "weight_decay", "warmup_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("patience", "grad_clip", "max_minutes", "max_steps"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive (or None), got {value}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one row per epoch: loss, score, seconds, steps
    best_epoch: int = -1
    best_score: float = -math.inf
    checkpoint: str | None = None
    seconds: float = 0.0
    steps: int = 0
    stopped_early: bool = False
    stop_reason: str = "epochs"  # epochs | patience | max_steps | max_minutes
    num_processes: int = 1


def _lr_lambda(cfg: TrainConfig, total_steps: int) -> Callable[[int], float]:
    """The learning-rate factor at each optimizer step (``total_steps``: the budget, for cosine)."""
    def f(step: int) -> float:  # step: 0-based index of the optimizer step about to be taken
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        if cfg.schedule == "inverse_sqrt":
            return math.sqrt(max(1, cfg.warmup_steps) / (step + 1))
        if cfg.schedule == "cosine":
            done = (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps)  # 0 at the first step
            return 0.5 * (1 + math.cos(math.pi * min(1.0, done)))
        return 1.0
    return f


def trainable_state(module) -> dict:
    """Trainable parameters and persistent buffers, each once (tied weights under their first name)."""
    keys = set(module.state_dict().keys())
    state = {n: p for n, p in module.named_parameters() if p.requires_grad}
    state.update({n: b for n, b in module.named_buffers() if n in keys})
    return state


def _snapshot(module) -> dict:
    return {n: t.detach().clone() for n, t in trainable_state(module).items()}


def _restore(module, state: dict) -> None:
    import torch

    with torch.no_grad():
        current = dict(module.named_parameters()) | dict(module.named_buffers())
        for name, value in state.items():
            current[name].copy_(value)


class EpochBatches:
    """Index batches for a DataLoader: a fresh permutation per epoch (seed + epoch).

    With ``lengths``, examples are bucketed: shuffled, cut into chunks of 32 batches, each chunk
    sorted by length and its batches shuffled, so a batch holds examples of similar length (less
    padding) while every example is still seen once per epoch.
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0, lengths: np.ndarray | None = None, chunk: int = 32):
        self.n, self.batch_size, self.seed, self.lengths, self.chunk = n, batch_size, seed, lengths, chunk
        self.drop_last, self.epoch = False, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.lengths is None:
            return math.ceil(self.n / self.batch_size)
        span = self.batch_size * self.chunk
        return sum(math.ceil(min(span, self.n - s) / self.batch_size) for s in range(0, self.n, span))

    def __iter__(self):
        from .data.sequences import iterate_batches

        seed = self.seed + self.epoch
        if self.lengths is None:
            yield from (idx.tolist() for idx in iterate_batches(self.n, self.batch_size, seed=seed))
            return
        for chunk in iterate_batches(self.n, self.batch_size * self.chunk, seed=seed):
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches = [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
            for j in np.random.default_rng(seed).permutation(len(batches)):
                yield batches[j].tolist()


def train_model(module, batches, loss_fn: Callable[[Any, Any], Any], config: TrainConfig,
                validate: Callable[[Any], float] | None = None, optimizer=None, param_groups: list | None = None,
                desc: str = "train", on_epoch: Callable[[dict, int], None] | None = None) -> TrainResult:
    """Train ``module`` in place; at the end it holds the weights of the best validation epoch.

    ``on_epoch(row, epochs)`` is called after every epoch with its history row (epoch, loss,
    seconds, score...) and the epoch budget, e.g. to drive a progress bar in an app.
    """
    import torch
    from accelerate import Accelerator, DataLoaderConfiguration
    from safetensors.torch import save_file
    from tqdm import tqdm

    cfg = config
    set_seed(cfg.seed)
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={cfg.device!r} but no CUDA GPU is available here; use device='auto' or 'cpu'")
    cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())  # cpu=True: gloo DDP
    accelerator = Accelerator(cpu=cpu, gradient_accumulation_steps=cfg.grad_accum,
                              dataloader_config=DataLoaderConfiguration(split_batches=True))
    device = accelerator.device
    bf16 = cfg.mixed_precision == "bf16" or (cfg.mixed_precision == "auto" and device.type == "cuda"
                                             and torch.cuda.is_bf16_supported())
    if optimizer is None:
        groups = param_groups or [{"params": [p for p in module.parameters() if p.requires_grad]}]
        if not any(len(list(g["params"])) for g in groups):
            raise ValueError(f"{desc}: the module has no trainable parameters")
        optimizer = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    loader = batches if isinstance(batches, torch.utils.data.DataLoader) else None
    if cfg.schedule == "cosine" and loader is None and not cfg.max_steps:
        raise ValueError(f"{desc}: the cosine schedule needs a DataLoader or max_steps to know the budget")
    budget = math.ceil(len(loader) / cfg.grad_accum) * cfg.epochs if loader is not None else 0
    if cfg.max_steps:
        budget = min(budget, cfg.max_steps) if budget else cfg.max_steps  # optimizer steps the run can take
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg, budget))
    sampler = getattr(loader, "batch_sampler", None)  # ours; accelerate wraps it per process
    if loader is None and accelerator.num_processes > 1:
        raise ValueError(f"{desc}: several processes need a DataLoader of batches, not a callable")
    if loader is not None:
        module, optimizer, scheduler, loader = accelerator.prepare(module, optimizer, scheduler, loader)
    else:
        module, optimizer, scheduler = accelerator.prepare(module, optimizer, scheduler)
    raw = accelerator.unwrap_model(module)
    result = TrainResult(num_processes=accelerator.num_processes)
    best_state, bad_epochs, start = None, 0, time.time()
    out = Path(cfg.out_dir) if cfg.out_dir else None
    main = accelerator.is_main_process
    epochs = tqdm(range(cfg.epochs), desc=desc, disable=not (cfg.progress and main), unit="epoch")
    for epoch in epochs:
        module.train()
        total, n, t0 = 0.0, 0, time.time()
        if loader is not None:
            loader.set_epoch(epoch)
            if hasattr(sampler, "set_epoch"):  # accelerate's shard wrapper does not pass the epoch on
                sampler.set_epoch(epoch)
        for batch in (loader if loader is not None else batches(epoch)):
            if loader is None:
                batch = _to_device(batch, device)
            with accelerator.accumulate(module):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    loss = loss_fn(module, batch)  # under DDP `module` is wrapped: the loss must come from its forward
                accelerator.backward(loss)
                if accelerator.sync_gradients and cfg.grad_clip:
                    accelerator.clip_grad_norm_(module.parameters(), cfg.grad_clip)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            total, n = total + float(loss.detach()), n + 1
            result.steps += int(accelerator.sync_gradients)
            if cfg.max_steps and result.steps >= cfg.max_steps:
                break
        mean_loss = accelerator.reduce(torch.tensor(total / max(1, n), device=device), "mean")
        row = {"epoch": epoch, "loss": float(mean_loss), "seconds": time.time() - t0, "steps": result.steps}
        if validate is not None:
            module.eval()
            t1 = time.time()
            with torch.no_grad():
                score = validate(raw)  # a number, or {"score": number, other metrics to log}
                row.update(score if isinstance(score, dict) else {"score": score})
                row["score"], row["val_seconds"] = float(row["score"]), time.time() - t1
            if row["score"] > result.best_score:
                result.best_score, result.best_epoch, bad_epochs = row["score"], epoch, 0
                best_state = _snapshot(raw)
                if out and main:
                    out.mkdir(parents=True, exist_ok=True)
                    save_file({k: v.contiguous().cpu() for k, v in best_state.items()}, str(out / "best.safetensors"))
                    result.checkpoint = str(out / "best.safetensors")
            else:
                bad_epochs += 1
        result.history.append(row)
        if on_epoch is not None and main:
            on_epoch(row, cfg.epochs)
        epochs.set_postfix({k: round(v, 4) for k, v in row.items() if k in ("loss", "score")})
        reason = ("patience" if validate is not None and cfg.patience and bad_epochs >= cfg.patience else
                  "max_steps" if cfg.max_steps and result.steps >= cfg.max_steps else
                  "max_minutes" if cfg.max_minutes and (time.time() - start) / 60 > cfg.max_minutes else None)
        if reason:
            result.stopped_early, result.stop_reason = True, reason
            break
    if best_state is not None:
        _restore(raw, best_state)
    raw.eval()
    accelerator.free_memory()
    result.seconds = time.time() - start
    return result


def _to_device(batch: Any, device) -> Any:
    if hasattr(batch, "to"):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch
