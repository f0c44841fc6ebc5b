"""Render the template, make the build environment a site asks for, and build the site.

Shared by the tests and by scripts/demo.py, so that both do exactly what a site owner does.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

# The template repo: copier.yml, template/, extension/, tests/
REPO_ROOT = Path(__file__).resolve().parents[2]
# What sites build and serve with (copier.yml's `stacks`): the one place of their pins
STACKS = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["stacks"]["default"]
JUPYTERLABS = sorted(STACKS.keys() - {"both"})


def stack_of(jupyterlab: str) -> dict:
    """The stack of a site with this JupyterLab (copier.yml's computed `stack`)."""
    return {**STACKS["both"], **STACKS[jupyterlab]}


# what a new site answers to `jupyterlab` (copier.yml's default when copying), and its stack
DEFAULT_JUPYTERLAB = "4"
STACK = stack_of(DEFAULT_JUPYTERLAB)
CACHE = Path(os.environ.get("SITE_TEMPLATE_CACHE", REPO_ROOT / ".cache"))
# The sites' own document provider: its source folder and the name its build ships under
# (JupyterLab 3's; JupyterLab 4's is in extension/lab4/).
EXTENSION = REPO_ROOT / "extension"
EXTENSION_NAME = json.loads((EXTENSION / "package.json").read_text())["name"]
# git as a site owner uses it in the tests: a fixed identity, none of this machine's config
# (hooks, signing, default branch)
OWNER_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Site Owner",
    "GIT_AUTHOR_EMAIL": "owner@example.org",
    "GIT_COMMITTER_NAME": "Site Owner",
    "GIT_COMMITTER_EMAIL": "owner@example.org",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
# The test tools' venv (copier, pre-commit, zizmor...), first on PATH for the commands tests run.
BIN = Path(sys.executable).parent
TOOLS_ENV = {
    **os.environ,
    "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    **OWNER_GIT_ENV,
    "PRE_COMMIT_HOME": str(CACHE / "pre-commit"),
}
ALL_APPS = ["lab", "retro", "notebooks", "repl"]
# The plugins each flavour's site turns off (`disabledExtensions`): the upstream provider its own
# extension replaces; on 4 also JupyterLite's user manager (it has no identity: documents would
# never open) and jupyter-collaboration-ui's shared link (a Jupyter server's, with its token; the
# extension's Share dialog replaces it).
REPLACED_PLUGINS = {
    "3": ["@jupyterlite/webrtc-docprovider:factory"],
    "4": [
        "@jupyter/collaboration-extension:shared-link",
        "@jupyter/docprovider-extension:websocket-provider-awareness-factory",
        "@jupyter/docprovider-extension:websocket-provider-document-factory",
        "@jupyterlite/services-extension:user-manager",
    ],
}


def run(command, cwd, *, expect_success=True) -> subprocess.CompletedProcess:
    """Run a tool as a site owner would (TOOLS_ENV); its output is in the failure."""
    done = subprocess.run(command, cwd=cwd, env=TOOLS_ENV, capture_output=True, text=True)
    if expect_success:
        assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


def read_json(path: Path):
    return json.loads(path.read_text())


def answers_of(site: Path) -> dict:
    return yaml.safe_load((site / ".copier-answers.yml").read_text())


def render(dest: Path, *, overwrite: bool = False, **answers) -> Path:
    """`copier copy --defaults` of this template (its working tree) with these answers."""
    # imported here: the processes that the signaling tests start import this module, and
    # copier is half a second of their start
    import copier

    copier.run_copy(
        str(REPO_ROOT),
        dest,
        data=answers,
        defaults=True,
        overwrite=overwrite,
        quiet=True,
        vcs_ref="HEAD",  # with a release tag, Copier would render the tag, not the working tree
    )
    return dest


def environment(site: Path) -> dict:
    return yaml.safe_load((site / "environment.yml").read_text())


def pip_requirements(site: Path) -> list[str]:
    """The `pip:` list of the site's environment.yml: what the site builds with."""
    (pip,) = (dep["pip"] for dep in environment(site)["dependencies"] if isinstance(dep, dict))
    return pip


def python_version(site: Path) -> str:
    (spec,) = (dep for dep in environment(site)["dependencies"] if str(dep).startswith("python="))
    return spec.split("=", 1)[1]


def build_env(site: Path) -> Path:
    """A virtual environment with the site's pinned requirements.

    Stands in for `micromamba create -f environment.yml` (conda is not reachable everywhere):
    the same Python version and the same pip list.
    """
    return make_env(python_version(site), pip_requirements(site))


@contextlib.contextmanager
def making(cached: Path):
    """Hold while making `cached` (a path the test processes share, as CACHE): the tests run
    in parallel processes, and two of them may need the same thing at once."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    with open(cached.with_name(cached.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def made_once(tmp_path_factory, name, make):
    """This test process's own copy of a folder that `make(folder)` fills once per test run.

    pytest-xdist's processes each hold their own session fixtures, but the sites they render
    and build are the same (each process built twelve of them, Python sites among them): the
    first process to need one makes it, the others wait for it and copy it. A copy each, as tests
    and previews write into their sites (preview.py writes its signaling URLs into _output/).
    """
    run_folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the processes' folders share a parent
        run_folder = run_folder.parent
    made = run_folder / "made-once" / name
    with making(made):
        if not (made / ".made").exists():
            shutil.rmtree(made, ignore_errors=True)  # a process that failed half-way
            made.mkdir(parents=True)
            make(made)
            (made / ".made").touch()
    copy = tmp_path_factory.mktemp(name)
    shutil.copytree(made, copy, symlinks=True, dirs_exist_ok=True)
    return copy


def make_env(version: str, requirements: list[str]) -> Path:
    """A virtual environment with these requirements; one per set of pins, cached."""
    key = hashlib.sha256(json.dumps([version, requirements]).encode()).hexdigest()[:16]
    env_dir = CACHE / "build-envs" / key
    with making(env_dir):
        if (env_dir / "ready").exists():
            return env_dir
        shutil.rmtree(env_dir, ignore_errors=True)
        subprocess.run([_interpreter(version), "-m", "venv", env_dir], check=True)
        run_in_env(
            env_dir,
            ["python", "-m", "pip", "install", "--disable-pip-version-check", *requirements],
        )
        (env_dir / "ready").write_text("\n".join(requirements) + "\n")
    return env_dir


def _interpreter(version: str) -> str:
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if not found:
        raise RuntimeError(f"the site builds with Python {version}; install python{version}")
    return found


def build(site: Path, env_dir: Path | None = None) -> Path:
    """A clean `jupyter lite build` of the site (a stale doit db silently drops config)."""
    env_dir = env_dir or build_env(site)
    output = site / "_output"
    shutil.rmtree(output, ignore_errors=True)
    (site / ".jupyterlite.doit.db").unlink(missing_ok=True)
    run_in_env(env_dir, ["jupyter", "lite", "build"], cwd=site)
    return output


def activated(env_dir: Path) -> dict[str, str]:
    """The process environment of an activated virtual environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(VIRTUAL_ENV=str(env_dir), PATH=f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}")
    return env


def run_in_env(env_dir: Path, command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command of the environment as if it were activated; its output is in the error."""
    done = subprocess.run(
        [str(env_dir / "bin" / command[0]), *command[1:]],
        env=activated(env_dir),
        capture_output=True,
        text=True,
        **kwargs,
    )
    if done.returncode:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done
