"""The signaling server shipped in generated sites (template/signaling/server.py, which runs
the package template/signaling/signaling_server/).

The protocol tests run against our server AND against y-webrtc's reference server
(bin/server.js from npm), so that the two stay interchangeable for y-webrtc clients.
Origin checks, configuration and robustness are ours only.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import LOOPBACK, START_TIMEOUT, free_port, http_get, running
from support.signaling_clients import (
    ALLOWED_ORIGIN,
    TIMEOUT,
    assert_accepted,
    assert_nothing_received,
    assert_refused,
    client,
    receive,
    send,
    subscribe,
)
from support.signaling_servers import (
    SERVER,
    our_command,
    our_server,
    require_reference_server,
    server_help,
)
from support.sites import REPO_ROOT, STACK
from websockets.exceptions import ConnectionClosed

# ----------------------------------------------------------------- servers ---


@pytest.fixture(scope="session")
def our_url() -> Iterator[str]:
    with our_server("--allowed-origin", ALLOWED_ORIGIN) as url:
        yield url


@pytest.fixture(scope="session", params=["ours", "ours-without-speedups", "reference"])
def signaling_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of our server (with and without its speed-ups), then of the reference server
    (which binds every interface)."""
    if request.param == "ours":
        yield request.getfixturevalue("our_url")
        return
    if request.param == "ours-without-speedups":
        with our_server("--allowed-origin", ALLOWED_ORIGIN, speedups=False) as url:
            yield url
        return
    port = free_port()
    with running(["node", require_reference_server()], env={"PORT": str(port)}, ready_port=port):
        yield f"ws://{LOOPBACK}:{port}"


# ----------------------------------------------------------------- clients ---


# ---------------------------------------------------- protocol, both servers ---


def test_ping_is_answered_with_pong(signaling_url: str) -> None:
    with client(signaling_url) as connection:
        send(connection, type="ping")
        assert receive(connection) == {"type": "pong"}


def test_publish_reaches_every_subscriber_with_the_subscriber_count(
    signaling_url: str, topic: str
) -> None:
    with (
        client(signaling_url) as alice,
        client(signaling_url) as bob,
        client(signaling_url) as carol,
    ):
        subscribe(alice, topic)
        subscribe(bob, topic)
        offer = {
            "type": "publish",
            "topic": topic,
            "data": {"type": "signal", "é": [1, None]},
        }
        alice.send(json.dumps(offer))
        assert receive(alice) == {**offer, "clients": 2}  # the sender gets it too
        assert receive(bob) == {**offer, "clients": 2}
        assert_nothing_received(carol)

        send(carol, type="publish", topic=topic, data="from a non-subscriber")
        assert receive(alice)["data"] == receive(bob)["data"] == "from a non-subscriber"
        assert_nothing_received(carol)


def test_publish_to_a_topic_without_subscribers_is_dropped(signaling_url: str, topic: str) -> None:
    with client(signaling_url) as alice, client(signaling_url) as bob:
        subscribe(alice, topic)
        send(bob, type="publish", topic=f"{topic}-nobody", data="dropped")
        send(bob, type="publish", topic=topic, data="delivered")
        assert receive(alice) == {
            "type": "publish",
            "topic": topic,
            "data": "delivered",
            "clients": 1,
        }
        assert_nothing_received(bob)


def test_unsubscribe_stops_delivery_of_that_topic_only(signaling_url: str, topic: str) -> None:
    other_topic = f"{topic}-other"
    with client(signaling_url) as alice, client(signaling_url) as bob:
        subscribe(alice, topic, other_topic)
        subscribe(bob, topic, other_topic)
        send(alice, type="unsubscribe", topics=[topic])
        assert_nothing_received(alice)

        send(bob, type="publish", topic=topic, data="not for alice")
        assert receive(bob)["clients"] == 1
        assert_nothing_received(alice)

        send(bob, type="publish", topic=other_topic, data="for both")
        relayed = receive(bob)
        assert relayed["clients"] == 2
        assert receive(alice) == relayed


def test_a_closed_connection_leaves_its_topics(signaling_url: str, topic: str) -> None:
    with client(signaling_url) as alice:
        subscribe(alice, topic)
        with client(signaling_url) as bob:
            subscribe(bob, topic)
        # The server handles bob's close on its own schedule: poll, with a deadline.
        deadline = time.monotonic() + TIMEOUT
        while True:
            send(alice, type="publish", topic=topic, data="anyone?")
            if receive(alice)["clients"] == 1:
                break
            assert time.monotonic() < deadline, "the closed connection is still subscribed"


def test_plain_http_request_gets_okay(signaling_url: str) -> None:
    """Hosting platforms check a server's health with plain HTTP requests."""
    with http_get(signaling_url.replace("ws://", "http://"), timeout=TIMEOUT) as response:
        assert response.status == 200
        assert response.read().strip() == b"okay"


# ------------------------------------------------------------ ours only ---

MALFORMED_MESSAGES = [
    "not json",
    "",
    "null",
    "[]",
    '"ping"',
    '{"type": 1}',
    '{"type": "unknown"}',
    '{"type": "subscribe"}',
    '{"type": "subscribe", "topics": "not a list"}',
    '{"type": "subscribe", "topics": [1, null, {}, []]}',
    '{"type": "unsubscribe", "topics": {"a": 1}}',
    '{"type": "publish"}',
    '{"type": "publish", "topic": ["unhashable"]}',
    '{"type": "publish", "topic": {"unhashable": 1}}',
    "[" * 60_000,  # nested deeper than Python's recursion limit, under --max-message-size
    b"\xff\xfe binary garbage",
]


def test_malformed_messages_are_ignored(our_url: str, topic: str) -> None:
    """bin/server.js crashes on some of these; ours must ignore them all."""
    with client(our_url) as mallory, client(our_url) as alice:
        subscribe(alice, topic)
        for message in MALFORMED_MESSAGES:
            mallory.send(message)
        # NaN is not JSON: relayed, it would break JSON.parse in alice's browser.
        mallory.send(f'{{"type": "publish", "topic": "{topic}", "data": NaN}}')
        assert_nothing_received(mallory)
        assert_nothing_received(alice)
    assert_accepted(our_url, ALLOWED_ORIGIN)


def test_only_allowed_origins_may_connect() -> None:
    flags = [
        "--allowed-origin",
        "http://allowed.test",
        "--allowed-origin",
        "https://Site.test/repo/",
    ]
    with our_server(*flags) as url:
        assert_accepted(url, "http://allowed.test")
        assert_accepted(url, "https://site.test")  # a site URL allows its origin
        assert_refused(url, "http://evil.test")
        assert_refused(url, "http://allowed.test:8080")
        assert_refused(url, "https://allowed.test")
        assert_accepted(url, None)  # not a browser: no Origin header


def test_star_allows_any_origin() -> None:
    with our_server("--allowed-origin", "*") as url:
        assert_accepted(url, "http://anything.test")
        assert_accepted(url, None)


def copy_of_server(folder: Path) -> Path:
    """server.py and its package in folder (without an allowed_origins.txt); its server.py."""
    shutil.copytree(
        SERVER.parent,
        folder,
        ignore=shutil.ignore_patterns("*.jinja", "__pycache__"),
        dirs_exist_ok=True,
    )
    return folder / SERVER.name


def test_default_origins_come_from_allowed_origins_txt(tmp_path: Path) -> None:
    server = copy_of_server(tmp_path)
    (tmp_path / "allowed_origins.txt").write_text(
        "# browsers send the origin only: scheme://host[:port]\n"
        "https://owner.github.io  # the site\n"
        "\n"
        "http://localhost:8000\n"
    )
    # An empty ALLOWED_ORIGINS counts as unset, as in `docker run -e ALLOWED_ORIGINS=`.
    with our_server(server=server, env={"ALLOWED_ORIGINS": ""}) as url:
        assert_accepted(url, "https://owner.github.io")
        assert_accepted(url, "http://localhost:8000")
        assert_refused(url, "http://evil.test")


def test_environment_configures_like_flags(tmp_path: Path, topic: str) -> None:
    port = free_port()
    host = "127.0.0.2"  # not the default, to prove that SIGNALING_HOST is used
    env = {
        "SIGNALING_HOST": host,
        "PORT": str(port),
        "ALLOWED_ORIGINS": "http://a.test, http://b.test",
        "LOG_LEVEL": "debug",
    }
    log = tmp_path / "server.log"
    with (
        log.open("w") as stderr,
        running(
            [sys.executable, SERVER],
            env=env,
            ready_host=host,
            ready_port=port,
            stderr=stderr,
        ),
    ):
        url = f"ws://{host}:{port}"
        assert_accepted(url, "http://a.test")
        assert_accepted(url, "http://b.test")
        assert_refused(url, "http://c.test")
        with client(url, "http://a.test") as connection:
            subscribe(connection, f"secret-topic-{topic}")
            send(
                connection,
                type="publish",
                topic=f"secret-topic-{topic}",
                data="secret-data",
            )
            receive(connection)
    text = log.read_text()
    assert f"listening on ws://{host}:{port}" in text
    assert "DEBUG publish: 1 topic" in text
    assert "refused connection from origin 'http://c.test'" in text
    assert "secret" not in text, "message contents must never be logged"


def test_flags_win_over_environment() -> None:
    # our_server passes --host and --port, and waits for that port
    env = {
        "SIGNALING_HOST": "127.0.0.2",
        "PORT": str(free_port()),
        "ALLOWED_ORIGINS": "http://env.test",
    }
    with our_server("--allowed-origin", "http://flag.test", env=env) as url:
        assert_accepted(url, "http://flag.test")
        assert_refused(url, "http://env.test")


@pytest.mark.parametrize(
    ("origins_file", "args", "env", "error"),
    [
        (None, [], {}, "no allowed origins"),
        ("# nothing yet\n\n", [], {}, "lists no origin"),
        (
            None,
            ["--allowed-origin", "example.org"],
            {},
            "'example.org' is not an origin",
        ),
        (
            None,
            [],
            {"ALLOWED_ORIGINS": "https://ok.test,ftp://no.test"},
            "ALLOWED_ORIGINS: 'ftp://no.test' is not an origin",
        ),
        (
            None,
            ["--allowed-origin", "*"],
            {"LOG_LEVEL": "loud"},
            "'loud' is not one of",
        ),
        (None, ["--allowed-origin", "*"], {"PORT": "http"}, "invalid int value"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(
    tmp_path: Path,
    origins_file: str | None,
    args: list[str],
    env: dict[str, str],
    error: str,
) -> None:
    server = copy_of_server(tmp_path)
    if origins_file is not None:
        (tmp_path / "allowed_origins.txt").write_text(origins_file)
    result = subprocess.run(
        [sys.executable, server, *args],
        env={**os.environ, "ALLOWED_ORIGINS": "", **env},
        check=False,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert result.returncode == 2, result.stderr
    assert error in result.stderr


def test_a_port_in_use_is_reported() -> None:
    with socket.create_server((LOOPBACK, 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            our_command(port, "--allowed-origin", "*"),
            check=False,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
        )
    assert result.returncode == 1
    assert f"cannot serve on {LOOPBACK}:{port}" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_connections_and_exits_0(signum: signal.Signals) -> None:
    port = free_port()
    with (
        running(our_command(port, "--allowed-origin", "*"), ready_port=port) as process,
        client(f"ws://{LOOPBACK}:{port}") as connection,
    ):
        process.send_signal(signum)
        with pytest.raises(ConnectionClosed):
            connection.recv(timeout=TIMEOUT)
        assert connection.close_code == 1001  # going away
        assert process.wait(TIMEOUT) == 0


def test_help_documents_every_setting() -> None:
    help_text = server_help()
    for setting in (
        "--host",
        "SIGNALING_HOST",
        "--port",
        "PORT",
        "--allowed-origin",
        "ALLOWED_ORIGINS",
        "allowed_origins.txt",
        "--log-level",
        "LOG_LEVEL",
        "--metrics-port",
        "METRICS_PORT",
        "--trusted-proxy",
        "TRUSTED_PROXIES",
        *(
            form
            for name in (
                "max-message-size",
                "max-topics",
                "max-topics-per-message",
                "max-topic-length",
                "messages-per-second",
                "message-burst",
                "max-connections-per-ip",
                "max-connections",
                "max-send-buffer",
            )
            for form in (f"--{name} ", name.upper().replace("-", "_"))
        ),
    ):
        assert setting in help_text


def test_a_limit_declared_once_gets_its_flag_variable_help_and_metric(tmp_path: Path) -> None:
    """One declaration in limits.py, and nothing else, makes a new limit a flag, a variable,
    a line of --help and a reason in /metrics."""
    server = copy_of_server(tmp_path)
    limits_py = tmp_path / "signaling_server" / "limits.py"
    declaration = (
        'Limit("max_widgets", 7, "N", "widgets a connection may hold", '
        'CloseCode.POLICY_VIOLATION, "more than {} widgets", "widgets"),'
    )
    text = limits_py.read_text()
    assert text.count("\nLIMITS = (\n") == 1
    limits_py.write_text(text.replace("\nLIMITS = (\n", f"\nLIMITS = (\n    {declaration}\n"))
    help_text = subprocess.run(
        [sys.executable, server, "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--max-widgets N" in help_text
    assert "widgets a connection may hold; a client over it is closed (1008)" in " ".join(
        help_text.split()
    )
    assert "(env MAX_WIDGETS; default 7; 0: no limit)" in " ".join(help_text.split())
    port, metrics_port = free_port(), free_port()
    flags = ["--allowed-origin", "*", "--metrics-port", str(metrics_port), "--max-widgets", "3"]
    with running(our_command(port, *flags, server=server), ready_port=metrics_port):
        url = f"http://{LOOPBACK}:{metrics_port}/metrics"
        with http_get(url, timeout=TIMEOUT) as response:
            assert 'signaling_refusals_total{reason="widgets"} 0' in response.read().decode()


def test_the_speedups_shipped_are_the_ones_tested(tmp_path: Path) -> None:
    """requirements.txt lists the optional speed-ups (from copier.yml's stack); the tests run
    the server with them (pyproject.toml) and, as a preview does, without them."""
    tested = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["dependency-groups"]["test"]
    assert set(STACK["signaling_speedups"]) <= set(tested)
    for speedups, expected in [(True, "speed-ups: uvloop, orjson"), (False, "speed-ups: none")]:
        log = tmp_path / f"{speedups}.log"
        with (
            log.open("w") as stderr,
            our_server("--allowed-origin", "*", speedups=speedups, stderr=stderr) as url,
        ):
            assert_accepted(url, None)
        assert expected in log.read_text()
