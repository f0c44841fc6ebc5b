"""A private room: its link carries a secret in the fragment (`?room=NAME#key=SECRET`), which
never reaches a server; only people with the secret meet there and see each other's edits."""

import secrets

from support.browsers import lab_url
from support.collaboration import marker, open_app, open_text, room_prefix, text_of
from support.flavours import ON_BOTH
from support.signaling_service import topic_of

# long enough that seeing the others' edits would have shown in any earlier test
OUTSIDERS_WAIT_MS = 5000


@ON_BOTH
def test_only_people_with_the_secret_share_a_private_room(
    jupyterlab, signaling, lite, room, people
):
    original = text_of(lite.site, lite.text)
    secret = secrets.token_urlsafe(16)
    # the right room name, with the secret; without it (Carol) or with another one (Dave)
    fragments = [f"#key={secret}"] * 2 + ["", f"#key={secrets.token_urlsafe(16)}"]
    a, b, c, d = (
        open_app(person, lite.url, room, fragment, lite.page_class)
        for person, fragment in zip(people, fragments, strict=True)
    )
    for page in (a, b, c, d):  # one after the other: each finds the others' before it
        open_text(page, lite.text, original)

    edit = marker("alice")
    a.type_at_end(edit)
    b.wait_for_text(original + edit)
    a.wait_for_peers(1)
    b.wait_for_peers(1)
    c.page.wait_for_timeout(OUTSIDERS_WAIT_MS)  # a wait for something that must not happen
    for outsider in (c, d):
        assert outsider.text() == original
        outsider.wait_for_peers(0)

    # All four were on the document's topic, and the server saw neither the secret nor any SDP.
    topic = topic_of(room_prefix(lite.site), room, lite.text, jupyterlab)
    assert len(signaling.relay.subscribers(topic)) == 4
    relayed = "".join(raw for _, _, raw in signaling.relay.frames)
    assert secret not in relayed
    # as JSON keys: encrypted messages are base64, which has "sdp" in it by chance (no quotes)
    assert '"sdp"' not in relayed and '"candidate"' not in relayed
    assert edit.strip() not in relayed


def test_a_link_with_an_empty_secret_is_refused_not_joined_in_the_open(
    jupyterlab, signaling, lite, room, alice
):
    original = text_of(lite.site, lite.text)
    a = alice.open(lab_url(lite.url, room=room, username="alice") + "#key=", lite.page_class)
    a.wait_for_dialog("This link's private room cannot be joined")
    assert 'the link\'s "#key=" is empty' in " ".join(a.dialogs())
    a.dismiss_dialog()
    open_text(a, lite.text, original)  # the document opens, without collaboration
    topic = topic_of(room_prefix(lite.site), room, lite.text, jupyterlab)
    assert signaling.relay.subscribers(topic) == set()
