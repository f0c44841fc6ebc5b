"""Two to four people edit the same documents of a built site, each in a browser of their own.

Everything runs in a private network namespace (see support/networks.py and conftest.py).
Browsers reach the signaling server through a relay that passes every message through
unchanged and keeps a copy, so the tests can show what the server saw: handshakes, never
document text.
"""

import base64
import json
import re
import secrets
import shutil
import struct
import time
import zlib

import pytest
from support.browsers import (
    MESH_TIMEOUT_MS,
    SYNC_TIMEOUT_MS,
    lab_url,
    retro_url,
)
from support.collaboration import (
    NOTEBOOK_WITHOUT_CELL_IDS,
    alice_then_bob_on_notebook,
    alice_then_bob_on_text,
    as_shown,
    cell_sources_of,
    code_cell_index,
    marker,
    open_app,
    open_document,
    open_in_lab,
    open_notebook,
    open_text,
    original_of,
    room_prefix,
    text_of,
    trade_edits,
)
from support.flavours import ON_3, ON_BOTH
from support.previews import preview
from support.processes import wait_until
from support.signaling_service import topic_of

# ---------------------------------------------------------------- scenarios


def through_signaling_servers(on_3):
    """Two people through each signaling server (ours, y-webrtc's reference) on 4; on 3 (its
    core set) through one, `on_3`: the text file goes through ours, the notebook through the
    reference."""
    cases = [("4", "python"), ("4", "npm"), ("3", on_3)]
    ids = [f"{server}-jupyterlab {flavour}" for flavour, server in cases]
    return pytest.mark.parametrize(("jupyterlab", "server"), cases, ids=ids)


@through_signaling_servers(on_3="python")
def test_text_file_syncs_both_ways_over_webrtc(
    server, jupyterlab, signaling, lite, room, alice, bob
):
    signaling.use(server)
    a, b, original = alice_then_bob_on_text(
        alice, bob, lite.url, lite.site, lite.text, room, lite.page_class
    )

    from_alice, from_bob = trade_edits(a, b, original)

    # The server saw both peers join one topic and trade WebRTC signals; text went peer to peer.
    topic = topic_of(room_prefix(lite.site), room, lite.text, jupyterlab)
    assert len(signaling.relay.subscribers(topic)) == 2
    signals = [
        m
        for n, m in signaling.relay.messages()
        if m["type"] == "publish" and m["topic"] == topic and m["data"]["type"] == "signal"
    ]
    assert {m["data"]["from"] for m in signals} == {m["data"]["to"] for m in signals}, (
        "signals flow both ways"
    )
    assert len({m["data"]["from"] for m in signals}) == 2
    relayed = "".join(raw for _, _, raw in signaling.relay.frames)
    assert from_alice.strip() not in relayed and from_bob.strip() not in relayed


def converged(read, pages, timeout=15):
    """What every page shows once all of them show the same; an error if they never do."""
    deadline = time.monotonic() + timeout
    while True:
        values = [read(page) for page in pages]
        if all(value == values[0] for value in values):
            return values[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"the peers never agreed: {values!r}")
        pages[0].page.wait_for_timeout(100)  # polling interval, not synchronisation


def edit_and_insert_cells(editor, inserter, shared, code_source):
    """`editor` rewrites the first code cell, `inserter` adds one below; each sees the other's."""
    index = shared.index(code_source)
    edited = "y = 2" + secrets.token_hex(2)
    editor.set_cell_source(index, edited)
    expected = [*shared[:index], edited, *shared[index + 1 :]]
    inserter.wait_for_cell_sources(expected)
    inserted = "z = 3" + secrets.token_hex(2)
    inserter.insert_cell_below(index, inserted)
    editor.wait_for_cell_sources([*expected[: index + 1], inserted, *expected[index + 1 :]])


@through_signaling_servers(on_3="npm")
def test_notebook_cells_sync_both_ways(server, jupyterlab, signaling, lite, room, alice, bob):
    signaling.use(server)
    a, b, original = alice_then_bob_on_notebook(
        alice, bob, lite.url, lite.site, lite.notebook, room, lite.page_class
    )
    shared = converged(lambda page: page.cell_sources(), [a, b])
    edit_and_insert_cells(a, b, shared, original[code_cell_index(lite.site, lite.notebook)])


@ON_3
def test_lab_and_retro_edit_one_notebook(
    jupyterlab, signaling, lab3_site_url, lab3_site, lab3_notebook, room, alice, bob
):
    original = cell_sources_of(lab3_site, lab3_notebook)
    a = open_in_lab(alice, lab3_site_url, lab3_notebook, room)
    a.wait_for_cell_sources(original)
    b = open_notebook(bob, retro_url(lab3_site_url, lab3_notebook, room=room, username="bob"))
    a.wait_for_peers(1)
    b.wait_for_peers(1)
    b.wait_for_cell_sources(original)
    edit_and_insert_cells(a, b, original, original[code_cell_index(lab3_site, lab3_notebook)])


def test_late_joiner_gets_unsaved_edits(signaling, lite, room, alice, bob, carol):
    c = open_app(carol, lite.url, room, page_class=lite.page_class)  # she opens the text later
    a, b, original = alice_then_bob_on_text(
        alice, bob, lite.url, lite.site, lite.text, room, lite.page_class
    )
    unsaved = marker("alice")
    a.type_at_end(unsaved)
    b.wait_for_text(original + unsaved)

    open_document(c, lite.text)
    c.wait_for_peers(2)
    c.wait_for_text(original + unsaved)


def test_one_person_in_two_tabs_and_another_person_edit_one_document(
    signaling, lite, room, alice, bob
):
    """Someone who opens the link twice (two tabs, one browser storage): both tabs and the
    other person show one copy of the document, and every edit."""
    a, b, original = alice_then_bob_on_text(
        alice, bob, lite.url, lite.site, lite.text, room, lite.page_class
    )
    tab = alice.open_another_tab(lab_url(lite.url, room=room, username="alice"), lite.page_class)
    open_text(tab, lite.text, original)
    edits = ""
    for page in (b, tab, a):
        edit = marker("edit")
        page.type_at_end(edit)
        edits += edit
        for other in (a, b, tab):
            other.wait_for_text(original + edits)


@pytest.mark.parametrize("up", [True, False], ids=["signaling up", "signaling down"])
def test_alone_editing_and_saving_work(up, signaling, lite, room, alice):
    if not up:
        signaling.stop()
    original = text_of(lite.site, lite.text)
    a = lite.open_in(alice, lite.url, lite.text, room)
    a.wait_for_text(original)
    typed = marker("alone")
    a.type_at_end(typed)
    a.wait_for_text(original + typed)
    a.wait_for_unsaved_tabs(1)
    a.save()
    # Reopen the document in a new page load: what was saved comes back from browser storage.
    a.go_to(lab_url(lite.url, path=lite.text, room=room, username="alice"))
    a.wait_for_text_editor()
    a.wait_for_text(original + typed)
    a.wait_for_peers(0)
    assert a.dialogs() == []


def test_peers_reconnect_after_signaling_restarts(
    jupyterlab, signaling, lite, room, alice, bob, carol
):
    a, b, original = alice_then_bob_on_text(
        alice, bob, lite.url, lite.site, lite.text, room, lite.page_class
    )

    signaling.stop()
    # The peers' own connection does not need the server.
    while_down = marker("while-down")
    a.type_at_end(while_down)
    b.wait_for_text(original + while_down)

    signaling.relay.frames.clear()
    signaling.start()
    topic = topic_of(room_prefix(lite.site), room, lite.text, jupyterlab)
    wait_until(lambda: len(signaling.relay.subscribers(topic)) == 2)  # both subscribed again

    # A newcomer finds both through the restarted server, without anyone reloading.
    c = lite.open_in(carol, lite.url, lite.text, room)
    c.wait_for_peers(2)
    c.wait_for_text(original + while_down)
    after = marker("carol")
    c.type_at_end(after)
    a.wait_for_text(original + while_down + after)
    b.wait_for_text(original + while_down + after)


def test_a_handshake_lost_on_the_way_is_tried_again(signaling, lite, room, alice, bob):
    """On a flaky network the first offer or answer between two people may never arrive."""
    original = text_of(lite.site, lite.text)
    a, b = (open_app(peer, lite.url, room, page_class=lite.page_class) for peer in (alice, bob))
    open_text(a, lite.text, original)
    signaling.relay.lose_handshakes(seconds=10)
    open_text(b, lite.text, original)  # rooms are per document: Bob joins now
    assert signaling.relay.handshakes_lost, "no handshake to lose"
    edit = marker("alice")
    a.type_at_end(edit)
    b.wait_for_text(original + edit, MESH_TIMEOUT_MS)


@ON_BOTH
def test_rooms_and_deployments_are_private(
    jupyterlab, signaling, lite, other_lite, room, alice, bob, carol
):
    original = text_of(lite.site, lite.text)
    a, witness, other_room = (
        open_app(peer, lite.url, in_room, page_class=lite.page_class)
        for peer, in_room in ((alice, room), (carol, room), (bob, room + "-other"))
    )
    other_deployment = open_app(bob, other_lite.url, room, page_class=lite.page_class)
    open_text(a, lite.text, original)
    open_text(witness, lite.text, original)
    witness.wait_for_peers(1)
    for outsider in (other_room, other_deployment):
        open_text(outsider, lite.text, original)
    secret = marker("secret")
    a.type_at_end(secret)
    # The witness in A's room gets the edit; by then the others had every chance to get it too.
    witness.wait_for_text(original + secret)
    for outsider in (other_room, other_deployment):
        assert outsider.text() == original
        assert outsider.peer_count() == 0


def test_preview_py_alone_gives_collaborating_links(tmp_path, network, lite, alice, bob):
    """`python preview.py` as a site owner runs it: build, own signaling server, two links."""
    site = tmp_path / "site"
    shutil.copytree(
        lite.site,
        site,
        ignore=shutil.ignore_patterns("_output", "_preview", ".jupyterlite.doit.db*"),
    )
    port, signaling_port = network.free_port(), network.free_port()
    options = ["--signaling-port", signaling_port]
    with preview(network, lite.python, site, port, *options) as (_, printed):
        links = [
            word for word in printed.split() if word.startswith("http") and "username=" in word
        ]
        assert [link.rsplit("=", 1)[1] for link in links] == ["alice", "bob"]
        served = json.loads((site / "_output" / "jupyter-lite.json").read_text())[
            "jupyter-config-data"
        ]
        assert served["fullWebRtcSignalingUrls"] == [f"ws://{network.host}:{signaling_port}"]
        assert (site / "jupyter-lite.json").read_text() == (
            lite.site / "jupyter-lite.json"
        ).read_text()

        pages = [alice.open(links[0], lite.page_class), bob.open(links[1], lite.page_class)]
        document = sorted(p.name for p in (site / "content").glob("*.md"))[0]
        original = text_of(site, document)
        for page in pages:
            open_text(page, document, original)
        pages[1].wait_for_peers(1)
        typed = marker("preview")
        pages[0].type_at_end(typed)
        pages[1].wait_for_text(original + typed)


# ---------------------------------------------------------------- a class opens one document


def shown(page, document):
    """What a page shows of the document: its text, or its cells' sources."""
    return page.cell_sources() if document.endswith(".ipynb") else page.text()


def wait_for_shown(page, document, expected, timeout=SYNC_TIMEOUT_MS):
    if document.endswith(".ipynb"):
        page.wait_for_cell_sources(expected, timeout)
    else:
        page.wait_for_text(expected, timeout)


def edit_document(page, site, document):
    """Make an edit that every peer must see; return what the document then shows."""
    if document.endswith(".ipynb"):
        sources = page.cell_sources()
        index = code_cell_index(site, document)
        edited = "y = 2" + secrets.token_hex(2)
        page.set_cell_source(index, edited)
        expected = [*sources[:index], edited, *sources[index + 1 :]]
    else:
        expected = page.text() + marker("edit")
        page.type_at_end(expected[len(page.text()) :])
    wait_for_shown(page, document, expected)  # the editor's own page first
    return expected


def class_opens_together(people, site_url, document, original, page_class):
    """Everyone opens the site in a fresh room, then the document within 100 ms, as a class
    does when told "open it now"; returns their pages once each shows it."""
    room = f"class-{secrets.token_hex(4)}"
    pages = [
        peer.open(lab_url(site_url, room=room, username=peer.name), page_class) for peer in people
    ]
    for page in pages:
        page.wait_for_file(document)
    at = pages[0].now() + 1000
    for i, page in enumerate(pages):
        page.open_at(document, at + 30 * i)
    for page in pages:
        page.wait_for_document(document)
        wait_for_shown(page, document, original)
    return pages


@pytest.fixture
def served_document(request, lite, other_lite, notebook_without_cell_ids):
    """(site, its URL, a document of it, its page class): the flavour's site's notebook or text
    file, or the other site's notebook saved without cell ids."""
    site = other_lite if request.param == "notebook without cell ids" else lite
    document = {
        "notebook": lite.notebook,
        "text": lite.text,
        "notebook without cell ids": notebook_without_cell_ids,
    }[request.param]
    return site.site, site.url, document, site.page_class


# Every kind of document on 4; 3 keeps the class on a notebook (its core set).
CLASSES = [
    *(("4", document) for document in ["notebook", "text", "notebook without cell ids"]),
    ("3", "notebook"),
]


@pytest.mark.parametrize(
    ("jupyterlab", "served_document"),
    CLASSES,
    indirect=["served_document"],
    ids=[f"{document}-jupyterlab {flavour}" for flavour, document in CLASSES],
)
def test_a_class_opening_one_document_together_sees_it_once_then_an_edit_reaches_everyone(
    jupyterlab, served_document, signaling, people
):
    """Four people open the same document within a few ms, in a fresh room, twice over: each
    sees it once and no browser saves a wrong copy; in the second room, an edit reaches all."""
    site, site_url, document, page_class = served_document
    original = original_of(site, document)
    for fresh_room in range(2):
        if fresh_room:
            for peer in people:
                peer.close_pages()
        pages = class_opens_together(people, site_url, document, original, page_class)
        # What each browser saved is the document, never an empty or doubled copy of it.
        assert [as_shown(document, page.stored(document)) for page in pages] == [original] * 4
        if jupyterlab == "4" and document.endswith(".ipynb"):
            # its metadata too (a JupyterLab 4 room once lost it): the kernelspec each page starts
            published = json.loads((site / "content" / document).read_text(encoding="utf-8"))
            metadata = [page.stored(document)["metadata"] for page in pages]
            assert metadata == [published["metadata"]] * 4

    expected = edit_document(pages[0], site, document)
    for page in pages:
        wait_for_shown(page, document, expected, MESH_TIMEOUT_MS)
    # Every connection says it synced, those made after a page's first one too (else a page
    # that sees them waits its whole patience before it loads: common/who-loads.ts).
    for page in pages:
        page.wait_for_synced_connections(len(pages) - 1, MESH_TIMEOUT_MS)


@ON_3
def test_a_notebook_saved_without_cell_ids_is_the_same_cells_in_every_browser(
    jupyterlab, signaling, lab3_other_site_url, notebook_without_cell_ids, room, alice, bob
):
    """JupyterLab 3.5 gives such cells random ids at each load; two browsers must load them
    alike, or loads of one notebook by a class opening it together could not merge."""
    document = notebook_without_cell_ids
    a = open_in_lab(alice, lab3_other_site_url, document, room + "-alice")  # each alone
    b = open_in_lab(bob, lab3_other_site_url, document, room + "-bob")
    for page in (a, b):
        page.wait_for_notebook()
        page.wait_for_cell_sources(as_shown(document, NOTEBOOK_WITHOUT_CELL_IDS))
    ids = a.cell_ids()
    assert len(set(ids)) == len(NOTEBOOK_WITHOUT_CELL_IDS["cells"])
    assert all(re.fullmatch("[a-zA-Z0-9-_]{1,64}", id) for id in ids), ids
    assert b.cell_ids() == ids


@pytest.mark.parametrize("document", ["notebook", "text"])
def test_documents_opened_apart_merge_into_one_copy(document, signaling, lite, room, alice, bob):
    """Two people open the document while signaling is down, edit it, then meet."""
    document = lite.notebook if document == "notebook" else lite.text
    original = original_of(lite.site, document)
    signaling.stop()
    a, b = (open_app(peer, lite.url, room, page_class=lite.page_class) for peer in (alice, bob))
    for page in (a, b):
        wait_for_shown(open_document(page, document), document, original)
    if document.endswith(".ipynb"):
        signaling.start()
        a.wait_for_peers(1)
        b.wait_for_peers(1)
        assert converged(lambda page: shown(page, document), [a, b]) == original
        edit_and_insert_cells(a, b, original, original[code_cell_index(lite.site, document)])
        return
    from_alice, from_bob = marker("alice"), marker("bob")
    a.type_at_end(from_alice)
    b.type_at_end(from_bob)
    signaling.start()
    a.wait_for_peers(1)
    b.wait_for_peers(1)
    merged = converged(lambda page: page.text(), [a, b])
    assert merged in (original + from_alice + from_bob, original + from_bob + from_alice)


def own_copy_of_bob(bob, lite, room, original):
    """Bob edits the document alone and saves it: his browser holds his own version."""
    document = lite.text
    b = lite.open_in(bob, lite.url, document, room)
    b.wait_for_text(original)
    own = original + marker("bob-own")
    b.type_at_end(own[len(original) :])
    b.wait_for_text(own)
    b.save()
    assert b.stored(document) == own
    return b, own


def kept_copies(page, document):
    stem = document.rsplit(".", 1)[0]
    return [name for name in page.stored_names() if name.startswith(f"{stem}-my-copy-")]


def test_a_different_saved_copy_joining_a_room_gets_the_room_and_keeps_its_own(
    signaling, lite, room, alice, bob
):
    document = lite.text
    original = text_of(lite.site, document)
    b, own = own_copy_of_bob(bob, lite, room + "-alone", original)
    a = lite.open_in(alice, lite.url, document, room)
    a.wait_for_text(original)

    b.reopen(lab_url(lite.url, room=room, username="bob"), document)
    b.wait_for_peers(1)
    b.wait_for_text(original)
    a.wait_for_text(original)
    b.wait_for_dialog("Your copy was kept")
    assert len(b.dialogs()) == 1, b.dialogs()  # and no "File Changed" question
    (copy,) = kept_copies(b, document)
    assert b.stored(copy) == own
    wait_until(lambda: b.stored(document) == original)  # JupyterLab saves what it adopted


def test_a_saved_copy_of_the_published_file_joins_without_a_kept_copy(
    signaling, lite, room, alice, bob
):
    """Bob saved the file unchanged; the room edited it: nothing of Bob's is lost, so no copy."""
    document = lite.text
    original = text_of(lite.site, document)
    b = lite.open_in(bob, lite.url, document, room + "-alone")
    b.wait_for_text(original)
    b.type_at_end(" ")
    b.press("Backspace")
    b.save()
    a = lite.open_in(alice, lite.url, document, room)
    a.wait_for_text(original)
    edited = original + marker("alice")
    a.type_at_end(edited[len(original) :])

    b.reopen(lab_url(lite.url, room=room, username="bob"), document)
    b.wait_for_text(edited)
    assert kept_copies(b, document) == []
    assert b.dialogs() == []


@ON_BOTH
def test_different_copies_opened_apart_keep_one_and_the_other_aside(
    jupyterlab, signaling, lite, room, alice, bob
):
    document = lite.text
    original = text_of(lite.site, document)
    signaling.stop()
    b, own = own_copy_of_bob(bob, lite, room, original)
    b.reopen(lab_url(lite.url, room=room, username="bob"), document)
    b.wait_for_text(own)
    a = lite.open_in(alice, lite.url, document, room)
    a.wait_for_text(original)

    signaling.start()
    a.wait_for_peers(1)
    b.wait_for_peers(1)
    kept = converged(lambda page: page.text(), [a, b])
    assert kept in (original, own)
    loser = a if kept == own else b
    loser.wait_for_dialog("Your copy was kept")
    (copy,) = kept_copies(loser, document)
    assert loser.stored(copy) == (original if loser is a else own)


def png_of_size(size):
    """A valid PNG of about `size` bytes (uncompressed random pixels), base64-encoded."""
    width = 1000
    height = max(1, size // (width * 3))
    rows = b"".join(b"\0" + secrets.token_bytes(width * 3) for _ in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 0))
    return base64.b64encode(png + chunk(b"IEND", b"")).decode()


def test_a_large_image_output_arrives_and_editing_goes_on(
    jupyterlab, signaling, lite, room, alice, bob
):
    a, b, original = alice_then_bob_on_notebook(
        alice, bob, lite.url, lite.site, lite.notebook, room, lite.page_class
    )
    b.wait_for_cell_sources(original)
    index = code_cell_index(lite.site, lite.notebook)
    image = png_of_size(2_000_000)
    a.add_output(
        index, {"output_type": "display_data", "data": {"image/png": image}, "metadata": {}}
    )
    b.wait_for_output_data(index, "image/png", len(image))
    edit_and_insert_cells(b, a, original, original[index])
