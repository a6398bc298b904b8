#!/usr/bin/env python3
"""The zero-downtime front (issue: zero-downtime front). Writes a Markdown report.

(a) Throughput and latency through the front vs straight to the app, with wrk, at 1,
    64 and 1,000 concurrent connections (GET /api/fixture/info; the fixture closes
    every connection after its answer, so each request is a new connection — through
    the front that is two connects).
(b) Failed requests during an upgrade under steady load (wrk, 64 connections, 10 s,
    the upgrade at 3 s): this supervisor's handover with [proxy], PM2 (npm registry,
    fork mode, `pm2 reload`) and supervisord (Debian's `supervisor`, `supervisorctl
    restart`), each on the same fixture app.
(c) The supervisor's RSS with 1,000 open connections through the front.

Needs wrk and supervisor (Debian) and npm; installs PM2 into a cache folder.
"""
import json
import os
import platform
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from handover_env import HandoverEnv  # noqa: E402
from harness import FIXTURE, free_port, http_get, poll_until  # noqa: E402

CACHE = ROOT / "bench" / ".cache"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wrk(port, connections, seconds, path="/api/fixture/info", keep_alive=False):
    threads = max(1, min(2, connections))
    close = [] if keep_alive else ["-H", "Connection: close"]
    r = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
                        *close, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                       preexec_fn=raise_nofile)
    out = r.stdout

    def ms(label):
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%"), "total": total, "errors": errors, "raw": out}


def front_env(tmp):
    listen = free_port()
    first = free_port()
    last = first + 1
    e = HandoverEnv(tmp, health={"interval": "20ms"},
                    proxy={"listen": f"127.0.0.1:{listen}", "instance_ports": f"{first}-{last + 20}",
                           "drain_timeout": "5s"})
    e.listen = listen
    return e


def part_a(tmp):
    e = front_env(tmp / "a")
    s = e.supervisor.start()
    try:
        s.wait_log(r"instance \S+ ready")
        direct = s.status()["port"]
        rows = []
        for keep_alive in (False, True):
            for c in (1, 64, 1000):
                d = wrk(direct, c, 5, keep_alive=keep_alive)
                f = wrk(e.listen, c, 5, keep_alive=keep_alive)
                rows.append(("keep-alive" if keep_alive else "new connection per request", c, d, f))
        return rows
    finally:
        s.close()
        s.kill_leftover_app()


def load_during(port, action, at=3, seconds=10):
    result = {}
    t = threading.Thread(target=lambda: result.update(wrk(port, 64, seconds)))
    t.start()
    time.sleep(at)  # a bench: the upgrade at a fixed point of the load
    action()
    t.join()
    return result


def part_b_supervisor(tmp):
    e = front_env(tmp / "b")
    s = e.supervisor.start()
    try:
        s.wait_log(r"instance \S+ ready")
        commit = e.commit()

        def upgrade():
            rid = e.request(commit)
            outcome, detail = e.wait_outcome(rid)
            assert outcome == "done", detail
        return load_during(e.listen, upgrade)
    finally:
        s.close()
        s.kill_leftover_app()


def fixture_env(port, data):
    return {**os.environ, "PORT": str(port), "HOSTNAME": "127.0.0.1", "AGENTRON_DATA_DIR": str(data)}


def part_b_pm2(tmp):
    pm2 = CACHE / "node_modules" / ".bin" / "pm2"
    if not pm2.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(CACHE), "pm2@5"], check=True, capture_output=True)
    port = free_port()
    home = tmp / "pm2-home"
    env = {**fixture_env(port, tmp / "pm2-data"), "PM2_HOME": str(home)}
    (tmp / "pm2-data").mkdir()
    subprocess.run([str(pm2), "start", str(FIXTURE), "--name", "fx", "--interpreter", "none"], env=env, check=True,
                   capture_output=True)
    try:
        poll_until(lambda: ok(port), 10, "pm2's app serving")
        return load_during(port, lambda: subprocess.run([str(pm2), "reload", "fx"], env=env, check=True,
                                                        capture_output=True))
    finally:
        subprocess.run([str(pm2), "kill"], env=env, capture_output=True)


def part_b_supervisord(tmp):
    port = free_port()
    data = tmp / "sd-data"
    data.mkdir()
    conf = tmp / "supervisord.conf"
    sock = tmp / "supervisor.sock"
    conf.write_text(f"""[unix_http_server]
file={sock}
[supervisord]
logfile={tmp}/supervisord.log
pidfile={tmp}/supervisord.pid
nodaemon=false
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://{sock}
[program:fixture]
command={FIXTURE}
environment=PORT="{port}",HOSTNAME="127.0.0.1",AGENTRON_DATA_DIR="{data}"
directory={data}
stopsignal=TERM
""")
    subprocess.run(["supervisord", "-c", str(conf)], check=True)
    try:
        poll_until(lambda: ok(port), 10, "supervisord's app serving")
        return load_during(port, lambda: subprocess.run(["supervisorctl", "-c", str(conf), "restart", "fixture"],
                                                        check=True, capture_output=True))
    finally:
        subprocess.run(["supervisorctl", "-c", str(conf), "shutdown"], capture_output=True)


def ok(port):
    try:
        return http_get(port, "/api/setup/status", timeout=1)[0] == 200
    except OSError:
        return False


def part_c(tmp):
    e = front_env(tmp / "c")
    s = e.supervisor.start()
    raise_nofile()
    try:
        s.wait_log(r"instance \S+ ready")
        before = rss(s.proc.pid)
        conns = []
        for _ in range(1000):
            c = socket.create_connection(("127.0.0.1", e.listen))
            conns.append(c)
        poll_until(lambda: sum(s.status()["front"]["connections"].values()) == 1000, 20, "1000 connections forwarded")
        during = rss(s.proc.pid)
        for c in conns:
            c.close()
        return before, during
    finally:
        s.close()
        s.kill_leftover_app()


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    for tool in ("wrk", "supervisord", "npm"):
        if not shutil.which(tool):
            sys.exit(f"bench_front.py needs {tool}: apt-get install wrk supervisor npm")
    raise_nofile()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        tmp = Path(d)
        print(f"Measured {time.strftime('%Y-%m-%d')} on {platform.node()} ({os.cpu_count()} CPUs), one run.\n")
        print("(a) GET /api/fixture/info, wrk 5 s per row:\n")
        print("| requests | connections | direct req/s | front req/s | front / direct | direct p50 / p99 | front p50 / p99 | errors direct / front |")
        print("|---|---|---|---|---|---|---|---|")
        for mode, c, dr, fr in part_a(tmp):
            print(f"| {mode} | {c} | {dr['rps']:.0f} | {fr['rps']:.0f} | {fr['rps'] / dr['rps']:.0%} | "
                  f"{dr['p50']:.2f} / {dr['p99']:.2f} ms | {fr['p50']:.2f} / {fr['p99']:.2f} ms | "
                  f"{dr['errors']} / {fr['errors']} |")
        print("\n(b) wrk, 64 connections, 10 s; the upgrade at 3 s:\n")
        print("| supervisor | requests | failed (socket errors + non-2xx) |")
        print("|---|---|---|")
        for name, fn in (("agentron-supervisor (handover, [proxy])", part_b_supervisor),
                         ("PM2 5 (fork mode, pm2 reload)", part_b_pm2),
                         ("supervisord 4.2 (supervisorctl restart)", part_b_supervisord)):
            r = fn(tmp)
            print(f"| {name} | {r['total']} | {r['errors']} |")
        before, during = part_c(tmp)
        print(f"\n(c) supervisor RSS: {before:.1f} MiB idle, {during:.1f} MiB with 1,000 open connections "
              "through the front.")


if __name__ == "__main__":
    main()
