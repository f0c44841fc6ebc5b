"""Local preview that collaborates: build the site, start a signaling server, serve both.

    python preview.py

Open the two printed links in two different browsers (or one normal and one private
window) and edit the same document. Two tabs of one browser prove nothing: they sync
through the browser itself, even with no signaling server at all.
It builds into _output/ (where `jupyter lite build` does: a second build folder inside the
site would be merged into the next build) and points only that copy at the local signaling
server; tracked files stay untouched. The deploy workflow always builds afresh.

To try servers that already run instead, give each with --signaling-url (no local server
starts then); the pages connect to all of them and meet through any that is up:

    python preview.py --signaling-url wss://a.example.org --signaling-url wss://b.example.org
"""

import argparse
import http.server
import json
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import ClassVar

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "_output"
READY_MARKER = "Preview ready"
SIGNALING_KEY = "fullWebRtcSignalingUrls"
PREFIX_KEY = "webRtcRoomPrefix"
ROOM_WORDS = ("otter", "maple", "comet", "delta", "fjord", "lotus", "quartz", "tundra")


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="HTTP port of the site (default: %(default)s)"
    )
    parser.add_argument(
        "--signaling-port",
        type=int,
        default=4444,
        help="port of the local signaling server (default: %(default)s)",
    )
    parser.add_argument(
        "--signaling-url",
        action="append",
        metavar="URL",
        help="use this running signaling server (ws:// or wss://) instead of starting one; "
        "repeat it to list several, in the order given",
    )
    parser.add_argument(
        "--room",
        default=f"{secrets.choice(ROOM_WORDS)}-{secrets.randbelow(1000)}",
        help="room in the printed links (default: random)",
    )
    parser.add_argument(
        "--no-build", action="store_true", help="serve the existing _output/ without rebuilding"
    )
    return parser.parse_args()


def build():
    # A stale doit database makes `jupyter lite build` skip steps, silently dropping config.
    shutil.rmtree(OUTPUT, ignore_errors=True)
    for db in HERE.glob(".jupyterlite.doit.db*"):
        db.unlink()
    subprocess.run(
        [sys.executable, "-m", "jupyter", "lite", "build"],
        cwd=HERE,
        check=True,
    )


def configure_preview(urls):
    """Make the built site use the signaling servers `urls` (a list, kept in its order) and
    expose its app to the browser console (as `window.jupyterapp`, for trying things out);
    return the room prefix its pages will use."""
    root = OUTPUT / "jupyter-lite.json"
    if not root.is_file():
        sys.exit(f"{root} is missing: build first (run without --no-build)")
    prefix = None
    # The root config is merged with per-app ones (lab/, retro/notebooks/...) that may override it.
    for path in [root, *OUTPUT.glob("*/jupyter-lite.json"), *OUTPUT.glob("*/*/jupyter-lite.json")]:
        config = json.loads(path.read_text(encoding="utf-8"))
        data = config.setdefault("jupyter-config-data", {})
        if path == root or SIGNALING_KEY in data:
            data[SIGNALING_KEY] = list(urls)
        if path == root:
            # Without a prefix, pages on localhost pick a random one each, so they never pair.
            prefix = data.setdefault(PREFIX_KEY, "local-preview")
            data["exposeAppInBrowser"] = True
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return prefix


def start_signaling(host, port, site_port):
    server_py = HERE / "signaling" / "server.py"
    if not server_py.is_file():
        sys.exit(f"{server_py} is missing: pass --signaling-url of a running signaling server")
    # Browsers send the origin they loaded the page from: localhost and 127.0.0.1 differ.
    names = {host, "localhost", "127.0.0.1"} if host in ("localhost", "127.0.0.1") else {host}
    origins = [
        arg for name in sorted(names) for arg in ("--allowed-origin", f"http://{name}:{site_port}")
    ]
    server = subprocess.Popen(
        [sys.executable, str(server_py), "--host", host, "--port", str(port), *origins]
    )
    deadline = time.monotonic() + 15
    while server.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit(f"the signaling server did not start on {host}:{port}")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".js": "application/javascript",
        ".mjs": "application/javascript",
        ".ipynb": "application/json",
    }

    def end_headers(self):
        # Every rebuild must show up on reload.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):
        pass  # one line per file of a JupyterLite page would drown the links


def main():
    args = parse_args()
    if not args.no_build:
        build()
    site_url = f"http://{args.host}:{args.port}"
    signaling_urls = args.signaling_url or [f"ws://{args.host}:{args.signaling_port}"]
    prefix = configure_preview(signaling_urls)
    httpd = http.server.ThreadingHTTPServer(
        (args.host, args.port), partial(SiteHandler, directory=str(OUTPUT))
    )
    # `kill` (SIGTERM) must stop the signaling server too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signaling = (
        None if args.signaling_url else start_signaling(args.host, args.signaling_port, args.port)
    )
    documents = (
        sorted(p.name for p in (OUTPUT / "files").iterdir()) if (OUTPUT / "files").is_dir() else []
    )
    print(
        f"""
Signaling: {", ".join(signaling_urls)}   room prefix: {prefix}
Open these two links in two DIFFERENT browsers (tabs of one browser sync without the server):
  {site_url}/lab/index.html?room={args.room}&username=alice
  {site_url}/lab/index.html?room={args.room}&username=bob
Then open the same document in both, e.g. {documents[0] if documents else "a new notebook"};
type in one, watch the other.
Documents: {", ".join(documents) or "(none)"}
{READY_MARKER} on {site_url}/ (Ctrl-C to stop)""",
        flush=True,
    )
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        print("Stopping.")
    finally:
        httpd.server_close()
        if signaling:
            signaling.terminate()
            signaling.wait(timeout=10)


if __name__ == "__main__":
    main()
