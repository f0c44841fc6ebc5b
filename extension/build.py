"""Build a site extension and put the built copy where sites get it: template/extensions/NAME/.

    python extension/build.py                   # rebuild the shipped JupyterLab 3 extension
    python extension/build.py --jupyterlab 4    # ... the JupyterLab 4 one (extension/lab4/)
    python extension/build.py --out DIR         # build into DIR instead (tests compare the two)
    python extension/build.py --check           # its unit tests, ESLint and Prettier (no build)
    python extension/build.py --jupyterlab 4 --check   # ... the JupyterLab 4 one's

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
# Each JupyterLab's extension: its source folder. (extension/common/, the logic both share,
# reaches a build through the symlink src/common, and is copied into the stage as src/common/.)
SOURCE_FOLDERS = {"3": HERE, "4": HERE / "lab4"}
SOURCES = ["package.json", "package-lock.json", "tsconfig.json", "src"]


class Extension:
    """The extension of one JupyterLab: where its source is, where it is built and shipped."""

    def __init__(self, jupyterlab: str):
        self.source = SOURCE_FOLDERS[jupyterlab]
        package = json.loads((self.source / "package.json").read_text())
        self.name = package["name"]
        self.shipped = HERE.parent / "template" / "extensions" / self.name
        # webpack hashes the absolute path of the extension's entry into a module id: every
        # build runs in this one folder, so that any checkout builds the same bytes.
        self.stage = Path("/tmp") / f"{self.name}-build"
        # The builder shares with the page exactly what this JupyterLab's core shares; its core
        # metadata ships in the Python package of the JupyterLab whose application package the
        # extension builds against (3.5.3 in jupyterlite-core 0.1.3, 4.6.4 in 0.8.6).
        self.jupyterlab = f"jupyterlab=={package['dependencies']['@jupyterlab/application']}"


def core_metadata(core: Path, jupyterlab: str):
    """JupyterLab's staging/package.json (its shared and singleton packages), once."""
    if (core / "package.json").is_file():
        return
    with tempfile.TemporaryDirectory() as tmp:
        download = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        subprocess.run([*download, jupyterlab, "--dest", tmp], check=True)
        (wheel,) = Path(tmp).glob("jupyterlab-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            metadata = archive.read("jupyterlab/staging/package.json")
    core.mkdir(exist_ok=True)
    (core / "package.json").write_bytes(metadata)


def stage(extension: Extension):
    """The sources in the stage folder, with node_modules installed from the lockfile."""
    here, stage_dir = extension.source, extension.stage
    stage_dir.mkdir(exist_ok=True)
    for stale in ("src", "lib", "dist", "tsconfig.tsbuildinfo"):
        path = stage_dir / stale
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    installed = stage_dir / "node_modules" / ".package-lock.json"
    lock = (here / "package-lock.json").read_bytes()
    fresh = not installed.is_file() or (stage_dir / "package-lock.json").read_bytes() != lock
    for name in SOURCES:
        copy = shutil.copytree if (here / name).is_dir() else shutil.copy2
        copy(here / name, stage_dir / name)
    if fresh:
        npm_ci = ["npm", "ci", "--no-audit", "--no-fund", "--silent"]
        subprocess.run(npm_ci, cwd=stage_dir, check=True)
    core_metadata(stage_dir / ".jupyterlab-core", extension.jupyterlab)


def in_stage(extension: Extension, work):
    """Run work() with the stage to itself, whichever checkout or test started it."""
    with open(f"{extension.stage}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stage(extension)
        return work()


def npm_run(extension: Extension, script: str):
    done = subprocess.run(
        ["npm", "run", "--silent", script], cwd=extension.stage, capture_output=True, text=True
    )
    if done.returncode:  # tsc, webpack, jest and the linters say what is wrong on stdout
        sys.exit(f"npm run {script} failed:\n{done.stdout}{done.stderr}")
    return done


def build(out: Path, extension: Extension):
    def build_and_copy():
        npm_run(extension, "build")
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(extension.stage / "dist", out)

    in_stage(extension, build_and_copy)


def check(extension: Extension):
    """The unit tests, ESLint and Prettier (in the stage, where their packages are)."""
    in_stage(extension, lambda: (npm_run(extension, "test"), npm_run(extension, "lint")))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jupyterlab", choices=sorted(SOURCE_FOLDERS), default="3")
    parser.add_argument("--out", type=Path, help="default: template/extensions/NAME")
    parser.add_argument("--check", action="store_true", help="unit tests and lints, no build")
    args = parser.parse_args(argv)
    extension = Extension(args.jupyterlab)
    if args.check:
        check(extension)
    else:
        build(args.out or extension.shipped, extension)


if __name__ == "__main__":
    main()
