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
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from http import HTTPStatus
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

ORIGINS_FILE = Path(__file__).with_name("allowed_origins.txt")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# bin/server.js pings every 30 s and drops clients that did not answer the last ping.
KEEPALIVE_SECONDS = 30
PONG = json.dumps({"type": "pong"})

log = logging.getLogger("signaling")


def reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN and Infinity, which browsers' JSON.parse rejects.
    raise ValueError(f"{name} is not JSON")


class Relay:
    """The subscribers of every topic, shared by all connections of one server."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[ServerConnection]] = {}

    async def handle(self, connection: ServerConnection) -> None:
        """Serve one client until it goes away, then drop its subscriptions."""
        topics: set[str] = set()  # this client's subscriptions
        log.info(
            "connection opened from origin %r (%d open)",
            connection.request.headers.get("Origin"),
            len(connection.server.connections),
        )
        try:
            while True:
                await self.dispatch(connection, topics, await connection.recv(decode=False))
        except ConnectionClosed:
            pass  # a normal close or a vanished client: clean up the same way
        finally:
            for topic in topics:
                self.leave(topic, connection)
            log.info(
                "connection closed with code %s (%d open)",
                connection.close_code,
                len(connection.server.connections),
            )

    async def dispatch(self, connection: ServerConnection, topics: set[str], raw: bytes) -> None:
        try:
            message = json.loads(raw, parse_constant=reject_constant)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            message = None
        match message:
            case {"type": "subscribe", "topics": list() as names}:
                names = {name for name in names if isinstance(name, str)}
                for topic in names:
                    self.subscribers.setdefault(topic, set()).add(connection)
                topics.update(names)
                log.debug("subscribe: %d topics, %d bytes", len(names), len(raw))
            case {"type": "unsubscribe", "topics": list() as names}:
                names = {name for name in names if isinstance(name, str)}
                for topic in names & topics:
                    self.leave(topic, connection)
                topics.difference_update(names)
                log.debug("unsubscribe: %d topics, %d bytes", len(names), len(raw))
            case {"type": "publish", "topic": str() as topic} if topic:
                receivers = self.subscribers.get(topic, set())
                if receivers:
                    message["clients"] = len(receivers)
                    broadcast(receivers, json.dumps(message, separators=(",", ":")))
                log.debug(
                    "publish: 1 topic, %d bytes, relayed to %d",
                    len(raw),
                    len(receivers),
                )
            case {"type": "ping"}:
                await connection.send(PONG)
                log.debug("ping: %d bytes", len(raw))
            case _:
                log.debug("ignored an unknown or malformed message: %d bytes", len(raw))

    def leave(self, topic: str, connection: ServerConnection) -> None:
        subscribers = self.subscribers[topic]
        subscribers.discard(connection)
        if not subscribers:
            del self.subscribers[topic]


def answer_plain_http(connection: ServerConnection, request: Request) -> Response | None:
    """Answer plain HTTP requests (health checks) with "okay", as bin/server.js does."""
    if "Upgrade" not in request.headers:
        return connection.respond(HTTPStatus.OK, "okay\n")
    return None


def log_refusal(connection: ServerConnection, request: Request, response: Response) -> None:
    if response.status_code == HTTPStatus.FORBIDDEN:
        log.info("refused connection from origin %r", request.headers.get("Origin"))


async def serve_forever(host: str, port: int, origins: list[str] | None) -> None:
    """Serve until SIGTERM or SIGINT. With origins None, any Origin is accepted."""
    relay = Relay()
    async with serve(
        relay.handle,
        host,
        port,
        # None in the list accepts clients that send no Origin. Browsers always send
        # one; other clients could send any, so refusing them would protect nothing.
        origins=None if origins is None else [*origins, None],
        process_request=answer_plain_http,
        process_response=log_refusal,
        ping_interval=KEEPALIVE_SECONDS,
        ping_timeout=KEEPALIVE_SECONDS,
    ) as server:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, server.close)
        log.info(
            "listening on ws://%s:%d, allowed origins: %s",
            host,
            port,
            "any" if origins is None else ", ".join(origins),
        )
        await server.wait_closed()
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Signaling server for y-webrtc (collaboration in JupyterLite).",
        epilog="Browsers always send an Origin header and are refused (HTTP 403) "
        "unless it is allowed. Clients that send none are not browsers and are "
        "accepted: an Origin check cannot stop them anyway. Plain HTTP requests get "
        "200 'okay', for health checks.",
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
    args = parser.parse_args(argv)
    origins = allowed_origins(parser, args.allowed_origin)

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s")
    # websockets logs every connection at INFO and message contents at DEBUG.
    logging.getLogger("websockets").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    try:
        asyncio.run(serve_forever(args.host, args.port, origins))
    except OSError as error:  # e.g. the port is in use
        log.error("cannot serve on %s:%d: %s", args.host, args.port, error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
