"""What people do together in the browser tests: open a document of the site in a room, wait
for each other, type; and what the site's files hold. The fixtures these run on (the site, its
signaling service, the people's browsers) are in tests/conftest.py.
"""

import json
import secrets

from .browsers import lab_url


def text_of(site, name):
    return (site / "content" / name).read_text(encoding="utf-8")


def cell_sources_of(site, name):
    cells = json.loads((site / "content" / name).read_text(encoding="utf-8"))["cells"]
    return [
        "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for cell in cells
    ]


def first_document(site, suffix):
    """The site's first document of a kind (".md", ".ipynb"), by name."""
    return sorted(p.name for p in (site / "content").glob(f"*{suffix}"))[0]


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


def open_app(peer, site_url, room, fragment="", page_class=None, only_host=None):
    """JupyterLab of the site in the room, as a link opens it. Returns once the page has
    loaded, while the app still starts: people whose pages start together start in parallel
    (on 2 cores, somewhat faster than one after the other: a two-person test took 13.8 s
    instead of 16.9 s).
    `fragment`: the link's "#..." part (a private room's "#key=SECRET"); `page_class`,
    `only_host`: see Peer.open."""
    url = lab_url(site_url, room=room, username=peer.name) + fragment
    return peer.open(url, page_class, only_host=only_host)


def open_document(page, name):
    """Open the document from the page's file browser, as a user does; returns the page once
    it shows the document.

    Opening from the loaded app (not with ?path= while it starts) keeps the provider's 1 s
    first-sync window off the busiest moment of a page load."""
    page.open_from_file_browser(name)
    page.wait_for_document(name)
    return page


def open_in_lab(peer, site_url, name, room, fragment="", page_class=None, only_host=None):
    """Open JupyterLab in the room, then the document from its file browser (open_app's and
    open_document's arguments)."""
    return open_document(open_app(peer, site_url, room, fragment, page_class, only_host), name)


def open_text(page, document, original):
    """Open a text file from the page's file browser, as a person does; wait until it shows
    `original`."""
    open_document(page, document).wait_for_text(original)


def alice_then_bob(alice, bob, site_url, document, room, loaded, page_class=None):
    """Alice opens the document and waits until loaded(her page); then Bob opens it; each sees
    the other as a peer. Bob's page loads the app meanwhile: the document is what he opens
    after her. `page_class`: the site's pages (browsers.LitePage, a JupyterLab 3 site's, unless
    told)."""
    a = open_app(alice, site_url, room, page_class=page_class)
    b = open_app(bob, site_url, room, page_class=page_class)
    loaded(open_document(a, document))
    open_document(b, document)
    a.wait_for_peers(1)
    b.wait_for_peers(1)
    return a, b


def alice_then_bob_on_text(alice, bob, site_url, site, document, room, page_class=None):
    """alice_then_bob on a text file of the site, both showing it; also returns its text."""
    original = text_of(site, document)
    a, b = alice_then_bob(
        alice, bob, site_url, document, room, lambda page: page.wait_for_text(original), page_class
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


def alice_then_bob_on_notebook(alice, bob, site_url, site, notebook, room, page_class=None):
    """alice_then_bob on a notebook of the site; also returns its original cell sources."""
    original = cell_sources_of(site, notebook)
    a, b = alice_then_bob(
        alice,
        bob,
        site_url,
        notebook,
        room,
        lambda page: page.wait_for_cell_sources(original),
        page_class,
    )
    return a, b, original


def open_notebook(peer, url):
    page = peer.open(url)
    page.wait_for_notebook()
    return page


def marker(label):
    """Text to type that occurs nowhere else (no brackets or quotes: editors auto-close those)."""
    return f" {label}-{secrets.token_hex(3)}"
