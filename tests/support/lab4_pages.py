"""Pages of a JupyterLab 4 site (jupyterlab=4: JupyterLab 4.6, CodeMirror 6) for the browser
tests: what a person sees of one shared document and how they edit it, where it differs from a
JupyterLab 3.5 page (browsers.LitePage)."""

from .browsers import SYNC_TIMEOUT_MS, LitePage

NAME_COMMAND = "jupyterlite-webrtc-lab4:name"  # extension/lab4/src/sharing.ts
# The document the page shows, through its shared model (the editors show exactly that).
SHARED_MODEL_JS = "window.jupyterapp.shell.currentWidget?.context?.model?.sharedModel"
TEXT_JS = f"() => {SHARED_MODEL_JS}?.getSource() ?? null"
CELL_SOURCES_JS = f"() => {SHARED_MODEL_JS}?.cells.map(cell => cell.getSource()) ?? null"
# others in the document's room: awareness states besides this page's own
PEERS_JS = f"() => ({SHARED_MODEL_JS}?.awareness.getStates().size ?? 1) - 1"
# The documents' providers (extension/lab4/src/provider.ts), through the `rtc` content provider.
PROVIDERS_JS = """(() => {
    const drive = window.jupyterapp.serviceManager.contents.defaultDrive;
    const rtc = drive?.contentProviderRegistry?.getProvider?.('rtc');
    return rtc ? [...rtc.providers.values()] : [];
})()"""
# For failure reports: what they know.
PROVIDER_STATE_JS = f"""() => {{
    return {PROVIDERS_JS}.map(p => ({{
        room: p._webrtc?.roomName?.slice(0, 12), subscribers: p._subscribers,
        gateOpen: p._gate?.isOpen,
        signaling: p._webrtc?.signalingConns.map(c => c.connected),
        conns: p._webrtc?.room ? [...p._webrtc.room.webrtcConns].map(([id, c]) =>
            `${{id.slice(0, 8)}}:${{c.connected ? 'connected' : 'not connected'}}`
            + `${{c.synced ? ',synced' : ''}}${{c.closed ? ',closed' : ''}}`) : null
    }}));
}}"""


class Lab4Page(LitePage):
    """A JupyterLab 4 page showing one shared document."""

    EDITOR_INPUT = ".cm-content"  # CodeMirror 6
    # A JupyterLab 4 page has the notebook's kernelspec from the room: "Select Kernel" is a bug.
    ANSWERS_SELECT_KERNEL = False
    CONNECTIONS_JS = f"""() => {PROVIDERS_JS}
        .flatMap(p => p._webrtc?.room ? [...p._webrtc.room.webrtcConns.values()] : [])"""

    def wait_for_peers(self, count, timeout=SYNC_TIMEOUT_MS):
        """Wait until the document's room has `count` others (its awareness, as the cursors)."""
        self._wait_until_equal(PEERS_JS, count, timeout)

    def peer_count(self):
        return self.page.evaluate(PEERS_JS)

    def reopen(self, url, name):
        """Load `url` in this page again and show the document `name` again, as a person does:
        JupyterLab 4 reopens by itself what was open (its workspace, in browser storage), and
        a dialog may come at once (a double-click in the file browser would wait behind it)."""
        self.go_to(url)
        self.wait_for_document(name)

    def change_name(self, name):
        """ "Change your name…" (JupyterLab 4 has it in the command palette), then give it."""
        # not awaited: the command resolves only when its dialog closes
        self.page.evaluate(f"() => {{ window.jupyterapp.commands.execute('{NAME_COMMAND}'); }}")
        self.give_name(name)

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

    def collaboration_state(self):
        return f"providers: {self.page.evaluate(PROVIDER_STATE_JS)}"
