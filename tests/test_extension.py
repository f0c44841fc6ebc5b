"""The extension sites ship (template/extensions/) is what its source (extension/) builds."""

import filecmp
import json
import subprocess
import sys

from sites import EXTENSION, EXTENSION_NAME, TEMPLATE

NAME = EXTENSION_NAME
SHIPPED = TEMPLATE / "template" / "extensions" / NAME


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


def test_yjs_and_jupyterlab_come_from_the_page_y_webrtc_is_its_own():
    """JupyterLab, yjs and the upstream extension come from the page (one copy each): two
    copies of yjs or of a token break a page silently. y-webrtc is the extension's own, 10.3
    (the page's 10.2 leaves peers that open together unconnected, see DESIGN.md)."""
    package = json.loads((SHIPPED / "package.json").read_text())
    shared = package["jupyterlab"]["sharedPackages"]
    assert shared["@jupyterlite/webrtc-docprovider"]["bundled"] is False
    assert shared["y-webrtc"] is False
    bundle = "".join(path.read_text() for path in (SHIPPED / "static").glob("*.js"))
    # a message that only a bundled yjs would carry
    assert "another client seems to be using it" not in bundle
    # y-webrtc 10.3's answer to two offers crossing (glare)
    assert "offer rejected" in bundle
