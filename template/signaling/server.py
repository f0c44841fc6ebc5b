"""Signaling server for y-webrtc: the browsers editing a document meet through it.

It speaks the protocol of y-webrtc's reference server (bin/server.js in the npm
package y-webrtc), JSON text messages:

    {"type": "subscribe", "topics": [...]}    join topics (rooms)
    {"type": "unsubscribe", "topics": [...]}  leave topics
    {"type": "publish", "topic": "...", ...}  relayed to every subscriber of the
                                              topic, the sender included, with
                                              "clients": <number of subscribers>
    {"type": "ping"}                          answered by {"type": "pong"}

Only WebRTC handshakes pass through here; documents go directly between browsers.
Messages that are not such JSON objects are ignored.

Limits keep one client from hurting the others. Each is a flag and an environment
variable (see --help); 0 turns it off. A client over a limit is refused or closed
with a code and a reason, and the server logs it in one line, without the message
(one line per kind of event every 10 s at most, with the count of those not logged):

    HTTP 429      too many connections from one address (--max-connections-per-ip)
    HTTP 503      too many connections in all (--max-connections)
    close 1009    a message larger than --max-message-size
    close 1008    too many messages a second, too many topics, a topic name too long
    TCP reset     a client that does not read what is sent to it, once more than
                  --max-send-buffer bytes wait for it (a close frame would wait too)

With --metrics-port, GET /metrics on that port answers in Prometheus' text format.

With --redis-url, several instances behind one address (a host that runs more than one)
share their rooms through Redis' publish/subscribe: see Fanout.
"""

import argparse
import asyncio
import dataclasses
import errno
import gc
import ipaddress
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import OPEN

try:  # Unix only: the server raises its own limit of open files
    import resource
except ImportError:  # pragma: no cover
    resource = None

# Two optional speed-ups, in requirements.txt; the server behaves the same without them.
try:  # an event loop on libuv: with orjson, a sixth less CPU a message (README, benchmark)
    import uvloop
except ImportError:
    uvloop = None
try:  # parses twice as fast; like browsers, rejects NaN and Infinity, and only takes UTF-8
    import orjson

    parse_json = orjson.loads
except ImportError:
    orjson = None

    def parse_json(raw: bytes) -> object:
        # UTF-8 only: publishes are relayed as they came, in text frames. Python's json
        # accepts NaN and Infinity, which browsers' JSON.parse rejects.
        return json.loads(raw.decode(), parse_constant=reject_constant)


ORIGINS_FILE = Path(__file__).with_name("allowed_origins.txt")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# bin/server.js pings every 30 s and drops clients that did not answer the last ping.
KEEPALIVE_SECONDS = 30
# A client closed for breaking a limit gets this long to answer the close frame.
CLOSE_SECONDS = 2
# A connection refused when it opens gets this long to send its request (clients send it
# at once, with the end of the TCP handshake) before it is dropped without an answer...
REFUSED_SECONDS = 0.2
# ... and so many of them at once (each costs ~15 KB): in a flood, the others are dropped
# at once.
WAITING_REFUSED = 100
# One log line per kind of refusal per interval: a flood must not fill the disk.
LOG_INTERVAL_SECONDS = 10
# File descriptors kept for everything but client connections: logs, listening sockets,
# and a burst of connections accepted before they are counted.
SPARE_FILES = 128
# --trusted-proxy private: loopback and private networks (ipaddress' is_private)
PRIVATE = "private"
PONG = b'{"type":"pong"}'
JSON_WHITESPACE = b" \t\n\r"

log = logging.getLogger("signaling")


@dataclasses.dataclass(frozen=True)
class Limits:
    """What clients may do; None means no limit."""

    # SDP offers, the largest signals, are under 10 KB.
    max_message_size: int | None = 64 * 1024
    # y-webrtc subscribes to one topic per open document.
    max_topics: int | None = 100
    max_topics_per_message: int | None = 100
    # a topic is a 64-character room hash followed by the document's path
    max_topic_length: int | None = 1024
    # A browser joining a room of 30 sends an answer and a few ICE candidates to
    # each peer within a second or two: bursts of a few hundred messages.
    messages_per_second: int | None = 100
    message_burst: int = 1000
    # one classroom behind one NAT address fits
    max_connections_per_ip: int | None = 100
    max_connections: int | None = 10_000
    # Signals are small: a client with this much unsent data is not reading.
    max_send_buffer: int | None = 1024 * 1024


class RareLog:
    """Logs a kind of event at most once per LOG_INTERVAL_SECONDS, and how many it skipped."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.skipped: Counter[str] = Counter()

    def warning(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last.get(kind, -LOG_INTERVAL_SECONDS) < LOG_INTERVAL_SECONDS:
            self.skipped[kind] += 1
            return
        self.last[kind] = now
        if skipped := self.skipped.pop(kind, 0):
            message += f" ({skipped} more since the last such line, not logged)"
        log.warning(message, *args)


class Client(ServerConnection):
    """One WebSocket connection, with what the relay keeps about it."""

    def __init__(self, relay: "Relay", *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.relay = relay
        self.address: str | None = None  # once counted against the limit per address
        self.refusal: tuple[HTTPStatus, str] | None = None  # why it is refused, if it is
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
            client.refusal = self.refuse_connection(
                "connections", address, HTTPStatus.SERVICE_UNAVAILABLE, "server full"
            )
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
            return self.refuse_connection(
                "connections_per_ip",
                address,
                HTTPStatus.TOO_MANY_REQUESTS,
                "too many connections from your address",
            )
        self.per_address[address] += 1
        client.address = address
        return None

    def refuse_connection(
        self, kind: str, address: str, status: HTTPStatus, reason: str
    ) -> tuple[HTTPStatus, str]:
        self.refusals[kind] += 1
        self.rare.warning(kind, "refused a connection from %s: %s", address, reason)
        return status, reason + "\n"

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
                if refusal := self.take_token(client) or self.dispatch(client, raw):
                    await self.close(client, *refusal)
                    break
        except ConnectionClosed as closed:
            if closed.sent is not None and closed.sent.code == CloseCode.MESSAGE_TOO_BIG:
                self.refusals["message_size"] += 1
                self.rare.warning(
                    "message_size", "closed %s: %s", client.address, closed.sent.reason
                )
        finally:
            self.open -= 1
            self.leave_all(client)
            log.info("connection closed with code %s (%d open)", client.close_code, self.open)

    def take_token(self, client: Client) -> tuple[str, str] | None:
        rate = self.limits.messages_per_second
        if not rate:
            return None
        now = time.monotonic()
        client.tokens = min(
            self.limits.message_burst, client.tokens + (now - client.refilled) * rate
        )
        client.refilled = now
        if client.tokens < 1:
            return "message_rate", f"more than {rate} messages a second"
        client.tokens -= 1
        return None

    def dispatch(self, client: Client, raw: bytes) -> tuple[str, str] | None:
        """Act on one message; return (kind, reason) if it breaks a limit."""
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
                if refusal := self.check_topics(client, names):
                    return refusal
                for topic in {name for name in names if isinstance(name, str)}:
                    self.subscribers.setdefault(topic, set()).add(client)
                    client.topics.add(topic)
                    if self.fanout is not None:
                        self.fanout.counted(topic)
                log.debug("subscribe: %d topics, %d bytes", len(names), len(raw))
            case {"type": "unsubscribe", "topics": list() as names}:
                if refusal := self.check_topics(client, names, adding=False):
                    return refusal
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

    def check_topics(
        self, client: Client, names: list, adding: bool = True
    ) -> tuple[str, str] | None:
        limits = self.limits
        if limits.max_topics_per_message and len(names) > limits.max_topics_per_message:
            return (
                "topics_per_message",
                f"more than {limits.max_topics_per_message} topics in a message",
            )
        if not adding:
            return None
        new = {name for name in names if isinstance(name, str)} - client.topics
        if limits.max_topic_length and any(len(name) > limits.max_topic_length for name in new):
            return "topic_length", f"a topic name longer than {limits.max_topic_length} characters"
        if limits.max_topics and len(client.topics) + len(new) > limits.max_topics:
            return "topics", f"more than {limits.max_topics} topics"
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

    async def close(self, client: Client, kind: str, reason: str) -> None:
        """Close a client that broke a limit, with 1008 (policy violation) and why."""
        self.refusals[kind] += 1
        self.rare.warning(kind, "closed %s: %s", client.address, reason)
        self.leave_all(client)
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await client.close(CloseCode.POLICY_VIOLATION, reason)
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

    # ------------------------------------------------------------- metrics ---

    def metrics(self) -> str:
        """The counts in Prometheus' text format (a few lines: no library needed)."""
        refusals = "\n".join(
            f'signaling_refusals_total{{reason="{kind}"}} {self.refusals[kind]}'
            for kind in REFUSALS
        )
        return f"""\
# HELP signaling_connections Open WebSocket connections.
# TYPE signaling_connections gauge
signaling_connections {self.open}
# HELP signaling_topics Topics with at least one subscriber.
# TYPE signaling_topics gauge
signaling_topics {len(self.subscribers)}
# HELP signaling_relayed_messages_total Publishes relayed to at least one subscriber.
# TYPE signaling_relayed_messages_total counter
signaling_relayed_messages_total {self.relayed}
# HELP signaling_delivered_messages_total Messages sent to subscribers for those publishes.
# TYPE signaling_delivered_messages_total counter
signaling_delivered_messages_total {self.delivered}
# HELP signaling_refusals_total Connections refused or closed for breaking a limit.
# TYPE signaling_refusals_total counter
{refusals}
# HELP signaling_slow_consumers_dropped_total Clients dropped for not reading.
# TYPE signaling_slow_consumers_dropped_total counter
signaling_slow_consumers_dropped_total {self.dropped}
""" + (self.fanout.metrics() if self.fanout is not None else "")


# ------------------------------------------------------------------ fan-out ---

# With --redis-url (see Fanout): the channel that the instances share,
REDIS_CHANNEL = "y-webrtc-signaling"
# how often each one with subscribers sends all its counts (saying that it is alive),
ANNOUNCE_SECONDS = 10.0
# after how long without a word from an instance the others forget it and its subscribers,
FORGET_SECONDS = 3 * ANNOUNCE_SECONDS
# how long between tries to reach Redis again, and how long a try may take,
RECONNECT_SECONDS = 1.0
REDIS_TIMEOUT_SECONDS = 5.0
# and how many messages may wait to be sent to Redis (past that it is too slow for us).
MAX_OUTBOX = 10_000


@dataclasses.dataclass
class Instance:
    """Another instance, as far as this one knows."""

    heard: float  # time.monotonic() when its last message came
    counts: dict[str, int]  # its subscribers, by topic


def redacted(url: str) -> str:
    """A Redis URL without its password, for the log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Fanout:
    """With --redis-url: the rooms of several instances of this server, shared through Redis.

    Behind a load balancer, the people of one room may land on different instances. Each
    instance relays its clients' publishes to its own subscribers at once, as it does alone,
    and also PUBLISHes them on one Redis channel; the other instances relay what they read
    there to their subscribers. Each instance also tells the others how many subscribers each
    of its topics has, so that "clients" counts the subscribers on every instance.

    One channel for every topic keeps this simple: no Redis subscription per topic, and the
    messages of one instance arrive everywhere in the order it sent them (so its new
    subscriber's count arrives before that subscriber's first publish). Each instance reads
    every publish (its own come back too): instances add availability, not capacity. Each
    spends ~100 µs of CPU a publish (an instance alone, ~40), and two with their Redis on one
    core relay 6,000 publishes a second (one alone, 20,000: benchmarks/signaling.py --servers
    ours redis). A class joining a room sends a few thousand.

    Nothing is stored in Redis. Subscriber counts live in each instance's memory: an instance
    sends its changes as they happen, all its counts every ANNOUNCE_SECONDS while it has
    subscribers, and "bye" when it stops; one not heard from for FORGET_SECONDS (it crashed,
    or lost Redis) is forgotten, and its subscribers stop counting. An instance with no
    subscribers sends nothing: hosted Redis plans count commands.

    Without Redis (down, hung, or unreachable: its connection closes, a command times out, or
    our own announcement has not come back by the next one) an instance goes on relaying to
    its own clients, its "clients" counts only them, and it tries to reach Redis again every
    RECONNECT_SECONDS, logging once when it loses Redis and once when it is back.
    """

    def __init__(self, relay: Relay, url: str) -> None:
        import redis.asyncio  # here: a server without --redis-url never loads it
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.relay = relay
        self.where = redacted(url)
        self.redis = redis.asyncio.from_url(
            url,
            # no retries inside redis-py: listen() reconnects, and knows that it had to
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            # RESP2, which every Redis-compatible service speaks (redis-py 8 asks for RESP3,
            # Redis 6 or newer); it also reads a message in a fifth less time
            protocol=2,
        )
        self.errors = (redis.RedisError, OSError)
        self.name = secrets.token_hex(8)  # this instance's, on the channel
        self.up = False
        self.unanswered = False  # our last announcement has not come back through Redis
        self.down_since: float | None = None  # since when Redis is out of reach, once logged
        self.others: dict[str, Instance] = {}  # the other instances, by name
        self.changed: set[str] = set()  # topics whose count the others do not know yet
        self.outbox: list[bytes] = []  # messages for the channel, sent by write()
        self.wake = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.sent = 0  # messages published on the channel
        self.received = 0  # publishes from other instances
        self.dropped = 0  # messages not sent: Redis was out of reach, or too slow

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(coroutine)
            for coroutine in (self.listen(), self.write(), self.announce_regularly())
        ]

    async def close(self) -> None:
        """Say bye, so that the others stop counting our subscribers now; stop."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.up:
            bye = self.message({"from": self.name, "counts": {}, "bye": True})
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    await self.redis.publish(REDIS_CHANNEL, bye)
            except (*self.errors, TimeoutError):
                pass  # they forget us after FORGET_SECONDS
        await self.redis.aclose()

    # --------------------------------------------------------- this instance ---

    def publish(self, topic: str, receivers: set[Client], raw: bytes) -> None:
        """Relay a client's publish to our subscribers and to the other instances."""
        self.flush()  # new subscribers first: the others count them in what we publish
        clients = len(receivers) + sum(other.counts.get(topic, 0) for other in self.others.values())
        relayed = self.relay.publish(receivers, raw, clients)
        self.send({"from": self.name, "topic": topic}, relayed)

    def counted(self, topic: str) -> None:
        """A topic's count of subscribers here changed: tell the others soon."""
        if not self.changed:  # once for all changes of this turn of the event loop
            self.relay.loop.call_soon(self.flush)
        self.changed.add(topic)

    def flush(self) -> None:
        if self.changed:
            self.announce(self.changed)

    def announce(self, topics: Iterable[str] | None = None, hello: bool = False) -> None:
        """Send our counts of these topics (None: of all, replacing what the others know)."""
        subscribers = self.relay.subscribers
        if topics is None:
            counts = {topic: len(clients) for topic, clients in subscribers.items()}
        else:
            counts = {topic: len(subscribers.get(topic, ())) for topic in topics}
        self.changed.clear()
        header = {"from": self.name, "counts": counts}
        if topics is None:
            header["full"] = True
        if hello:  # we just (re)connected: the others answer with all their counts
            header["hello"] = True
        self.send(header)

    def send(self, header: dict, payload: bytes = b"") -> None:
        if not self.up:
            self.dropped += 1
            return
        if len(self.outbox) >= MAX_OUTBOX:
            self.dropped += 1
            self.relay.rare.warning("redis_slow", "Redis is too slow: dropped a message")
            return
        self.outbox.append(self.message(header, payload))
        self.wake.set()

    @staticmethod
    def message(header: dict, payload: bytes = b"") -> bytes:
        """A JSON header line (JSON escapes newlines), then the payload as it is."""
        return json.dumps(header, separators=(",", ":")).encode() + b"\n" + payload

    async def write(self) -> None:
        """Publish the outbox on the channel, in order, as much as has piled up at a time."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.outbox = self.outbox, []
            if not self.up:
                self.dropped += len(batch)
                continue
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for message in batch:
                        pipe.publish(REDIS_CHANNEL, message)
                    await pipe.execute()
                self.sent += len(batch)
            except self.errors as error:
                self.dropped += len(batch)
                self.lost(error)

    async def announce_regularly(self) -> None:
        """While we have subscribers, all our counts every ANNOUNCE_SECONDS: they tell the
        others that we are alive, and coming back to us through Redis, that the link works.
        Without subscribers we say nothing (hosted Redis plans count commands). Forget the
        instances not heard from for FORGET_SECONDS."""
        while True:
            await asyncio.sleep(ANNOUNCE_SECONDS)
            if self.up and self.relay.subscribers:
                if self.unanswered:  # the last one never came back: the link is dead
                    self.lost(ConnectionError("our own messages no longer come back from Redis"))
                else:
                    self.unanswered = True  # until it, or any of ours, comes back
                    self.announce()
            now = time.monotonic()
            for name, other in list(self.others.items()):
                if now - other.heard > FORGET_SECONDS:
                    del self.others[name]
                    if other.counts:  # not merely idle: it crashed, or lost Redis
                        log.warning(
                            "forgot instance %s and its %d subscribers: not heard from for %.0f s",
                            name,
                            sum(other.counts.values()),
                            now - other.heard,
                        )

    # ------------------------------------------------------- the other ones ---

    async def listen(self) -> None:
        """Read the channel; reconnect whenever Redis is lost, for as long as we run."""
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(REDIS_CHANNEL)
                    self.connected()
                    while self.up:  # write() or announce_regularly() may find Redis gone first
                        message = await pubsub.get_message(timeout=1.0)
                        if message is not None:
                            self.receive(message["data"])
            except self.errors as error:
                self.lost(error)
            # start afresh: no connection that the lost Redis had is used again
            await self.redis.connection_pool.disconnect()
            await asyncio.sleep(RECONNECT_SECONDS)

    def connected(self) -> None:
        if self.down_since is None:
            log.info("sharing rooms with other instances through Redis at %s", self.where)
        else:
            log.warning(
                "Redis is back after %.0f s: sharing rooms with other instances again",
                time.monotonic() - self.down_since,
            )
        self.up, self.down_since, self.unanswered = True, None, False
        self.announce(hello=True)

    def lost(self, error: Exception) -> None:
        """Redis is out of reach: relay to our own clients only, until it is back."""
        if self.up or self.down_since is None:  # once an outage
            log.warning(
                "cannot reach Redis at %s (%s): relaying to this instance's clients only, "
                "trying again every %g s",
                self.where,
                str(error) or type(error).__name__,
                RECONNECT_SECONDS,
            )
            self.down_since = time.monotonic()
        self.up = False
        self.others.clear()  # out of reach: "clients" counts ours only

    def receive(self, data: bytes) -> None:
        """A message of the channel: a publish to relay, or an instance's counts."""
        header, _, payload = data.partition(b"\n")
        try:
            header = json.loads(header)
            name = header["from"]
            if name == self.name:  # ours, back from Redis: our clients have it already
                self.unanswered = False
                return
            other = self.others.get(name)
            if other is not None:
                other.heard = time.monotonic()
            if "topic" in header:
                self.received += 1
                receivers = self.relay.subscribers.get(header["topic"])
                if receivers:  # the same bytes for all, "clients" included
                    self.relay.send(receivers, payload)
                    self.relay.relayed += 1
                    self.relay.delivered += len(receivers)
            elif header.get("bye"):
                self.others.pop(name, None)
            else:
                if header.get("full") or other is None:
                    other = self.others[name] = Instance(time.monotonic(), {})
                for topic, n in header["counts"].items():
                    if type(n) is int and n > 0:  # not a bool, a float, a string
                        other.counts[topic] = n
                    else:
                        other.counts.pop(topic, None)
                if header.get("hello"):  # a new instance, or one back: tell it ours
                    self.announce()
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            self.relay.rare.warning("redis_message", "ignored a bad message from Redis: %r", error)

    def metrics(self) -> str:
        return f"""\
# HELP signaling_redis_up Whether this instance reaches the others through Redis (1) or not (0).
# TYPE signaling_redis_up gauge
signaling_redis_up {int(self.up)}
# HELP signaling_redis_instances Other instances known (idle ones say nothing, and are forgotten).
# TYPE signaling_redis_instances gauge
signaling_redis_instances {len(self.others)}
# HELP signaling_redis_sent_messages_total Messages published to the other instances.
# TYPE signaling_redis_sent_messages_total counter
signaling_redis_sent_messages_total {self.sent}
# HELP signaling_redis_received_publishes_total Publishes read from the other instances.
# TYPE signaling_redis_received_publishes_total counter
signaling_redis_received_publishes_total {self.received}
# HELP signaling_redis_dropped_messages_total Messages for the others dropped: no Redis.
# TYPE signaling_redis_dropped_messages_total counter
signaling_redis_dropped_messages_total {self.dropped}
"""


REFUSALS = (
    "origin",
    "connections",
    "connections_per_ip",
    "message_size",
    "message_rate",
    "topics",
    "topics_per_message",
    "topic_length",
)


def reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def log_refusal(relay: Relay, connection: Client, request: Request, response: Response) -> None:
    if response.status_code == HTTPStatus.FORBIDDEN:
        relay.refusals["origin"] += 1
        origin = request.headers.get("Origin")
        relay.rare.warning("origin", "refused connection from origin %r", origin)


def answer_metrics(relay: Relay, connection: ServerConnection, request: Request) -> Response:
    if request.path != "/metrics":
        return connection.respond(HTTPStatus.NOT_FOUND, "only /metrics here\n")
    response = connection.respond(HTTPStatus.OK, relay.metrics())
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    return response


def quiet_accept_errors(rare: RareLog):
    """An event loop exception handler that logs running out of files once in a while.

    asyncio logs a traceback each time accept() fails for want of file descriptors,
    and retries every second or sooner: a log flood when it matters least.
    """

    def handle(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE):
            rare.warning("files", "cannot accept connections: %s", error.strerror)
        else:
            loop.default_exception_handler(context)

    return handle


def open_files_limit() -> int | None:
    """Raise this process's limit of open files to the most allowed; return it."""
    if resource is None:  # pragma: no cover
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return None if soft == resource.RLIM_INFINITY else soft


async def serve_forever(
    host: str,
    port: int,
    origins: list[str] | None,
    limits: Limits = Limits(),
    trusted_proxies: list | None = None,
    metrics_port: int | None = None,
    redis_url: str | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT. With origins None, any Origin is accepted."""
    relay = Relay(limits, trusted_proxies or [])
    if redis_url:
        relay.fanout = Fanout(relay, redis_url)
    loop = asyncio.get_running_loop()
    # What is loaded by now lives as long as the server: out of the garbage collector's
    # way, its full passes, which stop the relay while they last, take a third less time.
    gc.collect()
    gc.freeze()
    loop.set_exception_handler(quiet_accept_errors(relay.rare))
    async with serve(
        relay.handle,
        host,
        port,
        # None in the list accepts clients that send no Origin. Browsers always send
        # one; other clients could send any, so refusing them would protect nothing.
        origins=None if origins is None else [*origins, None],
        process_request=relay.process_request,
        process_response=lambda *args: log_refusal(relay, *args),
        create_connection=lambda *args, **kwargs: Client(relay, *args, **kwargs),
        ping_interval=KEEPALIVE_SECONDS,
        ping_timeout=KEEPALIVE_SECONDS,
        max_size=limits.max_message_size,
        # websockets' own sends (keepalive pings, close frames) wait while more is buffered
        write_limit=limits.max_send_buffer or 2**15,
        # Connections the kernel queues for the server: after a restart every browser
        # reconnects at once, and a full queue drops them for a second or more.
        backlog=1024,
        # Browsers offer permessage-deflate. Declining it saves ~50 KB a connection and
        # most of the CPU per message; signals are small and cross the network once.
        compression=None,
    ) as server:
        metrics = None
        if metrics_port is not None:
            metrics = await serve(
                None,
                host,
                metrics_port,
                process_request=lambda connection, request: answer_metrics(
                    relay, connection, request
                ),
            )
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, server.close)
        log.info(
            "listening on ws://%s:%d, allowed origins: %s",
            host,
            port,
            "any" if origins is None else ", ".join(origins),
        )
        speedups = [name for name, module in (("uvloop", uvloop), ("orjson", orjson)) if module]
        log.info("speed-ups: %s", ", ".join(speedups) or "none (see requirements.txt)")
        if metrics is not None:
            log.info("metrics on http://%s:%d/metrics", host, metrics_port)
        if relay.fanout is not None:
            relay.fanout.start()
        await server.wait_closed()
        if metrics is not None:
            metrics.close()
            await metrics.wait_closed()
    if relay.fanout is not None:
        await relay.fanout.close()
    log.info("stopped")


def origin(value: str) -> str:
    """An origin as browsers send it, scheme://host[:port]; a URL gives its origin."""
    value = value.strip()
    if value == "*":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{value!r} is not an origin like https://example.org")
    return f"{parts.scheme}://{parts.netloc}".lower()


def log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")
    return value.upper()


def count(value: str) -> int | None:
    """A limit: a whole number, 0 for none (None)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is negative")
    return number or None


def networks(value: str) -> list:
    """Addresses or networks, comma separated: 127.0.0.1, 10.0.0.0/8, ::1; or "private"
    (loopback and private networks) or "none"."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if names in (["private"], ["none"]):
        return [] if names == ["none"] else [PRIVATE]
    try:
        return [ipaddress.ip_network(name, strict=False) for name in names]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def allowed_origins(parser: argparse.ArgumentParser, flags: list[str] | None) -> list[str] | None:
    """Origins from the flags, else ALLOWED_ORIGINS, else allowed_origins.txt.

    None means any origin. Exits with a usage error if there is none or one is invalid.
    """
    if flags:
        values, source = flags, "--allowed-origin"
    elif os.environ.get("ALLOWED_ORIGINS"):
        values, source = os.environ["ALLOWED_ORIGINS"].split(","), "ALLOWED_ORIGINS"
    elif ORIGINS_FILE.is_file():
        lines = ORIGINS_FILE.read_text(encoding="utf-8").splitlines()
        values, source = [line.split("#", 1)[0] for line in lines], str(ORIGINS_FILE)
    else:
        parser.error(
            f"no allowed origins: pass --allowed-origin, set ALLOWED_ORIGINS or "
            f"create {ORIGINS_FILE}"
        )
    try:
        origins = {origin(value) for value in values if value.strip()}
    except argparse.ArgumentTypeError as error:
        parser.error(f"{source}: {error}")
    if not origins:
        parser.error(f"{source} lists no origin; add your site's origin, or * to allow any")
    return None if "*" in origins else sorted(origins)


def check_redis_url(parser: argparse.ArgumentParser, url: str) -> None:
    """Exit with a usage error if url is no Redis URL, or the redis package is missing."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError if it is not a number)
    except ValueError as error:
        parser.error(f"REDIS_URL / --redis-url: {error}")
    if parts.scheme not in ("redis", "rediss", "unix"):
        parser.error(
            f"REDIS_URL / --redis-url: {redacted(url)!r} is not a redis://, rediss:// "
            "or unix:// URL"
        )
    try:
        import redis  # noqa: F401
    except ImportError:
        parser.error("--redis-url needs the redis package: pip install -r requirements.txt")


def add_limit(parser, name: str, unit: str, text: str, zero: str = "no limit") -> None:
    """A flag --NAME and its variable NAME (upper case), defaulting to Limits' value."""
    env = name.upper().replace("-", "_")
    default = getattr(Limits, name.replace("-", "_")) or 0
    parser.add_argument(
        f"--{name}",
        type=count,
        default=count(os.environ.get(env) or str(default)),
        metavar=unit,
        help=f"{text} (env {env}; default {default}; 0: {zero})",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Signaling server for y-webrtc (collaboration in JupyterLite).",
        epilog="Browsers always send an Origin header and are refused (HTTP 403) "
        "unless it is allowed. Clients that send none are not browsers and are "
        "accepted: an Origin check cannot stop them anyway. Plain HTTP requests get "
        "200 'okay', for health checks. A client over a limit is refused or closed "
        "with a reason, and logged once, without the message.",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("SIGNALING_HOST", "127.0.0.1"),
        help="interface to listen on, 0.0.0.0 for all (env SIGNALING_HOST; default 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=os.environ.get("PORT", "4444"),
        help="TCP port (env PORT; default 4444)",
    )
    parser.add_argument(
        "--allowed-origin",
        action="append",
        type=origin,
        metavar="ORIGIN",
        help="origin of a site allowed to connect, e.g. https://you.github.io; "
        "repeatable; * allows any (env ALLOWED_ORIGINS, comma separated; default: "
        "the lines of allowed_origins.txt next to this script)",
    )
    parser.add_argument(
        "--log-level",
        type=log_level,
        default=os.environ.get("LOG_LEVEL", "INFO"),
        metavar="{" + ",".join(LOG_LEVELS) + "}",
        help="INFO logs connections, DEBUG also each message's type and size, "
        "never its contents (env LOG_LEVEL; default INFO)",
    )
    limits = parser.add_argument_group("limits")
    add_limit(limits, "max-message-size", "BYTES", "larger messages close the connection (1009)")
    add_limit(limits, "max-topics", "N", "topics one connection may subscribe to")
    add_limit(limits, "max-topics-per-message", "N", "topics in one (un)subscribe message")
    add_limit(limits, "max-topic-length", "CHARS", "length of a topic name")
    add_limit(
        limits, "messages-per-second", "N", "messages a connection may send a second, on average"
    )
    add_limit(
        limits,
        "message-burst",
        "N",
        "messages a connection may send at once, above the average",
        zero="1",
    )
    add_limit(limits, "max-connections-per-ip", "N", "open connections from one address")
    add_limit(
        limits,
        "max-connections",
        "N",
        "open connections in all, kept under the open files limit",
        zero="that limit only",
    )
    add_limit(
        limits,
        "max-send-buffer",
        "BYTES",
        "data waiting for a client that does not read, before it is dropped",
    )
    limits.add_argument(
        "--trusted-proxy",
        action="append",
        type=networks,
        metavar="ADDRESS",
        help="a reverse proxy (address or network, e.g. 172.17.0.1 or 10.0.0.0/8) whose "
        "X-Forwarded-For header gives the client's address; repeatable; 'none' trusts none "
        "(env TRUSTED_PROXIES, comma separated; default: 'private', loopback and private "
        "networks: where a proxy on the same machine, or a host's load balancer, connects from)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=os.environ.get("METRICS_PORT") or None,
        help="serve GET /metrics (Prometheus text format) on this port, on the same "
        "interface; keep it private (env METRICS_PORT; default: off)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or None,
        metavar="URL",
        help="share rooms with the other instances of this server that use this Redis, e.g. "
        "redis://:PASSWORD@HOST:6379 or rediss://... (TLS); needed when one signaling URL "
        "leads to several instances; needs the redis package (requirements.txt) "
        "(env REDIS_URL; default: none, this instance alone)",
    )
    args = parser.parse_args(argv)
    origins = allowed_origins(parser, args.allowed_origin)
    if args.redis_url:
        check_redis_url(parser, args.redis_url)
    trusted = [n for flag in args.trusted_proxy for n in flag] if args.trusted_proxy else None
    if trusted is None:
        try:
            trusted = networks(os.environ.get("TRUSTED_PROXIES") or "private")
        except argparse.ArgumentTypeError as error:
            parser.error(f"TRUSTED_PROXIES: {error}")

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s")
    # websockets logs every connection at INFO and message contents at DEBUG.
    logging.getLogger("websockets").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    files = open_files_limit()
    max_connections = args.max_connections
    if files is not None and (max_connections or files) > files - SPARE_FILES:
        max_connections = max(1, files - SPARE_FILES)
        log.info("at most %d connections: the limit of open files is %d", max_connections, files)
    limits = Limits(
        max_message_size=args.max_message_size,
        max_topics=args.max_topics,
        max_topics_per_message=args.max_topics_per_message,
        max_topic_length=args.max_topic_length,
        messages_per_second=args.messages_per_second,
        message_burst=args.message_burst or 1,
        max_connections_per_ip=args.max_connections_per_ip,
        max_connections=max_connections,
        max_send_buffer=args.max_send_buffer,
    )
    run = uvloop.run if uvloop is not None else asyncio.run
    try:
        run(
            serve_forever(
                args.host, args.port, origins, limits, trusted, args.metrics_port, args.redis_url
            )
        )
    except OSError as error:  # e.g. the port is in use
        log.error("cannot serve on %s:%d: %s", args.host, args.port, error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
