"""With --redis-url: several instances of this server share their rooms through Redis (Fanout)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .logs import log

if TYPE_CHECKING:
    from .relay import Client, Relay

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
