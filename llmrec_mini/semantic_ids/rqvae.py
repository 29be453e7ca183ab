"""RQ-VAE: residual-quantised autoencoder that turns item embeddings into semantic IDs (TIGER §3.1).

Paper: Rajput et al., "Recommender Systems with Generative Retrieval", NeurIPS 2023 (arXiv 2305.05065).

An MLP encoder maps an item embedding x to a latent z. m codebooks quantise z *residually*:

    r_0 = z,   c_d = argmin_k ||r_d - e^d_k||^2,   r_{d+1} = r_d - e^d_{c_d}       (d = 0..m-1)
    z_hat = sum_d e^d_{c_d},   x_hat = Decoder(z_hat)

and the tuple (c_0, ..., c_{m-1}) is the item's semantic ID: coarse first, finer after. Loss:

    L = ||x - x_hat||^2 + sum_d ( ||sg[r_d] - e^d_{c_d}||^2 + beta * ||r_d - sg[e^d_{c_d}]||^2 ),  beta = 0.25

with the straight-through estimator carrying the reconstruction gradient past the argmin.
Against codebook collapse (the #1 failure, see research notes): k-means initialisation of every
level on the first batch (as in the paper), dead-code reset, optional input standardisation, and
per-epoch logging of codebook usage, perplexity and the unique-ID rate.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from ..config import Settings


@dataclass
class RQVAEConfig(Settings):
    levels: int = 3  # m
    codebook_size: int = 256  # K
    latent_dim: int = 32
    hidden_dims: tuple[int, ...] = (512, 256, 128)  # encoder in -> 512 -> 256 -> 128 -> latent; decoder mirrors
    beta: float = 0.25  # commitment weight
    standardize: bool = True  # z-score every input dimension (unit-norm sentence vectors have tiny per-dim scale)
    epochs: int = 200
    batch_size: int = 1024
    # The paper trains with Adagrad, lr 0.4, for 20k epochs. On unit-norm sentence embeddings that
    # setting collapsed the codebooks in a public reimplementation log (research notes, TIGER
    # pitfalls); AdamW 1e-3 with standardised inputs and dead-code reset trains stably in minutes.
    optimizer: Literal["adamw", "adam", "adagrad"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    kmeans_init: bool = True
    dead_code_reset: bool = True
    patience: int | None = None  # early stop after this many epochs without a lower full-data loss; None = off
    seed: int = 0
    device: str = "cpu"  # "cpu" | "cuda" | "auto"


def mlp(dims: list[int]) -> nn.Sequential:
    """Linear+ReLU layers through ``dims``; no activation after the last layer."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ResidualQuantizer(nn.Module):
    """m codebooks applied to successive residuals; level d has ``sizes[d]`` codes (one size for all,
    or one per level: PLUM's multi-resolution codebooks). Stored as one (m, max K, latent) tensor;
    codes beyond a level's size are never chosen."""

    def __init__(self, levels: int, codebook_size, dim: int, beta: float):
        super().__init__()
        self.beta = beta
        self.sizes = [int(codebook_size)] * levels if np.isscalar(codebook_size) else [int(k) for k in codebook_size]
        if len(self.sizes) != levels:
            raise ValueError(f"got {len(self.sizes)} codebook sizes for {levels} levels")
        self.codebooks = nn.Parameter(torch.randn(levels, max(self.sizes), dim) * 0.1)  # e^d_k

    def quantize_levels(self, z: torch.Tensor):
        """z (B, latent) -> per-level codewords [(B, latent)] * m, codes (B, m), rq loss, residuals [(B, latent)] * m."""
        residual, loss = z, z.new_zeros(())
        parts, codes, residuals = [], [], []
        for book, k in zip(self.codebooks, self.sizes):
            book = book[:k]  # (K_d, latent)
            c = torch.cdist(residual.detach(), book.detach()).argmin(1)  # c_d = argmin ||r_d - e||  (B,)
            e = book[c]  # (B, latent)
            loss = loss + ((residual.detach() - e) ** 2).sum(-1).mean()  # codebook: ||sg[r_d] - e||^2
            loss = loss + self.beta * ((residual - e.detach()) ** 2).sum(-1).mean()  # commitment
            parts.append(e)
            codes.append(c)
            residuals.append(residual)
            residual = residual - e  # r_{d+1} = r_d - e_{c_d}
        return parts, torch.stack(codes, 1), loss, residuals

    def forward(self, z: torch.Tensor):
        """z (B, latent) -> z_hat (B, latent), codes (B, m), rq loss (scalar), residuals [(B, latent)] * m."""
        parts, codes, loss, residuals = self.quantize_levels(z)
        return torch.stack(parts).sum(0), codes, loss, residuals

    @torch.no_grad()
    def kmeans_init(self, z: torch.Tensor, seed: int = 0) -> None:
        """Set every codebook to the k-means centroids of its level's residuals of ``z`` (B >= K)."""
        from .rq_kmeans import kmeans

        residual = z.detach().cpu().numpy()
        for d, k in enumerate(self.sizes):
            centroids, labels = kmeans(residual, k, seed=seed + d)
            self.codebooks.data[d, :k] = torch.from_numpy(centroids).to(self.codebooks.device)
            residual = residual - centroids[labels]

    def used_mask(self) -> torch.Tensor:
        """(m, max K) all False, for tracking the codes a pass chooses (padding slots count as used)."""
        k = torch.arange(self.codebooks.shape[1])[None, :] >= torch.tensor(self.sizes)[:, None]
        return k.to(self.codebooks.device)

    @torch.no_grad()
    def reset_dead(self, dead: torch.Tensor, residuals: list[torch.Tensor], generator: torch.Generator) -> list[int]:
        """Move unused codes (dead: (m, K) bool) onto random residuals of a batch; returns counts per level."""
        counts = []
        for d, r in enumerate(residuals):
            idx = dead[d, :self.sizes[d]].nonzero().squeeze(1)
            if len(idx):
                pick = torch.randint(len(r), (len(idx),), generator=generator)
                noise = 1e-3 * torch.randn(len(idx), r.shape[1], generator=generator)
                self.codebooks.data[d, idx] = r[pick].detach().cpu().to(self.codebooks.dtype).to(self.codebooks.device) \
                    + noise.to(self.codebooks.device)
            counts.append(int(len(idx)))
        return counts


class RQVAE(nn.Module):
    """Encoder MLP -> residual quantizer -> decoder MLP, on (optionally standardised) inputs."""

    def __init__(self, input_dim: int, config: RQVAEConfig):
        super().__init__()
        self.config = config
        dims = [input_dim, *config.hidden_dims, config.latent_dim]
        self.encoder, self.decoder = mlp(dims), mlp(dims[::-1])
        self.quantizer = ResidualQuantizer(config.levels, config.codebook_size, config.latent_dim, config.beta)
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))

    def set_standardizer(self, x: torch.Tensor) -> None:
        if self.config.standardize:
            self.mean.copy_(x.mean(0))
            self.std.copy_(x.std(0) + 1e-6)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder((x - self.mean) / self.std)  # (B, latent)

    def forward(self, x: torch.Tensor) -> dict:
        """x (B, input_dim) -> dict(x_hat, codes (B, m), residuals, recon, rq, loss)."""
        z = self.encode(x)
        z_hat, codes, rq_loss, residuals = self.quantizer(z)
        z_q = z + (z_hat - z).detach()  # straight-through: forward uses z_hat, gradient flows to z
        x_hat = self.decoder(z_q)
        recon = ((x_hat - (x - self.mean) / self.std) ** 2).sum(-1).mean()  # ||x - x_hat||^2
        return {"x_hat": x_hat, "codes": codes, "residuals": residuals, "recon": recon, "rq": rq_loss,
                "loss": recon + rq_loss, "latent_sq": (z.detach() ** 2).sum(-1).mean()}  # ||z||^2: the latent's scale

    @torch.no_grad()
    def codes(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        return torch.cat([self.quantizer(self.encode(xb))[1] for xb in x.split(batch_size)])  # (n, m)


class RQVAEQuantizer:
    """Train an RQ-VAE on item embeddings: ``fit(embeddings) -> codes (n_items, levels)``.

    Keyword arguments override `RQVAEConfig` fields. Training runs in the shared loop
    (`llmrec_mini.train.train_model`): its ``make_batches`` hook resets dead codes at the start of
    each epoch, its ``validate`` hook logs codebook health on all items at the end of each epoch.
    After `fit`, ``model`` is the trained `RQVAE` (weights of the epoch with the lowest full-data
    loss) and ``history`` holds one dict per epoch: loss, recon, rq (all items), train_loss, usage
    and perplexity per level, unique-ID rate, ``dead`` (codes unused in the epoch, per level) and
    ``dead_reset`` (codes moved onto residuals at the start of the epoch, per level).
    """

    method = "rqvae"
    Config = RQVAEConfig  # the settings class (SID-v2 extends it)

    def __init__(self, config: RQVAEConfig | None = None, progress: bool = True, **overrides):
        self.config = self.Config(**{**asdict(config or self.Config()), **overrides})
        self.progress = progress
        self.model: RQVAE | None = None
        self.history: list[dict] = []

    def fit(self, embeddings: np.ndarray) -> np.ndarray:
        from ..utils import get_device

        cfg, device = self.config, get_device(self.config.device)
        x = torch.as_tensor(np.asarray(embeddings, dtype=np.float32)).to(device)  # (n, d)
        self._check_size(len(x))
        torch.manual_seed(cfg.seed)
        model = RQVAE(x.shape[1], cfg).to(device)
        model.set_standardizer(x)
        self.train(model, lambda idx: x[idx], len(x))
        return self.encode(embeddings)

    def _check_size(self, n: int) -> None:
        if n < max(np.atleast_1d(self.codebook_sizes())):
            raise ValueError(f"an RQ-VAE with codebooks of {max(np.atleast_1d(self.codebook_sizes()))} codes needs at "
                             f"least that many items, got {n}; lower codebook_size")

    def codebook_sizes(self) -> list[int]:
        return [self.config.codebook_size] * self.config.levels

    def train(self, model, inputs, n: int, extra_loss=None) -> None:
        """The shared loop for any residual-quantised autoencoder ``model`` (this one, SID-v2):
        ``inputs(idx)`` is the model's input for item indices idx, ``model(input)`` returns a dict with
        loss, recon, rq, latent_sq, codes and residuals, ``model.encode(input)`` the latents;
        ``extra_loss(module)``, if given, is added to every batch's loss (SID-v2's contrastive term)."""
        from ..train import TrainConfig, train_model
        from .stats import collision_stats, level_stats

        cfg, device = self.config, next(model.parameters()).device
        sizes = self.codebook_sizes()
        gen = torch.Generator().manual_seed(cfg.seed)
        self.model = model
        opt_cls = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad}[cfg.optimizer]
        opt = opt_cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.kmeans_init:  # k-means on the first (large) batch, level by level
            first = torch.randperm(n, generator=gen)[: max(cfg.batch_size, max(sizes))]
            with torch.no_grad():
                model.quantizer.kmeans_init(model.encode(inputs(first.to(device))), seed=cfg.seed)
        self.history = []
        track: dict = {"used": None, "residuals": None, "reset": [0] * cfg.levels}

        def make_batches(epoch: int):  # epoch start: move the codes the previous epoch never chose
            track["reset"] = [0] * cfg.levels
            if cfg.dead_code_reset and track["used"] is not None and not track["used"].all():
                track["reset"] = model.quantizer.reset_dead(~track["used"], track["residuals"], gen)
            track["used"] = model.quantizer.used_mask()
            return torch.randperm(n, generator=gen).split(cfg.batch_size)  # item indices

        def loss_fn(module, idx):
            out = module(inputs(idx.to(device)))
            track["used"].scatter_(1, out["codes"].T, True)  # codes chosen this epoch, per level
            track["residuals"] = [r.detach() for r in out["residuals"]]  # last batch's r_d, for resets
            return out["loss"] + (extra_loss(module) if extra_loss is not None else 0.0)

        def validate(module) -> float:  # epoch end: codebook health on all items
            ev = self.evaluate(module, inputs, n)
            stats = level_stats(ev["codes"], sizes)
            self.history.append({"epoch": len(self.history), **{k: v for k, v in ev.items() if k != "codes"},
                                 "usage": stats["usage"], "perplexity": stats["perplexity"],
                                 "unique_rate": collision_stats(ev["codes"])["unique_rate"],
                                 "dead": (~track["used"]).sum(1).tolist(), "dead_reset": track["reset"]})
            return -ev["loss"]  # train_model keeps the epoch with the lowest full-data loss

        tc = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                         patience=cfg.patience or cfg.epochs, grad_clip=None, seed=cfg.seed, device=cfg.device,
                         progress=self.progress)
        self.result = train_model(model, make_batches, loss_fn, tc, validate=validate, optimizer=opt, desc=self.label)
        for row, logged in zip(self.history, self.result.history):
            row["train_loss"] = logged["loss"]  # mean over the epoch's batches
        self.best_epoch = self.result.best_epoch  # the weights kept (may precede the last epoch)

    label = "RQ-VAE"

    @staticmethod
    @torch.no_grad()
    def evaluate(model, inputs, n: int, batch_size: int = 4096) -> dict:
        """The model's scalar losses averaged over all n items, and their codes (n, m) as numpy."""
        was = model.training
        model.eval()
        outs = [(model(inputs(idx)), len(idx)) for idx in torch.arange(n).split(batch_size)]
        model.train(was)
        keys = [k for k, v in outs[0][0].items() if torch.is_tensor(v) and v.ndim == 0]
        mean = {k: sum(float(o[k]) * m for o, m in outs) / n for k in keys}
        return {**mean, "codes": torch.cat([o["codes"] for o, _ in outs]).cpu().numpy()}

    def encode(self, embeddings: np.ndarray) -> np.ndarray:
        """Codes of (possibly new) items with the trained model: (n, d) -> (n, levels) int64."""
        if self.model is None:
            raise RuntimeError("call fit(embeddings) before encode()")
        self.model.eval()
        x = torch.as_tensor(np.asarray(embeddings, dtype=np.float32)).to(next(self.model.parameters()).device)
        return self.model.codes(x).cpu().numpy().astype(np.int64)
