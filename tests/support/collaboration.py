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


def open_in_lab(peer, site_url, name, room, fragment="", page_class=None, only_host=None):
    """Open JupyterLab in the room, then the document from its file browser, as a user does.

    Opening from the loaded app (not with ?path= while it starts) keeps the provider's 1 s
    first-sync window off the busiest moment of a page load. `fragment`: the link's "#..." part
    (a private room's "#key=SECRET"); `page_class`, `only_host`: see Peer.open.
    """
    url = lab_url(site_url, room=room, username=peer.name) + fragment
    page = peer.open(url, page_class, only_host=only_host)
    page.open_from_file_browser(name)
    page.wait_for_document(name)
    return page


def open_text(page, document, original):
    """Open a text file from the page's file browser, as a person does; wait until it shows
    `original`."""
    page.open_from_file_browser(document)
    page.wait_for_text_editor()
    page.wait_for_text(original)


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


def alice_then_bob_on_text(alice, bob, site_url, site, document, room, open_in=None):
    """alice_then_bob on a text file of the site, both showing it; also returns its text."""
    original = text_of(site, document)
    a, b = alice_then_bob(
        alice, bob, site_url, document, room, lambda page: page.wait_for_text(original), open_in
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


def alice_then_bob_on_notebook(alice, bob, site_url, site, notebook, room, open_in=None):
    """alice_then_bob on a notebook of the site; also returns its original cell sources."""
    original = cell_sources_of(site, notebook)
    a, b = alice_then_bob(
        alice,
        bob,
        site_url,
        notebook,
        room,
        lambda page: page.wait_for_cell_sources(original),
        open_in,
    )
    return a, b, original


def open_notebook(peer, url):
    page = peer.open(url)
    page.wait_for_notebook()
    return page


def marker(label):
    """Text to type that occurs nowhere else (no brackets or quotes: editors auto-close those)."""
    return f" {label}-{secrets.token_hex(3)}"
