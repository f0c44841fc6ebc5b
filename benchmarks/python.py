"""Python in the browser with the site's own Python (python_from: site).

Renders a site with python_from: site, builds it as its Pages workflow does (with the tests'
Pyodide distribution, made from npm and PyPI: tests/pyodide_distribution.py), serves it with
its own `python preview.py --no-build` and drives Chromium (in a private network namespace when
root on Linux; every request to another host is refused):

- cold: page open to the first output of `1+1` (the notebook opened from the file browser and
  run as soon as it has a kernel), in a fresh
  browser profile (empty cache), median of N;
- warm: the same in a profile that already loaded the site and its Python once;
- where the time goes: when the page has the notebook, when Pyodide's runtime is up (its first
  package load), when the kernel has installed its wheels, the output;
- size: what python_from: site adds to the built site (static/pyodide/ and pypi/).

    .venv/bin/python benchmarks/python.py [--runs 5] [--jupyterlab 4]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright
from support.browsers import launch_peer
from support.networks import private_network
from support.previews import preview
from support.python_sites import site_with_its_own_python
from support.sites import DEFAULT_JUPYTERLAB, JUPYTERLABS, build_env, render

NOTEBOOK = "one-plus-one.ipynb"
OUTPUT_TIMEOUT_MS = 300_000
FIRST_OUTPUT_JS = """() => {
    const widget = window.jupyterapp?.shell.currentWidget;
    const outputs = widget?.content?.model?.cells.get(0).outputs;
    return outputs && outputs.length ? outputs.get(0).data['text/plain'] : null;
}"""


def one_plus_one():
    cell = {
        "id": "add",
        "cell_type": "code",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": "1+1",
    }
    kernelspec = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": kernelspec},
        "cells": [cell],
    }


def size_of(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def first_output(context, url):
    """Seconds from opening the page to: the notebook, Pyodide up, wheels in, `2` shown."""
    page = context.new_page()
    marks = {}
    start = time.monotonic()

    logged = []

    def on_console(message):
        text = message.text
        logged.append(text)
        if text.startswith("Loading micropip"):
            marks.setdefault("pyodide runtime up", time.monotonic() - start)
        elif text.startswith("Loaded"):
            marks["last package loaded"] = time.monotonic() - start

    page.on("console", on_console)
    page.goto(url)
    # opened from the file browser, as a person does (it makes the notebook the current widget)
    page.locator(".jp-DirListing-item", has_text=NOTEBOOK).dblclick(timeout=120_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=120_000)
    marks["notebook shown"] = time.monotonic() - start
    # JupyterLab 3.5 drops a run asked for before the notebook's session has a kernel
    page.wait_for_function(
        "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel"
    )
    page.evaluate("""() => {
        window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0;
        return window.jupyterapp.commands.execute('notebook:run-cell');
    }""")
    try:
        page.wait_for_function(f"() => ({FIRST_OUTPUT_JS})() === '2'", timeout=OUTPUT_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        sys.exit(f"no output of 1+1; dialogs: {dialogs}; the page logged: {logged[-15:]}")
    marks["first output"] = time.monotonic() - start
    page.close()
    return marks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--jupyterlab", choices=JUPYTERLABS, default=DEFAULT_JUPYTERLAB, help="the flavour"
    )
    arguments = parser.parse_args()
    runs = arguments.runs
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        scratch = Path(scratch)
        site = render(scratch / "site", python_from="site", jupyterlab=arguments.jupyterlab)
        (site / "content" / NOTEBOOK).write_text(json.dumps(one_plus_one()))
        started = time.monotonic()
        output = site_with_its_own_python(site, scratch)
        build_seconds = time.monotonic() - started
        added = size_of(output / "static" / "pyodide") + size_of(output / "pypi")
        whole = size_of(output)
        python = build_env(site) / "bin" / "python"
        with private_network(scratch, playwright) as network:
            port = network.free_port()
            options = ["--signaling-port", network.free_port(), "--no-build"]
            with preview(network, python, site, port, *options):
                # by the network's name for sites: a secure context, as the published https site
                # is (its service worker needs one); preview.py's own signaling server admits
                # only its address, so the page has no peers, which Python does not need
                site_url = network.site_url(port)
                url = f"{site_url}/lab/index.html?username=bench"  # no "Your name" dialog
                browser = launch_peer(playwright, network)

                def profile():
                    context = browser.new_context()
                    context.route(  # network requests off the site fail (not blob: or data:)
                        lambda address: (
                            address.startswith("http") and not address.startswith(site_url)
                        ),
                        lambda route: route.abort(),
                    )
                    return context

                cold = [first_output(profile(), url) for _ in range(runs)]
                warm_profile = profile()
                first_output(warm_profile, url)
                warm = [first_output(warm_profile, url) for _ in range(runs)]
                browser.close()
    print(
        f"jupyterlab={arguments.jupyterlab}, python_from: site, {runs} runs each,"
        " medians (seconds from page open):"
    )
    for name, results in (("cold cache", cold), ("warm cache", warm)):
        phases = {
            mark: statistics.median(r[mark] for r in results if mark in r) for mark in results[0]
        }
        print(f"  {name}: " + ", ".join(f"{mark} {value:.1f}" for mark, value in phases.items()))
        print(f"    first output, every run: {[round(r['first output'], 1) for r in results]}")
    print(f"size added to the site: {added / 1e6:.1f} MB (static/pyodide/ and pypi/)")
    print(f"the whole built site: {whole / 1e6:.1f} MB")
    print(f"the workflow's Python step and build, local archive: {build_seconds:.1f} s")


if __name__ == "__main__":
    main()
