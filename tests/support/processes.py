"""Servers under test as real subprocesses: free ports, readiness, clean shutdown."""

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence

LOOPBACK = "127.0.0.1"
STOP_TIMEOUT = 5.0  # seconds a process gets to exit after SIGTERM before it is killed
# Seconds a server process gets to start (or to refuse its settings and exit): a Python start
# with its imports took over 5 s at the busiest moment of a full run on 2 cores.
START_TIMEOUT = 15.0
# never route test traffic to a server under test through a proxy from the environment
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on host right now (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 10.0,
    *,
    process: subprocess.Popen | None = None,
) -> None:
    """Return once host:port accepts TCP connections.

    Raises TimeoutError after timeout seconds, or RuntimeError as soon as `process` (the
    server expected to open the port) has exited.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError as error:
            if process is not None and process.poll() is not None:
                raise RuntimeError(
                    f"{process.args!r} exited with code {process.returncode} "
                    f"before {host}:{port} accepted connections"
                ) from error
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{host}:{port} refused connections for {timeout} s") from error
        time.sleep(0.02)  # polling interval, not a wait for readiness


def wait_until(condition: Callable[[], object], timeout: float = 15.0) -> None:
    """Return once condition() is true; TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{condition.__doc__ or condition} did not happen in {timeout} s")
        time.sleep(0.1)  # polling interval


def stop(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> int:
    """Send SIGTERM, kill if the process outlives timeout; return its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@contextlib.contextmanager
def running(
    cmd: Sequence[str | os.PathLike],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    ready_port: int | None = None,
    ready_host: str = LOOPBACK,
    ready_timeout: float = START_TIMEOUT,
    **popen_kwargs,
) -> Iterator[subprocess.Popen]:
    """Run cmd for the duration of the with block and yield its Popen.

    env holds variables ADDED to the current environment. With ready_port, the block
    starts only once ready_host:ready_port accepts connections (an error if the process
    exits first). On exit the process gets SIGTERM, then SIGKILL after STOP_TIMEOUT
    seconds; only that process is signalled, not its children. Its output goes to the
    test's output unless popen_kwargs say otherwise (e.g. stderr=...).
    """
    full_env = {**os.environ, **env} if env is not None else None
    process = subprocess.Popen(
        [os.fspath(arg) for arg in cmd], env=full_env, cwd=cwd, **popen_kwargs
    )
    try:
        if ready_port is not None:
            wait_for_port(ready_host, ready_port, ready_timeout, process=process)
        yield process
    finally:
        stop(process)


def http_get(url: str, timeout: float = 5.0):
    """GET from a server under test, never through a proxy: the response, to use in a with."""
    return _NO_PROXY.open(url, timeout=timeout)
