"""Sites with jupyterlab=4 (the preview): their files, config and pins follow the answers, and
the built site loads documents through the site's own JupyterLab 4 provider only."""

import pytest
import yaml
from support.sites import (
    answers_of,
    build_env,
    pip_requirements,
    read_json,
    render,
    run_in_env,
    stack_of,
)

STACK = stack_of("4")
# jupyter-docprovider's plugins that this site's extension replaces, JupyterLite's user
# manager (it has no identity: documents would never open), and jupyter-collaboration-ui's
# shared link (a Jupyter server's, with its token; the extension's Share dialog replaces it)
REPLACED = [
    "@jupyter/collaboration-extension:shared-link",
    "@jupyter/docprovider-extension:websocket-provider-awareness-factory",
    "@jupyter/docprovider-extension:websocket-provider-document-factory",
    "@jupyterlite/services-extension:user-manager",
]
# Peer content may not run JupyterLab commands by a click (GHSA-mqcg-5x36-vfcg): JupyterLab 4.6
# has the setting, but on by default.
COMMAND_LINKER_OFF = {"@jupyterlab/apputils-extension:sanitizer": {"allowCommandLinker": False}}
# what an extension is built for: the builder, or the application it plugs into
JUPYTERLAB_PACKAGES = ["@jupyterlab/builder", "@jupyterlab/application"]
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
    assert root["disabledExtensions"] == REPLACED
    assert root["settingsOverrides"] == COMMAND_LINKER_OFF
    assert root["disableRTC"] is (not answers["collaborative_apps"])
    assert "collaborative" not in root
    assert root["fullWebRtcSignalingUrls"] == answers["signaling_urls"]
    assert root["webRtcRoomPrefix"] == answers["room_prefix"]
    assert root.get("webRtcDefaultRoom") == (answers["default_room"] or None)
    ice = {"iceServers": answers["ice_servers"]} if answers["ice_servers"] else None
    assert root.get("webRtcConfiguration") == ice
    own = answers["own_browser_storage"] or None
    assert (
        bool(root.get("contentsStorageName")) == bool(root.get("settingsStorageName")) == bool(own)
    )
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


def test_the_built_site_loads_documents_through_its_own_provider_only(lab4_site):
    output = lab4_site / "_output"
    config = read_json(output / "jupyter-lite.json")["jupyter-config-data"]
    shipped = {extension["name"]: extension for extension in config["federated_extensions"]}
    ours = shipped[STACK["extension"]]
    assert (output / "extensions" / STACK["extension"] / ours["load"]).is_file()
    assert {"@jupyter/docprovider-extension", "@jupyter/collaboration-extension"} <= set(shipped)
    assert "@jupyterlite/webrtc-docprovider" not in shipped
    assert config["disabledExtensions"] == REPLACED
    for name in shipped:
        package = read_json(output / "extensions" / name / "package.json")
        needs = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
        versions = [needs[key] for key in JUPYTERLAB_PACKAGES if key in needs]
        assert versions, f"{name} names no JupyterLab package"
        assert all(v.lstrip("^~=").startswith("4.") for v in versions), f"{name}: {versions}"
    listed = {entry["path"] for entry in read_json(output / "api/contents/all.json")["content"]}
    assert listed == {path.name for path in (lab4_site / "content").iterdir()}
    run_in_env(build_env(lab4_site), ["jupyter", "lite", "check"], cwd=lab4_site)
