"""Render + build time and built size of the default site, against a bare `jupyter lite build`.

The bare build: the same pinned jupyterlite-core alone, in an empty folder, with its defaults
(every app, source maps). Targets: time <= 1.2x, size <= 0.35x.

    .venv/bin/python benchmarks/build.py [--runs 3]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # for tests/support
from support.sites import (
    build,
    build_env,
    make_env,
    pip_requirements,
    python_version,
    render,
    run_in_env,
)


def size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        probe = render(scratch / "probe")
        site_env = build_env(probe)
        core = next(r for r in pip_requirements(probe) if r.startswith("jupyterlite-core=="))
        bare_env = make_env(python_version(probe), [core])

        render_times, site_times, bare_times = [], [], []
        for run in range(runs):
            started = time.perf_counter()
            site = render(scratch / f"site-{run}")
            rendered = time.perf_counter()
            site_output = build(site, site_env)
            render_times.append(rendered - started)
            site_times.append(time.perf_counter() - started)

            bare = scratch / f"bare-{run}"
            bare.mkdir()
            started = time.perf_counter()
            run_in_env(bare_env, ["jupyter", "lite", "build"], cwd=bare)
            bare_times.append(time.perf_counter() - started)

        site_time, bare_time = statistics.median(site_times), statistics.median(bare_times)
        site_bytes, bare_bytes = size(site_output), size(bare / "_output")
    print(f"pins: {core}, {runs} runs, medians")
    print(f"render + build of the default site: {site_time:6.2f} s", end="")
    print(f" (render {statistics.median(render_times):.2f} s)")
    print(f"bare jupyter lite build:            {bare_time:6.2f} s")
    print(f"time ratio:                          {site_time / bare_time:5.2f}x (target <= 1.2x)")
    print(f"default site size: {site_bytes / 1e6:6.2f} MB")
    print(f"bare build size:   {bare_bytes / 1e6:6.2f} MB")
    print(f"size ratio:         {site_bytes / bare_bytes:5.2f}x (target <= 0.35x)")


if __name__ == "__main__":
    main()
