"""SASRec.attention_weights: the per-layer, per-head softmax weights of the model's own forward pass."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

N_ITEMS, MAX_LEN = 30, 6


@pytest.fixture(scope="module")
def model():
    from llmrec_mini.models import get_model

    return get_model("sasrec", d_model=16, n_layers=2, n_heads=2, max_len=MAX_LEN, seed=3).untrained(N_ITEMS)


def manual_weights(layer, x, n_heads: int) -> np.ndarray:
    """softmax(Q K^T / sqrt(d_h)) per head, causal, on the layer's pre-norm input, from the raw weights."""
    y = layer.norm1(x)[0]  # (L, D)
    length, d = y.shape
    q, k, _ = (t.view(length, n_heads, d // n_heads).transpose(0, 1)
               for t in torch.nn.functional.linear(y, layer.self_attn.in_proj_weight,
                                                   layer.self_attn.in_proj_bias).chunk(3, dim=-1))
    scores = q @ k.transpose(-2, -1) / math.sqrt(d // n_heads)
    blocked = torch.triu(torch.ones(length, length, dtype=torch.bool), 1)
    return torch.softmax(scores.masked_fill(blocked, -torch.inf), -1).numpy()


def test_shape_rows_and_causality(model):
    history = np.arange(9) % N_ITEMS
    w = model.attention_weights(history)
    assert w.shape == (2, 2, MAX_LEN, MAX_LEN)  # the last max_len items, as score reads them
    assert np.allclose(w.sum(-1), 1, atol=1e-5)
    assert (np.triu(np.ones((MAX_LEN, MAX_LEN)), 1)[None, None] * w == 0).all()  # nothing from the future
    assert model.attention_weights([4]).shape == (2, 2, 1, 1)
    assert np.allclose(model.attention_weights(history[-3:]).sum(-1), 1, atol=1e-5)


def test_matches_the_layers_own_computation(model):
    from llmrec_mini.data.sequences import pad_left

    history = np.array([3, 17, 5, 5, 22])
    w = model.attention_weights(history)
    m, c = model.module, model.config
    tokens = torch.as_tensor(pad_left([history], len(history)))
    with torch.no_grad():
        pos = torch.arange(c.max_len - len(history), c.max_len)
        x = m.items(tokens) * math.sqrt(c.d_model) + m.positions(pos)  # the encoder's input (eval: no dropout)
        mask = torch.triu(torch.full((len(history), len(history)), -torch.inf), 1)
        for i, layer in enumerate(m.encoder.layers):
            assert np.allclose(w[i], manual_weights(layer, x, c.n_heads), atol=1e-5), f"layer {i}"
            x = layer(x, src_mask=mask)


def test_changes_nothing(model):
    history = [np.array([1, 2, 3, 4, 5, 6, 7, 8])]
    before = model.score(history)
    model.module.train()  # a model left in training mode stays there, and the weights are still eval-mode ones
    try:
        w1 = model.attention_weights(history[0])
        assert model.module.training
        w2 = model.attention_weights(history[0])
    finally:
        model.module.eval()
    assert np.array_equal(w1, w2)
    assert np.array_equal(model.score(history), before)
    assert all(not layer._forward_pre_hooks for layer in model.module.encoder.layers)  # hooks removed


def test_rejects_bad_histories(model):
    with pytest.raises(ValueError, match="non-empty"):
        model.attention_weights([])
    with pytest.raises(ValueError, match="but the model knows"):
        model.attention_weights([0, N_ITEMS])
    from llmrec_mini.models import get_model

    with pytest.raises(RuntimeError, match="fit or load"):
        get_model("sasrec").attention_weights([1, 2])
