"""What a page does and shows, for the tests of peers' content (test_peer_content.py on
JupyterLab 3.5, test_lab4_peer_content.py on 4): Mallory attacks through her page's JupyterLab
API; content that would run script records that it ran. Both JupyterLabs' notebook models have
the calls used here."""

import json

from playwright.sync_api import expect

from .browsers import SYNC_TIMEOUT_MS

NOTEBOOK = "window.jupyterapp.shell.currentWidget.content.model"
CONTEXT = "window.jupyterapp.shell.currentWidget.context"
# long enough for a script that would run to have run (rendering takes a few ms)
RENDERED_WAIT_MS = 1500

# A command that shows when it ran: the page's theme changes.
THEME_COMMAND = "apputils:change-theme"
LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"


def record(label):
    """Script that records, in the page that runs it, that it ran."""
    return f"window.ranHere = (window.ranHere || []).concat(['{label}'])"


def script_outputs(who):
    """Outputs that run script where they render trusted, each recording `who`-KIND."""
    return [
        display({"application/javascript": record(f"{who}-javascript"), "text/plain": "js"}),
        display(
            {
                "text/html": f"<script>{record(f'{who}-html-script')}</script>"
                f"<img src='data:,' onerror=\"{record(f'{who}-html-onerror')}\">"
            }
        ),
        display({"text/markdown": f"<script>{record(f'{who}-markdown-script')}</script>"}),
    ]


SCRIPT_KINDS = ("javascript", "html-script", "html-onerror", "markdown-script")


def display(data):
    return {"output_type": "display_data", "data": data, "metadata": {}}


def linker_button(element_id):
    """A button that runs THEME_COMMAND when clicked, through JupyterLab's command linker."""
    args = json.dumps({"theme": DARK})
    return (
        f'<button id="{element_id}" data-commandlinker-command="{THEME_COMMAND}" '
        f"data-commandlinker-args='{args}'>Click me</button>"
    )


def ran(page):
    return page.page.evaluate("() => window.ranHere || []")


def theme(page):
    return page.page.evaluate("() => document.body.dataset.jpThemeName")


def add_outputs(page, index, outputs):
    page.page.evaluate(
        f"""([index, outputs]) => {{
            const cell = {NOTEBOOK}.cells.get(index);
            outputs.forEach(output => cell.outputs.add(output));
        }}""",
        [index, outputs],
    )


def run_as_a_kernel(page, index, outputs):
    """What JupyterLab does when its person runs cell `index` (CodeCell.execute), with
    `outputs` from the kernel."""
    page.page.evaluate(
        f"""([index, outputs]) => {{
            const cell = {NOTEBOOK}.cells.get(index);
            cell.clearExecution();
            cell.trusted = true;
            outputs.forEach(output => cell.outputs.add(output));
        }}""",
        [index, outputs],
    )


def set_trusted(page, index, trusted):
    page.page.evaluate(f"([i, t]) => {{ {NOTEBOOK}.cells.get(i).trusted = t; }}", [index, trusted])


def trusted(page, index):
    return page.page.evaluate(f"i => {NOTEBOOK}.cells.get(i).trusted", index)


def wait_for_outputs_shown(page, index, count):
    """Wait until cell `index` has `count` outputs and shows them, and a while longer."""
    page.page.wait_for_function(
        f"""([index, count]) => {NOTEBOOK}.cells.get(index).outputs.length === count""",
        arg=[index, count],
        timeout=SYNC_TIMEOUT_MS,
    )
    cell = page.page.locator(".jp-Notebook .jp-Cell").nth(index)
    expect(cell.locator(".jp-OutputArea-output")).to_have_count(count, timeout=SYNC_TIMEOUT_MS)
    page.page.wait_for_timeout(RENDERED_WAIT_MS)  # a wait for something that must not happen


def click(page, element_id):
    page.page.locator(f"#{element_id}").click()
    page.page.wait_for_timeout(RENDERED_WAIT_MS)  # for a command that must not run
