"""The model families behind the package's methods, built from ``transformers`` configs, counted and timed.

Three Transformer families factorise p(y | x) differently (Vaswani et al., NeurIPS 2017, arXiv
1706.03762, and what came after):

* **encoder-decoder** (T5, Raffel et al., arXiv 1910.10683; TIGER): a bidirectional encoder reads the
  history x, a causal decoder writes y token by token, reading the encoder through cross-attention:
  ``p(y | x) = prod_t p(y_t | y_<t, Enc(x))``;
* **decoder-only** (Llama, Mistral; PLUM, LUMEN, OneRec-Think, LinkedIn; SASRec is one over item
  IDs): one causal stack over the concatenation [x; y]: ``p(x, y) = prod_t p(z_t | z_<t)``, of which
  generation uses the y part;
* **bidirectional encoder** (BERT, Devlin et al., arXiv 1810.04805; Bert4Rec, OnePiece's input
  block): every position reads every other; a masked position m is predicted from all the rest,
  ``p(z_m | z_{-m})``; it scores, it does not generate left to right.

This module builds tiny models of each from their configs (`make_config`, `build`: no download),
counts their parameters, FLOPs and KV cache analytically (`param_count`, `flops_per_token`,
`layer_flops`, `kv_cache_bytes`: the tests check them against the built models), reads from the
code which family every registered method uses (`method_families`), trains one tiny model of each
family on item-ID sequences through the package's trainer (`train_family`, `FamilyRecommender`:
the decoder-only and encoder-decoder models *generate* the next item token, the encoder *scores*
a [MASK]) and times decoding variants (`measure_decoding`: MHA vs GQA vs MQA vs a sliding window,
Shazeer 2019 arXiv 1911.02150, Ainslie et al. 2023 arXiv 2305.13245, Beltagy et al. 2020 arXiv
2004.05150) and the attention functions of `llmrec_mini.attention` (`measure_attention_functions`,
which reuses `llmrec_mini.bench.attention_scaling`).

Deviations: the models are tiny (d = 64, 2 layers by default) and randomly initialised; the FLOP
count leaves out norms, activations, softmax and embeddings' lookups (the usual convention of
Kaplan et al., arXiv 2001.08361); the token vocabulary of `train_family` is one token per item
(TIGER's and PLUM's semantic IDs live in their own pages).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
import time
from dataclasses import dataclass

import numpy as np

from .models.base import Recommender

FAMILIES = ("encoder-decoder", "decoder-only", "bidirectional encoder")
VARIANTS = ("MHA", "GQA", "MQA", "sliding window")

# item tokens: 0 = padding, 1 = BOS/EOS (the T5 decoder's start), 2 = [MASK]; item i is token i + 3
PAD_ID, BOS_ID, MASK_ID, N_SPECIAL = 0, 1, 2, 3


# ============================================================================ 1. configs and models
def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def make_config(family: str, vocab_size: int = 256, d_model: int = 64, n_layers: int = 2, n_heads: int = 4,
                n_kv_heads: int | None = None, d_ff: int | None = None, window: int | None = None,
                max_positions: int = 512):
    """A ``transformers`` config of ``family`` (one of `FAMILIES`).

    encoder-decoder: ``T5Config`` (ReLU feed-forward, as `llmrec_mini.models.tiger` builds it), ``n_layers``
    encoder and ``n_layers`` decoder layers; decoder-only: ``LlamaConfig``, or ``MistralConfig`` with
    ``sliding_window=window`` when ``window`` is set; ``n_kv_heads`` < ``n_heads`` gives GQA (1: MQA);
    bidirectional encoder: ``BertConfig``. ``d_ff`` defaults to 4 d_model (Llama's SwiGLU: 8/3 d_model
    rounded would be the paper's; we keep 4 d for all three so the families compare at equal width)."""
    from transformers import BertConfig, LlamaConfig, MistralConfig, T5Config

    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    v, d, L, h = (_positive(k, x) for k, x in (("vocab_size", vocab_size), ("d_model", d_model),
                                               ("n_layers", n_layers), ("n_heads", n_heads)))
    kv = h if n_kv_heads is None else _positive("n_kv_heads", n_kv_heads)
    ff = 4 * d if d_ff is None else _positive("d_ff", d_ff)
    if d % h:
        raise ValueError(f"d_model ({d}) must be divisible by n_heads ({h})")
    if h % kv:
        raise ValueError(f"n_heads ({h}) must be a multiple of n_kv_heads ({kv})")
    if family != "decoder-only" and (kv != h or window is not None):
        raise ValueError(f"n_kv_heads and window apply to the decoder-only family, not {family!r}")
    if family == "encoder-decoder":
        return T5Config(vocab_size=v, d_model=d, d_kv=d // h, d_ff=ff, num_layers=L, num_decoder_layers=L,
                        num_heads=h, feed_forward_proj="relu", dropout_rate=0.0, pad_token_id=PAD_ID,
                        eos_token_id=BOS_ID, decoder_start_token_id=BOS_ID)
    if family == "bidirectional encoder":
        return BertConfig(vocab_size=v, hidden_size=d, num_hidden_layers=L, num_attention_heads=h,
                          intermediate_size=ff, max_position_embeddings=_positive("max_positions", max_positions),
                          hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=PAD_ID)
    common = dict(vocab_size=v, hidden_size=d, intermediate_size=ff, num_hidden_layers=L, num_attention_heads=h,
                  num_key_value_heads=kv, max_position_embeddings=_positive("max_positions", max_positions),
                  tie_word_embeddings=False, pad_token_id=PAD_ID, bos_token_id=BOS_ID, eos_token_id=BOS_ID)
    if window is None:
        return LlamaConfig(**common)
    return MistralConfig(sliding_window=_positive("window", window), **common)


def family_of(config) -> str:
    """The family of a config (T5 / Llama or Mistral / BERT)."""
    kind = getattr(config, "model_type", None)
    found = {"t5": "encoder-decoder", "llama": "decoder-only", "mistral": "decoder-only",
             "bert": "bidirectional encoder"}.get(kind)
    if found is None:
        raise ValueError(f"config of type {kind!r} is not one of T5, Llama, Mistral, BERT")
    return found


def build(config, attention: str | None = None):
    """A randomly initialised model of ``config`` (seed torch first), in eval mode: T5ForConditionalGeneration,
    LlamaForCausalLM / MistralForCausalLM or BertForMaskedLM. ``attention``: the attention implementation
    (``"eager"``: explicit matrix products, which torch's FLOP counter sees; default: the library's, SDPA)."""
    import copy

    import transformers as tf

    if attention is not None:
        if attention not in ("eager", "sdpa"):
            raise ValueError(f"attention must be 'eager' or 'sdpa', got {attention!r}")
        config = copy.deepcopy(config)
        config._attn_implementation = attention

    family_of(config)  # a clear error for other configs
    cls = {"t5": tf.T5ForConditionalGeneration, "llama": tf.LlamaForCausalLM, "mistral": tf.MistralForCausalLM,
           "bert": tf.BertForMaskedLM}[config.model_type]
    return cls(config).eval()


def attention_variants(d_model: int = 256, n_heads: int = 8, n_layers: int = 2, window: int = 128,
                       gqa_kv_heads: int = 2, vocab_size: int = 512, max_positions: int = 8192) -> dict:
    """`VARIANTS` as decoder-only configs equal in everything but attention: MHA (kv = h), GQA
    (kv = ``gqa_kv_heads``), MQA (kv = 1) and a sliding window of ``window`` keys (MHA heads)."""
    kw = dict(vocab_size=vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads, max_positions=max_positions)
    return {"MHA": make_config("decoder-only", **kw),
            "GQA": make_config("decoder-only", n_kv_heads=gqa_kv_heads, **kw),
            "MQA": make_config("decoder-only", n_kv_heads=1, **kw),
            "sliding window": make_config("decoder-only", window=window, **kw)}


# ============================================================================ 2. analytic counts
def _sizes(config) -> dict:
    fam = family_of(config)
    if fam == "encoder-decoder":
        return dict(d=config.d_model, h=config.num_heads, kv=config.num_heads, dh=config.d_kv, ff=config.d_ff,
                    L=config.num_layers, v=config.vocab_size)
    h = config.num_attention_heads
    dh = getattr(config, "head_dim", None) or config.hidden_size // h
    return dict(d=config.hidden_size, h=h, kv=getattr(config, "num_key_value_heads", h), dh=dh,
                ff=config.intermediate_size, L=config.num_hidden_layers, v=config.vocab_size)


def layer_params(config, part: str = "layer") -> dict:
    """Parameters of one layer as {name: count}; ``part`` = "layer", or for T5 "encoder" / "decoder".

    Decoder-only (Llama):  W_q, W_o: d h d_h each; W_k, W_v: d kv d_h each (GQA shares them across
    h / kv query heads); SwiGLU: 3 d d_ff; two RMSNorms: 2 d (no biases).
    T5 layer: q, k, v, o: d h d_h each (no biases); ReLU FFN 2 d d_ff; one RMS-style norm per block;
    the decoder adds cross-attention (4 d h d_h) and its norm.
    BERT layer: q, k, v, o with biases: 4 (d^2 + d); FFN with biases: 2 d d_ff + d_ff + d; two LayerNorms: 4 d.
    """
    s, fam = _sizes(config), family_of(config)
    d, h, kv, dh, ff = s["d"], s["h"], s["kv"], s["dh"], s["ff"]
    if fam == "decoder-only":
        return {"attention": 2 * d * h * dh + 2 * d * kv * dh, "mlp": 3 * d * ff, "norms": 2 * d}
    if fam == "bidirectional encoder":
        return {"attention": 4 * (d * d + d), "mlp": 2 * d * ff + ff + d, "norms": 4 * d}
    if part not in ("encoder", "decoder"):
        raise ValueError(f"a T5 layer is part='encoder' or part='decoder', got {part!r}")
    out = {"attention": 4 * d * h * dh, "mlp": 2 * d * ff, "norms": 2 * d}
    if part == "decoder":
        out.update({"cross-attention": 4 * d * h * dh, "norms": 3 * d})
    return out


def param_count(config) -> int:
    """Every parameter of `build` (config), counted from the config alone (tied weights once)."""
    s, fam = _sizes(config), family_of(config)
    d, v, L = s["d"], s["v"], s["L"]
    if fam == "decoder-only":
        head = 0 if config.tie_word_embeddings else v * d
        return v * d + L * sum(layer_params(config).values()) + d + head  # + the final RMSNorm
    if fam == "encoder-decoder":
        stacks = sum(L * sum(layer_params(config, p).values()) + d for p in ("encoder", "decoder"))  # + final norms
        rel_bias = 2 * config.relative_attention_num_buckets * s["h"]  # first layer of each stack
        head = 0 if config.tie_word_embeddings else v * d
        return v * d + stacks + rel_bias + head
    embeddings = (v + config.max_position_embeddings + config.type_vocab_size) * d + 2 * d  # + LayerNorm
    mlm_head = d * d + d + 2 * d + v  # transform dense + LayerNorm; decoder tied to the embeddings, own bias
    return embeddings + L * sum(layer_params(config).values()) + mlm_head


def _attended(seq_len: int, window: int | None, causal: bool) -> int:
    """Keys the last query reads: all ``seq_len`` (the newest token of a causal model, or any token
    of an encoder), or at most ``window`` under a sliding window."""
    return min(seq_len, window) if (causal and window) else seq_len


def layer_flops(config, seq_len: int, part: str = "layer", source_len: int | None = None) -> int:
    """Forward FLOPs of one token through one layer, reading ``seq_len`` keys (``window`` at most):

        2 x (matmul parameters of the layer)  +  2 x 2 x keys x h x d_h   (Q K^T and A V, per head)

    For a T5 decoder layer (``part="decoder"``) cross-attention adds its q and o projections and
    2 x 2 x ``source_len`` x h x d_h; its k and v projections run once per *source* token, not per
    generated token, so they are left out here. Norms, activations and softmax are not counted."""
    seq_len = _positive("seq_len", seq_len)
    s, fam = _sizes(config), family_of(config)
    h, dh, d = s["h"], s["dh"], s["d"]
    keys = _attended(seq_len, getattr(config, "sliding_window", None), fam != "bidirectional encoder")
    p = layer_params(config, part)
    weights = p["attention"] + p["mlp"]
    if fam == "bidirectional encoder":  # the biases are additions, not multiply-adds
        weights -= 4 * d + d + s["ff"]
    flops = 2 * weights + 4 * keys * h * dh
    if fam == "encoder-decoder" and part == "decoder":
        src = seq_len if source_len is None else _positive("source_len", source_len)
        flops += 2 * (2 * d * h * dh) + 4 * src * h * dh
    return flops


def flops_per_token(config, seq_len: int, part: str | None = None, source_len: int | None = None) -> int:
    """Forward FLOPs of one token at context ``seq_len``: the layers (`layer_flops`) plus the output
    head (2 d V; T5's decoder and BERT's MLM head, whose transform adds 2 d^2). For T5, ``part``
    = "encoder" (a source token; no head) or "decoder" (a generated token, the default)."""
    s, fam = _sizes(config), family_of(config)
    d, v, L = s["d"], s["v"], s["L"]
    if fam == "encoder-decoder":
        part = part or "decoder"
        head = 2 * d * v if part == "decoder" else 0
        return L * layer_flops(config, seq_len, part, source_len) + head
    if part not in (None, "layer"):
        raise ValueError(f"part applies to T5 (encoder / decoder), not {fam}")
    head = 2 * d * v + (2 * d * d if fam == "bidirectional encoder" else 0)
    return L * layer_flops(config, seq_len) + head


def _dtype_bytes(dtype) -> int:
    import torch

    if isinstance(dtype, int) and not isinstance(dtype, bool) and dtype > 0:
        return dtype
    if isinstance(dtype, torch.dtype):
        return torch.tensor([], dtype=dtype).element_size()
    raise ValueError(f"dtype must be a torch dtype or a byte width, got {dtype!r}")


def cached_positions(config, seq_len: int) -> int:
    """Past positions a decoder keeps in its KV cache after ``seq_len`` tokens: all of them, or
    ``window - 1`` under a sliding window (the next token's own K, V make the window full)."""
    seq_len = _positive("seq_len", seq_len)
    window = getattr(config, "sliding_window", None)
    return min(seq_len, window - 1) if window else seq_len


def kv_cache_bytes(config, seq_len: int, dtype=None, batch: int = 1) -> int:
    """Bytes of a decoder-only model's KV cache after ``seq_len`` tokens:

        2 (K and V) x layers x kv heads x d_h x cached positions x batch x bytes per number

    GQA divides it by h / kv against MHA; MQA (kv = 1) by h; a window caps the positions."""
    import torch

    if family_of(config) != "decoder-only":
        raise ValueError("kv_cache_bytes is for decoder-only configs (an encoder keeps no cache)")
    s = _sizes(config)
    width = _dtype_bytes(torch.float32 if dtype is None else dtype)
    return 2 * s["L"] * s["kv"] * s["dh"] * cached_positions(config, seq_len) * _positive("batch", batch) * width


def cache_bytes(cache) -> int:
    """Bytes actually held by a ``transformers`` cache (its keys and values tensors)."""
    total = 0
    for layer in cache.layers:
        for t in (layer.keys, layer.values):
            total += t.numel() * t.element_size()
    return total


# ============================================================================ 3. which method uses which family
@dataclass(frozen=True)
class Backbone:
    marker: str  # a name the model's build code calls
    family: str
    backbone: str
    mask: str


BACKBONES = (  # the first marker found in the code build() runs decides
    Backbone("T5ForConditionalGeneration", "encoder-decoder", "T5 from transformers",
             "bidirectional encoder, causal decoder + cross-attention"),
    Backbone("base_lm", "decoder-only", "Llama-style causal LM (`llm.tiny_lm`) or SmolLM2", "causal"),
    Backbone("reasoning_mask", "bidirectional encoder", "pre-LN Transformer over context tokens",
             "bidirectional input, block-causal reasoning blocks"),
    Backbone("causal_padding_mask", "decoder-only", "Transformer over item IDs (nn.TransformerEncoder)", "causal"),
    Backbone("qla_state", "target attention", "quasi-linear attention over seeds + history",
             "prefix-LM over seeds + history; candidates read summaries"),
    Backbone("hstu_attention", "target attention", "candidates attend over the history (softmax or HSTU)",
             "candidate-isolated"),
    Backbone("GRU", "no Transformer", "GRU user tower + item / tag towers", "recurrent (no attention)"),
)


def _called_names(fn) -> set[str]:
    """Names called in ``fn``'s source: ``f(...)`` gives f, ``a.f(...)`` gives f."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
            names |= {a.attr for a in ast.walk(f) if isinstance(a, ast.Attribute)}
    return names


def build_calls(cls, depth: int = 3) -> set[str]:
    """Every name called by ``cls.build`` and, following module-level functions of the package that it
    calls by name (``_module``, ``sasrec_module``...), by what they call, ``depth`` levels deep."""
    seen, names, frontier = set(), set(), [cls.build]
    for _ in range(depth):
        nxt = []
        for fn in frontier:
            if fn in seen:
                continue
            seen.add(fn)
            called = _called_names(fn)
            names |= called
            module = importlib.import_module(fn.__module__)
            for name in called:
                target = getattr(module, name, None)
                if inspect.isfunction(target) and target.__module__.startswith("llmrec_mini"):
                    nxt.append(target)
        frontier = nxt
    return names


def backbone_of(cls) -> Backbone | None:
    """The `BACKBONES` row whose marker ``cls.build`` (transitively) calls; None without a build (count
    models such as popularity) or with no known marker."""
    from .models.base import TorchRecommender

    if not (isinstance(cls, type) and issubclass(cls, TorchRecommender)):
        return None
    called = build_calls(cls)
    return next((b for b in BACKBONES if b.marker in called), None)


def method_families() -> list[dict]:
    """One row per registered model with a neural backbone: name, class, family, backbone, mask and the
    marker found in its build code (`backbone_of`); models without one (counts) are left out."""
    from .models import MODELS, model_class
    from .models.base import TorchRecommender

    rows = []
    for name in MODELS:
        cls = model_class(name)
        if not issubclass(cls, TorchRecommender):
            continue
        b = backbone_of(cls)
        rows.append({"model": name, "class": f"{cls.__module__}.{cls.__name__}",
                     "family": b.family if b else "unknown", "backbone": b.backbone if b else "",
                     "mask": b.mask if b else "", "found": b.marker if b else ""})
    return rows


# ============================================================================ 4. one tiny model per family on item IDs
def family_batch(family: str, histories, targets=None, max_len: int = 20):
    """Tensors for ``family`` from item histories (item indices) and, when training, next items.

    decoder-only: [BOS, h_1..h_n] (right-padded), labels = the inputs shifted by the model, i.e. every
    next item (and ``targets`` appended); the score of the next item is the logit at the last position.
    encoder-decoder: encoder input h_1..h_n, decoder labels [target] (T5 starts from BOS).
    bidirectional encoder: [h_1..h_n, MASK], labels = target at the MASK (Bert4Rec's last-item task)."""
    import torch

    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    rows = [[int(i) + N_SPECIAL for i in np.asarray(h)[-max_len:]] for h in histories]
    tg = None if targets is None else [int(t) + N_SPECIAL for t in targets]
    if family == "decoder-only":
        rows = [[BOS_ID] + r + ([tg[b]] if tg else []) for b, r in enumerate(rows)]
    elif family == "bidirectional encoder":
        rows = [r + [MASK_ID] for r in rows]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for b, r in enumerate(rows):
        ids[b, :len(r)], mask[b, :len(r)] = torch.as_tensor(r), 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if tg is not None:
        if family == "decoder-only":
            batch["labels"] = ids.masked_fill(mask == 0, -100)
        elif family == "encoder-decoder":
            batch["labels"] = torch.as_tensor(tg)[:, None]
        else:
            labels = torch.full_like(ids, -100)
            last = mask.sum(1) - 1
            labels[torch.arange(len(rows)), last] = torch.as_tensor(tg)
            batch["labels"] = labels
    return batch


def next_item_logits(model, family: str, histories, max_len: int = 20):
    """(B, n_items) logits of the next item: the next-token (decoder-only), first decoder step
    (encoder-decoder) or [MASK] (bidirectional) distribution, restricted to item tokens."""
    import torch

    batch = family_batch(family, histories, max_len=max_len)
    with torch.no_grad():
        if family == "encoder-decoder":
            start = torch.full((len(histories), 1), BOS_ID, dtype=torch.long)
            logits = model(**batch, decoder_input_ids=start).logits[:, 0]
        else:
            out = model(**batch).logits
            last = batch["attention_mask"].sum(1) - 1
            logits = out[torch.arange(len(histories)), last]
    return logits[:, N_SPECIAL:]


def train_family(model, family: str, train_sequences, steps: int = 300, batch_size: int = 64, lr: float = 3e-3,
                 max_len: int = 20, seed: int = 0, progress: bool = False):
    """Next-item training of a `build` model of ``family`` on ``train_sequences`` (item arrays): each
    step draws ``batch_size`` (history prefix, next item) pairs, the loss is the model's own
    cross-entropy; through `llmrec_mini.train.train_model` (cosine schedule, ``steps`` steps)."""
    from .train import TrainConfig, train_model

    seqs = [np.asarray(s) for s in train_sequences if len(s) >= 2]
    if not seqs:
        raise ValueError("train_family needs sequences of at least 2 items")
    rng = np.random.default_rng(seed)
    epochs = min(_positive("steps", steps), 10)

    def batches(epoch: int):
        for _ in range(steps // epochs + (epoch < steps % epochs)):
            hist, tg = [], []
            for s in (seqs[i] for i in rng.integers(len(seqs), size=batch_size)):
                t = int(rng.integers(1, len(s)))  # predict s[t] from s[:t]
                hist.append(s[:t])
                tg.append(s[t])
            yield family_batch(family, hist, tg, max_len)

    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=None, seed=seed, progress=progress,
                      schedule="cosine", max_steps=steps)
    model.train()
    result = train_model(model, batches, lambda m, b: m(**b).loss, cfg, desc=family)
    model.eval()
    return result


class FamilyRecommender(Recommender):
    """A trained `build` model of one family as a `Recommender`: scores = `next_item_logits`."""

    def __init__(self, model, family: str, n_items: int, max_len: int = 20):
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
        self.model, self.family, self.n_items, self.max_len = model, family, int(n_items), max_len
        self.name = family

    def score(self, histories, users=None) -> np.ndarray:
        return next_item_logits(self.model, self.family, histories, self.max_len).float().numpy()


def generate_next(model, family: str, history, max_len: int = 20) -> int:
    """The greedy next item: decoder-only and encoder-decoder call ``generate`` for one new token
    (the decoding loop of an LLM), the encoder takes the arg-max at [MASK] (one scoring pass)."""
    import torch

    if family == "bidirectional encoder":
        return int(next_item_logits(model, family, [history], max_len).argmax())
    batch = family_batch(family, [history], max_len=max_len)
    items = list(range(N_SPECIAL, model.config.vocab_size))
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=1, do_sample=False, pad_token_id=PAD_ID,
                             suppress_tokens=[PAD_ID, BOS_ID, MASK_ID], eos_token_id=None)
    token = int(out[0, -1])
    if token not in items:
        raise RuntimeError(f"generate returned a special token {token}")
    return token - N_SPECIAL


# ============================================================================ 5. speed and memory
def _decode_ms(model, token, cache, n: int, min_repeats: int, min_seconds: float) -> tuple[float, int]:
    """(median ms, repeats) of one decode step of ``token`` at position ``n`` reading ``cache``. A step
    appends to the cache it is given, so each repeat gets a fresh copy, made outside the timed call."""
    import copy
    import statistics

    import torch

    pos, times = torch.tensor([[n]]), []
    with torch.no_grad():
        model(input_ids=token, cache=copy.deepcopy(cache), position_ids=pos, use_cache=True)  # warm-up
        while len(times) < 500 and (len(times) < min_repeats or sum(times) < min_seconds):
            fresh = copy.deepcopy(cache)
            t0 = time.perf_counter()
            model(input_ids=token, cache=fresh, position_ids=pos, use_cache=True)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, len(times)


def measure_decoding(configs: dict, seq_lens=(128, 256, 512, 1024), min_repeats: int = 3, min_seconds: float = 0.2,
                     seed: int = 0) -> list[dict]:
    """For every named decoder config and prompt length N: the median time of the prefill forward
    over N tokens (and its peak memory, `attention_scaling.peak_memory_mb`) and of one decode step
    with the KV cache of those N tokens (`_decode_ms`), and the cache's measured bytes beside
    `kv_cache_bytes`.
    Call under ``attention_scaling.torch_threads(1)`` for steady timings on a shared machine."""
    import torch

    from .bench.attention_scaling import peak_memory_mb, time_ms

    rows = []
    for name, config in configs.items():
        if family_of(config) != "decoder-only":
            raise ValueError(f"{name}: measure_decoding times decoder-only configs")
        torch.manual_seed(seed)
        model = build(config)
        for n in seq_lens:
            n = _positive("seq_len", n)
            ids = torch.randint(N_SPECIAL, config.vocab_size, (1, n), generator=torch.Generator().manual_seed(seed))
            nxt = ids[:, :1]
            with torch.no_grad():
                prefill = lambda: model(input_ids=ids, use_cache=True)  # noqa: E731
                cache = prefill().cache
                prefill_ms, _ = time_ms(prefill, min_repeats=min_repeats, min_seconds=min_seconds)
                peak = peak_memory_mb(prefill)
                step_ms, reps = _decode_ms(model, nxt, cache, n, min_repeats, min_seconds)
            rows.append({"variant": name, "n": n, "prefill_ms": prefill_ms, "decode_ms": step_ms,
                         "kv_cache_mb": cache_bytes(cache) / 2 ** 20,
                         "kv_cache_mb_formula": kv_cache_bytes(config, n) / 2 ** 20,
                         "prefill_peak_mb": peak, "params": param_count(config),
                         "flops_per_token": flops_per_token(config, n), "repeats": reps})
    return rows


def measure_attention_functions(sizes=(256, 512, 1024, 2048), d: int = 64, n_candidates: int = 16,
                                min_repeats: int = 3, min_seconds: float = 0.2) -> list[dict]:
    """`llmrec_mini.bench.attention_scaling.measure_scaling` (softmax, linear, quasi-linear) plus HSTU's
    pointwise attention (`llmrec_mini.attention.hstu_attention`, causal mask) measured the same way."""
    import torch

    from .attention import attention_cost, causal, hstu_attention
    from .bench.attention_scaling import measure_scaling, peak_memory_mb, time_ms, torch_threads

    rows = measure_scaling(sizes, d=d, n_candidates=n_candidates, min_repeats=min_repeats, min_seconds=min_seconds)
    with torch_threads(1):
        for n in sorted(sizes):
            gen = torch.Generator().manual_seed(0)
            q, k, v = (torch.randn(n, d, generator=gen) for _ in range(3))
            mask = causal(n)
            fn = lambda: hstu_attention(q, k, v, mask)  # noqa: E731
            ms, reps = time_ms(fn, min_repeats=min_repeats, min_seconds=min_seconds)
            cost = attention_cost("hstu", n, d)
            rows.append({"attention": "hstu", "n": n, "d": d, "n_candidates": 0, "flops": cost.flops,
                         "intermediate": cost.intermediate, "median_ms": ms, "repeats": reps,
                         "peak_mb": peak_memory_mb(fn), "skipped": None})
    return rows


__all__ = ["FAMILIES", "VARIANTS", "BACKBONES", "Backbone", "make_config", "family_of", "build", "attention_variants",
           "layer_params", "param_count", "layer_flops", "flops_per_token", "cached_positions", "kv_cache_bytes",
           "cache_bytes", "build_calls", "backbone_of", "method_families", "family_batch", "next_item_logits",
           "train_family", "FamilyRecommender", "generate_next", "measure_decoding", "measure_attention_functions"]
