"""A site served as its owner previews it: `python preview.py` (it builds, then serves)."""

import contextlib
import importlib.util
import subprocess
import tempfile
from pathlib import Path

import pytest

from . import processes
from .networks import Network, private_network
from .sites import REPO_ROOT, build_env, render


def _preview_ready_marker():
    """What a site's preview.py prints once it serves (read from the template's preview.py)."""
    spec = importlib.util.spec_from_file_location("preview", REPO_ROOT / "template" / "preview.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.READY_MARKER


PREVIEW_READY = _preview_ready_marker()


@contextlib.contextmanager
def preview(network: Network, python, site: Path, port: int, *options):
    """`python preview.py` of a site (it builds, then serves) inside the network.

    Yields the site URL and what preview.py printed, once it says it is ready.
    """
    command = network.command(
        [python, site / "preview.py", "--host", network.host, "--port", port, *options]
    )
    with processes.running(command, stdout=subprocess.PIPE, text=True) as process:
        printed = []
        for line in process.stdout:
            printed.append(line)
            if PREVIEW_READY in line:
                break
        else:
            pytest.fail(f"preview.py exited with {process.wait()}:\n{''.join(printed)}")
        yield f"http://{network.host}:{port}", "".join(printed)


@contextlib.contextmanager
def default_site_preview(**answers):
    """The default site (with these answers changed), rendered, built and served by its own
    preview.py with its own signaling server, in a private network: yields (network, site,
    site URL, the site's python)."""
    with tempfile.TemporaryDirectory() as scratch, private_network(scratch) as network:
        site = render(Path(scratch) / "site", **answers)
        python = build_env(site) / "bin" / "python"
        options = ["--signaling-port", network.free_port()]
        with preview(network, python, site, network.free_port(), *options) as (site_url, _):
            yield network, site, site_url, python


def serve_preview(network, python, site, port, signaling_url, *options):
    """preview() of a site pointed at a signaling server, for a fixture to `yield from`: its URL
    by the network's name for sites (network.site_url: a secure context, as on https)."""
    with preview(network, python, site, port, "--signaling-url", signaling_url, *options):
        yield network.site_url(port)
