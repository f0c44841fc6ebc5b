"""The shared world of the browser tests: a built site served by its own preview.py, its
signaling server behind a recording relay, and one browser process per person, all inside a
private network namespace (see browsers.py). A pytest plugin (conftest.py loads it); the
helpers are imported by the test modules.
"""

import json
import secrets

import pytest
from browsers import Peer, lab_url, launch_peer, preview, private_network
from signaling_service import Signaling
from sites import build_env, render

# ---------------------------------------------------------------- the site


@pytest.fixture(scope="session")
def build_python(default_site):
    """The python of the environment the site's environment.yml pins (it runs preview.py)."""
    return build_env(default_site) / "bin" / "python"


def first_document(site, suffix):
    """The site's first document of a kind (".md", ".ipynb"), by name."""
    return sorted(p.name for p in (site / "content").glob(f"*{suffix}"))[0]


@pytest.fixture(scope="session")
def text_document(default_site):
    return first_document(default_site, ".md")


@pytest.fixture(scope="session")
def notebook_document(default_site):
    return first_document(default_site, ".ipynb")


def text_of(site, name):
    return (site / "content" / name).read_text(encoding="utf-8")


def cell_sources_of(site, name):
    cells = json.loads((site / "content" / name).read_text(encoding="utf-8"))["cells"]
    return [
        "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for cell in cells
    ]


def code_cell_index(site, name):
    cells = json.loads((site / "content" / name).read_text(encoding="utf-8"))["cells"]
    return next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")


def original_of(site, document):
    return (
        cell_sources_of(site, document) if document.endswith(".ipynb") else text_of(site, document)
    )


def as_shown(document, stored):
    """A stored copy (text, or notebook JSON) as the page would show it."""
    if not document.endswith(".ipynb"):
        return stored
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in stored["cells"]
    ]


def room_prefix(site):
    return json.loads((site / "_output" / "jupyter-lite.json").read_text())["jupyter-config-data"][
        "webRtcRoomPrefix"
    ]


# ---------------------------------------------------------------- network, servers, browsers


@pytest.fixture(scope="session")
def network(tmp_path_factory, playwright):
    with private_network(tmp_path_factory.mktemp("netns"), playwright) as network:
        yield network


# The previews the signaling service lets in: it reads their origins (with the port) once, when
# it starts, so a test that serves a site of its own uses one of these ports.
SITE_PORT_NAMES = ("main", "other", "failover", "relayed", "lab4")


@pytest.fixture(scope="session")
def site_ports(network):
    return {name: network.free_port() for name in (*SITE_PORT_NAMES, "relay")}


@pytest.fixture(scope="session")
def signaling_service(network, site_ports, default_site):
    """The site's own signaling/server.py, behind a recording relay."""
    origins = [f"http://{network.host}:{site_ports[name]}" for name in SITE_PORT_NAMES]
    server = default_site / "signaling" / "server.py"
    service = Signaling(network, server, site_ports["relay"], origins)
    service.start()
    yield service
    service.stop()


@pytest.fixture
def signaling(signaling_service):
    """The signaling service, up and fresh for each test, whatever the previous test did to it."""
    service = signaling_service
    service.relay.frames.clear()
    yield service
    if service.changed:
        service.stop()
        service.start()


def serve_preview(network, python, site, port, signaling_url):
    with preview(network, python, site, port, "--signaling-url", signaling_url) as (url, _):
        yield url


@pytest.fixture(scope="session")
def site_url(network, build_python, default_site, site_ports, signaling_service):
    yield from serve_preview(
        network, build_python, default_site, site_ports["main"], signaling_service.url
    )


# A notebook as Jupyter saved it before nbformat 4.5: its cells have no ids.
NOTEBOOK_WITHOUT_CELL_IDS = {
    "nbformat": 4,
    "nbformat_minor": 2,
    "metadata": {"kernelspec": {"name": "python", "display_name": "Python (Pyodide)"}},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Lesson 1\n", "Run the cell."]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": ["x = 1\n", "x"],
        },
        {"cell_type": "markdown", "metadata": {}, "source": "Now change `x`."},
    ],
}


@pytest.fixture(scope="session")
def other_site(tmp_path_factory):
    """Another deployment of this template: another room_prefix, and content of its owner's
    own, a notebook saved before nbformat 4.5 (old-lesson.ipynb)."""
    site = render(tmp_path_factory.mktemp("other-site") / "site")
    notebook = json.dumps(NOTEBOOK_WITHOUT_CELL_IDS, indent=1)
    (site / "content" / "old-lesson.ipynb").write_text(notebook, encoding="utf-8")
    return site


@pytest.fixture(scope="session")
def notebook_without_cell_ids(other_site):
    return "old-lesson.ipynb"


@pytest.fixture(scope="session")
def other_site_url(network, build_python, other_site, site_ports, signaling_service):
    yield from serve_preview(
        network, build_python, other_site, site_ports["other"], signaling_service.url
    )


PEOPLE = ("alice", "bob", "carol", "dave")


@pytest.fixture(scope="session")
def browsers(playwright, network, site_ports):
    """One browser process per person. The previews count as secure origins, as the published
    site on https does (private rooms need the browser's crypto, which only those have)."""
    origins = [f"http://{network.host}:{site_ports[name]}" for name in SITE_PORT_NAMES]
    launched = [launch_peer(playwright, network, secure_origins=origins) for _ in PEOPLE]
    yield launched
    for browser in launched:
        browser.close()


@pytest.fixture
def people(browsers):
    """Everyone, each with fresh pages in their own browser; pages close after the test."""
    peers = [Peer(browser, name) for browser, name in zip(browsers, PEOPLE, strict=True)]
    yield peers
    for peer in peers:
        peer.close_pages()


@pytest.fixture
def alice(people):
    return people[0]


@pytest.fixture
def bob(people):
    return people[1]


@pytest.fixture
def carol(people):
    return people[2]


@pytest.fixture
def room():
    """A fresh room per test, so that no test sees another one's peers."""
    return f"room-{secrets.token_hex(4)}"


def open_in_lab(peer, site_url, name, room, fragment=""):
    """Open JupyterLab in the room, then the document from its file browser, as a user does.

    Opening from the loaded app (not with ?path= while it starts) keeps the provider's 1 s
    first-sync window off the busiest moment of a page load. `fragment`: the link's "#..." part
    (a private room's "#key=SECRET").
    """
    page = peer.open(lab_url(site_url, room=room, username=peer.name) + fragment)
    page.open_from_file_browser(name)
    if name.endswith(".ipynb"):
        page.wait_for_notebook()
    else:
        page.wait_for_text_editor()
    return page


def alice_then_bob(alice, bob, site_url, document, room, loaded, open_in=None):
    """Alice opens the document and waits until loaded(her page); then Bob opens it; each sees
    the other as a peer. `open_in`: how a person opens it (open_in_lab, the default, for a
    JupyterLab 3 site)."""
    open_in = open_in or open_in_lab
    a = open_in(alice, site_url, document, room)
    loaded(a)
    b = open_in(bob, site_url, document, room)
    a.wait_for_peers(1)
    b.wait_for_peers(1)
    return a, b


def alice_then_bob_on_text(alice, bob, site_url, site, document, room):
    """alice_then_bob on a text file of the site, both showing it; also returns its text."""
    original = text_of(site, document)
    a, b = alice_then_bob(
        alice, bob, site_url, document, room, lambda page: page.wait_for_text(original)
    )
    b.wait_for_text(original)
    return a, b, original


def trade_edits(a, b, original):
    """Alice types, Bob sees it; Bob types, Alice sees both. Returns what each typed."""
    from_alice = marker("alice")
    a.type_at_end(from_alice)
    b.wait_for_text(original + from_alice)
    from_bob = marker("bob")
    b.type_at_end(from_bob)
    a.wait_for_text(original + from_alice + from_bob)
    return from_alice, from_bob


def alice_then_bob_on(alice, bob, site_url, site, notebook, room):
    """alice_then_bob on a notebook of the site; also returns its original cell sources."""
    original = cell_sources_of(site, notebook)
    a, b = alice_then_bob(
        alice, bob, site_url, notebook, room, lambda page: page.wait_for_cell_sources(original)
    )
    return a, b, original


def open_notebook(peer, url):
    page = peer.open(url)
    page.wait_for_notebook()
    return page


def marker(label):
    """Text to type that occurs nowhere else (no brackets or quotes: editors auto-close those)."""
    return f" {label}-{secrets.token_hex(3)}"
