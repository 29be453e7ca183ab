"""SID-v2: PLUM's semantic-ID tokenizer (He et al., Google DeepMind / YouTube, arXiv 2510.07784, §3.1).

SID-v1 is TIGER's RQ-VAE on one content embedding (`rqvae`). SID-v2 changes four things:

1. **Fused modalities.** Each item has M embeddings x_1..x_M, here its text embedding and a
   *collaborative* embedding learned from the training sequences only (`cooccurrence_embeddings`:
   PPMI of items co-occurring within a window, reduced by SVD). Each goes through its own encoder,
   the results are concatenated and projected to one latent::

       z = W [E_1(x_1), ..., E_M(x_M)],   L_recon = sum_m ||x_m - D_m(z_q)||^2 / d_m

   and the decoder reconstructs every modality (each term divided by its width, so no modality
   dominates by size).
2. **Multi-resolution codebooks.** Level l has K_l = K_1 / 2^(l-1) codes (PLUM: 2048, 1024, ...):
   coarse levels get the large codebooks.
3. **Progressive masking.** Per item and step, r ~ U{1..L}; the decoder sees only the first r
   levels, z_q = sum_{l <= r} e_l (straight-through), so every prefix of an ID must reconstruct
   the item on its own.
4. **Co-occurrence contrastive loss.** For a batch of N_b co-interacted pairs (a, b) (within
   ``cooc_window`` events of each other in a training sequence; `cooccurrence_pairs`), InfoNCE over
   the 2 N_b latents p = normalise(z) with cosine similarity and temperature tau::

       L_con = -1/(2N_b) sum_i log( exp(p_i . p_i+ / tau) / sum_{j != i} exp(p_i . p_j / tau) )

Total: L = L_recon + L_rq + w_con L_con, with TIGER's codebook and commitment terms in L_rq.
The paper leaves sim, tau and the masking boundary unstated: cosine, tau = 0.1 and "the first r
levels" are the choices here. Training is the RQ-VAE's loop (`RQVAEQuantizer.train`: k-means
initialisation, dead-code reset, per-epoch codebook health).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .rqvae import RQVAEConfig, RQVAEQuantizer, ResidualQuantizer, mlp


@dataclass
class SIDv2Config(RQVAEConfig):
    multi_resolution: bool = True  # K_l = codebook_size / 2^(l-1); False: every level has codebook_size codes
    progressive_masking: bool = True
    contrastive_weight: float = 1.0  # 0 switches the co-occurrence InfoNCE off
    temperature: float = 0.1
    pairs_per_batch: int = 256  # N_b co-interacted pairs per step
    hidden_dims: tuple[int, ...] = (256, 128)  # each modality encoder: d_m -> 256 -> 128; the decoder mirrors

    def check(self) -> None:
        super().check()
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.contrastive_weight < 0:
            raise ValueError(f"contrastive_weight must be >= 0, got {self.contrastive_weight}")
        if self.pairs_per_batch < 1:
            raise ValueError(f"pairs_per_batch must be at least 1, got {self.pairs_per_batch}")
        if self.multi_resolution and self.codebook_size >> (self.levels - 1) < 2:
            raise ValueError(f"multi-resolution codebooks halve per level: codebook_size={self.codebook_size} "
                             f"leaves fewer than 2 codes at level {self.levels}")

    def sizes(self) -> list[int]:
        return [self.codebook_size >> (l if self.multi_resolution else 0) for l in range(self.levels)]


# ------------------------------------------------------------------------------ co-occurrence from training data
def cooccurrence_pairs(sequences, n_items: int, window: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Unordered pairs (a < b) of distinct items within ``window`` events of each other in any
    sequence, and how often: ((P, 2) int64, (P,) int64). Pass training sequences only."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    codes = []
    for s in sequences:
        s = np.asarray(s, dtype=np.int64)
        for gap in range(1, min(window, len(s) - 1) + 1):
            a, b = np.minimum(s[:-gap], s[gap:]), np.maximum(s[:-gap], s[gap:])
            codes.append((a * n_items + b)[a != b])
    if not codes or not sum(len(c) for c in codes):
        return np.zeros((0, 2), np.int64), np.zeros(0, np.int64)
    uniq, counts = np.unique(np.concatenate(codes), return_counts=True)
    return np.stack([uniq // n_items, uniq % n_items], 1), counts


def cooccurrence_embeddings(sequences, n_items: int, dim: int = 64, window: int = 3, seed: int = 0) -> np.ndarray:
    """A collaborative item embedding (n_items, dim) from training sequences: positive PMI of the
    co-occurrence counts, reduced by randomised SVD (U sqrt(S)); items never co-occurring get zeros."""
    pairs, counts = cooccurrence_pairs(sequences, n_items, window)
    out = np.zeros((n_items, dim), dtype=np.float32)
    if not len(pairs):
        return out
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    c = np.concatenate([counts, counts]).astype(np.float64)
    item_total, total = np.bincount(rows, weights=c, minlength=n_items), c.sum()
    pmi = np.log(c * total / (item_total[rows] * item_total[cols]))
    keep = pmi > 0
    index = torch.as_tensor(np.stack([rows[keep], cols[keep]]))
    m = torch.sparse_coo_tensor(index, torch.as_tensor(pmi[keep]), (n_items, n_items),
                                check_invariants=True).coalesce()
    q = min(dim, n_items)
    torch.manual_seed(seed)
    u, s, _ = torch.svd_lowrank(m.float(), q=q, niter=4)
    out[:, :q] = (u * s.sqrt()).numpy()
    return out


# ------------------------------------------------------------------------------ the model
class SIDv2(nn.Module):
    """Per-modality encoders -> concat -> projection -> multi-resolution residual quantizer ->
    shared decoder -> one head per modality. Input: a list of (B, d_m) tensors."""

    def __init__(self, dims: list[int], config: SIDv2Config):
        super().__init__()
        self.config, self.dims = config, list(dims)
        h = list(config.hidden_dims)
        self.encoders = nn.ModuleList([mlp([d, *h]) for d in dims])
        self.project = nn.Linear(h[-1] * len(dims), config.latent_dim)
        self.decoder = mlp([config.latent_dim, *h[::-1]])
        self.heads = nn.ModuleList([nn.Linear(h[0], d) for d in dims])
        self.quantizer = ResidualQuantizer(config.levels, config.sizes(), config.latent_dim, config.beta)
        for m, d in enumerate(dims):
            self.register_buffer(f"mean{m}", torch.zeros(d))
            self.register_buffer(f"std{m}", torch.ones(d))

    def set_standardizer(self, xs: list[torch.Tensor]) -> None:
        if self.config.standardize:
            for m, x in enumerate(xs):
                getattr(self, f"mean{m}").copy_(x.mean(0))
                getattr(self, f"std{m}").copy_(x.std(0) + 1e-6)

    def standardized(self, xs):
        return [(x - getattr(self, f"mean{m}")) / getattr(self, f"std{m}") for m, x in enumerate(xs)]

    def encode(self, xs) -> torch.Tensor:
        """z = W [E_1(x_1), ..., E_M(x_M)]  (B, latent)"""
        xs = self.standardized(xs)
        return self.project(torch.cat([F.relu(enc(x)) for enc, x in zip(self.encoders, xs)], -1))

    def forward(self, xs, r: torch.Tensor | None = None) -> dict:
        """Losses and codes; ``r`` (B,) levels the decoder sees (default: drawn if progressive masking
        is on and the module is training, else all levels)."""
        z = self.encode(xs)
        parts, codes, rq, residuals = self.quantizer.quantize_levels(z)
        L = len(parts)
        if r is None:
            r = torch.randint(1, L + 1, (len(z),), device=z.device) if self.training and self.config.progressive_masking \
                else torch.full((len(z),), L, device=z.device)
        keep = (torch.arange(L, device=z.device)[None, :] < r[:, None]).float()  # m_l = 1[l < r] (0-based l)
        z_hat = (torch.stack(parts, 1) * keep[..., None]).sum(1)
        z_q = z + (z_hat - z).detach()  # straight-through
        y = F.relu(self.decoder(z_q))
        recon = sum(((head(y) - x) ** 2).sum(-1).mean() / d
                    for head, x, d in zip(self.heads, self.standardized(xs), self.dims))
        return {"codes": codes, "residuals": residuals, "recon": recon, "rq": rq, "loss": recon + rq,
                "latent_sq": (z.detach() ** 2).sum(-1).mean()}

    def contrastive_loss(self, xa, xb, temperature: float) -> torch.Tensor:
        """InfoNCE over the 2 N_b latents of N_b co-interacted pairs (cosine similarity / tau)."""
        p = F.normalize(torch.cat([self.encode(xa), self.encode(xb)]), dim=-1)  # (2N, latent)
        n = len(p) // 2
        sim = p @ p.T / temperature
        sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=p.device), float("-inf"))
        positive = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(p.device)
        return F.cross_entropy(sim, positive)


class SIDv2Quantizer(RQVAEQuantizer):
    """``fit(modalities, pairs)`` -> codes (n_items, levels); ``encode(modalities)`` for any items.

    ``modalities``: a list of (n_items, d_m) arrays (text, collaborative, ...); ``pairs``: (P, 2)
    co-interacted item pairs from training data (`cooccurrence_pairs`), drawn uniformly per step."""

    method = "sid-v2"
    label = "SID-v2"
    Config = SIDv2Config

    def codebook_sizes(self) -> list[int]:
        return self.config.sizes()

    def fit(self, modalities, pairs=None) -> np.ndarray:
        from ..utils import get_device

        cfg, device = self.config, get_device(self.config.device)
        xs = self._tensors(modalities, device)
        self._check_size(len(xs[0]))
        torch.manual_seed(cfg.seed)
        model = SIDv2([x.shape[1] for x in xs], cfg).to(device)
        model.set_standardizer(xs)
        extra = None
        pairs = np.zeros((0, 2), np.int64) if pairs is None else np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if len(pairs) and (pairs.min() < 0 or pairs.max() >= len(xs[0])):
            raise ValueError(f"pairs must hold item indices in [0, {len(xs[0])})")
        if cfg.contrastive_weight > 0 and len(pairs):
            gen = torch.Generator().manual_seed(cfg.seed + 1)
            pt = torch.as_tensor(pairs, device=device)

            def extra(module):
                pick = pt[torch.randint(len(pt), (min(cfg.pairs_per_batch, len(pt)),), generator=gen).to(device)]
                return cfg.contrastive_weight * module.contrastive_loss(
                    [x[pick[:, 0]] for x in xs], [x[pick[:, 1]] for x in xs], cfg.temperature)

        self.train(model, lambda idx: [x[idx] for x in xs], len(xs[0]), extra_loss=extra)
        return self.encode(modalities)

    def encode(self, modalities) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("call fit(modalities, pairs) before encode()")
        self.model.eval()
        xs = self._tensors(modalities, next(self.model.parameters()).device)
        with torch.no_grad():
            return torch.cat([self.model.quantizer(self.model.encode([x[i] for x in xs]))[1]
                              for i in torch.arange(len(xs[0])).split(4096)]).cpu().numpy().astype(np.int64)

    def pair_similarity(self, modalities, pairs) -> np.ndarray:
        """Cosine similarity of the latents of each pair (P,): what the contrastive loss raises."""
        xs = self._tensors(modalities, next(self.model.parameters()).device)
        pairs = torch.as_tensor(np.asarray(pairs, dtype=np.int64))
        self.model.eval()
        with torch.no_grad():
            z = F.normalize(self.model.encode(xs), dim=-1)
            return (z[pairs[:, 0]] * z[pairs[:, 1]]).sum(-1).cpu().numpy()

    @staticmethod
    def _tensors(modalities, device) -> list[torch.Tensor]:
        xs = [np.asarray(x, dtype=np.float32) for x in modalities]
        if not xs or any(x.ndim != 2 for x in xs) or len({len(x) for x in xs}) != 1:
            raise ValueError("modalities must be a non-empty list of (n_items, d_m) arrays with the same n_items")
        if not all(np.isfinite(x).all() for x in xs):
            raise ValueError("modalities must be finite")
        return [torch.as_tensor(x, device=device) for x in xs]


__all__ = ["SIDv2Config", "SIDv2", "SIDv2Quantizer", "cooccurrence_pairs", "cooccurrence_embeddings"]
