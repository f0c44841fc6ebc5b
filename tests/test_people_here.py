"""Who is here: the document's toolbar lists the people who have it open in the room, with
their names and colours, as they join and leave."""

from collaboration import open_in_lab, text_of


def test_the_toolbar_lists_who_is_here_as_people_join_and_leave(
    signaling, site_url, default_site, text_document, room, alice, bob, carol
):
    original = text_of(default_site, text_document)
    a = open_in_lab(alice, site_url, text_document, room)
    a.wait_for_text(original)
    a.wait_for_people_here(["alice"])
    b = open_in_lab(bob, site_url, text_document, room)
    c = open_in_lab(carol, site_url, text_document, room)
    for page in (a, b, c):
        page.wait_for_people_here(["alice", "bob", "carol"])
    assert "(you)" in a.page.locator(".jp-webrtc-safe-load-person", has_text="alice").inner_text()

    c.leave()
    for page in (a, b):
        page.wait_for_people_here(["alice", "bob"])
