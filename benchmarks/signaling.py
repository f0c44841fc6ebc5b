"""Our signaling server against y-webrtc's reference server (npm y-webrtc, bin/server.js).

Both servers run at once, pinned to one core (`taskset`); the load generators to the other:
one Node.js process per server (with `ws`, the WebSocket library y-webrtc's server uses, from
node_modules) holding N connections in rooms of 2, 3, 4 and 5 (3.5 on average). Every
connection offers permessage-deflate, as browsers do, and subscribes to its room's topic.
Publishes of ~320 bytes (a y-webrtc ICE candidate signal) go out at a paced, open-loop rate
from connections taken in turn; the server relays each to every member of the room, sender
included, and each arrival is stamped against its send time (one clock: one process).

The servers take turns at each rate, --runs times, so that both see the same machine: its
other load moves both. For each connection count the script prints:
- memory: resident set size with no connection, with the N connections, and per connection;
- for each rate: publishes/s sent, the median over the runs of the latency p50 and p99 from
  publish to each arrival (and the range of p99 over the runs), and the server's CPU time per
  publish (user+system, from /proc; the user part apart), and the load generator's CPU use
  (near 100% would make it the bottleneck);
- the highest rate whose median p99 stayed under 10 ms (and under 50 ms).

    .venv/bin/python benchmarks/signaling.py [--connections 200 1000] [--seconds 2] [--runs 3]
        [--servers ours plain redis reference]   # plain: ours without uvloop and orjson

redis: two instances of ours sharing rooms through one redis-server (--redis-url), all three
on the servers' core; the connections alternate between the instances, as a load balancer
spreads them, so most rooms span both. Its CPU and memory are the three processes' together.

Loopback only. Ours runs with --max-connections-per-ip 0 and --messages-per-second 0: every
client here comes from 127.0.0.1, and a few connections carry a whole class's traffic.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # for tests/support, as pytest imports it
from support.processes import LOOPBACK, free_port, running  # noqa: E402
from support.signaling_servers import HIDE_SPEEDUPS, REFERENCE_SERVER, SERVER  # noqa: E402

SERVER_CPU, LOAD_CPU = "0", "1"
TICKS = os.sysconf("SC_CLK_TCK")
RATES = [2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 18000, 20000, 24000, 28000, 32000]
OUR_FLAGS = [
    "--log-level",
    "WARNING",
    "--max-connections-per-ip",
    "0",
    "--messages-per-second",
    "0",
]

# The load generator. Commands on stdin, one JSON object a line; answers on stdout likewise.
LOADER = r"""
const WebSocket = require('ws');
const readline = require('readline');
const [urls, total] = [process.argv[1].split(','), Number(process.argv[2])];
const clients = [];
let latencies = [], received = 0, measuring = false;
const pad = 'x'.repeat(60);
function payload(topic, t) {
  return JSON.stringify({type: 'publish', topic, data: {
    type: 'signal', from: 'c0f1e2d3-a4b5-4c6d-8e7f-a0b1c2d3e4f5',
    to: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', token: pad, t,
    signal: {type: 'candidate', candidate: {sdpMid: '0', sdpMLineIndex: 0,
      candidate: 'candidate:842163049 1 udp 1677729535 198.51.100.7 53705 typ srflx'}}}});
}
function onMessage(raw) {
  const message = JSON.parse(raw);
  if (message.type !== 'publish') return;
  received++;
  if (measuring) latencies.push(performance.now() - message.data.t);
}
async function connect() {
  const sizes = [2, 3, 4, 5];
  let room = 0;
  while (clients.length < total) {
    const size = Math.min(sizes[room % 4], total - clients.length);
    const topic = 'bench-room-' + room++ + '-'.repeat(40);
    const opened = [];
    for (let i = 0; i < size; i++) {
      // ws offers permessage-deflate by default, as browsers do.
      const ws = new WebSocket(urls[clients.length % urls.length], {origin: 'http://bench.test'});
      ws.on('message', onMessage);
      ws.on('error', e => { console.error('client error', e.message); process.exit(1); });
      clients.push({ws, topic});
      opened.push(new Promise(resolve => ws.on('open', resolve)));
    }
    await Promise.all(opened);
    const subscribe = JSON.stringify({type: 'subscribe', topics: [topic]});
    for (const c of clients.slice(-size)) c.ws.send(subscribe);
  }
  // a ping answered by every connection: every subscription has been processed
  await Promise.all(clients.map(c => new Promise(resolve => {
    c.ws.on('message', function pong(raw) {
      if (JSON.parse(raw).type === 'pong') { c.ws.off('message', pong); resolve(); }
    });
    c.ws.send('{"type":"ping"}');
  })));
}
function run(rate, seconds) {
  return new Promise(resolve => {
    latencies = []; received = 0; measuring = true;
    const cpu0 = process.cpuUsage(), start = performance.now();
    let sent = 0, next = 0;
    const timer = setInterval(() => {
      const elapsed = (performance.now() - start) / 1000;
      if (elapsed >= seconds) {
        clearInterval(timer);
        // let the last arrivals in (an overloaded server is still late: that counts)
        setTimeout(() => {
          measuring = false;
          const cpu = process.cpuUsage(cpu0);
          const sorted = Float64Array.from(latencies).sort();
          const at = f => Math.min(sorted.length - 1, Math.floor(f * sorted.length));
          const q = f => sorted.length ? sorted[at(f)] : null;
          resolve({sent, received, arrivals: sorted.length, seconds: elapsed,
                   p50: q(0.5), p99: q(0.99), max: q(1),
                   loaderCpu: (cpu.user + cpu.system) / 1e6 / elapsed});
        }, 200);
        return;
      }
      const due = Math.floor(rate * elapsed) - sent;
      for (let i = 0; i < due; i++) {
        const c = clients[next];
        next = (next + 7919) % clients.length;  // a prime stride: rooms take turns
        c.ws.send(payload(c.topic, performance.now()));
        sent++;
      }
    }, 1);
  });
}
const lines = readline.createInterface({input: process.stdin});
lines.on('line', async line => {
  const command = JSON.parse(line);
  let answer;
  if (command.connect) { await connect(); answer = {connected: clients.length}; }
  if (command.rate) answer = await run(command.rate, command.seconds);
  if (command.close) { for (const c of clients) c.ws.terminate(); answer = {closed: true}; }
  process.stdout.write(JSON.stringify(answer) + '\n');
  if (command.close) process.exit(0);
});
"""


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Loader:
    """The load generator for one server (its commands: connect, rate, close)."""

    def __init__(self, urls: list[str], connections: int) -> None:
        self.process = subprocess.Popen(
            ["taskset", "-c", LOAD_CPU, "node", "-e", LOADER, ",".join(urls), str(connections)],
            cwd=ROOT,  # resolves `ws` from node_modules
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, **command: object) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the load generator exited with {self.process.wait()}")
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            self.ask(close=True)
        self.process.wait(10)


class Server:
    """One server under test (pinned to SERVER_CPU) and its load generator."""

    def __init__(self, name: str, stack: ExitStack, ours: Path, flags: list[str]) -> None:
        self.name = name
        self.pids: list[int] = []  # the processes whose CPU time and memory count
        self.urls: list[str] = []  # where the load generator connects, in turn

        def start(command: list[str], port: int, env: dict[str, str] | None = None) -> None:
            process = stack.enter_context(
                running(
                    ["taskset", "-c", SERVER_CPU, *command],
                    env=env or {},
                    ready_port=port,
                    stdout=subprocess.DEVNULL,
                )
            )
            self.pids.append(process.pid)  # taskset execs the server

        port = free_port()
        if name == "reference":
            start(["node", str(REFERENCE_SERVER)], port, {"PORT": str(port)})
            self.urls.append(f"ws://{LOOPBACK}:{port}")
            ports = []
        elif name == "redis":  # two instances of ours sharing rooms through one redis-server
            start(["redis-server", "--port", str(port), "--bind", LOOPBACK, "--save", ""], port)
            flags = [*flags, "--redis-url", f"redis://{LOOPBACK}:{port}"]
            ports = [free_port(), free_port()]
        else:
            ports = [port]
        # "plain": without the optional speed-ups, as a site's preview runs it
        python = [sys.executable, "-c", HIDE_SPEEDUPS] if name == "plain" else [sys.executable]
        for port in ports:
            command = [*python, str(ours), "--host", LOOPBACK, "--port", str(port)]
            start([*command, "--allowed-origin", "*", *flags], port)
            self.urls.append(f"ws://{LOOPBACK}:{port}")
        self.loader: Loader | None = None

    def connect(self, connections: int) -> None:
        time.sleep(0.5)
        self.rss_idle = sum(map(rss_mb, self.pids))
        self.loader = Loader(self.urls, connections)
        self.loader.ask(connect=True)
        time.sleep(1)
        self.rss_connected = sum(map(rss_mb, self.pids))
        self.kb_per_connection = (self.rss_connected - self.rss_idle) * 1024 / connections

    def step(self, rate: int, seconds: float) -> dict:
        user, system = map(sum, zip(*map(cpu_seconds, self.pids), strict=True))
        step = self.loader.ask(rate=rate, seconds=seconds)
        user_after, system_after = map(sum, zip(*map(cpu_seconds, self.pids), strict=True))
        sent = max(1, step["sent"])
        step["user_us"] = (user_after - user) / sent * 1e6
        step["cpu_us"] = step["user_us"] + (system_after - system) / sent * 1e6
        step["rate"] = step["sent"] / step["seconds"]
        return step

    def close(self) -> None:
        if self.loader is not None:
            self.loader.close()


def saturated(step: dict) -> bool:
    """Past what the server can do: messages queue (a median over 50 ms) or get lost.

    Not the p99: on a shared machine, one window's p99 can be other work's doing."""
    return step["p50"] > 50 or step["lost"] > 0.05


def lost(step: dict) -> float:
    expected = step["sent"] * 3.5  # the average room size; the last room may be smaller
    return max(0.0, 1 - step["received"] / expected)


def summarise(steps: list[dict]) -> dict:
    p99s = sorted(s["p99"] if s["p99"] is not None else float("inf") for s in steps)
    return {
        "rate": statistics.median(s["rate"] for s in steps),
        "p50": statistics.median(s["p50"] or 0 for s in steps),
        "p99": statistics.median(p99s),
        "p99_range": (p99s[0], p99s[-1]),
        "cpu_us": statistics.median(s["cpu_us"] for s in steps),
        "user_us": statistics.median(s["user_us"] for s in steps),
        "loader_cpu": max(s["loaderCpu"] for s in steps),
        "lost": max(lost(s) for s in steps),
    }


def bench(
    names: list[str], connections: int, seconds: float, runs: int, ours: Path, flags: list[str]
) -> list:
    results = []
    with ExitStack() as stack:
        servers = [Server(name, stack, ours, flags) for name in names]
        try:
            for server in servers:
                server.connect(connections)
                server.step(1000, 1)  # warm up
                server.summaries = []
            for rate in RATES:
                steps: dict[str, list] = {server.name: [] for server in servers}
                for run in range(runs):
                    for server in servers if run % 2 == 0 else servers[::-1]:
                        if len(server.summaries) > 1 and all(
                            saturated(step) for step in server.summaries[-2:]
                        ):
                            continue  # this one has given up
                        steps[server.name].append(server.step(rate, seconds))
                for server in servers:
                    if steps[server.name]:
                        summary = summarise(steps[server.name])
                        server.summaries.append(summary)
                        print(format_step(server.name, connections, summary), flush=True)
                if all(
                    len(s.summaries) > 1 and all(saturated(step) for step in s.summaries[-2:])
                    for s in servers
                ):
                    break
        finally:
            for server in servers:
                server.close()
        results = [
            {
                "server": server.name,
                "connections": connections,
                "rss_idle": server.rss_idle,
                "rss_connected": server.rss_connected,
                "kb_per_connection": server.kb_per_connection,
                "steps": server.summaries,
            }
            for server in servers
        ]
    return results


def format_step(name: str, connections: int, step: dict) -> str:
    low, high = step["p99_range"]
    return (
        f"  {name:9} {connections:5} conns {step['rate']:7.0f} publishes/s"
        f"  p50 {step['p50']:6.2f} ms  p99 {step['p99']:7.2f} ms ({low:.1f}-{high:.1f})"
        f"  CPU {step['cpu_us']:5.1f} us/publish ({step['user_us']:4.1f} user)"
        f"  loader {step['loader_cpu']:4.0%}"
    )


def best(result: dict, limit_ms: float) -> dict | None:
    good = [s for s in result["steps"] if s["p99"] < limit_ms and s["lost"] <= 0.05]
    return max(good, key=lambda s: s["rate"], default=None)


def print_summary(results: list[dict]) -> None:
    print()
    print(
        "server     conns  RSS idle  RSS conn  KB/conn"
        "  best@p99<10ms  CPU us/publish there  best@p99<50ms"
    )
    for r in results:
        b10, b50 = best(r, 10), best(r, 50)
        print(
            f"{r['server']:9} {r['connections']:6}  {r['rss_idle']:6.1f} MB"
            f" {r['rss_connected']:6.1f} MB"
            f"  {r['kb_per_connection']:6.1f}  {rate(b10):>13}  {cpu(b10):>20}  {rate(b50):>13}"
        )


def rate(step: dict | None) -> str:
    return "-" if step is None else f"{step['rate']:.0f}/s"


def cpu(step: dict | None) -> str:
    return "-" if step is None else f"{step['cpu_us']:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--servers",
        nargs="+",
        default=["ours", "reference"],
        choices=["ours", "plain", "redis", "reference"],
        help="plain: ours without its optional speed-ups (uvloop, orjson); redis: two instances "
        "of ours sharing rooms through Redis",
    )
    parser.add_argument("--ours", type=Path, default=SERVER, help="another server.py to compare")
    parser.add_argument("--ours-flags", default=" ".join(OUR_FLAGS))
    args = parser.parse_args()
    results = []
    for connections in args.connections:
        results += bench(
            args.servers, connections, args.seconds, args.runs, args.ours, args.ours_flags.split()
        )
    print_summary(results)


if __name__ == "__main__":
    main()
