"""Serving: the WebSocket server and its settings, /metrics, signals, files, the event loop."""

import asyncio
import errno
import gc
import signal
from http import HTTPStatus

from websockets.asyncio.server import serve
from websockets.http11 import Request, Response

from .fanout import Fanout
from .limits import ORIGIN, Limits
from .logs import RareLog, log
from .metrics import answer_metrics
from .relay import Client, Relay, orjson

try:  # Unix only: the server raises its own limit of open files
    import resource
except ImportError:  # pragma: no cover
    resource = None

# An optional speed-up (requirements.txt): an event loop on libuv; with orjson, a sixth less
# CPU a message (README, benchmark). The server behaves the same without them.
try:
    import uvloop
except ImportError:
    uvloop = None

# bin/server.js pings every 30 s and drops clients that did not answer the last ping.
KEEPALIVE_SECONDS = 30


def log_refusal(relay: Relay, connection: Client, request: Request, response: Response) -> None:
    if response.status_code == HTTPStatus.FORBIDDEN:
        relay.refusals[ORIGIN] += 1
        origin = request.headers.get("Origin")
        relay.rare.warning(ORIGIN, "refused connection from origin %r", origin)


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
    limits: Limits,
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


# uvloop's event loop if it is installed, else asyncio's
run = uvloop.run if uvloop is not None else asyncio.run
