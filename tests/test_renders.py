"""`copier copy` renders a site repo whose files and config follow from the answers."""

import json
import re
import subprocess
import sys

import pytest
import yaml
from support.answers import VARIANTS, variants_on
from support.sites import (
    ALL_APPS,
    DEFAULT_JUPYTERLAB,
    REPO_ROOT,
    answers_of,
    pip_requirements,
    read_json,
    render,
    stack_of,
)


@pytest.mark.parametrize("variant", VARIANTS)
def test_files_follow_the_answers(rendered_site, variant):
    site = rendered_site(variant)
    answers = answers_of(site)
    for always in [
        "README.md",
        "docs/publishing.md",
        "docs/signaling.md",
        "docs/rooms.md",
        "docs/preview.md",
        "docs/updating.md",
        "environment.yml",
        "jupyter_lite_config.json",
        "jupyter-lite.json",
        "content/welcome.ipynb",
        "content/collaborate.md",
        "preview.py",
        ".gitignore",
    ]:
        assert (site / always).is_file(), always
    for app in ALL_APPS:
        assert (site / app / "jupyter-lite.json").is_file() == (app in answers["apps"]), app
    on_3 = answers["jupyterlab"] == "3"  # JupyterLab 4 has the default room in jupyter-lite.json
    assert (site / "overrides.json").is_file() == (bool(answers["default_room"]) and on_3)
    assert (site / ".github/workflows/deploy.yml").is_file() == answers["deploy_to_pages"]
    assert (site / ".pre-commit-config.yaml").is_file() == answers["use_pre_commit"]
    assert (site / "renovate.json").is_file() == answers["renovate"]
    assert (site / "docs/renovate.md").is_file() == answers["renovate"]
    assert (site / "signaling/server.py").is_file() == answers["signaling_server"]
    assert (site / "signaling/Dockerfile").is_file() == answers["signaling_server"]


@pytest.mark.parametrize("variant", variants_on("3"))  # 4's: test_lab4_renders.py
def test_config_carries_the_answers(rendered_site, variant):
    site = rendered_site(variant)
    answers = answers_of(site)
    root = read_json(site / "jupyter-lite.json")["jupyter-config-data"]
    assert root["appName"] == answers["site_name"]
    assert root["fullWebRtcSignalingUrls"] == answers["signaling_urls"]
    assert root["webRtcRoomPrefix"] == answers["room_prefix"]
    # every peer connection's RTCConfiguration; without ICE servers, the browsers' default
    ice = {"iceServers": answers["ice_servers"]} if answers["ice_servers"] else None
    assert root.get("webRtcConfiguration") == ice
    assert root["collaborative"] == bool(answers["collaborative_apps"])
    own = (
        f"JupyterLite Storage - {answers['room_prefix']}"
        if answers["own_browser_storage"]
        else None
    )
    assert root.get("contentsStorageName") == root.get("settingsStorageName") == own
    # The landing page redirects to appUrl, ./lab unless the lab app is left out.
    landing = {"lab": None, "retro": "./retro/tree", "repl": "./repl"}
    first_app = next(app for app in ALL_APPS if app in answers["apps"])
    assert root.get("appUrl") == landing[first_app]
    for app in answers["apps"]:
        app_config = read_json(site / app / "jupyter-lite.json")["jupyter-config-data"]
        expected = {"collaborative": app in answers["collaborative_apps"]}
        if app == "retro":
            # RetroLab: a joiner's page that set the kernel preference never showed the
            # notebook (tests/test_collaborates.py::test_lab_and_retro_edit_one_notebook), so
            # room-kernels is off there; its joiners pick the kernel in "Select Kernel"
            expected["disabledExtensions"] = [
                "@jupyterlite/webrtc-docprovider:factory",
                "jupyterlite-webrtc-safe-load:room-kernels",
            ]
        assert app_config == expected, app
    if answers["default_room"]:
        overrides = read_json(site / "overrides.json")
        assert overrides == {
            "@jupyterlite/webrtc-docprovider:plugin": {"room": answers["default_room"]}
        }
    build_config = read_json(site / "jupyter_lite_config.json")["LiteBuildConfig"]
    assert build_config["apps"] == answers["apps"]
    assert build_config["contents"] == ["content"]
    assert build_config["no_sourcemaps"] is True


@pytest.mark.parametrize("variant", VARIANTS)
def test_environment_pins_every_requirement(rendered_site, variant):
    site = rendered_site(variant)
    answers = answers_of(site)
    requirements = pip_requirements(site)
    names = [re.split("[=<>]", r)[0] for r in requirements]
    assert all("==" in r for r in requirements), requirements
    stack = stack_of(answers["jupyterlab"])
    assert set(stack["build"]) <= set(requirements)
    assert "jupyter_server" in names  # without it the build writes an empty contents index
    for kernel, pin in stack["kernels"].items():
        assert (pin in requirements) == (answers["kernel"] == kernel)
    python = f"python={stack['python']}"
    assert python in yaml.safe_load((site / "environment.yml").read_text())["dependencies"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_content_and_readme(rendered_site, variant):
    site = rendered_site(variant)
    answers = answers_of(site)
    notebook = read_json(site / "content/welcome.ipynb")
    assert notebook["nbformat"] == 4
    assert answers["site_name"] in "".join(notebook["cells"][0]["source"])
    assert "?room=" in (site / "content/collaborate.md").read_text()
    readme = (site / "README.md").read_text()
    assert readme.startswith(f"# {answers['site_name']}\n")
    local_only = all(url.startswith("ws://") for url in answers["signaling_urls"])
    assert ("Not ready yet" in readme) == local_only
    if local_only:
        for url in answers["signaling_urls"]:
            assert url in readme
    # the README is short: it links the guides, which the template keeps current
    guides = {path.relative_to(site).as_posix() for path in site.glob("docs/*.md")}
    linked = set(re.findall(r"\]\((docs/[^)]+\.md)\)", readme))
    assert guides <= linked, guides - linked
    assert ("docs/signaling-server.md" in guides) == answers["signaling_server"]
    assert "copier update --defaults" in (site / "docs/updating.md").read_text()


def test_defaults(rendered_site):
    answers = answers_of(rendered_site("defaults"))
    assert answers["jupyterlab"] == DEFAULT_JUPYTERLAB == "4"
    assert answers["apps"] == ["lab", "notebooks"]
    assert answers["collaborative_apps"] == ["lab", "notebooks"]
    assert answers["kernel"] == "pyodide"
    assert answers["signaling_urls"] == ["ws://localhost:4444"]
    assert answers["default_room"] == ""
    assert answers["repo_name"] == "collaborative-notebooks"
    assert re.fullmatch("[0-9a-f]{40}", answers["room_prefix"])


def test_apps_with_retrolab_make_a_jupyterlab_3_site(tmp_path):
    """RetroLab is JupyterLab 3's: giving it without `jupyterlab` renders a 3 site, as before 4
    became the default (a site made before the question updates the same way: test_updates)."""
    answers = answers_of(render(tmp_path / "s", apps=["lab", "retro"]))
    assert (answers["jupyterlab"], answers["collaborative_apps"]) == ("3", ["lab", "retro"])


def test_room_prefix_is_random_per_site(tmp_path):
    first = answers_of(render(tmp_path / "a"))["room_prefix"]
    second = answers_of(render(tmp_path / "b"))["room_prefix"]
    assert first != second


def test_derived_defaults(tmp_path):
    site = render(tmp_path / "s", site_name="Physics 101: Labs!", apps=["repl", "notebooks"])
    answers = answers_of(site)
    assert answers["repo_name"] == "physics-101-labs"
    assert answers["collaborative_apps"] == ["notebooks"]  # the REPL edits no documents


@pytest.mark.parametrize(
    ("owner", "repo", "url"),
    [
        ("octo-org", "physics-101", "https://octo-org.github.io/physics-101/"),
        ("Octo-Org", "octo-org.github.io", "https://octo-org.github.io/"),
    ],
)
def test_pages_url_in_readme(tmp_path, owner, repo, url):
    site = render(tmp_path / "s", github_owner=owner, repo_name=repo)
    assert f"Live site: <{url}>" in (site / "README.md").read_text()
    assert f"{url}lab/index.html?room=" in (site / "content/collaborate.md").read_text()


@pytest.mark.parametrize(
    ("urls", "warned"),
    [(["ws://localhost:4444"], True), (["wss://signal.example.org"], False)],
)
def test_next_steps_message(tmp_path, urls, warned):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--vcs-ref=HEAD",  # the working tree, not the newest release tag
            "--defaults",
            "--data",
            f"signaling_urls={json.dumps(urls)}",
            str(REPO_ROOT),
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Settings -> Pages" in done.stderr + done.stdout
    assert ("Collaboration will NOT work" in done.stderr + done.stdout) == warned
    assert ("New repository variable\n!!   SIGNALING_URLS = [" in done.stderr) == warned
