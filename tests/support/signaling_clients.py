"""Clients of a signaling server, speaking y-webrtc's protocol from the test process."""

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

ALLOWED_ORIGIN = "http://allowed.test"  # the origin the tests' servers allow
TIMEOUT = 5.0  # seconds; every expected message arrives within milliseconds


def client(
    url: str, origin: str | None = ALLOWED_ORIGIN, *, source: str | None = None, **kwargs
) -> ClientConnection:
    """A connection from `origin` (None: not a browser, no Origin header), from the address
    `source` if given."""
    if source is not None:
        kwargs["source_address"] = (source, 0)
    # proxy=None: never route loopback test traffic through a proxy from the environment
    return connect(url, origin=origin, proxy=None, open_timeout=TIMEOUT, **kwargs)


def send(connection: ClientConnection, **message: object) -> None:
    connection.send(json.dumps(message))


def receive(connection: ClientConnection) -> dict:
    return json.loads(connection.recv(timeout=TIMEOUT))


def assert_nothing_received(connection: ClientConnection) -> None:
    """Ping, and expect the pong as next message.

    Servers handle each client's messages in order and push relays at once, so the
    pong coming next proves that nothing else had been sent to this client.
    """
    send(connection, type="ping")
    assert receive(connection) == {"type": "pong"}


def subscribe(connection: ClientConnection, *topics: str) -> None:
    """Subscribe, and return once the server has processed it (it sends no reply)."""
    send(connection, type="subscribe", topics=list(topics))
    assert_nothing_received(connection)


def assert_accepted(url: str, origin: str | None) -> None:
    with client(url, origin) as connection:
        assert_nothing_received(connection)


def assert_refused(url: str, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refusal:
        client(url, origin)
    assert refusal.value.response.status_code == 403
