"""Sites of one GitHub owner share an origin (OWNER.github.io/A/, OWNER.github.io/B/), not the
files and settings people keep in their browsers."""

import http.server
import json
import threading
from functools import partial

import pytest
from browsers import CHROMIUM_FLAGS, chromium_path
from playwright.sync_api import sync_playwright
from sites import build, render

NAMES_JS = """() => window.jupyterapp.serviceManager.contents.get('', {content: true})
    .then(listing => listing.content.map(item => item.name))"""
SAVE_JS = """name => window.jupyterapp.serviceManager.contents.save(
    name, {type: 'file', format: 'text', content: 'saved on this site'})"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path()), headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


def serve_two_sites(root, **answers):
    """Two sites rendered with these answers, built, and served from one origin, under /a/ and
    /b/, as GitHub Pages serves two repositories of one owner. Returns the origin's URL."""
    www = root / "www"
    www.mkdir()
    for name in ("a", "b"):
        site = render(root / name, repo_name=name, **answers)
        output = build(site)
        config_path = output / "jupyter-lite.json"
        config = json.loads(config_path.read_text())
        config["jupyter-config-data"]["exposeAppInBrowser"] = True  # so the test can drive it
        config_path.write_text(json.dumps(config))
        (www / name).symlink_to(output)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(QuietHandler, directory=str(www))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def open_lab(page, url):
    page.goto(f"{url}/lab/index.html")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.serviceManager")
    page.locator(".jp-DirListing-item", has_text="welcome.ipynb").wait_for()


@pytest.mark.parametrize(
    "own_browser_storage", [True, False], ids=["own storage", "shared storage"]
)
def test_a_file_saved_on_one_site_shows_on_another_only_if_they_share_storage(
    own_browser_storage, tmp_path, browser
):
    server, origin = serve_two_sites(tmp_path, own_browser_storage=own_browser_storage)
    try:
        page = browser.new_context().new_page()  # one person: one browser profile
        open_lab(page, f"{origin}/a")
        page.evaluate(SAVE_JS, "saved-on-a.txt")
        assert "saved-on-a.txt" in page.evaluate(NAMES_JS)
        open_lab(page, f"{origin}/b")
        assert ("saved-on-a.txt" in page.evaluate(NAMES_JS)) is not own_browser_storage
    finally:
        server.shutdown()
