"""Build the extension and put the built copy where sites get it: template/extensions/NAME/.

    python extension/build.py              # rebuild the shipped copy
    python extension/build.py --out DIR    # build into DIR instead (tests compare the two)

Needs Node.js with npm and pip (the JupyterLab core metadata comes from PyPI, see below).
"""

import argparse
import fcntl
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
SOURCES = ["package.json", "package-lock.json", "tsconfig.json", "src"]
# webpack 5.75 hashes the absolute path of the extension's entry into a module id: every build
# runs in this one folder, so that any checkout builds the same bytes.
STAGE = Path("/tmp") / f"{NAME}-build"
# The builder shares with the page exactly what this JupyterLab's core shares: the JupyterLab
# of jupyterlite-core 0.1.3 is 3.5.3, and its core metadata ships in the Python package.
JUPYTERLAB = "jupyterlab==3.5.3"


def core_metadata(core: Path):
    """JupyterLab's staging/package.json (its shared and singleton packages), once."""
    if (core / "package.json").is_file():
        return
    with tempfile.TemporaryDirectory() as tmp:
        download = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        subprocess.run([*download, JUPYTERLAB, "--dest", tmp], check=True)
        (wheel,) = Path(tmp).glob("jupyterlab-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            metadata = archive.read("jupyterlab/staging/package.json")
    core.mkdir(exist_ok=True)
    (core / "package.json").write_bytes(metadata)


def stage():
    """The sources in STAGE, with node_modules installed from the lockfile."""
    STAGE.mkdir(exist_ok=True)
    for stale in ("src", "lib", "dist", "tsconfig.tsbuildinfo"):
        path = STAGE / stale
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    installed = STAGE / "node_modules" / ".package-lock.json"
    lock = (HERE / "package-lock.json").read_bytes()
    fresh = not installed.is_file() or (STAGE / "package-lock.json").read_bytes() != lock
    for name in SOURCES:
        copy = shutil.copytree if (HERE / name).is_dir() else shutil.copy2
        copy(HERE / name, STAGE / name)
    if fresh:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=STAGE, check=True)
    core_metadata(STAGE / ".jupyterlab-core")


def build(out: Path):
    # one build at a time in STAGE, whichever checkout or test started it
    with open(f"{STAGE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _build_in_stage(out)


def _build_in_stage(out: Path):
    stage()
    done = subprocess.run(
        ["npm", "run", "--silent", "build"], cwd=STAGE, capture_output=True, text=True
    )
    if done.returncode:  # tsc and webpack say what is wrong on stdout
        sys.exit(f"npm run build failed:\n{done.stdout}{done.stderr}")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(STAGE / "dist", out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED, help=f"default: {SHIPPED}")
    build(parser.parse_args(argv).out)


if __name__ == "__main__":
    main()
