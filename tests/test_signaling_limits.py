"""Abuse of the signaling server (template/signaling/server.py): limits hold, others go on.

Each abuse test runs our server (pinned to one core when there are two), a few "other rooms"
of well-behaved clients that keep publishing to each other (in a process of their own, from
127.0.0.2 so that the limit per address keeps them apart from the abuser), and the abuser in
a process of its own (from 127.0.0.1, on the other core, below the other rooms' priority).
It measures the other rooms' publish-to-arrival latency before and during the abuse, and
checks, while the abuse goes on:

- a fresh client's ping is answered within 100 ms (two pings of three);
- the other rooms' p99 stays within 2x their p99 before the abuse (the worse of two windows,
  plus SCHEDULING_SLACK_MS: one preempted wake-up on a shared 2-core machine costs that), or
  under STALL_MS: a test run beside other work measured 20-30 ms against a 3-9 ms baseline,
  while the server before these limits stalled the others for 1.7-2 s (each attempt prints
  the numbers; benchmarks/signaling.py measures latency properly);
- the limit answers the abuser with its close code and reason, counted in /metrics;

and, after the abuser has gone, that the server's memory returns near its level before.
Other work on the machine can stall every process for tens or hundreds of milliseconds, so
an abuse whose latencies fail is run again, up to ATTEMPTS times: a real stall (the server
before these limits stalled for seconds) fails every time. Where allowed (root), the server
and the other rooms run at a raised priority for the same reason. Everything is on loopback
and bounded: a few seconds an attempt.
"""

import asyncio
import contextlib
import errno
import json
import math
import multiprocessing
import os
import queue
import re
import resource
import selectors
import socket
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.metrics import read_metrics
from support.processes import LOOPBACK, free_port, http_get, running
from support.signaling_clients import ALLOWED_ORIGIN, client
from support.signaling_servers import SERVER, our_command, server_help
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

# The tests that time the server under attack (p99s, pongs) or count on its clock (a rate per
# second) need the machine to themselves; the others run beside other tests.
timed = pytest.mark.timed

OTHERS = "127.0.0.2"  # the well-behaved clients' address; the abuser's is LOOPBACK
PONG_WITHIN = 0.1  # seconds
SCHEDULING_SLACK_MS = float(os.environ.get("SLACK", "5.0"))
STALL_MS = 100.0  # other rooms' p99 below this is no stall, whatever the baseline
MEMORY_SLACK_MB = 8.0  # allocator arenas, a few thousand freed objects
ABUSE_SECONDS = 3.0
WINDOW_SECONDS = 2.0
ATTEMPTS = 3
TWO_CORES = len(os.sched_getaffinity(0)) >= 2
PRIORITY = -10  # nice value of the server and of the other rooms' clients


# ----------------------------------------------------------------- the server ---


class Server:
    def __init__(self, url: str, metrics_url: str, pid: int, log: Path) -> None:
        self.url, self.metrics_url, self.pid, self.log = url, metrics_url, pid, log

    def metrics(self) -> dict[str, float]:
        return read_metrics(self.metrics_url)

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) / 1024


@contextlib.contextmanager
def server(
    tmp_path: Path,
    *flags: str,
    preexec_fn: Callable | None = None,
    speedups: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Our server on loopback, on core 0 while this process keeps to core 1."""
    port, metrics_port = free_port(), free_port()
    flags = ("--allowed-origin", ALLOWED_ORIGIN, "--metrics-port", str(metrics_port), *flags)
    command = our_command(port, *flags, speedups=speedups)

    def setup() -> None:
        if TWO_CORES:
            os.sched_setaffinity(0, {0})
        raise_priority()
        if preexec_fn is not None:
            preexec_fn()

    log = tmp_path / "server.log"
    mask = os.sched_getaffinity(0)
    try:
        if TWO_CORES:
            os.sched_setaffinity(0, {1})
        with (
            log.open("w") as stderr,
            running(command, ready_port=port, stderr=stderr, preexec_fn=setup, env=env) as process,
        ):
            yield Server(
                f"ws://{LOOPBACK}:{port}",
                f"http://{LOOPBACK}:{metrics_port}/metrics",
                process.pid,
                log,
            )
    finally:
        os.sched_setaffinity(0, mask)


def raise_priority() -> None:
    """Run before other processes on this machine, where allowed (root): what slows the
    other rooms must be the abuse, not other work on the machine (browsers in tests)."""
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)


def pong_seconds(url: str) -> float:
    """How long a fresh client waits for the answer to its ping (connecting not counted)."""
    with client(url, source=OTHERS) as fresh:
        started = time.perf_counter()
        fresh.send('{"type":"ping"}')
        assert json.loads(fresh.recv(timeout=5)) == {"type": "pong"}
        return time.perf_counter() - started


# ------------------------------------------------------------ the other rooms ---


class OtherRooms:
    """Rooms of two that publish to each other every INTERVAL, from OTHERS.

    They run in a process of their own (this one's threads would share its interpreter
    lock), which stamps each arrival at the other member against the send time.
    """

    ROOMS = 6
    INTERVAL = 0.02  # 50 messages a second each: well under the rate limit

    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, their_end = context.Pipe()
        self.process = context.Process(target=run_rooms, args=(their_end, url), daemon=True)

    def __enter__(self) -> "OtherRooms":
        self.process.start()
        assert self.pipe.poll(20), "the other rooms did not start"
        assert self.pipe.recv() == "ready"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pipe.send(None)
        self.process.join(10)
        self.process.kill()

    def p99(self, seconds: float, during: Callable[[], None] = lambda: None) -> float:
        """p99 latency (ms) of the arrivals within the next `seconds`, running `during` too."""
        self.pipe.send(seconds)
        during()
        assert self.pipe.poll(seconds + 10), "the other rooms are stuck"
        samples = self.pipe.recv()
        assert isinstance(samples, list), samples  # else an error
        if len(samples) < seconds * self.ROOMS / self.INTERVAL / 2:
            return math.inf  # the rooms' own process was starved: no measure
        return statistics.quantiles(samples, n=100)[98]


def run_rooms(pipe, url: str) -> None:
    """The other rooms' process: answers each number of seconds with the latencies then."""
    try:
        asyncio.run(rooms(pipe, url))
    except BaseException as error:
        pipe.send(repr(error))
        raise


async def rooms(pipe, url: str) -> None:
    loop = asyncio.get_running_loop()
    samples: list[float] | None = None

    def connect_from_others():
        return async_connect(url, origin=ALLOWED_ORIGIN, proxy=None, local_addr=(OTHERS, 0))

    async def room(topic: str) -> None:
        nonlocal samples
        async with connect_from_others() as sender, connect_from_others() as receiver:
            for member in (sender, receiver):
                await member.send(json.dumps({"type": "subscribe", "topics": [topic]}))
                await member.send('{"type":"ping"}')
                await member.recv()  # the pong: subscribed
            ready.release()

            async def read_own_echoes() -> None:
                async for _ in sender:
                    pass

            async def stamp() -> None:
                async for raw in receiver:
                    sent = json.loads(raw)["data"]
                    if samples is not None:
                        samples.append((time.perf_counter() - sent) * 1000)

            async def send() -> None:
                while True:
                    publish = {"type": "publish", "topic": topic, "data": time.perf_counter()}
                    await sender.send(json.dumps(publish))
                    await asyncio.sleep(OtherRooms.INTERVAL)

            await asyncio.gather(read_own_echoes(), stamp(), send())

    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(room(f"other-room-{n}")) for n in range(OtherRooms.ROOMS)]
    for _ in tasks:
        await ready.acquire()
    await asyncio.sleep(0.3)  # warm up
    pipe.send("ready")
    while (seconds := await loop.run_in_executor(None, pipe.recv)) is not None:
        samples = []
        await asyncio.sleep(seconds)
        pipe.send(samples)
        samples = None
    for task in tasks:
        task.cancel()


class Abuser:
    """target(results, url, going_on, *args) in a process of its own, which starts now, abuses
    once told (`go`), and stops when told (`stop`) or after ABUSE_SECONDS: what it costs to
    start and to end is not in the timed windows."""

    def __init__(self, target: Callable, url: str, *args: object) -> None:
        context = multiprocessing.get_context("spawn")
        self.results, self._ready = context.Queue(), context.Event()
        self._go, self._stop = context.Event(), context.Event()
        self.process = context.Process(
            target=abuse_when_told,
            args=(self._ready, self._go, self._stop, target, self.results, url, *args),
            daemon=True,
        )
        self.process.start()

    def wait_until_ready(self) -> None:
        assert self._ready.wait(30), "the abuser did not start"

    def go(self) -> None:
        self.wait_until_ready()
        self._go.set()

    def stop(self) -> None:
        """Ends the abuse once its round under way is over (its answers are counted)."""
        self._stop.set()

    def report(self) -> object:
        """Its report, once it is done (it is bounded by ABUSE_SECONDS)."""
        deadline = time.monotonic() + ABUSE_SECONDS + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                return self.results.get(timeout=0.2)
            exitcode = self.process.exitcode
            assert self.process.is_alive(), f"the abuser died with exit code {exitcode}"
        raise AssertionError("the abuser ran for too long")


def abuse_when_told(ready, go, stop, target: Callable, results, url: str, *args: object) -> None:
    ready.set()
    go.wait()
    deadline = time.monotonic() + ABUSE_SECONDS
    target(results, url, lambda: time.monotonic() < deadline and not stop.is_set(), *args)


def assert_others_unharmed(
    srv: Server, abuser: Callable, *args: object, settle: float = 0.5
) -> tuple[object, dict]:
    """Run the abuser; check pongs, the other rooms' p99 and memory. Return its report and
    how the server's /metrics moved meanwhile."""
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    raise_priority()  # this thread's, and so the other rooms' thread's (Linux: per thread)
    try:
        return abuse(srv, abuser, *args, settle=settle)
    finally:
        with contextlib.suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, 0, niceness)


def abuse(srv: Server, abuser: Callable, *args: object, settle: float) -> tuple[object, dict]:
    """Up to ATTEMPTS times, until the pongs and the other rooms' p99 pass (see the top)."""
    for attempt in range(1, ATTEMPTS + 1):
        abusing = Abuser(abuser, srv.url, *args)  # starts beside the rooms
        try:
            with OtherRooms(srv.url) as rooms:
                abusing.wait_until_ready()
                rss_before, metrics_before = srv.rss_mb(), srv.metrics()
                # the worse of two windows: this machine's other work comes and goes
                baseline = max(rooms.p99(WINDOW_SECONDS / 2) for _ in range(2))
                abusing.go()
                time.sleep(settle)  # the abuse is under way
                pongs: list[float] = []

                def ping_three_times(pongs: list[float] = pongs) -> None:
                    for _ in range(3):
                        pongs.append(pong_seconds(srv.url))
                        time.sleep(0.3)

                during = rooms.p99(WINDOW_SECONDS, ping_three_times)
                abusing.stop()
                report = abusing.report()
                abusing.process.kill()
                peak = srv.rss_mb()
                deadline = time.monotonic() + 10
                while srv.rss_mb() > rss_before + MEMORY_SLACK_MB and time.monotonic() < deadline:
                    time.sleep(0.2)
                after = srv.rss_mb()
        finally:
            abusing.process.kill()
        print(
            f"attempt {attempt}: p99 {baseline:.2f} -> {during:.2f} ms; pongs "
            f"{[round(p * 1000, 1) for p in pongs]} ms; RSS {rss_before:.1f} -> {peak:.1f} -> "
            f"{after:.1f} MB; abuser: {report}"
        )
        assert after <= rss_before + MEMORY_SLACK_MB, (
            f"RSS {rss_before:.1f} MB before, {peak:.1f} MB at the end of the abuse, "
            f"{after:.1f} MB 10 s later"
        )
        # Two of three pongs in time: one late pong is this machine's doing as often as not.
        in_time = sorted(pongs)[1] < PONG_WITHIN
        allowed = max(2 * baseline + SCHEDULING_SLACK_MS, STALL_MS)
        if in_time and math.isfinite(baseline) and during <= allowed:
            metrics = srv.metrics()
            return report, {name: metrics[name] - metrics_before.get(name, 0) for name in metrics}
    raise AssertionError(
        f"in each of {ATTEMPTS} attempts, pongs or the other rooms' p99 were late; "
        f"the last: pongs took {pongs} s, p99 went from {baseline:.2f} ms to {during:.2f} ms"
    )


def closes(connection: ClientConnection) -> tuple[int, str] | None:
    """Read until the server closes; return its close code and reason."""
    return read_until_closed(connection)[0]


def read_until_closed(connection: ClientConnection) -> tuple[tuple[int, str] | None, int]:
    """Read until the server closes: its close code and reason, and how many messages came."""
    received = 0
    try:
        while True:
            connection.recv(timeout=10)
            received += 1
    except ConnectionClosed as closed:
        return ((closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else None), received
    except TimeoutError:
        return None, received


# The abusers run in processes of their own (spawned: they import this module; Abuser). Each
# repeats its abuse while going_on() (until told to stop, ABUSE_SECONDS at most) and reports
# what the server answered.


def be_nice() -> None:
    # Below the other rooms' clients, which share this core: the abuser's own CPU use must
    # not slow their stamping (they preempt it when they wake up). Not lower: other work
    # on this machine would then slow the abuse.
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, PRIORITY + 1)


def subscribe_a_million_topics(results, url: str, going_on: Callable[[], bool]) -> None:
    be_nice()
    answers: Counter = Counter()
    while going_on():
        with client(url, source=LOOPBACK) as abuser:
            try:
                for batch in range(10_000):  # 1M topics, 100 a message
                    topics = [f"abuse-{batch}-{n}" for n in range(100)]
                    abuser.send(json.dumps({"type": "subscribe", "topics": topics}))
            except ConnectionClosed:
                pass
            answers[closes(abuser)] += 1
    results.put(dict(answers))


def publish_900_kb(results, url: str, going_on: Callable[[], bool]) -> None:
    be_nice()
    answers: Counter = Counter()
    while going_on():
        with client(url, source=LOOPBACK, max_size=None) as abuser:
            publish = {"type": "publish", "topic": "other-room-0", "data": "x" * 900_000}
            with contextlib.suppress(ConnectionClosed, OSError):
                abuser.send(json.dumps(publish))
            answers[closes(abuser)] += 1
    results.put(dict(answers))


def never_read(results, url: str, going_on: Callable[[], bool]) -> None:
    """Subscribe to a busy topic and read nothing, again and again."""
    be_nice()
    answers: Counter = Counter()
    while going_on():
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a full window soon
        sock.bind((LOOPBACK, 0))
        sock.connect((LOOPBACK, int(url.rsplit(":", 1)[1])))
        sleeper = connect(url, sock=sock, origin=ALLOWED_ORIGIN, proxy=None, max_queue=1)
        sleeper.send(json.dumps({"type": "subscribe", "topics": ["busy"]}))
        with client(url, source=LOOPBACK) as publisher:
            publisher.send('{"type":"ping"}')
            publisher.recv(timeout=5)  # the subscription is in
            try:
                # ~20 MB, in the burst the rate limit allows
                for _ in range(300):
                    publisher.send(
                        json.dumps({"type": "publish", "topic": "busy", "data": "x" * 60_000})
                    )
                publisher.send('{"type":"ping"}')
                publisher.recv(timeout=5)
                answers["publisher kept"] += 1
            except ConnectionClosed:
                answers["publisher closed"] += 1
        sleeper.close_socket()
    results.put(dict(answers))


def flood_50_000(results, url: str, going_on: Callable[[], bool]) -> None:
    """Publish 50 000 messages as fast as possible to a topic of its own, again and again."""
    be_nice()
    answers: Counter = Counter()
    relayed = []
    while going_on():
        with client(url, source=LOOPBACK) as abuser:
            abuser.send(json.dumps({"type": "subscribe", "topics": ["flood"]}))
            with contextlib.suppress(ConnectionClosed, OSError):
                for n in range(50_000):
                    abuser.send(json.dumps({"type": "publish", "topic": "flood", "data": n}))
            answer, received = read_until_closed(abuser)
            answers[answer] += 1
            relayed.append(received)
    results.put({"answers": dict(answers), "relayed": relayed})


WAVE = 100  # the server's listen backlog
OPEN_SECONDS = 20  # at most, to open them all
UPGRADE = (
    "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    f"Origin: {ALLOWED_ORIGIN}\r\n\r\n"
)


def open_connections(
    results, url: str, going_on: Callable[[], bool], idle: bool, count: int = 5000
) -> None:
    """Open `count` connections from one address, as fast as the server accepts them, and
    keep them open while going_on(), until each has its answer (OPEN_SECONDS at most).

    idle: send nothing (each would hold a file descriptor of the server until its opening
    handshake times out); else ask each for a WebSocket. The report counts the status
    lines the server answered, the connections it closed, and those it did not answer.
    """
    be_nice()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1000), hard))
    address = url.removeprefix("ws://")
    host, port = address.rsplit(":", 1)
    request = UPGRADE.format(host=address).encode()
    selector = selectors.DefaultSelector()
    held: list[socket.socket] = []
    answers: Counter = Counter()

    def read_answers(timeout: float) -> None:
        for key, _ in selector.select(timeout):
            try:
                answers[key.fileobj.recv(12).decode(errors="replace") or "closed"] += 1
            except OSError:
                answers["closed"] += 1
            selector.unregister(key.fileobj)

    opened = 0
    opening_deadline = time.monotonic() + OPEN_SECONDS
    while opened < count and time.monotonic() < opening_deadline:
        # a wave of connections at once, as many as the kernel queues for the server
        connecting = selectors.DefaultSelector()
        for _ in range(min(WAVE, count - opened)):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex((host, int(port)))
            connecting.register(sock, selectors.EVENT_WRITE)
            held.append(sock)
            opened += 1
        while connecting.get_map() and time.monotonic() < opening_deadline:
            for key, _ in connecting.select(0.1):
                sock = key.fileobj
                connecting.unregister(sock)
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    answers["connect failed"] += 1
                    continue
                if not idle:
                    sock.send(request)
                selector.register(sock, selectors.EVENT_READ)
        if unfinished := len(connecting.get_map()):
            answers["connect unfinished"] += unfinished
        connecting.close()
        read_answers(0)
    # Idle, the first ones get no answer (until the opening handshake times out, in 10 s),
    # the others are dropped after a second.
    at_least = time.monotonic() + 2 if idle else opening_deadline
    while selector.get_map() and (going_on() or time.monotonic() < at_least):
        read_answers(0.1)
    if unanswered := len(selector.get_map()):
        answers["no answer"] = unanswered
    while going_on():
        time.sleep(0.05)
    selector.close()
    for sock in held:
        sock.close()
    results.put(dict(answers))


# ------------------------------------------------------------------ the tests ---


@timed
def test_a_million_topics_from_one_connection(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        answers, moved = assert_others_unharmed(srv, subscribe_a_million_topics)
        assert set(answers) == {(1008, "more than 100 topics")}
        assert moved['signaling_refusals_total{reason="topics"}'] == sum(answers.values())
        assert srv.metrics()["signaling_topics"] == 0  # the other rooms' are gone too


@timed
def test_publishes_of_900_kb(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        answers, moved = assert_others_unharmed(srv, publish_900_kb)
        [(code, reason)] = answers
        assert code == 1009
        assert "exceeds limit of 65536 bytes" in reason
        assert moved['signaling_refusals_total{reason="message_size"}'] == sum(answers.values())
        assert "closed 127.0.0.1: frame with" in srv.log.read_text()


@timed
def test_a_client_that_never_reads(tmp_path: Path) -> None:
    with server(tmp_path, "--max-send-buffer", str(256 * 1024)) as srv:
        answers, moved = assert_others_unharmed(srv, never_read)
        assert answers.get("publisher kept"), answers
        assert moved["signaling_slow_consumers_dropped_total"] == sum(answers.values())
        assert "bytes wait to be sent to it" in srv.log.read_text()


@timed
def test_a_flood_of_50_000_messages(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        report, moved = assert_others_unharmed(srv, flood_50_000)
        assert set(report["answers"]) == {(1008, "more than 100 messages a second")}
        # burst of 1000 (the subscribe was one), then 100 a second for a few seconds
        assert max(report["relayed"]) < 1000 + 100 * ABUSE_SECONDS
        assert moved['signaling_refusals_total{reason="message_rate"}'] == len(report["relayed"])


@timed
@pytest.mark.parametrize("idle", [False, True], ids=["handshakes", "idle-sockets"])
def test_5000_connections_from_one_address(tmp_path: Path, idle: bool) -> None:
    # Connections are counted when accepted, before any HTTP, unless they come from a
    # trusted proxy: this server trusts none on loopback, as if it faced the Internet.
    started = time.monotonic()
    with server(tmp_path, "--trusted-proxy", "none") as srv:
        answers, moved = assert_others_unharmed(srv, open_connections, idle, settle=1.0)
        # As many as it managed in the time: the first 100 are accepted, the others refused.
        # The first 100 are accepted (idle, they wait for their request), the others refused:
        # with 429 once they ask, dropped if they do not (or once 100 refused ones wait).
        if idle:
            assert answers == {"no answer": 100, "closed": 4900}
        else:
            assert answers.pop("HTTP/1.1 101") == 100
            assert answers["HTTP/1.1 429"] + answers.get("closed", 0) == 4900, answers
        assert moved['signaling_refusals_total{reason="connections_per_ip"}'] == 4900
        log = srv.log.read_text()
        lines = log.count("refused a connection from 127.0.0.1")
        assert lines <= 1 + (time.monotonic() - started) // 10, "one line per 10 s"


@timed
def test_file_descriptors_do_not_run_out(tmp_path: Path) -> None:
    """With 200 file descriptors, 1000 idle connections from a trusted proxy's address
    (counted against its address only once they send HTTP): the server refuses what it
    cannot hold (503), logs it once, and keeps serving."""

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))

    with server(tmp_path, preexec_fn=few_files) as srv, client(srv.url, source=OTHERS) as connected:
        abusing = Abuser(open_connections, srv.url, True, 1000)
        try:
            abusing.go()
            time.sleep(1.5)
            pongs = []
            for _ in range(3):
                started = time.perf_counter()
                assert_pong(connected)
                pongs.append(time.perf_counter() - started)
                time.sleep(0.2)
            # two of three in time, as in the other abuse tests
            assert sorted(pongs)[1] < PONG_WITHIN, f"pongs took {pongs} s"
            answers = abusing.report()
        finally:
            abusing.process.join(10)
            abusing.process.kill()
        # it holds what it can (72 connections, one of them `connected`), drops the others
        assert answers == {"closed": 1000 - 71, "no answer": 71}
        # The server takes new clients once the sockets are gone.
        deadline = time.monotonic() + 10
        while True:
            try:
                assert pong_seconds(srv.url) < PONG_WITHIN
                break
            except InvalidStatus:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        log = srv.log.read_text()
        assert "at most 72 connections: the limit of open files is 200" in log
        assert log.count("refused a connection from 127.0.0.1: server full") == 1
        assert "Traceback" not in log and "Too many open files" not in log


def test_accept_errors_are_logged_once_in_a_while(caplog: pytest.LogCaptureFixture) -> None:
    """Should descriptors run out anyway (asyncio logs a traceback at each failed accept)."""
    sys.path.insert(0, str(SERVER.parent))
    try:
        from signaling_server.logs import RareLog
        from signaling_server.service import quiet_accept_errors
    finally:
        sys.path.remove(str(SERVER.parent))
    handler = quiet_accept_errors(RareLog())
    loop = asyncio.new_event_loop()
    try:
        for _ in range(1000):
            context = {"message": "socket.accept() out of system resource"}
            handler(loop, {**context, "exception": OSError(errno.EMFILE, "Too many open files")})
        handler(loop, {"message": "something else", "exception": ValueError("other")})
    finally:
        loop.close()
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == "cannot accept connections: Too many open files"
    assert len(lines) == 2 and "something else" in lines[1]


# ------------------------------------------------------ limits, one at a time ---


@timed
def test_each_limit_closes_with_a_code_and_a_reason(tmp_path: Path) -> None:
    flags = ["--max-topics", "3", "--max-topics-per-message", "2", "--max-topic-length", "8"]
    flags += ["--max-message-size", "1000", "--messages-per-second", "1"]
    flags += ["--message-burst", "5", "--max-connections-per-ip", "2"]
    with server(tmp_path, *flags) as srv:
        cases = [
            (
                ['{"type":"subscribe","topics":["a","b","c"]}'],
                1008,
                "more than 2 topics in a message",
            ),
            (
                ['{"type":"subscribe","topics":["123456789"]}'],
                1008,
                "a topic name longer than 8 characters",
            ),
            (
                [
                    '{"type":"subscribe","topics":["a","b"]}',
                    '{"type":"subscribe","topics":["c","d"]}',
                ],
                1008,
                "more than 3 topics",
            ),
            (['{"type":"ping"}'] * 6, 1008, "more than 1 messages a second"),
            (["x" * 1001], 1009, "frame with 1001 bytes exceeds limit of 1000 bytes"),
        ]
        for messages, code, reason in cases:
            with client(srv.url, source=OTHERS) as connection:
                for message in messages:
                    connection.send(message)
                assert closes(connection) == (code, reason)
        # the limit per address counts open connections only
        with client(srv.url, source=OTHERS), client(srv.url, source=OTHERS):
            with pytest.raises(InvalidStatus) as refused:
                client(srv.url, source=OTHERS)
            assert refused.value.response.status_code == 429
            assert refused.value.response.body == b"too many connections from your address\n"
        with client(srv.url, source=OTHERS) as connection:
            assert_pong(connection)
        metrics = srv.metrics()
    for kind in ("topics", "topics_per_message", "topic_length", "message_rate", "message_size"):
        assert metrics[f'signaling_refusals_total{{reason="{kind}"}}'] == 1
    assert metrics['signaling_refusals_total{reason="connections_per_ip"}'] == 1
    # each limit is also an environment variable (the same code reads them all)
    with server(tmp_path, env={"MAX_TOPICS": "1", "MAX_CONNECTIONS_PER_IP": "1"}) as srv:
        with client(srv.url, source=OTHERS) as connection:
            connection.send('{"type":"subscribe","topics":["a","b"]}')
            assert closes(connection) == (1008, "more than 1 topics")
        with client(srv.url, source=OTHERS), pytest.raises(InvalidStatus):
            client(srv.url, source=OTHERS)


def assert_pong(connection: ClientConnection) -> None:
    connection.send('{"type":"ping"}')
    assert json.loads(connection.recv(timeout=5)) == {"type": "pong"}


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    """A proxy on 127.0.0.1 (trusted) forwards for two clients; 127.0.0.2 is not trusted."""
    flags = ["--trusted-proxy", "127.0.0.1", "--max-connections-per-ip", "1"]

    def via(source: str, forwarded_for: str) -> ClientConnection:
        return client(srv.url, source=source, additional_headers={"X-Forwarded-For": forwarded_for})

    with server(tmp_path, *flags) as srv:
        with via(LOOPBACK, "198.51.100.1"), via(LOOPBACK, "203.0.113.9, 198.51.100.2"):
            # the proxy appended what it saw; what the client sent before it is ignored
            with pytest.raises(InvalidStatus):
                via(LOOPBACK, "198.51.100.2, 198.51.100.1")
            # not a trusted proxy: its own address counts, whatever it forwards
            with via(OTHERS, "198.51.100.3"):
                with pytest.raises(InvalidStatus):
                    via(OTHERS, "198.51.100.4")
        log = srv.log.read_text()
        assert "ignored X-Forwarded-For from 127.0.0.2, which is not a trusted proxy" in log
        assert log.count("ignored X-Forwarded-For") == 1
    # By default, proxies on loopback and private networks are trusted (hosts' load balancers)
    with server(tmp_path, "--max-connections-per-ip", "1") as srv:
        with via(LOOPBACK, "198.51.100.1"), via(OTHERS, "198.51.100.2"):
            with pytest.raises(InvalidStatus):
                via(OTHERS, "198.51.100.1")


def test_metrics_are_off_by_default_and_in_prometheus_format(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        with client(srv.url, source=OTHERS) as alice, client(srv.url, source=OTHERS) as bob:
            for member in (alice, bob):
                member.send('{"type":"subscribe","topics":["t"]}')
                assert_pong(member)
            alice.send('{"type":"publish","topic":"t","data":1}')
            alice.recv(timeout=5)
            bob.recv(timeout=5)
            metrics = srv.metrics()
        with http_get(srv.metrics_url) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert metrics["signaling_connections"] == 2
    assert metrics["signaling_topics"] == 1
    assert metrics["signaling_relayed_messages_total"] == 1
    assert metrics["signaling_delivered_messages_total"] == 2
    assert metrics["signaling_slow_consumers_dropped_total"] == 0
    help_text = server_help()
    assert "--metrics-port" in help_text and "default: off" in help_text


# ------------------------------------------------------- malformed messages ---

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
TYPES = st.sampled_from(["publish", "subscribe", "unsubscribe", "ping", "pong", "", "PUBLISH"])
ALMOST = st.fixed_dictionaries(
    {"type": TYPES | JSON},
    optional={"topic": st.just("t") | JSON, "topics": JSON | st.lists(JSON), "data": JSON},
)
MESSAGES = (
    st.binary(max_size=200)
    | st.text(max_size=200)
    | JSON.map(json.dumps)
    | ALMOST.map(json.dumps)
    | ALMOST.map(lambda m: json.dumps(m).replace("null", "NaN"))
    | ALMOST.map(lambda m: json.dumps(m).encode("utf-16"))
    | ALMOST.map(lambda m: json.dumps(m, ensure_ascii=False).encode() + b"\xff")
)


def expected(message: str | bytes, speedups: bool) -> str:
    """What y-webrtc's protocol makes of a message: one of ignored, pong, publish.

    Only JSON that browsers parse is taken: UTF-8, no NaN or Infinity. With its speed-ups
    the server parses with orjson, which also refuses a few things browsers take (numbers
    beyond a double, lone surrogates): those are ignored too.
    """
    try:
        text = message.decode() if isinstance(message, bytes) else message
        parsed = json.loads(text, parse_constant=lambda name: 1 / 0)
        if speedups:
            orjson.loads(message)
    except (ValueError, ZeroDivisionError, RecursionError):
        return "ignored"
    if not isinstance(parsed, dict):
        return "ignored"
    if parsed.get("type") == "ping":
        return "pong"
    if parsed.get("type") == "publish" and parsed.get("topic") == "t":
        return "publish"
    return "ignored"  # subscriptions have no answer, publishes to other topics no subscriber


@pytest.fixture(scope="module", params=[True, False], ids=["speedups", "no-speedups"])
def lenient_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, bool]]:
    # two connections an example: the rate limit is not what this tests
    folder = tmp_path_factory.mktemp("lenient")
    with server(folder, "--messages-per-second", "0", speedups=request.param) as srv:
        yield srv, request.param


@settings(
    max_examples=150,
    deadline=None,  # loopback round trips, on a shared machine
    database=None,  # no .hypothesis/ folder in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(message=MESSAGES)
def test_any_message_is_relayed_answered_or_ignored(
    lenient_server: tuple[Server, bool], message: str | bytes
) -> None:
    srv, speedups = lenient_server
    with client(srv.url, source=OTHERS) as alice, client(srv.url, source=OTHERS) as mallory:
        alice.send('{"type":"subscribe","topics":["t"]}')
        assert_pong(alice)
        mallory.send(message)
        outcome = expected(message, speedups)
        if outcome == "publish":
            relayed = json.loads(alice.recv(timeout=5))
            assert relayed == {**json.loads(message), "clients": 1}
        if outcome == "pong":
            assert json.loads(mallory.recv(timeout=5)) == {"type": "pong"}
        assert_pong(mallory)  # and nothing came before it
        assert_pong(alice)
