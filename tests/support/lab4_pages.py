"""Pages of a JupyterLab 4 site (jupyterlab=4: JupyterLab 4.6, CodeMirror 6) for the browser
tests: what a person sees of one shared document and how they edit it. (browsers.LitePage does
the same for JupyterLab 3.5 pages.)"""

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from .browsers import SYNC_TIMEOUT_MS, LitePage, lab_url

# The document the page shows, through its shared model (the editors show exactly that).
SHARED_MODEL_JS = "window.jupyterapp.shell.currentWidget?.context?.model?.sharedModel"
TEXT_JS = f"() => {SHARED_MODEL_JS}?.getSource() ?? null"
CELL_SOURCES_JS = f"() => {SHARED_MODEL_JS}?.cells.map(cell => cell.getSource()) ?? null"
# others in the document's room: awareness states besides this page's own
PEERS_JS = f"() => ({SHARED_MODEL_JS}?.awareness.getStates().size ?? 1) - 1"
# For failure reports: what the document's provider (extension/lab4/src/provider.ts) knows.
PROVIDER_STATE_JS = """() => {
    const context = window.jupyterapp.shell.currentWidget?.context;
    const drive = window.jupyterapp.serviceManager.contents.defaultDrive;
    const rtc = drive?.contentProviderRegistry?.getProvider?.('rtc');
    const providers = rtc ? [...rtc.providers.values()] : [];
    return providers.map(p => ({
        room: p._webrtc?.roomName?.slice(0, 12), subscribers: p._subscribers,
        gateOpen: p._gate?.isOpen, conns: p._webrtc?.room ? p._webrtc.room.webrtcConns.size : null,
        path: context?.path }));
}"""


class Lab4Page:
    """A JupyterLab 4 page showing one shared document (wraps the browsers.LitePage it was
    opened as: its Playwright page and what it logged)."""

    def __init__(self, lite_page: LitePage):
        self.lite = lite_page
        self.page = lite_page.page

    def open_from_file_browser(self, name):
        self.page.locator(".jp-DirListing-item", has_text=name).dblclick()

    def wait_for_file(self, name):
        self.page.locator(".jp-DirListing-item", has_text=name).wait_for()

    def now(self):
        return self.page.evaluate("Date.now()")

    def open_at(self, path, epoch_ms):
        """Open a document at a given moment of the page's clock, as the file browser does."""
        self.page.evaluate(
            """([path, at]) => setTimeout(
                () => window.jupyterapp.commands.execute('docmanager:open', {path}),
                at - Date.now())""",
            [path, epoch_ms],
        )

    def dialogs(self):
        return self.page.locator(".jp-Dialog").all_inner_texts()

    def stored(self, path):
        """The document as this browser's storage holds it (its own copy, else the published)."""
        return self.page.evaluate(
            "path => window.jupyterapp.serviceManager.contents.get(path, {content: true})"
            ".then(m => m.content)",
            path,
        )

    def wait_for_peers(self, count, timeout=SYNC_TIMEOUT_MS):
        self._wait_until_equal(PEERS_JS, count, timeout)

    def wait_for_unsaved_tabs(self, count):
        """Wait until `count` document tabs are marked as modified (not saved)."""
        expect(self.page.locator(".lm-DockPanel-tabBar .jp-mod-dirty")).to_have_count(count)

    def save(self):
        """Save with Ctrl-S and wait until no document tab is marked as modified."""
        self.page.keyboard.press("Control+s")
        self.wait_for_unsaved_tabs(0)

    # -- text files
    def wait_for_text_editor(self):
        self.page.locator(".jp-FileEditor .cm-content").wait_for(state="visible")

    def text(self):
        return self.page.evaluate(TEXT_JS)

    def wait_for_text(self, expected, timeout=SYNC_TIMEOUT_MS):
        self._wait_until_equal(TEXT_JS, expected, timeout)

    def type_at_end(self, text):
        """Type like a user: click into the editor, go to the end, type."""
        editor = self.page.locator(".jp-FileEditor .cm-content")
        editor.click()
        editor.press("Control+End")
        editor.press_sequentially(text)

    # -- notebooks
    def wait_for_notebook(self):
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible")

    def cell_sources(self):
        return self.page.evaluate(CELL_SOURCES_JS)

    def wait_for_cell_sources(self, expected, timeout=SYNC_TIMEOUT_MS):
        self._wait_until_equal(CELL_SOURCES_JS, expected, timeout)

    def set_cell_source(self, index, text):
        """Replace the source of cell `index` by typing into it."""
        editor = self.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
        editor.click()
        editor.press("Control+a")
        editor.press_sequentially(text)

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
                f"providers: {self.page.evaluate(PROVIDER_STATE_JS)}; "
                f"dialogs: {self.dialogs()}; it logged, last: {self.lite.console[-8:]}"
            ) from None


def open_in_lab4(peer, site_url, name, room, fragment=""):
    """Open JupyterLab in the room, then the document from its file browser, as a user does."""
    page = Lab4Page(peer.open(lab_url(site_url, room=room, username=peer.name) + fragment))
    page.open_from_file_browser(name)
    if name.endswith(".ipynb"):
        page.wait_for_notebook()
    else:
        page.wait_for_text_editor()
    return page
