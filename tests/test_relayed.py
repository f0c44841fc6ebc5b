"""People whose browsers cannot reach each other directly (strict NATs, as on many school and
mobile networks) still edit together through the site's TURN server (the `ice_servers`
answer). Here coturn runs in the tests' network namespace, and the
test's own config lets the browsers use relayed candidates only, as if nothing else got
through."""

import json
import shutil
import subprocess

import pytest
from support.collaboration import alice_then_bob_on_text, first_document, trade_edits
from support.flavours import PAGES
from support.previews import serve_preview
from support.processes import stop
from support.sites import build_env, render

TURN_USER, TURN_CREDENTIAL = "class", "turn-credential"


@pytest.fixture(scope="module")
def turn_url(network, tmp_path_factory):
    """coturn with one long-term user, listening in the namespace only."""
    if shutil.which("turnserver") is None:
        pytest.fail("turnserver is missing: apt-get install -y coturn (as .ci/run does)")
    port = network.free_port()
    log = tmp_path_factory.mktemp("turn") / "turnserver.log"
    # -n: no config file; relays on the namespace's address, in a small port range of its own
    command = [
        *("turnserver", "-n", "--listening-ip", network.host, "--listening-port", port),
        *("--relay-ip", network.host, "--min-port", 49160, "--max-port", 49260),
        *("--lt-cred-mech", "--user", f"{TURN_USER}:{TURN_CREDENTIAL}", "--realm", "tests"),
        *("--no-tls", "--no-dtls", "--no-cli", "--log-file", log, "--simple-log"),
    ]
    process = subprocess.Popen(network.command(command), stdout=subprocess.DEVNULL)
    try:
        network.wait_for_port(port, process=process)
        yield f"turn:{network.host}:{port}"
    finally:
        stop(process)


@pytest.fixture
def relayed_site(jupyterlab, turn_url, tmp_path):
    ice = [{"urls": turn_url, "username": TURN_USER, "credential": TURN_CREDENTIAL}]
    site = render(tmp_path / "site", jupyterlab=jupyterlab, ice_servers=ice)
    config_file = site / "jupyter-lite.json"
    config = json.loads(config_file.read_text())
    config["jupyter-config-data"]["webRtcConfiguration"]["iceTransportPolicy"] = "relay"
    config_file.write_text(json.dumps(config))
    return site


@pytest.fixture
def relayed_site_url(network, relayed_site, site_ports, signaling_service):
    python = build_env(relayed_site) / "bin" / "python"
    yield from serve_preview(
        network, python, relayed_site, site_ports["relayed"], signaling_service.url
    )


def test_people_who_can_only_relay_edit_together_through_turn(
    jupyterlab, signaling, relayed_site_url, relayed_site, room, alice, bob
):
    a, b, original = alice_then_bob_on_text(
        alice,
        bob,
        relayed_site_url,
        relayed_site,
        first_document(relayed_site, ".md"),
        room,
        PAGES[jupyterlab],
    )
    trade_edits(a, b, original)
    assert a.selected_candidate_types() == [["relay", "relay"]]
    assert b.selected_candidate_types() == [["relay", "relay"]]
