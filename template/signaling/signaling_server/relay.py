"""The relay: connections, their topics, and the limits enforced on them (limits.py)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections import Counter
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, NoReturn

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import OPEN

from .limits import (
    MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_IP,
    MAX_MESSAGE_SIZE,
    MAX_TOPIC_LENGTH,
    MAX_TOPICS,
    MAX_TOPICS_PER_MESSAGE,
    MESSAGES_PER_SECOND,
    Limit,
    Limits,
)
from .logs import RareLog, log

if TYPE_CHECKING:
    from .fanout import Fanout

try:  # an optional speed-up (requirements.txt): parses twice as fast; like browsers, it
    # rejects NaN and Infinity, and only takes UTF-8
    import orjson

    parse_json = orjson.loads
except ImportError:
    orjson = None

    def parse_json(raw: bytes) -> object:
        # UTF-8 only: publishes are relayed as they came, in text frames. Python's json
        # accepts NaN and Infinity, which browsers' JSON.parse rejects.
        return json.loads(raw.decode(), parse_constant=reject_constant)


def reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


# A client closed for breaking a limit gets this long to answer the close frame.
CLOSE_SECONDS = 2
# A connection refused when it opens gets this long to send its request (clients send it
# at once, with the end of the TCP handshake) before it is dropped without an answer...
REFUSED_SECONDS = 0.2
# ... and so many of them at once (each costs ~15 KB): in a flood, the others are dropped
# at once.
WAITING_REFUSED = 100
# --trusted-proxy private: loopback and private networks (ipaddress' is_private)
PRIVATE = "private"
PONG = b'{"type":"pong"}'
JSON_WHITESPACE = b" \t\n\r"


class Client(ServerConnection):
    """One WebSocket connection, with what the relay keeps about it."""

    def __init__(self, relay: Relay, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.relay = relay
        self.address: str | None = None  # once counted against the limit per address
        self.refusal: tuple[HTTPStatus, str] | None = None  # its answer, if it is refused
        self.drop_timer: asyncio.TimerHandle | None = None  # drops it if refused and idle
        self.topics: set[str] = set()
        # a token bucket: one token a message, refilled at messages_per_second
        self.tokens = float(relay.limits.message_burst)
        self.refilled = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.relay.connection_made(self)

    def data_received(self, data: bytes) -> None:
        if self.refusal is None:
            super().data_received(data)
        else:  # refused when it opened: its request, answered unparsed (that costs less)
            if b"\nupgrade:" in data.lower():
                answer = self.respond(*self.refusal)
            else:  # a health check: a full server is not a broken one
                answer = self.respond(HTTPStatus.OK, "okay\n")
            self.transport.write(answer.serialize())
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.relay.connection_lost(self)


class Relay:
    """The subscribers of every topic, and the counts that the limits need."""

    def __init__(self, limits: Limits, trusted_proxies: list) -> None:
        self.loop = asyncio.get_running_loop()
        self.limits = limits
        self.trusted_proxies = trusted_proxies
        self.subscribers: dict[str, set[Client]] = {}
        self.per_address: Counter[str] = Counter()
        self.sockets = 0  # TCP connections, WebSocket or not yet
        self.waiting_refused = 0  # refused connections waiting for their request
        self.open = 0  # WebSocket connections past the handshake
        self.relayed = 0  # publishes relayed to at least one subscriber
        self.delivered = 0  # messages sent for them
        self.refusals: Counter[str] = Counter()
        self.dropped = 0  # clients dropped for not reading
        self.rare = RareLog()
        self.fanout: Fanout | None = None  # with --redis-url, the other instances

    # ------------------------------------------------- connections per address ---

    def connection_made(self, client: Client) -> None:
        """Count a new TCP connection, in all and against its address (unless a proxy's).

        Counting here, before any HTTP, also counts clients that connect and send nothing
        (each holds a file descriptor until the opening handshake times out), and refuses
        at the least cost. The limit in all comes before the process runs out of file
        descriptors.
        """
        self.sockets += 1
        peer = client.transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else "unix"
        if self.limits.max_connections and self.sockets > self.limits.max_connections:
            client.refusal = self.refuse_connection(MAX_CONNECTIONS, address)
        elif not self.trusted(address):  # else counted under the address the proxy forwards
            client.refusal = self.admit(client, address)
        if client.refusal:
            if self.waiting_refused >= WAITING_REFUSED:  # a flood: no time for them
                client.transport.abort()
                return
            # answered when its request comes (Client.data_received), dropped if none does
            client.drop_timer = self.loop.call_later(REFUSED_SECONDS, client.transport.abort)
            self.waiting_refused += 1

    def process_request(self, client: Client, request: Request) -> Response | None:
        if "Upgrade" not in request.headers:
            # health checks of hosting platforms: "okay", as bin/server.js answers
            return client.respond(HTTPStatus.OK, "okay\n")
        if client.address is None:  # from a trusted proxy
            if refusal := self.admit(client, self.forwarded_address(client, request)):
                return client.respond(*refusal)
        elif "X-Forwarded-For" in request.headers:
            self.rare.warning(
                "x-forwarded-for",
                "ignored X-Forwarded-For from %s, which is not a trusted proxy: all "
                "clients behind it count as one address (see --trusted-proxy)",
                client.address,
            )
        return None

    def admit(self, client: Client, address: str) -> tuple[HTTPStatus, str] | None:
        """Count the connection under address, or say why it is refused."""
        limit = self.limits.max_connections_per_ip
        if limit and self.per_address[address] >= limit:
            return self.refuse_connection(MAX_CONNECTIONS_PER_IP, address)
        self.per_address[address] += 1
        client.address = address
        return None

    def refuse_connection(self, limit: Limit, address: str) -> tuple[HTTPStatus, str]:
        reason = limit.told(getattr(self.limits, limit.name))
        self.refusals[limit.refusal] += 1
        self.rare.warning(limit.refusal, "refused a connection from %s: %s", address, reason)
        return limit.answer, reason + "\n"

    def connection_lost(self, client: Client) -> None:
        self.sockets -= 1
        if client.drop_timer is not None:
            client.drop_timer.cancel()  # it holds the connection: let it go now
            self.waiting_refused -= 1
        if client.address is not None:
            self.per_address[client.address] -= 1
            if not self.per_address[client.address]:
                del self.per_address[client.address]
        self.leave_all(client)

    def trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if PRIVATE in self.trusted_proxies:
            return ip.is_private
        return any(ip in network for network in self.trusted_proxies)

    def forwarded_address(self, client: Client, request: Request) -> str:
        """The client's address: the last one in X-Forwarded-For that is no trusted proxy.

        Proxies append the address they see, so addresses further left come from the
        client and could be anything.
        """
        peer = client.transport.get_extra_info("peername")[0]
        forwarded = ",".join(request.headers.get_all("X-Forwarded-For")).split(",")
        for address in reversed([a.strip() for a in forwarded if a.strip()]):
            if not self.trusted(address):
                try:
                    return str(ipaddress.ip_address(address))
                except ValueError:
                    return peer  # not an address: no better guess than the proxy
        return peer

    # ------------------------------------------------------------ messages ---

    async def handle(self, client: Client) -> None:
        """Serve one client until it goes away or breaks a limit."""
        self.open += 1
        log.info(
            "connection opened from origin %r (%d open)",
            client.request.headers.get("Origin"),
            self.open,
        )
        # websockets keeps the opening handshake for the connection's life. Its headers
        # are a quarter of what a browser's connection costs, and are not read again.
        client.request.headers.clear()
        client.response.headers.clear()
        try:
            while True:
                raw = await client.recv(decode=False)
                if broken := self.take_token(client) or self.dispatch(client, raw):
                    await self.close(client, broken)
                    break
        except ConnectionClosed as closed:
            if closed.sent is not None and closed.sent.code == MAX_MESSAGE_SIZE.answer:
                kind = MAX_MESSAGE_SIZE.refusal  # websockets closed it: counted here
                self.refusals[kind] += 1
                self.rare.warning(kind, "closed %s: %s", client.address, closed.sent.reason)
        finally:
            self.open -= 1
            self.leave_all(client)
            log.info("connection closed with code %s (%d open)", client.close_code, self.open)

    def take_token(self, client: Client) -> Limit | None:
        rate = self.limits.messages_per_second
        if not rate:
            return None
        now = time.monotonic()
        client.tokens = min(
            self.limits.message_burst, client.tokens + (now - client.refilled) * rate
        )
        client.refilled = now
        if client.tokens < 1:
            return MESSAGES_PER_SECOND
        client.tokens -= 1
        return None

    def dispatch(self, client: Client, raw: bytes) -> Limit | None:
        """Act on one message; return the limit it breaks, if it does."""
        try:
            message = parse_json(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            message = None
        match message:
            case {"type": "publish", "topic": str() as topic} if topic:
                receivers = self.subscribers.get(topic)
                if self.fanout is not None:  # also to the other instances' subscribers
                    self.fanout.publish(topic, receivers or set(), raw)
                elif receivers:
                    self.publish(receivers, raw)
                log.debug(
                    "publish: 1 topic, %d bytes, relayed to %d", len(raw), len(receivers or ())
                )
            case {"type": "subscribe", "topics": list() as names}:
                if broken := self.check_topics(client, names):
                    return broken
                for topic in {name for name in names if isinstance(name, str)}:
                    self.subscribers.setdefault(topic, set()).add(client)
                    client.topics.add(topic)
                    if self.fanout is not None:
                        self.fanout.counted(topic)
                log.debug("subscribe: %d topics, %d bytes", len(names), len(raw))
            case {"type": "unsubscribe", "topics": list() as names}:
                if broken := self.check_topics(client, names, adding=False):
                    return broken
                for name in names:
                    if isinstance(name, str) and name in client.topics:
                        self.leave(name, client)
                log.debug("unsubscribe: %d topics, %d bytes", len(names), len(raw))
            case {"type": "ping"}:
                self.send([client], PONG)
                log.debug("ping: %d bytes", len(raw))
            case _:
                log.debug("ignored an unknown or malformed message: %d bytes", len(raw))
        return None

    def check_topics(self, client: Client, names: list, adding: bool = True) -> Limit | None:
        limits = self.limits
        if limits.max_topics_per_message and len(names) > limits.max_topics_per_message:
            return MAX_TOPICS_PER_MESSAGE
        if not adding:
            return None
        new = {name for name in names if isinstance(name, str)} - client.topics
        if limits.max_topic_length and any(len(name) > limits.max_topic_length for name in new):
            return MAX_TOPIC_LENGTH
        if limits.max_topics and len(client.topics) + len(new) > limits.max_topics:
            return MAX_TOPICS
        return None

    def publish(self, receivers: set[Client], raw: bytes, clients: int | None = None) -> bytes:
        """Relay a publish to the topic's subscribers, adding "clients"; return what was sent.

        "clients" is the number of subscribers, or `clients` (with --redis-url: on every
        instance). The message was parsed, so it is a JSON object: ending it with one more member
        is cheaper than serialising it again. A "clients" member sent by the client comes
        first, and JSON.parse keeps the last one of a name.
        """
        count = len(receivers) if clients is None else clients
        relayed = b'%s,"clients":%d}' % (raw.rstrip(JSON_WHITESPACE)[:-1], count)
        if receivers:
            self.send(receivers, relayed)
            self.relayed += 1
            self.delivered += len(receivers)
        return relayed

    def send(self, clients: Iterable[Client], message: bytes) -> None:
        """Send a UTF-8 text message to clients, without waiting for them to read it.

        As websockets.broadcast() does, but the frame is built once for all: with no
        extension (no compression) every client gets the same bytes (broadcast() builds one
        a client, a sixth of the CPU time a relayed message costs). Clients then over
        --max-send-buffer are dropped: none stays over it, so websockets' keepalive pings,
        which wait while a client is over it, are never stuck.
        """
        frame = Frame(Opcode.TEXT, message).serialize(mask=False)
        limit = self.limits.max_send_buffer
        slow = []
        for client in clients:
            if client.protocol.state is OPEN:  # not once it has sent or received a close frame
                client.transport.write(frame)
                if limit and client.transport.get_write_buffer_size() > limit:
                    slow.append(client)
        for client in slow:
            self.drop(client)  # it leaves its topics: not while they are iterated

    def drop(self, client: Client) -> None:
        """Drop a client that does not read what is sent to it.

        Everything sent waits in memory until it reads, and so would a close frame:
        the connection is reset instead.
        """
        self.dropped += 1
        self.rare.warning(
            "slow_consumer",
            "dropped %s: %d bytes wait to be sent to it (--max-send-buffer)",
            client.address,
            client.transport.get_write_buffer_size(),
        )
        self.leave_all(client)
        client.transport.abort()

    async def close(self, client: Client, limit: Limit) -> None:
        """Close a client that broke a limit, with the limit's code and reason."""
        reason = limit.told(getattr(self.limits, limit.name))
        self.refusals[limit.refusal] += 1
        self.rare.warning(limit.refusal, "closed %s: %s", client.address, reason)
        self.leave_all(client)
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await client.close(limit.answer, reason)
        except TimeoutError:  # it does not read the close frame
            client.transport.abort()

    def leave(self, topic: str, client: Client) -> None:
        client.topics.discard(topic)
        subscribers = self.subscribers[topic]
        subscribers.discard(client)
        if not subscribers:
            del self.subscribers[topic]
        if self.fanout is not None:
            self.fanout.counted(topic)

    def leave_all(self, client: Client) -> None:
        for topic in list(client.topics):
            self.leave(topic, client)
