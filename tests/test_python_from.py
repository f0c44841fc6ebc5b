"""python_from: site. The Pages workflow's own step puts a Pyodide release archive, checked
against the sha256 that copier.yml's stack pins, and the kernel's other wheels into the site,
and the build serves them: nothing the kernel loads comes from a third party. The step takes a
local distribution the same way (the tests' one, tests/support/pyodide_distribution.py)."""

import re

import pytest
from support.pyodide_distribution import distribution
from support.python_sites import KERNEL_PLUGIN, put_python_into, python_step_name
from support.sites import STACK, read_json, render
from support.workflows import jobs, step


def kernel_settings(output):
    config = read_json(output / "jupyter-lite.json")["jupyter-config-data"]
    return config.get("litePluginSettings", {}).get(KERNEL_PLUGIN, {})


def test_the_built_site_serves_pyodide_and_every_wheel_the_kernel_installs(python_site):
    output = python_site / "_output"
    settings = kernel_settings(output)
    assert settings["pyodideUrl"] == "./static/pyodide/pyodide.js"
    assert settings["disablePyPIFallback"] is True  # a missing wheel fails, no silent PyPI
    lock = read_json(output / "static/pyodide/pyodide-lock.json")
    assert lock["info"]["version"] == STACK["pyodide"]["version"]
    served = {path.name for path in (output / "pypi").glob("*.whl")}
    for pin in STACK["pyodide"]["wheels"]:
        name, version = pin.split("==")
        pattern = re.compile(rf"{name.replace('-', '[-_]')}-{re.escape(version)}-.*", re.I)
        assert any(pattern.fullmatch(wheel) for wheel in served), (pin, served)


def test_a_site_with_python_from_cdn_loads_it_from_the_cdn(rendered_site):
    site = rendered_site("defaults")
    assert "Put Python" not in (site / ".github/workflows/deploy.yml").read_text()
    # the kernel's own default, written out for the site's extension (tests/test_runs_python.py)
    assert kernel_settings(site) == {"pyodideUrl": STACK["pyodide"]["cdn"]}


def test_an_archive_that_is_not_the_pinned_one_is_refused(tmp_path):
    site = render(tmp_path / "site", python_from="site")
    archive, _ = distribution()
    wrong = "0" * 64
    done, variables = put_python_into(site, archive.as_uri(), wrong, tmp_path)
    assert done.returncode == 1
    (error,) = (line for line in done.stdout.splitlines() if line.startswith("::error "))
    assert "does not have the sha256" in error and wrong in error
    assert variables == {}  # the build goes on without it: no half-checked Python
    assert not list((site / ".pyodide-archive").glob("*.bz2"))  # nor a cached copy


def test_without_a_pinned_sha256_the_step_stops_and_says_so(tmp_path):
    site = render(tmp_path / "site", python_from="site")
    archive, _ = distribution()
    done, variables = put_python_into(site, archive.as_uri(), "", tmp_path)
    assert done.returncode == 1
    assert "::error title=No sha256 for the Pyodide archive::" in done.stdout
    assert variables == {}


def test_the_archive_is_cached_under_its_pinned_sha256(tmp_path):
    site = render(tmp_path / "site", python_from="site")
    steps = jobs(site)["build"]["steps"]
    (cache,) = (s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    pyodide = STACK["pyodide"]
    assert cache["with"] == {
        "path": ".pyodide-archive",
        "key": f"pyodide-{pyodide['version']}-{pyodide['sha256']}",
    }
    python_step = step(site, "build", python_step_name(site))
    assert python_step["env"] == {
        "PYODIDE_ARCHIVE": pyodide["archive"],
        "PYODIDE_SHA256": pyodide["sha256"],
    }


@pytest.mark.xfail(
    strict=True,
    reason="the sha256 of pyodide-0.24.1.tar.bz2 could not be found where this was written"
    " (GitHub unreachable, no public source quoting it): fill in copier.yml's"
    " stack.pyodide.sha256 from the release and remove this mark",
)
def test_the_official_archive_has_a_pinned_sha256():
    assert re.fullmatch("[0-9a-f]{64}", STACK["pyodide"]["sha256"])


def test_the_python_question_is_asked_only_for_the_pyodide_kernel(tmp_path):
    site = render(tmp_path / "site", kernel="none", python_from="site")
    assert "python_from" not in (site / ".copier-answers.yml").read_text()
    assert "Put Python" not in (site / ".github/workflows/deploy.yml").read_text()
