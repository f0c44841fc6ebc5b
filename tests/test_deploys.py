"""The Pages workflow's own steps, read from a rendered deploy.yml and run here: the SIGNALING_URLS
variable reaches the built site or is refused with the fix; a site whose signaling is only
local builds with a warning that says how to fix it; a Pages source other than GitHub
Actions stops the deploy with the setting to change; the build environment is cached under a key
that every pin changes."""

import json
import shutil

import pytest
from support.answers import BAD_ANSWERS, VARIANTS
from support.sites import STACK, activated, build_env, environment, pip_requirements
from support.workflows import jobs, run_step, step

SIGNALING_STEP = "Choose the signaling servers (the SIGNALING_URLS variable, else the answer)"
BUILD_STEP = "Build the site"
PAGES_STEP = "Check the Pages source"
VARIABLE_SETTING = "Settings → Secrets and variables → Actions → Variables → SIGNALING_URLS"
PAGES_SETTING = "Settings → Pages → Build and deployment → Source: GitHub Actions"
REPOSITORY = "octo-org/physics-101"


@pytest.fixture
def site(rendered_site, tmp_path):
    """A copy of the default site that a test may change (the steps edit jupyter-lite.json)."""
    return shutil.copytree(rendered_site("defaults"), tmp_path / "site", symlinks=True)


def with_variable(site, value):
    """The step's environment on GitHub: the build environment and the variable."""
    return {**activated(build_env(site)), "SIGNALING_URLS": value}


def signaling_urls(config_file):
    return json.loads(config_file.read_text())["jupyter-config-data"]["fullWebRtcSignalingUrls"]


def test_the_signaling_step_reads_the_repository_variable(site):
    signaling = step(site, "build", SIGNALING_STEP)
    assert signaling["env"] == {"SIGNALING_URLS": "${{ vars.SIGNALING_URLS }}"}
    steps = [step.get("name") for step in jobs(site)["build"]["steps"]]
    assert steps.index(SIGNALING_STEP) < steps.index(BUILD_STEP)


@pytest.mark.parametrize(
    "value",
    [
        '["wss://a.example.org", "wss://b.example.org/rtc"]',
        "[wss://a.example.org, wss://b.example.org/rtc]",  # YAML, as for the copier question
    ],
)
def test_signaling_urls_variable_reaches_the_built_site(site, value):
    urls = ["wss://a.example.org", "wss://b.example.org/rtc"]
    done = run_step(site, "build", SIGNALING_STEP, with_variable(site, value))
    assert done.returncode == 0, done.stdout + done.stderr
    done = run_step(site, "build", BUILD_STEP, activated(build_env(site)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert signaling_urls(site / "_output/jupyter-lite.json") == urls


def test_urls_the_question_accepts_are_accepted(site):
    urls = ["ws://localhost:4444", "ws://127.0.0.1/rtc", "wss://s.example.org:8443/x"]
    done = run_step(site, "build", SIGNALING_STEP, with_variable(site, json.dumps(urls)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert signaling_urls(site / "jupyter-lite.json") == urls


def test_without_the_variable_the_answer_stays(site):
    before = (site / "jupyter-lite.json").read_bytes()
    done = run_step(site, "build", SIGNALING_STEP, with_variable(site, ""))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SIGNALING_URLS is not set" in done.stdout
    assert (site / "jupyter-lite.json").read_bytes() == before


def local_only_warning(done):
    """The build's warning that visitors cannot meet (GitHub shows it on the run), or None."""
    warnings = [line for line in done.stdout.splitlines() if line.startswith("::warning ")]
    assert len(warnings) <= 1, warnings
    return warnings[0] if warnings else None


@pytest.mark.parametrize(
    ("answer", "variable", "warned"),
    [
        (["ws://localhost:4444"], "", True),
        (["ws://localhost:4444"], '["ws://127.0.0.1:4444"]', True),
        (["ws://localhost:4444"], '["wss://a.example.org"]', False),
        (["wss://a.example.org"], "", False),
        (["ws://localhost:4444", "wss://a.example.org"], "", False),
    ],
    ids=["local answer", "local variable", "public variable", "public answer", "one public"],
)
def test_a_site_only_local_signaling_builds_with_a_warning_that_says_the_fix(
    site, answer, variable, warned
):
    config = json.loads((site / "jupyter-lite.json").read_text())
    config["jupyter-config-data"]["fullWebRtcSignalingUrls"] = answer
    (site / "jupyter-lite.json").write_text(json.dumps(config))
    done = run_step(site, "build", SIGNALING_STEP, with_variable(site, variable))
    assert done.returncode == 0, done.stdout + done.stderr
    warning = local_only_warning(done)
    assert (warning is not None) == warned, done.stdout
    if warned:
        assert "Collaboration will not work on the published site" in warning
        assert "localhost" in warning or "127.0.0.1" in warning  # what it has now
        assert VARIABLE_SETTING in warning  # and where to fix it
        assert "(docs/signaling.md)" in warning  # the site's guide to setting it
        assert "`SIGNALING_URLS`" in (site / "docs/signaling.md").read_text()


# The copier question's refusals (tests/test_refuses.py), given as the variable's text, and two
# texts that only a variable can hold.
BAD_VARIABLES = [
    (json.dumps(answers["signaling_urls"]), fix)
    for answers, question, fix in BAD_ANSWERS
    if question == "signaling_urls"
] + [
    ("[wss://a.example.org", "give a YAML list"),
    ("{url: wss://a.example.org}", "give a YAML list"),
]


@pytest.mark.parametrize(("value", "fix"), BAD_VARIABLES)
def test_bad_signaling_urls_variable_is_refused(site, value, fix):
    before = (site / "jupyter-lite.json").read_bytes()
    done = run_step(site, "build", SIGNALING_STEP, with_variable(site, value))
    assert done.returncode == 1
    (error,) = (line for line in done.stdout.splitlines() if line.startswith("::error "))
    assert "SIGNALING_URLS:" in error
    assert fix in error
    assert VARIABLE_SETTING in error
    assert (site / "jupyter-lite.json").read_bytes() == before


# What `gh api repos/OWNER/REPO/pages --jq .build_type` prints: the build type, or on an HTTP
# error the response body and, on stderr, "gh: MESSAGE (HTTP STATUS)".
GH_ANSWERS = {
    "deploys from GitHub Actions": ("workflow\n", "", 0),
    "deploys from a branch": ("legacy\n", "", 0),
    "Pages is off": ('{"message":"Not Found","status":"404"}', "gh: Not Found (HTTP 404)\n", 1),
    "no permission": (
        '{"message":"Resource not accessible by integration","status":"403"}',
        "gh: Resource not accessible by integration (HTTP 403)\n",
        1,
    ),
}


def check_pages_source(site, tmp_path, answer):
    """Run the Pages check step with a `gh` that gives this answer; also return gh's arguments."""
    stdout, stderr, status = GH_ANSWERS[answer]
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "gh").write_text(
        f'#!/bin/sh\necho "$@" > {tmp_path}/gh-args\n'
        f"printf %s '{stdout}'\nprintf %s '{stderr}' >&2\nexit {status}\n"
    )
    (fake / "gh").chmod(0o755)
    done = run_step(
        site,
        "pages-source",
        PAGES_STEP,
        {
            "PATH": f"{fake}:/usr/bin:/bin",
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SERVER_URL": "https://github.com",
            "GH_TOKEN": "token",
        },
        cwd=tmp_path,
    )
    return done, (tmp_path / "gh-args").read_text().split()


def test_pages_check_reads_the_build_type_with_read_only_permission(site, tmp_path):
    job = jobs(site)["pages-source"]
    assert job["permissions"] == {"pages": "read"}
    assert step(site, "pages-source", PAGES_STEP)["env"] == {"GH_TOKEN": "${{ github.token }}"}
    assert "pages-source" in jobs(site)["deploy"]["needs"]
    done, args = check_pages_source(site, tmp_path, "deploys from GitHub Actions")
    assert done.returncode == 0, done.stdout + done.stderr
    assert args == ["api", f"repos/{REPOSITORY}/pages", "--jq", ".build_type"]


@pytest.mark.parametrize(
    ("answer", "now"),
    [
        ("deploys from a branch", 'The Pages source is "Deploy from a branch"'),
        ("Pages is off", "GitHub Pages is not enabled"),
    ],
)
def test_pages_not_deploying_from_actions_stops_with_the_setting(site, tmp_path, answer, now):
    done, _ = check_pages_source(site, tmp_path, answer)
    assert done.returncode == 1
    (error,) = (line for line in done.stdout.splitlines() if line.startswith("::error "))
    assert now in error
    assert PAGES_SETTING in error
    assert f"https://github.com/{REPOSITORY}/settings/pages" in error


def test_pages_check_that_cannot_read_shows_why_and_blames_no_setting(site, tmp_path):
    done, _ = check_pages_source(site, tmp_path, "no permission")
    assert done.returncode == 1
    assert "Resource not accessible by integration (HTTP 403)" in done.stdout
    assert "::error title=Could not read the Pages settings::" in done.stdout
    assert PAGES_SETTING not in done.stdout


def test_build_environment_is_cached_under_a_key_every_pin_changes(rendered_site):
    """setup-micromamba keys the environment cache with a sha256 of `environment-file` (its
    src/cache.ts, generateEnvironmentKey, v3.0.0): with nothing but that file defining the
    environment (no create-args), every pin of the stack is in the key."""
    site = rendered_site("defaults")
    (setup,) = (
        step
        for step in jobs(site)["build"]["steps"]
        if step.get("uses", "").startswith("mamba-org/setup-micromamba@")
    )
    assert setup["with"] == {"environment-file": "environment.yml", "cache-environment": True}
    assert set(STACK["build"]) <= set(pip_requirements(site))
    assert f"python={STACK['python']}" in environment(site)["dependencies"]


# ------------------------------------- repositories made from the starter ---
DERIVE_STEP = "Derive what this repository's answers leave empty"
# Two repositories made from the starter with "Use this template", as GitHub Actions describes
# each to its steps: https://docs.github.com/en/actions/reference/variables-reference
REPOSITORIES = {
    "alice": {
        "GITHUB_REPOSITORY": "alice/physics-notebooks",
        "GITHUB_REPOSITORY_ID": "101",
        "GITHUB_REPOSITORY_OWNER": "alice",
    },
    "Bob": {
        "GITHUB_REPOSITORY": "Bob/notebooks",
        "GITHUB_REPOSITORY_ID": "202",
        "GITHUB_REPOSITORY_OWNER": "Bob",
    },
}


def build_as_github_does(site, context, tmp_path):
    """The build job's steps that make the site, run in a copy of `site` with this repository's
    context; returns the built jupyter-lite.json's settings and the run's summary."""
    site = shutil.copytree(site, tmp_path / "site", symlinks=True)
    summary = tmp_path / "summary.md"
    env = {
        **activated(build_env(site)),
        **context,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_STEP_SUMMARY": str(summary),
        "SIGNALING_URLS": "",
    }
    for name in (DERIVE_STEP, SIGNALING_STEP, BUILD_STEP):
        done = run_step(site, "build", name, env)
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    built = json.loads((site / "_output/jupyter-lite.json").read_text())
    return built["jupyter-config-data"], summary.read_text()


def test_repositories_made_from_the_starter_share_no_rooms_storage_or_origin(
    rendered_site, tmp_path
):
    starter = rendered_site("starter")
    steps = [step.get("name") for step in jobs(starter)["build"]["steps"]]
    assert steps.index(DERIVE_STEP) < steps.index(BUILD_STEP)
    built = {
        owner: build_as_github_does(starter, context, tmp_path / owner)
        for owner, context in REPOSITORIES.items()
    }
    for owner, (settings, summary) in built.items():
        prefix = f"github-repository-{REPOSITORIES[owner]['GITHUB_REPOSITORY_ID']}"
        assert settings["webRtcRoomPrefix"] == prefix
        storage = f"JupyterLite Storage - {prefix}"
        assert settings["contentsStorageName"] == settings["settingsStorageName"] == storage
        # its own Pages origin (GitHub lowercases the owner in it), for its signaling server
        origin = f"https://{owner.lower()}.github.io"
        assert f"The origin your signaling server must allow: `{origin}`" in summary
        repository = REPOSITORIES[owner]["GITHUB_REPOSITORY"]
        assert f"https://render.com/deploy?repo=https://github.com/{repository})" in summary
    (alice, _), (bob, _) = built.values()
    for key in ("webRtcRoomPrefix", "contentsStorageName", "settingsStorageName"):
        assert alice[key] != bob[key], key


@pytest.mark.parametrize(
    "variant", [name for name, answers in VARIANTS.items() if answers.get("deploy_to_pages", True)]
)
def test_a_site_with_its_own_room_prefix_keeps_its_answers(rendered_site, variant):
    """No step derives anything: the rendered jupyter-lite.json, from the answers, is built."""
    steps = [step.get("name") for step in jobs(rendered_site(variant))["build"]["steps"]]
    assert DERIVE_STEP not in steps


def test_deriving_outside_github_actions_fails_and_says_how_to_set_a_prefix(
    rendered_site, tmp_path
):
    site = shutil.copytree(rendered_site("starter"), tmp_path / "site", symlinks=True)
    before = (site / "jupyter-lite.json").read_bytes()
    done = run_step(site, "build", DERIVE_STEP, activated(build_env(site)))
    assert done.returncode == 1
    assert "--data room_prefix=" in done.stdout
    assert (site / "jupyter-lite.json").read_bytes() == before
