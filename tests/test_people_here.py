"""Who is here: the document's toolbar lists the people who have it open in the room, with
their names and colours, as they join and leave. Someone whose link gives no name is asked for
one once; it is kept in their browser, and a new one shows at once."""

import re

from support.browsers import lab_url
from support.collaboration import open_app, open_text, text_of
from support.processes import wait_until


def test_the_toolbar_lists_who_is_here_as_people_join_and_leave(signaling, lite, room, people):
    original = text_of(lite.site, lite.text)
    a, b, c = (open_app(peer, lite.url, room, page_class=lite.page_class) for peer in people[:3])
    open_text(a, lite.text, original)
    a.wait_for_people_here(["alice"])
    for page in (b, c):
        open_text(page, lite.text, original)
    for page in (a, b, c):
        page.wait_for_people_here(["alice", "bob", "carol"])
    assert "(you)" in a.page.locator(".jp-webrtc-safe-load-person", has_text="alice").inner_text()

    c.leave()
    for page in (a, b):
        page.wait_for_people_here(["alice", "bob"])


def test_someone_without_a_name_is_asked_once_and_everyone_sees_it(
    signaling, lite, room, alice, bob, carol
):
    original = text_of(lite.site, lite.text)
    link = lab_url(lite.url, room=room, username=None)  # as the Share dialog gives it
    a = open_app(alice, lite.url, room, page_class=lite.page_class)
    b, c = (peer.open(link, lite.page_class) for peer in (bob, carol))  # each asks for a name
    open_text(a, lite.text, original)

    b.give_name("Bob Marley")
    open_text(b, lite.text, original)
    a.wait_for_people_here(["alice", "Bob Marley"])
    c.page.locator(".jp-Dialog", has_text="Your name").get_by_role("button", name="Skip").click()
    open_text(c, lite.text, original)
    wait_until(lambda: len(c.people_here()) == 3)
    names = [name for name in c.people_here() if name not in ("alice", "Bob Marley")]
    assert len(names) == 1 and re.fullmatch("Anonymous .+", names[0]), c.people_here()

    for page in (b, c):  # the next visit: the same name, and no question
        page.go_to(link)
        open_text(page, lite.text, original)
        assert page.dialogs() == []
    a.wait_for_people_here(["alice", "Bob Marley", names[0]])

    long_name = "Robert " + "of the very long surname " * 3
    b.change_name(long_name)  # with the document open
    for page in (a, b, c):  # its first 40 characters
        page.wait_for_people_here(["alice", long_name[:40], names[0]])
