"""The signaling servers under test: ours (template/signaling/server.py) and y-webrtc's
reference server (bin/server.js from npm), run as subprocesses."""

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import LOOPBACK, START_TIMEOUT, free_port, running
from .sites import REPO_ROOT

SERVER = REPO_ROOT / "template" / "signaling" / "server.py"  # runs the package next to it
# The npm reference server, for conformance; package.json pins it, scripts/setup installs it.
REFERENCE_SERVER = REPO_ROOT / "node_modules" / "y-webrtc" / "bin" / "server.js"

# Runs the server as if its optional speed-ups (uvloop, orjson) were not installed, as in a
# site's preview: `python -c HIDE_SPEEDUPS server.py ARGS...`
# (with, as `python server.py` has, the script's folder first on sys.path)
HIDE_SPEEDUPS = (
    "import os, runpy, sys; sys.modules['uvloop'] = sys.modules['orjson'] = None; "
    "sys.argv = sys.argv[1:]; sys.path[0] = os.path.dirname(sys.argv[0]); "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def require_reference_server() -> Path:
    """REFERENCE_SERVER, or a test failure that says how to install it."""
    if not REFERENCE_SERVER.is_file() or shutil.which("node") is None:
        pytest.fail(f"{REFERENCE_SERVER} or node is missing: run scripts/setup (it runs npm ci)")
    return REFERENCE_SERVER


def our_command(
    port: int, *flags: str, server: Path = SERVER, speedups: bool = True
) -> list[str | Path]:
    python = [sys.executable] if speedups else [sys.executable, "-c", HIDE_SPEEDUPS]
    return [*python, server, "--host", LOOPBACK, "--port", str(port), *flags]


@contextlib.contextmanager
def our_server(
    *flags: str, server: Path = SERVER, speedups: bool = True, **running_kwargs
) -> Iterator[str]:
    """Run our server on a free loopback port; yield its URL."""
    port = free_port()
    command = our_command(port, *flags, server=server, speedups=speedups)
    with running(command, ready_port=port, **running_kwargs):
        yield f"ws://{LOOPBACK}:{port}"


def server_help() -> str:
    """What `server.py --help` prints (it must succeed)."""
    result = subprocess.run(
        [sys.executable, SERVER, "--help"], capture_output=True, text=True, timeout=START_TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
