"""The fixtures more than one test module uses: rendered and built sites, a throw-away copy of
the template as a git repo, a signaling topic, and the browser tests' world: a built site served
by its own preview.py, its signaling server behind a recording relay, and one browser process per
person, all inside a private network namespace (support/networks.py). Also marks the browser
tests, and keeps the Playwright traces of those that fail. The code they share is in support/.
"""

import json
import re
import secrets
import shutil
import uuid

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from support.answers import STARTER, VARIANTS
from support.browsers import STILL_CARETS, Peer, launch_peer
from support.collaboration import NOTEBOOK_WITHOUT_CELL_IDS, first_document
from support.flavours import Lite
from support.networks import private_network
from support.previews import serve_preview
from support.python_sites import LESSON, lesson_notebook, site_with_its_own_python
from support.signaling_service import Signaling
from support.sites import DEFAULT_JUPYTERLAB, build, build_env, made_once, render
from support.updates import generate, template_repo

# A failed browser test leaves a Playwright trace per browser context in this folder of the
# rootdir (CI uploads it): test-results/TEST/context-N.zip, for `playwright show-trace FILE`.
TRACES = "test-results"


def pytest_collection_modifyitems(items):
    """Mark the tests that drive browsers: `-m browser` and `-m "not browser"` split the suite."""
    for item in items:
        if "playwright" in item.fixturenames:
            item.add_marker(pytest.mark.browser)


class ContextTraces:
    """Traces every browser context a test opens; saves the traces only if the test failed,
    with a screenshot and the HTML of each page still open then.

    (pytest-playwright's tracing covers only the contexts of its own one-browser fixtures; these
    tests run a browser process per person.) A context closed before the test ends loses its
    trace: only a part of a test that passed closes its contexts.
    """

    def __init__(self):
        self._open = {}  # the test's contexts still open -> their number, in the order opened
        self._opened = 0

    def start(self, context):
        # No DOM snapshots and no screenshots: a snapshot at each action cost a fourth more CPU
        # for two people opening and editing a document (14.5 CPU-s instead of 11.2), a
        # screencast doubled the browser tests' time; the pages as they were at the failure
        # are saved instead (finish).
        context.tracing.start(screenshots=False, snapshots=False, sources=True)
        self._opened += 1
        self._open[context] = self._opened
        context.on("close", lambda closed: self._open.pop(closed, None))

    def finish(self, folder, keep):
        """Stop tracing; with `keep`, save each trace into `folder`, and each page still open as
        a screenshot and its HTML. Returns the saved paths."""
        shutil.rmtree(folder, ignore_errors=True)  # an earlier run's
        saved = []
        try:
            contexts = list(self._open.items())
            for context, number in contexts:
                path = folder / f"context-{number}.zip" if keep else None
                context.tracing.stop(path=path)
                saved += [path] if keep else []
            for context, number in contexts if keep else ():  # after the traces: a page that
                saved += save_pages(context, folder / f"context-{number}")  # fails loses none
        finally:
            self._open.clear()
            self._opened = 0
        return saved


def save_pages(context, stem):
    """Each page of `context` as it is now: STEM-page-N.png and STEM-page-N.html."""
    saved = []
    for number, page in enumerate(context.pages, start=1):
        picture, html = (
            stem.with_name(f"{stem.name}-page-{number}{kind}") for kind in (".png", ".html")
        )
        page.screenshot(path=picture, timeout=10_000)
        html.write_text(page.content(), encoding="utf-8")
        saved += [picture, html]
    return saved


CONTEXT_TRACES = ContextTraces()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """After a browser test's last phase with browsers open (before fixtures close them), keep
    its traces if it failed, an expected failure (xfail) included."""
    report = yield
    ended = report.when == "call" or (report.when == "setup" and not report.passed)
    if ended and item.get_closest_marker("browser"):
        failed = report.failed or (report.skipped and hasattr(report, "wasxfail"))
        folder = item.config.rootpath / TRACES / re.sub(r"[^\w.-]+", "-", item.nodeid).strip("-")
        try:
            saved = CONTEXT_TRACES.finish(folder, keep=failed)
        except PlaywrightError as error:  # a crashed browser: the test's own report matters more
            report.sections.append(("Playwright traces", f"not saved: {error}"))
        else:
            if saved:
                report.sections.append(("Playwright traces", "\n".join(map(str, saved))))
    return report


# The answers of each variant the tests render by name
ANSWERS = {**VARIANTS, "starter": STARTER}


@pytest.fixture(scope="session")
def rendered_site(tmp_path_factory):
    """Render a variant once per run: rendered_site("defaults") -> the site repo's Path."""
    cache = {}

    def get(variant: str):
        if variant not in cache:
            answers = ANSWERS[variant]
            made = made_once(tmp_path_factory, variant, lambda f: render(f / "site", **answers))
            cache[variant] = made / "site"
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """Render and build a variant once per run, in the environment its environment.yml pins."""
    cache = {}

    def get(variant: str):
        if variant not in cache:
            cache[variant] = site_built(tmp_path_factory, f"built-{variant}", **ANSWERS[variant])
        return cache[variant]

    return get


def site_built(tmp_path_factory, name, content=None, **answers):
    """A site rendered with these answers (the defaults for the others), with `content` ({file
    name: its text}) added to content/, built into _output/ (once per run: made_once)."""

    def render_and_build(folder):
        site = render(folder / "site", **answers)
        for file, text in (content or {}).items():
            (site / "content" / file).write_text(text, encoding="utf-8")
        build(site)

    return made_once(tmp_path_factory, name, render_and_build) / "site"


@pytest.fixture(scope="session")
def lab3_site(tmp_path_factory):
    return site_built(tmp_path_factory, "lab3", jupyterlab="3")


@pytest.fixture(scope="session")
def lab4_site(tmp_path_factory):
    return site_built(tmp_path_factory, "lab4", jupyterlab="4")


def prepare_context(context):
    """Every context of a test's browsers: traced (CONTEXT_TRACES), its carets still."""
    context.add_init_script(script=STILL_CARETS)
    CONTEXT_TRACES.start(context)


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the session (a second one cannot start while the first runs); every
    context of the browsers it launches is prepared (prepare_context)."""
    with sync_playwright() as running:
        launch = running.chromium.launch

        def launch_tracing_contexts(**options):
            browser = launch(**options)
            browser.on("context", prepare_context)
            return browser

        running.chromium.launch = launch_tracing_contexts
        yield running


@pytest.fixture
def template(tmp_path):
    """This template's working tree as a git repo tagged v1.0.0 (see support/updates.py)."""
    return template_repo(tmp_path / "template")


@pytest.fixture
def template_and_site(tmp_path_factory):
    """`template`, and beside it a site generated from its v1.0.0 with the default answers:
    a copy of a pair made once per run (generating takes seconds of copier)."""

    def make(folder):
        generate(template_repo(folder / "template"), folder / "site")

    pair = made_once(tmp_path_factory, "generated-site", make)
    return pair / "template", pair / "site"


@pytest.fixture
def topic() -> str:
    """A signaling topic no other test uses, as servers are shared between tests."""
    return uuid.uuid4().hex


# ------------------------------------------ the browser tests' world: site, network, people


@pytest.fixture(scope="session")
def lab3_text(lab3_site):
    return first_document(lab3_site, ".md")


@pytest.fixture(scope="session")
def lab3_notebook(lab3_site):
    return first_document(lab3_site, ".ipynb")


@pytest.fixture(scope="session")
def network(tmp_path_factory, playwright):
    with private_network(tmp_path_factory.mktemp("netns"), playwright) as network:
        yield network


# The previews the signaling service lets in: it reads their origins (with the port) once, when
# it starts, so a test that serves a site of its own uses one of these ports.
SITE_PORT_NAMES = (
    "main",
    "other",
    "failover",
    "relayed",
    "lab4",
    "lab4-other",
    "python",
    "lab4-python",
)


@pytest.fixture(scope="session")
def site_ports(network):
    return {name: network.free_port() for name in (*SITE_PORT_NAMES, "relay")}


@pytest.fixture(scope="session")
def signaling_service(network, site_ports, lab3_site):
    """The site's own signaling/server.py, behind a recording relay."""
    origins = [network.site_url(site_ports[name]) for name in SITE_PORT_NAMES]
    server = lab3_site / "signaling" / "server.py"
    service = Signaling(network, server, site_ports["relay"], origins)
    service.start()
    yield service
    service.stop()


@pytest.fixture
def signaling(signaling_service):
    """The signaling service, up and fresh for each test, whatever the previous test did to it."""
    service = signaling_service
    service.relay.frames.clear()
    service.relay.lose_handshakes(seconds=0)
    yield service
    if service.changed:
        service.stop()
        service.start()


@pytest.fixture(scope="session")
def lab3_site_url(network, lab3_site, site_ports, signaling_service):
    yield from serve_as_built(network, lab3_site, site_ports["main"], signaling_service)


@pytest.fixture(scope="session")
def lab4_site_url(network, lab4_site, site_ports, signaling_service):
    yield from serve_as_built(network, lab4_site, site_ports["lab4"], signaling_service)


@pytest.fixture
def jupyterlab():
    """The flavour a browser test runs on: 4, the default answer, unless it takes the parameter
    (flavours.ON_BOTH, flavours.ON_3)."""
    return DEFAULT_JUPYTERLAB


def lite_of(request, jupyterlab, fixtures):
    """flavours.Lite from the fixtures {flavour: (its site, its URL)}."""
    site, url = fixtures[jupyterlab]
    return Lite(jupyterlab, request.getfixturevalue(site), request.getfixturevalue(url))


@pytest.fixture
def lite(request, jupyterlab):
    """The session's built and served site of the test's flavour (flavours.Lite)."""
    fixtures = {"3": ("lab3_site", "lab3_site_url"), "4": ("lab4_site", "lab4_site_url")}
    return lite_of(request, jupyterlab, fixtures)


@pytest.fixture
def other_lite(request, jupyterlab):
    """Another deployment of the test's flavour: another room_prefix (lab3_other_site)."""
    fixtures = {
        "3": ("lab3_other_site", "lab3_other_site_url"),
        "4": ("lab4_other_site", "lab4_other_site_url"),
    }
    return lite_of(request, jupyterlab, fixtures)


@pytest.fixture
def python_lite(request, jupyterlab):
    """The site of the test's flavour that serves its own Python (python_site), served."""
    fixtures = {
        "3": ("python_site", "python_site_url"),
        "4": ("lab4_python_site", "lab4_python_site_url"),
    }
    return lite_of(request, jupyterlab, fixtures)


@pytest.fixture(scope="session")
def lab4_text(lab4_site):
    return first_document(lab4_site, ".md")


@pytest.fixture(scope="session")
def lab4_notebook(lab4_site):
    return first_document(lab4_site, ".ipynb")


# Another deployment of this template, per flavour: another room_prefix, and content of its
# owner's own, a notebook saved before nbformat 4.5 (without cell ids).
OLD_LESSON = {"old-lesson.ipynb": json.dumps(NOTEBOOK_WITHOUT_CELL_IDS, indent=1)}


@pytest.fixture(scope="session")
def lab3_other_site(tmp_path_factory):
    return site_built(tmp_path_factory, "lab3-other-site", OLD_LESSON, jupyterlab="3")


@pytest.fixture(scope="session")
def lab4_other_site(tmp_path_factory):
    return site_built(tmp_path_factory, "lab4-other-site", OLD_LESSON, jupyterlab="4")


@pytest.fixture(scope="session")
def lab4_other_site_url(network, lab4_other_site, site_ports, signaling_service):
    port = site_ports["lab4-other"]
    yield from serve_as_built(network, lab4_other_site, port, signaling_service)


@pytest.fixture(scope="session")
def notebook_without_cell_ids():
    """Its name in the other sites (lab3_other_site, lab4_other_site)."""
    return next(iter(OLD_LESSON))


@pytest.fixture(scope="session")
def lab3_other_site_url(network, lab3_other_site, site_ports, signaling_service):
    yield from serve_as_built(network, lab3_other_site, site_ports["other"], signaling_service)


PEOPLE = ("alice", "bob", "carol", "dave")


@pytest.fixture(scope="session")
def browsers(playwright, network, site_ports):
    """One browser process per person."""
    launched = [launch_peer(playwright, network) for _ in PEOPLE]
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
def mallory(browsers):
    """The person who attacks others through the room (browsers.Peer)."""
    peer = Peer(browsers[1], "mallory")
    yield peer
    peer.close_pages()


@pytest.fixture
def room():
    """A fresh room per test, so that no test sees another one's peers."""
    return f"room-{secrets.token_hex(4)}"


def python_site_built(tmp_path_factory, jupyterlab):
    """A site with python_from: site, built as its workflow builds it with the tests' Pyodide
    distribution; its content has LESSON (once per run: made_once)."""

    def render_and_build(folder):
        site = render(folder / "site", python_from="site", jupyterlab=jupyterlab)
        (site / "content" / LESSON).write_text(json.dumps(lesson_notebook(), indent=1))
        step = folder / "step"
        step.mkdir()
        site_with_its_own_python(site, step)

    return made_once(tmp_path_factory, f"python-site-{jupyterlab}", render_and_build) / "site"


@pytest.fixture(scope="session")
def python_site(tmp_path_factory):
    return python_site_built(tmp_path_factory, "3")


@pytest.fixture(scope="session")
def lab4_python_site(tmp_path_factory):
    return python_site_built(tmp_path_factory, "4")


def serve_as_built(network, site, port, signaling_service):
    """serve_preview of a site its fixture built: --no-build (preview.py would build it again,
    and a Python site's build would leave its Python out)."""
    python = build_env(site) / "bin" / "python"
    yield from serve_preview(network, python, site, port, signaling_service.url, "--no-build")


@pytest.fixture(scope="session")
def python_site_url(network, python_site, site_ports, signaling_service):
    yield from serve_as_built(network, python_site, site_ports["python"], signaling_service)


@pytest.fixture(scope="session")
def lab4_python_site_url(network, lab4_python_site, site_ports, signaling_service):
    port = site_ports["lab4-python"]
    yield from serve_as_built(network, lab4_python_site, port, signaling_service)
