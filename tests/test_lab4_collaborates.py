"""What JupyterLab 4 sites (extension/lab4) do that JupyterLab 3 ones do elsewhere or not at
all: Markdown's command links stripped, a new file. Their scenarios shared with 3 are in
test_collaborates.py and the other test modules."""

from support.browsers import lab_url
from support.collaboration import marker
from support.flavours import opener
from support.lab4_pages import Lab4Page


def test_command_links_in_markdown_are_stripped(
    signaling, lab4_site_url, lab4_notebook, room, alice
):
    """Markdown is rendered as untrusted, and whatever a peer writes in it may not run a
    JupyterLab command by a click: JupyterLab 4.6's sanitizer strips command links only with
    allowCommandLinker off, the site's setting (GHSA-mqcg-5x36-vfcg)."""
    a = opener("4")(alice, lab4_site_url, lab4_notebook, room)
    a.page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.insertCell(0, {
            cell_type: 'markdown',
            source: '<button data-commandlinker-command="help:about">Click</button> a link'})"""
    )
    button = a.page.locator(".jp-MarkdownOutput button", has_text="Click")
    button.wait_for()
    assert button.get_attribute("data-commandlinker-command") is None


def test_a_new_text_file_opens_empty_and_saves(signaling, lab4_site_url, lab4_text, room, alice):
    """A new file (which JupyterLab saves as it opens it) opens empty, and what is typed saves."""
    page = alice.open(lab_url(lab4_site_url, room=room, username="alice"), Lab4Page)
    page.wait_for_file(lab4_text)  # the app has started
    page.page.evaluate("() => window.jupyterapp.commands.execute('fileeditor:create-new')")
    page.wait_for_text_editor()
    page.wait_for_text("")
    typed = marker("new")
    page.type_at_end(typed)
    # JupyterLab 4 offers to rename an untitled file at its first save: keep the name
    page.page.keyboard.press("Control+s")
    page.page.locator(".jp-Dialog").get_by_role("button", name="Rename").click()
    page.wait_for_unsaved_tabs(0)
    path = page.page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    assert page.stored(path) == typed
    assert page.dialogs() == []
