"""Real browsers for collaboration tests: one Chromium process per peer (in a network of
networks.py), the site's pages as its people see them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .sites import STACK

if TYPE_CHECKING:
    from .networks import Network

# Chromium's headless shell (Debian's chromium-headless-shell; Playwright's own default for
# headless): a JupyterLab 4 page starts on about a fifth less CPU than in the whole browser
# (two at once: 9.0-9.5 CPU-s instead of 9.9-12.1). The whole browser, if that is what is here.
SYSTEM_CHROMIUMS = (Path("/usr/bin/chromium-headless-shell"), Path("/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Otherwise candidates carry .local names that nothing in the namespace resolves.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
# Run in every page of a test's browsers (conftest.prepare_context): JupyterLab 4's editor
# (CodeMirror 6) blinks its caret by a CSS animation, which keeps headless Chromium painting:
# an idle page with an open text file cost 1.4 CPU-s per 20 s, 0.4 with a caret that stays
# lit. No test looks at the caret.
STILL_CARETS = """addEventListener("DOMContentLoaded", () => {
    const style = document.createElement("style");
    style.textContent = ".cm-cursorLayer { animation: none !important; }";
    document.head.append(style);
});"""
APP_TIMEOUT_MS = 60_000  # first load of JupyterLab on a busy 2-core machine
SYNC_TIMEOUT_MS = 15_000
MESH_TIMEOUT_MS = 60_000  # four peers pairing up two by two, on a busy 2-core machine
# What the page shows (a dialog, a tab's state) may take longer than Playwright's 5 s on a
# busy 2-core machine (more so with `-n 2`).
expect.set_options(timeout=SYNC_TIMEOUT_MS)


def chromium_path(playwright: Playwright | None = None):
    """The Chromium to drive: the system's (SYSTEM_CHROMIUMS), else Playwright's own; missing is
    a failure.

    Pass the running Playwright if there is one: a second one cannot start beside it.
    """
    for system in SYSTEM_CHROMIUMS:
        if system.is_file():
            return system
    if playwright is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as running:
            return chromium_path(running)
    bundled = Path(playwright.chromium.executable_path)
    if bundled.is_file():
        return bundled
    pytest.fail(
        "no Chromium: apt-get install chromium-headless-shell (or chromium) "
        "or run `playwright install chromium`"
    )


def launch_local(playwright: Playwright) -> Browser:
    """A browser on this machine's own network (loopback), for tests that need no peers."""
    return playwright.chromium.launch(
        executable_path=str(chromium_path(playwright)), headless=True, args=CHROMIUM_FLAGS
    )


def launch_peer(playwright: Playwright, network: Network) -> Browser:
    """A browser process of its own: peers in one browser would sync through BroadcastChannel.
    It reaches the network's sites by their name (network.site_url)."""
    name = network.sites_host
    sites = [f"--host-resolver-rules=MAP {name} {network.sites_at}"] if name != network.host else []
    return playwright.chromium.launch(
        executable_path=str(network.chromium), headless=True, args=[*CHROMIUM_FLAGS, *sites]
    )


def lab_url(site_url, *, room, username, path=None):
    """JupyterLab of the site; with `path`, that document opens (then the address drops `path`).
    `username` None: a link that names nobody (the page asks for a name unless one is saved)."""
    query = {"path": path} if path else {}
    name = {"username": username} if username is not None else {}
    return f"{site_url}/lab/index.html?{urlencode({**query, 'room': room, **name})}"


def retro_url(site_url, path, *, room, username):
    """RetroLab's page for one document: the notebook page, or the editor for other files."""
    page = "notebooks" if path.endswith(".ipynb") else "edit"
    query = urlencode({"path": path, "room": room, "username": username})
    return f"{site_url}/retro/{page}/index.html?{query}"


# where the sites' Python comes from when they do not serve their own (python_from: cdn)
PYTHON_CDN_HOST = urlsplit(STACK["pyodide"]["cdn"]).hostname


def answer_python_cdn_checks(page):
    """Tests of collaboration, not of Python: the page's check that the CDN's Python can be
    reached (extension/common/python-start.ts, a HEAD request) is answered as a reachable CDN
    would answer it, so that no "Python cannot start" dialog, which is for networks that block
    the CDN, comes in the middle of their typing. Python itself still cannot load here;
    tests/test_runs_python.py runs it. Answered through CDP, for the CDN's address alone: a
    Playwright route would pass every request of the page through this process (two pages
    starting at once: about 1 CPU-s more on 2 cores)."""
    cdp = page.context.new_cdp_session(page)

    def answer(event):
        reply = {"requestId": event["requestId"]}
        if event["request"]["method"] == "HEAD":
            cors = [{"name": "Access-Control-Allow-Origin", "value": "*"}]  # as the CDN's
            cdp.send(
                "Fetch.fulfillRequest", {**reply, "responseCode": 200, "responseHeaders": cors}
            )
        else:
            cdp.send("Fetch.failRequest", {**reply, "errorReason": "Failed"})

    cdp.on("Fetch.requestPaused", answer)
    cdp.send("Fetch.enable", {"patterns": [{"urlPattern": f"https://{PYTHON_CDN_HOST}/*"}]})


class Peer:
    """One user: a browser process of their own, a fresh profile (context) per page."""

    def __init__(self, browser: Browser, name):
        self.browser = browser
        self.name = name
        self._contexts = []
        self.blocked = []  # what pages opened with `only_host` asked elsewhere (and did not get)

    def open(self, url, page_class=None, *, only_host=None):
        """A page in a fresh profile; `page_class`: what it is (LitePage, a JupyterLab 3.5 page,
        unless told); with `only_host`, every request to another host fails (a page that
        silently falls back to a CDN fails)."""
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        self._contexts.append(context)
        if only_host:
            context.route(
                lambda url: (
                    urlsplit(url).scheme in ("http", "https")
                    and urlsplit(url).hostname != only_host
                ),
                lambda route: self.blocked.append(route.request.url) or route.abort(),
            )
        self._answers_cdn_checks = not only_host
        return self.open_another_tab(url, page_class)

    def open_another_tab(self, url, page_class=None):
        """A page beside the last one opened: same profile, same browser storage."""
        page = self._contexts[-1].new_page()
        if self._answers_cdn_checks:
            answer_python_cdn_checks(page)
        page.set_default_timeout(APP_TIMEOUT_MS)
        page.goto(url)
        return (page_class or LitePage)(page)

    def close_pages(self):
        for context in self._contexts:
            context.close()
        self._contexts.clear()


# CodeMirror 5 keeps its editor object on the `.CodeMirror` element.
CELL_SOURCES_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
    .map(cell => cell.querySelector('.CodeMirror').CodeMirror.getValue())"""
EDITOR_TEXT_JS = "() => document.querySelector('.jp-FileEditor .CodeMirror').CodeMirror.getValue()"
PEOPLE_HERE_JS = """() => [...document.querySelectorAll(
    '.jp-Document:not(.lm-mod-hidden) .jp-webrtc-safe-load-person')]
    .map(person => person.dataset.name).sort()"""
# For failure reports: what the current document's provider (extension/src/provider.ts) knows.
PROVIDER_STATE_JS = """() => {
    const provider = window.jupyterapp.shell.currentWidget?.context?._provider;
    const room = provider?._webrtc?.room;
    if (!room) return null;
    return {
        gateOpen: provider._gateOpen, subscribers: provider._subscribers, peerId: room.peerId,
        conns: [...room.webrtcConns].map(([id, c]) =>
            `${id.slice(0, 8)}:${c.connected ? 'connected' : 'not connected'}`
            + `${c.synced ? ',synced' : ''}${c.closed ? ',closed' : ''}`),
        wireState: [...(provider._wire?.store.clients ?? [])].map(([id, s]) => `${id}:${s.length}`),
        shownState: [...(provider._ydoc?.store.clients ?? [])]
            .map(([id, s]) => `${id}:${s.length}`),
    };
}"""


class LitePage:
    """A JupyterLite 0.1 page (JupyterLab 3.5 or RetroLab 0.3) showing one shared document."""

    EDITOR_INPUT = ".CodeMirror textarea"  # what takes a cell editor's typing (CodeMirror 5)
    # The y-webrtc peer connections of the open document's room (extension/src/provider.ts).
    CONNECTIONS_JS = """() => window.jupyterapp.shell.currentWidget.context._provider
        ._webrtc.room.webrtcConns.values()"""
    # RetroLab asks for a kernel when the notebook came from a peer (its kernelspec had not
    # arrived yet); a user answers "No Kernel", and collaboration needs no kernel.
    ANSWERS_SELECT_KERNEL = True

    def __init__(self, page: Page):
        self.page = page
        self.console = []  # what the page logged, for failure reports
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error.stack}"))
        if self.ANSWERS_SELECT_KERNEL:
            page.add_locator_handler(
                page.locator(".jp-Dialog", has_text="Select Kernel"),
                lambda dialog: dialog.get_by_role("button", name="No Kernel").click(),
            )

    # -- sharing status: "Sharing with N peers in ROOM as USER" (lab status bar, retro toolbar)
    def wait_for_peers(self, count, timeout=SYNC_TIMEOUT_MS):
        expect(
            self.page.locator(f'[title^="Sharing with {count} peers in "]').first
        ).to_be_attached(timeout=timeout)

    def sharing_status(self):
        return self.page.locator('[title^="Sharing with "]').first.get_attribute("title")

    def peer_count(self):
        """How many others the page shares the document with now."""
        return int(self.sharing_status().split()[2])

    def open_from_file_browser(self, name):
        """Open a document the way a user does: double-click it in the file browser."""
        self.page.locator(".jp-DirListing-item", has_text=name).dblclick()

    def wait_for_connections(self, count, timeout=SYNC_TIMEOUT_MS):
        """Wait until the document's room has `count` open peer connections."""
        read = f"() => [...({self.CONNECTIONS_JS})()].filter(conn => conn.connected).length"
        self._wait_until_equal(read, count, timeout)

    def wait_for_synced_connections(self, count, timeout=SYNC_TIMEOUT_MS):
        """Wait until `count` of the room's peer connections are open and say `synced` (each
        has received the other peer's document: extension/common/connections.ts)."""
        read = f"""() => [...({self.CONNECTIONS_JS})()]
            .filter(conn => conn.connected && conn.synced).length"""
        self._wait_until_equal(read, count, timeout)

    def dialogs(self):
        return self.page.locator(".jp-Dialog").all_inner_texts()

    def wait_for_dialog(self, text):
        """Wait for a dialog, which may come while the app starts."""
        expect(self.page.locator(".jp-Dialog", has_text=text)).to_be_visible(timeout=APP_TIMEOUT_MS)

    def selected_candidate_types(self):
        """[local, remote] ICE candidate types of each peer connection's selected pair, e.g.
        ["relay", "relay"] when a TURN server relays (see extension/src/provider.ts)."""
        return self.page.evaluate(
            f"""async () => {{
                const types = [];
                for (const conn of ({self.CONNECTIONS_JS})()) {{
                    const stats = await conn.peer._pc.getStats();
                    for (const report of stats.values()) {{
                        if (report.type === 'transport' && report.selectedCandidatePairId) {{
                            const pair = stats.get(report.selectedCandidatePairId);
                            types.push([stats.get(pair.localCandidateId).candidateType,
                                        stats.get(pair.remoteCandidateId).candidateType]);
                        }}
                    }}
                }}
                return types;
            }}"""
        )

    # -- the extension's "Share this room" dialog (status bar button "Share")
    def share_link(self):
        """The link the Share dialog shows (and its Copy button copies); closes the dialog."""
        self.page.locator(".jp-webrtc-safe-load-share-button").click()
        link = self.page.get_by_label("Link to this room").input_value()
        self.page.locator(".jp-Dialog").get_by_role("button", name="Close").click()
        return link

    def start_private_room(self):
        """Share → New private room: the page loads the site again, in that room."""
        self.page.locator(".jp-webrtc-safe-load-share-button").click()
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="New private room").click()

    # -- the extension's "Your name" dialog: asked once when neither link nor browser has one
    def give_name(self, name):
        """Answer the "Your name" dialog (typed, then Enter) and wait until it is gone."""
        dialog = self.page.locator(".jp-Dialog", has_text="Your name")
        dialog.get_by_label("Your name").fill(name)
        dialog.get_by_label("Your name").press("Enter")
        expect(dialog).to_have_count(0)

    def change_name(self, name):
        """File → Change your name…, then give it."""
        self.page.get_by_role("menuitem", name="File").click()
        self.page.get_by_role("menuitem", name="Change your name…").click()
        self.give_name(name)

    # -- the extension's "who is here" item of the document toolbar
    def wait_for_people_here(self, names, timeout=SYNC_TIMEOUT_MS):
        """Wait until the open document's toolbar lists exactly these names."""
        self._wait_until_equal(PEOPLE_HERE_JS, sorted(names), timeout)

    def people_here(self):
        """The names the open document's toolbar lists, sorted."""
        return self.page.evaluate(PEOPLE_HERE_JS)

    def leave(self):
        """Close the page as a person closes the tab (the page says goodbye to the room)."""
        self.page.close(run_before_unload=True)

    def dismiss_dialog(self):
        """Click the dialog's default button, its last: OK, Dismiss, or Close (JupyterLab 4's
        error messages)."""
        self.page.locator(".jp-Dialog .jp-Dialog-footer button").last.click()
        expect(self.page.locator(".jp-Dialog")).to_have_count(0)

    def go_to(self, url):
        """Load another address in this page: a new page load, same browser storage."""
        self.page.goto(url)

    def reopen(self, url, name):
        """Load `url` in this page again and show the document `name` again, as a person does:
        from the file browser (JupyterLite 0.1 reopens nothing by itself)."""
        self.go_to(url)
        self.open_from_file_browser(name)
        self.wait_for_document(name)

    def wait_for_document(self, name):
        if name.endswith(".ipynb"):
            self.wait_for_notebook()
        else:
            self.wait_for_text_editor()

    def press(self, key):
        self.page.keyboard.press(key)

    def wait_for_unsaved_tabs(self, count):
        """Wait until `count` document tabs are marked as modified (not saved)."""
        expect(self.page.locator(".lm-DockPanel-tabBar .jp-mod-dirty")).to_have_count(count)

    def wait_for_file(self, name):
        self.page.locator(".jp-DirListing-item", has_text=name).wait_for()

    def now(self):
        """The page's clock, in ms (every browser of a test runs on this machine's clock)."""
        return self.page.evaluate("Date.now()")

    def open_at(self, path, epoch_ms):
        """Open a document at a given moment of the page's clock, as the file browser does."""
        self.page.evaluate(
            """([path, at]) => setTimeout(
                () => window.jupyterapp.commands.execute('docmanager:open', {path}),
                at - Date.now())""",
            [path, epoch_ms],
        )

    def stored(self, path):
        """The document as this browser's storage holds it (its own copy, else the published)."""
        return self.page.evaluate(
            "path => window.jupyterapp.serviceManager.contents.get(path, {content: true})"
            ".then(m => m.content)",
            path,
        )

    def stored_names(self):
        return self.page.evaluate(
            "() => window.jupyterapp.serviceManager.contents.get('', {content: true})"
            ".then(m => m.content.map(item => item.name))"
        )

    # -- text files
    def wait_for_text_editor(self):
        self.page.locator(".jp-FileEditor .CodeMirror").wait_for(state="visible")

    def text(self):
        return self.page.evaluate(EDITOR_TEXT_JS)

    def wait_for_text(self, expected, timeout=SYNC_TIMEOUT_MS):
        self._wait_until_equal(EDITOR_TEXT_JS, expected, timeout)

    def type_at_end(self, text):
        """Type like a user: click into the editor, go to the end, type."""
        editor = self.page.locator(".jp-FileEditor .CodeMirror")
        editor.click()
        editor.press("Control+End")
        editor.locator("textarea").press_sequentially(text)

    def save(self):
        """Save with Ctrl-S and wait until the document tab is no longer marked as modified."""
        self.page.locator(".jp-FileEditor .CodeMirror textarea").press("Control+s")
        self.wait_for_unsaved_tabs(0)

    # -- notebooks
    def wait_for_notebook(self):
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible")

    def cell_sources(self):
        return self.page.evaluate(CELL_SOURCES_JS)

    def wait_for_cell_sources(self, expected, timeout=SYNC_TIMEOUT_MS):
        self._wait_until_equal(CELL_SOURCES_JS, expected, timeout)

    def cell_ids(self):
        """The ids of the open notebook's cells, as JupyterLab's model has them."""
        return self.page.evaluate(
            """() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
                return Array.from({length: cells.length}, (_, i) => cells.get(i).id); }"""
        )

    def add_output(self, index, output):
        """Add an output to cell `index` of the open notebook, as a kernel would."""
        self.page.evaluate(
            """([index, output]) => window.jupyterapp.shell.currentWidget.content.model
                .cells.get(index).outputs.add(output)""",
            [index, output],
        )

    def wait_for_output_data(self, index, mimetype, length, timeout=SYNC_TIMEOUT_MS):
        """Wait until cell `index` has an output whose `mimetype` data is `length` long."""
        self.page.wait_for_function(
            """([index, mimetype, length]) => {
                const outputs = window.jupyterapp.shell.currentWidget.content.model
                    .cells.get(index).outputs;
                const data = outputs.length ? outputs.get(0).data[mimetype] || '' : '';
                return data.length === length;
            }""",
            arg=[index, mimetype, length],
            timeout=timeout,
        )

    def set_cell_source(self, index, text):
        """Replace the source of cell `index` (a code cell) by typing into it."""
        editor = self.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".CodeMirror")
        editor.click()
        editor.press("Control+a")
        editor.locator("textarea").press_sequentially(text)

    def insert_cell_below(self, index, text):
        """Select cell `index`, insert a code cell below it (command-mode `b`) and type into it."""
        notebook = self.page.locator(".jp-Notebook")
        notebook.locator(".jp-Cell").nth(index).locator(".jp-InputPrompt").click()
        notebook.press("Escape")
        notebook.press("b")
        notebook.press("Enter")
        notebook.locator(".jp-Cell").nth(index + 1).locator(self.EDITOR_INPUT).press_sequentially(
            text
        )

    def _wait_until_equal(self, read_js, expected, timeout):
        try:
            self.page.wait_for_function(
                f"expected => JSON.stringify(({read_js})()) === JSON.stringify(expected)",
                arg=expected,
                timeout=timeout,
            )
        except PlaywrightTimeoutError:
            actual = self.page.evaluate(read_js)
            raise AssertionError(
                f"after {timeout} ms the page shows {actual!r}, expected {expected!r}; "
                f"{self.collaboration_state()}; dialogs: {self.dialogs()}; "
                f"it logged, last: {self.console[-8:]}"
            ) from None

    def collaboration_state(self):
        """What a failure report says of the page's room and its document's provider."""
        return f"{self.sharing_status()}; provider: {self.page.evaluate(PROVIDER_STATE_JS)}"
