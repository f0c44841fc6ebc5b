"""Every variant builds with `jupyter lite build`, and the BUILT site carries the answers."""

import pytest
import yaml
from support.answers import VARIANTS
from support.sites import ALL_APPS, EXTENSION_NAME, build_env, read_json, run_in_env

WEBRTC_EXTENSION = "@jupyterlite/webrtc-docprovider"


def merged_config(output, app):
    """The config an app page sees: the root jupyter-lite.json, then the app's own on top."""
    return {
        **read_json(output / "jupyter-lite.json")["jupyter-config-data"],
        **read_json(output / app / "jupyter-lite.json")["jupyter-config-data"],
    }


@pytest.fixture(params=VARIANTS)
def built(request, built_site):
    site = built_site(request.param)
    return site, site / "_output", yaml.safe_load((site / ".copier-answers.yml").read_text())


def test_apps_carry_collaboration_settings(built):
    _, output, answers = built
    for app in ALL_APPS:
        assert (output / app).is_dir() == (app in answers["apps"]), app
    for app in answers["apps"]:
        config = merged_config(output, app)
        assert config["collaborative"] is (app in answers["collaborative_apps"]), app
        assert config["fullWebRtcSignalingUrls"] == answers["signaling_urls"]
        assert config["webRtcRoomPrefix"] == answers["room_prefix"]
        assert config["appName"] == answers["site_name"]


def test_default_room_reaches_the_extension_settings(built):
    _, output, answers = built
    overrides = read_json(output / "jupyter-lite.json")["jupyter-config-data"].get(
        "settingsOverrides", {}
    )
    expected = (
        {WEBRTC_EXTENSION + ":plugin": {"room": answers["default_room"]}}
        if answers["default_room"]
        else {}
    )
    assert overrides == expected


def test_documents_load_through_the_sites_own_provider(built):
    """The upstream factory is off and ours ships: its provider is the only one."""
    _, output, _ = built
    config = read_json(output / "jupyter-lite.json")["jupyter-config-data"]
    assert config["disabledExtensions"] == [WEBRTC_EXTENSION + ":factory"]
    shipped = {extension["name"]: extension for extension in config["federated_extensions"]}
    assert (output / "extensions" / EXTENSION_NAME / shipped[EXTENSION_NAME]["load"]).is_file()


def test_shipped_notebooks_have_stable_cell_ids(built):
    """Without ids JupyterLab invents new ones at each load, so loads could not merge."""
    site, _, _ = built
    for notebook in (site / "content").glob("*.ipynb"):
        content = read_json(notebook)
        assert (content["nbformat"], content["nbformat_minor"]) >= (4, 5), notebook.name
        ids = [cell["id"] for cell in content["cells"]]
        assert len(set(ids)) == len(ids) == len(content["cells"]), notebook.name


def test_only_jupyterlab_3_extensions_ship(built):
    _, output, answers = built
    config = read_json(output / "jupyter-lite.json")["jupyter-config-data"]
    names = {extension["name"] for extension in config["federated_extensions"]}
    assert WEBRTC_EXTENSION in names
    assert ("@jupyterlite/pyodide-kernel-extension" in names) == (answers["kernel"] == "pyodide")
    for name in names:
        package = read_json(output / "extensions" / name / "package.json")
        builder = package.get("devDependencies", {}).get("@jupyterlab/builder", "")
        assert builder.lstrip("^~=").startswith("3."), f"{name} is built for JupyterLab {builder}"


def test_contents_index_lists_the_content(built):
    site, output, _ = built
    listed = {entry["path"] for entry in read_json(output / "api/contents/all.json")["content"]}
    assert listed == {path.name for path in (site / "content").iterdir()}
    assert (output / "files/welcome.ipynb").read_bytes() == (
        site / "content/welcome.ipynb"
    ).read_bytes()


def test_no_source_maps_ship(built):
    _, output, _ = built
    assert not list(output.rglob("*.map"))


def test_jupyter_lite_check_passes(built):
    site, _, _ = built
    run_in_env(build_env(site), ["jupyter", "lite", "check"], cwd=site)
