"""Adaptive user layers: one shared network, a small user-specific change, y = f(x; theta_shared, phi_u).

`UserAdaptiveLinear` wraps a linear layer ``h = W0 x`` and adds a user's term in one of five ways
(../shared/research/methods_part2.md §8):

* ``lora_bank`` — one LoRA per user (OPPU, Tan et al., EMNLP 2024, arXiv 2402.04401):
  ``h = W0 x + s B_u A_u x`` with a bank A (U, r, d_in), B (U, d_out, r), gathered with einsum;
  r (d_in + d_out) parameters per user, nothing for a user the bank never trained.
* ``plora`` — a shared LoRA fed a user embedding (PLoRA, AAAI 2024, arXiv 2403.06208):
  ``h = W0 x + s B (A x + P p_u)``; A, B, P shared, p_u (d_user numbers) per user, zero at start.
* ``moe_lora`` — a mixture of LoRA experts gated by the user's sequence representation z
  (iLoRA, NeurIPS 2024, arXiv 2408.10159): ``dW(z) = sum_k softmax(W_g z)_k B_k A_k``.
* ``hyper`` — a hypernetwork writes the user's low-rank update (in the spirit of APG, arXiv
  2203.16218): ``A(z), B(z) = H(z)``, ``h = W0 x + s B(z) A(z) x``.
* ``film`` — FiLM (Perez et al., arXiv 1709.07871) with PEPNet's gate (arXiv 2302.01115):
  ``h = gamma(z) * W0 x + beta(z)``, ``gamma = 2 sigmoid(W_g z + b_g)`` in (0, 2).

Every mode starts as the identity of the base layer (B = 0, p_u = 0, the hypernetwork's B-generator
= 0, FiLM (gamma, beta) = (1, 0)), so an untrained adaptive model equals its backbone exactly. A
*cold* user (index -1, or >= n_users) gets the shared path: W0 x (+ s B A x for PLoRA); the three
z-conditioned modes keep no per-user parameters at all, so every user, warm or cold, is served by
the same function of its history.

`AdaptiveSASRec` (registered as ``sasrec-adaptive``) puts the layer on SASRec's final hidden state,
between the Transformer and the item scores: base W0 = the identity (frozen, so ``mode="none"`` and
every mode share the same backbone capacity), x = h_t and z = h_t (the user's sequence state at
step t). Training examples carry the user index; the per-user parameters are pulled towards the
shared model by ``user_l2 * ||dW_u||^2`` (lora_bank) or ``user_l2 * ||p_u||^2`` (plora), the
regulariser the notes ask for against per-user overfitting. `cold_user_split` holds a share of
users out of training entirely (their test histories are read only at inference).

Deviations: one adaptive layer at the output, not a LoRA on every projection of an LLM; OPPU
trains each user's LoRA after the base, here the bank trains jointly with the backbone; PLoRA's
personalised dropout and mutual-information loss for cold users are left out; the hypernetwork is
one linear map per factor. The same layer wraps any ``nn.Linear`` of a causal LM (the tests put a
per-user bank on the output head of a frozen `llmrec_mini.llm.tiny_lm`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from ..data.sequences import EvalSet, Split, pad_left, training_windows
from .base import parameter_counts
from .sasrec import SASRec, SASRecConfig
from .sasrec import _module as sasrec_module

MODES = ("lora_bank", "plora", "moe_lora", "hyper", "film")
Z_MODES = ("moe_lora", "hyper", "film")  # conditioned on the sequence representation z


def _positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class UserAdaptiveLinear(nn.Module):
    """``base`` (an nn.Linear, W0) plus a user-adaptive term; see the module docstring.

    ``forward(x, users=None, z=None)``: x (B, ..., d_in); users (B,) user indices (-1 or >= n_users:
    cold; None: all cold); z (B, d_z) or (B, ..., d_z), needed by moe_lora, hyper and film.
    """

    def __init__(self, base: nn.Linear, mode: str, n_users: int = 0, rank: int = 4, d_user: int = 16,
                 n_experts: int = 4, d_z: int | None = None, scale: float = 1.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise ValueError(f"base must be a torch.nn.Linear, got {type(base).__name__}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)) or n_users < 0:
            raise ValueError(f"n_users must be an integer >= 0, got {n_users!r}")
        for name, value in (("rank", rank), ("d_user", d_user), ("n_experts", n_experts)):
            _positive_int(name, value)
        d_in, d_out = base.in_features, base.out_features
        d_z = d_in if d_z is None else d_z
        _positive_int("d_z", d_z)
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        self.base, self.mode, self.n_users, self.rank, self.scale = base, mode, int(n_users), rank, float(scale)
        self.d_user, self.n_experts, self.d_z = d_user, n_experts, d_z
        std = 1 / math.sqrt(d_in)  # A: random (LoRA's init); B: zero, so dW = B A = 0 at start
        if mode == "lora_bank":
            self.A = nn.Parameter(torch.randn(n_users, rank, d_in) * std)
            self.B = nn.Parameter(torch.zeros(n_users, d_out, rank))
        elif mode == "plora":
            self.A = nn.Parameter(torch.randn(rank, d_in) * std)
            self.B = nn.Parameter(torch.zeros(d_out, rank))
            self.P = nn.Parameter(torch.randn(rank, d_user) / math.sqrt(d_user))
            self.user_embedding = nn.Parameter(torch.zeros(n_users, d_user))  # p_u, zero-initialised
        elif mode == "moe_lora":
            self.A = nn.Parameter(torch.randn(n_experts, rank, d_in) * std)
            self.B = nn.Parameter(torch.zeros(n_experts, d_out, rank))
            self.gate = nn.Linear(d_z, n_experts)  # W_g
        elif mode == "hyper":
            self.make_A = nn.Linear(d_z, rank * d_in)  # H: z -> A(z), B(z)
            self.make_B = nn.Linear(d_z, d_out * rank)
            nn.init.normal_(self.make_A.weight, std=std / math.sqrt(d_z))
            nn.init.normal_(self.make_A.bias, std=std)
            nn.init.zeros_(self.make_B.weight), nn.init.zeros_(self.make_B.bias)  # B(z) = 0: dW = 0 at start
        else:  # film
            self.film_gamma, self.film_beta = nn.Linear(d_z, d_out), nn.Linear(d_z, d_out)
            for layer in (self.film_gamma, self.film_beta):  # gamma = 2 sigmoid(0) = 1, beta = 0
                nn.init.zeros_(layer.weight), nn.init.zeros_(layer.bias)

    # ------------------------------------------------------------------ pieces
    def warm(self, users, batch: int) -> torch.Tensor:
        """(B,) bool: which rows have a trained per-user entry (index in 0..n_users-1)."""
        device = self.base.weight.device
        if users is None:
            return torch.zeros(batch, dtype=torch.bool, device=device)
        users = torch.as_tensor(users, device=device).long()
        if users.shape != (batch,):
            raise ValueError(f"users must hold one index per row: shape ({batch},), got {tuple(users.shape)}")
        return (users >= 0) & (users < self.n_users)

    def gates(self, z) -> torch.Tensor:
        """moe_lora's expert weights softmax(W_g z), (..., n_experts); each row sums to 1."""
        return torch.softmax(self.gate(z), dim=-1)

    def film(self, z) -> tuple[torch.Tensor, torch.Tensor]:
        """film's (gamma, beta): gamma = 2 sigmoid(W_g z + b_g) in (0, 2) (PEPNet's gate), beta linear in z."""
        return 2 * torch.sigmoid(self.film_gamma(z)), self.film_beta(z)

    def parameters_per_user(self) -> int:
        """Numbers stored for each user: r (d_in + d_out) for lora_bank, d_user for plora, else 0."""
        if self.mode == "lora_bank":
            return self.rank * (self.base.in_features + self.base.out_features)
        return self.d_user if self.mode == "plora" else 0

    def penalty(self, users) -> torch.Tensor:
        """Distance of the batch's warm users from the shared model: mean ||s B_u A_u||_F^2 (lora_bank),
        mean ||p_u||^2 (plora); 0 for the modes with no per-user parameters."""
        zero = self.base.weight.new_zeros(())
        if self.mode not in ("lora_bank", "plora") or users is None:
            return zero
        users = torch.as_tensor(users, device=self.base.weight.device).long()
        users = torch.unique(users[(users >= 0) & (users < self.n_users)])
        if len(users) == 0:
            return zero
        if self.mode == "lora_bank":
            return (self.scale * self.B[users] @ self.A[users]).pow(2).sum((1, 2)).mean()
        return self.user_embedding[users].pow(2).sum(1).mean()

    # ------------------------------------------------------------------ forward
    def forward(self, x, users=None, z=None):
        y = self.base(x)  # W0 x: the shared path
        b, d_in = x.shape[0], x.shape[-1]
        xb = x.reshape(b, -1, d_in)  # (B, N, d_in): N positions per user row
        n = xb.shape[1]
        if self.mode in Z_MODES:
            if z is None:
                raise ValueError(f"mode {self.mode!r} needs z, the user's sequence representation (B, ..., {self.d_z})")
            if z.shape[0] != b or z.shape[-1] != self.d_z or (z.dim() > 2 and z.shape[:-1] != x.shape[:-1]):
                raise ValueError(f"z must have shape ({b}, {self.d_z}) or {tuple(x.shape[:-1]) + (self.d_z,)}, "
                                 f"got {tuple(z.shape)}")
            zb = z.reshape(b, -1, self.d_z).expand(b, n, self.d_z)
        if self.mode == "film":  # h = gamma(z) * W0 x + beta(z)
            gamma, beta = self.film(zb)
            return (gamma * y.reshape(b, n, -1) + beta).reshape(y.shape)
        if self.mode == "lora_bank":  # s B_u A_u x, the user's own pair gathered from the bank
            warm = self.warm(users, b)
            u = torch.where(warm, torch.as_tensor(users, device=x.device).long(), 0) if users is not None \
                else torch.zeros(b, dtype=torch.long, device=x.device)
            ax = torch.einsum("bnd,brd->bnr", xb, self.A[u])
            delta = torch.einsum("bnr,bor->bno", ax, self.B[u]) * warm[:, None, None]
        elif self.mode == "plora":  # s B (A x + P p_u); p_u = 0 for a cold user
            warm = self.warm(users, b)
            u = torch.where(warm, torch.as_tensor(users, device=x.device).long(), 0) if users is not None \
                else torch.zeros(b, dtype=torch.long, device=x.device)
            p = self.user_embedding[u] * warm[:, None]  # (B, d_user)
            delta = (xb @ self.A.T + (p @ self.P.T)[:, None, :]) @ self.B.T
        elif self.mode == "moe_lora":  # sum_k g_k(z) B_k A_k x
            ax = torch.einsum("bnd,krd->bnkr", xb, self.A)
            delta = torch.einsum("bnkr,kor,bnk->bno", ax, self.B, self.gates(zb))
        else:  # hyper: B(z) A(z) x with A(z), B(z) written by H
            a = self.make_A(zb).view(b, n, self.rank, d_in)
            bm = self.make_B(zb).view(b, n, -1, self.rank)
            delta = torch.einsum("bnor,bnr->bno", bm, torch.einsum("bnrd,bnd->bnr", a, xb))
        return y + self.scale * delta.reshape(y.shape)


# ---------------------------------------------------------------------------------------- warm / cold users
def cold_user_split(split: Split, share: float = 0.2, seed: int = 0) -> tuple[Split, np.ndarray]:
    """``(split, cold_users)``: a random ``share`` of users is removed from training entirely (empty
    training sequence, no validation row); their test rows stay, so their histories are read only at
    inference. ``split.test.select(np.isin(split.test.users, cold_users))`` are the cold test users."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share}")
    n = len(split.train)
    cold = np.sort(np.random.default_rng(seed).choice(n, size=max(1, round(share * n)), replace=False))
    is_cold = np.zeros(n, dtype=bool)
    is_cold[cold] = True
    train = [s[:0] if is_cold[u] else s for u, s in enumerate(split.train)]
    valid = split.valid.select(~is_cold[split.valid.users]) if len(split.valid) else split.valid
    test = EvalSet(split.test.users, split.test.histories, split.test.targets)
    return Split(split.n_items, train, valid, test, f"{split.protocol}+cold-users", split.cold_items), cold


# ---------------------------------------------------------------------------------------- adaptive SASRec
@dataclass
class AdaptiveSASRecConfig(SASRecConfig):
    mode: Literal["none", "lora_bank", "plora", "moe_lora", "hyper", "film"] = "plora"
    rank: int = 4  # r of the LoRA factors (lora_bank, plora, moe_lora, hyper)
    d_user: int = 16  # size of PLoRA's user embedding p_u
    n_experts: int = 4  # moe_lora (iLoRA's best)
    lora_scale: float = 1.0  # s
    user_l2: float = 1e-3  # weight of the pull of per-user parameters towards the shared model

    def check(self) -> None:
        super().check()
        for name in ("rank", "d_user", "n_experts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lora_scale <= 0:
            raise ValueError(f"lora_scale must be positive, got {self.lora_scale}")
        if self.user_l2 < 0:
            raise ValueError(f"user_l2 must be >= 0, got {self.user_l2}")


def _module(n_items: int, n_users: int, c: AdaptiveSASRecConfig):
    class AdaptiveSASRecModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = sasrec_module(n_items, c)  # first: same seed, same weights as plain SASRec
            self.adapt = None
            if c.mode != "none":
                head = nn.Linear(c.d_model, c.d_model, bias=False)  # W0 = I, frozen
                with torch.no_grad():
                    head.weight.copy_(torch.eye(c.d_model))
                head.weight.requires_grad_(False)
                self.adapt = UserAdaptiveLinear(head, c.mode, n_users, c.rank, c.d_user, c.n_experts,
                                                scale=c.lora_scale)

        @property
        def encoder(self):  # SASRec.attention_weights reads the Transformer layers
            return self.backbone.encoder

        def encode(self, tokens):
            return self.backbone.encode(tokens)

        def item_logits(self, h):
            return self.backbone.item_logits(h)

        def forward(self, tokens, targets=None, users=None):
            """Adapted states h'_t = U(h_t; users, z = h_t), or with ``targets`` the CE + user_l2 penalty."""
            adapt = None if self.adapt is None else (lambda h: self.adapt(h, users, z=h))
            out = self.backbone(tokens, targets, adapt=adapt)
            if targets is None or self.adapt is None or c.user_l2 == 0:
                return out
            return out + c.user_l2 * self.adapt.penalty(users)

    return AdaptiveSASRecModule()


class AdaptiveSASRec(SASRec):
    """SASRec with a user-adaptive layer on its output state (module docstring). ``mode="none"`` is the
    plain backbone. After `fit`: ``n_users`` (rows of the per-user tables) and ``trained_users``
    (bool per user: had training data); any other user is cold at recommend time."""

    name = "sasrec-adaptive"
    description = ("SASRec with a user-adaptive output layer: per-user LoRA bank, PLoRA, mixture of LoRA "
                   "experts, hypernetwork or FiLM/PEPNet gate")
    Config = AdaptiveSASRecConfig
    presets = {
        "tiny": {"d_model": 16, "n_layers": 1, "n_heads": 1, "epochs": 1, "val_users": 50},  # smoke size (tests)
    }
    published = ()  # the papers report LaMP / MovieLens numbers on LLMs, not this backbone

    def __init__(self, **params):
        super().__init__(**params)
        self.n_users = 0
        self.trained_users = np.zeros(0, dtype=bool)

    def prepare(self, split, catalog) -> None:
        self.n_users = len(split.train)
        self.trained_users = np.array([len(s) >= 2 for s in split.train], dtype=bool)

    def build(self):
        return _module(self.n_items, self.n_users, self.config)

    def parameters_per_user(self) -> int:
        """Per-user numbers of the adaptive layer (0 for the plain backbone and the z-conditioned modes)."""
        self.check_fitted()
        return 0 if self.module.adapt is None else self.module.adapt.parameters_per_user()

    def n_parameters(self) -> int:
        """Trainable parameters, the per-user tables included."""
        self.check_fitted()
        return parameter_counts(self)[1]

    def examples(self, split):
        """SASRec's windows, each with its user: ``(items, n_trained_targets, user)``."""
        c = self.config
        stride = c.window_stride or max(1, c.max_len // 2)
        return [(w, n, u) for u, s in enumerate(split.train) for w, n in training_windows([s], c.max_len, stride)]

    def collate(self, examples):
        tokens, targets = super().collate([(w, n) for w, n, _ in examples])
        return tokens, targets, torch.as_tensor([u for _, _, u in examples], dtype=torch.long)

    def loss(self, module, batch):
        tokens, targets, users = batch
        return module(tokens, targets, users)

    def model_users(self, users, n: int) -> np.ndarray:
        """The rows' indices into the per-user tables: -1 (cold) for unknown users and users never trained."""
        if users is None:
            return np.full(n, -1, dtype=np.int64)
        users = np.asarray(users, dtype=np.int64)
        known = (users >= 0) & (users < self.n_users)
        known[known] &= self.trained_users[users[known]]
        return np.where(known, users, -1)

    def score(self, histories, users=None) -> np.ndarray:
        self.check_fitted()
        length = max(1, min(self.config.max_len, max((len(h) for h in histories), default=1)))
        device = self.device()
        tokens = torch.as_tensor(pad_left(histories, length), device=device)
        rows = torch.as_tensor(self.model_users(users, len(histories)), device=device)
        with torch.no_grad():
            h = self.module(tokens, users=rows)[:, -1]
            return self.module.item_logits(h).float().cpu().numpy()

    def save_extra(self, path: Path) -> None:
        (path / "users.json").write_text(json.dumps({"n_users": self.n_users,
                                                     "trained": np.flatnonzero(self.trained_users).tolist()}))

    def load_extra(self, path: Path, catalog=None) -> None:
        from .base import CheckpointError

        file = path / "users.json"
        if not file.is_file():
            raise CheckpointError(f"{path} has no users.json (the adaptive model's user table)")
        info = json.loads(file.read_text())
        self.n_users = int(info["n_users"])
        self.trained_users = np.zeros(self.n_users, dtype=bool)
        self.trained_users[np.asarray(info["trained"], dtype=np.int64)] = True


__all__ = ["MODES", "UserAdaptiveLinear", "cold_user_split", "AdaptiveSASRec", "AdaptiveSASRecConfig"]
