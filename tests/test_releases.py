"""A pushed tag vX.Y.Z becomes a GitHub release with the notes of that version in CHANGELOG.md:
the release workflow's own notes step, read from the workflow, runs here against CHANGELOG.md."""

import re
import shutil
import subprocess

import pytest
import yaml
from support.sites import REPO_ROOT

CHANGELOG = REPO_ROOT / "CHANGELOG.md"
RELEASE_WORKFLOW = REPO_ROOT / ".github/workflows/release.yml"
STEPS = yaml.safe_load(RELEASE_WORKFLOW.read_text())["jobs"]["release"]["steps"]
NOTES_STEP = next(
    step for step in STEPS if step.get("name") == "Take the release notes from CHANGELOG.md"
)
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
