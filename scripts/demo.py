"""Render the template with default answers, build the site and serve it with collaboration.

    scripts/demo [--dest demo-site] [preview options, e.g. --port 8000]

Renders into --dest (re-rendered if it exists), creates the build environment its
environment.yml pins, then runs the site's own `python preview.py`, which builds, starts a
local signaling server and prints two links to open in two browsers.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # for tests/support
from support.sites import activated, build_env, render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=Path("demo-site"))
    args, preview_args = parser.parse_known_args()
    site = render(args.dest.resolve(), overwrite=True)
    env_dir = build_env(site)
    python = str(env_dir / "bin" / "python")
    os.chdir(site)
    os.execve(python, [python, "preview.py", *preview_args], activated(env_dir))


if __name__ == "__main__":
    main()
