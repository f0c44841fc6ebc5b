"""Python runs in every browser of a room, from the site's own Python (python_from: site, the
tests' Pyodide distribution): every request to another host fails, so a silent CDN fallback
would fail the test. Each person runs their own kernel; what a run shows reaches everyone.

Pyodide starts take seconds of CPU each on 2 cores, so the tests share one site and run most
checks in the pages that already started Python.
"""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from support.browsers import MESH_TIMEOUT_MS
from support.flavours import ON_BOTH
from support.processes import wait_until
from support.python_sites import LESSON, LESSON_CELLS, lesson_notebook

PYTHON_TIMEOUT_MS = 180_000  # a Pyodide start on a busy 2-core machine
CELL = {name: index for index, name in enumerate(LESSON_CELLS)}

# One code cell of the open notebook: its execution count and outputs, as the model has them.
CELL_JS = """index => {
    const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(index);
    return {count: cell.executionCount, outputs: cell.outputs.toJSON()};
}"""


def open_lesson(peer, python_lite, room, network):
    """The lesson in JupyterLab, in the room, with every request off the site's host refused."""
    host = network.sites_host
    return python_lite.open_in(peer, python_lite.url, LESSON, room, only_host=host)


RUN_CELL_JS = """index => {
    window.jupyterapp.shell.currentWidget.content.activeCellIndex = index;
    return window.jupyterapp.commands.execute('notebook:run-cell');
}"""


def run(page, name):
    """Select the cell and run it, as Shift+Enter does; return once the run has ended (the
    command's promise waits for it)."""
    page.page.evaluate(RUN_CELL_JS, CELL[name])


def start(page, name):
    """Run the cell as `run` does, but return as soon as it has started."""
    page.page.evaluate(f"index => {{ ({RUN_CELL_JS})(index); }}", CELL[name])


def run_at(page, name, epoch_ms):
    """Run the cell at a given moment of the page's clock (all browsers share this machine's)."""
    page.page.evaluate(
        """([index, at]) => setTimeout(() => {
            window.jupyterapp.shell.currentWidget.content.activeCellIndex = index;
            window.jupyterapp.commands.execute('notebook:run-cell');
        }, at - Date.now())""",
        [CELL[name], epoch_ms],
    )


def run_cells_at(page, names, epoch_ms):
    """Select the cells (next to each other) and run them at once, as Shift+Enter on a
    selection does, at a given moment of the page's clock. (One run command per cell would
    not do: JupyterLab 4's reads the active cell after the page went on to the next.)"""
    indices = sorted(CELL[name] for name in names)
    assert indices == list(range(indices[0], indices[-1] + 1)), names
    page.page.evaluate(
        """([first, last, at]) => setTimeout(() => {
            const notebook = window.jupyterapp.shell.currentWidget.content;
            notebook.activeCellIndex = first;
            notebook.extendContiguousSelectionTo(last);
            window.jupyterapp.commands.execute('notebook:run-cell');
        }, at - Date.now())""",
        [indices[0], indices[-1], epoch_ms],
    )


def cell(page, name):
    return page.page.evaluate(CELL_JS, CELL[name])


def wait_for_cell(page, name, predicate_js, timeout=PYTHON_TIMEOUT_MS):
    """Wait until predicate_js(cell) holds for the cell's {count, outputs}; return the cell."""
    try:
        page.page.wait_for_function(
            f"index => ({predicate_js})(({CELL_JS})(index))", arg=CELL[name], timeout=timeout
        )
    except PlaywrightTimeoutError:
        raise AssertionError(
            f"after {timeout} ms cell {name!r} shows {cell(page, name)}; expected {predicate_js}"
            f"; {page.collaboration_state()}; it logged, last: {page.console[-8:]}"
        ) from None
    return cell(page, name)


def result(text):
    """A predicate: the cell shows exactly one result, `text`, and has a count."""
    return f"""c => c.count !== null && c.outputs.length === 1
        && c.outputs[0].output_type === 'execute_result'
        && c.outputs[0].data['text/plain'] === {text!r}"""


def error_named(name):
    """A predicate: the cell shows exactly one error, of this class (the kernel's `ename` is
    `<class 'NAME'>`)."""
    return f"""c => c.outputs.length === 1 && c.outputs[0].output_type === 'error'
        && c.outputs[0].ename.includes({name!r})"""


# JupyterLite 0.1 loads MathJax from this CDN whatever python_from says (its `fullMathjaxUrl`);
# math renders without it, nothing else does.
MATHJAX = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"


@pytest.fixture
def no_other_hosts(people):
    """After the test: no page asked anything of another host (a CDN, PyPI), MathJax aside."""
    yield
    blocked = [url for person in people for url in person.blocked if not url.startswith(MATHJAX)]
    assert blocked == [], blocked


# A page whose runs are over: the moment `at` has passed, its Python is idle and no cell waits.
RUNS_OVER_JS = """at => {
    const widget = window.jupyterapp.shell.currentWidget;
    const prompts = [...widget.node.querySelectorAll('.jp-InputPrompt')];
    return Date.now() > at + 500 && widget.sessionContext.session?.kernel?.status === 'idle'
        && !prompts.some(prompt => prompt.textContent.includes('*'));
}"""


def shown_once_runs_are_over(pages, names, at):
    """What each page shows of the cells `names` once the runs that began at `at` are over
    everywhere and the pages agree (a losing run's outputs take a moment to leave the room)."""
    for page in pages:
        page.page.wait_for_function(RUNS_OVER_JS, arg=at, timeout=PYTHON_TIMEOUT_MS)

    def shown():
        return [{name: cell(page, name) for name in names} for page in pages]

    try:
        wait_until(lambda: all(each == shown()[0] for each in shown()), timeout=15)
    except TimeoutError:
        pass  # the caller's assert shows what differs
    return shown()


@ON_BOTH
def test_a_run_reaches_everyone_each_runs_their_own_python_and_same_moment_runs_show_once(
    signaling, python_lite, network, room, alice, bob, carol, no_other_hosts
):
    a = open_lesson(alice, python_lite, room, network)
    b = open_lesson(bob, python_lite, room, network)
    a.wait_for_peers(1)
    run(a, "set")
    run(a, "add")
    shown = wait_for_cell(a, "add", result("42"))
    assert shown == wait_for_cell(b, "add", result("42"), timeout=15_000)  # count too
    # Late: Carol's page pairs up with two while her own Python starts, on 2 busy cores.
    c = open_lesson(carol, python_lite, room, network)
    assert wait_for_cell(c, "add", result("42"), timeout=MESH_TIMEOUT_MS) == shown

    run(b, "add")  # Bob's Python never ran x = 41
    for page in (b, a, c):
        wait_for_cell(page, "add", error_named("NameError"))

    # Both run it at the same moment: Alice's Python says 42, Bob's NameError. The room shows
    # one of the two runs, whole, with its number, the same in every page.
    for _ in range(3):
        at = a.now() + 1_000
        run_at(a, "add", at)
        run_at(b, "add", at)
        shown = [each["add"] for each in shown_once_runs_are_over((a, b, c), ["add"], at)]
        assert shown[0] == shown[1] == shown[2], shown
        (output,) = shown[0]["outputs"]
        assert shown[0]["count"] is not None
        assert "NameError" in output.get("ename", "") or output["data"]["text/plain"] == "42"


@ON_BOTH
def test_when_the_network_blocks_the_cdn_the_person_sees_why_and_what_to_tell_the_owner(
    jupyterlab, signaling, lite, network, room, alice
):
    """A site with python_from: cdn on a network that blocks the CDN."""
    page = lite.open_in(alice, lite.url, lite.notebook, room, only_host=network.sites_host)
    dialog = page.page.locator(".jp-Dialog", has_text="Python cannot start")
    expect(dialog).to_be_visible()
    text = dialog.inner_text()
    assert "cannot reach cdn.jsdelivr.net" in text
    assert "python_from: site" in text  # what to tell the site's owner
    assert any(url.startswith("https://cdn.jsdelivr.net/") for url in alice.blocked)


CLASS_CELLS = ("set", "add", "stderr", "html", "png", "error")  # all but the long one
OUTPUTS_OF_ONE_RUN = {name: 0 if name == "set" else 1 for name in CLASS_CELLS}  # x = 41 shows none


# What each cell's one run shows
SHOWN = {
    "stderr": """c => c.outputs.length === 1 && c.outputs[0].name === 'stderr'
        && c.outputs[0].text === 'careful\\n'""",
    "error": error_named("ZeroDivisionError"),
    "html": """c => c.outputs.length === 1
        && c.outputs[0].data['text/html'].includes('class="from-python"')""",
    "png": """c => c.outputs.length === 1
        && c.outputs[0].data['image/png'].startsWith('iVBORw0KGgo')""",
}


def test_a_class_of_four_runs_every_cell_at_once_and_the_owner_stops_a_long_run(
    signaling, python_lite, network, room, people, no_other_hosts
):
    """Four people run every cell at the same moment: each page shows each run once, the same
    everywhere (stderr, an error, HTML, an image), and saves it so. Then Alice stops a run
    that would last 300 s. One test: every page starts its own Python, seconds of CPU each."""
    pages = [open_lesson(person, python_lite, room, network) for person in people]
    for page in pages:
        page.wait_for_peers(len(people) - 1, timeout=60_000)
    at = pages[0].now() + 2_000
    for page in pages:
        run_cells_at(page, CLASS_CELLS, at)
    for page in pages:
        for name in CLASS_CELLS:
            one_run = f"c => c.count !== null && c.outputs.length === {OUTPUTS_OF_ONE_RUN[name]}"
            wait_for_cell(page, name, one_run, timeout=300_000)
    shown = shown_once_runs_are_over(pages, CLASS_CELLS, at)
    assert all(each == shown[0] for each in shown), shown
    for name in CLASS_CELLS:
        assert len(shown[0][name]["outputs"]) == OUTPUTS_OF_ONE_RUN[name], (name, shown[0][name])

    for page in pages:
        page.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_unsaved_tabs(0)
        stored = page.stored(LESSON)
        assert stored["metadata"]["kernelspec"] == lesson_notebook()["metadata"]["kernelspec"]
        saved = {c["id"]: c for c in stored["cells"]}
        for name in CLASS_CELLS:
            assert saved[name]["outputs"] == shown[0][name]["outputs"], name
            assert saved[name]["execution_count"] == shown[0][name]["count"], name
    for name, predicate in SHOWN.items():
        wait_for_cell(pages[0], name, predicate)
    # what Alice's page shows of them, rendered
    a = pages[0]
    expect(a.page.locator(".jp-OutputArea-output b.from-python")).to_have_text("bold")
    expect(a.page.locator(".jp-RenderedImage img")).to_have_count(1)

    # JupyterLite cannot interrupt a kernel (JupyterLite 0.1.3 has no such route): Alice stops
    # her long run by restarting her Python, which forgets her variables, and goes on. Her
    # Python answers long before the 300 s run could have ended by itself: it stopped.
    start(a, "slow")
    wait_for_cell(a, "slow", "c => c.outputs.length === 1")  # it printed: it runs
    # (not awaited: the command waits for the person's answer to its dialog)
    a.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:restart-kernel'); }")
    a.page.locator(".jp-Dialog .jp-mod-accept").click()  # Restart
    run(a, "add")
    for page in pages:
        wait_for_cell(page, "add", error_named("NameError"))
