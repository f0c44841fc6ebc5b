"""The extension sites ship (template/extensions/) is what its source (extension/) builds."""

import filecmp
import json
import subprocess
import sys

from support.sites import EXTENSION, EXTENSION_NAME, REPO_ROOT

NAME = EXTENSION_NAME
SHIPPED = REPO_ROOT / "template" / "extensions" / NAME


def tree(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_the_shipped_build_is_what_the_source_builds(tmp_path):
    rebuilt = tmp_path / NAME
    subprocess.run([sys.executable, EXTENSION / "build.py", "--out", rebuilt], check=True)
    assert tree(rebuilt) == tree(SHIPPED), "rebuild it: python extension/build.py"
    _, mismatch, errors = filecmp.cmpfiles(rebuilt, SHIPPED, tree(SHIPPED), shallow=False)
    assert (mismatch, errors) == ([], []), "rebuild it: python extension/build.py"


def test_pins_are_exact():
    package = json.loads((EXTENSION / "package.json").read_text())
    for group in ("dependencies", "devDependencies", "overrides"):
        for name, version in package.get(group, {}).items():
            # an override may hand a dependency's dependency the root pin: {"yjs": "$yjs"}
            for pin in version.values() if isinstance(version, dict) else [version]:
                assert pin[0].isdigit() or pin[1:] in package["dependencies"], (
                    f"{name} {pin}: pin an exact version"
                )


def test_shared_with_the_page_not_bundled():
    """JupyterLab, yjs, y-webrtc and the upstream extension come from the page (one copy each):
    two copies of yjs or of a token break a page silently."""
    shared = json.loads((SHIPPED / "package.json").read_text())["jupyterlab"]["sharedPackages"]
    assert shared["y-webrtc"]["bundled"] is False
    assert shared["@jupyterlite/webrtc-docprovider"]["bundled"] is False
    bundle = "".join(path.read_text() for path in (SHIPPED / "static").glob("*.js"))
    # messages that only a bundled yjs or simple-peer (y-webrtc's) would carry
    assert "another client seems to be using it" not in bundle
    assert "cannot signal after peer is destroyed" not in bundle
