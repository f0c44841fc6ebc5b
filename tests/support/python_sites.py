"""Sites with python_from: site as the tests build them: the site's own Pages workflow step puts
the tests' Pyodide distribution (pyodide_distribution.py) into the site, and the build serves it.
Also the lesson the browser tests run."""

import shutil

from .pyodide_distribution import distribution
from .sites import activated, answers_of, build_env
from .workflows import jobs, run_step

PYTHON_STEP_PREFIX = "Put Python into the site"
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"


def python_step_name(site):
    steps = jobs(site)["build"]["steps"]
    (name,) = (s["name"] for s in steps if s.get("name", "").startswith(PYTHON_STEP_PREFIX))
    return name


def put_python_into(site, archive, sha256, tmp_path):
    """Run the site's workflow step with this archive (a file:// URL) and sha256, as GitHub
    would; return the step's result and the variables it exported for the next steps."""
    exported = tmp_path / "github-env"
    exported.write_text("")
    env = {
        **activated(build_env(site)),
        "PYODIDE_ARCHIVE": archive,
        "PYODIDE_SHA256": sha256,
        "GITHUB_ENV": str(exported),
    }
    done = run_step(site, "build", python_step_name(site), env)
    variables = dict(line.split("=", 1) for line in exported.read_text().splitlines())
    return done, variables


def build_with(site, variables):
    """The workflow's build step with what earlier steps exported."""
    shutil.rmtree(site / "_output", ignore_errors=True)
    (site / ".jupyterlite.doit.db").unlink(missing_ok=True)
    env = {**activated(build_env(site)), **variables}
    done = run_step(site, "build", "Build the site", env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return site / "_output"


def site_with_its_own_python(site, tmp_path):
    """The site built as its Pages workflow builds it, with the tests' Pyodide distribution."""
    archive, sha256 = distribution(answers_of(site)["jupyterlab"])
    done, variables = put_python_into(site, archive.as_uri(), sha256, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return build_with(site, variables)


# What a class runs (tests/test_runs_python.py): one cell per kind of output.
LESSON_CELLS = {
    "set": "x = 41",
    "add": "x + 1",
    "stderr": "import sys\nprint('careful', file=sys.stderr)",
    "html": "from IPython.display import HTML\nHTML('<b class=\"from-python\">bold</b>')",
    # a 1x1 PNG made with the standard library only
    "png": (
        "import struct, zlib\nfrom IPython.display import Image\n"
        "def chunk(kind, data):\n"
        "    body = kind + data\n"
        "    return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body))\n"
        "header = struct.pack('>IIBBBBB', 1, 1, 8, 2, 0, 0, 0)\n"
        "png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', header)\n"
        "       + chunk(b'IDAT', zlib.compress(b'\\x00\\xff\\x00\\x00')) + chunk(b'IEND', b''))\n"
        "Image(data=png)"
    ),
    # after the others: a run of several cells stops at an error (JupyterLab 4's kernels)
    "error": "1 / 0",
    "slow": "import time\nprint('running')\nfor second in range(300):\n    time.sleep(1)",
}
LESSON = "lesson.ipynb"


def lesson_notebook():
    cells = [
        {
            "id": name,
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": source,
        }
        for name, source in LESSON_CELLS.items()
    ]
    kernelspec = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": kernelspec},
        "cells": cells,
    }
