"""The command line: flags, their environment variables, checks with clear messages."""

import argparse
import dataclasses
import ipaddress
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from .fanout import redacted
from .limits import LIMITS, Limit, Limits
from .logs import log
from .relay import PRIVATE
from .service import open_files_limit, run, serve_forever

# next to server.py, in the signaling folder
ORIGINS_FILE = Path(__file__).parent.parent / "allowed_origins.txt"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# File descriptors kept for everything but client connections: logs, listening sockets,
# and a burst of connections accepted before they are counted.
SPARE_FILES = 128


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


def count(value: str) -> int:
    """A limit's number: a whole number, 0 or more."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is negative")
    return number


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


def add_limit(parser: argparse._ArgumentGroup, limit: Limit) -> None:
    """Its flag, defaulting to its environment variable, else to its declared default."""
    parser.add_argument(
        limit.flag,
        type=count,
        # a string: argparse parses it as it parses the flag, and names the flag if it is bad
        default=os.environ.get(limit.env) or str(limit.default),
        metavar=limit.unit,
        help=limit.help_text(),
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
    limit_flags = parser.add_argument_group("limits")
    for limit in LIMITS:
        add_limit(limit_flags, limit)
    limit_flags.add_argument(
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
    limits = Limits(**{limit.name: limit.value(getattr(args, limit.name)) for limit in LIMITS})
    files = open_files_limit()
    if files is not None and (limits.max_connections or files) > files - SPARE_FILES:
        limits = dataclasses.replace(limits, max_connections=max(1, files - SPARE_FILES))
        log.info(
            "at most %d connections: the limit of open files is %d", limits.max_connections, files
        )
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
