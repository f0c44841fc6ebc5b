"""A class opening one document together, and rooms as large as this machine holds.

Renders the default site, runs its own `python preview.py` and drives real browsers, as the
collaboration tests do (in a private network namespace when root on Linux):

- burst: N people (one Chromium process each) open the same document within 100 ms, in a
  fresh room, over several trials: how many opens showed it empty or doubled (target 0), how
  many browsers saved a wrong copy, and the time until everyone shows it;
- alone: time from opening a document to its content, alone in a room and with the
  signaling server unreachable (target <= 1.5 s);
- room: one edit reaching everyone in a room of M people (browser contexts spread over the
  Chromium processes; contexts have separate storage and BroadcastChannels): p95;
- size: what the site's own extension adds to the built site (target <= 300 KB).

    .venv/bin/python benchmarks/classroom.py [--people 6] [--trials 5] [--room 8 12]
        [--jupyterlab 4]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # for tests/support
from playwright.sync_api import sync_playwright
from support.browsers import MESH_TIMEOUT_MS, Peer, lab_url, launch_peer
from support.flavours import PAGES
from support.lab4_pages import PEERS_JS, SHARED_MODEL_JS
from support.previews import default_site_preview, preview
from support.sites import DEFAULT_JUPYTERLAB, JUPYTERLABS, stack_of

DOCUMENTS = ("welcome.ipynb", "collaborate.md")
# What a page shows of the open document, as JSON: the cells' sources, or the text. JupyterLab
# 3: its CodeMirror 5 editors; 4: the shared model, which its editors show (lab4_pages.py).
SHOWN = {
    "3": """() => {
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell .CodeMirror')];
    if (cells.length) return JSON.stringify(cells.map(c => c.CodeMirror.getValue()));
    const editor = document.querySelector('.jp-FileEditor .CodeMirror');
    return editor ? JSON.stringify(editor.CodeMirror.getValue()) : null;
}""",
    "4": f"""() => {{
    const model = {SHARED_MODEL_JS};
    if (!model) return null;
    return JSON.stringify(model.cells ? model.cells.map(c => c.getSource()) : model.getSource());
}}""",
}
# Stamp the first moment the page shows `expected`.
WATCH = """([shown, expected]) => {
    window.__shownAt = null;
    const timer = setInterval(() => {
        if (eval(shown)() === expected) { window.__shownAt = Date.now(); clearInterval(timer); }
    }, 10);
}"""
STORED = """path => window.jupyterapp.serviceManager.contents.get(path, {content: true})
    .then(m => typeof m.content === 'string' ? JSON.stringify(m.content)
        : JSON.stringify(m.content.cells.map(
            c => Array.isArray(c.source) ? c.source.join('') : c.source)))"""


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def expected_of(site, document):
    path = site / "content" / document
    if document.endswith(".ipynb"):
        cells = json.loads(path.read_text())["cells"]
        return json.dumps(
            [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in cells],
            separators=(",", ":"),
            ensure_ascii=False,
        )
    return json.dumps(path.read_text(), ensure_ascii=False)


def js_json(page, value):
    """`value` (a JSON text) as the page's JSON.stringify writes it."""
    return page.page.evaluate("v => JSON.stringify(JSON.parse(v))", value)


def burst(jupyterlab, browsers, site_url, document, expected, people):
    """One trial: (empty or doubled opens, wrong saved copies, seconds until all show it)."""
    room = f"burst-{time.monotonic_ns()}"
    users = [Peer(browser, f"p{i}") for i, browser in enumerate(browsers[:people])]
    pages = [
        user.open(lab_url(site_url, room=room, username=user.name), PAGES[jupyterlab])
        for user in users
    ]
    for page in pages:
        page.wait_for_file(document)
    want = js_json(pages[0], expected)
    for page in pages:
        page.page.evaluate(WATCH, [SHOWN[jupyterlab], want])
    at = pages[0].now() + 1500
    for i, page in enumerate(pages):
        page.open_at(document, at + 100 * i // people)
    deadline = time.monotonic() + MESH_TIMEOUT_MS / 1000 + 2
    while time.monotonic() < deadline and not all(
        page.page.evaluate("window.__shownAt") for page in pages
    ):
        time.sleep(0.2)
    stamps = [page.page.evaluate("window.__shownAt") for page in pages]
    wrong_shown = sum(page.page.evaluate(SHOWN[jupyterlab]) != want for page in pages)
    wrong_saved = sum(page.page.evaluate(STORED, document) != want for page in pages)
    for user in users:
        user.close_pages()
    seconds = (max(stamps) - at) / 1000 if all(stamps) else float("inf")
    return wrong_shown, wrong_saved, seconds


def alone(jupyterlab, browser, site_url, document, expected):
    """Seconds from opening the document to its content, alone in a fresh room."""
    user = Peer(browser, "alone")
    url = lab_url(site_url, room=f"alone-{time.monotonic_ns()}", username="alone")
    page = user.open(url, PAGES[jupyterlab])
    page.wait_for_file(document)
    page.page.evaluate(WATCH, [SHOWN[jupyterlab], js_json(page, expected)])
    at = page.now() + 200
    page.open_at(document, at)
    page.page.wait_for_function("() => window.__shownAt", timeout=MESH_TIMEOUT_MS)
    seconds = (page.page.evaluate("window.__shownAt") - at) / 1000
    user.close_pages()
    return seconds


def report_bursts(jupyterlab, browsers, site_url, site, document, trials):
    expected = expected_of(site, document)
    results = [
        burst(jupyterlab, browsers, site_url, document, expected, len(browsers))
        for _ in range(trials)
    ]
    opens = len(browsers) * trials
    seconds = [s for _, _, s in results]
    print(
        f"burst, {document:15} {len(browsers)} people x {trials} trials: "
        f"empty or doubled {sum(r[0] for r in results)}/{opens}, "
        f"wrong saved copies {sum(r[1] for r in results)}/{opens}, "
        f"all show it after median {statistics.median(seconds):.1f} s (max {max(seconds):.1f} s)"
    )


def report_alone(jupyterlab, label, browser, site_url, site):
    for document in DOCUMENTS:
        expected = expected_of(site, document)
        seconds = [alone(jupyterlab, browser, site_url, document, expected) for _ in range(3)]
        print(f"alone, {label:14} {document:15} median {statistics.median(seconds):.2f} s of 3")


# The open text file's editor, as {text(), append(mark)} (see benchmarks/collaboration.py).
TEXT_EDITOR = {
    "3": """(cm => ({text: () => cm.getValue(),
        append: m => cm.replaceRange(m, {line: cm.lastLine()})}))(
        document.querySelector('.jp-FileEditor .CodeMirror').CodeMirror)""",
    "4": """(view => ({text: () => view.state.doc.toString(),
        append: m => view.dispatch({changes: {from: view.state.doc.length, insert: m}})}))(
        window.jupyterapp.shell.currentWidget.content.editor.editor)""",
}
# The page shares its document with someone (JupyterLab 3: its status bar says so).
HAS_PEERS = {
    "3": """() => !!document.querySelector(
        '[title^="Sharing with "]:not([title^="Sharing with 0 "])')""",
    "4": f"() => ({PEERS_JS})() > 0",
}
EDIT = """([editor, mark]) => {
    const started = Date.now();
    eval(editor).append(mark);
    return started;
}"""
SEEN = """([editor, mark]) => {
    window.__seen = null;
    const timer = setInterval(() => {
        if (eval(editor).text().includes(mark)) {
            window.__seen = Date.now();
            clearInterval(timer);
        }
    }, 5);
}"""


def room_convergence(jupyterlab, browsers, site_url, size, edits, document="collaborate.md"):
    """ms from an edit to the moment the LAST of `size` people shows it, per edit."""
    room = f"room-{size}-{time.monotonic_ns()}"
    users = [Peer(browsers[i % len(browsers)], f"r{i}") for i in range(size)]
    pages = []
    for user in users:
        page = user.open(lab_url(site_url, room=room, username=user.name), PAGES[jupyterlab])
        page.open_from_file_browser(document)
        page.wait_for_text_editor()
        pages.append(page)
    # Every page connected to someone: updates hop on (y-webrtc re-broadcasts what it gets),
    # so a room needs no full mesh, which a dozen browsers on 2 cores may take minutes to form.
    for page in pages:
        page.page.wait_for_function(HAS_PEERS[jupyterlab], timeout=MESH_TIMEOUT_MS)
    times = []
    for n in range(edits):
        mark = f"edit{n}x{time.monotonic_ns()}"
        for page in pages[1:]:
            page.page.evaluate(SEEN, [TEXT_EDITOR[jupyterlab], mark])
        started = pages[0].page.evaluate(EDIT, [TEXT_EDITOR[jupyterlab], mark])
        for page in pages[1:]:
            page.page.wait_for_function("() => window.__seen", timeout=30_000)
        times.append(max(page.page.evaluate("window.__seen") for page in pages[1:]) - started)
    for user in users:
        user.close_pages()
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=6, help="browser processes in a burst")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--room", type=int, nargs="*", default=[8, 12], help="room sizes")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument(
        "--jupyterlab", choices=JUPYTERLABS, default=DEFAULT_JUPYTERLAB, help="the flavour"
    )
    args = parser.parse_args()
    flavour = args.jupyterlab
    with default_site_preview(jupyterlab=flavour) as (network, site, site_url, python):
        extension = site / "_output" / "extensions" / stack_of(flavour)["extension"]
        size = sum(p.stat().st_size for p in extension.rglob("*") if p.is_file())
        print(f"jupyterlab {flavour}: the site's own extension adds {size / 1024:.0f} KB")
        total = sum(p.stat().st_size for p in (site / "_output").rglob("*") if p.is_file())
        print(f"jupyterlab {flavour}: the built site is {total / 1e6:.1f} MB")
        with sync_playwright() as playwright:
            browsers = [launch_peer(playwright, network) for _ in range(args.people)]
            for document in DOCUMENTS if args.trials else ():
                report_bursts(flavour, browsers, site_url, site, document, args.trials)
            report_alone(flavour, "signaling up", browsers[0], site_url, site)
            for size in args.room:
                ms = room_convergence(flavour, browsers, site_url, size, args.edits)
                print(
                    f"room of {size:2} ({len(browsers)} processes): edit reaches the last peer "
                    f"median {statistics.median(ms):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms"
                )
            # the same built site, pointed at a signaling server that is not there
            dead = ["--signaling-url", f"ws://{network.host}:{network.free_port()}", "--no-build"]
            with preview(network, python, site, network.free_port(), *dead) as (dead_url, _):
                report_alone(flavour, "signaling down", browsers[0], dead_url, site)
            for browser in browsers:
                browser.close()


if __name__ == "__main__":
    main()
