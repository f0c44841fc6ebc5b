"""Answers to the template's questions that the tests use.

VARIANTS: the answer sets that matter: each app alone and together, kernel on/off, workflow and
pre-commit on/off, default room set/unset, local and public signaling, own or shared browser
storage, the signaling server with and without the Pages workflow (its own workflow alone),
ICE servers set or not, Renovate on or off; JupyterLab 4 (the default) and 3 (those with RetroLab).

STARTER: the answers of the starter repository each release makes.

BAD_ANSWERS: answers the template refuses, with the question named and a phrase of the fix.
"""

from .sites import DEFAULT_JUPYTERLAB

VARIANTS = {
    "defaults": {},
    "lab-classroom": {
        "apps": ["lab"],
        "kernel": "none",
        "default_room": "classroom-1",
        "deploy_to_pages": False,
        "use_pre_commit": False,
        "signaling_server": False,
        "renovate": False,
    },
    "retro-solo": {
        "jupyterlab": "3",
        "apps": ["retro"],
        "collaborative_apps": [],
        "kernel": "none",
    },
    "repl-only": {"apps": ["repl"], "own_browser_storage": False, "deploy_to_pages": False},
    "all-apps-public": {
        "site_name": 'Physics 101 "Labs"',
        "github_owner": "octo-org",
        "repo_name": "physics-101",
        "jupyterlab": "3",
        "apps": ["lab", "retro", "repl"],
        "collaborative_apps": ["retro"],
        "python_from": "site",
        "signaling_urls": ["wss://signal-a.example.org", "wss://signal-b.example.org/rtc"],
        "room_prefix": "physics-101-rooms",
        "ice_servers": [
            {"urls": "stun:stun.example.org:3478"},
            {"urls": ["turn:turn.example.org:3478"], "username": "class", "credential": "s3"},
        ],
    },
}


def variants_on(jupyterlab):
    """The variants whose site has this flavour (the default's, unless they answer another)."""
    return [
        name
        for name, given in VARIANTS.items()
        if given.get("jupyterlab", DEFAULT_JUPYTERLAB) == jupyterlab
    ]


# What each release renders into the starter repository (.github/workflows/release.yml): the
# defaults, but no room prefix, which the Pages workflow derives from each copy's repository.
# Not in VARIANTS: its site differs from "defaults" only there.
STARTER = {"room_prefix": ""}

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
    (
        {"jupyterlab": "3", "apps": ["lab"], "collaborative_apps": ["retro"]},
        "collaborative_apps",
        "add it to apps",
    ),
    ({"collaborative_apps": ["repl"]}, "collaborative_apps", "'repl' is not in"),
    ({"kernel": "xeus"}, "kernel", "'xeus' is not in"),
    ({"jupyterlab": "5"}, "jupyterlab", "'5' is not in"),
    ({"jupyterlab": "4", "apps": ["lab", "retro"]}, "apps", "answer notebooks instead"),
    ({"jupyterlab": "3", "apps": ["notebooks"]}, "apps", "answer retro instead"),
    (
        {"jupyterlab": "4", "apps": ["lab"], "collaborative_apps": ["notebooks"]},
        "collaborative_apps",
        "add it to apps",
    ),
    ({"python_from": "github"}, "python_from", "'github' is not in"),
    ({"signaling_urls": "wss://signal.example.org"}, "signaling_urls", "give a YAML list"),
    ({"signaling_urls": []}, "signaling_urls", "one or more URLs"),
    ({"signaling_urls": ["ws://signal.example.org"]}, "signaling_urls", "use a wss:// URL"),
    ({"signaling_urls": ["http://localhost:4444"]}, "signaling_urls", "use a wss:// URL"),
    ({"signaling_urls": ["wss://"]}, "signaling_urls", "use a wss:// URL"),
    ({"signaling_urls": ["wss://ok.example.org", 42]}, "signaling_urls", '"42" is not allowed'),
    ({"room_prefix": "short"}, "room_prefix", "at least 10"),
    ({"room_prefix": "has spaces in it"}, "room_prefix", "no spaces"),
    # an empty room_prefix is the Pages workflow's to derive
    ({"room_prefix": "", "deploy_to_pages": False}, "deploy_to_pages", "answer yes here"),
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
