"""Adaptive user layers (models/adaptive_user_layers.py): five modes of one UserAdaptiveLinear, the
adaptive SASRec, warm vs cold users, and the same layer inside a causal LM."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from llmrec_mini.data import load_dataset
from llmrec_mini.data.sequences import leave_one_out, pad_left
from llmrec_mini.data.synthetic import make_synthetic
from llmrec_mini.evaluate import evaluate_metrics
from llmrec_mini.models import get_model
from llmrec_mini.models.adaptive_user_layers import MODES, AdaptiveSASRec, UserAdaptiveLinear, cold_user_split
from llmrec_mini.models.sasrec import SASRec

pytestmark = pytest.mark.usefixtures("one_thread")
EPOCHS = 8
SMALL = {"epochs": EPOCHS, "val_users": 200, "progress": False}


def layer(mode, d_in=8, d_out=5, n_users=4, seed=0, **kw):
    torch.manual_seed(seed)
    return UserAdaptiveLinear(nn.Linear(d_in, d_out), mode, n_users=n_users, rank=3, d_user=6, n_experts=3, d_z=7,
                              **kw)


def randomise(m: UserAdaptiveLinear, seed=1):
    """Give every zero-initialised piece random values, so the adaptive term is not zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return m


# ----------------------------------------------------------------------------------------- the layer
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_starts_as_the_base_layer(mode):
    m = layer(mode)
    x, z = torch.randn(3, 6, 8), torch.randn(3, 6, 7)
    for users in (torch.tensor([0, 3, -1]), None):
        assert torch.equal(m(x, users, z), m.base(x))  # exactly W0 x: B = 0, p_u = 0, (gamma, beta) = (1, 0)
    assert torch.equal(m(x[:, 0], torch.tensor([1, 2, 9]), z[:, 0]), m.base(x[:, 0]))  # (B, d_in) input too


def test_the_bank_einsum_equals_a_per_user_loop():
    m = randomise(layer("lora_bank", n_users=5))
    x, users = torch.randn(6, 4, 8), torch.tensor([4, 0, 2, 2, -1, 7])  # two cold rows: -1 and 7 >= n_users
    expected = []
    for b, u in enumerate(users.tolist()):
        y = x[b] @ m.base.weight.T + m.base.bias
        if 0 <= u < 5:
            y = y + m.scale * x[b] @ (m.B[u] @ m.A[u]).T
        expected.append(y)
    torch.testing.assert_close(m(x, users), torch.stack(expected))


def test_plora_is_w0x_plus_s_b_of_ax_plus_p_pu_by_hand():
    m = randomise(layer("plora", scale=0.5))
    x, users = torch.randn(3, 8), torch.tensor([2, -1, 0])
    for b, u in enumerate(users.tolist()):
        p = m.user_embedding[u] if u >= 0 else torch.zeros(6)  # a cold user: p_u = 0
        h = m.base.weight @ x[b] + m.base.bias + 0.5 * m.B @ (m.A @ x[b] + m.P @ p)
        torch.testing.assert_close(m(x[b:b + 1], users[b:b + 1])[0], h)


def test_moe_hyper_and_film_by_hand_and_their_gates():
    x, z = torch.randn(4, 8), torch.randn(4, 7) * 3
    moe = randomise(layer("moe_lora"))
    g = moe.gates(z)
    torch.testing.assert_close(g.sum(-1), torch.ones(4))  # softmax weights over the experts
    assert (g > 0).all() and g.max() > 0.6  # a real choice, not uniform
    want = moe.base(x) + torch.stack([sum(g[b, k] * moe.B[k] @ moe.A[k] @ x[b] for k in range(3)) for b in range(4)])
    torch.testing.assert_close(moe(x, None, z), want)

    hyper = randomise(layer("hyper"))
    a, bm = hyper.make_A(z).view(4, 3, 8), hyper.make_B(z).view(4, 5, 3)
    torch.testing.assert_close(hyper(x, None, z), hyper.base(x) + torch.einsum("bor,brd,bd->bo", bm, a, x))

    film = randomise(layer("film"), seed=3)
    gamma, beta = film.film(z)
    assert gamma.min() > 0 and gamma.max() < 2  # PEPNet's 2 sigmoid(.) gate
    assert gamma.min() < 0.3 and gamma.max() > 1.7  # and it uses the range
    torch.testing.assert_close(film(x, torch.tensor([0, 1, 2, 3]), z), gamma * film.base(x) + beta)


def test_parameters_per_user_by_hand():
    d_in, d_out = 8, 5
    counts = {mode: layer(mode).parameters_per_user() for mode in MODES}
    assert counts == {"lora_bank": 3 * (d_in + d_out), "plora": 6, "moe_lora": 0, "hyper": 0, "film": 0}
    # the bank holds them all: U r (d_in + d_out)
    bank = layer("lora_bank", n_users=10)
    assert bank.A.numel() + bank.B.numel() == 10 * counts["lora_bank"]


def test_bad_inputs_raise_one_clear_error():
    base = nn.Linear(4, 4)
    with pytest.raises(ValueError, match="unknown mode 'lora'; choose one of lora_bank, plora"):
        UserAdaptiveLinear(base, "lora", n_users=3)
    with pytest.raises(ValueError, match="rank must be a positive integer, got 0"):
        UserAdaptiveLinear(base, "plora", n_users=3, rank=0)
    with pytest.raises(ValueError, match="n_users must be an integer >= 0"):
        UserAdaptiveLinear(base, "plora", n_users=-2)
    with pytest.raises(ValueError, match="base must be a torch.nn.Linear"):
        UserAdaptiveLinear(nn.Conv1d(4, 4, 1), "film")
    with pytest.raises(ValueError, match="mode 'moe_lora' needs z"):
        UserAdaptiveLinear(base, "moe_lora")(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"z must have shape \(2, 4\)"):
        UserAdaptiveLinear(base, "film")(torch.randn(2, 4), z=torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"users must hold one index per row: shape \(2,\)"):
        UserAdaptiveLinear(base, "lora_bank", n_users=3)(torch.randn(2, 4), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="mode"):
        get_model("sasrec-adaptive", mode="lora")
    with pytest.raises(ValueError, match="n_experts must be at least 1, got 0"):
        get_model("sasrec-adaptive", n_experts=0)
    with pytest.raises(ValueError, match=r"share must be in \(0, 1\), got 1.5"):
        cold_user_split(leave_one_out(load_dataset("synthetic", size="tiny")), share=1.5)


# ----------------------------------------------------------------------------------------- adaptive SASRec
@pytest.fixture(scope="module")
def shop():
    """600 users, 200 items; 20% of users held out of training entirely."""
    data = make_synthetic("default", n_users=600, n_items=200)
    split, cold = cold_user_split(leave_one_out(data), share=0.2)
    is_cold = np.isin(split.test.users, cold)
    pop = get_model("popularity").fit(split)
    warm_set, cold_set = split.test.select(~is_cold), split.test.select(is_cold)
    pops = {"warm": evaluate_metrics(pop, warm_set, ks=(10,)), "cold": evaluate_metrics(pop, cold_set, ks=(10,))}
    return split, cold, warm_set, cold_set, pops


@pytest.fixture(scope="module")
def trained(shop):
    split = shop[0]
    return {mode: AdaptiveSASRec(mode=mode, **SMALL).fit(split) for mode in ("none",) + MODES}


def test_cold_user_split_holds_users_out_of_training(shop):
    split, cold, _, cold_set, _ = shop
    assert len(cold) == 120 and all(len(split.train[u]) == 0 for u in cold)
    assert not np.isin(split.valid.users, cold).any()
    assert len(cold_set) == 120 and all(len(h) >= 2 for h in cold_set.histories)  # read at inference only


def test_an_untrained_adaptive_sasrec_equals_its_backbone():
    data = make_synthetic("default", n_users=60, n_items=40)
    split = leave_one_out(data)
    plain = SASRec(progress=False).untrained(split.n_items)
    h, users = split.test.histories[:20], split.test.users[:20]
    for mode in MODES:
        model = AdaptiveSASRec(mode=mode, progress=False)
        model.n_users, model.trained_users = 60, np.ones(60, dtype=bool)
        model.untrained(split.n_items)
        torch.testing.assert_close(model.score(h, users), plain.score(h), rtol=0, atol=1e-6)


def test_each_mode_trains_and_beats_popularity_on_held_out_users(shop, trained):
    _, _, warm_set, cold_set, pops = shop
    print(f"\npopularity ndcg@10 warm {pops['warm']['ndcg@10']:.4f} cold {pops['cold']['ndcg@10']:.4f}")
    for mode, model in trained.items():
        warm, cold = evaluate_metrics(model, warm_set, ks=(10,)), evaluate_metrics(model, cold_set, ks=(10,))
        losses = [row["loss"] for row in model.result.history]
        print(f"{mode:9s} ndcg@10 warm {warm['ndcg@10']:.4f} cold {cold['ndcg@10']:.4f} "
              f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")
        # measured (8 epochs, 53 s for all six): popularity warm .166 / cold .121; the modes .359-.376 warm and
        # .316-.335 cold (2.2x and 2.6x); losses 5.17 -> 3.84-4.05
        assert losses[-1] < 0.85 * losses[0] < 0.85 * math.log(200) + 0.1
        assert warm["ndcg@10"] > 1.4 * pops["warm"]["ndcg@10"], mode
        assert cold["ndcg@10"] > 1.4 * pops["cold"]["ndcg@10"], mode
        assert warm["recall@10"] > 1.3 * pops["warm"]["recall@10"], mode


def test_parameter_counts_of_the_adaptive_sasrec(trained):
    none = trained["none"].n_parameters()
    d, r, n_users = 64, 4, 600
    assert {m: trained[m].parameters_per_user() for m in trained} == {
        "none": 0, "lora_bank": r * 2 * d, "plora": 16, "moe_lora": 0, "hyper": 0, "film": 0}
    extra = {m: trained[m].n_parameters() - none for m in MODES}
    assert extra == {
        "lora_bank": n_users * r * 2 * d,  # the bank; the frozen identity W0 is not trained
        "plora": n_users * 16 + r * d + d * r + r * 16,  # p_u, A, B, P
        "moe_lora": 4 * r * 2 * d + d * 4 + 4,  # 4 experts (A_k, B_k) + the gate W_g, b_g
        "hyper": d * r * d + r * d + d * d * r + d * r,  # the two generators, weights and biases
        "film": 2 * (d * d + d),  # gamma and beta maps
    }


def test_a_cold_user_gets_exactly_the_shared_path(shop, trained):
    """Cold = never trained (held-out users), unknown (-1, >= n_users) or no users given at all."""
    split, cold, _, cold_set, _ = shop
    h = cold_set.histories[:40]
    warm_users = np.setdiff1d(np.arange(600), cold)[:40]
    for mode, model in trained.items():
        module = model.module
        tokens = torch.as_tensor(pad_left(h, min(50, max(map(len, h)))))
        with torch.no_grad():
            state = module.encode(tokens)[:, -1]  # the backbone's state h_t, before the adaptive layer
            a = module.adapt
            if mode in ("none", "lora_bank"):
                shared = state  # W0 = I, no per-user term
            elif mode == "plora":
                shared = state + a.scale * (state @ a.A.T) @ a.B.T  # W0 h + s B A h (p_u = 0)
            else:  # no per-user parameters: the same function of z for every user
                shared = module(tokens, users=torch.as_tensor(warm_users))[:, -1]
            shared = module.item_logits(shared).numpy()
        for users in (cold_set.users[:40], np.full(40, -1), np.full(40, 10_000), None):
            np.testing.assert_allclose(model.score(h, users), shared, rtol=1e-5, atol=1e-5)
        if mode in ("lora_bank", "plora"):  # a warm user's own term does change its scores
            assert np.abs(model.score(h, warm_users) - shared).max() > 1e-3, mode


def test_checkpoint_keeps_which_users_are_warm(shop, trained, tmp_path):
    split, cold, _, cold_set, _ = shop
    model = trained["lora_bank"]
    loaded = AdaptiveSASRec.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.trained_users, model.trained_users)
    assert loaded.n_users == 600 and not loaded.trained_users[cold].any()
    users = np.r_[cold[:5], np.setdiff1d(np.arange(600), cold)[:5]]
    row = {u: i for i, u in enumerate(split.test.users)}
    h = [split.test.histories[row[u]] for u in users]
    np.testing.assert_allclose(loaded.score(h, users), model.score(h, users), rtol=1e-6)


# ----------------------------------------------------------------------------------------- inside an LM
def test_the_same_layer_personalises_a_causal_lm():
    """A per-user LoRA bank on the output head of a frozen tiny Llama: the LM is unchanged at init; after a
    few steps on the adapter alone, two users who share a prompt get their own next token, and a cold
    user still gets the frozen LM's output exactly."""
    from llmrec_mini.llm import tiny_lm

    torch.manual_seed(0)
    lm = tiny_lm(12, d_model=16, n_layers=1, n_heads=2).eval()
    lm.requires_grad_(False)

    class Bound(nn.Module):  # an nn.Linear slot in the LM: reads the batch's users from an attribute
        def __init__(self, adapt):
            super().__init__()
            self.adapt, self.users = adapt, None

        def forward(self, x):
            return self.adapt(x, self.users)

    slot = Bound(UserAdaptiveLinear(lm.lm_head, "lora_bank", n_users=2, rank=4))
    prompt = torch.tensor([[1, 2, 3], [1, 2, 3]])
    with torch.no_grad():
        before = lm(prompt).logits
    lm.lm_head = slot
    slot.users = torch.tensor([0, 1])
    with torch.no_grad():
        assert torch.equal(lm(prompt).logits, before)  # identity at init
    targets = torch.tensor([7, 9])  # same prompt, a different next token per user
    opt = torch.optim.Adam([slot.adapt.A, slot.adapt.B], lr=0.05)
    for _ in range(60):
        loss = nn.functional.cross_entropy(lm(prompt).logits[:, -1], targets)
        opt.zero_grad(), loss.backward(), opt.step()
    with torch.no_grad():
        p = torch.softmax(lm(prompt).logits[:, -1], -1)
        assert p[0, 7] > 0.9 and p[1, 9] > 0.9, p[:, [7, 9]]  # a shared LM cannot do both (same input)
        slot.users = torch.tensor([-1, 5])  # cold users
        assert torch.equal(lm(prompt).logits, before)
