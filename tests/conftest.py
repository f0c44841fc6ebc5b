import re
import shutil

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from sites import build, build_env, render
from variants import VARIANTS

# the browser tests' shared fixtures: the served site, its signaling service, people
pytest_plugins = ["collaboration"]

# A failed browser test leaves a Playwright trace per browser context in this folder of the
# rootdir (CI uploads it): test-results/TEST/context-N.zip, for `playwright show-trace FILE`.
TRACES = "test-results"


def pytest_collection_modifyitems(items):
    """Mark the tests that drive browsers: `-m browser` and `-m "not browser"` split the suite."""
    for item in items:
        if "playwright" in item.fixturenames:
            item.add_marker(pytest.mark.browser)


class ContextTraces:
    """Traces every browser context a test opens; saves the traces only if the test failed.

    (pytest-playwright's tracing covers only the contexts of its own one-browser fixtures; these
    tests run a browser process per person.) A context closed before the test ends loses its
    trace: only a part of a test that passed closes its contexts.
    """

    def __init__(self):
        self._open = {}  # the test's contexts still open -> their number, in the order opened
        self._opened = 0

    def start(self, context):
        context.tracing.start(screenshots=True, snapshots=True, sources=True)
        self._opened += 1
        self._open[context] = self._opened
        context.on("close", lambda closed: self._open.pop(closed, None))

    def finish(self, folder, keep):
        """Stop tracing; with `keep`, save each trace into `folder`. Returns the saved paths."""
        shutil.rmtree(folder, ignore_errors=True)  # an earlier run's
        saved = []
        try:
            for context, number in list(self._open.items()):
                path = folder / f"context-{number}.zip" if keep else None
                context.tracing.stop(path=path)
                saved += [path] if keep else []
        finally:
            self._open.clear()
            self._opened = 0
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


@pytest.fixture(scope="session")
def rendered_site(tmp_path_factory):
    """Render a variant once per session: rendered_site("defaults") -> the site repo's Path."""
    cache = {}

    def get(variant: str):
        if variant not in cache:
            dest = tmp_path_factory.mktemp(variant) / "site"
            cache[variant] = render(dest, **VARIANTS[variant])
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def built_site(rendered_site):
    """Build a variant once per session, in the environment its environment.yml pins."""
    cache = {}

    def get(variant: str):
        if variant not in cache:
            site = rendered_site(variant)
            build(site, build_env(site))
            cache[variant] = site
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def default_site(built_site):
    """The site repo rendered with every default answer and built into _output/."""
    return built_site("defaults")


@pytest.fixture(scope="session")
def lab4_site(tmp_path_factory):
    """A site rendered with jupyterlab=4 (the preview) and every other default, built."""
    site = render(tmp_path_factory.mktemp("lab4") / "site", jupyterlab="4")
    build(site, build_env(site))
    return site


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the session (a second one cannot start while the first runs); every
    browser it launches traces its contexts into CONTEXT_TRACES."""
    with sync_playwright() as running:
        launch = running.chromium.launch

        def launch_tracing_contexts(**options):
            browser = launch(**options)
            browser.on("context", CONTEXT_TRACES.start)
            return browser

        running.chromium.launch = launch_tracing_contexts
        yield running
