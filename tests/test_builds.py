"""Every variant builds with `jupyter lite build`, and the BUILT site carries the answers, in
its flavour's keys (JupyterLab 3's webrtc-docprovider, or JupyterLab 4's jupyter-docprovider
with the site's own provider; their rendered config: test_renders.py, test_lab4_renders.py)."""

import pytest
import yaml
from support.answers import VARIANTS
from support.sites import ALL_APPS, REPLACED_PLUGINS, build_env, read_json, run_in_env, stack_of

WEBRTC_EXTENSION = "@jupyterlite/webrtc-docprovider"
# the upstream collaboration each flavour's site ships, beside its own provider
UPSTREAM_COLLABORATION = {
    "3": {WEBRTC_EXTENSION},
    "4": {"@jupyter/docprovider-extension", "@jupyter/collaboration-extension"},
}
# what an extension is built for: the builder, or the application it plugs into
JUPYTERLAB_PACKAGES = ["@jupyterlab/builder", "@jupyterlab/application"]


def collaborates(config, jupyterlab):
    """Whether an app page with this config has collaboration on, in its flavour's key."""
    return config["collaborative"] if jupyterlab == "3" else not config["disableRTC"]


def default_room(config, jupyterlab):
    """The default room an app page with this config joins (None: none)."""
    if jupyterlab == "4":
        return config.get("webRtcDefaultRoom")
    overrides = config.get("settingsOverrides", {})
    return overrides.get(WEBRTC_EXTENSION + ":plugin", {}).get("room")


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
        on = app in answers["collaborative_apps"]
        assert collaborates(config, answers["jupyterlab"]) is on, app
        assert config["fullWebRtcSignalingUrls"] == answers["signaling_urls"]
        assert config["webRtcRoomPrefix"] == answers["room_prefix"]
        assert config["appName"] == answers["site_name"]


def test_default_room_reaches_the_extension_settings(built):
    _, output, answers = built
    config = read_json(output / "jupyter-lite.json")["jupyter-config-data"]
    assert default_room(config, answers["jupyterlab"]) == (answers["default_room"] or None)


def test_documents_load_through_the_sites_own_provider(built):
    """The upstream provider is off and ours ships: its provider is the only one."""
    _, output, answers = built
    config = read_json(output / "jupyter-lite.json")["jupyter-config-data"]
    assert config["disabledExtensions"] == REPLACED_PLUGINS[answers["jupyterlab"]]
    ours = stack_of(answers["jupyterlab"])["extension"]
    shipped = {extension["name"]: extension for extension in config["federated_extensions"]}
    assert (output / "extensions" / ours / shipped[ours]["load"]).is_file()


def test_shipped_notebooks_have_stable_cell_ids(built):
    """Without ids JupyterLab invents new ones at each load, so loads could not merge."""
    site, _, _ = built
    for notebook in (site / "content").glob("*.ipynb"):
        content = read_json(notebook)
        assert (content["nbformat"], content["nbformat_minor"]) >= (4, 5), notebook.name
        ids = [cell["id"] for cell in content["cells"]]
        assert len(set(ids)) == len(ids) == len(content["cells"]), notebook.name


def test_only_extensions_of_the_sites_jupyterlab_ship(built):
    _, output, answers = built
    jupyterlab = answers["jupyterlab"]
    config = read_json(output / "jupyter-lite.json")["jupyter-config-data"]
    names = {extension["name"] for extension in config["federated_extensions"]}
    assert UPSTREAM_COLLABORATION[jupyterlab] <= names
    assert (
        not {name for each in UPSTREAM_COLLABORATION.values() for name in each}
        - {*UPSTREAM_COLLABORATION[jupyterlab]}
        & names
    )
    assert ("@jupyterlite/pyodide-kernel-extension" in names) == (answers["kernel"] == "pyodide")
    for name in names:
        package = read_json(output / "extensions" / name / "package.json")
        needs = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
        versions = [needs[key] for key in JUPYTERLAB_PACKAGES if key in needs]
        assert versions, f"{name} names no JupyterLab package"
        built_for = [version.lstrip("^~=") for version in versions]
        assert all(v.startswith(f"{jupyterlab}.") for v in built_for), f"{name}: {versions}"


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
