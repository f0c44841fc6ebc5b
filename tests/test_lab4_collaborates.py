"""Sites with jupyterlab=4 (the preview): two or more people, each in a Chromium process of
their own, edit documents together through the site's signaling server, with the site's own
JupyterLab 4 provider (extension/lab4)."""

import json

import pytest
from support.browsers import MESH_TIMEOUT_MS, lab_url
from support.collaboration import (
    alice_then_bob,
    as_shown,
    cell_sources_of,
    code_cell_index,
    marker,
    original_of,
    text_of,
    trade_edits,
)
from support.lab4_pages import Lab4Page, open_in_lab4


def shows(original):
    """Waits until a page shows the original document: its text, or its cells' sources."""
    if isinstance(original, str):
        return lambda page: page.wait_for_text(original)
    return lambda page: page.wait_for_cell_sources(original)


def test_text_syncs_both_ways_and_a_late_joiner_gets_unsaved_edits(
    signaling, lab4_site, lab4_site_url, lab4_text, room, alice, bob, carol
):
    original = text_of(lab4_site, lab4_text)
    a, b = alice_then_bob(
        alice, bob, lab4_site_url, lab4_text, room, shows(original), open_in=open_in_lab4
    )
    b.wait_for_text(original)
    from_alice, from_bob = trade_edits(a, b, original)
    # nobody saved: carol gets the room's content, not the published file
    c = open_in_lab4(carol, lab4_site_url, lab4_text, room)
    c.wait_for_text(original + from_alice + from_bob)
    c.wait_for_peers(2)
    for page in (a, b, c):
        assert page.dialogs() == []


def test_notebook_cells_sync_both_ways(
    signaling, lab4_site, lab4_site_url, lab4_notebook, room, alice, bob
):
    original = cell_sources_of(lab4_site, lab4_notebook)
    a, b = alice_then_bob(
        alice, bob, lab4_site_url, lab4_notebook, room, shows(original), open_in=open_in_lab4
    )
    b.wait_for_cell_sources(original)
    code = code_cell_index(lab4_site, lab4_notebook)
    a.set_cell_source(code, "y = 2")
    expected = [*original[:code], "y = 2", *original[code + 1 :]]
    b.wait_for_cell_sources(expected)
    b.set_cell_source(code, "z = 3")
    a.wait_for_cell_sources([*original[:code], "z = 3", *original[code + 1 :]])


@pytest.mark.parametrize("document", ["notebook", "text"])
def test_a_class_opening_one_document_together_sees_it_once(
    document, signaling, lab4_site, lab4_site_url, lab4_text, lab4_notebook, people
):
    """Four people open the document within 100 ms in a fresh room: each sees it once, no
    browser saves an empty or doubled copy, and an edit afterwards reaches everyone."""
    name = lab4_notebook if document == "notebook" else lab4_text
    original = original_of(lab4_site, name)
    room = f"class-{marker('')[2:]}"
    pages = [
        peer.open(lab_url(lab4_site_url, room=room, username=peer.name), Lab4Page)
        for peer in people
    ]
    for page in pages:
        page.wait_for_file(name)
    at = pages[0].now() + 1000
    for i, page in enumerate(pages):
        page.open_at(name, at + 30 * i)
    for page in pages:
        shows(original)(page)
    # What each browser saved is the document, never an empty or doubled copy of it.
    assert [as_shown(name, page.stored(name)) for page in pages] == [original] * 4
    if document == "notebook":
        # its metadata too: its kernelspec names the kernel each person's page starts
        published = json.loads((lab4_site / "content" / name).read_text(encoding="utf-8"))
        assert [page.stored(name)["metadata"] for page in pages] == [published["metadata"]] * 4
    if document == "text":
        typed = marker("class")
        pages[0].type_at_end(typed)
        for page in pages:
            page.wait_for_text(original + typed, MESH_TIMEOUT_MS)


def test_a_private_room_meets_only_those_with_its_key(
    signaling, lab4_site, lab4_site_url, lab4_text, room, alice, bob, carol
):
    original = text_of(lab4_site, lab4_text)
    a = open_in_lab4(alice, lab4_site_url, lab4_text, room, "#key=first-secret")
    a.wait_for_text(original)
    b = open_in_lab4(bob, lab4_site_url, lab4_text, room, "#key=first-secret")
    outsider = open_in_lab4(carol, lab4_site_url, lab4_text, room, "#key=other-secret")
    for page in (b, outsider):
        page.wait_for_text(original)
    b.wait_for_peers(1)
    secret = marker("secret")
    a.type_at_end(secret)
    b.wait_for_text(original + secret)
    assert outsider.text() == original
    outsider.wait_for_peers(0)


def test_a_document_opens_alone_with_signaling_down_and_saves(
    signaling, lab4_site, lab4_site_url, lab4_text, room, alice
):
    signaling.stop()
    original = text_of(lab4_site, lab4_text)
    a = open_in_lab4(alice, lab4_site_url, lab4_text, room)
    a.wait_for_text(original)
    typed = marker("alone")
    a.type_at_end(typed)
    a.wait_for_text(original + typed)
    a.save()
    assert a.stored(lab4_text) == original + typed
    assert a.dialogs() == []


def test_command_links_in_markdown_are_stripped(
    signaling, lab4_site_url, lab4_notebook, room, alice
):
    """Markdown is rendered as untrusted, and whatever a peer writes in it may not run a
    JupyterLab command by a click: JupyterLab 4.6's sanitizer strips command links only with
    allowCommandLinker off, the site's setting (GHSA-mqcg-5x36-vfcg)."""
    a = open_in_lab4(alice, lab4_site_url, lab4_notebook, room)
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
