"""OneRec-Think: the model writes a short text rationale, then the next item's semantic ID, in one
left-to-right pass (Liu et al., Kuaishou, arXiv 2510.11639; context: OneRec, arXiv 2502.18965;
../shared/research/methods_part2.md §6).

OneRec-Think is PLUM's machinery (`models/plum.py`: an LM whose vocabulary holds text tokens and
semantic-ID tokens, trie-constrained beams) with three stages on top::

    user history : <item> s s s s </item> ... reasoning :   <- the prompt P(S)
    the user bought 2 items in beauty skin care ; next : beauty skin care .   <- the rationale r
    <item> s s s s                                         <- the item tokens (beam search under the trie)

0. **Semantic IDs**: residual k-means (``method="rqkmeans"``, 3 levels x 64 codes) plus TIGER's
   collision token, so an ID has L = 4 tokens and names exactly one item.
1. **Itemic alignment** (§3.1). (a) *Token warm-up*: only the new item-token embedding rows train,
   the LM is frozen (`llm.freeze_except_tokens`; ``token_warmup_steps``). (b) *Multi-task integration*: all
   weights train (``cpt_steps``) on next-token prediction over a mix (``task_mix``, the paper's
   24.30 / 65.73 / 4.94 / 5.03 %) of four tasks: persona grounding (interests in words, interleaved
   with the items bought and their categories), sequential preference (a window of the history's
   IDs), item captioning (ID -> category and title) and general text (item descriptions).
2. **Reasoning activation** (§3.2). A rationale is built for each training pair from the history
   items most related to the target (same category path, then same top category; the most recent
   ``rationale_items``), the paper's "category-based CoT" for public data. SFT then trains

       L_RA = -( sum_i log P(r_i | P(S), r_<i) + sum_j log P(s^j | P(S), r, s^<j) )          (eq. RA)

   (the trainer averages the same terms over tokens). Serving is a joint beam: the
   ``rationale_beams`` most likely rationales, then item beams under the SID trie after each, all
   candidates ranked by log P(r | P(S)) + log P(s | P(S), r) (`reason` returns the best rationale and
   the items).
3. **Reasoning enhancement** (§3.3): GRPO on the rationale with the *rollout-beam* reward

       R = max_{s^ in Beam_K} sum_{l=1}^{L} 1[s^_l = s_l]                                   (eq. R)

   (`rollout_beam_reward`): after each sampled rationale a width-K beam under the trie; the reward
   is the best partial match of an item ID with the target's, a dense signal where exact hits are
   rare. G rationales per prompt, advantages A = (R - mean_G R) / std_G R, and the clipped objective

       J = E[ min(rho A, clip(rho, 1-eps, 1+eps) A) - beta KL(pi || pi_ref) ],  rho = pi / pi_old  (eq. GRPO)

   with the k3 estimate of the KL to the frozen SFT model. Written here in the package's trainer
   style (one fresh rollout batch per optimizer step of `train.train_model`), not with `trl`'s
   GRPOTrainer: trl (1.16, on the registry, not installed) brings its own HF-Trainer loop (a second
   training loop beside the package's), takes a `datasets` table of text prompts and reward
   functions over the decoded completions, while this reward needs a second, trie-constrained beam
   search over item-token ids after each rationale, the rationale must stop at ``<item>`` with the
   item tokens banned, and the reference model is the SFT model in memory.
   With one update per rollout batch pi_old = pi, so rho = 1 and the clip only bounds the gradient's
   scale (the paper's setting: one or more updates per rollout; here ``grpo_steps`` steps).
4. **Think-Ahead** (§3.4): offline, the rationale and the first L-1 item tokens are precomputed
   (`think_ahead`); online, the last token is chosen among the items under that prefix
   (`complete`), one forward pass instead of a generation.

Deviations: a tiny word-level Llama (the paper: Qwen3-1.7B on public data, Qwen-8B in production),
pre-trained on the catalog's text first; rationales are templates (the paper has the aligned LLM
write them from a pruned context) that count the related items and name the category but no title
(with titles, the rationale beams differed in titles rather than categories and Recall@10 fell); serving
ranks a few rationale beams jointly with their item beams (``rationale_beams``); one model completes
the Think-Ahead prefix (the paper: a fresher real-time OneRec); a few dozen GRPO steps with small groups
(paper: group 16, K = 32, lr 1e-5, KL 0.001).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .. import llm
from .plum import END, ITEM, PLUM, PLUMConfig, item_category

THINK_WORDS = ("reasoning : the user bought items in , next : no recent item near none of ; "
               "user persona : interests and bought " + " ".join(str(n) for n in range(0, 51)))
TASKS = ("persona", "sequential", "captioning", "text")


def rollout_beam_reward(beam_tokens, target_tokens, valid=None) -> np.ndarray:
    """Eq. R: the best number of positions l where a beam's ID token equals the target's.

    ``beam_tokens`` (..., K, L), ``target_tokens`` (..., L); ``valid`` (..., K) marks live beams
    (dead beams count 0). Returns (...,) integers in [0, L]."""
    beam_tokens, target_tokens = np.asarray(beam_tokens), np.asarray(target_tokens)
    if beam_tokens.ndim < 2 or beam_tokens.shape[-1] != target_tokens.shape[-1] \
            or beam_tokens.shape[:-2] != target_tokens.shape[:-1]:
        raise ValueError(f"beam tokens (..., K, L) and target tokens (..., L) do not match: "
                         f"{beam_tokens.shape} and {target_tokens.shape}")
    matches = (beam_tokens == target_tokens[..., None, :]).sum(-1)
    if valid is not None:
        matches = np.where(np.asarray(valid, dtype=bool), matches, 0)
    return matches.max(-1)


@dataclass
class OneRecThinkConfig(PLUMConfig):
    token_warmup_steps: int = 100  # 1a: token warm-up steps (only the new item-token rows train); 0: none
    token_warmup_lr: float = 1e-2
    # cpt_steps (PLUM's field): 1b, multi-task itemic-alignment steps; 0: no alignment
    task_mix: tuple[float, ...] = (0.2430, 0.6573, 0.0494, 0.0503)  # persona, sequential, captioning, text
    reasoning: bool = True  # 2: rationale before the item tokens (False: PLUM's history -> ID)
    rationale_items: int = 3  # history items most related to the target that the rationale counts
    rationale_tokens: int = 24  # at most this many rationale tokens at serving
    rationale_beams: int = 5  # serving: item beams follow each of this many best rationales (joint beam)
    grpo_steps: int = 20  # 3: GRPO steps after SFT (0: none)
    grpo_prompts: int = 8  # prompts per GRPO step
    grpo_group: int = 4  # G: rationales sampled per prompt
    grpo_beam: int = 8  # K: width of the rollout beam behind each rationale
    grpo_lr: float = 1e-4
    grpo_kl: float = 0.01  # beta
    grpo_clip: float = 0.2  # epsilon
    grpo_temperature: float = 1.0

    def check(self) -> None:
        super().check()
        for name in ("token_warmup_steps", "grpo_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("rationale_items", "rationale_tokens", "rationale_beams", "grpo_prompts", "grpo_beam"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.grpo_group < 2:
            raise ValueError(f"grpo_group must be at least 2 (advantages compare rationales), got {self.grpo_group}")
        for name in ("token_warmup_lr", "grpo_lr", "grpo_temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.grpo_kl < 0 or not 0 < self.grpo_clip < 1:
            raise ValueError(f"need grpo_kl >= 0 and 0 < grpo_clip < 1, got {self.grpo_kl} and {self.grpo_clip}")
        mix = tuple(self.task_mix)
        if len(mix) != 4 or min(mix) < 0 or sum(mix) <= 0:
            raise ValueError(f"task_mix must be 4 non-negative shares ({', '.join(TASKS)}) with a positive sum, "
                             f"got {mix}")
        if self.lm != "tiny":
            raise ValueError("OneRec-Think is implemented on the tiny LM only (lm='tiny')")


def _left_pad(prompts, pad: int):
    import torch

    width = max(map(len, prompts))
    ids = torch.full((len(prompts), width), int(pad))
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, width - len(p):], mask[b, width - len(p):] = torch.as_tensor(list(map(int, p))), 1
    return ids, mask


class OneRecThink(PLUM):
    name = "onerec_think"
    description = ("OneRec-Think: itemic alignment, a text rationale before the item's semantic ID, "
                   "GRPO with the rollout-beam reward, Think-Ahead serving")
    Config = OneRecThinkConfig
    sid_defaults = {"method": "rqkmeans", "levels": 3, "codebook_size": 64}
    decode_options = {"num_beams": None}
    presets = {
        "tiny": {"d_model": 32, "n_layers": 1, "n_heads": 2, "lm_steps": 10, "token_warmup_steps": 5, "cpt_steps": 10,
                 "grpo_steps": 2, "grpo_prompts": 2, "grpo_group": 2, "grpo_beam": 4, "rationale_tokens": 16,
                 "epochs": 1, "val_users": 20, "num_beams": 10, "levels": 2, "codebook_size": 16,
                 "encoder": "hashing"},
    }
    published = ()  # the paper's Beauty numbers use a different split and a 1.7B LLM; see the note

    def __init__(self, semantic_ids=None, **params):
        super().__init__(semantic_ids=semantic_ids, **params)
        self.categories: list[str] = []
        self.top_categories: list[str] = []
        self.titles: list[str] = []
        self.descriptions: list[str] = []
        self.rewards: list[float] = []  # GRPO: mean rollout-beam reward per step

    # ------------------------------------------------------------------ 0. item text for the tasks and rationales
    def prepare(self, split, catalog) -> None:
        if catalog is None:
            raise ValueError("OneRec-Think needs the catalog (item text): fit(split, catalog)")
        n = len(catalog)
        self.categories = [item_category(catalog, i) for i in range(n)]
        self.top_categories = [catalog.categories[i][0] if catalog.categories and catalog.categories[i] else "unknown"
                               for i in range(n)]
        self.titles = [catalog.title(i) for i in range(n)]
        self.descriptions = [d or "" for d in (catalog.descriptions or [""] * n)]
        super().prepare(split, catalog)

    def extra_texts(self, split) -> list[str]:
        return [THINK_WORDS] + [d for d in self.descriptions if d]

    # ------------------------------------------------------------------ 1. itemic alignment
    def before_training(self, split, catalog) -> None:
        c = self.config
        self.stage_results = {}
        if c.init == "lm" and c.lm_steps:  # the "pre-trained LLM": the tiny LM learns the catalog's words first
            corpus = [self.words(t) + [self.tokenizer.eos_token_id] for t in self.item_words]
            self.stage_results["lm"] = self._causal_lm_stage(lambda rng: corpus[rng.integers(len(corpus))],
                                                             c.lm_steps, "LM pre-training")
        if c.token_warmup_steps:
            self.stage_results["warmup"] = self.token_warmup(split, c.token_warmup_steps)
        if c.cpt_steps:
            draw = self.alignment_draw(split)
            self.stage_results["alignment"] = self._causal_lm_stage(lambda rng: draw(rng)[1], c.cpt_steps,
                                                                    "itemic alignment")

    def item_token_ids(self) -> list[int]:
        """The new rows: the SID tokens and ``<item>``, ``</item>``."""
        return list(range(self.vocab.offset, self.vocab.end)) + [self.special[ITEM], self.special[END]]

    def token_warmup(self, split, steps: int):
        """1a: next-token training of the item-token embedding rows only (every other weight frozen),
        on the same task mix; the trained rows are merged back into the embedding."""
        c, tc = self.config, self.train_config
        draw = self.alignment_draw(split)
        warm = llm.freeze_except_tokens(self.module, self.item_token_ids())
        result = llm.train_lm_steps(warm, lambda rng: ([], draw(rng)[1]), steps, c.cpt_batch_size, c.token_warmup_lr,
                                    self.tokenizer.pad_token_id, seed=tc.seed, device=tc.device,
                                    progress=tc.progress, max_minutes=tc.max_minutes, desc="token warm-up")
        self.module = warm.merge_and_unload().requires_grad_(True)  # 1b trains every weight again
        return result

    def alignment_draw(self, split):
        """``draw(rng) -> (task, tokens)``: one example of a task picked by ``task_mix`` (1b)."""
        c = self.config
        seqs = [np.asarray(s) for s in split.train if len(s) >= 2]
        mix = np.asarray(c.task_mix, dtype=float)
        mix = mix / mix.sum()
        if not seqs:
            mix[:2] = 0
            mix = mix / mix.sum() if mix.sum() else np.array([0, 0, 1, 0.0])
        texts = [i for i, d in enumerate(self.descriptions) if d]
        if not texts:
            mix[3] = 0
            mix = mix / mix.sum()

        def window(rng):
            s = seqs[rng.integers(len(seqs))]
            start = rng.integers(max(1, len(s) - c.cpt_window + 1))
            return s[start:start + c.cpt_window]

        def draw(rng):
            task = TASKS[rng.choice(4, p=mix)]
            if task == "persona":
                return task, self.persona_tokens(window(rng))
            if task == "sequential":
                return task, self.behaviour_tokens(window(rng))
            if task == "captioning":
                return task, self.metadata_tokens(int(rng.integers(self.sids.n_items)))
            return task, self.words(self.descriptions[texts[rng.integers(len(texts))]]) + [self.tokenizer.eos_token_id]

        return draw

    def persona_tokens(self, items) -> list[int]:
        """Persona grounding: ``user persona : interests A and B . bought <item>..</item> category , ...``."""
        cats, counts = np.unique([self.categories[int(i)] for i in items], return_counts=True)
        top = [cats[j] for j in np.argsort(-counts, kind="stable")[:2]]
        out = self.words(f"user persona : interests {' and '.join(top)} . bought")
        for i in items:
            out += self.sid_tokens(int(i)) + self.words(f"{self.categories[int(i)]} ,")
        return out + [self.tokenizer.eos_token_id]

    def alignment_examples(self, split, n: int = 2, seed: int = 0) -> dict[str, list[str]]:
        """A few examples of each alignment task, as text (the note shows them)."""
        rng, draw, out = np.random.default_rng(seed), self.alignment_draw(split), {t: [] for t in TASKS}
        while min(map(len, out.values())) < n and sum(map(len, out.values())) < 200 * n:
            task, toks = draw(rng)
            if len(out[task]) < n:
                out[task].append(self.tokenizer.decode(toks[:-1]))
        return out

    # ------------------------------------------------------------------ 2. reasoning activation: rationale, then ID
    def rationale(self, history, target: int) -> str:
        """The category-based chain of thought for (history, target): how many of the history items most
        related to the target (same category path, else the same top category; at most the last
        ``rationale_items``) there are, then the target's category."""
        history, cat, top = [int(i) for i in history], self.categories[int(target)], self.top_categories[int(target)]
        same = [i for i in history if self.categories[i] == cat][-self.config.rationale_items:]
        if same:
            return f"the user bought {len(same)} items in {cat} ; next : {cat} ."
        near = [i for i in history if self.top_categories[i] == top][-self.config.rationale_items:]
        if near:
            return f"the user bought {len(near)} items in {top} , none in {cat} ; next : {cat} ."
        return f"no recent item near {cat} ; next : {cat} ."

    def prompt(self, history) -> list[int]:
        if not self.config.reasoning:
            return super().prompt(history)
        return self.history_tokens(np.asarray(history)[-self.config.max_history:]) + self.words("reasoning :")

    def examples(self, split):
        h = self.config.max_history
        return [(s[max(0, t - h):t], s[t], self.rationale(s[max(0, t - h):t], s[t])) for s in split.train
                for t in range(1, len(s))]

    def target_tokens(self, rationale: str | list[int], item: int) -> list[int]:
        """Eq. RA's target: the rationale's tokens, ``<item>``, the item's ID tokens."""
        words = self.words(rationale) if isinstance(rationale, str) else list(rationale)
        return words + [self.special[ITEM], *self.vocab.encode(np.array([int(item)]))[0].tolist()]

    def collate(self, examples):
        if not self.config.reasoning:
            return super().collate([(h, t) for h, t, _ in examples])
        return llm.lm_batch([self.prompt(h) for h, _, _ in examples],
                            [self.target_tokens(r, t) for _, t, r in examples], self.tokenizer.pad_token_id)

    def banned_in_rationale(self) -> list[int]:
        return list(range(self.vocab.offset, self.vocab.end)) + [self.special[END], self.tokenizer.eos_token_id]

    def write_rationales(self, histories, beams: int = 1):
        """The ``beams`` most likely rationales after each prompt (beam search, at least 2 wide), each stopped by
        ``<item>``, item tokens banned. Returns token lists (rows history-major) and their log-probabilities."""
        import torch

        c = self.config
        rows, scores = [], []
        for s in range(0, len(histories), c.eval_batch_size):
            ids, mask = _left_pad([self.prompt(h) for h in histories[s:s + c.eval_batch_size]],
                                  self.tokenizer.pad_token_id)
            self.module.eval()
            with torch.no_grad():
                out = self.module.generate(input_ids=ids.to(self.device()), attention_mask=mask.to(self.device()),
                                           num_beams=max(2, beams), num_return_sequences=beams, do_sample=False,
                                           max_new_tokens=c.rationale_tokens, length_penalty=0.0,
                                           pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.special[ITEM],
                                           suppress_tokens=self.banned_in_rationale(), output_scores=True,
                                           return_dict_in_generate=True)
            scores += out.sequences_scores.float().cpu().tolist()
            for row in out.sequences[:, ids.shape[1]:].tolist():
                rows.append(row[:row.index(self.special[ITEM])] if self.special[ITEM] in row else row)
        return rows, np.asarray(scores, dtype=np.float32)

    def generate(self, histories, num_beams: int, exclude_seen: bool, constrained: bool = True, rationales=None):
        """Joint beam: the ``rationale_beams`` best rationales r, then ``num_beams`` item beams s after each;
        candidates ranked by log P(r | P) + log P(s | P, r), best first (the same item under two rationales
        keeps its better score when `recommend` de-duplicates)."""
        if not self.config.reasoning:
            return super().generate(histories, num_beams, exclude_seen, constrained)
        R = self.config.rationale_beams if rationales is None else 1
        rationales, r_scores = self.write_rationales(histories, R) if rationales is None else \
            (rationales, np.zeros(len(rationales), dtype=np.float32))
        rows = [histories[j // R] for j in range(len(rationales))]
        ids, mask = _left_pad([self.prompt(h) + r + [self.special[ITEM]] for h, r in zip(rows, rationales)],
                              self.tokenizer.pad_token_id)
        items, scores, tokens = llm.generate_items(self.module, self.vocab, ids, mask, num_beams,
                                                   rows if exclude_seen else None, constrained=constrained)
        B = len(histories)
        items, tokens = items.reshape(B, R * num_beams), tokens.reshape(B, R * num_beams, -1)
        scores = (scores + r_scores[:, None]).reshape(B, R * num_beams)
        order = np.argsort(-scores, axis=1, kind="stable")
        return (np.take_along_axis(items, order, 1), np.take_along_axis(scores, order, 1),
                np.take_along_axis(tokens, order[..., None], 1))

    def reason(self, histories, k: int = 10) -> list[tuple[str, np.ndarray]]:
        """(rationale text, top-k items) per history: what OneRec-Think writes before its items."""
        self.check_fitted()
        if not self.config.reasoning:
            raise ValueError("this model was trained without reasoning (reasoning=False): it writes no rationale")
        histories = self.check_histories(histories)
        rationales, _ = self.write_rationales(histories)
        items = self.recommend(histories, k=k).items
        return [(self.tokenizer.decode(r).strip(), row) for r, row in zip(rationales, items)]

    # ------------------------------------------------------------------ 3. reasoning enhancement: GRPO
    def fit(self, split, catalog=None, on_epoch=None):
        super().fit(split, catalog, on_epoch=on_epoch)
        if self.config.grpo_steps and self.config.reasoning:
            self.stage_results["grpo"] = self.grpo(split, self.config.grpo_steps)
        return self

    def sample_rationales(self, prompts, group: int) -> list[list[int]]:
        """``group`` sampled rationales per prompt (ending with ``<item>``), rows prompt-major."""
        import torch

        c = self.config
        banned = self.banned_in_rationale()
        ids, mask = _left_pad(prompts, self.tokenizer.pad_token_id)
        self.module.eval()
        with torch.no_grad():
            out = self.module.generate(input_ids=ids.to(self.device()), attention_mask=mask.to(self.device()),
                                       do_sample=True, temperature=c.grpo_temperature, top_k=0, top_p=1.0,
                                       num_return_sequences=group, max_new_tokens=c.rationale_tokens,
                                       pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.special[ITEM],
                                       suppress_tokens=banned)
        rows = []
        for row in out[:, ids.shape[1]:].tolist():
            row = row[:row.index(self.special[ITEM])] if self.special[ITEM] in row else row
            rows.append(row + [self.special[ITEM]])
        return rows

    def rollout(self, histories, targets, group: int):
        """One GRPO batch: G sampled rationales per prompt, eq. R rewards from a width-K beam after each,
        group-normalised advantages, and the old and reference log-probabilities of the rationale tokens."""
        import torch

        c = self.config
        prompts = [self.prompt(h) for h in histories]
        rats = self.sample_rationales(prompts, group)
        full = [prompts[j // group] + r for j, r in enumerate(rats)]
        ids, mask = _left_pad(full, self.tokenizer.pad_token_id)
        seen = [histories[j // group] for j in range(len(rats))]
        _, scores, tokens = llm.generate_items(self.module, self.vocab, ids, mask, c.grpo_beam, seen)
        gold = self.vocab.encode(np.repeat(np.asarray(targets), group))
        reward = rollout_beam_reward(tokens[..., :self.vocab.L], gold, np.isfinite(scores)).astype(np.float32)
        r = reward.reshape(-1, group)
        adv = ((r - r.mean(1, keepdims=True)) / (r.std(1, keepdims=True) + 1e-4)).reshape(-1)
        act = torch.zeros_like(mask)  # the rationale tokens (the actions), right-aligned after left padding
        for j, rat in enumerate(rats):
            act[j, ids.shape[1] - len(rat):] = 1
        with torch.no_grad():
            old = self._token_logp(self.module, ids, mask)
            ref = self._token_logp(self.reference, ids, mask)
        return ids, mask, act, torch.as_tensor(adv), old, ref, float(reward.mean())

    def _token_logp(self, module, ids, mask):
        """log pi(token_t | tokens_<t) for t >= 1, (B, T-1)."""
        import torch

        dev = next(module.parameters()).device
        logits = module(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits[:, :-1].float()
        return torch.log_softmax(logits, -1).gather(-1, ids[:, 1:].to(dev)[..., None])[..., 0]

    def grpo_loss(self, module, batch):
        """-J of eq. GRPO, averaged over each rationale's tokens, then over the batch."""
        import torch

        c = self.config
        ids, mask, act, adv, old, ref = batch[:6]
        logp = self._token_logp(module, ids, mask)
        dev = logp.device
        act, adv, old, ref = act[:, 1:].to(dev).float(), adv.to(dev)[:, None], old.to(dev), ref.to(dev)
        rho = torch.exp(logp - old)
        surrogate = torch.minimum(rho * adv, rho.clamp(1 - c.grpo_clip, 1 + c.grpo_clip) * adv)
        kl = torch.exp(ref - logp) - (ref - logp) - 1  # k3 estimator of KL(pi || pi_ref), >= 0
        per_token = (surrogate - c.grpo_kl * kl) * act
        return -(per_token.sum(1) / act.sum(1).clamp_min(1)).mean()

    def grpo(self, split, steps: int):
        """Eq. GRPO for ``steps`` optimizer steps through the package's trainer; each step's batch is a fresh
        rollout of ``grpo_prompts`` training (history, next item) pairs. ``self.rewards``: mean reward per step."""
        from ..train import TrainConfig, train_model

        c, tc = self.config, self.train_config
        pairs = [(h, t) for h, t, _ in self.examples(split)]
        if not pairs:
            raise ValueError("GRPO needs training pairs: every training sequence has fewer than 2 items")
        self.reference = copy.deepcopy(self.module).eval().requires_grad_(False)
        rng, self.rewards = np.random.default_rng(tc.seed + 1), []
        epochs = min(steps, 10)

        def batches(epoch: int):
            for _ in range(steps // epochs + (epoch < steps % epochs)):
                pick = rng.choice(len(pairs), size=min(c.grpo_prompts, len(pairs)), replace=False)
                batch = self.rollout([pairs[j][0] for j in pick], [pairs[j][1] for j in pick], c.grpo_group)
                self.module.train()
                self.rewards.append(batch[-1])
                yield batch

        cfg = TrainConfig(epochs=epochs, batch_size=c.grpo_prompts * c.grpo_group, lr=c.grpo_lr, patience=None,
                          seed=tc.seed, device=tc.device, progress=tc.progress, max_steps=steps,
                          max_minutes=tc.max_minutes)
        try:
            return train_model(self.module, batches, self.grpo_loss, cfg, desc="GRPO")
        finally:
            del self.reference

    # ------------------------------------------------------------------ 4. Think-Ahead
    def think_ahead(self, histories) -> dict:
        """Offline part: the rationale and the first L-1 ID tokens of the top (unseen) beam per history.
        Returns ``rationales`` (token lists) and ``prefix`` (B, L-1) tokens."""
        self.check_fitted()
        if not self.config.reasoning:
            raise ValueError("Think-Ahead needs a rationale: this model was trained with reasoning=False")
        histories = self.check_histories(histories)
        rationales, _ = self.write_rationales(histories)
        prefix = np.zeros((len(histories), self.vocab.L - 1), dtype=np.int64)
        for s in range(0, len(histories), self.config.eval_batch_size):
            h = histories[s:s + self.config.eval_batch_size]
            items, _, _ = self.generate(h, self.config.num_beams, True, rationales=rationales[s:s + len(h)])
            prefix[s:s + len(h)] = self.vocab.encode(np.maximum(items[:, 0], 0))[:, :-1]
        return {"rationales": rationales, "prefix": prefix}

    def complete(self, histories, cache: dict) -> np.ndarray:
        """Online part: one forward pass over prompt + rationale + ``<item>`` + cached prefix; the last ID
        token is the most likely one among the unseen items under that prefix (-1 if there is none)."""
        import torch

        self.check_fitted()
        histories = self.check_histories(histories)
        rationales, prefix = cache.get("rationales"), np.asarray(cache.get("prefix"))
        if rationales is None or len(rationales) != len(histories) \
                or prefix.shape != (len(histories), self.vocab.L - 1):
            raise ValueError(f"cache must come from think_ahead on the same {len(histories)} histories "
                             f"(rationales and a (B, {self.vocab.L - 1}) prefix)")
        codes = self.vocab.encode(np.arange(self.sids.n_items))  # (n_items, L) tokens
        ids, mask = _left_pad([self.prompt(h) + r + [self.special[ITEM]] + p.tolist()
                               for h, r, p in zip(histories, rationales, prefix)], self.tokenizer.pad_token_id)
        self.module.eval()
        with torch.no_grad():
            logp = torch.log_softmax(self.module(input_ids=ids.to(self.device()),
                                                 attention_mask=mask.to(self.device())).logits[:, -1].float(), -1)
        logp = logp.cpu().numpy()
        out = np.full(len(histories), -1, dtype=np.int64)
        for b, (h, p) in enumerate(zip(histories, prefix)):
            cand = np.flatnonzero((codes[:, :-1] == p).all(1))
            cand = cand[~np.isin(cand, h)]
            if len(cand):
                out[b] = cand[np.argmax(logp[b, codes[cand, -1]])]
        return out


__all__ = ["OneRecThink", "OneRecThinkConfig", "rollout_beam_reward"]
