"""Keystroke-to-peer latency and time to "collaboration connected", in real browsers.

Renders the default site, runs its own `python preview.py` (build, signaling server, web
server) and drives one Chromium process per peer, as the collaboration tests do (in a private
network namespace when root on Linux). An edit is made in the first peer's editor; each other
peer stamps the moment its editor shows it. Both stamps are Date.now() of the same machine.

    .venv/bin/python benchmarks/collaboration.py [--edits 30] [--peers 2 4] [--jupyterlab 4]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # for tests/support
from playwright.sync_api import sync_playwright
from support.browsers import Peer, lab_url, launch_peer
from support.flavours import PAGES
from support.previews import default_site_preview
from support.sites import DEFAULT_JUPYTERLAB, JUPYTERLABS

# a mesh of 4 Chromium processes on 2 cores can take a while to connect
CONNECT_TIMEOUT_MS = 60_000
# The editor a person types in, by flavour, as {text(), append(mark)}: CodeMirror 5 in
# JupyterLab 3, CodeMirror 6 (JupyterLab's editor's `editor`, its EditorView) in JupyterLab 4.
CM5 = (
    "(cm => ({text: () => cm.getValue(), append: m => cm.replaceRange(m, {line: cm.lastLine()})}))"
)
CM6 = """(view => ({text: () => view.state.doc.toString(),
    append: m => view.dispatch({changes: {from: view.state.doc.length, insert: m}})}))"""
FIRST_CODE_CELL = (
    "window.jupyterapp.shell.currentWidget.content.widgets.find(c => c.model.type === 'code')"
)
EDITORS = {  # flavour -> document -> the editor
    "3": {
        "collaborate.md": CM5 + "(document.querySelector('.jp-FileEditor .CodeMirror').CodeMirror)",
        "welcome.ipynb": CM5 + f"({FIRST_CODE_CELL}.editor.editor)",
    },
    "4": {
        "collaborate.md": CM6 + "(window.jupyterapp.shell.currentWidget.content.editor.editor)",
        "welcome.ipynb": CM6 + f"({FIRST_CODE_CELL}.editor.editor)",
    },
}
# Stamp each mark when the peer's page first shows it; the editor is looked up on every DOM
# change, since a synced notebook may re-create its cells.
WATCH = """editor => {
    window.__seen = {};
    const stamp = () => {
        let text = '';
        try { text = eval(editor).text(); } catch { return; }
        for (const m of text.match(/mark[0-9]+x/g) || []) window.__seen[m] ??= Date.now();
    };
    new MutationObserver(stamp).observe(
        document.body, {subtree: true, childList: true, characterData: true});
}"""
EDIT = """([editor, mark]) => {
    const started = Date.now();
    eval(editor).append(mark);
    return started;
}"""


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def open_document(peer, site_url, room, document, page_class):
    page = peer.open(lab_url(site_url, room=room, username=peer.name), page_class)
    page.open_from_file_browser(document)
    return page


def measure(browsers, site_url, document, editor, peers, edits, page_class):
    """Latencies (ms) from an edit in peer 0 to its arrival in each other peer."""
    room = f"bench-{peers}-{document}-{time.monotonic_ns()}"
    users = [Peer(browser, f"peer{i}") for i, browser in enumerate(browsers[:peers])]
    pages = []
    for user in users:  # one at a time, each joining the ones already connected
        pages.append(open_document(user, site_url, room, document, page_class))
        pages[-1].page.wait_for_function(
            f"() => {{ try {{ return !!{editor} }} catch {{ return false }} }}"
        )
        pages[-1].wait_for_peers(len(pages) - 1, timeout=CONNECT_TIMEOUT_MS)
    for page in pages:
        page.wait_for_peers(peers - 1, timeout=CONNECT_TIMEOUT_MS)
    for page in pages[1:]:
        page.page.evaluate(WATCH, editor)
    latencies = []
    for n in range(edits):
        mark = f"mark{n}x"
        started = pages[0].page.evaluate(EDIT, [editor, mark])
        for page in pages[1:]:
            page.page.wait_for_function(f"() => window.__seen['{mark}']", timeout=15_000)
            latencies.append(page.page.evaluate(f"window.__seen['{mark}']") - started)
    for user in users:
        user.close_pages()
    return latencies


def time_to_connected(browsers, site_url, document, page_class):
    """Seconds from the second peer's page load to its seeing the first one."""
    room = f"bench-connect-{time.monotonic_ns()}"
    first, second = Peer(browsers[0], "first"), Peer(browsers[1], "second")
    open_document(first, site_url, room, document, page_class).wait_for_text_editor()
    started = time.perf_counter()
    page = open_document(second, site_url, room, document, page_class)
    page.wait_for_peers(1)
    seconds = time.perf_counter() - started
    first.close_pages()
    second.close_pages()
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--peers", type=int, nargs="+", default=[2, 4])
    parser.add_argument(
        "--jupyterlab", choices=JUPYTERLABS, default=DEFAULT_JUPYTERLAB, help="the flavour"
    )
    args = parser.parse_args()
    page_class = PAGES[args.jupyterlab]
    with (
        default_site_preview(jupyterlab=args.jupyterlab) as (network, _, site_url, _),
        sync_playwright() as playwright,
    ):
        browsers = [launch_peer(playwright, network) for _ in range(max(args.peers))]
        print(f"jupyterlab {args.jupyterlab}: {args.edits} edits per case; one Chromium per peer")
        for peers in args.peers:
            for document, editor in EDITORS[args.jupyterlab].items():
                ms = measure(browsers, site_url, document, editor, peers, args.edits, page_class)
                print(
                    f"{peers} peers, {document:15} median {statistics.median(ms):5.1f} ms"
                    f"  p95 {percentile(ms, 0.95):5.1f} ms  ({len(ms)} arrivals)"
                )
        seconds = [
            time_to_connected(browsers, site_url, "collaborate.md", page_class) for _ in range(3)
        ]
        print(
            "second peer, page load to seeing the first: "
            f"median {statistics.median(seconds):.2f} s of {len(seconds)}"
        )
        for browser in browsers:
            browser.close()


if __name__ == "__main__":
    main()
