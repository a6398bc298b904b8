#!/usr/bin/env python3
"""The control API's latency, and the front's throughput while the API is under load
(issue 13). Writes a Markdown report.

One supervisor with [proxy] (the front, on its own thread, before the fixture app) and
[control] (the API, on the supervisor's main loop), in one run:

(a) GET /v1/status (the daemon's status: it asks the front's thread for the front's
    part and answers when that comes back) and GET /v1/ping (no work: the transport
    under it), wrk with the token, keep-alive connections, at 1 and 100 concurrent
    clients, nothing going through the front:
    * quiet: nothing else connected to the API;
    * loaded: 1,000 idle connections open (no byte sent) and one client dribbling its
      headers a byte a second, all held open for the whole round (header_timeout = 300s).
    Quiet and loaded take turns, ROUNDS times, SECONDS each; a cell is the median of its
    rounds' p50 and p99 (wrk --latency), every round's p99 beside it.
    Target: the loaded p99 within 50 ms of nothing — what another client waits.
(b) The front's throughput: wrk, FRONT_CONNECTIONS keep-alive connections, GET
    /api/fixture/info through the front, SECONDS each, alone and with the API loaded
    (a second wrk, 100 clients on /v1/status, plus the 1,000 idle and the dribbling
    connections, for the whole run). On 2 CPUs that second wrk and the API's loop take
    CPU the front's side needs, so, to tell that apart from the API getting in the
    front's way: the idle connections alone; /v1/ping instead of /v1/status (no hop to
    the front's thread); a neighbour load — the same wrk on another fixture app outside
    the supervisor; and the loads again pinned: the front's wrk, the front's thread and
    the app on CPU 0, the supervisor's other threads, the load (its wrk, the neighbour)
    and this script on CPU 1. The scenarios take turns, ROUNDS times, each round in the
    other order than the one before; a cell is the median of its rounds. Beside each,
    the CPU each party used (/proc), and the front's requests per CPU-second of its own
    side (its thread, the app, its wrk): what the load costs the front beyond CPU time.

The supervisor logs one line per API request to a pipe this script drains, as it would
to the journal.
"""
import argparse
import os
import platform
import re
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_front import cpu_seconds, fixture_env, front_env, ok, raise_nofile, wrk, wrk_command, wrk_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from harness import FIXTURE, free_port, poll_until, rss_kib  # noqa: E402

API_CELLS = [("/v1/status", 1), ("/v1/status", 100), ("/v1/ping", 1), ("/v1/ping", 100)]
FRONT_CONNECTIONS = 64
API_CLIENTS = 100
IDLE = 1000
ALL_CPUS = set(range(os.cpu_count()))
FRONT_CPUS, LOAD_CPUS = {0}, {1}  # when pinned

# (name, what a second wrk loads meanwhile, the 1,001 idle + dribbling API connections, pinned).
# The second wrk loads an API route, or "neighbour": another fixture app, outside the
# supervisor — the same kind of load (one single-threaded server kept busy by 100 clients)
# taking CPU without touching the supervisor.
FRONT_SCENARIOS = [
    ("alone", None, False, False),
    ("1,001 idle/dribbling API connections", None, True, False),
    ("API load: /v1/status", "/v1/status", True, False),
    ("API load: /v1/ping", "/v1/ping", True, False),
    ("neighbour load (not the supervisor)", "neighbour", False, False),
    ("pinned, alone", None, False, True),
    ("pinned, API load: /v1/status", "/v1/status", True, True),
    ("pinned, API load: /v1/ping", "/v1/ping", True, True),
    ("pinned, neighbour load", "neighbour", False, True),
]


class Load:
    """1,000 idle connections and a client sending its headers a byte a second."""

    def __init__(self, port, token, idle=IDLE):
        self.sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
        self.stop = threading.Event()
        head = f"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
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


ACCESS_LINE = b"control API: GET /v1/"


def drain(fd, stop, log):
    """Reads the supervisor's log as it comes, so its pipe never fills: counts the lines
    and keeps those that are not the API's one line per request."""
    partial = b""
    while not stop.is_set():
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                return
            data = partial + chunk
            *complete, partial = data.split(b"\n")
            log["lines"] += len(complete)
            if data.count(ACCESS_LINE) - partial.count(ACCESS_LINE) < len(complete):
                log["other"] += [line.decode(errors="replace") for line in complete if ACCESS_LINE not in line]


def load_average():
    return float(open("/proc/loadavg").read().split()[0])


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, load average {load_average()}"


# -- threads and CPUs ---------------------------------------------------------
def tids(pid):
    return [int(t) for t in os.listdir(f"/proc/{pid}/task")]


def task_stat(pid, tid):
    """The fields of /proc/<pid>/task/<tid>/stat after the command name (state first)."""
    return Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()


def thread_cpu_seconds(pid, tid):
    fields = task_stat(pid, tid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_cpus():
    """Busy seconds of each CPU so far, whoever ran (/proc/stat: user, nice, system, irq, softirq)."""
    busy = {}
    for line in open("/proc/stat"):
        name, *ticks = line.split()
        if re.fullmatch(r"cpu\d+", name):
            busy[name] = sum(int(ticks[i]) for i in (0, 1, 2, 5, 6)) / os.sysconf("SC_CLK_TCK")
    return busy


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def front_thread(pid, nice=-5):
    """The front's thread: the one thread that asked for [proxy] nice."""
    found = [t for t in tids(pid) if int(task_stat(pid, t)[16]) == nice]
    assert len(found) == 1, f"expected one thread at nice {nice}, found {found}"
    return found[0]


def pin(pid, cpus, only=None):
    """Every thread of pid (or those in `only`) onto `cpus`."""
    for t in only or tids(pid):
        os.sched_setaffinity(t, cpus)


class Placement:
    """Where the front's side and the load's side run: pinned apart, or anywhere."""

    def __init__(self, supervisor_pid, app_pid, neighbour_pid):
        self.supervisor, self.app, self.neighbour = supervisor_pid, app_pid, neighbour_pid
        self.front = front_thread(supervisor_pid)

    def apply(self, pinned):
        front_cpus, load_cpus = (FRONT_CPUS, LOAD_CPUS) if pinned else (ALL_CPUS, ALL_CPUS)
        pin(self.app, front_cpus)
        pin(self.supervisor, front_cpus, [self.front])
        pin(self.supervisor, load_cpus, [t for t in tids(self.supervisor) if t != self.front])
        pin(self.neighbour, load_cpus)
        pin(os.getpid(), load_cpus)  # the dribbler and the log drain
        return front_cpus, load_cpus

    def cpu(self, load_wrk):
        """CPU seconds so far: the supervisor's main thread (the API's loop), the
        neighbour, the second wrk, the front's thread, the app, and each CPU's busy time."""
        return {"loop": thread_cpu_seconds(self.supervisor, self.supervisor), "neighbour": cpu_seconds(self.neighbour),
                "load wrk": cpu_seconds(load_wrk.pid) if load_wrk else 0.0,
                "front": thread_cpu_seconds(self.supervisor, self.front), "app": cpu_seconds(self.app),
                **busy_cpus()}


class Neighbour:
    """The fixture app run on its own, outside the supervisor."""

    def __init__(self, tmp):
        self.port = free_port()
        (tmp / "neighbour").mkdir()
        self.proc = subprocess.Popen([str(FIXTURE)], env=fixture_env(self.port, tmp / "neighbour"),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        poll_until(lambda: ok(self.port), 10, "the neighbour app serving")

    def connections(self):
        """Its established TCP connections (the server's ends, in /proc/net/tcp)."""
        with open("/proc/net/tcp") as f:
            rows = [line.split() for line in f][1:]
        return sum(1 for r in rows if int(r[1].split(":")[1], 16) == self.port and r[3] == "01")

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def start_wrk(command, cpus):
    def setup():
        raise_nofile()
        os.sched_setaffinity(0, cpus)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=setup)


def stop_wrk(proc):
    """Ends a wrk before its time (SIGINT: it stops and prints what it measured)."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return wrk_result(out)


# -- the two parts ------------------------------------------------------------
class Bench:
    def __init__(self, env, neighbour, seconds):
        self.env, self.s, self.neighbour, self.seconds = env, env.supervisor, neighbour, seconds
        self.api_port = int(self.s.wait_log(r"control API: listening on 127\.0\.0\.1:(\d+)").group(1))
        self.s.wait_log(r"instance \S+ ready")
        self.auth = f"Authorization: Bearer {(self.s.state_dir / 'api.token').read_text().strip()}"
        self.token = self.auth.split()[-1]

    def api_connections(self):
        return self.s.status()["control_api"]["open_connections"]

    def open_connections(self, n):
        poll_until(lambda: self.api_connections() == n, 20, f"{n} API connections open")

    def api_round(self, loaded):
        """Part (a): every API cell once, quiet or loaded."""
        load = Load(self.api_port, self.token) if loaded else None
        try:
            self.open_connections(IDLE + 1 if loaded else 0)
            rss = rss_kib(self.s.proc.pid)
            return rss, {cell: wrk(self.api_port, cell[1], self.seconds, cell[0], keep_alive=True,
                                   headers=[self.auth]) for cell in API_CELLS}
        finally:
            if load:
                load.close()

    def start_load(self, target, cpus, base):
        """A second wrk, API_CLIENTS keep-alive clients until stop_wrk (at most a minute
        more than a round), once every one of them is connected."""
        seconds = self.seconds + 60
        if target == "neighbour":
            load = start_wrk(wrk_command(self.neighbour.port, API_CLIENTS, seconds, keep_alive=True), cpus)
            connected, what = lambda: self.neighbour.connections() == API_CLIENTS, "the neighbour's connections"
        else:
            load = start_wrk(wrk_command(self.api_port, API_CLIENTS, seconds, target, True, [self.auth]), cpus)
            connected, what = lambda: self.api_connections() == base + API_CLIENTS, "the API load's connections"
        try:
            poll_until(connected, 20, what)
        except BaseException:
            load.kill()
            load.wait()
            raise
        return load

    def front_round(self, placement, scenario):
        """Part (b): the front's wrk for SECONDS with this scenario's load meanwhile."""
        _, target, idle, pinned = scenario
        front_cpus, load_cpus = placement.apply(pinned)
        idle_load = Load(self.api_port, self.token) if idle else None
        load = None
        try:
            base = IDLE + 1 if idle else 0
            self.open_connections(base)
            load = self.start_load(target, load_cpus, base) if target else None
            before = placement.cpu(load)
            reaped, start = children_cpu_seconds(), time.monotonic()
            front = start_wrk(wrk_command(self.env.listen, FRONT_CONNECTIONS, self.seconds, keep_alive=True),
                              front_cpus)
            out, err = front.communicate()
            assert front.returncode == 0, err
            after, elapsed = placement.cpu(load), time.monotonic() - start
            after["front wrk"], before["front wrk"] = children_cpu_seconds(), reaped  # nothing else reaped between
            result = wrk_result(out)
            result["cpu"] = {k: (after[k] - before[k]) / elapsed for k in after}
            result["load"] = stop_wrk(load) if load else None
            load = None
            return result
        finally:
            if load:
                load.kill()
                load.wait()
            if idle_load:
                idle_load.close()
            placement.apply(False)


def run(args):
    raise_nofile()
    api, front, rss, loads = {}, {}, {}, []
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        env = front_env(Path(d), control={"listen": "127.0.0.1:0", "max_connections": 2000,
                                          "header_timeout": "300s"})
        s = env.supervisor.start()
        neighbour = Neighbour(Path(d))
        stop, log = threading.Event(), {"lines": 0, "other": []}
        drainer = None
        try:
            bench = Bench(env, neighbour, args.seconds)
            assert s.status()["front"]["thread_priority"] == "nice -5", "run the bench as root (or LimitNICE=-5)"
            placement = Placement(s.proc.pid, s.status()["pid"], neighbour.proc.pid)
            rss["start"] = rss_kib(s.proc.pid)
            drainer = threading.Thread(target=drain, args=(s.proc.stderr.fileno(), stop, log), daemon=True)
            drainer.start()
            for round_ in range(args.rounds):
                loads.append(load_average())
                for scenario in ("quiet", "loaded"):
                    rss[scenario], cells = bench.api_round(scenario == "loaded")
                    for cell, r in cells.items():
                        api.setdefault((scenario, cell), []).append(r)
                        print(f"round {round_ + 1} {scenario} {cell[0]} c={cell[1]}: p50 {r['p50']:.2f} ms "
                              f"p99 {r['p99']:.2f} ms {r['rps']:.0f} req/s errors {r['errors']}", file=sys.stderr)
                        if r["errors"]:
                            print(r["raw"], file=sys.stderr)
            for round_ in range(args.rounds):
                loads.append(load_average())
                order = FRONT_SCENARIOS if round_ % 2 == 0 else FRONT_SCENARIOS[::-1]
                for scenario in order:
                    r = bench.front_round(placement, scenario)
                    front.setdefault(scenario[0], []).append(r)
                    extra = f"; load {r['load']['rps']:.0f} req/s p99 {r['load']['p99']:.2f} ms" if r["load"] else ""
                    print(f"round {round_ + 1} front, {scenario[0]}: {r['rps']:.0f} req/s p50 {r['p50']:.2f} ms "
                          f"p99 {r['p99']:.2f} ms errors {r['errors']}{extra}", file=sys.stderr)
                    for failed in (x for x in (r, r["load"]) if x and x["errors"]):
                        print(failed["raw"], file=sys.stderr)
        finally:
            stop.set()
            if drainer:
                drainer.join()
            s.close()
            s.kill_leftover_app()
            neighbour.close()
    loads.append(load_average())
    return api, front, rss, loads, log


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def each(runs, key, digits):
    return ", ".join(f"{r[key]:.{digits}f}" for r in runs)


def report_api(api, rounds):
    print(f"(a) The control API, {rounds} rounds, quiet and loaded in turn:\n")
    print("| route | clients | quiet p50 / p99 | loaded p50 / p99 | loaded − quiet p99 | quiet p99 per round | "
          "loaded p99 per round | slowest request quiet / loaded | req/s quiet / loaded | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cell in API_CELLS:
        quiet, loaded = api[("quiet", cell)], api[("loaded", cell)]
        print(f"| `GET {cell[0]}` | {cell[1]} | {med(quiet, 'p50'):.2f} / {med(quiet, 'p99'):.2f} ms | "
              f"{med(loaded, 'p50'):.2f} / {med(loaded, 'p99'):.2f} ms | "
              f"{med(loaded, 'p99') - med(quiet, 'p99'):+.2f} ms | {each(quiet, 'p99', 2)} | "
              f"{each(loaded, 'p99', 2)} | "
              f"{max(r['max'] for r in quiet):.1f} / {max(r['max'] for r in loaded):.1f} ms | "
              f"{med(quiet, 'rps'):.0f} / {med(loaded, 'rps'):.0f} | "
              f"{sum(r['errors'] for r in quiet)} / {sum(r['errors'] for r in loaded)} |")


def report_front(front, rounds):
    print(f"\n(b) The front, wrk with {FRONT_CONNECTIONS} keep-alive connections, {rounds} rounds:\n")
    print("| meanwhile | front req/s | vs alone | front p50 / p99 | front req/s per round | front p99 per round | "
          "the load's req/s, p99 | errors front / load |")
    print("|---|---|---|---|---|---|---|---|")
    for name, _, _, pinned in FRONT_SCENARIOS:
        runs = front[name]
        alone = front["pinned, alone" if pinned else "alone"]
        loads = [r["load"] for r in runs if r["load"]]
        load_cell = f"{med(loads, 'rps'):.0f}, {med(loads, 'p99'):.2f} ms" if loads else "—"
        print(f"| {name} | {med(runs, 'rps'):.0f} | {med(runs, 'rps') / med(alone, 'rps'):.0%} | "
              f"{med(runs, 'p50'):.2f} / {med(runs, 'p99'):.2f} ms | {each(runs, 'rps', 0)} | {each(runs, 'p99', 1)} | "
              f"{load_cell} | "
              f"{sum(r['errors'] for r in runs)} / {sum(r['errors'] for r in loads)} |")
    print("\nWhere the CPU went meanwhile (share of one CPU, median of the rounds; the front's side is its thread, "
          "the app and its wrk):\n")
    keys = ["loop", "neighbour", "load wrk", "front", "app", "front wrk"]
    print("| meanwhile | supervisor loop | neighbour app | the load's wrk | front thread | app | front's wrk | "
          "CPU 0 / CPU 1 busy, every process | front requests per CPU-second of the front's side |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, *_ in FRONT_SCENARIOS:
        runs = front[name]

        def share(key):
            return statistics.median(r["cpu"][key] for r in runs)

        side = statistics.median(r["rps"] / sum(r["cpu"][k] for k in ("front", "app", "front wrk")) for r in runs)
        print(f"| {name} | " + " | ".join(f"{share(k):.0%}" for k in keys) +
              f" | {share('cpu0'):.0%} / {share('cpu1'):.0%} | {side:.0f} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    print(f"machine at start: {machine()}", file=sys.stderr)
    api, front, rss, loads, log = run(args)
    print(f"machine at end: {machine()}; the supervisor logged {log['lines']} lines, of which these were not "
          "one request's:", *log["other"], sep="\n", file=sys.stderr)
    print(f"Load average (1 min) at each round's start and at the end: {', '.join(f'{x:.1f}' for x in loads)}\n")
    print(f"Supervisor RSS: {rss['start'] / 1024:.1f} MiB before any request, {rss['loaded'] / 1024:.1f} MiB "
          f"with {IDLE + 1:,} API connections open\n")
    report_api(api, args.rounds)
    report_front(front, args.rounds)


if __name__ == "__main__":
    main()
