"""The playground's Chat page under Streamlit's AppTest (tiny dataset, fresh cache folder): a whole
typed conversation (preferences, critiques, nonsense, empty input), the belief state beside it,
auto-play with the simulated user, and the reset button."""
from __future__ import annotations

import re

import pytest

pytest.importorskip("streamlit")

from llmrec_mini import dialogue as D  # noqa: E402

from test_streamlit_app import app, cache_dir, state_module  # noqa: E402,F401  (the playground, tiny data, fresh cache)


@pytest.fixture
def chat(app):  # noqa: F811
    at = app.switch_page("app_pages/chat.py").run()
    assert not at.exception, at.exception
    return at


def messages(at) -> list[tuple[str, str]]:
    return [(m.name, m.markdown[0].value) for m in at.chat_message]


def candidates(at) -> int:
    return int(next(m for m in at.metric if m.label == "Candidates").value.replace(",", ""))


def say(at, text: str):
    at.chat_input(key="chat_input").set_value(text).run()
    assert not at.exception, at.exception
    return at


def tiny_table():
    from llmrec_mini.data import load_dataset

    return D.AttributeTable.from_catalog(load_dataset("synthetic", size="tiny").catalog)


def test_a_typed_conversation(chat):
    at = chat
    assert at.title[0].value == "Chat"
    (greeting, first), n0 = messages(at), candidates(at)
    assert greeting[0] == first[0] == "assistant" and first[1] in D.QUESTIONS.values()
    table = tiny_table()
    brand = table.values["brand"][0]
    say(at, f"Something by {brand}, please")
    assert messages(at)[2] == ("user", f"Something by {brand}, please")
    assert candidates(at) < n0
    assert [c.value for c in at.chat_message[2].caption] == [f"Noted: brand {brand}."]
    prefs = next(d.value for d in at.dataframe if "preference" in d.value.columns)
    assert dict(zip(prefs["preference"], prefs["value"])) == {"brand": brand}

    n1 = candidates(at)
    for text in ("asdf qwerty", "", "   ", "🙂🙂"):  # nonsense and empty input: no constraint, no error
        say(at, text)
        assert "did not catch" in at.chat_message[-2].caption[0].value
        assert candidates(at) <= n1
    # keep talking until the system has recommended (a question per attribute at most), then critique
    recommended = lambda: [m for m in at.chat_message if m.name == "assistant" and len(m.markdown) > 1]  # noqa: E731
    for _ in range(len(D.ATTRIBUTES)):
        if recommended():
            break
        say(at, "no idea")
    shown = recommended()[0]
    assert "you might like" in shown.markdown[0].value
    assert all("**" in md.value for md in shown.markdown[1:])  # title and a one-line narrative
    # each recommended item carries its semantic ID, the very codes of the playground's cached IDs
    sids = state_module().semantic_ids("tiny", 0, "auto", "rqkmeans", 64)
    for md in shown.markdown[1:]:
        title, sid = re.search(r"\*\*(.+?)\*\* `SID ([\d-]+)`", md.value).groups()
        assert sid == "-".join(map(str, sids.codes[table.titles.index(title)]))
    say(at, f"something cheaper, not {brand}")
    note = at.chat_message[-2].caption[0].value
    assert "Noted" in note or "earlier preferences" in note
    assert not at.exception


def test_auto_play_and_reset(chat):
    at = chat
    at.toggle(key="chat_auto").set_value(True).run()
    assert not at.exception, at.exception
    roles = [m.name for m in at.chat_message]
    assert roles[0] == "assistant" and roles[1] == "user" and len(roles) >= 2
    assert at.success or at.warning  # the outcome, with the hidden target revealed
    assert at.chat_input(key="chat_input").proto.disabled
    if at.success:
        assert messages(at)[-1][1].startswith("Yes")
    at.button(key="chat_random").click().run()  # another simulated shopper
    assert not at.exception, at.exception
    assert at.success or at.warning

    at.toggle(key="chat_auto").set_value(False).run()
    say(at, "whatever")
    at.button(key="chat_reset").click().run()
    assert not at.exception, at.exception
    assert len(at.chat_message) == 2  # the greeting and the first question again
    assert not [d for d in at.dataframe if "preference" in d.value.columns]


def test_random_policy_and_limits(chat):
    at = chat
    at.radio(key="chat_policy").set_value("random").run()
    assert not at.exception, at.exception
    at.slider(key="chat_k").set_value(1).run()
    at.slider(key="chat_turns").set_value(1).run()
    at.toggle(key="chat_auto").set_value(True).run()
    assert not at.exception, at.exception
    system_turns = [m for m in at.chat_message if m.name == "assistant"]
    assert len(system_turns) == 1  # T = 1
