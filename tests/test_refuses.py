"""A bad answer fails the copy with a message that names the question and says how to fix it,
and nothing is written."""

import json

import pytest
from support.answers import BAD_ANSWERS
from support.sites import render


def given(answers):
    """A test id that shows the answers: repo_name="my notes" (a long one by its length)."""

    def shown(value):
        text = json.dumps(value)
        return text if len(text) <= 80 else f"{text[:12]}...({len(text)} characters)"

    return " ".join(f"{question}={shown(value)}" for question, value in answers.items())


@pytest.mark.parametrize(
    ("answers", "question", "fix"), BAD_ANSWERS, ids=[given(answers) for answers, *_ in BAD_ANSWERS]
)
def test_bad_answer_is_refused_and_nothing_is_written(tmp_path, answers, question, fix):
    dest = tmp_path / "site"
    with pytest.raises(ValueError) as refusal:
        render(dest, **answers)
    message = str(refusal.value)
    assert f"'{question}'" in message
    assert fix in message
    assert not dest.exists()


@pytest.mark.parametrize(
    "answers",
    [
        {
            "signaling_urls": [
                "ws://localhost:4444",
                "ws://127.0.0.1/rtc",
                "wss://s.example.org:8443/x",
            ]
        },
        {"github_owner": "a-b-c", "repo_name": "a.b_c-1"},
        {"room_prefix": "0123456789", "default_room": "lab-1.a_b"},
        {"ice_servers": [{"urls": ["stun:a.example", "turns:b.example:443?transport=tcp"]}]},
        {"ice_servers": [{"urls": "turn:a.example", "username": "u", "credential": "p"}]},
    ],
    ids=given,
)
def test_edge_answers_are_accepted(tmp_path, answers):
    render(tmp_path / "site", **answers)
    assert (tmp_path / "site/jupyter-lite.json").is_file()
