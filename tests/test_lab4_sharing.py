"""Sharing on JupyterLab 4 sites (extension/lab4/src/sharing.ts), as on JupyterLab 3 ones
(test_sharing.py, test_people_here.py): every shared document's toolbar lists who is here and
has a Share button, whose dialog gives the room's link (with a private room's secret) or a new
private room; someone whose link names nobody is asked for a name once. In JupyterLab 4 and in
Notebook 7."""

import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from support.browsers import lab_url
from support.collaboration import cell_sources_of, marker, text_of
from support.lab4_pages import Lab4Page
from support.processes import wait_until

NAME_COMMAND = "jupyterlite-webrtc-lab4:name"


def open_text(page, document, original):
    page.open_from_file_browser(document)
    page.wait_for_text_editor()
    page.wait_for_text(original)


def joins_through(link, guest, host, document, original):
    """`guest` opens the shared link, which names nobody, gives their name when asked, then
    opens the document; an edit of theirs reaches the host's page, which lists them under that
    name: they are in the same room."""
    page = guest.open(link, Lab4Page)
    page.give_name(guest.name)
    open_text(page, document, original)
    edit = marker(guest.name)
    page.type_at_end(edit)
    host.wait_for_text(original + edit)
    host.wait_for_people_here(["alice", guest.name])
    return page


def test_a_shared_link_brings_someone_into_the_same_private_room(
    signaling, lab4_site, lab4_site_url, lab4_text, room, alice, bob
):
    original = text_of(lab4_site, lab4_text)
    secret = secrets.token_urlsafe(16)
    url = lab_url(lab4_site_url, room=room, username="alice") + f"#key={secret}"
    a = alice.open(url, Lab4Page)
    open_text(a, lab4_text, original)
    a.wait_for_people_here(["alice"])

    link = a.share_link()
    parts = urlsplit(link)
    assert link.startswith(f"{lab4_site_url}/lab/index.html?")
    assert parse_qs(parts.query) == {"room": [room]}  # not alice's name: nobody's
    assert parts.fragment == f"key={secret}"
    joins_through(link, bob, a, lab4_text, original)


def test_a_new_private_room_is_unguessable_and_its_link_works(
    signaling, lab4_site, lab4_site_url, lab4_text, room, alice, bob
):
    original = text_of(lab4_site, lab4_text)
    a = alice.open(lab_url(lab4_site_url, room=room, username="alice"), Lab4Page)
    open_text(a, lab4_text, original)
    a.start_private_room()
    open_text(a, lab4_text, original)
    link = a.share_link()
    query = parse_qs(urlsplit(link).query)
    assert re.fullmatch(r"private-[0-9a-f]{12}", query["room"][0])
    assert re.fullmatch(r"key=[0-9a-f]{32}", urlsplit(link).fragment)
    joins_through(link, bob, a, lab4_text, original)


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


def test_someone_without_a_name_is_asked_once_and_everyone_sees_it(
    signaling, lab4_site, lab4_site_url, lab4_text, room, alice, bob, carol
):
    original = text_of(lab4_site, lab4_text)
    a = alice.open(lab_url(lab4_site_url, room=room, username="alice"), Lab4Page)
    open_text(a, lab4_text, original)
    link = lab_url(lab4_site_url, room=room, username=None)  # as the Share dialog gives it

    b = bob.open(link, Lab4Page)
    b.give_name("Bob Marley")
    open_text(b, lab4_text, original)
    a.wait_for_people_here(["alice", "Bob Marley"])
    c = carol.open(link, Lab4Page)
    c.page.locator(".jp-Dialog", has_text="Your name").get_by_role("button", name="Skip").click()
    open_text(c, lab4_text, original)
    wait_until(lambda: len(c.people_here()) == 3)
    names = [name for name in c.people_here() if name not in ("alice", "Bob Marley")]
    assert len(names) == 1 and re.fullmatch("Anonymous .+", names[0]), c.people_here()

    for page in (b, c):  # the next visit: the same name, and no question
        page.go_to(link)
        open_text(page, lab4_text, original)
        assert page.dialogs() == []
    a.wait_for_people_here(["alice", "Bob Marley", names[0]])

    # "Change your name…" (command palette), with the document open: everyone sees the new one
    long_name = "Robert " + "of the very long surname " * 3
    # not awaited: the command resolves only when its dialog closes
    b.page.evaluate(f"() => {{ window.jupyterapp.commands.execute('{NAME_COMMAND}'); }}")
    b.give_name(long_name)
    for page in (a, b, c):  # its first 40 characters
        page.wait_for_people_here(["alice", long_name[:40], names[0]])
