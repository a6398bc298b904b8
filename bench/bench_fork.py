#!/usr/bin/env python3
"""agentron-fork next to the git CLI (issue: agentron-fork). Prints a Markdown report.

Builds two repositories with git fast-import — Agentron's size (830 files, ~20 MB of
history) and ten times that (8,300 files, ~200 MB) — and for each, in one run:
clone, fetch + fast-forward after 20 new commits on the remote, commit of 10 changed
files, push of a new branch with that commit. Each tool works on its own copy of the
remote, so neither benefits from the other's work. Median of 3 runs.

Remotes are served by `git daemon` on loopback (the git protocol), so on the other end
of both tools is git's own upload-pack/receive-pack, as on a real server. Over
file:// libgit2 would build the pack itself, in-process (with a delta search), which
measures its local transport rather than the client.
"""
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORK = Path(os.environ.get("AGENTRON_BIN", ROOT / "build" / "bin")) / "agentron-fork"
ENV = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
       "GIT_COMMITTER_EMAIL": "b@b"}


def sh(*cmd, cwd=None, input=None):
    r = subprocess.run(cmd, cwd=cwd, env=ENV, input=input, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit(f"{cmd} failed: {r.stderr.decode(errors='replace')}")


def timed(*cmd, cwd=None):
    began = time.monotonic()
    sh(*cmd, cwd=cwd)
    return time.monotonic() - began


def generate(path, files, history_mb):
    """A bare repo: `files` files of ~2 KB text, then commits rewriting 5 files with
    20 KB of random (incompressible) text each until the history holds `history_mb`."""
    sh("git", "init", "-q", "--bare", "-b", "main", str(path))
    rng = random.Random(3)
    stream = []
    mark = 0

    def blob(data):
        nonlocal mark
        mark += 1
        stream.append(f"blob\nmark :{mark}\ndata {len(data)}\n".encode() + data + b"\n")
        return mark

    def commit(changes, n):
        body = b"".join(f"M 100644 :{m} {p}\n".encode() for p, m in changes)
        msg = f"commit {n}".encode()
        # Without a "from", fast-import continues the branch it is building.
        stream.append(b"commit refs/heads/main\ncommitter b <b@b> 1700000000 +0000\n" +
                      f"data {len(msg)}\n".encode() + msg + b"\n" + body + b"\n")

    names = [f"packages/p{i % 40:02d}/src/file{i:05d}.ts" for i in range(files)]
    commit([(n, blob(rng.randbytes(1500).hex().encode()[:2048])) for n in names], 0)
    commits = history_mb * 1024 // (5 * 20)
    for c in range(1, commits + 1):
        commit([(rng.choice(names), blob(rng.randbytes(10240).hex().encode())) for _ in range(5)], c)
    sh("git", "fast-import", "--quiet", cwd=path, input=b"".join(stream))
    sh("git", "gc", "-q", cwd=path)


def config_for(work, fork_url, upstream_url):
    path = work / "c.toml"
    path.write_text(f'[app]\ndata_dir = "{work}/data"\ncommand = ["true"]\n[fork]\nworkspace = "{work}/ws"\n'
                    f'fork_url = "{fork_url}"\nupstream_url = "{upstream_url}"\nbuild = ["true"]\n')
    return path


def add_remote_commits(remote, scratch, n):
    sh("git", "clone", "-q", remote, str(scratch))
    for i in range(n):
        (scratch / f"new{i}.txt").write_text(f"new {i}\n")
        sh("git", "add", ".", cwd=scratch)
        sh("git", "commit", "-qm", f"new {i}", cwd=scratch)
    sh("git", "push", "-q", "origin", "main", cwd=scratch)
    shutil.rmtree(scratch)


def one_run(tmp, repo, served, port):
    times = {}
    for tool in ("git", "agentron-fork"):
        work = tmp / tool
        work.mkdir()
        name = f"{tmp.name}-{tool}.git"
        shutil.copytree(repo, served / name)
        remote = f"git://127.0.0.1:{port}/{name}"
        ws = work / "ws"
        cfg = config_for(work, remote, f"git://127.0.0.1:{port}/{repo.name}")
        af = [str(FORK), "--config", str(cfg)]
        git = ["git", "-C", str(ws)]
        if tool == "git":
            times[("clone", tool)] = timed("git", "clone", "-q", remote, str(ws))
        else:
            times[("clone", tool)] = timed(*af, "clone-or-pull")
        add_remote_commits(remote, work / "scratch", 20)
        if tool == "git":
            times[("fetch + fast-forward", tool)] = timed(*git, "pull", "-q", "--ff-only")
        else:
            times[("fetch + fast-forward", tool)] = timed(*af, "clone-or-pull")
        files = sorted((ws / "packages").rglob("*.ts"))[:10]

        def change_files(mark):
            for f in files:
                f.write_text(f.read_text() + f"// {mark}\n")

        change_files("changed")
        if tool == "git":
            sh(*git, "checkout", "-q", "-b", "agent-improvement/bench")
            # `commit` stages every change, new files included: `git add -A` + `git commit`
            # is the same work. `git commit -a` skips the search for new files; shown too.
            times[("commit 10 files", tool)] = timed(*git, "add", "-A") + timed(*git, "commit", "-qm", "bench")
            change_files("changed again")
            times[("commit 10 files (vs git commit -a)", tool)] = timed(*git, "commit", "-qam", "bench")
            times[("push new branch", tool)] = timed(*git, "push", "-q", "origin", "agent-improvement/bench")
        else:
            sh(*af, "create-branch", "bench")
            times[("commit 10 files", tool)] = timed(*af, "commit", "-m", "bench")
            change_files("changed again")
            times[("commit 10 files (vs git commit -a)", tool)] = timed(*af, "commit", "-m", "bench")
            times[("push new branch", tool)] = timed(*af, "push")
    return times


def measure(tmp, files, history_mb, runs=3):
    served = tmp / "served"
    served.mkdir(exist_ok=True)
    repo = served / f"repo-{files}.git"
    generate(repo, files, history_mb)
    size = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file()) / 1e6
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
                               f"--base-path={served}", "--listen=127.0.0.1", f"--port={port}", str(served)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):  # until it listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        samples = {}
        for i in range(runs):
            run_dir = tmp / f"run-{files}-{i}"
            run_dir.mkdir()
            for key, t in one_run(run_dir, repo, served, port).items():
                samples.setdefault(key, []).append(t)
            shutil.rmtree(run_dir)
    finally:
        daemon.terminate()
        daemon.wait()
    return size, {k: statistics.median(v) for k, v in samples.items()}


def main():
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        tmp = Path(d)
        results = [(830, *measure(tmp, 830, 20)), (8300, *measure(tmp, 8300, 200))]
    print(f"Measured {time.strftime('%Y-%m-%d')}, median of 3 runs, remotes served by git daemon on loopback.\n")
    print("| repository | operation | git | agentron-fork | ratio |")
    print("|---|---|---|---|---|")
    for files, size, t in results:
        for op in ("clone", "fetch + fast-forward", "commit 10 files", "commit 10 files (vs git commit -a)",
                   "push new branch"):
            g, a = t[(op, "git")], t[(op, "agentron-fork")]
            print(f"| {files} files, {size:.0f} MB packed | {op} | {g * 1000:.0f} ms | {a * 1000:.0f} ms | {a / g:.2f}× |")


if __name__ == "__main__":
    main()
