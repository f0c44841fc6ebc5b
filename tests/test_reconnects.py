"""A person whose network drops (a school's Wi-Fi) goes on editing alone; once it is back, their
edits and everyone else's meet, with no reload and nothing lost.

Bob's browser runs on a laptop of its own (support.networks.Laptop): a network namespace joined
to the site's by a link the test cuts. Alice, the site and the signaling server stay up.
"""

import time

import pytest
from support.browsers import MESH_TIMEOUT_MS, Peer, launch_peer
from support.collaboration import alice_then_bob_on_text, marker, trade_edits
from support.processes import wait_until

# Chromium ends a peer connection whose consent checks fail for ~30 s.
CONNECTION_LOST_TIMEOUT_MS = 60_000
# Once the link is back: the page's signaling socket gives up on its silent connection (lib0:
# after 30 s without a message) and reconnects, then ICE, on a busy machine.
MEET_AGAIN_TIMEOUT_MS = 120_000


@pytest.fixture
def laptop(network):
    """The session's laptop (support.networks.Laptop), its Wi-Fi up again after the test."""
    if not network.laptop:
        pytest.skip("cutting one device's network needs network namespaces (root on Linux)")
    yield network.laptop
    network.laptop.restore()


@pytest.fixture
def bob_on_laptop(laptop, playwright):
    browser = launch_peer(playwright, laptop.network)
    bob = Peer(browser, "bob")
    yield bob
    bob.close_pages()
    browser.close()


@pytest.mark.parametrize(
    "connections_end", [False, True], ids=["a short drop", "a drop that ends the connections"]
)
def test_edits_made_while_the_network_was_down_meet_once_it_is_back(
    connections_end, jupyterlab, laptop, bob_on_laptop, signaling, lite, room, alice
):
    a, b, original = alice_then_bob_on_text(
        alice, bob_on_laptop, lite.url, lite.site, lite.text, room, lite.page_class
    )
    before = original + "".join(trade_edits(a, b, original))

    laptop.cut()
    from_alice, from_bob = marker("alice-meanwhile"), marker("bob-offline")
    a.type_at_end(from_alice)
    b.type_at_end(from_bob)
    if connections_end:
        for page in (a, b):
            page.wait_for_connections(0, CONNECTION_LOST_TIMEOUT_MS)
        a.wait_for_peers(0, CONNECTION_LOST_TIMEOUT_MS)
        a.wait_for_people_here(["alice"], CONNECTION_LOST_TIMEOUT_MS)
    else:
        time.sleep(5)
    assert (a.text(), b.text()) == (before + from_alice, before + from_bob)  # really apart

    laptop.restore()
    merged = {before + from_alice + from_bob, before + from_bob + from_alice}

    def alice_has_both_edits():
        return a.text() in merged

    try:
        wait_until(alice_has_both_edits, timeout=MEET_AGAIN_TIMEOUT_MS / 1000)
    except TimeoutError:
        raise AssertionError(
            f"the edits did not meet: alice {a.text()!r}, bob {b.text()!r}; alice's page "
            f"{a.collaboration_state()}; bob's {b.collaboration_state()}"
        ) from None
    b.wait_for_text(a.text(), MESH_TIMEOUT_MS)
    back = a.text()
    again = marker("bob-back")
    b.type_at_end(again)  # and they edit live again
    a.wait_for_text(back + again)
    for page in (a, b):
        page.wait_for_people_here(["alice", "bob"])
