"""Copier updates as site owners run them, on throw-away repos: a copy of this template (its
working tree) committed and tagged v1.0.0, later releases tagged on top, and a site generated
from v1.0.0 in its own git repo. Copier runs from the command line."""

import json
import os
import shutil

import yaml

from .sites import REPO_ROOT, run


def commit_all(repo, message):
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "--no-verify", "-m", message], repo)


def cli_data(answers):
    """--data arguments; Copier reads each value as YAML, so JSON spells lists and booleans."""
    return [
        f"--data={key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in answers.items()
    ]


def template_repo(repo):
    """This template's working tree as a git repo in `repo` (a new folder), tagged v1.0.0."""
    repo.mkdir()
    shutil.copy2(REPO_ROOT / "copier.yml", repo)
    shutil.copytree(
        REPO_ROOT / "template", repo / "template", ignore=shutil.ignore_patterns("__pycache__")
    )
    run(["git", "init", "-q"], repo)
    commit_all(repo, "template")
    run(["git", "tag", "v1.0.0"], repo)
    return repo


def release(template, version, change):
    """Apply change(template) and tag it: a template release."""
    change(template)
    commit_all(template, version)
    run(["git", "tag", version], template)


def generate(template, site, **answers):
    """A site repo generated from v1.0.0 of the template, committed. Its answers name the
    template by a path relative to the site (copier copy runs in the site's folder), so a copy
    of both folders updates from the template copied beside it."""
    site.mkdir()
    copy = ["copier", "copy", "--defaults", "--vcs-ref=v1.0.0", *cli_data(answers)]
    run([*copy, os.path.relpath(template, site), "."], site)
    run(["git", "init", "-q"], site)
    commit_all(site, "site generated")
    return site


def update(site, *args, expect_success=True):
    return run(["copier", "update", "--defaults", *args], site, expect_success=expect_success)


def changed_files(site):
    run(["git", "add", "-A"], site)
    return set(run(["git", "diff", "--cached", "--name-only"], site).stdout.split())


def snapshot(site):
    """Every file of the working tree (not .git/) and its bytes."""
    return {
        path.relative_to(site).as_posix(): path.read_bytes()
        for path in site.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(site).parts
    }


def replace_once(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name} no longer holds {old!r} once: update this test"
    path.write_text(text.replace(old, new))


def edit_copier_yml(template, change):
    """change(config) on copier.yml, read and written as YAML (its comments are not needed)."""
    path = template / "copier.yml"
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
