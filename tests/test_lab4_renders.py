"""Sites with jupyterlab=4 (the default): their files, config and pins follow the answers.
(Their builds: test_builds.py, whose variants are of both flavours.)"""

import pytest
import yaml
from support.sites import (
    REPLACED_PLUGINS,
    answers_of,
    pip_requirements,
    read_json,
    render,
    stack_of,
)

STACK = stack_of("4")
# Peer content may not run JupyterLab commands by a click (GHSA-mqcg-5x36-vfcg): JupyterLab 4.6
# has the setting, but on by default.
COMMAND_LINKER_OFF = {"@jupyterlab/apputils-extension:sanitizer": {"allowCommandLinker": False}}
# the JupyterLite apps each answer builds (Notebook 7 is its file browser, notebooks, editor)
LITE_APPS = {"lab": ["lab"], "notebooks": ["tree", "notebooks", "edit"], "repl": ["repl"]}

ANSWERS = {
    "defaults": {},
    "notebook-7-classroom": {
        "apps": ["notebooks", "repl"],
        "collaborative_apps": ["notebooks"],
        "default_room": "classroom-1",
        "own_browser_storage": False,
        "ice_servers": [{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "p"}],
    },
    "lab-solo": {"apps": ["lab"], "collaborative_apps": [], "kernel": "none"},
}


@pytest.fixture(scope="module", params=ANSWERS)
def site(request, tmp_path_factory):
    dest = tmp_path_factory.mktemp(request.param) / "site"
    return render(dest, jupyterlab="4", **ANSWERS[request.param])


def test_defaults(tmp_path):
    answers = answers_of(render(tmp_path / "site", jupyterlab="4"))
    assert answers["apps"] == answers["collaborative_apps"] == ["lab", "notebooks"]


def test_files_follow_the_answers(site):
    answers = answers_of(site)
    for app in ["lab", "notebooks", "edit", "repl"]:
        shipped = any(app in LITE_APPS[answer] for answer in answers["apps"]) and app != "tree"
        assert (site / app / "jupyter-lite.json").is_file() == shipped, app
    assert not (site / "retro").exists()
    assert not (site / "overrides.json").exists()  # the default room is in jupyter-lite.json
    assert (site / "extensions" / STACK["extension"] / "package.json").is_file()
    # (Copier leaves the excluded JupyterLab 3 extension's folder, empty)
    extensions = site / "extensions"
    shipped = {path.relative_to(extensions).parts[0] for path in extensions.rglob("*.*")}
    assert shipped == {STACK["extension"]}


def test_config_carries_the_answers(site):
    answers = answers_of(site)
    root = read_json(site / "jupyter-lite.json")["jupyter-config-data"]
    assert root["disabledExtensions"] == REPLACED_PLUGINS["4"]
    assert root["settingsOverrides"] == COMMAND_LINKER_OFF
    assert root["disableRTC"] is (not answers["collaborative_apps"])
    assert "collaborative" not in root
    assert root["fullWebRtcSignalingUrls"] == answers["signaling_urls"]
    assert root["webRtcRoomPrefix"] == answers["room_prefix"]
    assert root.get("webRtcDefaultRoom") == (answers["default_room"] or None)
    ice = {"iceServers": answers["ice_servers"]} if answers["ice_servers"] else None
    assert root.get("webRtcConfiguration") == ice
    # shared: JupyterLite 0.1's name, as the owner's JupyterLab 3 sites (0.8 names each path)
    own = f"JupyterLite Storage - {answers['room_prefix']}"
    storage = own if answers["own_browser_storage"] else "JupyterLite Storage"
    assert root["contentsStorageName"] == root["settingsStorageName"] == storage
    landing = None if "lab" in answers["apps"] else "./tree"
    assert root.get("appUrl") == landing
    for answer in answers["apps"]:
        for app in set(LITE_APPS[answer]) - {"tree"}:
            config = read_json(site / app / "jupyter-lite.json")["jupyter-config-data"]
            off = answer not in answers["collaborative_apps"]
            assert config == {"disableRTC": off}, app
    build_config = read_json(site / "jupyter_lite_config.json")["LiteBuildConfig"]
    assert build_config["apps"] == [app for answer in answers["apps"] for app in LITE_APPS[answer]]
    assert build_config["federated_extensions"] == [f"extensions/{STACK['extension']}"]


def test_environment_pins_the_jupyterlab_4_stack(site):
    answers = answers_of(site)
    requirements = pip_requirements(site)
    assert set(STACK["build"]) <= set(requirements)
    assert (STACK["kernels"]["pyodide"] in requirements) == (answers["kernel"] == "pyodide")
    assert not {pin for pin in stack_of("3")["build"] if pin not in STACK["build"]} & set(
        requirements
    )
    python = f"python={STACK['python']}"
    assert python in yaml.safe_load((site / "environment.yml").read_text())["dependencies"]
