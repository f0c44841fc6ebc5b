"""The signaling service the collaboration tests use: the site's own server (or the npm
reference server) behind a relay that records every message and can lose WebRTC handshakes."""

import asyncio
import hashlib
import json
import subprocess
import sys
import threading
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from .processes import stop
from .signaling_servers import require_reference_server


class RecordingRelay:
    """A WebSocket relay in front of the signaling server that records every message.

    It forwards each frame unchanged (with the browser's Origin), so the signaling server
    under test stays untouched.
    """

    def __init__(self, network, port, upstream_port):
        self.network = network
        self.port = port
        self.upstream_port = upstream_port
        self.frames = []  # (connection number, "in" or "out", raw text), in arrival order
        self.handshakes_lost = 0
        self._losing_for = 0.0  # seconds of handshakes to lose (lose_handshakes)
        self._losing_since = None
        self._connections = 0
        self._loop = asyncio.new_event_loop()
        self._server = None
        threading.Thread(target=self._run_loop, daemon=True).start()

    def _run_loop(self):
        self.network.enter_from_this_thread()  # so its sockets live in the namespace
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def start(self):
        async def start():
            self._server = await serve(self._handle, self.network.host, self.port)

        self._run(start())

    def stop(self):
        """Close the port and every connection, as a server that went down."""

        async def stop():
            if self._server is None:
                return
            self._server.close()
            await self._server.wait_closed()
            self._server = None

        self._run(stop())

    async def _handle(self, browser):
        self._connections += 1
        number = self._connections
        origin = browser.request.headers.get("Origin")
        try:
            async with connect(
                f"ws://{self.network.host}:{self.upstream_port}", origin=origin
            ) as server:
                await asyncio.gather(
                    self._pump(browser, server, number, "in"),
                    self._pump(server, browser, number, "out"),
                )
        except (OSError, ConnectionClosed):
            pass  # either side went away: the other one is closed with it

    async def _pump(self, source, target, number, direction):
        try:
            async for frame in source:
                self.frames.append((number, direction, frame))
                if direction == "in" and self._lost(frame):
                    continue
                await target.send(frame)
        finally:
            await target.close()

    @property
    def serving(self):
        return self._server is not None

    def lose_handshakes(self, seconds):
        """Lose every WebRTC handshake message for `seconds` from the next one that comes (from
        then, not from now: how soon a busy machine opens a page must not decide the test)."""
        self._losing_for, self._losing_since, self.handshakes_lost = seconds, None, 0

    def _lost(self, frame):
        """A WebRTC handshake message (offer, answer, ICE candidate) lost on a flaky network."""
        data = json.loads(frame).get("data")
        if not self._losing_for or not (isinstance(data, dict) and data.get("type") == "signal"):
            return False
        now = time.monotonic()
        self._losing_since = self._losing_since or now
        if now - self._losing_since >= self._losing_for:
            return False
        self.handshakes_lost += 1
        return True

    def subscribers(self, topic):
        """Numbers of the connections that subscribed to `topic`."""
        return {
            number
            for number, message in self.messages()
            if message["type"] == "subscribe" and topic in message["topics"]
        }

    def messages(self, direction="in"):
        """(connection number, decoded message) of every frame in one direction."""
        return [
            (number, json.loads(raw)) for number, way, raw in list(self.frames) if way == direction
        ]


class Signaling:
    """The signaling service the site points at: a relay in front of one of the servers."""

    def __init__(self, network, server, relay_port, allowed_origins):
        self.network = network
        self.server = server
        self.allowed_origins = allowed_origins
        self.ports = {"python": network.free_port(), "npm": network.free_port()}
        self.processes = {}
        self.relay = RecordingRelay(network, relay_port, self.ports["python"])
        self.url = f"ws://{network.host}:{relay_port}"

    def command(self, kind):
        port = self.ports[kind]
        if kind == "python":
            origins = [
                arg for origin in self.allowed_origins for arg in ("--allowed-origin", origin)
            ]
            return [
                sys.executable,
                self.server,
                "--host",
                self.network.host,
                "--port",
                port,
                *origins,
            ]
        # bin/server.js binds every interface: that is only the namespace's here.
        return ["env", f"PORT={port}", "node", require_reference_server()]

    def use(self, kind):
        """Restart the service in front of this kind of server."""
        self.stop()
        self.start(kind)

    @property
    def changed(self):
        """Whether a test stopped the service, or put another server behind it."""
        return list(self.processes) != ["python"] or not self.relay.serving

    def start(self, kind="python"):
        if kind not in self.processes:
            process = subprocess.Popen(self.network.command(self.command(kind)))
            self.network.wait_for_port(self.ports[kind], process=process)
            self.processes[kind] = process
        self.relay.upstream_port = self.ports[kind]
        self.relay.start()

    def stop(self):
        """Take the whole service down: relay and servers."""
        self.relay.stop()
        for process in self.processes.values():
            stop(process)
        self.processes.clear()


# What a JupyterLab 4 page's topics start with, apart from JupyterLab 3 ones (FLAVOUR of
# extension/lab4/src/provider.ts)
TOPIC_FLAVOURS = {"3": "", "4": "jupyterlab-4:"}


def topic_of(room_prefix, room, document, jupyterlab="3"):
    """The signaling topic of a document in a room, as jupyterlab-webrtc-docprovider names it
    (and JupyterLab 4 pages, after their flavour)."""
    room_id = hashlib.sha256(f"{room_prefix}-{room}".encode()).hexdigest()
    return TOPIC_FLAVOURS[jupyterlab] + room_id + document
