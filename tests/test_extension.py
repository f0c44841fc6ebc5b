"""The extensions sites ship (template/extensions/) are what their sources (extension/ for
JupyterLab 3, extension/lab4/ for JupyterLab 4, both with extension/common/) build."""

import filecmp
import json
import subprocess
import sys

import pytest
from support.sites import EXTENSION, JUPYTERLABS, REPO_ROOT, stack_of

BUILD = EXTENSION / "build.py"
# each JupyterLab's extension: its source folder and the name its build ships under
SOURCES = {"3": EXTENSION, "4": EXTENSION / "lab4"}


def shipped(jupyterlab):
    return REPO_ROOT / "template" / "extensions" / stack_of(jupyterlab)["extension"]


def tree(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.mark.parametrize("jupyterlab", JUPYTERLABS)
def test_the_shipped_build_is_what_the_source_builds(tmp_path, jupyterlab):
    rebuilt = tmp_path / "rebuilt"
    command = [sys.executable, BUILD, "--jupyterlab", jupyterlab, "--out", rebuilt]
    subprocess.run(command, check=True)
    fix = f"rebuild it: python extension/build.py --jupyterlab {jupyterlab}"
    assert tree(rebuilt) == tree(shipped(jupyterlab)), fix
    _, mismatch, errors = filecmp.cmpfiles(
        rebuilt, shipped(jupyterlab), tree(shipped(jupyterlab)), shallow=False
    )
    assert (mismatch, errors) == ([], []), fix


@pytest.mark.parametrize("jupyterlab", JUPYTERLABS)
def test_the_stack_names_the_shipped_extension(jupyterlab):
    package = json.loads((SOURCES[jupyterlab] / "package.json").read_text())
    assert package["name"] == stack_of(jupyterlab)["extension"]


@pytest.mark.parametrize("jupyterlab", JUPYTERLABS)
def test_pins_are_exact(jupyterlab):
    package = json.loads((SOURCES[jupyterlab] / "package.json").read_text())
    for group in ("dependencies", "devDependencies", "overrides"):
        for name, version in package.get(group, {}).items():
            # an override may hand a dependency's dependency the root pin: {"yjs": "$yjs"}
            for pin in version.values() if isinstance(version, dict) else [version]:
                assert pin[0].isdigit() or pin[1:] in package["dependencies"], (
                    f"{name} {pin}: pin an exact version"
                )


@pytest.mark.parametrize("jupyterlab", JUPYTERLABS)
def test_unit_tests_and_lints_pass(jupyterlab):
    """extension/common's unit tests (jest: the load protocol with in-memory Yjs documents, on
    the yjs that this JupyterLab's build shares with its page), then ESLint and Prettier over
    the extension's src/ and extension/common."""
    done = subprocess.run(
        [sys.executable, BUILD, "--jupyterlab", jupyterlab, "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# what configures the unit tests and lints (extension-template's ESLint and Prettier settings)
CHECK_SETTINGS = ["jest", "eslintConfig", "eslintIgnore", "prettier"]


def test_both_extensions_are_checked_alike():
    """One way to test, lint and format the TypeScript of both extensions, which share
    extension/common: the same settings, scripts and tool versions in both package.json."""
    lab3, lab4 = (json.loads((SOURCES[lab] / "package.json").read_text()) for lab in ("3", "4"))
    for key in CHECK_SETTINGS:
        assert lab3[key] == lab4[key], f"{key}: make both package.json say the same"
    for script in ("test", "lint"):
        assert lab3["scripts"][script] == lab4["scripts"][script]
    # each JupyterLab's builder needs its own TypeScript; the test and lint tools are the same
    builds = {"@jupyterlab/builder", "typescript"}
    tools3, tools4 = (
        {name: pin for name, pin in package["devDependencies"].items() if name not in builds}
        for package in (lab3, lab4)
    )
    assert tools3 == tools4


def bundle_of(jupyterlab):
    return "".join(path.read_text() for path in (shipped(jupyterlab) / "static").glob("*.js"))


def test_shared_with_the_page_not_bundled():
    """JupyterLab, yjs, y-webrtc and the upstream extension come from the page (one copy each):
    two copies of yjs or of a token break a page silently."""
    shared = json.loads((shipped("3") / "package.json").read_text())["jupyterlab"]["sharedPackages"]
    assert shared["y-webrtc"]["bundled"] is False
    assert shared["@jupyterlite/webrtc-docprovider"]["bundled"] is False
    bundle = bundle_of("3")
    # messages that only a bundled yjs or simple-peer (y-webrtc's) would carry
    assert "another client seems to be using it" not in bundle
    assert "cannot signal after peer is destroyed" not in bundle


def test_jupyterlab_4_extension_shares_yjs_and_the_docprovider_tokens_with_the_page():
    """Tokens match by object and Yjs types by class: @jupyter/docprovider (jupyter-docprovider's
    copy) and yjs must be the page's. y-webrtc is ours (JupyterLab 4's page has none)."""
    shared = json.loads((shipped("4") / "package.json").read_text())["jupyterlab"]["sharedPackages"]
    assert shared["@jupyter/docprovider"]["bundled"] is False
    bundle = bundle_of("4")
    assert "another client seems to be using it" not in bundle  # yjs's own message
    assert "cannot signal after peer is destroyed" in bundle  # simple-peer, in y-webrtc
