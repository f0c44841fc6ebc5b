"""Sites of one GitHub owner share an origin (OWNER.github.io/A/, OWNER.github.io/B/), not the
files and settings people keep in their browsers; those files outlive a site's move from
JupyterLab 3 to 4."""

import http.server
import json
import threading
from functools import partial

import pytest
import yaml
from support.browsers import launch_local
from support.sites import build, made_once, render

NAMES_JS = """() => window.jupyterapp.serviceManager.contents.get('', {content: true})
    .then(listing => listing.content.map(item => item.name))"""
READ_JS = """name => window.jupyterapp.serviceManager.contents.get(name, {content: true})
    .then(model => model.content)"""
VERSION_JS = "() => window.jupyterapp.version"  # JupyterLite's
SAVE_JS = """name => window.jupyterapp.serviceManager.contents.save(
    name, {type: 'file', format: 'text', content: 'saved on this site'})"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class ExpiredCacheHandler(QuietHandler):
    """GitHub Pages lets browsers keep its files for 10 minutes (max-age=600) and tells changed
    files by their content (ETag). This server has browsers keep nothing, as for a visitor who
    comes back later than that. (JupyterLite's build/ has files whose names stay the same across
    versions, all dated as their npm package: revalidated by date, the old ones would stay.)"""

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@pytest.fixture(scope="module")
def browser(playwright):
    launched = launch_local(playwright)
    yield launched
    launched.close()


def build_to_drive(site):
    """Build the site, with its app exposed to the test as window.jupyterapp."""
    output = build(site)
    config_path = output / "jupyter-lite.json"
    config = json.loads(config_path.read_text())
    config["jupyter-config-data"]["exposeAppInBrowser"] = True
    config_path.write_text(json.dumps(config))
    return output


def serve(www, handler=QuietHandler):
    """Serve the folder www as GitHub Pages serves an owner's repositories (www/NAME: the site
    of repository NAME). Returns the server and the origin's URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def two_sites(tmp_path_factory):
    """two_sites(own_browser_storage): two sites rendered with that answer (repositories a and
    b, built once per run: made_once), served from one origin, under /a/ and /b/, as GitHub
    Pages serves two repositories of one owner. Returns the server, the origin's URL and the
    folder that holds the sites (a/, b/)."""

    def serve_two(own_browser_storage):
        def render_and_build(root):
            for name in ("a", "b"):
                answers = {"repo_name": name, "own_browser_storage": own_browser_storage}
                build_to_drive(render(root / name, **answers))

        storage = "own" if own_browser_storage else "shared"
        root = made_once(tmp_path_factory, f"two-sites-{storage}-storage", render_and_build)
        www = root / "www"
        www.mkdir()
        for name in ("a", "b"):
            (www / name).symlink_to(root / name / "_output")
        return (*serve(www), root)

    return serve_two


def open_lab(page, url):
    page.goto(f"{url}/lab/index.html")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.serviceManager")
    page.locator(".jp-DirListing-item", has_text="welcome.ipynb").wait_for()


@pytest.mark.parametrize(
    "own_browser_storage", [True, False], ids=["own storage", "shared storage"]
)
def test_a_file_saved_on_one_site_shows_on_another_only_if_they_share_storage(
    own_browser_storage, two_sites, browser
):
    server, origin, _ = two_sites(own_browser_storage)
    try:
        page = browser.new_context().new_page()  # one person: one browser profile
        open_lab(page, f"{origin}/a")
        page.evaluate(SAVE_JS, "saved-on-a.txt")
        assert "saved-on-a.txt" in page.evaluate(NAMES_JS)
        open_lab(page, f"{origin}/b")
        assert ("saved-on-a.txt" in page.evaluate(NAMES_JS)) is not own_browser_storage
    finally:
        server.shutdown()


def test_a_copy_saved_in_the_browser_hides_a_newer_published_file_until_deleted(two_sites, browser):
    """What the site's rooms guide tells owners: the browser's copy of a file wins over a newer
    published one, and deleting that copy in the browser brings the published one back."""
    server, origin, sites = two_sites(own_browser_storage=True)  # the default answer
    try:
        page = browser.new_context().new_page()
        open_lab(page, f"{origin}/a")
        page.evaluate(SAVE_JS, "collaborate.md")  # the person saves the file in their browser
        changed = "# Published again by the owner\n"
        (sites / "a" / "content" / "collaborate.md").write_text(changed)
        build_to_drive(sites / "a")
        open_lab(page, f"{origin}/a")
        assert page.evaluate(READ_JS, "collaborate.md") == "saved on this site"
        page.evaluate(
            "name => window.jupyterapp.serviceManager.contents.delete(name)", "collaborate.md"
        )
        assert page.evaluate(READ_JS, "collaborate.md") == changed
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    "own_browser_storage", [True, False], ids=["own storage", "shared storage"]
)
def test_files_saved_under_jupyterlab_3_show_after_the_site_moves_to_4(
    own_browser_storage, tmp_path, browser
):
    """A visitor saved a file in their browser on the site as `3`; the owner updates it to `4`
    (same repository, same address, same answers). The visitor keeps the file, and has the 4
    site from their second visit on."""
    www = tmp_path / "www"
    www.mkdir()
    answers = {"repo_name": "a", "own_browser_storage": own_browser_storage}
    three = render(tmp_path / "three", jupyterlab="3", **answers)
    (www / "a").symlink_to(build_to_drive(three))
    server, origin = serve(www, ExpiredCacheHandler)
    try:
        context = browser.new_context()  # the visitor's browser profile
        page = context.new_page()
        open_lab(page, f"{origin}/a")
        open_lab(page, f"{origin}/a")  # a visit that the site's service worker answers (caches)
        page.evaluate(SAVE_JS, "saved-under-3.txt")
        version_3 = page.evaluate(VERSION_JS)
        # what `copier update --data jupyterlab=4` keeps: the other answers (the room prefix,
        # which the browser storage names derive from)
        kept = yaml.safe_load((three / ".copier-answers.yml").read_text())
        four = render(tmp_path / "four", room_prefix=kept["room_prefix"], jupyterlab="4", **answers)
        (www / "a").unlink()
        (www / "a").symlink_to(build_to_drive(four))
        # The first visit after it: JupyterLite 0.1's service worker answers from its cache
        # (the old site, which works) and refreshes that cache; the next visit, once the old
        # site's pages are closed, is the new site.
        open_lab(page, f"{origin}/a")
        page.close()
        page = context.new_page()
        open_lab(page, f"{origin}/a")
        assert page.evaluate(VERSION_JS) != version_3  # the page is the 4 site's
        assert page.evaluate(READ_JS, "saved-under-3.txt") == "saved on this site"
    finally:
        server.shutdown()
