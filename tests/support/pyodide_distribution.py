"""A Pyodide distribution made from the registries, for sites under test (python_from: site).

The official release archive that a site's Pages build downloads lives on GitHub, which tests
cannot reach. This makes an archive of the same shape (`pyodide/` at its top) from what they
can reach, cached in .cache/pyodide/:
- the runtime from npm (`pyodide@VERSION`: pyodide.js, pyodide.asm.*, python_stdlib.zip,
  pyodide-lock.json), which holds no package wheels;
- each package the kernel loads through the lock (micropip and what the wheels in copier.yml's
  `stack.pyodide.wheels` need that the lock has: jedi, parso, pygments...), from PyPI at the
  lock's version, saved under the lock's file name with the lock's sha256 replaced by the
  file's (Pyodide checks it);
- STAND_INS: what the lock has but no registry does.
The site's own workflow step then puts it into a site, as it puts the official one.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .sites import CACHE, making, stack_of

FOLDER = CACHE / "pyodide"
WHEELS = FOLDER / "wheels"  # PyPI's files, as downloaded

# The packages each flavour's kernel (its worker) loads by name through the lock, besides what
# the wheels it installs require. jupyterlite-pyodide-kernel 0.1.3: `loadPackage(["micropip"])`,
# then `piplite.install(['sqlite3'])`; 0.8.6: micropip, then piplite installs of ipykernel, comm,
# pyodide-kernel (its own wheels or stack.pyodide.wheels), jedi and ipython (the lock's).
KERNEL_LOADS = {"3": ["micropip", "sqlite3"], "4": ["micropip", "jedi", "ipython"]}

# What Pyodide 0.24.1's lock lists that no registry has. The product never ships these: a site
# with python_from: site serves the official archive, which has the real ones.
STAND_INS = {
    # Pyodide builds the standard library's sqlite3 (with its C extension) into its own
    # sqlite3-1.0.0.zip. The kernel installs it and IPython imports it at start; without it the
    # kernel dies. This has the names IPython 8.16 uses; connecting fails, so IPython keeps no
    # history (it catches the error), which no test needs.
    "sqlite3": {
        "sqlite3/__init__.py": '''"""A stand-in of sqlite3 made by the tests: no database."""

PARSE_DECLTYPES = 1
PARSE_COLNAMES = 2


class Error(Exception):
    pass


class DatabaseError(Error):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class Connection:
    pass


def connect(*args, **kwargs):
    raise OperationalError("sqlite3 is a stand-in in the template's tests")
''',
    },
}

# The Python the kernel runs in (pyodide-lock.json's "info"), to read wheels' markers as it does.
EMSCRIPTEN = {
    "sys_platform": "emscripten",
    "platform_system": "Emscripten",
    "platform_machine": "wasm32",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def distribution(jupyterlab: str = "3") -> tuple[Path, str]:
    """The archive of the Pyodide that this flavour's kernel runs (made once, cached) and its
    sha256."""
    version = stack_of(jupyterlab)["pyodide"]["version"]
    archive = FOLDER / f"pyodide-{version}-from-registries.tar.bz2"
    digest_file = archive.with_name(archive.name + ".sha256")
    with making(archive):
        if not digest_file.exists():
            _make(archive, jupyterlab)
            digest_file.write_text(_sha256(archive))
    return archive, digest_file.read_text()


def _make(archive: Path, jupyterlab: str):
    FOLDER.mkdir(parents=True, exist_ok=True)
    version = stack_of(jupyterlab)["pyodide"]["version"]
    with tempfile.TemporaryDirectory(dir=FOLDER) as scratch:
        scratch = Path(scratch)
        subprocess.run(
            ["npm", "pack", "--silent", f"pyodide@{version}"],
            cwd=scratch,
            check=True,
            capture_output=True,
        )
        (tarball,) = scratch.glob("pyodide-*.tgz")
        with tarfile.open(tarball) as npm_package:
            npm_package.extractall(scratch, filter="data")
        runtime = scratch / "package"
        lock = json.loads((runtime / "pyodide-lock.json").read_text())
        python = lock["info"]["python"]
        for name in sorted(loaded_through_the_lock(lock, jupyterlab)):
            entry = lock["packages"][name]
            target = runtime / entry["file_name"]
            if name in STAND_INS:
                target.write_bytes(_zip(STAND_INS[name]))
            else:
                shutil.copyfile(_from_pypi(name, entry["version"], python), target)
            entry["sha256"] = _sha256(target)
        (runtime / "pyodide-lock.json").write_text(json.dumps(lock))
        partial = archive.with_suffix(".part")
        with tarfile.open(partial, "w:bz2") as made:
            made.add(runtime, arcname="pyodide")
        partial.replace(archive)


def loaded_through_the_lock(lock, jupyterlab: str) -> set[str]:
    """The lock's packages (its keys) the kernel loads: KERNEL_LOADS, what the stack's wheels
    require that the lock has, and what those depend on. A requirement that neither the lock nor
    the stack's wheels satisfy is an error: the site would fetch it from PyPI at run time."""
    # the lock's keys and its `depends` spell names differently (prompt-toolkit, prompt_toolkit)
    packages = {canonicalize_name(name): name for name in lock["packages"]}
    environment = {**default_environment(), **EMSCRIPTEN}
    python = lock["info"]["python"]
    environment.update(python_full_version=python, python_version=python.rsplit(".", 1)[0])
    pyodide = stack_of(jupyterlab)["pyodide"]
    pinned = {canonicalize_name(Requirement(pin).name): pin for pin in pyodide["wheels"]}
    wanted, seen = [*KERNEL_LOADS[jupyterlab]], set()
    for pin in pinned.values():
        requirement = Requirement(pin)
        (version,) = (spec.version for spec in requirement.specifier)
        metadata = _metadata(_from_pypi(requirement.name, version, python))
        for line in metadata.get_all("Requires-Dist") or []:
            needed = Requirement(line)
            if needed.marker and not needed.marker.evaluate({**environment, "extra": ""}):
                continue
            name = canonicalize_name(needed.name)
            if name in packages:
                wanted.append(name)
            elif name not in pinned:
                raise LookupError(
                    f"{pin} needs {needed}, which neither Pyodide {pyodide['version']}'s lock"
                    " nor copier.yml's stack.pyodide.wheels has: add a pin there"
                )
    while wanted:
        name = packages[canonicalize_name(wanted.pop())]
        if name not in seen:
            seen.add(name)
            wanted += lock["packages"][name]["depends"]
    return seen


def _from_pypi(name, version, python) -> Path:
    """PyPI's wheel of name==version (pure Python) for that Python (X.Y.Z), downloaded once."""
    project = "[-_.]".join(map(re.escape, canonicalize_name(name).split("-")))
    pattern = re.compile(rf"{project}-{re.escape(version)}-.*\.whl", re.IGNORECASE)
    found = [path for path in WHEELS.glob("*.whl") if pattern.fullmatch(path.name)]
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                python.rsplit(".", 1)[0],
                "--dest",
                WHEELS,
                f"{name}=={version}",
            ],
            check=True,
        )
        found = [path for path in WHEELS.glob("*.whl") if pattern.fullmatch(path.name)]
    (wheel,) = found
    return wheel


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode())


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
