# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Dialogue recommender systems: ask, recommend, and keep a belief
#
# [![Open in Colab](data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMTIiIGhlaWdodD0iMjAiIHZpZXdCb3g9IjAgMCAxMTIgMjAiIHJvbGU9ImltZyIgYXJpYS1sYWJlbD0iT3BlbiBpbiBDb2xhYiI+PHRpdGxlPk9wZW4gaW4gQ29sYWI8L3RpdGxlPjxjbGlwUGF0aCBpZD0iciI+PHJlY3Qgd2lkdGg9IjExMiIgaGVpZ2h0PSIyMCIgcng9IjMiLz48L2NsaXBQYXRoPjxnIGNsaXAtcGF0aD0idXJsKCNyKSI+PHJlY3Qgd2lkdGg9IjY4IiBoZWlnaHQ9IjIwIiBmaWxsPSIjM2M0MDQzIi8+PHJlY3QgeD0iNjgiIHdpZHRoPSI0NCIgaGVpZ2h0PSIyMCIgZmlsbD0iI2Y5YWIwMCIvPjwvZz48Y2lyY2xlIGN4PSIxMC41IiBjeT0iMTAiIHI9IjUuNiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjlhYjAwIiBzdHJva2Utd2lkdGg9IjEuNiIvPjxwYXRoIGQ9Ik04LjkgNy4zdjUuNGw0LjUtMi43eiIgZmlsbD0iI2Y5YWIwMCIvPjxnIGZvbnQtZmFtaWx5PSJWZXJkYW5hLERlamFWdSBTYW5zLEdlbmV2YSxzYW5zLXNlcmlmIiBmb250LXNpemU9IjExIj48dGV4dCB4PSIyMCIgeT0iMTQiIGZpbGw9IiNmZmYiIHRleHRMZW5ndGg9IjQzIiBsZW5ndGhBZGp1c3Q9InNwYWNpbmdBbmRHbHlwaHMiPk9wZW4gaW48L3RleHQ+PHRleHQgeD0iNzQiIHk9IjE0IiBmaWxsPSIjMjAyMTI0IiB0ZXh0TGVuZ3RoPSIzMiIgbGVuZ3RoQWRqdXN0PSJzcGFjaW5nQW5kR2x5cGhzIj5Db2xhYjwvdGV4dD48L2c+PC9zdmc+Cg==)](https://colab.research.google.com/github/llmrec-mini/llmrec-mini/blob/main/notebooks/dialogue_recommender_systems.ipynb)
#
# A dialogue (conversational) recommender elicits what a shopper wants over several turns. At
# each turn it either **asks** ("Which brand do you prefer?") or **recommends** a few items, and
# the shopper answers or critiques in free text ("something cheaper", "not that brand"). Between
# turns the system keeps a **belief state**: the items still consistent with everything said, and
# the preferences behind them. The hard part is the policy: every question costs a turn, and a
# shopper's patience is short.
#
# This page builds that loop from the package's `llmrec_mini.dialogue` module and runs it on the
# built-in shop:
#
# 1. an attribute-annotated catalogue (`llmrec_mini.dialogue.AttributeTable`, from REGEN's
#    `llmrec_mini.regen.item_attributes`) and a **simulated user** with a hidden target item
#    (`llmrec_mini.dialogue.SimulatedUser`);
# 2. a **free-text parser** for answers and critiques (`llmrec_mini.dialogue.parse_utterance`)
#    and the **belief state** it feeds (`llmrec_mini.dialogue.BeliefState`);
# 3. three policies: a **max-entropy rule** (`llmrec_mini.dialogue.MaxEntropyPolicy`), a
#    **random** baseline (`llmrec_mini.dialogue.RandomPolicy`) and a small **REINFORCE** policy
#    (`llmrec_mini.dialogue.ReinforcePolicy`), against a recommender that never talks
#    (`llmrec_mini.models.contract.RecommendOnly`);
# 4. interactive evaluation with the simulator (`llmrec_mini.dialogue.run_dialogues`): success
#    rate within $T$ turns (SR@T) and the average number of turns.
#
# ```mermaid
# flowchart LR
#     U(["simulated user<br/>hidden target"]) -- "answer / critique" --> P["parser<br/>text → constraints"]
#     P --> B["belief state<br/>candidates C + preferences"]
#     B --> POL{"policy"}
#     POL -- "ask attribute a" --> U
#     R["recommender<br/>(popularity, SASRec, ...)"] -. "scores" .-> POL
#     POL -- "recommend top-k of C" --> U
#     U -- "target shown" --> S(["success"])
# ```
#
# The playground has a *Chat* page where you can talk to the same system yourself, or watch the
# simulated user do it.

# %% tags=["colab-install"]
EXTRAS, MODELS = "", ""  # what this note installs on Colab (extras, offline models)
import importlib, importlib.util, os, subprocess, sys
if ("google.colab" in sys.modules or os.environ.get("LLMREC_INSTALL") == "1") \
        and importlib.util.find_spec("llmrec_mini") is None:
    source = os.environ.get("LLMREC_INSTALL_FROM") or "git+https://github.com/llmrec-mini/llmrec-mini@main"
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.check_call(pip + [f"llmrec-mini[{EXTRAS}] @ {source}" if EXTRAS else f"llmrec-mini @ {source}"])
    if MODELS:
        subprocess.check_call(pip + ["--no-deps", *MODELS.split(",")])
    importlib.invalidate_caches()

# %% tags=["parameters"]
from llmrec_mini.utils import full, smoke

SEED = 0
SMOKE = smoke()  # LLMREC_SMOKE=1 (the test suite): every size shrinks to a seconds-long run
FULL = full()  # LLMREC_FULL=1: every test user and longer REINFORCE training (a few minutes)
# The default (neither switch) is what the site shows: it must run in at most 3 minutes on an idle
# 2-core CPU (`python scripts/execute_notes.py <page>` prints the time; the page's footer states it).
DATA_SIZE = "tiny" if SMOKE else "default"  # the built-in shop: 200 or 3000 users
N_DIALOGUES = 40 if SMOKE else None if FULL else 300  # held-out test users simulated (None: all)
K = 10  # items per recommendation
T_MAIN = 3  # turn limit of the comparison table
TURNS = (1, 2, 3) if SMOKE else (1, 2, 3, 4, 5, 6, 8)  # turn limits of the SR@T curve
SASREC_EPOCHS = 1 if SMOKE else 3  # the recommender inside the loop
RL_EPISODES = 60 if SMOKE else 3000 if FULL else 900  # REINFORCE training dialogues (validation users)
DONT_KNOW = 0.3  # the share of questions a noisier simulated user answers with "I don't mind"

# %%
import time

import numpy as np
import pandas as pd
import plotly.express as px

import llmrec_mini
from llmrec_mini import dialogue as D
from llmrec_mini.data import load_dataset
from llmrec_mini.data.sequences import leave_one_out
from llmrec_mini.models import get_model
from llmrec_mini.models.contract import RecommendOnly
from llmrec_mini.notes import minutes, say
from llmrec_mini.utils import set_seed

set_seed(SEED)
start = time.perf_counter()
print("llmrec_mini", llmrec_mini.__version__, "| data:", DATA_SIZE, "| dialogues:", N_DIALOGUES or "all")

# %% [markdown] tags=["static-numbers"]
# ## The concept
#
# **Ask or recommend.** A conversational recommender system (CRS) chooses, at every turn, between
# two kinds of action. *Asking* about an attribute (category, brand, price range, a feature)
# shrinks the set of candidates when the answer comes back; *recommending* $k$ items ends the
# dialogue if the wanted item is among them, and otherwise earns a rejection, often with a
# reason. Asking too little recommends blindly; asking too much exhausts the user.
#
# **Belief state.** What the system knows after $t$ turns: the attribute preferences stated so
# far and the **candidate set** $C_t$, the items consistent with all of them (minus the items
# already rejected and already owned). The policy reads the belief; the user's next utterance
# updates it.
#
# **Critiquing.** Shown an item, a user can steer away from it: "something cheaper", "another
# brand", "a waterproof one". A *unit critique* changes one attribute; a *compound critique*
# changes several. Critiques carry information even when the recommendation fails, which is why
# recommending early is not always wasted.
#
# **Families of CRS.**
#
# - *Attribute elicitation with reinforcement learning.* CRM (Sun and Zhang, SIGIR 2018) learned
#   when to stop asking. **EAR** (Lei et al., WSDM 2020) splits the system into *Estimation* (a
#   factorisation machine scoring items and attributes), *Action* (a policy network choosing
#   ask-attribute or recommend from a state made of attribute entropies, attribute preferences,
#   dialogue history and the candidate-list length) and *Reflection* (update the model when a
#   recommendation is rejected). **UNICORN** (Deng et al., SIGIR 2021) puts asking and recommending
#   into a single action space on a graph, with one policy, pruning the actions by preference and
#   entropy.
# - *Dialogue generation.* ReDial (Li et al., NeurIPS 2018) collected movie-recommendation
#   dialogues between crowd workers; KBRD, KGSF and UniCRS generate responses grounded in a
#   knowledge graph.
# - *LLM-era CRS.* He et al. (CIKM 2023) found zero-shot LLMs beating fine-tuned CRS models on
#   ReDial, INSPIRED and their Reddit-Movie data, relying more on content and context than on
#   collaborative signals. LLMs also serve as the parser of free-text critiques (see
#   [REGEN](main.md)), as narrators, as **user simulators** (iEvaLM, Wang et al., EMNLP 2023) and
#   as controllers that call a conventional recommender as a tool.
#
# **The repeated-item shortcut.** He et al. found that in CRS benchmarks many ground-truth items
# were already mentioned earlier in the same dialogue: a system that repeats mentioned items looks
# good without understanding anything. Evaluations should remove such targets. Here the analogue
# is a target already in the user's history: every candidate set excludes owned items, so
# `llmrec_mini.dialogue.simulator_rows` drops those rows and reports how many it dropped.
#
# **Evaluate interactive policies interactively.** A static log holds one path through a
# conversation: the questions the logged system happened to ask. A different policy asks
# different questions, and the log has no answer to them. A policy is therefore evaluated against
# a **user simulator** that can answer any question about its hidden target, as EAR, UNICORN and
# iEvaLM do. The simulator's honesty and vocabulary then bound what the numbers mean: a simulator
# that always answers truthfully, from the catalogue's own attribute values, is an optimistic
# user.

# %% [markdown]
# ## The equations
#
# **Entropy of an attribute over the candidates.** For a single-valued attribute $a$ (category,
# brand, price band) with values $v$, and a weight $w_i$ per candidate (uniform, or a softmax of
# the recommender's standardised scores),
#
# $$
# p_t(v) = \frac{\sum_{i \in C_t,\ a(i) = v} w_i}{\sum_{i \in C_t,\ a(i)\ \text{known}} w_i},
# \qquad H_t(a) = -\sum_v p_t(v) \log p_t(v) .
# $$
#
# For the multi-valued *feature* attribute (title keywords and tags), each candidate spreads its
# weight evenly over its features. An answer to the attribute of highest entropy splits $C_t$ most
# evenly: with a truthful user it removes the most candidates in expectation (for uniform weights
# and single-valued attributes, $H_t(a)$ is exactly the expected information of the answer).
#
# **The max-entropy rule.** With $k$ items per recommendation and a limit of $T$ turns,
#
# $$
# \pi_{\text{rule}}(s_t) =
# \begin{cases}
# \text{recommend the top-}k \text{ of } C_t \text{ (recommender's scores)} & \text{if } |C_t| \le k \text{ or } t = T, \\
# \text{ask } \arg\max_{a \notin \text{asked}} H_t(a) & \text{otherwise.}
# \end{cases}
# $$
#
# **REINFORCE.** A softmax policy over the actions {ask $a_1$, ..., ask $a_n$, recommend},
# linear in EAR-like state features
# $\phi(s) = [1, H(a_1)/\log|V_1|, \ldots, H(a_n)/\log|V_n|, \log(1+|C|)/\log(1+N), [|C| \le k], t/T, [t = T]]$:
#
# $$
# \pi_\theta(a \mid s) = \operatorname{softmax}_a(\theta_a^\top \phi(s)), \qquad
# \nabla_\theta J = \mathbb{E}\Big[\sum_t (G_t - b_t)\, \nabla_\theta \log \pi_\theta(a_t \mid s_t)\Big],
# $$
#
# with the return $G_t$ summing a reward $r_{\text{succ}}$ on success and $-r_{\text{turn}}$ per turn
# (our choice; EAR's reward values are a design choice too), and $b_t$ a running-mean baseline.
# $\theta = 0$ is uniformly random over the allowed actions; as in the rule, only "recommend" is
# allowed on the last turn (without that, REINFORCE from a random start tends to settle on
# recommending every turn: under a random continuation, a question's value shows only later).
#
# **Metrics.** Over $M$ simulated dialogues, with $\tau_m$ the turn at which dialogue $m$ shows
# its target ($\infty$ if never),
#
# $$
# \mathrm{SR@}T = \frac{1}{M} \sum_m [\tau_m \le T], \qquad
# \mathrm{AT} = \frac{1}{M} \sum_m \min(\tau_m, T) .
# $$

# %% [markdown]
# ## The attribute-annotated catalogue
#
# Every item of the built-in shop has a category path, a brand, a price (and its band inside the
# leaf category) and features: keywords from its title and tags. These are the attributes the
# system can ask about and the simulated user can answer with; the parser's vocabulary is built
# from the values the catalogue actually has, so nobody talks about an attribute the shop lacks.

# %%
data = load_dataset("synthetic", size=DATA_SIZE, seed=SEED)
split = leave_one_out(data)
table = D.AttributeTable.from_catalog(data.catalog)
print(f"{data.n_users:,} users, {data.n_items:,} items")
print("item 0:", table.titles[0], table.attributes[0])
pd.DataFrame([{"attribute": a, "values": len(table.values[a]), "examples": ", ".join(table.values[a][:5]),
               "entropy over the catalogue (nats)": round(D.attribute_entropy(table, a, np.ones(len(table), bool)), 3)}
              for a in D.ATTRIBUTES])

# %% [markdown]
# ## Parsing free text into constraints
#
# `llmrec_mini.dialogue.parse_utterance` reads a user turn with a small rule-based grammar:
# mentions of categories (any level of the path, singular or plural), brands, features and price
# bands; negations ("not", "don't want", "other than", "anything but") turn a mention into an
# exclusion; "cheaper" and "more expensive" compare with the top item just shown, with REGEN's
# threshold of `llmrec_mini.regen.PRICE_STEP`. Text it cannot read gives no constraint, never an
# error. An LLM could do this step; the rules keep it fast, deterministic and testable.

# %%
brand, other = table.values["brand"][:2]
category, feature = table.values["category"][0], table.values["feature"][0]
shown = int(np.flatnonzero(table.matches({"brand": {other}}))[0])
sentences = [f"I'm after {category.lower()}, ideally from {brand}", f"Not {brand}, but something by {other}",
             f"a {feature} one, anything but {category}", "Something cheaper, please.",
             "In the premium price range", "Something premium, please.", "I hate expensive stuff",
             "asdf qwerty", ""]
pd.DataFrame([{"utterance": s or "(empty)", "constraints": D.parse_utterance(s, table, shown=shown)}
              for s in sentences])

# %% [markdown]
# "premium" is both a price band and a feature (a tag and a title keyword) in this shop: the
# parser reads it as a price band when the system has just asked about price, or when a price word
# is nearby, and as a feature otherwise.
#
# ## The recommender inside the loop
#
# Every policy ranks the candidates with one of the package's recommenders. Popularity and a
# SASRec trained for a few epochs are the two used here; any registered model fits.

# %%
popularity = get_model("popularity").fit(split, data.catalog)
t0 = time.perf_counter()
sasrec = get_model("sasrec", epochs=SASREC_EPOCHS, seed=SEED, progress=False).fit(split, data.catalog)
sasrec_seconds = time.perf_counter() - t0
rows = D.simulator_rows(table, split.test, n=N_DIALOGUES, seed=SEED)
train_rows = D.simulator_rows(table, split.valid, n=None if FULL else 1000, seed=SEED + 1)
print(f"SASRec trained in {sasrec_seconds:.0f} s; {len(rows)} test dialogues "
      f"({rows.dropped} rows dropped for the repeated-item shortcut); {len(train_rows)} validation users for REINFORCE")

# %% [markdown]
# ## One conversation
#
# The max-entropy policy with SASRec ranking the candidates, against the simulated user of one
# held-out test row. The bracket shows how many candidates the system had when it acted, and under
# each user turn is what the parser understood from it.

# %%
maxent = D.MaxEntropyPolicy(table, sasrec)


def show(policy, row, max_turns=T_MAIN):
    """Print one simulated dialogue: the system's turns with |C|, the user's, and what was understood."""
    states = []
    ok, turns, transcript = D.play(policy, rows, row, max_turns=max_turns, k=K, seed=SEED, states=states)
    system = 0
    for speaker, text, items in transcript:
        if speaker == "system":
            print(f"SYSTEM [|C| = {states[system].n_candidates + len(items):,}]: {text}")
            for i in items[:3]:
                print(f"    - {table.titles[i]}")
            if len(items) > 3:
                print(f"    ... and {len(items) - 3} more")
            system += 1
        else:
            print(f"USER: {text}")
            if system < len(states):
                print(f"    understood: {D.describe_preferences(states[system].understood or {})}")
    print(f"target: {table.titles[int(rows.targets[row])]} -> {'success' if ok else 'failure'} in {turns} turns\n")
    return ok, turns


def first_row(policy, want):
    """The first test row whose dialogue satisfies want(transcript) (row 0 if none does)."""
    return next((r for r in range(len(rows)) if want(D.play(policy, rows, r, T_MAIN, K, seed=SEED)[2])), 0)


_ = show(maxent, first_row(maxent, lambda tr: tr[-1][1].startswith("Yes") and len(tr) >= 2 * T_MAIN))

# %% [markdown]
# ## Ask, recommend, or both: the policies compared
#
# Each policy plays the same simulated users for at most `T_MAIN` turns, `K` items per
# recommendation. `RecommendOnly` recommends its next `K` items every turn and ignores what the
# user says. The random policy uses the same belief state and ranker as the max-entropy rule and
# only chooses its actions at random, so the gap between them is the value of choosing well.
# REINFORCE is trained on validation users (never the test users), once for each turn limit; like
# the rule, it may only recommend on the last allowed turn.

# %%
def reinforce(max_turns):
    return D.ReinforcePolicy(table, sasrec, seed=SEED).fit(train_rows, episodes=RL_EPISODES, max_turns=max_turns, k=K)


t0 = time.perf_counter()
policies = {"random": lambda T: D.RandomPolicy(table, sasrec, seed=SEED),
            "recommend-only (popularity)": lambda T: RecommendOnly(popularity),
            "recommend-only (SASRec)": lambda T: RecommendOnly(sasrec),
            "max-entropy (popularity)": lambda T: D.MaxEntropyPolicy(table, popularity),
            "max-entropy (SASRec)": lambda T: maxent,
            "REINFORCE (SASRec)": reinforce}
curve, trained, results = [], {}, {}
for T in sorted(set(TURNS) | {T_MAIN}):
    for name, make in policies.items():
        policy = make(T)
        if name.startswith("REINFORCE"):
            trained[T] = policy
        res = results[name, T] = D.run_dialogues(policy, rows, max_turns=T, k=K, seed=SEED, name=name)
        curve.append({"policy": name, "T": T, "SR@T": res.success_rate, "avg turns": res.average_turns})
curve = pd.DataFrame(curve)
eval_seconds = time.perf_counter() - t0
main = curve[curve["T"] == T_MAIN].set_index("policy")[["SR@T", "avg turns"]]
main.columns = [f"SR@{T_MAIN}", "avg turns"]
main.round(3)

# %% tags=["hide-input"]
px.line(curve, x="T", y="SR@T", color="policy", markers=True, height=420,
        title=f"Success rate within T turns (k = {K}, {len(rows)} simulated test users)").update_layout(
    yaxis_range=[0, 1.02], xaxis_dtick=1).show()

# %% tags=["hide-input"]
r, at = main[f"SR@{T_MAIN}"], main["avg turns"]
one = curve[curve["T"] == 1].set_index("policy")["SR@T"]
static = max(r["recommend-only (popularity)"], r["recommend-only (SASRec)"])
say("Within {T} turns the max-entropy rule with SASRec finds the target for {me:.1%} of the {n} simulated users "
    "({me_t:.2f} turns on average), the random policy for {rnd:.1%} ({rnd_t:.2f} turns), and a recommender that "
    "never asks for {ro:.1%} at best. REINFORCE reaches {rl:.1%} in {rl_t:.2f} turns. With a single turn the rule "
    "can only recommend, and it shows exactly SASRec's top-{k} ({one:.1%} success; popularity's top-{k}: "
    "{one_pop:.1%}).",
    T=T_MAIN, n=len(rows), me=r["max-entropy (SASRec)"], me_t=at["max-entropy (SASRec)"], rnd=r["random"],
    rnd_t=at["random"], ro=static, rl=r["REINFORCE (SASRec)"], rl_t=at["REINFORCE (SASRec)"], k=K,
    one=one["max-entropy (SASRec)"], one_pop=one["recommend-only (popularity)"])

# %% tags=["hide-input"]
T2 = 2
at2 = curve[curve["T"] == T2].set_index("policy")["SR@T"]
ranker_gap = at2["max-entropy (SASRec)"] - at2["max-entropy (popularity)"]
ask_gain = at2["max-entropy (popularity)"] - at2["recommend-only (SASRec)"]
say("How much does the ranker inside the loop matter? At T = {t2} the max-entropy rule reaches {a:.1%} with SASRec "
    "and {b:.1%} with popularity ({gap:+.1f} percentage points), while SASRec alone, recommending twice, "
    "finds {c:.1%}. {verdict}",
    t2=T2, a=at2["max-entropy (SASRec)"], b=at2["max-entropy (popularity)"], gap=100 * ranker_gap,
    c=at2["recommend-only (SASRec)"],
    verdict=("One question with the weaker ranker beats the better ranker without questions: on this shop, what the "
             "user says is worth more than the collaborative signal." if ask_gain > max(ranker_gap, 0) else
             "Here the better ranker is worth as much as a question."))

# %% [markdown]
# The max-entropy rule keeps asking until $|C_t| \le k$ or the last turn. REINFORCE has no such
# rule: it learns from the reward when to stop asking. Recommending early is not wasted here:
# the recommendation may already succeed, and a rejection comes with a critique ("something
# cheaper", "another brand") that narrows the candidates much as an answer does.

# %%
rl = trained[T_MAIN]
history = pd.DataFrame(rl.history)
history["success (rolling)"] = history["success"].rolling(10, min_periods=1).mean()
history["return (rolling)"] = history["return"].rolling(10, min_periods=1).mean()
px.line(history, x="episodes", y=["success (rolling)", "return (rolling)"], height=340,
        title=f"REINFORCE on the simulator (T = {T_MAIN}): sampled dialogues, rolling mean over batches").show()
plans = pd.Series([" → ".join("recommend" if items else D.question_attribute(text) or "?"
                              for speaker, text, items in tr if speaker == "system")
                   for tr in results["REINFORCE (SASRec)", T_MAIN].transcripts]).value_counts()
print(f"REINFORCE's dialogues on the test users (T = {T_MAIN}), by sequence of actions:")
print(plans.head(5).to_string())
rl_row = first_row(rl, lambda tr: "No, thanks" in " ".join(t for _, t, _ in tr) and tr[-1][1].startswith("Yes"))
_ = show(rl, rl_row)

# %% tags=["hide-input"]
say("Over training, the sampled dialogues' success rate moves from {s0:.0%} to {s1:.0%} and their mean return "
    "from {g0:.2f} to {g1:.2f} (rolling means; the untrained policy already recommends on the last turn, so it "
    "starts high). The greedy policy's most frequent plan on the test users is \"{plan}\" ({share:.0%} of the "
    "dialogues); compared with the max-entropy rule it needs {d:.2f} {fewer} turns on average and succeeds "
    "{dr:.1f} percentage points {less} often.",
    s0=history["success (rolling)"].iloc[0], s1=history["success (rolling)"].iloc[-1],
    g0=history["return (rolling)"].iloc[0], g1=history["return (rolling)"].iloc[-1], plan=plans.index[0],
    share=plans.iloc[0] / plans.sum(), d=abs(at["REINFORCE (SASRec)"] - at["max-entropy (SASRec)"]),
    fewer="fewer" if at["REINFORCE (SASRec)"] <= at["max-entropy (SASRec)"] else "more",
    dr=abs(100 * (r["REINFORCE (SASRec)"] - r["max-entropy (SASRec)"])),
    less="less" if r["REINFORCE (SASRec)"] <= r["max-entropy (SASRec)"] else "more")

# %% [markdown]
# ## A less cooperative user
#
# The simulated user above answers every question truthfully. Real users often do not know or do
# not care: with `dont_know`, the simulator answers a share of the questions with "I don't mind",
# so a question can cost a turn and return nothing. Critiques of shown items are unaffected.

# %%
noisy = pd.DataFrame([{"policy": name, f"SR@{T_MAIN}": res.success_rate, "avg turns": res.average_turns}
                      for name, policy in (("random", D.RandomPolicy(table, sasrec, seed=SEED)),
                                           ("max-entropy (SASRec)", maxent), ("REINFORCE (SASRec)", rl))
                      for res in [D.run_dialogues(policy, rows, max_turns=T_MAIN, k=K, seed=SEED,
                                                  dont_know=DONT_KNOW)]]).set_index("policy")
noisy.round(3)

# %% tags=["hide-input"]
drop_me = r["max-entropy (SASRec)"] - noisy.loc["max-entropy (SASRec)", f"SR@{T_MAIN}"]
drop_rl = r["REINFORCE (SASRec)"] - noisy.loc["REINFORCE (SASRec)", f"SR@{T_MAIN}"]
say("When the user shrugs off {p:.0%} of the questions, the max-entropy rule's SR@{T} moves from {a:.1%} to {b:.1%} "
    "and REINFORCE's from {c:.1%} to {d:.1%}, although REINFORCE was trained with a cooperative user. {verdict}",
    p=DONT_KNOW, T=T_MAIN, a=r["max-entropy (SASRec)"], b=noisy.loc["max-entropy (SASRec)", f"SR@{T_MAIN}"],
    c=r["REINFORCE (SASRec)"], d=noisy.loc["REINFORCE (SASRec)", f"SR@{T_MAIN}"],
    verdict=("The policy that recommends earlier loses less: a rejected recommendation still earns a critique, "
             "while an unanswered question earns nothing." if drop_rl < drop_me else
             "Asking more does not cost the rule more than recommending early costs REINFORCE here."))

# %% tags=["hide-input"]
say("The whole page ran in {took} (SASRec's training {tr}, the dialogues of the comparison {ev}).",
    took=minutes(time.perf_counter() - start), tr=minutes(sasrec_seconds), ev=minutes(eval_seconds))

# %% [markdown]
# ## What changes at scale
#
# - **Real dialogues, real language.** Users on ReDial or Reddit-Movie do not answer attribute
#   questions from a fixed vocabulary. The rule parser becomes an LLM (or an LLM-trained
#   extractor), and its errors feed the belief state: a wrong constraint can remove the target
#   from $C_t$ for good, so production systems keep soft preferences (scores) rather than hard
#   filters.
# - **Attributes and catalogues.** With millions of items and thousands of attribute values,
#   entropies are estimated over the top candidates of a retriever, not over the whole catalogue,
#   and which attribute to ask becomes a learned ranking (EAR's policy network, UNICORN's graph).
# - **Generated questions and answers.** LLM-era systems ask in free text and explain their
#   recommendations (REGEN's narratives, [FLARE](FLARE.md), [LUMEN](LUMEN.md)); the recommender
#   becomes a tool the dialogue model calls.
# - **Simulators are the test bed.** Online A/B tests of a dialogue policy are slow and costly,
#   so LLM-based user simulators (iEvaLM) stand in. They inherit the LLM's biases: a simulator
#   that leaks its target, or only knows popular items, makes every policy look better than it is.
# - **Evaluation hygiene.** Remove targets already mentioned (the repeated-item shortcut), report
#   SR@T together with the average turns, and never score an interactive policy on static logs alone.
#
# ## Summary
#
# - A dialogue recommender alternates between asking and recommending, and keeps a belief state: the
#   items still consistent with everything the shopper said (`llmrec_mini.dialogue.BeliefState`).
# - Free text becomes constraints through `llmrec_mini.dialogue.parse_utterance`; critiques such as
#   "cheaper" or "not that brand" prune the belief state like answers do.
# - The policy is the hard part: the max-entropy rule, a random baseline and a REINFORCE policy
#   trade the cost of a question against the chance of a hit, and a simulated user with a hidden
#   target makes them comparable.
# - A less cooperative simulated user, who answers some questions with "I don't mind", makes
#   questions cost turns without information: a policy must be evaluated under more than one user
#   model.
#
# ## Exercises
#
# 1. Set `weighting="scores"` in `llmrec_mini.dialogue.MaxEntropyPolicy`, so candidates the
#    recommender likes weigh more in the entropy. When should that change which attribute is asked?
# 2. Give the max-entropy rule an early-recommend threshold: recommend once $|C_t| \le 3k$. How do
#    SR@T and the average turns move, and how close does it get to REINFORCE?
# 3. Change the reward: a larger turn penalty, or a penalty per rejected recommendation. Which
#    first action does REINFORCE learn now?
# 4. Let the simulated user lie once per dialogue (answer with a wrong brand). What happens to the
#    hard-filter belief state, and how would soft preferences help?
# 5. Voice the simulated user with SmolLM2 (`llmrec_mini.regen.LLMWriter`, passed as the
#    simulator's ``writer``) and measure how often `llmrec_mini.dialogue.parse_utterance` still
#    understands its critiques.
# 6. Replace SASRec with [TIGER](tiger.md) as the ranker inside the loop. Does a better ranker
#    change the best policy, or only the success at small $T$?

# %% [markdown] tags=["static-numbers"]
# ## References
#
# - Lei, He, Miao, Wu, Hong, Kan, Chua. *Estimation-Action-Reflection: Towards Deep Interaction
#   Between Conversational and Recommender Systems* (EAR). WSDM 2020, arXiv:2002.09102.
# - Deng, Li, Sun, Du, Lam. *Unified Conversational Recommendation Policy Learning via Graph-based
#   Reinforcement Learning* (UNICORN). SIGIR 2021, arXiv:2105.09710.
# - Sun, Zhang. *Conversational Recommender System* (CRM). SIGIR 2018.
# - Li, Kahou, Schulz, Michalski, Charlin, Pal. *Towards Deep Conversational Recommendations*
#   (ReDial). NeurIPS 2018, arXiv:1812.07617.
# - He, Xie, Rahmani, Mao, Chen, McAuley, Lipton, Ma. *Large Language Models as Zero-Shot
#   Conversational Recommenders.* CIKM 2023, arXiv:2308.10053.
# - Wang, Tang, Zhao, Wen. *Rethinking the Evaluation for Conversational Recommendation in the Era
#   of Large Language Models* (iEvaLM). EMNLP 2023, arXiv:2305.13112.
# - Williams. *Simple Statistical Gradient-Following Algorithms for Connectionist Reinforcement
#   Learning* (REINFORCE). Machine Learning 8, 1992.
# - Su, Sayana, Pham et al. *REGEN: A Dataset and Benchmarks with Natural Language Critiques and
#   Narratives* (the critique templates' source). arXiv:2503.11924.
