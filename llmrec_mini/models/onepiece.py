"""OnePiece: context engineering and block-wise latent reasoning for a cascade's retrieval and
ranking models (Dai, Tang et al., Shopee, arXiv 2509.18091; ../shared/research/methods_part2.md §4).

OnePiece keeps a plain Transformer over item tokens and borrows two ideas from LLMs:

1. **Context engineering** (§3.1): the input is a structured token sequence, IH ⊕ PA ⊕ SD (⊕ CIS):
   * IH, the interaction history: ``h_t = Proj(phi(v_t)) + p_t``, where phi concatenates the item's
     ID, category and word embeddings (its leaf, price tier, tags, brand), one projection shared by
     every item token and by the item side z_v, and p_t counts back from the most recent item;
   * PA, preference anchors: B = 3 groups, the query's most ordered, clicked and shown items over
     the training log (`llmrec_mini.data.search_log.query_anchors`), each wrapped by its own
     learnable BOS / EOS tokens, with positions inside the group;
   * SD, situational descriptors: a user token and a query token (the mean of its word embeddings,
     the same table as the items' words);
   * CIS (ranking only): C candidate items with **no position** (a position would leak the label's
     slot; candidates are shuffled, hence grouped at random, in training).
2. **Block-wise latent reasoning** (§3.2): ``B_0`` = the last M output tokens; step k appends
   ``B~_k = B_k + E_RPE[k]`` and runs the *same* Transformer on ``[I; B~_0; ...; B~_k]`` under a
   block-causal mask (`reasoning_mask`: the input sees the input, a block sees the input, earlier
   blocks and itself); its last M outputs are ``B_{k+1}``. Earlier positions never read later
   ones, so their keys and values are cached and a step computes only its M new tokens (the
   paper's KV cache). M = |SD| = 2 in retrieval; in ranking the candidates are cut into groups of
   ``block_size`` (1: each alone; None: the whole set sees itself), each group read after the
   context as a block of its own, then reasoned on.
3. **Progressive multi-task training** (§3.3): block k is supervised on task tau_k of the feedback
   chain impression -> click -> order (the last block on orders, the one before on clicks, ...):
   * retrieval: ``r_k = Mean(LN(B_k))``, BCE on ``sigma(<r_k, z_v>)`` + a bidirectional contrastive
     loss: U2I against the batch's other positives, the row's hard negatives (shown, not clicked)
     and random items; I2U against the batch's other users (temperature eta);
   * ranking: ``s_{i,k} = MLP_{tau_k}(h_{i,k})``, BCE + the set contrastive loss
     ``-log softmax_{j in C}(s_{j,k} / eta)`` at the positives.
   ``supervision="last"`` trains the last block only (the ablation).

Data: a `llmrec_mini.data.search_log.SearchLog` (``OnePiece(log=make_search_log(dataset))``).
Without one (``llmrec-mini evaluate``, the registry tests, real datasets) the model builds the
plain log of the split (`SearchLog.from_split`): the "query" of an event is the leaf category of
the user's last item, and shown = clicked = ordered = the next item, so every task is next-item
prediction. `score` finds a held-out row's query at the event ``(user, len(history))`` of the log,
takes it from ``queries`` when given, and otherwise falls back to the leaf category of the last item.

Deviations, at this size: phi reads four fields (Shopee's many more); the user token is a user-ID
embedding (no profile features); in ranking the context does not read the candidates, so it is
encoded once for every candidate group (what the paper's small latency cost of larger blocks
implies); hard negatives are the shown but not clicked items, plus random catalog items in U2I
(the paper mines unexposed items of its top-500); retrieval scores the whole catalog exactly (no HNSW).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..attention import bidirectional, block_causal, causal, softmax_attention
from ..config import Settings
from ..data.search_log import SIGNALS, SearchLog, price_tiers, query_anchors, query_counts, training_anchors
from ..data.sequences import pad_left
from ..metrics import impression_metrics
from .base import Recommender, TorchRecommender
from .contract import Capabilities

CHAINS = {"retrieval": ("impression", "click", "order"), "ranking": ("click", "order")}  # the feedback chains
SEGMENTS = ("IH", "PA", "user", "query", "CIS")  # segment (type) embeddings


@dataclass
class OnePieceConfig(Settings):
    mode: Literal["retrieval", "ranking"] = "retrieval"
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.1
    max_history: int = 20  # IH: the most recent items read
    n_anchors: int = 4  # items per preference-anchor group (3 groups: the query's orders, clicks, impressions)
    use_anchors: bool = True  # False: IH ⊕ SD only (the PA ablation)
    attention: Literal["bidirectional", "causal"] = "bidirectional"  # over the input (the ablation)
    reasoning_steps: int = 2  # K: blocks appended after B_0 (0 = no reasoning)
    block_size: int | None = None  # ranking: candidates per block M (None = all C); retrieval: M = |SD|
    supervision: Literal["progressive", "last"] = "progressive"
    temperature: float = 0.3  # eta of the contrastive losses
    n_random_negatives: int = 128  # retrieval: random catalog items per row (BCE and U2I), besides the hard negatives

    def check(self) -> None:
        self.at_least(1, "d_model", "n_layers", "n_heads", "max_history", "n_anchors", "n_random_negatives")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if self.reasoning_steps < 0:
            raise ValueError(f"reasoning_steps must be >= 0, got {self.reasoning_steps}")
        if self.block_size is not None and self.block_size < 1:
            raise ValueError(f"block_size must be at least 1 (or None for the whole candidate set), "
                             f"got {self.block_size}")
        if self.block_size is not None and self.mode == "retrieval":
            raise ValueError("block_size is a ranking setting: in retrieval the block is the situational "
                             "descriptors (M = 2)")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")


def reasoning_mask(n_input: int, block: int, steps: int, attention: str = "bidirectional"):
    """(N, N) bool, True = may attend, N = n_input + steps * block: the mask of the sequence
    ``[I; B~_0; ...; B~_{steps-1}]``. Blocks are block-causal (`attention.block_causal`); inside the
    input the backbone's own mask (all ones, or `attention.causal` for the ablation)."""
    if attention not in ("bidirectional", "causal"):
        raise ValueError(f"attention must be 'bidirectional' or 'causal', got {attention!r}")
    mask = block_causal([n_input] + [block] * steps)
    mask[:n_input, :n_input] = bidirectional(n_input) if attention == "bidirectional" else causal(n_input)
    return mask


def task_of_blocks(mode: str, steps: int, supervision: str = "progressive") -> list[str | None]:
    """The task supervising each block B_0..B_K: the chain's last task on B_K, the one before on
    B_{K-1}, ..., the first on any earlier block; None for unsupervised blocks ("last")."""
    chain = CHAINS[mode]
    tasks = [chain[max(0, len(chain) - 1 - (steps - k))] for k in range(steps + 1)]
    return tasks if supervision == "progressive" else [None] * steps + [tasks[-1]]


def _module(n_items: int, n_users: int, item_category: np.ndarray, item_words: np.ndarray, query_words: np.ndarray,
            n_words: int, c: OnePieceConfig):
    import torch
    import torch.nn.functional as F
    from torch import nn

    d, k_pa = c.d_model, c.n_anchors
    tasks = task_of_blocks(c.mode, c.reasoning_steps, c.supervision)

    class Dropout(nn.Module):
        """Inverted dropout with a ``torch.rand`` mask (``bernoulli_`` costs a tenth of a CPU step here)."""

        def forward(self, x):
            if not self.training or c.dropout == 0:
                return x
            return x * ((torch.rand_like(x) >= c.dropout) * (1.0 / (1 - c.dropout)))

    class Layer(nn.Module):
        """A pre-LN Transformer layer: x + Attn(LN(x)), then x + FFN(LN(x)); attention from the package library.

        ``cache``: the keys and values of earlier positions (B, h, N_old, d_h), which new positions
        may read; the layer returns them extended by its own (the reasoning steps' KV cache)."""

        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.drop = Dropout()

        def forward(self, x, allowed, cache=None):  # x (B, n, d); allowed (B, 1, n, N_old + n), True = may attend
            b, n, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, n, 3, c.n_heads, d // c.n_heads).permute(2, 0, 3, 1, 4)
            if cache is not None:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            a = softmax_attention(q, k, v, mask=allowed).transpose(1, 2).reshape(b, n, d)
            x = x + self.drop(self.out(a))
            return x + self.drop(self.ff(self.ln2(x))), (k, v)

    class OnePieceNet(nn.Module):
        def __init__(self):
            super().__init__()
            # phi(v) = [E_item[v]; E_cat[category(v)]; mean E_word[words(v)]] (words: its leaf, price tier, tags
            # and brand, in the query words' table), Proj shared by IH, PA, CIS and the item side z_v
            self.items = nn.Embedding(n_items + 1, d, padding_idx=0)  # token = item + 1, 0 = padding
            self.categories = nn.Embedding(int(item_category.max()) + 1, d)
            self.words = nn.Embedding(n_words + 1, d, padding_idx=0)
            self.proj = nn.Linear(3 * d, d)
            self.register_buffer("item_category", torch.as_tensor(np.concatenate([[0], item_category])),
                                 persistent=False)
            padded = np.concatenate([np.zeros((1, item_words.shape[1]), np.int64), item_words])  # row 0: padding
            self.register_buffer("item_words", torch.as_tensor(padded), persistent=False)
            self.hist_pos = nn.Embedding(c.max_history, d)  # p_t, counted back from the most recent item
            self.pa_pos = nn.Embedding(k_pa + 2, d)  # positions inside an anchor group (BOS, items, EOS)
            self.bos, self.eos = nn.Embedding(len(SIGNALS), d), nn.Embedding(len(SIGNALS), d)
            self.users = nn.Embedding(n_users + 1, d)  # 0 = a user unseen in training
            self.register_buffer("query_words", torch.as_tensor(query_words), persistent=False)
            self.segment = nn.Embedding(len(SEGMENTS), d)
            self.rpe = nn.Embedding(c.reasoning_steps, d)  # E_RPE[k]: the only per-step weights
            self.layers = nn.ModuleList(Layer() for _ in range(c.n_layers))  # shared by every step
            self.norm, self.readout_norm = nn.LayerNorm(d), nn.LayerNorm(d)
            self.heads = nn.ModuleList(nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 1))
                                       for _ in CHAINS["ranking"]) if c.mode == "ranking" else None
            self.drop = Dropout()
            for emb in (self.items, self.categories, self.hist_pos, self.pa_pos, self.bos, self.eos, self.users,
                        self.words, self.segment, self.rpe):
                nn.init.normal_(emb.weight, std=0.02)

        def item_vectors(self, tokens):
            """Proj(phi(v)) for item tokens (item + 1; 0 = padding)."""
            return self.proj(torch.cat([self.items(tokens), self.categories(self.item_category[tokens]),
                                        self.bag(self.item_words[tokens])], -1))

        def bag(self, words):  # (..., W) word ids, 0 = padding -> (..., d) the mean of their embeddings
            return self.words(words).sum(-2) / (words > 0).sum(-1, keepdim=True).clamp_min(1)

        def catalog_vectors(self):  # z_v of every item: (n_items, d)
            return self.item_vectors(torch.arange(1, n_items + 1, device=self.items.weight.device))

        def context(self, history, anchors, users, queries):
            """IH ⊕ PA ⊕ SD token vectors (B, N, d) and which are real (B, N)."""
            seg = self.segment.weight
            pos = self.hist_pos.weight[c.max_history - history.shape[1]:]  # the last slot = the latest item
            x = [self.item_vectors(history) + pos + seg[0]]
            valid = [history > 0]
            if c.use_anchors:
                b = len(history)
                inner = self.item_vectors(anchors) + self.pa_pos.weight[1:k_pa + 1] + seg[1]  # (B, 3, k, d)
                bos = (self.bos.weight + self.pa_pos.weight[0] + seg[1]).expand(b, -1, -1)[:, :, None]
                eos = (self.eos.weight + self.pa_pos.weight[k_pa + 1] + seg[1]).expand(b, -1, -1)[:, :, None]
                x.append(torch.cat([bos, inner, eos], 2).flatten(1, 2))
                ones = anchors.new_ones(b, len(SIGNALS), 1, dtype=torch.bool)
                valid.append(torch.cat([ones, anchors > 0, ones], 2).flatten(1))
            query = self.bag(self.query_words[queries])
            x.append(torch.stack([self.users(users) + seg[2], query + seg[3]], 1))
            valid.append(history.new_ones(len(history), 2, dtype=torch.bool))
            return torch.cat(x, 1), torch.cat(valid, 1)

        def encode(self, x, allowed, caches=None):
            """The layers over new positions x (B, n, d); ``caches``: per layer, the earlier positions'
            keys and values (None: x is the whole sequence). Returns the outputs and the caches."""
            caches = caches or [None] * len(self.layers)
            for i, layer in enumerate(self.layers):
                x, caches[i] = layer(x, allowed, caches[i])
            return self.norm(x), caches

        def reason(self, x, valid, block: int, first=None, first_valid=None, cached: bool = True) -> list:
            """[B_0, ..., B_K], each (B', block, d), on the input I (B, N, d) with its real tokens ``valid``.

            B_0 is the last ``block`` outputs on I (retrieval: the SD tokens), or, with ``first`` (B', block, d)
            (ranking: the candidate groups, B' = B x groups), the outputs of ``first`` read after I as a
            block of its own. Step k appends B~_k = B_k + E_RPE[k] and runs the same layers on
            [I; (first;) B~_0; ...; B~_k] under `reasoning_mask`. Earlier positions never see later ones,
            so their keys and values are computed once and cached: I is encoded once for all the groups,
            and each step computes only its new block (``cached=False``: re-run the whole sequence).
            """
            n, K, g = x.shape[1], c.reasoning_steps, 1 if first is None else len(first) // len(x)
            base = reasoning_mask(n, block, K + (first is not None), c.attention).to(x.device)
            keys = [valid.repeat_interleave(g, 0)] + ([first_valid] if first is not None else [])
            keys = torch.cat(keys + [valid.new_ones(len(keys[0]), K * block)], 1)
            allowed = lambda lo, hi: base[lo:hi, :hi] & keys[:, None, None, :hi]  # noqa: E731  (padding: never read)
            seq = [self.drop(x)]
            h, caches = self.encode(seq[0], base[:n, :n] & valid[:, None, None, :])
            end = n
            if first is not None:  # the candidate groups, one sequence each, share I's keys and values
                caches = [(k.repeat_interleave(g, 0), v.repeat_interleave(g, 0)) for k, v in caches]
                seq, end = [seq[0].repeat_interleave(g, 0), self.drop(first)], n + block
                if cached:
                    h, caches = self.encode(seq[1], allowed(n, end), caches)
                else:
                    h = self.encode(torch.cat(seq, 1), allowed(0, end))[0]
            blocks = [h[:, -block:]]
            for k in range(K):
                new, end = blocks[-1] + self.rpe.weight[k], end + block  # B~_k
                if cached:
                    h, caches = self.encode(new, allowed(end - block, end), caches)
                else:
                    seq.append(new)
                    h = self.encode(torch.cat(seq, 1), allowed(0, end))[0]
                blocks.append(h[:, -block:])
            return blocks

        # ---------------------------------------------------------------- retrieval
        def user_vectors(self, history, anchors, users, queries) -> list:
            """r_k = Mean(LN(B_k)) for every block: K + 1 tensors (B, d)."""
            x, valid = self.context(history, anchors, users, queries)
            return [self.readout_norm(b).mean(1) for b in self.reason(x, valid, 2)]

        # ---------------------------------------------------------------- ranking
        def candidate_scores(self, history, anchors, users, queries, candidates, block: int) -> list:
            """s_{i,k} = MLP_{tau_k}(h_{i,k}) for every block: K + 1 tensors (B, C). The C candidates
            (no positions) are cut into groups of ``block`` in their given order; each group reads the
            context and itself, never another group, and the context never reads a candidate."""
            x, valid = self.context(history, anchors, users, queries)
            b, n_cand = candidates.shape
            cand = self.item_vectors(candidates + 1) + self.segment.weight[4]  # no position: only the segment
            groups = self.reason(x, valid, block, cand.reshape(-1, block, d), (candidates >= 0).reshape(-1, block))
            heads = [self.heads[CHAINS["ranking"].index(t or "order")] for t in tasks]
            return [h(blk).reshape(b, n_cand) for h, blk in zip(heads, groups)]

        # ---------------------------------------------------------------- losses
        def forward(self, batch):
            """Per-block training losses (K + 1,), zero for unsupervised blocks."""
            return self.retrieval_loss(**batch) if c.mode == "retrieval" else self.ranking_loss(**batch)

        def retrieval_loss(self, history, anchors, users, queries, positives, hard, randoms):
            z = self.catalog_vectors()  # (I, d)
            losses = []
            for r, task in zip(self.user_vectors(history, anchors, users, queries), tasks):
                if task is None:
                    losses.append(r.sum() * 0)
                    continue
                t = CHAINS["retrieval"].index(task)
                pos = positives[:, t]  # (B,) one positive of the task per row
                neg = torch.cat([hard if task != "impression" else hard[:, :0], randoms], 1)  # (B, H)
                s_pos, s_neg = (r * z[pos]).sum(-1), (r[:, None] * z[neg.clamp_min(0)]).sum(-1)
                keep = neg >= 0
                bce = (F.binary_cross_entropy_with_logits(s_pos, torch.ones_like(s_pos), reduction="sum")
                       + F.binary_cross_entropy_with_logits(s_neg[keep], torch.zeros_like(s_neg[keep]), reduction="sum")
                       ) / (len(pos) + keep.sum())
                # U2I over the batch's positives and the row's hard and random negatives; I2U over the batch's users
                same = (pos[:, None] == pos[None, :]) & ~torch.eye(len(pos), dtype=torch.bool, device=pos.device)
                logits = (r @ z[pos].T / c.temperature).masked_fill(same, -torch.inf)  # (B, B)
                hard_logits = (s_neg / c.temperature).masked_fill(~keep, -torch.inf)
                label = torch.arange(len(pos), device=pos.device)
                u2i = F.cross_entropy(torch.cat([logits, hard_logits], 1), label)
                i2u = F.cross_entropy(logits.T, label)
                losses.append(bce + u2i + i2u)
            return torch.stack(losses)

        def ranking_loss(self, history, anchors, users, queries, candidates, labels):
            losses, valid, block = [], candidates >= 0, c.block_size or candidates.shape[1]
            for s, task in zip(self.candidate_scores(history, anchors, users, queries, candidates, block), tasks):
                if task is None:
                    losses.append(s.sum() * 0)
                    continue
                y = labels[:, CHAINS["ranking"].index(task)].float()  # (B, C)
                bce = F.binary_cross_entropy_with_logits(s[valid], y[valid])
                log_p = torch.log_softmax((s / c.temperature).masked_fill(~valid, -torch.inf), 1)
                scl = -(log_p.masked_fill(~valid, 0) * y).sum(1) / y.sum(1).clamp_min(1)
                losses.append(bce + scl[y.sum(1) > 0].mean())
            return torch.stack(losses)

    return OnePieceNet()


class OnePiece(TorchRecommender):
    """OnePiece on a search log; see the module docstring.

    ``OnePiece(log=None, **settings)``: ``log`` is a `llmrec_mini.data.search_log.SearchLog` (fit on
    ``log.split``); without one the plain log of the split is used. After `fit`: ``queries`` (the
    query vocabulary), ``anchor_table`` (n_queries, 3, n_anchors) item indices (-1 = none), ``result``.

    * ``score(histories, users)``: retrieval, every catalog item (``<r_K, z_v>``);
    * ``rank(context, candidates, task="order")``: scores of given candidates (B, C), both modes;
      ``context`` = ``{"histories": [...], "users": [...] or None, "queries": ids / strings or None}``
      (`SearchLog.context` builds it);
    * ``evaluate_impressions(log, part)``: C-AUC, O-AUC and NDCG inside the log's impression lists;
    * ``layout()`` / ``mask()``: the token sequence (segment names and lengths) and its attention mask.
    """

    name = "onepiece"
    description = ("OnePiece: a Transformer over history ⊕ query anchors ⊕ user/query tokens, block-wise latent "
                   "reasoning, progressive impression -> click -> order training")
    capabilities = Capabilities(needs_catalog=True)
    decode_options = {"queries": None}  # one query (id or string) per history; None: the logged / fallback query
    Config = OnePieceConfig
    train_defaults = {"epochs": 5, "batch_size": 64, "lr": 2e-3, "schedule": "cosine", "patience": None,
                      "val_users": 500}
    presets = {
        "tiny": {"d_model": 16, "n_layers": 1, "n_heads": 1, "max_history": 10, "n_anchors": 3, "reasoning_steps": 1,
                 "epochs": 1, "val_users": 50},  # smoke size (tests)
        "ranking": {"mode": "ranking", "reasoning_steps": 2},  # needs OnePiece(log=make_search_log(dataset))
    }
    published = ()  # the paper's numbers are on Shopee's logs (the note quotes them)

    def __init__(self, log: SearchLog | None = None, **params):
        super().__init__(**params)
        self.log = log
        self.queries: list[str] = []
        self.anchor_table: np.ndarray | None = None
        self.item_query = self.item_category = None
        self.words: list[str] = []  # the vocabulary of query and item words
        self.item_words = self.query_words = None  # word ids (0 = padding) of each item / query
        self.n_users = self.n_candidates = 0
        self._events = None  # (user, pos, query) of every event of the log: held-out rows find their query
        self._query_of: dict = {}
        self._train: dict = {}
        self._terms: list = []
        self._call_queries = None

    @property
    def tasks(self) -> list[str | None]:
        """The task supervising each block B_0..B_K (None: unsupervised)."""
        c = self.config
        return task_of_blocks(c.mode, c.reasoning_steps, c.supervision)

    @property
    def block(self) -> int:
        """M: tokens per reasoning block (|SD| = 2 in retrieval, candidates per group in ranking)."""
        return 2 if self.config.mode == "retrieval" else (self.config.block_size or self.n_candidates)

    # ------------------------------------------------------------------ data
    def prepare(self, split, catalog) -> None:
        """The log (given, or the split's plain one), the query vocabulary, the anchors and the
        training events' inputs (histories, own-excluded anchors)."""
        c = self.config
        if catalog is None:
            raise ValueError("OnePiece reads item categories: fit(split, catalog) needs the catalog")
        log = self.log if self.log is not None else SearchLog.from_split(split, catalog)
        if self.log is not None and not _same_split(log.split, split):
            raise ValueError("the split is not the search log's: fit OnePiece(log=log) on log.split")
        self.n_candidates = log.impressions.shape[1]
        if c.mode == "ranking":
            if self.log is None or self.n_candidates < 2:
                raise ValueError("ranking mode ranks impression lists: give OnePiece(log=make_search_log(dataset), "
                                 "mode='ranking') and fit it on log.split")
            if self.n_candidates % self.block:
                raise ValueError(f"block_size {self.block} must divide the {self.n_candidates} candidates of a list")
        self.queries, self.item_query = list(log.queries), np.asarray(log.item_query)
        self.item_category = catalog.category_ids()
        self._set_words(catalog)
        self.n_users = len(split.train)
        self.anchor_table = query_anchors(log, c.n_anchors)
        self._set_events(log.user, log.pos, log.query)
        rows = log.events("train")
        self._train = {"log": log, "rows": rows, "anchors": training_anchors(log, c.n_anchors),
                       "history": pad_left([log.history(e) for e in rows], c.max_history),
                       "rng": np.random.default_rng(self.train_config.seed)}

    def _set_events(self, user, pos, query) -> None:
        self._events = (np.asarray(user), np.asarray(pos), np.asarray(query))
        self._query_of = dict(zip(zip(self._events[0].tolist(), self._events[1].tolist()), self._events[2].tolist()))

    def _set_words(self, catalog) -> None:
        """The word vocabulary of the queries and of every item's leaf category, price tier, tags and brand."""
        item_text, tiers = [], price_tiers(catalog)
        for i in range(len(catalog)):
            parts = [catalog.category(i, level=-1), tiers[i]] + list(catalog.tags[i] if catalog.tags else [])
            item_text.append(" ".join(parts + [catalog.brands[i] if catalog.brands else ""]).lower().split())
        query_text = [q.lower().split() for q in self.queries]
        self.words = sorted({w for text in item_text + query_text for w in text})
        index = {w: j + 1 for j, w in enumerate(self.words)}

        def table(texts):
            out = np.zeros((len(texts), max([1] + [len(t) for t in texts])), dtype=np.int64)
            for j, t in enumerate(texts):
                out[j, :len(t)] = [index[w] for w in t]
            return out

        self.item_words, self.query_words = table(item_text), table(query_text)

    def build(self):
        return _module(self.n_items, self.n_users, self.item_category, self.item_words, self.query_words,
                       len(self.words), self.config)

    def untrained(self, n_items: int, catalog=None, split=None) -> "OnePiece":
        """The seeded, randomly initialised model; it needs the catalog and a split (default: the log's)."""
        split = split if split is not None else self.log.split if self.log is not None else None
        if catalog is None or split is None:
            raise ValueError("OnePiece.untrained(n_items, catalog, split) needs the catalog and a split (or a log)")
        self.n_items = n_items
        self.prepare(split, catalog)
        return super().untrained(n_items, catalog)

    def examples(self, split):
        return list(range(len(self._train["rows"])))

    def example_lengths(self, examples) -> np.ndarray:
        """History lengths: batches of similar length carry less padding."""
        return (self._train["history"][np.asarray(examples)] > 0).sum(1)

    def collate(self, examples):
        """Context tensors of the events; retrieval: one positive per task (a random shown, a random
        clicked item, the order), hard negatives (shown, not clicked) and random items not shown;
        ranking: the impression list in a random order (random grouping) with click / order labels."""
        import torch

        idx = np.asarray(examples)
        log, rng, rows = self._train["log"], self._train["rng"], self._train["rows"][idx]
        shown, clicks, orders = log.impressions[rows], log.clicks[rows], log.orders[rows]
        history = self._train["history"][idx]
        start = min(int(np.argmax((history > 0).any(0))) if (history > 0).any() else history.shape[1] - 1,
                    history.shape[1] - 1)  # drop the columns that are padding in every row
        batch = {"history": torch.as_tensor(history[:, start:]),
                 "anchors": torch.as_tensor(self._train["anchors"][idx] + 1),
                 "users": torch.as_tensor(log.user[rows] + 1), "queries": torch.as_tensor(log.query[rows])}
        if self.config.mode == "ranking":
            perm = np.argsort(rng.random(shown.shape), axis=1)
            take = lambda a: np.take_along_axis(a, perm, 1)  # noqa: E731
            batch["candidates"] = torch.as_tensor(take(shown))
            batch["labels"] = torch.as_tensor(np.stack([take(clicks), take(orders)], 1))
            return batch
        pick = lambda label: np.take_along_axis(  # noqa: E731
            shown, np.argmax(np.where(label, rng.random(label.shape), -1.0), 1)[:, None], 1)[:, 0]
        batch["positives"] = torch.as_tensor(np.stack([pick(shown >= 0), pick(clicks), pick(orders)], 1))
        batch["hard"] = torch.as_tensor(np.where((shown >= 0) & ~clicks, shown, -1))
        randoms = rng.integers(0, self.n_items, (len(idx), self.config.n_random_negatives))
        batch["randoms"] = torch.as_tensor(np.where((randoms[:, :, None] == shown[:, None, :]).any(-1), -1, randoms))
        return batch

    def loss(self, module, batch):
        terms = module(batch)  # (K + 1,) per-block losses
        self._terms.append(terms.detach())
        return terms.sum()

    def validation_fn(self, split, metric: str = "ndcg@10"):
        """Retrieval: the base's NDCG@10 on validation users; ranking: C-AUC on validation events.
        Both log the mean training loss of each block (``loss_B0``, ...) per epoch."""
        import torch

        cfg = self.train_config
        if self.config.mode == "retrieval":
            validate = super().validation_fn(split, metric)
        else:
            log = self._train["log"]
            rows = log.events("valid")
            rows = rows[np.sort(np.random.default_rng(cfg.seed).permutation(len(rows))[:cfg.val_users])]
            validate = (lambda module: self.evaluate_impressions(log, rows=rows)["c_auc"]) if len(rows) else None
        if validate is None:
            return None

        def with_terms(module):
            means = torch.stack(self._terms).mean(0).tolist() if self._terms else []
            self._terms = []
            return {"score": validate(module), **{f"loss_B{k}": v for k, v in enumerate(means)}}

        return with_terms

    # ------------------------------------------------------------------ inference
    def query_id(self, query) -> int:
        """A query id, or the id of a query string of the vocabulary (ValueError for an unknown one)."""
        if isinstance(query, str):
            if query not in self.queries:
                raise ValueError(f"unknown query {query!r}: this model knows the {len(self.queries)} queries "
                                 "of its log")
            return self.queries.index(query)
        q = int(query)
        if not 0 <= q < len(self.queries):
            raise ValueError(f"query id {q} is out of range (0..{len(self.queries) - 1})")
        return q

    def inputs(self, histories, users=None, queries=None) -> dict:
        """Context tensors for histories: the query is given, else the logged query of the event at
        (user, len(history)), else the leaf category of the last item; anchors = the query's."""
        import torch

        histories = self.check_histories(histories)
        if users is not None and len(users) != len(histories):
            raise ValueError(f"got {len(users)} users for {len(histories)} histories")
        if isinstance(queries, str) or (queries is not None and not hasattr(queries, "__len__")):
            raise ValueError(f"queries must be a list with one query (id, string or None) per history, got {queries!r}")
        if queries is not None and len(queries) != len(histories):
            raise ValueError(f"got {len(queries)} queries for {len(histories)} histories (one per history)")
        q = []
        for b, h in enumerate(histories):
            if queries is not None and queries[b] is not None:
                q.append(self.query_id(queries[b]))
            else:
                found = self._query_of.get((int(users[b]), len(h))) if users is not None else None
                q.append(found if found is not None else int(self.item_query[h[-1]]) if len(h) else 0)
        u = np.asarray(users if users is not None else np.full(len(histories), -1), dtype=np.int64)
        u = np.where((u >= 0) & (u < self.n_users), u + 1, 0)
        device = self.device()
        length = max(1, min(self.config.max_history, max((len(h) for h in histories), default=1)))
        return {"history": torch.as_tensor(pad_left(histories, length), device=device),
                "anchors": torch.as_tensor(self.anchor_table[q] + 1, device=device),
                "users": torch.as_tensor(u, device=device), "queries": torch.as_tensor(np.array(q), device=device)}

    def _block_of(self, task: str) -> int:
        """The last block supervised on ``task`` (the last block if none is)."""
        if task not in CHAINS[self.config.mode]:
            raise ValueError(f"task must be one of {CHAINS[self.config.mode]} in {self.config.mode} mode, got {task!r}")
        hits = [k for k, t in enumerate(self.tasks) if t == task]
        return hits[-1] if hits else len(self.tasks) - 1

    def _recommend(self, histories, k, exclude_seen, users, queries=None):
        self._call_queries = queries
        try:
            return super()._recommend(histories, k, exclude_seen, users)  # top-k of `score`, which reads them
        finally:
            self._call_queries = None

    def score(self, histories, users=None, queries=None) -> np.ndarray:
        import torch

        self.check_fitted()
        queries = queries if queries is not None else self._call_queries
        if self.config.mode != "retrieval":
            raise ValueError("a ranking-mode OnePiece scores candidate sets: use rank(context, candidates)")
        with torch.no_grad():
            r = self.module.user_vectors(**self.inputs(histories, users, queries))[-1]
            return (r @ self.module.catalog_vectors().T).float().cpu().numpy()

    def rank(self, context: dict, candidates, task: str = "order") -> np.ndarray:
        """(B, C) scores of the candidates (item indices, -1 = empty slot: score -inf) of each context,
        read at the last block trained on ``task``. Retrieval: ``<r_k, z_c>``; ranking:
        ``MLP_task(h_{c,k})``, the candidates in groups of ``block_size`` in the given order."""
        import torch

        self.check_fitted()
        if not isinstance(context, dict) or "histories" not in context:
            raise ValueError("context must be a dict with 'histories' (and optionally 'users', 'queries')")
        unknown = set(context) - {"histories", "users", "queries", "query_text"}
        if unknown:
            raise ValueError(f"unknown context key(s) {sorted(unknown)}")
        cand = np.asarray(candidates)
        if cand.ndim != 2 or len(cand) != len(context["histories"]) or not np.issubdtype(cand.dtype, np.integer):
            raise ValueError(f"candidates must be (B, C) item indices with one row per history, got shape {cand.shape}")
        if cand.size and (cand.min() < -1 or cand.max() >= self.n_items):
            raise ValueError(f"candidates must be item indices in 0..{self.n_items - 1} (or -1 for an empty slot)")
        k = self._block_of(task)
        x = self.inputs(context["histories"], context.get("users"), context.get("queries"))
        c = torch.as_tensor(cand.astype(np.int64), device=self.device())
        with torch.no_grad():
            if self.config.mode == "retrieval":
                r = self.module.user_vectors(**x)[k]
                s = (r[:, None] * self.module.catalog_vectors()[c.clamp_min(0)]).sum(-1)
            else:
                block = self.config.block_size or cand.shape[1]
                if cand.shape[1] % block:
                    raise ValueError(f"block_size {block} must divide the {cand.shape[1]} candidates")
                s = self.module.candidate_scores(**x, candidates=c, block=block)[k]
            return s.masked_fill(c < 0, -torch.inf).float().cpu().numpy()

    def evaluate_impressions(self, log: SearchLog, part: str = "test", rows=None) -> dict:
        """`impression_metrics` of this model on the impression lists of ``log``'s ``part`` events (or
        ``rows``): clicks scored at the click block, orders and NDCG at the order block."""
        rows = log.events(part) if rows is None else np.asarray(rows)
        ctx, shown = log.context(rows), log.impressions[rows]
        clicks = self.rank(ctx, shown, task="click") if "click" in CHAINS[self.config.mode] else None
        orders = self.rank(ctx, shown, task="order")
        out = impression_metrics(orders, log.clicks[rows], log.orders[rows])
        if clicks is not None:
            out["c_auc"] = impression_metrics(clicks, log.clicks[rows], log.orders[rows])["c_auc"]
        return out

    # ------------------------------------------------------------------ the token sequence
    def layout(self) -> list[tuple[str, int]]:
        """The model's sequence as (segment, length): IH, PA groups (BOS + items + EOS), SD, CIS
        (ranking: one group of M candidates, a block the context never reads), then the K reasoning
        blocks B~_0..B~_{K-1}."""
        c = self.config
        if c.mode == "ranking" and not self.n_candidates:
            raise ValueError("fit or load the ranking model first: the block size follows its candidate lists")
        segs = [("IH", c.max_history)]
        if c.use_anchors:
            segs += [(f"PA {s}", c.n_anchors + 2) for s in SIGNALS]
        segs += [("SD", 2)] + ([("CIS", self.block)] if c.mode == "ranking" else [])
        return segs + [(f"B~{k}", self.block) for k in range(c.reasoning_steps)]

    def mask(self):
        """The attention mask (True = may attend) of the last reasoning step over `layout`: the
        candidate group (ranking) and the reasoning blocks are blocks after the input."""
        layout = self.layout()
        blocks = [n for name, n in layout if name == "CIS" or name.startswith("B~")]
        n_input = sum(n for _, n in layout) - sum(blocks)
        return reasoning_mask(n_input, self.block, len(blocks), self.config.attention)

    def token_labels(self) -> list[str]:
        """One short label per position of `layout` (``h19``, ``<orders>``, ``o1``, ``user``, ``c0``, ``r0.1``)."""
        k, out = self.config.n_anchors, []
        for name, n in self.layout():
            if name == "IH":
                out += [f"h{j}" for j in range(n)]
            elif name.startswith("PA"):
                s = name.split()[1]
                out += [f"<{s}>"] + [f"{s[0]}{j}" for j in range(k)] + [f"</{s}>"]
            elif name == "SD":
                out += ["user", "query"]
            elif name == "CIS":
                out += [f"c{j}" for j in range(n)]
            else:
                out += [f"r{name[2:]}.{j}" for j in range(n)]
        return out

    def describe_context(self, history, user=None, query=None, catalog=None) -> str:
        """The tokens one request puts in front of the Transformer, as text (the note prints some)."""
        x = self.inputs([history], None if user is None else [user], None if query is None else [query])
        title = (lambda i: catalog.title(i)) if catalog is not None else (lambda i: f"item {i}")  # noqa: E731
        hist = [int(t) - 1 for t in x["history"][0].tolist() if t > 0]
        lines = [f"IH ({len(hist)} items, oldest first): " + "; ".join(title(i) for i in hist[-5:])
                 + (" (last 5 shown)" if len(hist) > 5 else "")]
        if self.config.use_anchors:
            for s, row in zip(SIGNALS, x["anchors"][0].tolist()):
                lines.append(f"PA <{s}> " + "; ".join(title(t - 1) for t in row if t > 0) + f" </{s}>")
        who = user if user is not None else "(unknown)"
        lines.append(f"SD user {who}, query {self.queries[int(x['queries'][0])]!r}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ checkpoints
    def save_extra(self, path: Path) -> None:
        (path / "onepiece.json").write_text(json.dumps({"queries": self.queries, "words": self.words,
                                                        "n_users": self.n_users, "n_candidates": self.n_candidates}))
        np.savez(path / "onepiece.npz", item_query=self.item_query, item_category=self.item_category,
                 item_words=self.item_words, query_words=self.query_words,
                 anchor_table=self.anchor_table, user=self._events[0], pos=self._events[1], query=self._events[2])

    def load_extra(self, path: Path, catalog=None) -> None:
        from .base import CheckpointError

        if not (path / "onepiece.json").is_file() or not (path / "onepiece.npz").is_file():
            raise CheckpointError(f"{path} has no onepiece.json / onepiece.npz (OnePiece's queries and anchors)")
        meta, arrays = json.loads((path / "onepiece.json").read_text()), np.load(path / "onepiece.npz")
        self.queries, self.words = meta["queries"], meta["words"]
        self.n_users, self.n_candidates = meta["n_users"], meta["n_candidates"]
        self.item_words, self.query_words = arrays["item_words"], arrays["query_words"]
        self.item_query, self.item_category = arrays["item_query"], arrays["item_category"]
        self.anchor_table = arrays["anchor_table"]
        self._set_events(arrays["user"], arrays["pos"], arrays["query"])


class QueryPopularity(Recommender):
    """The baseline that knows the query: rank the catalog by how often each item was ordered under the
    event's query in the training log (then clicked, then shown, then overall). Not registered: it
    needs a log, and finds a row's query at ``(user, len(history))`` as `OnePiece` does."""

    name = "query-popularity"
    description = "items most often ordered under the request's query in the training log"

    def __init__(self, log: SearchLog):
        self.log = log
        self.table: np.ndarray | None = None

    def fit(self, split=None, catalog=None) -> "QueryPopularity":
        counts = query_counts(self.log)  # (n_queries, 3, n_items) over training events
        overall = counts.sum((0, 1))
        self.table = counts[:, 0] + 1e-3 * counts[:, 1] + 1e-6 * counts[:, 2] + 1e-9 * overall / max(1.0, overall.max())
        self.n_items = self.log.n_items
        return self

    def score(self, histories, users=None) -> np.ndarray:
        if self.table is None:
            raise RuntimeError("fit the query-popularity baseline first")
        q = []
        for b, h in enumerate(histories):
            row = self.log.row(users[b], len(h)) if users is not None else None
            q.append(self.log.query[row] if row is not None else self.log.item_query[h[-1]])
        return self.table[np.array(q, dtype=np.int64)]


def _same_split(a, b) -> bool:
    return a is b or (a.n_items == b.n_items and len(a.train) == len(b.train)
                      and all(np.array_equal(x, y) for x, y in zip(a.train, b.train))
                      and np.array_equal(a.test.targets, b.test.targets))
