"""The answer sets that matter: each app alone and together, kernel on/off, workflow and
pre-commit on/off, default room set/unset, local and public signaling, own or shared browser
storage, the signaling server with and without the Pages workflow (its own workflow alone),
ICE servers set or not."""

VARIANTS = {
    "defaults": {},
    "lab-classroom": {
        "apps": ["lab"],
        "kernel": "none",
        "default_room": "classroom-1",
        "deploy_to_pages": False,
        "use_pre_commit": False,
        "signaling_server": False,
    },
    "retro-solo": {"apps": ["retro"], "collaborative_apps": [], "kernel": "none"},
    "repl-only": {"apps": ["repl"], "own_browser_storage": False, "deploy_to_pages": False},
    "all-apps-public": {
        "site_name": 'Physics 101 "Labs"',
        "github_owner": "octo-org",
        "repo_name": "physics-101",
        "apps": ["lab", "retro", "repl"],
        "collaborative_apps": ["retro"],
        "signaling_urls": ["wss://signal-a.example.org", "wss://signal-b.example.org/rtc"],
        "room_prefix": "physics-101-rooms",
        "ice_servers": [
            {"urls": "stun:stun.example.org:3478"},
            {"urls": ["turn:turn.example.org:3478"], "username": "class", "credential": "s3"},
        ],
    },
}
