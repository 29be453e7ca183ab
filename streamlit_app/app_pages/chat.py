"""Chat: talk to a conversational recommender (`llmrec_mini.dialogue`), or watch a simulated user do it.

The system asks about an attribute (category, brand, price range, feature) or recommends items; you
answer or critique in free text ("something cheaper", "not Dozevi", "a vintage one"). Beside the
chat: the belief state it keeps (candidate count, preferences, attributes asked). You shop as one
held-out test user: their purchase history feeds the recommender that ranks the candidates, and
their held-out item is the hidden target the simulated user steers towards in auto-play.
"""
import numpy as np
import pandas as pd
import streamlit as st

import state
from llmrec_mini import dialogue as D
from llmrec_mini.regen import TemplateWriter

POLICIES = {"max-entropy": "ask the most informative attribute (max entropy)",
            "random": "ask or recommend at random (the baseline)"}
RANKERS = ("popularity", "sasrec")
GREETING = "Hi! Tell me what you are looking for, or answer my questions."
size, seed = state.settings()
ds = state.dataset(size, seed)
split = state.split(size, seed)
catalog = ds.catalog


@st.cache_resource(show_spinner="Indexing the catalogue's attributes...")
def attribute_table(size: str, seed: int):
    return D.AttributeTable.from_catalog(state.dataset(size, seed).catalog)


table = attribute_table(size, seed)
rows = D.simulator_rows(table, split.test)
writer = TemplateWriter()


# ---- session: one conversation ------------------------------------------------------------------------------
def reset() -> None:
    """Forget the conversation (the settings stay)."""
    for key in ("chat_messages", "chat_state", "chat_outcome"):
        st.session_state.pop(key, None)


def random_user() -> None:
    reset()
    st.session_state["chat_row"] = int(np.random.default_rng().integers(len(rows)))


st.title("Chat")
st.caption("A conversational recommender on the built-in shop: at each turn it asks about an attribute or "
           "recommends items, and keeps a belief state (the items still consistent with what you said). "
           "Code: `llmrec_mini.dialogue`.")

chat_col, side = st.columns([3, 2], gap="large")
with side:
    st.subheader("Settings")
    policy_name = st.radio("Policy", list(POLICIES), format_func=lambda p: f"{p}: {POLICIES[p]}", key="chat_policy",
                           on_change=reset)
    ranker = st.radio("Recommender that ranks the candidates", RANKERS, horizontal=True, key="chat_ranker",
                      on_change=reset, help="trained once on first use, then loaded from the disk cache")
    k = st.slider("Items per recommendation (k)", 1, 10, 5, key="chat_k", on_change=reset)
    max_turns = st.slider("Turn limit T (auto-play)", 1, 10, 5, key="chat_turns", on_change=reset)
    auto = st.toggle("Let the simulated user play", key="chat_auto", on_change=reset,
                     help="a simulated shopper with a hidden target answers and critiques in free text")
    if st.session_state.get("chat_row", 0) >= len(rows):  # the dataset got smaller
        st.session_state["chat_row"] = 0
    row = st.selectbox("Shop as test user", range(len(rows)), key="chat_row", on_change=reset,
                       format_func=lambda r: f"{ds.interactions.user_ids[rows.users[r]]} "
                                             f"({len(rows.histories[r])} purchases)")
    left, right = st.columns(2)
    left.button("Random user", on_click=random_user, key="chat_random", icon=":material/casino:")
    right.button("Reset", on_click=reset, key="chat_reset", icon=":material/restart_alt:")

recommender = state.model(ranker, size, seed)
cls = D.MaxEntropyPolicy if policy_name == "max-entropy" else D.RandomPolicy
policy = cls(table, recommender)
history, uid = rows.histories[row], int(rows.users[row])


# every item's semantic ID (RQ-KMeans codes of its text, as on the Semantic IDs page; cached on disk)
sids = state.semantic_ids(size, seed, "auto", "rqkmeans", 64)


def item_line(item: int) -> str:
    """Title, semantic ID and a one-line narrative (REGEN's endorsement template)."""
    hist = [table.attributes[i] for i in history[-5:]]
    blurb = writer.narrative("endorsement", hist, table.attributes[item], table.titles[item], key=(uid, item))
    sid = "-".join(str(c) for c in sids.codes[item])
    return f"**{table.titles[item]}** `SID {sid}`: {blurb}"


def system_message(turn) -> dict:
    items = [] if turn.items is None else [int(i) for i in turn.items.items[0] if i >= 0]
    return {"role": "assistant", "text": turn.utterance or "", "items": items}


def understood_text(belief) -> str | None:
    if belief.understood is None:
        return None
    if belief.conflict:
        return "Nothing in the catalogue matches that together with what you said before, so I kept your " \
               "earlier preferences."
    return f"Noted: {D.describe_preferences(belief.understood)}." if belief.understood else \
        "I did not catch a preference there."


# ---- auto-play: the simulated user with the hidden target ----------------------------------------------------
if auto and "chat_messages" not in st.session_state:
    states = []
    ok, turns, transcript = D.play(policy, rows, row, max_turns=max_turns, k=k, seed=seed, states=states)
    st.session_state["chat_messages"] = [{"role": "assistant" if speaker == "system" else "user", "text": text,
                                          "items": list(items)} for speaker, text, items in transcript]
    st.session_state["chat_state"] = states[-1]
    st.session_state["chat_outcome"] = (ok, turns)

# ---- manual chat: the system opens with its first action -------------------------------------------------------
if "chat_messages" not in st.session_state:
    first = policy.respond(policy.start(history, uid), k)
    st.session_state["chat_messages"] = [{"role": "assistant", "text": GREETING, "items": []}, system_message(first)]
    st.session_state["chat_state"] = first.state

prompt = st.chat_input("Your answer or critique, e.g. 'something cheaper, not Dozevi'", key="chat_input",
                       disabled=auto)
if prompt is not None and not auto:
    belief = st.session_state["chat_state"].say("user", prompt)
    turn = policy.respond(belief, k)
    st.session_state["chat_messages"].append({"role": "user", "text": prompt, "items": [],
                                              "note": understood_text(turn.state)})
    st.session_state["chat_messages"].append(system_message(turn))
    st.session_state["chat_state"] = turn.state

belief = st.session_state["chat_state"]
with chat_col:
    for message in st.session_state["chat_messages"]:
        with st.chat_message(message["role"]):
            st.markdown(message["text"] or "(empty message)")
            if message.get("note"):
                st.caption(message["note"])
            for rank, item in enumerate(message["items"], start=1):
                st.markdown(f"{rank}. {item_line(item)}")
    target = int(rows.targets[row])
    if not auto and target in belief.shown:
        st.success(f"The system showed this user's held-out next purchase, {table.titles[target]}.",
                   icon=":material/check_circle:")
    elif not auto and belief.n_candidates == 0:
        st.info("No candidate is left: every item that fits was shown. Reset to start again.",
                icon=":material/info:")
    if auto:
        ok, turns = st.session_state["chat_outcome"]
        if ok:
            st.success(f"The simulated user found its target in {turns} of {max_turns} turns: "
                       f"{table.titles[target]}.", icon=":material/check_circle:")
        else:
            st.warning(f"No success within {max_turns} turns. The hidden target was {table.titles[target]}.",
                       icon=":material/flag:")

with side:
    st.subheader("Belief state")
    c1, c2 = st.columns(2)
    c1.metric("Candidates", f"{belief.n_candidates:,}", help="items not in the history, not shown yet, and "
              "consistent with every preference")
    c2.metric("System turns", f"{belief.turn}")
    prefs = [(a.replace("_", " "), ", ".join(sorted(map(str, v))) if isinstance(v, set) else f"{v:.2f}")
             for a, v in belief.preferences.items() if a != "exclude"]
    prefs += [(f"not {a.replace('_', ' ')}", ", ".join(sorted(v)))
              for a, v in belief.preferences.get("exclude", {}).items()]
    if prefs:
        st.dataframe(pd.DataFrame(prefs, columns=["preference", "value"]), hide_index=True, key="chat_prefs")
    else:
        st.caption("No preference yet: every item not bought before is a candidate.")
    st.caption(f"Asked so far: {', '.join(belief.asked) or 'nothing'}; items shown: {len(belief.shown)}.")
    if not auto:
        with st.expander("Hint: this user's held-out next purchase"):
            st.markdown(f"{item_line(int(rows.targets[row]))} Steer the system towards it.")
    if belief.n_candidates:
        top = policy.ranked_candidates(belief)[:5]
        st.markdown("**Best candidates now** (by " + ranker + ")\n\n" +
                    "\n".join(f"- {table.titles[i]}" for i in top))
    entropy = policy.entropies(belief) if belief.n_candidates else {}
    if entropy:
        st.caption("Entropy of the attributes not asked yet (nats): " +
                   ", ".join(f"{a.replace('_', ' ')} {h:.2f}" for a, h in entropy.items()))
