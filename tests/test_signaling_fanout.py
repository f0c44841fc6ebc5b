"""Several instances of the signaling server share their rooms through Redis (--redis-url).

Behind a load balancer, the people of one room may land on different instances. Here two
instances of template/signaling/server.py (A and B, on two loopback ports) share one
redis-server of the test's own (a free loopback port, a password, nothing saved): a publish
on either reaches every subscriber on both exactly once, "clients" counts the subscribers of
both, and the counts follow subscribes, unsubscribes, closed connections and instances that
stop or die. Redis going down and coming back never stops an instance's own relaying, and
relaying between the instances resumes by itself. The last test has two people, each in a
browser of their own on a preview whose signaling server is a different instance, edit one
document together.

Exactly once: once a client on the other instance has the publish under test, it publishes a
fence, and once every subscriber has that, the sender publishes a second fence. Redis delivers
each instance's messages in the order they were published, so a duplicate of the publish
under test, or an instance relaying its own publish back from Redis, would reach a subscriber
before the second fence. Each such mistake, made by hand in the server's fanout.py, fails these
tests.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from support.collaboration import room_prefix, text_of, trade_edits
from support.metrics import read_metrics
from support.networks import LOCAL, Network
from support.previews import preview
from support.processes import LOOPBACK, START_TIMEOUT, free_port, running, stop, wait_until
from support.signaling_clients import (
    ALLOWED_ORIGIN,
    TIMEOUT,
    assert_nothing_received,
    client,
    receive,
    send,
    subscribe,
)
from support.signaling_servers import HIDE_SPEEDUPS, SERVER, our_command, server_help
from support.sites import REPO_ROOT, STACK
from websockets.frames import Frame, Opcode
from websockets.sync.client import ClientConnection

# They time what crosses instances through Redis: they need the machine to themselves (`timed`).
pytestmark = pytest.mark.timed

PASSWORD = "fan-out-secret"  # Redis' password: must never reach a log
LOST = "cannot reach Redis"  # what an instance logs once when it loses Redis...
BACK = "Redis is back"  # ... and once when it has it again
# Runs the server with the fan-out's intervals short, so that an instance that died is
# forgotten in about a second rather than FORGET_SECONDS: `python -c SHORT_INTERVALS server.py
# ARGS...`. Both are constants of the fan-out module next to server.py, read when they are used.
SHORT_INTERVALS = (
    "import os, sys; sys.path[0] = os.path.dirname(sys.argv[1]); "
    "from signaling_server import cli, fanout; "
    "fanout.ANNOUNCE_SECONDS, fanout.FORGET_SECONDS = 0.5, 1.5; "
    "sys.exit(cli.main(sys.argv[2:]))"
)


# ----------------------------------------------------------------- servers ---


class RedisServer:
    """A redis-server of the test's own, which can stop and start again on the same port, in
    a network: this machine's loopback, or the browsers' namespace."""

    def __init__(self, network: Network = LOCAL) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is missing: apt-get install redis-server (scripts/setup)")
        self.network, self.port = network, network.free_port()
        self.process: subprocess.Popen | None = None
        self.url = f"redis://:{PASSWORD}@{network.host}:{self.port}/0"

    def start(self) -> None:
        args = ["--port", self.port, "--bind", self.network.host, "--requirepass", PASSWORD]
        # nothing on disk: a restart comes back empty, as a free-tier Redis may
        args += ["--save", "", "--appendonly", "no", "--dir", "/tmp"]
        command = self.network.command(["redis-server", *args])
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        self.network.wait_for_port(self.port, process=self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


class Instance:
    """One instance of our server, with --redis-url, its /metrics and its log."""

    def __init__(self, name: str, log: Path, network: Network) -> None:
        self.name, self.log, self.network = name, log, network
        self.port, self.metrics_port = network.free_port(), network.free_port()
        self.url = f"ws://{network.host}:{self.port}"
        self.process: subprocess.Popen | None = None

    def metrics(self) -> dict[str, float]:
        url = f"http://{self.network.host}:{self.metrics_port}/metrics"
        return self.network.call(read_metrics, url, TIMEOUT)

    def reaches_redis(self) -> bool:
        return self.metrics()["signaling_redis_up"] == 1

    def knows(self) -> int:
        """How many other instances it knows (an idle one is forgotten after FORGET_SECONDS)."""
        return int(self.metrics()["signaling_redis_instances"])

    def logged(self, text: str) -> int:
        return self.log.read_text().count(text)


@contextlib.contextmanager
def instance(
    tmp_path: Path,
    name: str,
    redis_url: str,
    *,
    flag: bool = False,
    short_intervals: bool = False,
    network: Network = LOCAL,
    server: Path = SERVER,
    origins: tuple[str, ...] = (ALLOWED_ORIGIN,),
) -> Iterator[Instance]:
    """Our server (`server`) with REDIS_URL, or with `flag` --redis-url, in `network`."""
    this = Instance(name, tmp_path / f"{name}.log", network)
    flags = ["--host", network.host, "--metrics-port", str(this.metrics_port)]
    flags += [option for origin in origins for option in ("--allowed-origin", origin)]
    flags += ["--redis-url", redis_url] if flag else []
    command = our_command(this.port, *flags, server=server)
    if short_intervals:  # python -c SHORT_INTERVALS server.py ARGS...
        command[1:1] = ["-c", SHORT_INTERVALS]
    env = {} if flag else {"REDIS_URL": redis_url}
    with (
        this.log.open("w") as log,
        running(network.command(command), env=env, stderr=log) as process,
    ):
        network.wait_for_port(this.port, process=process)
        network.wait_for_port(this.metrics_port, process=process)  # opens just after
        this.process = process
        yield this
    assert PASSWORD not in this.log.read_text(), "the Redis password was logged"


@contextlib.contextmanager
def two_instances(tmp_path: Path, redis_url: str, **kwargs) -> Iterator[tuple[Instance, ...]]:
    """A and B, once both reach Redis."""
    with (
        instance(tmp_path, "A", redis_url, **kwargs) as a,
        instance(tmp_path, "B", redis_url, flag=True, **kwargs) as b,
    ):
        wait_until(lambda: a.reaches_redis() and b.reaches_redis(), timeout=TIMEOUT)
        yield a, b


@contextlib.contextmanager
def three_on_two_instances(tmp_path: Path, redis_url: str, topic: str, **kwargs) -> Iterator:
    """Instances a and b; alice and carol on a, bob on b, all subscribed to `topic`, once a
    publish of alice's counts all three: yields (a, b, alice, carol, bob)."""
    with (
        two_instances(tmp_path, redis_url, **kwargs) as (a, b),
        client(a.url) as alice,
        client(a.url) as carol,
        client(b.url) as bob,
    ):
        for subscriber in (alice, carol, bob):
            subscribe(subscriber, topic)
        count_reaches(3, alice, topic, [carol, bob])
        yield a, b, alice, carol, bob


# ----------------------------------------------------------------- clients ---


def publish(sender: ClientConnection, topic: str, data: str) -> None:
    send(sender, type="publish", topic=topic, data=data)


def received_until(connection: ClientConnection, data: str) -> list[dict]:
    """The messages the connection gets, up to and including the publish of `data`."""
    messages = []
    while not messages or messages[-1].get("data") != data:
        messages.append(receive(connection))
    return messages


def count_reaches(
    clients: int, sender: ClientConnection, topic: str, subscribers: list[ClientConnection]
) -> None:
    """Publish from sender (a subscriber) until "clients" says `clients`, then read every
    subscriber up to that last publish: counts travel between instances in a few ms."""
    deadline = time.monotonic() + TIMEOUT
    for attempt in range(10_000):
        probe = f"probe-{attempt}"
        publish(sender, topic, probe)
        if receive(sender)["clients"] == clients:
            break
        assert time.monotonic() < deadline, f"'clients' did not reach {clients}"
        time.sleep(0.02)
    for subscriber in subscribers:
        if subscriber is not sender:
            received_until(subscriber, probe)


def assert_delivered_once(
    topic: str,
    sender: ClientConnection,
    fence: ClientConnection,
    subscribers: list[ClientConnection],
    clients: int,
) -> None:
    """A publish from `sender` reaches each subscriber exactly once, with "clients". `fence`,
    a subscriber on the other instance, publishes the first fence once it has the publish;
    the sender publishes the second once every subscriber has the first (see the module's
    doc)."""
    data = f"offer-{uuid.uuid4().hex[:8]}"
    got = {subscriber: [] for subscriber in subscribers}
    publish(sender, topic, data)
    got[fence] += received_until(fence, data)
    publish(fence, topic, "fence-1")
    for subscriber in subscribers:
        got[subscriber] += received_until(subscriber, "fence-1")
    publish(sender, topic, "fence-2")
    for subscriber, messages in got.items():
        messages += received_until(subscriber, "fence-2")
        assert [m["data"] for m in messages] == [data, "fence-1", "fence-2"]
        assert [m["clients"] for m in messages] == [clients] * 3


def masked_frame(message: dict) -> bytes:
    """A client's text frame, to write to its socket directly."""
    return Frame(Opcode.TEXT, json.dumps(message).encode()).serialize(mask=True)


# ----------------------------------------------------------- the protocol ---


def test_a_publish_reaches_the_subscribers_of_both_instances_once(
    tmp_path: Path, redis_server: RedisServer, topic: str
) -> None:
    with (
        two_instances(tmp_path, redis_server.url) as (a, b),
        client(a.url) as alice,
        client(a.url) as carol,
        client(b.url) as bob,
        client(b.url) as dave,  # subscribes to nothing
        client(a.url) as erin,  # subscribes to nothing
    ):
        for subscriber in (alice, carol, bob):
            subscribe(subscriber, topic)
        count_reaches(3, alice, topic, [carol, bob])
        count_reaches(3, bob, topic, [alice, carol])

        assert_delivered_once(topic, alice, bob, [alice, carol, bob], clients=3)
        assert_delivered_once(topic, bob, carol, [alice, carol, bob], clients=3)
        # from clients that subscribed to nothing, on either instance
        assert_delivered_once(topic, dave, alice, [alice, carol, bob], clients=3)
        assert_delivered_once(topic, erin, bob, [alice, carol, bob], clients=3)
        for outsider in (dave, erin):
            assert_nothing_received(outsider)

        metrics = a.metrics()
        assert metrics["signaling_redis_received_publishes_total"] >= 4
        assert metrics["signaling_redis_dropped_messages_total"] == 0
    for server in (a, b):
        assert server.logged(LOST) == 0
        assert server.logged("sharing rooms with other instances through Redis at redis://") == 1


def test_counts_follow_subscribes_unsubscribes_and_closed_connections(
    tmp_path: Path, redis_server: RedisServer, topic: str
) -> None:
    other_topic = f"{topic}-other"
    with (
        two_instances(tmp_path, redis_server.url) as (a, b),
        client(a.url) as alice,
        client(b.url) as bob,
        client(b.url) as carol,
    ):
        subscribe(alice, topic, other_topic)
        subscribe(bob, topic, other_topic)
        count_reaches(2, alice, topic, [bob])
        with client(b.url) as dave:
            subscribe(dave, topic)
            count_reaches(3, alice, topic, [bob, dave])
        count_reaches(2, alice, topic, [bob])  # dave's connection closed

        send(bob, type="unsubscribe", topics=[topic])
        assert_nothing_received(bob)
        subscribe(carol, topic)
        count_reaches(2, alice, topic, [carol])
        assert_delivered_once(topic, alice, carol, [alice, carol], clients=2)
        assert_nothing_received(bob)  # on carol's instance, which had relayed to carol

        # the other topic kept both
        count_reaches(2, bob, other_topic, [alice])


def test_a_newcomer_on_the_other_instance_counts_in_the_answers_to_its_first_publish(
    tmp_path: Path, redis_server: RedisServer, topic: str
) -> None:
    """y-webrtc publishes an announce as soon as it subscribes, and the peers answer at once:
    the newcomer's count must travel ahead of its announce."""
    with two_instances(tmp_path, redis_server.url) as (a, b), client(a.url) as alice:
        subscribe(alice, topic)
        for attempt in range(20):
            announce, answer = f"announce-{attempt}", f"answer-{attempt}"
            with client(b.url) as bob:
                # in one TCP segment, as a browser may send them: the server reads both at once
                subscribing = {"type": "subscribe", "topics": [topic]}
                announcing = {"type": "publish", "topic": topic, "data": announce}
                bob.socket.sendall(masked_frame(subscribing) + masked_frame(announcing))
                assert receive(alice) == {**announcing, "clients": 2}
                publish(alice, topic, answer)
                assert receive(alice)["clients"] == 2
                # (an instance reads Redis and its clients apart: a probe of count_reaches that
                # alice published before bob subscribed may still reach him)
                got = [m["data"] for m in received_until(bob, answer)]
                assert [data for data in got if not data.startswith("probe-")] == [announce, answer]
            count_reaches(1, alice, topic, [])


def test_anything_else_written_on_the_channel_breaks_nothing(
    tmp_path: Path, redis_server: RedisServer, topic: str
) -> None:
    """Only the instances write on the channel; should anything else (a bug, someone with the
    Redis password), the instances ignore what is not theirs and count right."""
    junk = [
        b"not json",
        b"[]",
        b"null\n{}",
        b'{"from": 1}',
        b'{"from": "x", "counts": []}',
        b'{"from": "y", "counts": {"%s": "many"}}' % topic.encode(),
        b'{"from": "z", "counts": {"%s": true}, "full": true}' % topic.encode(),
        b'{"from": "w", "counts": {"%s": 2.5}}' % topic.encode(),
        b'{"from": "v", "topic": ["unhashable"]}\n{}',
    ]
    with (
        two_instances(tmp_path, redis_server.url) as (a, b),
        client(a.url) as alice,
        client(b.url) as bob,
        redis.Redis.from_url(redis_server.url) as writer,
    ):
        subscribe(alice, topic)
        subscribe(bob, topic)
        count_reaches(2, alice, topic, [bob])
        for message in junk:
            writer.publish("y-webrtc-signaling", message)
        assert_delivered_once(topic, alice, bob, [alice, bob], clients=2)
        assert_delivered_once(topic, bob, alice, [alice, bob], clients=2)
    assert a.logged("ignored a bad message from Redis") == 1  # then once every 10 s at most


@pytest.mark.parametrize(
    ("how", "signum"),
    [("stops", signal.SIGTERM), ("dies", signal.SIGKILL)],
)
def test_the_subscribers_of_an_instance_that_stops_or_dies_stop_counting(
    tmp_path: Path, redis_server: RedisServer, topic: str, how: str, signum: int
) -> None:
    """An instance that stops says bye; one that dies is forgotten once it has been silent
    for FORGET_SECONDS (here shortened to 1.5 s: 30 s in a real server)."""
    with (
        two_instances(tmp_path, redis_server.url, short_intervals=how == "dies") as (a, b),
        client(a.url) as alice,
    ):
        subscribe(alice, topic)
        with client(b.url) as bob:
            subscribe(bob, topic)
            count_reaches(2, alice, topic, [bob])
            assert a.knows() == 1
            b.process.send_signal(signum)
            b.process.wait(TIMEOUT)
        started = time.monotonic()
        count_reaches(1, alice, topic, [])
        wait_until(lambda: a.knows() == 0, timeout=TIMEOUT)
        assert time.monotonic() - started < 3
    assert (a.logged("forgot instance") == 1) == (how == "dies")


def test_local_relaying_never_stops_while_redis_restarts(
    tmp_path: Path, redis_server: RedisServer, topic: str
) -> None:
    """Alice publishes every 20 ms all along: carol, on her instance, gets each at once, with
    Redis up, down and up again; bob, on the other, gets them again once Redis is back."""
    with three_on_two_instances(tmp_path, redis_server.url, topic) as (
        a,
        b,
        alice,
        carol,
        bob,
    ):
        sent, latencies, bob_got = 0, [], []

        def publish_for(seconds: float) -> list[int]:
            """Publish every 20 ms for `seconds`; return the "clients" of each."""
            nonlocal sent
            clients = []
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                sent += 1
                started = time.monotonic()
                publish(alice, topic, str(sent))
                mine, carols = receive(alice), receive(carol)
                latencies.append(time.monotonic() - started)
                assert mine == carols and mine["data"] == str(sent)
                clients.append(mine["clients"])
                with contextlib.suppress(TimeoutError):
                    while True:
                        bob_got.append(int(json.loads(bob.recv(timeout=0))["data"]))
                time.sleep(0.02)
            return clients

        assert set(publish_for(0.5)) == {3}
        redis_server.stop()
        wait_until(lambda: not a.reaches_redis() and not b.reaches_redis(), timeout=TIMEOUT)
        assert a.knows() == b.knows() == 0  # their subscribers are out of reach
        first_unseen = sent + 1
        # Redis down: A relays to its own clients and counts only them (one log line each)
        assert set(publish_for(2.0)) == {2}
        outage = range(first_unseen, sent + 1)
        redis_server.start()
        deadline = time.monotonic() + 10
        while publish_for(0.2)[-1] != 3 or not bob_got or bob_got[-1] < outage.stop:
            assert time.monotonic() < deadline, "relaying between instances did not resume"
        while bob_got[-1] != sent:  # what is still on its way to bob
            bob_got.append(int(receive(bob)["data"]))
        assert max(latencies) < 0.5, f"local relaying stalled: {max(latencies):.2f} s"
        assert bob_got == sorted(set(bob_got)), "bob got a publish twice, or out of order"
        assert not [n for n in bob_got if n in outage], "sent while Redis was down"
        assert_delivered_once(topic, alice, bob, [alice, carol, bob], clients=3)
        assert_delivered_once(topic, bob, alice, [alice, carol, bob], clients=3)
        assert a.metrics()["signaling_redis_dropped_messages_total"] > 0
    for server in (a, b):
        assert server.logged(LOST) == 1, f"{server.name} logged the outage once"
        assert server.logged(BACK) == 1


def test_a_redis_that_hangs_is_noticed_and_local_relaying_goes_on(
    tmp_path: Path, redis_server: RedisServer, topic: str
) -> None:
    """Redis stops answering but closes nothing (SIGSTOP: a hung server, or a network that
    drops everything). An instance notices when its own announcement has not come back by
    the next one (ANNOUNCE_SECONDS, here 0.5 s), well before Redis' 5 s timeouts; it relays
    to its own clients meanwhile, and shares rooms again once Redis answers."""
    with three_on_two_instances(tmp_path, redis_server.url, topic, short_intervals=True) as (
        a,
        b,
        alice,
        carol,
        bob,
    ):
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            wait_until(lambda: not a.reaches_redis() and not b.reaches_redis(), timeout=TIMEOUT)
            assert time.monotonic() - started < 3
            publish(alice, topic, "while Redis hangs")
            assert receive(carol) == receive(alice)
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        wait_until(lambda: a.reaches_redis() and b.reaches_redis(), timeout=3 * TIMEOUT)
        count_reaches(3, alice, topic, [carol, bob])
        assert_delivered_once(topic, alice, bob, [alice, carol, bob], clients=3)
    for server in (a, b):
        assert server.logged(LOST) == 1
        assert server.logged(BACK) == 1


def test_an_instance_started_before_redis_serves_alone_until_it_comes(
    tmp_path: Path, topic: str
) -> None:
    redis_server = RedisServer()
    try:
        with (
            instance(tmp_path, "A", redis_server.url) as a,
            instance(tmp_path, "B", redis_server.url, flag=True) as b,
            client(a.url) as alice,
            client(b.url) as bob,
        ):
            subscribe(alice, topic)
            subscribe(bob, topic)
            publish(alice, topic, "alone")
            assert receive(alice)["clients"] == 1
            assert_nothing_received(bob)
            redis_server.start()
            wait_until(lambda: a.reaches_redis() and b.reaches_redis(), timeout=TIMEOUT)
            count_reaches(2, alice, topic, [bob])
            assert_delivered_once(topic, alice, bob, [alice, bob], clients=2)
    finally:
        redis_server.stop()
    for server in (a, b):
        assert server.logged(LOST) == 1
        assert server.logged(BACK) == 1


# --------------------------------------------------------- configuration ---


def test_without_redis_url_the_redis_package_is_not_needed(topic: str) -> None:
    """Off by default: the server runs as if redis were not installed (nothing loads it),
    and --redis-url without it is a usage error that says what to install."""
    no_redis = HIDE_SPEEDUPS.replace("sys.modules['orjson']", "sys.modules['redis']")
    port = free_port()
    command = [sys.executable, "-c", no_redis, SERVER, "--port", str(port)]
    with (
        running([*command, "--allowed-origin", "*"], ready_port=port),
        client(f"ws://{LOOPBACK}:{port}") as alice,
    ):
        subscribe(alice, topic)
        publish(alice, topic, "hello")
        assert receive(alice)["clients"] == 1
    result = subprocess.run(
        [*command, "--allowed-origin", "*", "--redis-url", "redis://localhost"],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert result.returncode == 2
    assert "--redis-url needs the redis package: pip install -r requirements.txt" in result.stderr


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://localhost:6379", "is not a redis://, rediss:// or unix:// URL"),
        ("redis://localhost:port", "Port could not be cast"),
    ],
)
def test_a_bad_redis_url_is_refused_with_a_clear_message(url: str, error: str) -> None:
    result = subprocess.run(
        our_command(free_port(), "--allowed-origin", "*", server=SERVER),
        env={**os.environ, "REDIS_URL": url},
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert result.returncode == 2
    assert "REDIS_URL / --redis-url: " in result.stderr and error in result.stderr


def test_help_documents_redis_url_and_the_redis_pin_is_the_tested_one() -> None:
    help_text = server_help()
    assert "--redis-url" in help_text and "REDIS_URL" in help_text
    tested = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["dependency-groups"]["test"]
    assert STACK["signaling_fanout"] in tested
    requirements = (REPO_ROOT / "template/signaling/requirements.txt.jinja").read_text()
    assert "{{ stack.signaling_fanout }}" in requirements


# ----------------------------------------------------------- in browsers ---


@pytest.fixture
def two_copies(tmp_path_factory, lite) -> list[Path]:
    """Two copies of the site, with its room prefix: each preview builds into its own _output/
    (the session's preview of the site keeps serving its own build)."""
    copies = []
    for name in ("a", "b"):
        site = tmp_path_factory.mktemp(f"fanout-{name}") / "site"
        shutil.copytree(
            lite.site,
            site,
            ignore=shutil.ignore_patterns("_output", "_preview", ".jupyterlite.doit.db*"),
        )
        copies.append(site)
    return copies


def test_two_people_whose_pages_signal_through_two_instances_edit_together(
    tmp_path, network, lite, two_copies, room, alice, bob
):
    """Alice's page signals through instance A only, Bob's through B only (a preview of the
    site per instance, as a load balancer could send them): they meet and edit together."""
    redis_server = RedisServer(network)
    site_ports = [network.free_port() for _ in two_copies]
    origins = tuple(f"http://{network.host}:{port}" for port in site_ports)
    shipped = lite.site / "signaling" / "server.py"
    with contextlib.ExitStack() as stack:
        redis_server.start()
        stack.callback(redis_server.stop)
        a, b = (
            stack.enter_context(
                instance(
                    tmp_path,
                    name,
                    redis_server.url,
                    network=network,
                    server=shipped,
                    origins=origins,
                )
            )
            for name in ("A", "B")
        )
        wait_until(lambda: a.reaches_redis() and b.reaches_redis(), timeout=TIMEOUT)
        site_urls = [
            stack.enter_context(
                preview(network, lite.python, site, port, "--signaling-url", server.url)
            )[0]
            for site, port, server in zip(two_copies, site_ports, (a, b), strict=True)
        ]
        assert room_prefix(two_copies[0]) == room_prefix(two_copies[1])

        original = text_of(two_copies[0], lite.text)
        page_a = lite.open_in(alice, site_urls[0], lite.text, room)
        page_a.wait_for_text(original)
        page_b = lite.open_in(bob, site_urls[1], lite.text, room)
        page_a.wait_for_peers(1)
        page_b.wait_for_peers(1)
        page_b.wait_for_text(original)
        trade_edits(page_a, page_b, original)

        # Each instance had one of them, and relayed the other one's signals from Redis.
        for server in (a, b):
            metrics = server.metrics()
            assert metrics["signaling_connections"] >= 1
            assert metrics["signaling_redis_received_publishes_total"] > 0
