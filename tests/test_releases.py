"""A pushed tag vX.Y.Z becomes a GitHub release with the notes of that version in CHANGELOG.md:
the release workflow's own notes step, read from the workflow, runs here against CHANGELOG.md."""

import re
import shutil
import subprocess
import tomllib

import pytest
import yaml
from support.answers import STARTER
from support.sites import REPO_ROOT, TOOLS_ENV, answers_of, render, run
from support.updates import commit_all, release, snapshot

CHANGELOG = REPO_ROOT / "CHANGELOG.md"
RELEASE_WORKFLOW = REPO_ROOT / ".github/workflows/release.yml"
STEPS = yaml.safe_load(RELEASE_WORKFLOW.read_text())["jobs"]["release"]["steps"]
NOTES_STEP = next(
    step for step in STEPS if step.get("name") == "Take the release notes from CHANGELOG.md"
)
# the Copier the tests use, which the starter job installs too
TEST_TOOLS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["dependency-groups"]["test"]
(COPIER,) = (tool for tool in TEST_TOOLS if tool.startswith("copier=="))
RELEASED = re.findall(r"^## (\d\S*) \(", CHANGELOG.read_text(), flags=re.MULTILINE)


def take_notes(tmp_path, tag, changelog=CHANGELOG):
    """Run the notes step as GitHub runs a `shell: bash` step, in a checkout with `changelog`."""
    shutil.copy(changelog, tmp_path / "CHANGELOG.md")
    script = tmp_path / "step.sh"
    script.write_text(NOTES_STEP["run"])
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TAG": tag},
        capture_output=True,
        text=True,
    )
    notes = tmp_path / "release-notes.md"
    return done, notes.read_text() if notes.exists() else None


def test_the_notes_step_runs_as_the_test_runs_it_and_feeds_the_release():
    assert NOTES_STEP["shell"] == "bash"
    assert NOTES_STEP["env"]["TAG"] == "${{ github.ref_name }}"
    (publish,) = (step for step in STEPS if "gh release create" in step.get("run", ""))
    assert "--notes-file release-notes.md" in publish["run"]


def test_the_notes_are_that_versions_section(tmp_path):
    done, notes = take_notes(tmp_path, "v0.2.0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert notes.strip().startswith(
        "X: a class can open one document together; every site keeps its own browser storage."
    )
    assert "own_browser_storage" in notes
    assert "## " not in notes  # neither Unreleased above nor 0.1.0 below
    assert "The initial template." not in notes


@pytest.mark.parametrize("version", RELEASED)
def test_every_released_version_has_notes(tmp_path, version):
    done, notes = take_notes(tmp_path, f"v{version}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert notes.strip()


@pytest.mark.parametrize("tag", ["v9.9.9", "v0.2"])
def test_a_tag_without_a_section_fails_and_says_so(tmp_path, tag):
    done, _ = take_notes(tmp_path, tag)
    assert done.returncode != 0
    version = tag.removeprefix("v")
    assert (
        f'::error file=CHANGELOG.md::no section "## {version} (DATE)" for the tag {tag}'
        in done.stdout
    )


def test_an_empty_section_fails_and_says_so(tmp_path):
    changelog = tmp_path / "written.md"
    changelog.write_text(
        "# Changelog\n\n## 1.0.0 (2030-01-01)\n\n## 0.9.0 (2029-01-01)\n\n- a fix\n"
    )
    (tmp_path / "checkout").mkdir()
    done, _ = take_notes(tmp_path / "checkout", "v1.0.0", changelog)
    assert done.returncode != 0
    assert '::error file=CHANGELOG.md::the section "## 1.0.0" is empty' in done.stdout


# ----------------------------------------------------------------- the starter ---
STARTER_JOB = yaml.safe_load(RELEASE_WORKFLOW.read_text())["jobs"]["starter"]


def starter_step(name):
    (step,) = (step for step in STARTER_JOB["steps"] if step.get("name") == name)
    return step


def run_starter_step(name, cwd, **env):
    """Run a step of the starter job as GitHub runs it (`shell: bash`: with pipefail; else
    `bash -e`), with the test tools (copier) and a git without this machine's config."""
    step = starter_step(name)
    options = (
        ["--noprofile", "--norc", "-eo", "pipefail"] if step.get("shell") == "bash" else ["-e"]
    )
    done = subprocess.run(
        ["bash", *options, "-c", step["run"]],
        cwd=cwd,
        env={**TOOLS_ENV, **env},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    return done


def publish_starter(template, tag, starter, tmp_path):
    """The starter job's render and push steps, for the release `tag` of `template`, into the
    repository `starter` (a local one needs no deploy key)."""
    work = tmp_path / f"run-{tag}"
    work.mkdir(parents=True)
    run_starter_step("Render the starter", work, TAG=tag, TEMPLATE=str(template))
    return run_starter_step(
        "Push the starter",
        work,
        TAG=tag,
        STARTER=str(starter),
        STARTER_DEPLOY_KEY="",
        RUNNER_TEMP=str(work),
    )


def clone(repository, destination):
    run(["git", "clone", "-q", repository, destination], destination.parent)
    return destination


@pytest.fixture
def starter(tmp_path):
    """The starter repository, empty as GitHub creates it (its first push makes main)."""
    repository = tmp_path / "starter.git"
    run(["git", "init", "-q", "--bare", "--initial-branch=main", repository], tmp_path)
    return repository


def test_the_starter_job_uses_its_deploy_key_and_no_token():
    assert STARTER_JOB["needs"] == "release"
    assert STARTER_JOB["permissions"] == {}
    # the secret lives in an environment, which can limit it to release tags
    assert STARTER_JOB["environment"] == "starter"
    assert starter_step("Render the starter")["env"] == {
        "TAG": "${{ github.ref_name }}",
        "TEMPLATE": "${{ github.server_url }}/${{ github.repository }}.git",
    }
    assert starter_step("Push the starter")["env"] == {
        "TAG": "${{ github.ref_name }}",
        "STARTER": "git@github.com:${{ github.repository }}-starter.git",
        "STARTER_DEPLOY_KEY": "${{ secrets.STARTER_DEPLOY_KEY }}",
    }
    assert starter_step("Install Copier")["run"] == f"pipx install {COPIER}"


def drop_the_collaboration_guide_and_fix_a_guide(template):
    (template / "template/content/collaborate.md.jinja").unlink()
    with (template / "template/docs/signaling.md.jinja").open("a") as guide:
        guide.write("\nA fix of release 1.1.0.\n")


def test_each_release_pushes_the_starter_into_its_repository(template, starter, tmp_path):
    publish_starter(template, "v1.0.0", starter, tmp_path)
    published = clone(starter, tmp_path / "published-1")
    answers = answers_of(published)
    # it points at the template (Renovate's copier manager reads these two), with no prefix
    assert (answers["_src_path"], answers["_commit"]) == (str(template), "v1.0.0")
    assert {key: answers[key] for key in STARTER} == STARTER
    # the site rendered with the starter's answers, nothing else
    fresh = render(tmp_path / "fresh", **STARTER)
    files = snapshot(published)
    assert files.keys() == snapshot(fresh).keys()
    for name, content in snapshot(fresh).items():
        if name != ".copier-answers.yml":
            assert files[name] == content, name

    release(template, "v1.1.0", drop_the_collaboration_guide_and_fix_a_guide)
    done = publish_starter(template, "v1.1.0", starter, tmp_path)
    assert "Pushed the starter of v1.1.0." in done.stdout
    published = clone(starter, tmp_path / "published-2")
    log = run(["git", "log", "--format=%s", "main"], published).stdout.split("\n")
    assert log[:2] == ["Starter of v1.1.0", "Starter of v1.0.0"]  # history kept, no force
    assert not (published / "content/collaborate.md").exists()  # what a release drops goes
    assert "A fix of release 1.1.0." in (published / "docs/signaling.md").read_text()

    done = publish_starter(template, "v1.1.0", starter, tmp_path / "again")
    assert "The starter already holds v1.1.0." in done.stdout


def test_a_site_made_from_the_starter_updates_like_any_other(template, starter, tmp_path):
    publish_starter(template, "v1.0.0", starter, tmp_path)
    # "Use this template": a new repository with the starter's files, in one commit
    site = tmp_path / "site"
    shutil.copytree(
        clone(starter, tmp_path / "published"), site, ignore=shutil.ignore_patterns(".git")
    )
    run(["git", "init", "-q"], site)
    commit_all(site, "Initial commit")

    def fix_a_guide(template):
        with (template / "template/docs/updating.md.jinja").open("a") as guide:
            guide.write("\nA fix of release 2.0.0.\n")

    release(template, "v2.0.0", fix_a_guide)
    run(["copier", "update", "--defaults"], site)
    answers = answers_of(site)
    assert answers["_commit"] == "v2.0.0"
    assert answers["room_prefix"] == ""  # still derived by each build
    assert "A fix of release 2.0.0." in (site / "docs/updating.md").read_text()
    assert (
        "Derive what this repository's answers leave empty"
        in (site / ".github/workflows/deploy.yml").read_text()
    )
