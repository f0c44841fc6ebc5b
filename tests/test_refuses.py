"""A bad answer fails the copy with a message that names the question and says how to fix it,
and nothing is written."""

import json

import pytest
from sites import render

BAD_ANSWERS = [
    # (answers, question, a phrase of the fix)
    ({"site_name": "   "}, "site_name", "give the site a title"),
    ({"repo_name": "my notes"}, "repo_name", "use 1-100 letters"),
    ({"repo_name": ".."}, "repo_name", 'not "." or ".."'),
    ({"repo_name": "notes.git"}, "repo_name", 'not ending in ".git"'),
    ({"repo_name": "n" * 101}, "repo_name", "use 1-100 letters"),
    ({"github_owner": "-octo"}, "github_owner", "not starting or ending with a hyphen"),
    ({"github_owner": "octo--org"}, "github_owner", "single hyphens"),
    ({"github_owner": "o" * 40}, "github_owner", "1-39 letters"),
    ({"github_owner": "octo_org"}, "github_owner", "letters, digits or"),
    ({"apps": []}, "apps", "pick at least one app"),
    ({"apps": ["lab"], "collaborative_apps": ["retro"]}, "collaborative_apps", "add it to apps"),
    ({"collaborative_apps": ["repl"]}, "collaborative_apps", "'repl' is not in"),
    ({"kernel": "xeus"}, "kernel", "'xeus' is not in"),
    ({"jupyterlab": "5"}, "jupyterlab", "'5' is not in"),
    ({"jupyterlab": "4", "apps": ["lab", "retro"]}, "apps", "answer notebooks instead"),
    ({"apps": ["notebooks"]}, "apps", "answer retro instead"),
    (
        {"jupyterlab": "4", "apps": ["lab"], "collaborative_apps": ["notebooks"]},
        "collaborative_apps",
        "add it to apps",
    ),
    ({"signaling_urls": "wss://signal.example.org"}, "signaling_urls", "give a YAML list"),
    ({"signaling_urls": []}, "signaling_urls", "one or more URLs"),
    ({"signaling_urls": ["ws://signal.example.org"]}, "signaling_urls", "use a wss:// URL"),
    ({"signaling_urls": ["http://localhost:4444"]}, "signaling_urls", "use a wss:// URL"),
    ({"signaling_urls": ["wss://"]}, "signaling_urls", "use a wss:// URL"),
    ({"signaling_urls": ["wss://ok.example.org", 42]}, "signaling_urls", '"42" is not allowed'),
    ({"room_prefix": "short"}, "room_prefix", "at least 10"),
    ({"room_prefix": "has spaces in it"}, "room_prefix", "no spaces"),
    ({"default_room": "two words"}, "default_room", "1-64 letters"),
    ({"default_room": "a/b"}, "default_room", "1-64 letters"),
    ({"ice_servers": "turn:turn.example.org"}, "ice_servers", "give a YAML list"),
    ({"ice_servers": {"urls": "turn:a.example"}}, "ice_servers", "give a YAML list"),
    ({"ice_servers": [{"urls": "https://a.example"}]}, "ice_servers", "not a stun:, turn: or"),
    ({"ice_servers": [{"urls": ["stun:a.example", 3]}]}, "ice_servers", '"3" is not a stun:'),
    ({"ice_servers": [{"url": "turn:a.example"}]}, "ice_servers", 'with "urls"'),
    ({"ice_servers": ["turn:a.example"]}, "ice_servers", "entry 1 must be a mapping"),
    (
        {"ice_servers": [{"urls": "turn:a.example", "credential": "x"}]},
        "ice_servers",
        "credential but no username",
    ),
]


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
