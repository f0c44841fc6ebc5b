"""A room's link is one click away (the Share button of every shared document, and "Share this
room…" in JupyterLab 3.5's File menu): copied, it brings another person into the same room,
under the name they give; "New private room" opens the site in a room nobody can guess, with a
secret. In JupyterLab, and in the notebook page of each flavour (RetroLab, Notebook 7)."""

import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from support.browsers import lab_url, retro_url
from support.collaboration import cell_sources_of, marker, open_notebook, open_text, text_of
from support.lab4_pages import Lab4Page


def joins_through(link, guest, host, document, original):
    """`guest` opens the shared link, which names nobody, gives their name when asked, then
    opens the document; an edit of theirs reaches `host`'s page (Alice's), which lists them
    under that name: they are in the same room."""
    page = guest.open(link, type(host))
    page.give_name(guest.name)
    open_text(page, document, original)
    edit = marker(guest.name)
    page.type_at_end(edit)
    host.wait_for_text(original + edit)
    host.wait_for_people_here(["alice", guest.name])


def test_a_shared_link_brings_someone_into_the_same_private_room(signaling, lite, room, alice, bob):
    original = text_of(lite.site, lite.text)
    secret = secrets.token_urlsafe(16)
    url = lab_url(lite.url, room=room, username="alice") + f"#key={secret}"
    a = alice.open(url, lite.page_class)
    open_text(a, lite.text, original)
    a.wait_for_people_here(["alice"])

    link = a.share_link()
    parts = urlsplit(link)
    assert link.startswith(f"{lite.url}/lab/index.html?")
    assert parse_qs(parts.query) == {"room": [room]}  # not alice's name: nobody's
    assert parts.fragment == f"key={secret}"
    joins_through(link, bob, a, lite.text, original)


def test_a_new_private_room_is_unguessable_and_its_link_works(signaling, lite, room, alice, bob):
    original = text_of(lite.site, lite.text)
    a = alice.open(lab_url(lite.url, room=room, username="alice"), lite.page_class)
    open_text(a, lite.text, original)  # on 4 the Share button is the document's
    a.start_private_room()
    open_text(a, lite.text, original)
    link = a.share_link()
    query = parse_qs(urlsplit(link).query)
    assert re.fullmatch(r"private-[0-9a-f]{12}", query["room"][0])
    assert re.fullmatch(r"key=[0-9a-f]{32}", urlsplit(link).fragment)
    joins_through(link, bob, a, lite.text, original)


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


def test_notebook_7_shares_its_notebook_page(
    signaling, lab4_site, lab4_site_url, lab4_notebook, room, alice, bob
):
    original = cell_sources_of(lab4_site, lab4_notebook)
    query = urlencode({"path": lab4_notebook, "room": room, "username": "alice"})
    a = alice.open(f"{lab4_site_url}/notebooks/index.html?{query}", Lab4Page)
    a.wait_for_notebook()
    a.wait_for_cell_sources(original)
    link = a.share_link()
    assert link.startswith(f"{lab4_site_url}/notebooks/index.html?")
    assert parse_qs(urlsplit(link).query) == {"path": [lab4_notebook], "room": [room]}

    b = bob.open(link, Lab4Page)
    b.give_name("bob")
    b.wait_for_notebook()
    b.wait_for_cell_sources(original)
    for page in (a, b):
        page.wait_for_people_here(["alice", "bob"])
