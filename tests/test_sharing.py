"""A room's link is one click away ("Share" in the status bar, or "Share this room…" in the
File menu and the command palette): copied, it brings another person into the same room, under
the name they give; "New private room" opens the site in a room nobody can guess, with a
secret."""

import re
import secrets
from urllib.parse import parse_qs, urlsplit

from support.browsers import lab_url, retro_url
from support.collaboration import cell_sources_of, marker, open_notebook, text_of


def open_document(page, document, original):
    page.open_from_file_browser(document)
    page.wait_for_text_editor()
    page.wait_for_text(original)


def joins_through(link, guest, host, document, original):
    """`guest` opens the shared link, which names nobody, gives their name when asked, then
    opens the document; an edit of theirs reaches `host`'s page (Alice's), which lists them
    under that name: they are in the same room."""
    page = guest.open(link)
    page.give_name(guest.name)
    open_document(page, document, original)
    edit = marker(guest.name)
    page.type_at_end(edit)
    host.wait_for_text(original + edit)
    host.wait_for_people_here(["alice", guest.name])


def test_a_shared_link_brings_someone_into_the_same_private_room(
    signaling, lab3_site_url, lab3_site, lab3_text, room, alice, bob
):
    original = text_of(lab3_site, lab3_text)
    secret = secrets.token_urlsafe(16)
    a = alice.open(lab_url(lab3_site_url, room=room, username="alice") + f"#key={secret}")
    open_document(a, lab3_text, original)

    link = a.share_link()
    parts = urlsplit(link)
    assert link.startswith(f"{lab3_site_url}/lab/index.html?")
    assert parse_qs(parts.query) == {"room": [room]}  # not alice's name: nobody's
    assert parts.fragment == f"key={secret}"
    joins_through(link, bob, a, lab3_text, original)


def test_a_new_private_room_is_unguessable_and_its_link_works(
    signaling, lab3_site_url, lab3_site, lab3_text, room, alice, bob
):
    original = text_of(lab3_site, lab3_text)
    a = alice.open(lab_url(lab3_site_url, room=room, username="alice"))
    a.wait_for_file(lab3_text)
    a.start_private_room()
    a.wait_for_file(lab3_text)
    link = a.share_link()
    query = parse_qs(urlsplit(link).query)
    assert re.fullmatch(r"private-[0-9a-f]{12}", query["room"][0])
    assert re.fullmatch(r"key=[0-9a-f]{32}", urlsplit(link).fragment)
    open_document(a, lab3_text, original)
    joins_through(link, bob, a, lab3_text, original)


def test_retrolab_shares_its_notebook_page_from_the_file_menu(
    signaling, lab3_site_url, lab3_site, lab3_notebook, room, alice, bob
):
    original = cell_sources_of(lab3_site, lab3_notebook)
    a = open_notebook(alice, retro_url(lab3_site_url, lab3_notebook, room=room, username="alice"))
    a.wait_for_cell_sources(original)
    a.page.get_by_role("menuitem", name="File").click()
    a.page.get_by_role("menuitem", name="Share this room…").click()
    link = a.page.get_by_label("Link to this room").input_value()
    query = parse_qs(urlsplit(link).query)
    assert link.startswith(f"{lab3_site_url}/retro/notebooks/index.html?")
    assert query == {"path": [lab3_notebook], "room": [room]}

    b = bob.open(link)
    b.give_name("bob")
    b.wait_for_notebook()
    b.wait_for_cell_sources(original)
    b.wait_for_people_here(["alice", "bob"])
