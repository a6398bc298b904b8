#!/usr/bin/env python3
"""The control API's latency (issue 13). Writes a Markdown report.

GET /v1/ping (the placeholder route: the listener, the guard and one log line, no
work) measured with wrk, keep-alive connections, at 1 and 100 concurrent clients, and
at 1 client with a new connection per request (what a client without keep-alive pays):

* quiet: nothing else connected;
* loaded: 1,000 idle connections open (no byte sent) and one client dribbling its
  headers a byte a second, all held open for the whole run (header_timeout = 300s).

The two take turns, ROUNDS times, SECONDS each; a cell is the median of its rounds'
p50 and p99 (wrk --latency), with every round's p99 beside it. The supervisor logs one
line per request to a pipe this script drains, as it would to the journal.
Target (issue 13): the loaded p99 within 50 ms of nothing — what another client waits.
"""
import argparse
import os
import platform
import re
import resource
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from harness import Supervisor, poll_until, rss_kib  # noqa: E402


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wrk(port, token, connections, seconds, new_connection=False):
    extra = ["-H", "Connection: close"] if new_connection else []
    r = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency",
                        "--timeout", "10s", "-H", f"Authorization: Bearer {token}", *extra,
                        f"http://127.0.0.1:{port}/v1/ping"], capture_output=True, text=True, check=True)
    out = r.stdout

    def ms(label):
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(m.group(1)) if m else 0
    return {"p50": ms("50%"), "p99": ms("99%"), "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "errors": errors}


class Load:
    """1,000 idle connections and a client sending its headers a byte a second."""

    def __init__(self, port, token, idle=1000):
        self.sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
        self.stop = threading.Event()
        head = f"GET /v1/ping HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        self.slow = socket.create_connection(("127.0.0.1", port))
        self.thread = threading.Thread(target=self._dribble, args=(head,), daemon=True)
        self.thread.start()

    def _dribble(self, head):
        for i in range(len(head) - 4):  # never the end of the headers
            if self.stop.wait(1.0):
                return
            self.slow.sendall(head[i:i + 1])

    def close(self):
        self.stop.set()
        self.thread.join()
        for s in self.sockets + [self.slow]:
            s.close()


def drain(fd, stop, counter):
    """Reads the supervisor's log as it comes, so its pipe never fills."""
    while not stop.is_set():
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                return
            counter[0] += chunk.count(b"\n")


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, load average {open('/proc/loadavg').read().split()[0]}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    raise_nofile()
    print(f"machine at start: {machine()}", file=sys.stderr)
    cells = [("keep-alive", 1, False), ("keep-alive", 100, False), ("new connection per request", 1, True)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        s = Supervisor(tmp, extra={"control": {"listen": "127.0.0.1:0", "max_connections": 2000,
                                                "header_timeout": "300s"}})
        s.start()
        port = int(s.wait_log(r"control API: listening on 127\.0\.0\.1:(\d+)").group(1))
        token = (s.state_dir / "api.token").read_text().strip()
        stop, lines = threading.Event(), [0]
        drainer = threading.Thread(target=drain, args=(s.proc.stderr.fileno(), stop, lines), daemon=True)
        drainer.start()
        rss = {"quiet": rss_kib(s.proc.pid)}
        try:
            for round_ in range(args.rounds):
                for scenario in ("quiet", "loaded"):
                    load = Load(port, token) if scenario == "loaded" else None
                    if load and round_ == 0:
                        poll_until(lambda: s.status()["control_api"]["open_connections"] == 1001, 10,
                                   "1,001 connections open")
                        rss["loaded"] = rss_kib(s.proc.pid)
                    try:
                        for kind, clients, new_connection in cells:
                            r = wrk(port, token, clients, args.seconds, new_connection)
                            results.setdefault((scenario, kind, clients), []).append(r)
                            print(f"round {round_ + 1} {scenario} {kind} c={clients}: p50 {r['p50']:.2f} ms "
                                  f"p99 {r['p99']:.2f} ms {r['rps']:.0f} req/s errors {r['errors']}", file=sys.stderr)
                    finally:
                        if load:
                            load.close()
        finally:
            stop.set()
            drainer.join()
            s.close()
    print(f"machine at end: {machine()}; the supervisor logged {lines[0]} lines", file=sys.stderr)
    print(f"supervisor RSS: {rss['quiet'] / 1024:.1f} MiB before any request, {rss['loaded'] / 1024:.1f} MiB with "
          f"1,001 connections open\n")

    print("| requests | clients | quiet p50 / p99 | loaded p50 / p99 | loaded − quiet p99 | quiet p99 per round | "
          "loaded p99 per round | req/s quiet / loaded | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, clients, _ in cells:
        quiet, loaded = results[("quiet", kind, clients)], results[("loaded", kind, clients)]

        def med(runs, key):
            return statistics.median(r[key] for r in runs)

        def each(runs):
            return ", ".join(f"{r['p99']:.2f}" for r in runs)

        print(f"| {kind} | {clients} | {med(quiet, 'p50'):.2f} / {med(quiet, 'p99'):.2f} ms | "
              f"{med(loaded, 'p50'):.2f} / {med(loaded, 'p99'):.2f} ms | "
              f"{med(loaded, 'p99') - med(quiet, 'p99'):+.2f} ms | {each(quiet)} | {each(loaded)} | "
              f"{med(quiet, 'rps'):.0f} / {med(loaded, 'rps'):.0f} | "
              f"{sum(r['errors'] for r in quiet)} / {sum(r['errors'] for r in loaded)} |")


if __name__ == "__main__":
    main()
