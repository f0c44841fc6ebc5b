"""Build the extension and put the built copy where sites get it: template/extensions/NAME/.

    python extension/build.py              # rebuild the shipped copy
    python extension/build.py --out DIR    # build into DIR instead (tests compare the two)

Needs Node.js with npm and pip (the JupyterLab core metadata comes from PyPI, see below).
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = json.loads((HERE / "package.json").read_text())["name"]
SHIPPED = HERE.parent / "template" / "extensions" / NAME
# The builder shares with the page exactly what this JupyterLab's core shares: the JupyterLab
# of jupyterlite-core 0.1.3 is 3.5.3, and its core metadata ships in the Python package.
JUPYTERLAB = "jupyterlab==3.5.3"
CORE = HERE / ".jupyterlab-core"


def core_metadata():
    """JupyterLab's staging/package.json (its shared and singleton packages), once."""
    if (CORE / "package.json").is_file():
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                JUPYTERLAB,
                "--dest",
                tmp,
            ],
            check=True,
        )
        (wheel,) = Path(tmp).glob("jupyterlab-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            metadata = archive.read("jupyterlab/staging/package.json")
    CORE.mkdir(exist_ok=True)
    (CORE / "package.json").write_bytes(metadata)


def build(out: Path):
    core_metadata()
    lock = HERE / "package-lock.json"
    installed = HERE / "node_modules" / ".package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True)
    # tsc builds incrementally: start from nothing, so the output depends on the sources alone
    shutil.rmtree(HERE / "lib", ignore_errors=True)
    shutil.rmtree(HERE / "dist", ignore_errors=True)
    (HERE / "tsconfig.tsbuildinfo").unlink(missing_ok=True)
    subprocess.run(
        ["npm", "run", "--silent", "build"], cwd=HERE, check=True, stdout=subprocess.DEVNULL
    )
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(HERE / "dist", out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED, help=f"default: {SHIPPED}")
    build(parser.parse_args(argv).out)


if __name__ == "__main__":
    main()
