"""The site's Pages workflow (deploy.yml, as rendered into a site) and its steps, run here as
GitHub runs them."""

import subprocess

import yaml

WORKFLOW = ".github/workflows/deploy.yml"


def jobs(site):
    return yaml.safe_load((site / WORKFLOW).read_text())["jobs"]


def step(site, job, name):
    (found,) = (step for step in jobs(site)[job]["steps"] if step.get("name") == name)
    return found


def run_step(site, job, name, env, cwd=None):
    """Run a step's `run:` script with bash -e, as GitHub's default shell and its
    `shell: bash -el {0}` do (the login shell only activates the environment, which `env` here
    already is)."""
    return subprocess.run(
        ["bash", "-e", "-c", step(site, job, name)["run"]],
        cwd=cwd or site,
        env=env,
        capture_output=True,
        text=True,
    )
