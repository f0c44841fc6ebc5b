"""A site that lists two signaling servers collaborates while one of them is down.

The site's signaling guide recommends listing two: y-webrtc connects to every server listed, and
people meet through any that is up. Here one of the two URLs is dead in one of the ways a real
server is, listed first or last; the other is the live signaling service the other browser tests
use. Two people, each in a browser of their own, open one document in a room, and each one's
edit reaches the other.
"""

import contextlib
import json
import shutil
import socket
import threading

import pytest
from support.collaboration import (
    alice_then_bob_on_text,
    room_prefix,
    trade_edits,
)
from support.networks import NAMESPACE_ADDRESS
from support.previews import preview
from support.signaling_service import topic_of

# What the pages get from a host whose service is down (crashed, or being deployed).
UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
# An address on the namespace's only link that nothing holds: a connection attempt gets no
# answer (nobody answers ARP for it) and fails after a few seconds, as one to a machine that is
# gone. Both ends of that link are inside the namespace, so nothing leaves it.
NOBODY = NAMESPACE_ADDRESS.rsplit(".", 1)[0] + ".2"


class DeadSignalingServer:
    """A signaling URL whose server is down, `how` (a key of DEAD_SERVERS).

    `tries` counts the connections the pages opened to it (None where no connection opens).
    """

    def __init__(self, network, how):
        self.tries = None
        self._sockets = []
        self._thread = None
        self._stopped = threading.Event()
        if how == "unreachable":
            if not network.name:
                pytest.skip("an unreachable address stays inside a private network namespace only")
            self.url = f"ws://{NOBODY}:4444"
            return
        # Created in the namespace (network.call): connections to it come from the pages there.
        sock = network.call(socket.socket, socket.AF_INET, socket.SOCK_STREAM)
        self._sockets.append(sock)
        sock.bind((network.host, 0))
        self.url = f"ws://{network.host}:{sock.getsockname()[1]}"
        if how == "port closed":
            return  # bound, so nothing else takes the port, but not listening: refused
        sock.listen()
        sock.settimeout(0.1)  # so that the accept loop sees close() within 0.1 s
        self.tries = 0
        answer = {"answers 503": UNAVAILABLE, "never answers": None}[how]
        self._thread = threading.Thread(target=self._serve, args=(sock, answer), daemon=True)
        self._thread.start()

    def _serve(self, listener, answer):
        while not self._stopped.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            self.tries += 1
            if answer is None:
                self._sockets.append(connection)  # held open, never answered
                continue
            with connection:
                connection.settimeout(5)
                request = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in request and (data := connection.recv(4096)):
                        request += data
                    connection.sendall(answer)

    def close(self):
        self._stopped.set()
        if self._thread:
            self._thread.join()
        for sock in self._sockets:
            sock.close()


# How a dead server is dead -> where a site owner meets it.
DEAD_SERVERS = {
    "answers 503": "its host answers the WebSocket upgrade with 503 (the service crashed)",
    "never answers": "it accepts the connection, then nothing (a host waking a sleeping instance)",
    "port closed": "nothing listens on its port: the connection is refused",
    "unreachable": "nothing answers at its address: the connection fails (a machine gone)",
}


@contextlib.contextmanager
def dead_signaling_server(network, how):
    server = DeadSignalingServer(network, how)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def failover_copies():
    """The failover sites made so far, by flavour."""
    return {}


@pytest.fixture
def failover_site(lite, failover_copies, tmp_path_factory):
    """A copy of the test's flavour of site, built: its previews write their signaling URLs
    into its own _output/, so the session's preview of that site (lite.url) keeps its own."""
    if lite.jupyterlab not in failover_copies:
        site = tmp_path_factory.mktemp("failover") / "site"
        shutil.copytree(lite.site, site)
        failover_copies[lite.jupyterlab] = site
    return failover_copies[lite.jupyterlab]


@pytest.fixture
def serve_failover_site(network, lite, failover_site, site_ports, signaling):
    """serve(urls): the failover site's own preview.py, pointed at these signaling URLs, on the
    port the signaling service lets in; it stops after the test. Taking `signaling` makes sure
    the live service is up: a test before this one may have stopped it."""
    with contextlib.ExitStack() as stack:

        def serve(urls):
            # --no-build: the copy is built; the URLs are the only change
            options = ["--no-build", *(o for url in urls for o in ("--signaling-url", url))]
            port = site_ports["failover"]
            stack.enter_context(preview(network, lite.python, failover_site, port, *options))
            return network.site_url(port)

        yield serve


def served_signaling_urls(site):
    config = json.loads((site / "_output" / "jupyter-lite.json").read_text(encoding="utf-8"))
    return config["jupyter-config-data"]["fullWebRtcSignalingUrls"]


@pytest.mark.parametrize(
    ("how", "dead_first"),
    [
        pytest.param("answers 503", True, id="server answering 503 listed first"),
        pytest.param("answers 503", False, id="server answering 503 listed last"),
        pytest.param("never answers", True, id="server never answering listed first"),
        pytest.param("never answers", False, id="server never answering listed last"),
        pytest.param("port closed", True, id="closed port listed first"),
        pytest.param("unreachable", True, id="unreachable address listed first"),
    ],
)
def test_two_people_collaborate_while_one_of_two_signaling_servers_is_down(
    how,
    dead_first,
    jupyterlab,
    network,
    signaling,
    lite,
    serve_failover_site,
    failover_site,
    room,
    alice,
    bob,
):
    with dead_signaling_server(network, how) as dead:
        urls = [dead.url, signaling.url] if dead_first else [signaling.url, dead.url]
        site_url = serve_failover_site(urls)
        assert served_signaling_urls(failover_site) == urls, "preview.py keeps the order given"

        a, b, original = alice_then_bob_on_text(
            alice, bob, site_url, failover_site, lite.text, room, lite.page_class
        )
        trade_edits(a, b, original)

        # They met through the live server, and the pages did try the dead one.
        topic = topic_of(room_prefix(failover_site), room, lite.text, jupyterlab)
        assert len(signaling.relay.subscribers(topic)) == 2
        if dead.tries is not None:
            assert dead.tries >= 2, f"the pages never tried the dead server: {DEAD_SERVERS[how]}"
