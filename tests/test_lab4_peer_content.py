"""On JupyterLab 4 sites too, what a person in a room writes into another person's notebook is
content, never code that runs in that person's page (extension/lab4/src/peer-content.ts,
extension/common/peer-content.ts; extension/DESIGN.md, "What a peer's content can do in your
page"). As in test_peer_content.py: Mallory attacks through her page's JupyterLab API, each attack
has its control (the same content made in Alice's own page runs), and a person's run is what
JupyterLab's CodeCell.execute does to the cell's model (nothing here has a kernel).
"""

import secrets

import pytest
from playwright.sync_api import expect
from support.collaboration import alice_then_bob, code_cell_index, original_of
from support.lab4_pages import Lab4Page
from support.peer_content import (
    CONTEXT,
    LIGHT,
    NOTEBOOK,
    RENDERED_WAIT_MS,
    SCRIPT_KINDS,
    add_outputs,
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

SHARED_MODEL = f"{NOTEBOOK}.sharedModel"


@pytest.fixture
def code_cell(lab4_site, lab4_notebook):
    return code_cell_index(lab4_site, lab4_notebook)


@pytest.fixture
def alice_and_mallory(signaling, lab4_site, lab4_site_url, lab4_notebook, room, alice, mallory):
    """Alice opens the notebook, then Mallory; both see it and each other."""
    original = original_of(lab4_site, lab4_notebook)
    return alice_then_bob(
        alice,
        mallory,
        lab4_site_url,
        lab4_notebook,
        room,
        lambda page: page.wait_for_cell_sources(original),
        Lab4Page,
    )


def outputs_trusted(page, index):
    """The trust each output of cell `index` renders with (JupyterLab 4 keeps one per output)."""
    return page.page.evaluate(
        f"i => Array.from({{length: {NOTEBOOK}.cells.get(i).outputs.length}},"
        f" (_, k) => {NOTEBOOK}.cells.get(i).outputs.get(k).trusted)",
        index,
    )


def insert_code_cell(page, index, cell):
    page.page.evaluate(f"([index, cell]) => {SHARED_MODEL}.insertCell(index, cell)", [index, cell])


@pytest.mark.parametrize("alice_trusts_the_cell", [True, False], ids=["trusted", "untrusted"])
def test_a_peers_outputs_and_cells_run_nothing_in_your_page(
    alice_trusts_the_cell, alice_and_mallory, code_cell
):
    a, m = alice_and_mallory
    set_trusted(a, code_cell, alice_trusts_the_cell)  # as after she ran it, or not

    outputs = [*script_outputs("mallory"), display({"text/html": linker_button("in-output")})]
    add_outputs(m, code_cell, outputs)
    # a whole cell of Mallory's, which says it is trusted
    new_cell = {
        "cell_type": "code",
        "source": "evil()",
        "metadata": {"trusted": True},
        "outputs": script_outputs("mallory-cell")[:1],
    }
    insert_code_cell(m, 0, new_cell)
    code_cell += 1
    wait_for_outputs_shown(a, code_cell, len(outputs))
    wait_for_outputs_shown(a, 0, 1)
    # JupyterLab 4's sanitizer drops the button's id
    button = a.page.locator(".jp-Cell").nth(code_cell).get_by_role("button", name="Click me")
    button.click()
    a.page.wait_for_timeout(RENDERED_WAIT_MS)  # for a command that must not run
    seen = {
        "scripts that ran": ran(a),
        "cell trusted": trusted(a, code_cell),
        "Mallory's outputs trusted": outputs_trusted(a, code_cell),
        "Mallory's cell trusted": trusted(a, 0),
        "button with a command": button.get_attribute("data-commandlinker-command"),
        "theme after the click": theme(a),
    }
    assert seen == {
        "scripts that ran": [],
        "cell trusted": alice_trusts_the_cell,
        "Mallory's outputs trusted": [False] * len(outputs),
        "Mallory's cell trusted": False,
        "button with a command": None,
        "theme after the click": LIGHT,
    }

    # Control: Alice runs the cell (her kernel makes the same outputs), after Mallory's: hers
    # run and render trusted; Mallory's are gone (a run clears the cell).
    run_as_a_kernel(a, code_cell, script_outputs("alice"))
    a.page.wait_for_function(
        "kinds => kinds.every(kind => (window.ranHere || []).includes(`alice-${kind}`))",
        arg=list(SCRIPT_KINDS),
    )
    assert not [label for label in ran(a) if label.startswith("mallory")]
    # In Mallory's page, Alice's outputs came from the room.
    wait_for_outputs_shown(m, code_cell, len(script_outputs("alice")))
    assert not [label for label in ran(m) if label.startswith("alice")]


def test_your_own_trusted_output_stays_rich_beside_a_peers(alice_and_mallory, code_cell):
    a, m = alice_and_mallory
    rich = (
        f"<button id='alice-rich' onclick=\"{record('alice-click')}\">Alice's</button>"
        f"<script>{record('alice-own')}</script>"
    )
    run_as_a_kernel(a, code_cell, [display({"text/html": rich})])
    a.page.wait_for_function("() => (window.ranHere || []).includes('alice-own')")

    # Mallory edits elsewhere: another cell's source, and a new cell.
    m.page.evaluate(f"() => {NOTEBOOK}.cells.get(0).sharedModel.setSource('Mallory was here')")
    m.page.evaluate(f"() => {SHARED_MODEL}.addCell({{cell_type: 'markdown', source: 'M'}})")
    a.page.wait_for_function(f"() => {SHARED_MODEL}.cells.at(-1).getSource() === 'M'")
    assert trusted(a, code_cell)
    expect(a.page.locator("#alice-rich")).to_have_attribute("onclick", record("alice-click"))
    # Mallory's page shows Alice's output as one from the room: sanitized, nothing ran.
    in_mallorys = m.page.get_by_role("button", name="Alice's")  # no id: sanitized
    expect(in_mallorys).to_be_visible()
    assert in_mallorys.get_attribute("onclick") is None
    assert ran(m) == []

    # Mallory adds an output to Alice's cell: hers renders untrusted, Alice's stays as it was.
    add_outputs(m, code_cell, script_outputs("mallory")[:1])
    wait_for_outputs_shown(a, code_cell, 2)
    assert outputs_trusted(a, code_cell) == [True, False]
    expect(a.page.locator("#alice-rich")).to_have_attribute("onclick", record("alice-click"))
    assert ran(a) == ["alice-own"]


def test_a_peer_cannot_move_your_document_trust_your_saved_copy_or_restyle_your_page(
    alice_and_mallory, lab4_notebook, code_cell
):
    a, m = alice_and_mallory
    elsewhere = f"elsewhere-{secrets.token_hex(3)}.ipynb"
    # JupyterLab follows a shared path: Alice's next save would write over another file.
    m.page.evaluate(f"path => {SHARED_MODEL}.setState('path', path)", elsewhere)
    # A notebook opened alone takes its cells' trust from the saved `trusted` metadata.
    m.page.evaluate(f"i => {NOTEBOOK}.cells.get(i).setMetadata('trusted', true)", code_cell)
    add_outputs(m, code_cell, script_outputs("mallory")[:1])
    # Colours go into CSS (cursors, who is here); a picture would be loaded from anywhere.
    m.page.evaluate(
        f"""() => {SHARED_MODEL}.awareness.setLocalStateField('user', {{
            name: 'mallory', display_name: 'mallory', initials: 'M',
            color: 'red; background: url(/mallory.png)', avatar_url: '/mallory.png'}})"""
    )
    mallory_seen = f"""() => [...{SHARED_MODEL}.awareness.getStates().values()]
        .filter(state => state.user?.name === 'mallory').map(state => state.user)"""
    a.page.wait_for_function(f"path => {SHARED_MODEL}.getState('path') === path", arg=elsewhere)
    wait_for_outputs_shown(a, code_cell, 1)
    a.page.wait_for_function(f"() => ({mallory_seen})().length === 1")

    a.page.evaluate(f"() => {CONTEXT}.save()")
    saved = a.stored(lab4_notebook)
    seen = {
        "path": a.page.evaluate(f"() => {CONTEXT}.path"),
        "saved elsewhere": elsewhere in a.stored_names(),
        "trusted in the saved cell": "trusted" in saved["cells"][code_cell]["metadata"],
        "mallory": a.page.evaluate(mallory_seen),
    }
    assert seen == {
        "path": lab4_notebook,
        "saved elsewhere": False,
        "trusted in the saved cell": False,
        "mallory": [
            {"name": "mallory", "display_name": "mallory", "initials": "M", "color": "#808080"}
        ],
    }
