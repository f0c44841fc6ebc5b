"""python_from: site. The Pages workflow's own step puts a Pyodide release archive, checked
against the sha256 that copier.yml's stack pins, and the kernel's other wheels into the site,
and the build serves them: nothing the kernel loads comes from a third party. The step takes a
local distribution the same way (the tests' one, tests/support/pyodide_distribution.py)."""

import re

import pytest
from support.flavours import ON_BOTH
from support.pyodide_distribution import distribution
from support.python_sites import KERNEL_PLUGIN, put_python_into, python_step_name
from support.sites import read_json, render, stack_of
from support.workflows import jobs, step


def kernel_settings(output):
    config = read_json(output / "jupyter-lite.json")["jupyter-config-data"]
    return config.get("litePluginSettings", {}).get(KERNEL_PLUGIN, {})


@ON_BOTH
def test_the_built_site_serves_pyodide_and_every_wheel_the_kernel_installs(python_lite):
    output = python_lite.site / "_output"
    pyodide = stack_of(python_lite.jupyterlab)["pyodide"]
    settings = kernel_settings(output)
    # the file the kernel loads from the CDN (pyodide.js, or pyodide.mjs on 4), from the site
    assert settings["pyodideUrl"] == "./static/pyodide/" + pyodide["cdn"].rsplit("/", 1)[1]
    assert settings["disablePyPIFallback"] is True  # a missing wheel fails, no silent PyPI
    runtime = output / "static/pyodide"
    # Pyodide 0.24's lock names its version; 314's does not, its npm package.json does
    info = read_json(runtime / "pyodide-lock.json")["info"]
    assert (info.get("version") or read_json(runtime / "package.json")["version"]) == pyodide[
        "version"
    ]
    served = {path.name for path in (output / "pypi").glob("*.whl")}
    for pin in pyodide["wheels"]:
        name, version = pin.split("==")
        pattern = re.compile(rf"{name.replace('-', '[-_]')}-{re.escape(version)}-.*", re.I)
        assert any(pattern.fullmatch(wheel) for wheel in served), (pin, served)


@ON_BOTH
def test_a_site_with_python_from_cdn_loads_it_from_the_cdn(tmp_path, jupyterlab):
    site = render(tmp_path / "site", jupyterlab=jupyterlab)
    assert "Put Python" not in (site / ".github/workflows/deploy.yml").read_text()
    # the kernel's own default, written out for the site's extension (tests/test_runs_python.py)
    assert kernel_settings(site) == {"pyodideUrl": stack_of(jupyterlab)["pyodide"]["cdn"]}


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


@ON_BOTH
def test_the_archive_is_cached_under_its_pinned_sha256(tmp_path, jupyterlab):
    site = render(tmp_path / "site", python_from="site", jupyterlab=jupyterlab)
    steps = jobs(site)["build"]["steps"]
    (cache,) = (s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    pyodide = stack_of(jupyterlab)["pyodide"]
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
    reason="the sha256 of the official Pyodide archives (0.24.1, 314.0.6) could not be found"
    " where this was written (GitHub unreachable, no public source quoting them): fill in"
    " copier.yml's stacks[...].pyodide.sha256 from the releases and remove this mark",
)
@ON_BOTH
def test_the_official_archive_has_a_pinned_sha256(jupyterlab):
    assert re.fullmatch("[0-9a-f]{64}", stack_of(jupyterlab)["pyodide"]["sha256"])


def test_the_python_question_is_asked_only_for_the_pyodide_kernel(tmp_path):
    site = render(tmp_path / "site", kernel="none", python_from="site")
    assert "python_from" not in (site / ".copier-answers.yml").read_text()
    assert "Put Python" not in (site / ".github/workflows/deploy.yml").read_text()
