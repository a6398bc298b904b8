#!/usr/bin/env python3
"""Benchmarks of the backup engine (issue: backup engine). Prints a Markdown report;
bench/README.md holds the latest results and how they were taken.

Generates a data dir of about 1 GB — one SQLite DB of ~500 MB (4 KiB blobs) plus
5,000 files of 100 KiB — then times, in one run, on the same disk:
  * `cp -a` of the data dir, and `cp -a` followed by `sync` (our snapshot fsyncs
    every file, so the fair comparison includes the flush);
  * `sqlite3 <db> ".backup <copy>"` of the DB alone;
  * `agentron-supervisor backups create` (full: no previous snapshot);
  * the same after changing 1% of the files (incremental);
and reads each snapshot's peak RSS from wait4(). Each measurement starts with the
page cache dropped (echo 3 > /proc/sys/vm/drop_caches) where that is allowed,
otherwise warm; the report says which.
"""
import argparse
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("AGENTRON_BIN", ROOT / "build" / "bin"))
SUPERVISOR = BIN / "agentron-supervisor"


def drop_caches():
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def timed(cmd, **kwargs):
    """Runs cmd; returns (seconds, peak RSS in KiB)."""
    began = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.monotonic() - began
    stderr = p.stderr.read().decode()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed: {stderr}")
    return elapsed, usage.ru_maxrss


def generate(data_dir, db_mb, files, file_kb):
    data_dir.mkdir(parents=True)
    rng = random.Random(1)
    db = sqlite3.connect(data_dir / "agentron.sqlite")
    db.execute("CREATE TABLE executions (id INTEGER PRIMARY KEY, payload BLOB)")
    rows = db_mb * 256  # 4 KiB each
    db.executemany("INSERT INTO executions (payload) VALUES (?)", ((rng.randbytes(4000),) for _ in range(rows)))
    db.commit()
    db.close()
    for i in range(files):
        d = data_dir / "files" / f"{i % 50:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"file{i:05d}.bin").write_bytes(rng.randbytes(file_kb * 1024))


def tree_bytes(path):
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def snapshot(config):
    return timed([str(SUPERVISOR), "backups", "create", "--config", str(config)])


def run(work, db_mb, files, file_kb):
    data = work / "data"
    generate(data, db_mb, files, file_kb)
    size = tree_bytes(data)
    config = work / "bench.toml"
    config.write_text(f'[app]\ndata_dir = "{data}"\ncommand = ["true"]\n[backup]\ndir = "{work / "backups"}"\n')
    results = {"bytes": size}
    cold = drop_caches()
    results["cp"], _ = timed(["cp", "-a", str(data), str(work / "cp-copy")])
    shutil.rmtree(work / "cp-copy")
    drop_caches()
    results["cp_sync"], _ = timed(["sh", "-c", f'cp -a "{data}" "{work}/cp-copy" && sync'])
    shutil.rmtree(work / "cp-copy")
    drop_caches()
    results["sqlite_backup"], _ = timed(["sqlite3", str(data / "agentron.sqlite"), f".backup {work / 'copy.sqlite'}"])
    os.unlink(work / "copy.sqlite")
    drop_caches()
    results["full"], results["full_rss"] = snapshot(config)
    changed = sorted((data / "files").rglob("*.bin"))[:: 100]  # 1% of the files
    for f in changed:
        f.write_bytes(os.urandom(file_kb * 1024))
    drop_caches()
    results["incremental"], results["incremental_rss"] = snapshot(config)
    results["changed_files"] = len(changed)
    results["cold"] = cold
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db-mb", type=int, default=500)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--file-kb", type=int, default=100)
    parser.add_argument("--dir", default=None, help="where to generate (default: a temp dir under /var/tmp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir or "/var/tmp") as d:
        big = run(Path(d) / "big", args.db_mb, args.files, args.file_kb)
        shutil.rmtree(Path(d) / "big")
        small = run(Path(d) / "small", args.db_mb // 10, args.files // 10, args.file_kb)
    mb = big["bytes"] / 1e6
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"Measured {time.strftime('%Y-%m-%d')} on {platform.node()}: {os.cpu_count()} cores, {cpu}, kernel "
          f"{platform.release()}; page cache {'dropped before each step' if big['cold'] else 'warm (cannot drop here)'}.")
    print(f"Data dir: {mb:.0f} MB = one SQLite DB of {args.db_mb} MB + {args.files} files of {args.file_kb} KiB.\n")
    print("| step | time | throughput | peak RSS |")
    print("|---|---|---|---|")
    print(f"| `cp -a` | {big['cp']:.2f} s | {mb / big['cp']:.0f} MB/s | |")
    print(f"| `cp -a` + `sync` | {big['cp_sync']:.2f} s | {mb / big['cp_sync']:.0f} MB/s | |")
    print(f"| `sqlite3 .backup` (the DB alone) | {big['sqlite_backup']:.2f} s | {args.db_mb * 1.048576 / big['sqlite_backup']:.0f} MB/s | |")
    print(f"| snapshot, full | {big['full']:.2f} s | {mb / big['full']:.0f} MB/s | {big['full_rss'] / 1024:.1f} MiB |")
    print(f"| snapshot, incremental ({big['changed_files']} files = 1% changed) | {big['incremental']:.2f} s "
          f"({100 * big['incremental'] / big['full']:.1f}% of full) | | {big['incremental_rss'] / 1024:.1f} MiB |")
    print(f"| snapshot, full, of a data dir 10× smaller ({small['bytes'] / 1e6:.0f} MB) | {small['full']:.2f} s | "
          f"{small['bytes'] / 1e6 / small['full']:.0f} MB/s | {small['full_rss'] / 1024:.1f} MiB |")
    print(f"\nfull snapshot vs `cp -a`: {big['cp'] / big['full']:.2f}×; vs `cp -a` + `sync`: "
          f"{big['cp_sync'] / big['full']:.2f}× (target ≥ 0.8×)")


if __name__ == "__main__":
    main()
