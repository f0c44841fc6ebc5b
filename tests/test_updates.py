"""`copier update` is safe: template releases arrive, the site owner's files and edits stay,
answers can change, and a re-shaped question takes over the old answer.

Every test works on throw-away repos (support/updates.py, and the `template` fixture).
"""

import json
import re
import shlex
import shutil
import sys

import pytest
import yaml
from support.answers import VARIANTS
from support.sites import (
    DEFAULT_JUPYTERLAB,
    REPO_ROOT,
    TOOLS_ENV,
    answers_of,
    build,
    render,
    run,
    stack_of,
)
from support.updates import (
    changed_files,
    cli_data,
    commit_all,
    edit_copier_yml,
    generate,
    release,
    replace_once,
    snapshot,
    update,
)
from support.workflows import run_step

# what the template ships only with the signaling server: signaling/, and the files whose names
# are gated on signaling_server (the Render Blueprint, the image workflow), as rendered
SIGNALING_GATE = re.compile(r"\{% if signaling_server %\}(.*?)\{% endif %\}")
SIGNALING_FILES = {
    SIGNALING_GATE.sub(r"\1", path.relative_to(REPO_ROOT / "template").as_posix()).removesuffix(
        ".jinja"
    )
    for path in (REPO_ROOT / "template").rglob("*")
    if path.is_file()
    and "__pycache__" not in path.parts
    and (path.parts[len(REPO_ROOT.parts) + 1] == "signaling" or SIGNALING_GATE.search(str(path)))
}

# the guides (always shipped) whose text says more with the signaling server
GUIDES_ON_SIGNALING = {
    f"docs/{path.name.removesuffix('.jinja')}"
    for path in (REPO_ROOT / "template/docs").glob("*.md.jinja")
    if "signaling_server" in path.read_text() and "{%" not in path.name
}


def make_owner_edits(site):
    """What a site owner does: edits the welcome notebook, the README, the .gitignore and the
    signaling origins, adds a notebook, deletes collaborate.md; commits. Returns the files
    whose bytes the owner owns."""
    welcome = site / "content/welcome.ipynb"
    notebook = json.loads(welcome.read_text())
    notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["My own notes."]})
    welcome.write_text(json.dumps(notebook, indent=1) + "\n")
    notebook["cells"] = notebook["cells"][-1:]
    (site / "content/mine.ipynb").write_text(json.dumps(notebook, indent=1) + "\n")
    with (site / "README.md").open("a") as readme:
        readme.write("\n## Course notes\n\nOffice hours on Fridays.\n")
    with (site / "signaling/allowed_origins.txt").open("a") as origins:
        origins.write("https://notebooks.example.edu\n")
    with (site / ".gitignore").open("a") as gitignore:
        gitignore.write(".venv/\n")
    (site / "content/collaborate.md").unlink()
    commit_all(site, "my edits")
    owned = [
        "content/welcome.ipynb",
        "content/mine.ipynb",
        "README.md",
        "signaling/allowed_origins.txt",
    ]
    return {name: (site / name).read_bytes() for name in owned}


def release_2(template):
    """Changes to template-owned files (a pin, a workflow step, .gitignore, a guide) and to files
    the owner owns (README, notebooks, origins), including dropping the welcome notebook."""
    edit_copier_yml(
        template,
        lambda config: config["stacks"]["default"][DEFAULT_JUPYTERLAB]["build"].append(
            "tornado==6.6.1"
        ),
    )
    workflow = next(template.glob("template/*/workflows/deploy.yml.jinja"))
    upload = "      - uses: actions/upload-pages-artifact"
    step = "      - name: List the site\n        run: ls -R _output\n"
    replace_once(workflow, upload, step + upload)
    gitignore = template / "template/.gitignore"
    gitignore.write_text("# never committed\n" + gitignore.read_text())
    with (template / "template/docs/signaling.md.jinja").open("a") as guide:
        guide.write("\nA fix of release 2.\n")
    content = template / "template/content"
    (content / "welcome.ipynb.jinja").rename(content / "intro.ipynb.jinja")
    for owned in [
        content / "collaborate.md.jinja",
        template / "template/README.md.jinja",
        next(template.glob("template/*signaling*/allowed_origins.txt.jinja")),
    ]:
        with owned.open("a") as file:
            file.write("Added by release 2.\n")


def test_release_reaches_the_site_and_every_owner_edit_stays(template_and_site):
    template, site = template_and_site
    owned = make_owner_edits(site)
    release(template, "v2.0.0", release_2)

    # The site's update guide, its instructions run literally (no --vcs-ref: the newest release).
    guide = (site / "docs/updating.md").read_text()
    (block,) = re.findall(r"^# Updating.*?```bash\n(.*?)```", guide, re.DOTALL | re.MULTILINE)
    for command in filter(None, (shlex.split(line, comments=True) for line in block.splitlines())):
        run(command, site)

    assert answers_of(site)["_commit"] == "v2.0.0"
    assert changed_files(site) == {
        ".copier-answers.yml",
        "environment.yml",
        ".github/workflows/deploy.yml",
        ".gitignore",
        "docs/signaling.md",
    }
    # the template's guide brings its fix; the owner's README keeps its text, release 2's not in it
    assert (site / "docs/signaling.md").read_text().endswith("\nA fix of release 2.\n")
    assert "tornado==6.6.1" in (site / "environment.yml").read_text()
    assert "name: List the site" in (site / ".github/workflows/deploy.yml").read_text()
    gitignore = (site / ".gitignore").read_text()
    assert gitignore.startswith("# never committed\n") and gitignore.endswith(".venv/\n")
    for name, content in owned.items():
        assert (site / name).read_bytes() == content, name
    # deleted by the owner, and the template's new notebook is not pushed into their content/
    assert sorted(path.name for path in (site / "content").iterdir()) == [
        "mine.ipynb",
        "welcome.ipynb",
    ]
    assert not list(site.rglob("*.rej"))
    for name, content in snapshot(site).items():
        assert not re.search(rb"^(<<<<<<<|>>>>>>>)( |$)", content, re.MULTILINE), name

    output = build(site)
    assert (output / "files/mine.ipynb").read_bytes() == owned["content/mine.ipynb"]


@pytest.mark.parametrize(
    ("before", "change", "regenerated"),
    [
        (
            {},
            {"signaling_urls": ["ws://localhost:4444", "wss://signal.example.org"]},
            {"jupyter-lite.json"},
        ),
        # the kernel's pins, its settings, and the Python guide (docs/python.md, now gone)
        ({}, {"kernel": "none"}, {"environment.yml", "jupyter-lite.json", "docs/python.md"}),
        (
            {},
            {"apps": ["lab", "notebooks", "repl"]},
            {"jupyter_lite_config.json", "repl/jupyter-lite.json"},
        ),
        (
            {"signaling_server": False},
            {"signaling_server": True},
            SIGNALING_FILES | GUIDES_ON_SIGNALING,
        ),
    ],
    ids=["second-signaling-url", "kernel-none", "add-repl", "signaling-server-on"],
)
def test_changed_answer_regenerates_exactly_what_depends_on_it(
    request, before, change, regenerated
):
    if before:
        template = request.getfixturevalue("template")
        site = generate(template, template.parent / "site", **before)
    else:  # the default answers: the site made once per run
        _, site = request.getfixturevalue("template_and_site")
    update(site, "--vcs-ref=v1.0.0", *cli_data(change))
    answers = answers_of(site)
    assert {key: answers[key] for key in change} == change
    assert changed_files(site) == {".copier-answers.yml", *regenerated}


# docs/updating.md's command for moving a JupyterLab 3 site to 4 (RetroLab is 3's only)
MOVE_TO_4 = {
    "jupyterlab": "4",
    "apps": ["lab", "notebooks"],
    "collaborative_apps": ["lab", "notebooks"],
}


def test_a_site_moves_to_jupyterlab_4_with_its_content_and_answers(template, tmp_path):
    site = generate(template, tmp_path / "site", jupyterlab="3")
    (site / "content" / "mine.md").write_text("# the owner's\n")
    commit_all(site, "the owner's content")
    content = {name: data for name, data in snapshot(site).items() if name.startswith("content/")}
    before = answers_of(site)
    guide = (site / "docs" / "updating.md").read_text()
    update(site, "--vcs-ref=v1.0.0", *cli_data(MOVE_TO_4))
    after = answers_of(site)
    assert {key: after[key] for key in MOVE_TO_4} == MOVE_TO_4
    kept = {k: v for k, v in before.items() if k not in MOVE_TO_4}
    assert {k: v for k, v in after.items() if k not in MOVE_TO_4} == kept
    assert {n: d for n, d in snapshot(site).items() if n.startswith("content/")} == content
    assert not (site / "retro").exists() and (site / "notebooks" / "jupyter-lite.json").is_file()
    extensions = {path.name for path in (site / "extensions").iterdir()}
    assert extensions == {stack_of("4")["extension"]}
    # the guide's command is the one tested here
    assert "--data jupyterlab=4" in guide
    for key in ("apps", "collaborative_apps"):
        assert f"--data '{key}=[{', '.join(MOVE_TO_4[key])}]'" in guide


def reshape_kernel_into_kernels(template):
    """Release 2 of a template whose single-choice `kernel` became the list `kernels`.

    The recipe for a renamed or re-shaped question: the new question's default reads the old
    answer, which Copier still has from the answers file. Unlike `_migrations`, it needs no
    --trust, and Copier drops the old answer from the answers file.
    """

    def reshape(config):
        questions = list(config.items())
        position = [name for name, _ in questions].index("kernel")
        questions[position] = (
            "kernels",
            {
                "type": "str",
                "help": "Kernels that run in the browser (none: editing only, no code execution)",
                "multiselect": True,
                "choices": {"Pyodide (Python in WebAssembly)": "pyodide"},
                # sites made before 2.0.0 answered `kernel: pyodide` or `kernel: none`
                "default": "{{ [] if kernel is defined and kernel == 'none' else ['pyodide'] }}",
            },
        )
        config.clear()
        config.update(questions)

    edit_copier_yml(template, reshape)
    replace_once(
        template / "template/environment.yml.jinja",
        "{%- if kernel != 'none' %}\n      - {{ stack.kernels[kernel] }}\n{%- endif %}",
        "{%- for kernel in kernels %}\n      - {{ stack.kernels[kernel] }}\n{%- endfor %}",
    )


@pytest.mark.parametrize(("kernel", "kernels"), [("none", []), ("pyodide", ["pyodide"])])
def test_reshaped_question_takes_over_the_old_answer(template, tmp_path, kernel, kernels):
    site = generate(template, tmp_path / "site", kernel=kernel)
    release(template, "v2.0.0", reshape_kernel_into_kernels)
    update(site)
    answers = answers_of(site)
    assert answers["kernels"] == kernels
    assert "kernel" not in answers
    # the same site: only the answers file says the question changed
    assert changed_files(site) == {".copier-answers.yml"}


def test_update_of_a_dirty_repo_is_refused_and_changes_nothing(template_and_site):
    template, site = template_and_site
    release(template, "v2.0.0", release_2)
    with (site / "content/welcome.ipynb").open("a") as welcome:
        welcome.write("\n")
    (site / "content/draft.ipynb").write_text("{}\n")
    before = snapshot(site), run(["git", "status", "--porcelain"], site).stdout
    refused = update(site, expect_success=False)
    assert refused.returncode != 0
    assert "Destination repository is dirty; cannot continue" in refused.stderr
    assert (snapshot(site), run(["git", "status", "--porcelain"], site).stdout) == before


def test_recopy_keeps_the_owner_files(template_and_site):
    _, site = template_and_site
    owned = make_owner_edits(site)
    run(["copier", "recopy", "--defaults", "--overwrite"], site)
    for name, content in owned.items():
        assert (site / name).read_bytes() == content, name


@pytest.mark.parametrize(
    ("leftover", "text", "hook_id"),
    [
        (
            "content/collaborate.md",
            "<<<<<<< before updating\nmine\n=======\ntheirs\n>>>>>>> after updating\n",
            "check-merge-conflict",
        ),
        ("jupyter-lite.json.rej", "diff a/jupyter-lite.json b/jupyter-lite.json\n", "no-rej-files"),
    ],
    ids=["conflict-markers", "rej-file"],
)
def test_pre_commit_refuses_what_a_conflicted_update_leaves(
    template_and_site, leftover, text, hook_id
):
    _, site = template_and_site
    run(["pre-commit", "install"], site)
    head = run(["git", "rev-parse", "HEAD"], site).stdout
    (site / leftover).write_text(text)
    run(["git", "add", "-A"], site)
    refused = run(["git", "commit", "-m", "after copier update"], site, expect_success=False)
    assert refused.returncode != 0
    # pre-commit details only the hooks that failed
    assert f"- hook id: {hook_id}\n" in refused.stdout + refused.stderr, (
        refused.stdout + refused.stderr
    )
    assert run(["git", "rev-parse", "HEAD"], site).stdout == head


# ------------------------------------- the signaling server, from one file to a package ---

SERVER_PACKAGE = "template/signaling/signaling_server"
# a site owner's edit of the one-file server, as releases up to 0.4.0 shipped it
OWNERS_LINE = "    max_topics: int | None = 300  # our course opens many notebooks\n"


@pytest.fixture
def one_file_server_template(tmp_path):
    """This template tagged v1.0.0 as it was just before its signaling server became a package
    (one signaling/server.py, as in 0.4.0), and v2.0.0 as its working tree."""
    commits_adding = run(
        ["git", "log", "--reverse", "--format=%H", "--diff-filter=A", "--", SERVER_PACKAGE],
        REPO_ROOT,
    ).stdout.split()
    if not commits_adding:
        pytest.fail("needs this repository's history: git fetch --unshallow")
    added = commits_adding[0]
    repo, archive = tmp_path / "template", tmp_path / "one-file.tar"
    run(["git", "archive", "-o", archive, f"{added}^", "copier.yml", "template"], REPO_ROOT)
    shutil.unpack_archive(archive, repo)
    assert not (repo / SERVER_PACKAGE).exists()
    run(["git", "init", "-q"], repo)
    commit_all(repo, "one-file server")
    run(["git", "tag", "v1.0.0"], repo)

    def this_working_tree(template):
        shutil.rmtree(template / "template")
        shutil.copy2(REPO_ROOT / "copier.yml", template)
        shutil.copytree(
            REPO_ROOT / "template",
            template / "template",
            ignore=shutil.ignore_patterns("__pycache__"),
        )

    release(repo, "v2.0.0", this_working_tree)
    return repo


def test_an_owners_edit_of_the_one_file_server_is_left_to_resolve_never_lost(
    one_file_server_template, tmp_path
):
    site = generate(one_file_server_template, tmp_path / "site")
    edited = tmp_path / "edited"
    shutil.copytree(site, edited)
    replace_once(edited / "signaling/server.py", "    max_topics: int | None = 100\n", OWNERS_LINE)
    commit_all(edited, "more topics")
    for repo in (site, edited):
        update(repo)
        shipped = REPO_ROOT / SERVER_PACKAGE
        for module in shipped.glob("*.py"):
            assert (repo / "signaling/signaling_server" / module.name).read_bytes() == (
                module.read_bytes()
            )

    # Not edited: replaced by the command that runs the package, and it runs.
    server = site / "signaling/server.py"
    assert server.read_bytes() == (REPO_ROOT / "template/signaling/server.py").read_bytes()
    assert "--max-topics N" in run([sys.executable, server, "--help"], site).stdout
    assert not run(["git", "ls-files", "--unmerged"], site).stdout
    assert not list(site.rglob("*.rej"))

    # Edited: the owner's whole file waits between conflict markers, unmerged in git (which, as
    # the site's pre-commit hooks, refuses to commit it), and their edits alone are one diff
    # away (the CHANGELOG says so).
    server = edited / "signaling/server.py"
    text = server.read_text()
    assert "\n<<<<<<< before updating\n" in text and "\n>>>>>>> after updating\n" in text
    assert OWNERS_LINE in text
    stages = run(["git", "ls-files", "--unmerged", "signaling/server.py"], edited).stdout
    assert len(stages.splitlines()) == 3
    owners_edits = run(
        ["git", "diff", ":1:signaling/server.py", ":2:signaling/server.py"], edited
    ).stdout
    changed = [line for line in owners_edits.splitlines() if line[:1] in "+-"]
    assert changed[2:] == ["-    max_topics: int | None = 100", "+" + OWNERS_LINE.rstrip("\n")]
    # once those are made again in the package, the template's side resolves it
    run(["git", "checkout", "--theirs", "--", "signaling/server.py"], edited)
    assert server.read_bytes() == (REPO_ROOT / "template/signaling/server.py").read_bytes()


# ------------------------------------------- an update from the last release ---
# As DiamondLightSource/python-copier-template tests its updates: a site rendered from the last
# release, updated to this working tree, must be what this working tree renders afresh with
# the same answers. Two allowances: the owner's files (copier.yml's _skip_if_exists, which
# _exclude leaves out of every update) stay as the release rendered them, and the answers
# file's _commit (see the test).
CONFIG = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
OWNER_FILES = [path.strip("/") for path in CONFIG["_skip_if_exists"]]
RELEASES = re.findall(
    r"^## (\d\S*) \(", (REPO_ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE
)


def release_ref(version):
    """A release's tag; in a clone without tags, the commit that released it: the one that
    first gave CHANGELOG.md its heading (docs/maintaining.md, "Releasing a version")."""
    tag = f"v{version}"
    if run(["git", "tag", "--list", tag], REPO_ROOT).stdout.strip():
        return tag
    released = run(
        ["git", "log", "--format=%H", f"-S## {version} (", "--", "CHANGELOG.md"], REPO_ROOT
    ).stdout.split()
    assert released, f"neither the tag {tag} nor its CHANGELOG.md commit: fetch the history"
    return released[-1]


def last_release_ref():
    """The newest release before this commit (at a release's own commit, the one before it)."""
    head = run(["git", "rev-parse", "HEAD"], REPO_ROOT).stdout.strip()
    for version in RELEASES:
        ref = release_ref(version)
        if run(["git", "rev-parse", f"{ref}^{{commit}}"], REPO_ROOT).stdout.strip() != head:
            return ref
    raise AssertionError("no release before this commit in CHANGELOG.md")


ANSWERS = ".copier-answers.yml"


def owned(path):
    return any(path == name or path.startswith(f"{name}/") for name in OWNER_FILES)


@pytest.mark.parametrize("variant", ["defaults", "all-apps-public"])
def test_update_from_the_last_release_is_a_fresh_render(tmp_path, variant):
    ref = last_release_ref()
    old_questions = yaml.safe_load(run(["git", "show", f"{ref}:copier.yml"], REPO_ROOT).stdout)
    answers = {key: value for key, value in VARIANTS[variant].items() if key in old_questions}
    site = tmp_path / "site"
    run(
        ["copier", "copy", "--defaults", f"--vcs-ref={ref}", *cli_data(answers), REPO_ROOT, site],
        tmp_path,
    )
    released = snapshot(site)
    run(["git", "init", "-q"], site)
    commit_all(site, "site generated from the last release")
    update(site, "--vcs-ref=HEAD")  # this working tree, uncommitted changes included
    assert answers_of(site)["_commit"] != yaml.safe_load(released[ANSWERS])["_commit"]
    updated = snapshot(site)

    # a fresh render with the answers the update kept (room_prefix included)
    kept = {key: value for key, value in answers_of(site).items() if not key.startswith("_")}
    fresh = snapshot(render(tmp_path / "fresh", **kept))
    # The one file both may write differently: the answers file's _commit. Copier commits a
    # dirty working tree anew for each run, so two renders of one tree record different ids.
    for files in (updated, fresh):
        files[ANSWERS] = {**yaml.safe_load(files[ANSWERS]), "_commit": "this working tree"}

    owner_files_changed = [
        path
        for path in set(updated) | set(released)
        if owned(path) and updated.get(path) != released.get(path)
    ]
    assert not owner_files_changed, "the owner's files, kept as released"
    differs = {
        path: (updated.get(path), fresh.get(path))
        for path in set(updated) | set(fresh)
        if not owned(path) and updated.get(path) != fresh.get(path)
    }
    assert not differs, f"differs from a fresh render: {differs}"


def test_a_site_made_before_the_jupyterlab_question_stays_on_3_when_updated(tmp_path):
    """New sites get JupyterLab 4; a site whose answers predate the question (0.5.0) was a
    JupyterLab 3 site, and an update keeps it one, RetroLab included."""
    ref = release_ref("0.5.0")
    site = tmp_path / "site"
    run(["copier", "copy", "--defaults", f"--vcs-ref={ref}", REPO_ROOT, site], tmp_path)
    assert "jupyterlab" not in answers_of(site)
    run(["git", "init", "-q"], site)
    commit_all(site, "site generated from 0.5.0")
    update(site, "--vcs-ref=HEAD")
    answers = answers_of(site)
    assert (answers["jupyterlab"], answers["apps"]) == ("3", ["lab", "retro"])
    extensions = site / "extensions"  # (Copier leaves an excluded extension's folder, empty)
    shipped = {path.relative_to(extensions).parts[0] for path in extensions.rglob("*.*")}
    assert shipped == {stack_of("3")["extension"]}


# ------------------------------------------ a conflicted update stops the build ---
CONFLICT_STEP = "Refuse what a conflicted template update left"
GUIDE = "docs/updating.md"
GUIDE_TITLE = "# Updating from the template\n"


def retitle_the_update_guide(template):
    replace_once(template / f"template/{GUIDE}.jinja", GUIDE_TITLE, "# Updating this site\n")


@pytest.mark.parametrize(
    ("conflict", "named", "problem"),
    [
        ("inline", GUIDE, "has lines between <<<<<<< and >>>>>>> markers"),
        ("rej", f"{GUIDE}.rej", "holds a change of the template"),
    ],
)
def test_a_conflicted_update_fails_the_pages_build_naming_the_file(
    template_and_site, conflict, named, problem
):
    template, site = template_and_site
    replace_once(site / GUIDE, GUIDE_TITLE, "# How we update our site\n")  # the owner's edit
    commit_all(site, "our title")
    release(template, "v2.0.0", retitle_the_update_guide)
    # as Renovate runs it, and commits what it leaves to the pull request's branch
    update(site, "--skip-answered", f"--conflict={conflict}")
    commit_all(site, "Update the template to v2.0.0")

    done = run_step(site, "build", CONFLICT_STEP, TOOLS_ENV)
    assert done.returncode == 1, done.stdout + done.stderr
    (error,) = (line for line in done.stdout.splitlines() if line.startswith("::error "))
    assert error.startswith(f"::error file={named},")
    assert f"::{named} {problem}" in error


def test_a_clean_update_builds(template_and_site):
    template, site = template_and_site
    release(template, "v2.0.0", retitle_the_update_guide)
    update(site, "--skip-answered")
    commit_all(site, "Update the template to v2.0.0")
    done = run_step(site, "build", CONFLICT_STEP, TOOLS_ENV)
    assert (done.returncode, done.stdout) == (0, "")
