#!/usr/bin/env python3
"""Benchmarks of the supervisor core (issue: supervisor core). Writes a Markdown
report to stdout; bench/README.md holds the latest results and how they were taken.

1. Idle cost: the supervisor's RSS (and PSS, private dirty, threads), and its context
   switches over 10 s while one app instance runs and nothing happens (target: < 8 MB
   RSS, no periodic wake-ups).
2. Restart latency: from the app's death to the new instance's exec, over N crashes
   (target: median < 5 ms). The fixture appends "exit <ns>" just before _exit() and
   "start <ns>" first thing in main(), so each sample also includes the new process's
   dynamic loading: an upper bound on death→exec.
"""
import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("AGENTRON_BIN", ROOT / "build" / "bin"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from harness import Supervisor  # noqa: E402


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def smaps_rollup(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                fields[key] = int(value.split()[0])
    return fields


def idle_cost(tmp, seconds):
    s = Supervisor(tmp / "idle").start()
    try:
        pid, _ = s.started_pid()
        s.wait_serving(expect_pid=pid)
        before = proc_status(s.proc.pid)
        time.sleep(seconds)  # the measurement window itself: nothing may wake the supervisor
        after = proc_status(s.proc.pid)
        rollup = smaps_rollup(s.proc.pid)
        assert s.status()["pid"] == pid
        return {
            "rss_kb": int(after["VmRSS"].split()[0]),
            "pss_kb": rollup["Pss"],
            "private_dirty_kb": rollup["Private_Dirty"],
            "threads": int(after["Threads"]),
            "hwm_kb": int(after["VmHWM"].split()[0]),
            "voluntary": int(after["voluntary_ctxt_switches"]) - int(before["voluntary_ctxt_switches"]),
            "nonvoluntary": int(after["nonvoluntary_ctxt_switches"]) - int(before["nonvoluntary_ctxt_switches"]),
        }
    finally:
        s.close()


def restart_latency(tmp, crashes):
    timeline = tmp / "timeline.txt"
    s = Supervisor(tmp / "latency",
                   app={"env": {"FIXTURE_CRASH_AFTER": "20ms", "FIXTURE_TIMELINE_FILE": str(timeline)}},
                   restart={"backoff_initial": "0s", "backoff_max": "0s", "max_restarts": crashes + 10,
                            "restart_window": "1s"}).start()
    try:
        s.wait_log(rf"\(restart {crashes}\)", timeout=120)
        s.started_pid(start=len(s.lines) - 1)
    finally:
        s.close()
    events = [line.split() for line in timeline.read_text().splitlines()]
    samples = []
    for (kind, t, _), (next_kind, next_t, _) in zip(events, events[1:]):
        if kind == "exit" and next_kind == "start":
            samples.append((int(next_t) - int(t)) / 1e6)
    return samples[:crashes]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--crashes", type=int, default=200)
    args = parser.parse_args()
    # A binary just linked is dirty in the page cache, and its pages would count as the
    # supervisor's private dirty memory until written back.
    os.sync()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        idle = idle_cost(tmp, args.idle_seconds)
        samples = restart_latency(tmp, args.crashes)
    q = statistics.quantiles(samples, n=100)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"Measured {time.strftime('%Y-%m-%d')} on {platform.node()}: {os.cpu_count()} cores, {cpu}, "
          f"kernel {platform.release()}; build {BIN}.\n")
    print("| measure | result | target |")
    print("|---|---|---|")
    print(f"| supervisor RSS, idle, one app running | {idle['rss_kb'] / 1024:.1f} MiB (peak {idle['hwm_kb'] / 1024:.1f} MiB) | < 8 MB |")
    print(f"| of which PSS / private dirty | {idle['pss_kb'] / 1024:.1f} / {idle['private_dirty_kb'] / 1024:.1f} MiB | |")
    print(f"| threads, idle | {idle['threads']} | |")
    print(f"| context switches in {args.idle_seconds:g} s idle | {idle['voluntary']} voluntary, "
          f"{idle['nonvoluntary']} involuntary | 0 (no periodic wake-ups) |")
    print(f"| death → new instance exec, median of {len(samples)} | {statistics.median(samples):.2f} ms | < 5 ms |")
    print(f"| death → new instance exec, p90 / p99 / max | {q[89]:.2f} / {q[98]:.2f} / {max(samples):.2f} ms | |")


if __name__ == "__main__":
    main()
