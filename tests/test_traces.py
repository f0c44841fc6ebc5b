"""A failed browser test leaves a Playwright trace of each browser context it opened, and a
picture and the HTML of each page still open (CI uploads them); a test that passes leaves
none. Runs a pytest session of its own with tests/conftest.py."""

import json
import os
import subprocess
import sys
import zipfile

import pytest
from support.sites import REPO_ROOT

BROWSER_TESTS = """
import pytest
from support.browsers import launch_local


@pytest.fixture(scope="module")
def browser(playwright):
    launched = launch_local(playwright)
    yield launched
    launched.close()


def show(browser, text):
    page = browser.new_context().new_page()
    page.set_content(f"<p>{text}</p>")
    return page


def test_passes(browser):
    show(browser, "fine")


def test_fails(browser):
    show(browser, "a part that passed").context.close()
    show(browser, "first person")
    page = show(browser, "second person")
    assert page.inner_text("p") == "someone else"


@pytest.mark.xfail(reason="a known defect", strict=True)
def test_fails_as_expected(browser):
    show(browser, "known")
    assert False
"""


def traced_actions(trace):
    with zipfile.ZipFile(trace) as archive:
        events = map(json.loads, archive.read("trace.trace").splitlines())
        return [event["method"] for event in events if event["type"] == "before"]


@pytest.mark.browser
def test_traces_are_kept_for_failed_browser_tests_only(tmp_path):
    (tmp_path / "test_inner.py").write_text(BROWSER_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "--rootdir", tmp_path, tmp_path],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "tests")},
        capture_output=True,
        text=True,
    )
    assert "1 failed, 1 passed, 1 xfailed" in done.stdout, done.stdout + done.stderr
    traces = tmp_path / "test-results"
    assert sorted(path.relative_to(traces).as_posix() for path in traces.rglob("*.zip")) == [
        "test_inner.py-test_fails/context-2.zip",
        "test_inner.py-test_fails/context-3.zip",
        "test_inner.py-test_fails_as_expected/context-1.zip",
    ]
    # and each page still open, as it was at the failure
    assert sorted(path.relative_to(traces).as_posix() for path in traces.rglob("*.png")) == [
        "test_inner.py-test_fails/context-2-page-1.png",
        "test_inner.py-test_fails/context-3-page-1.png",
        "test_inner.py-test_fails_as_expected/context-1-page-1.png",
    ]
    html = traces / "test_inner.py-test_fails/context-3-page-1.html"
    assert "<p>second person</p>" in html.read_text()
    assert "setContent" in traced_actions(traces / "test_inner.py-test_fails/context-2.zip")
    assert "innerText" in traced_actions(traces / "test_inner.py-test_fails/context-3.zip")
    assert f"{traces / 'test_inner.py-test_fails/context-3.zip'}" in done.stdout  # in the report
