"""What a person in a room writes into another person's notebook is content, never code that runs
in that person's page (extension/src/peer-content.ts; extension/DESIGN.md, "What a peer's content
can do in your page").

Mallory attacks only through her own page's JupyterLab API, as anyone can from the browser's
developer tools; Alice is the person attacked. Each attack has its control: the same content
made in Alice's own page does run, so each test fails when the guard is not there. Nothing
here has a kernel (the Python kernel loads from a CDN, out of reach): a person's run is what
JupyterLab's CodeCell.execute does to the cell's model (clear it, trust it, add the kernel's
outputs).
"""

import json
import secrets

import pytest
from playwright.sync_api import expect
from support.collaboration import alice_then_bob_on_notebook, cell_sources_of, open_in_lab
from support.peer_content import (
    CONTEXT,
    DARK,
    LIGHT,
    NOTEBOOK,
    SCRIPT_KINDS,
    add_outputs,
    click,
    display,
    linker_button,
    ran,
    record,
    run_as_a_kernel,
    script_outputs,
    set_trusted,
    theme,
    trusted,
    wait_for_outputs_shown,
)


@pytest.fixture
def code_cell(lab3_site, lab3_notebook):
    """The index of the notebook's first code cell."""
    cells = json.loads((lab3_site / "content" / lab3_notebook).read_text())["cells"]
    return next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")


# vega 5.23 renders a spec whether its output is trusted or not, and specs have run script
VEGA_SPEC = {
    "$schema": "https://vega.github.io/schema/vega/v5.json",
    "width": 40,
    "height": 40,
    "marks": [
        {"type": "rect", "encode": {"enter": {"width": {"value": 9}, "height": {"value": 9}}}}
    ],
}
VEGA_OUTPUT = {"application/vnd.vega.v5+json": VEGA_SPEC, "text/plain": "vega"}


def add_markdown_cell(page, source):
    page.page.evaluate(
        f"""source => {{
            const model = {NOTEBOOK};
            model.cells.push(model.contentFactory.createMarkdownCell(
                {{cell: {{cell_type: 'markdown', source, metadata: {{}}}}}}));
        }}""",
        source,
    )


def vega_charts(page, index):
    return page.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".vega-embed").count()


# ---------------------------------------------------------------- the attacks


@pytest.mark.parametrize("alice_trusts_the_cell", [True, False], ids=["trusted", "untrusted"])
def test_a_peers_outputs_and_buttons_run_nothing_in_your_page(
    alice_trusts_the_cell, signaling, lab3_site_url, lab3_site, lab3_notebook, code_cell, room,
    alice, mallory
):  # fmt: skip
    a, m, _ = alice_then_bob_on_notebook(
        alice, mallory, lab3_site_url, lab3_site, lab3_notebook, room
    )
    set_trusted(a, code_cell, alice_trusts_the_cell)  # as after she ran it, or not

    outputs = [*script_outputs("mallory"), display({"text/html": linker_button("in-output")})]
    add_outputs(m, code_cell, [*outputs, display(VEGA_OUTPUT)])
    add_markdown_cell(m, f"{linker_button('in-markdown')} [a file of the site](collaborate.md)")

    wait_for_outputs_shown(a, code_cell, len(outputs) + 1)
    expect(a.page.locator("#in-markdown")).to_be_visible()
    buttons = ("in-output", "in-markdown")
    linked = [b for b in buttons if a.page.locator(f"#{b}[data-commandlinker-command]").count()]
    for button in buttons:
        click(a, button)
    seen = {
        "scripts that ran": ran(a),
        "cell trusted": trusted(a, code_cell),
        "vega charts": vega_charts(a, code_cell),
        "buttons with a command": linked,
        "theme after the clicks": theme(a),
    }
    assert seen == {
        "scripts that ran": [],
        "cell trusted": False,
        "vega charts": 0,
        "buttons with a command": [],
        "theme after the clicks": LIGHT,
    }

    # Controls. Alice runs the cell (her kernel makes the same outputs), after Mallory's: hers
    # run and render trusted, Mallory's are gone (a run clears the cell).
    run_as_a_kernel(a, code_cell, [*script_outputs("alice"), display(VEGA_OUTPUT)])
    a.page.wait_for_function(
        "kinds => kinds.every(kind => (window.ranHere || []).includes(`alice-${kind}`))",
        arg=list(SCRIPT_KINDS),
    )
    expect(a.page.locator(".jp-Cell").nth(code_cell).locator(".vega-embed")).to_have_count(1)
    # The same button outside a document runs the command: the test sees a click that works.
    a.page.evaluate(
        """html => {
            const holder = document.createElement('div');
            holder.innerHTML = html;
            holder.style = 'position: fixed; top: 0; left: 0; z-index: 100000';
            document.body.appendChild(holder);
        }""",
        linker_button("outside-documents"),
    )
    click(a, "outside-documents")
    expect(a.page.locator("body")).to_have_attribute("data-jp-theme-name", DARK)

    # In Mallory's page, Alice's outputs came from the room.
    wait_for_outputs_shown(m, code_cell, len(script_outputs("alice")) + 1)
    assert not [label for label in ran(m) if label.startswith("alice")]

    # A link to a file of the site, in the peer's Markdown, opens it (JupyterLab's own use of
    # the command linker, which stays).
    a.page.get_by_role("link", name="a file of the site").click()
    expect(
        a.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="collaborate.md")
    ).to_be_visible()


def test_your_own_trusted_output_stays_rich_until_a_peer_changes_that_cell(
    signaling, lab3_site_url, lab3_site, lab3_notebook, code_cell, room, alice, mallory
):
    original = cell_sources_of(lab3_site, lab3_notebook)
    a = open_in_lab(alice, lab3_site_url, lab3_notebook, room)
    a.wait_for_cell_sources(original)
    rich = (
        f"<button id='alice-rich' onclick=\"{record('alice-click')}\">Alice's</button>"
        f"<script>{record('alice-own')}</script>"
    )
    run_as_a_kernel(a, code_cell, [display({"text/html": rich})])
    a.page.wait_for_function("() => (window.ranHere || []).includes('alice-own')")

    # Mallory joins and edits elsewhere: another cell's source, and a new cell.
    m = open_in_lab(mallory, lab3_site_url, lab3_notebook, room)
    a.wait_for_peers(1)
    m.wait_for_peers(1)
    m.page.evaluate(f"() => {{ {NOTEBOOK}.cells.get(0).value.text = 'Mallory was here'; }}")
    add_markdown_cell(m, "Mallory's cell")
    a.wait_for_cell_sources(["Mallory was here", *original[1:], "Mallory's cell"])
    assert trusted(a, code_cell)
    expect(a.page.locator("#alice-rich")).to_have_attribute("onclick", record("alice-click"))
    # Mallory's page shows Alice's output as one from the room: sanitized, nothing ran.
    expect(m.page.locator("#alice-rich")).to_be_visible()
    assert m.page.locator("#alice-rich").get_attribute("onclick") is None
    assert ran(m) == []

    # Mallory adds an output to Alice's cell, after Alice's own: the cell is no longer only
    # Alice's, and all of it renders untrusted.
    add_outputs(m, code_cell, script_outputs("mallory")[:1])
    wait_for_outputs_shown(a, code_cell, 2)
    assert not trusted(a, code_cell)
    assert a.page.locator("#alice-rich").get_attribute("onclick") is None
    assert ran(a) == ["alice-own"]


def test_a_peer_cannot_move_your_document_trust_your_saved_copy_or_restyle_your_page(
    signaling, lab3_site_url, lab3_site, lab3_notebook, code_cell, room, alice, mallory
):
    a, m, _ = alice_then_bob_on_notebook(
        alice, mallory, lab3_site_url, lab3_site, lab3_notebook, room
    )
    elsewhere = f"elsewhere-{secrets.token_hex(3)}.ipynb"
    shared_path = f"{CONTEXT}.model.sharedModel.ydoc.getMap('context').get('path')"
    # JupyterLab follows a shared path: Alice's next save would write over another file.
    m.page.evaluate(
        f"path => {CONTEXT}.model.sharedModel.ydoc.getMap('context').set('path', path)", elsewhere
    )
    # A notebook opened alone takes its cells' trust from the saved `trusted` metadata.
    m.page.evaluate(f"i => {NOTEBOOK}.cells.get(i).metadata.set('trusted', true)", code_cell)
    add_outputs(m, code_cell, script_outputs("mallory")[:1])
    # A colour ends up in CSS text (the cursor of y-codemirror).
    m.page.evaluate(
        f"""() => {CONTEXT}.model.sharedModel.awareness.setLocalStateField(
            'user', {{name: 'mallory', color: 'red; background: url(/mallory.png)'}})"""
    )
    colour_of_mallory = f"""() => [...{CONTEXT}.model.sharedModel.awareness.getStates().values()]
        .filter(state => state.user?.name === 'mallory').map(state => state.user.color)"""
    a.page.wait_for_function(f"path => {shared_path} === path", arg=elsewhere)
    wait_for_outputs_shown(a, code_cell, 1)
    a.page.wait_for_function(f"() => ({colour_of_mallory})().length === 1")

    a.page.evaluate(f"() => {CONTEXT}.save()")
    saved = a.stored(lab3_notebook)
    seen = {
        "path": a.page.evaluate(f"() => {CONTEXT}.path"),
        "saved elsewhere": elsewhere in a.stored_names(),
        "cell metadata to save": a.page.evaluate(
            f"i => {NOTEBOOK}.cells.get(i).toJSON().metadata", code_cell
        ),
        "saved cell metadata": saved["cells"][code_cell]["metadata"],
        "colour of mallory": a.page.evaluate(colour_of_mallory),
    }
    assert seen == {
        "path": lab3_notebook,
        "saved elsewhere": False,
        "cell metadata to save": {},
        "saved cell metadata": {},
        "colour of mallory": ["#808080"],
    }
