"""Runs the real agentron-supervisor binary on the fixture app, for the integration tests.

Waiting is always for an event with a bound: a log line from the supervisor (read with
select on its stderr pipe), a process exit (pidfd), or a condition re-checked whenever
the supervisor logs something, never a fixed sleep.
"""
import json
import os
import pwd
import re
import select
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

BIN = Path(os.environ.get("AGENTRON_BIN", Path(__file__).resolve().parents[2] / "build" / "bin"))
SUPERVISOR = BIN / "agentron-supervisor"
FIXTURE = BIN / "agentron-fixture"


def rss_kib(pid):
    """A process's resident memory (VmRSS), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def write_config(path, sections):
    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in keys.items()]
        lines.append("")
    path.write_text("\n".join(lines))


def pid_alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_pid_gone(pid, timeout):
    """Waits for a process (not necessarily our child) to exit, on its pidfd."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        deadline = time.monotonic() + timeout
        while pid_alive(pid):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Readable at exit; a zombie is "exited" too, so re-check liveness.
            select.select([fd], [], [], remaining)
            if not pid_alive(pid):
                return True
            # The pidfd stays readable for a zombie awaiting its reaper: wait for the reap.
            select.select([], [], [], 0.01)
        return True
    finally:
        os.close(fd)


def poll_until(condition, timeout, what, interval=0.02):
    """For a condition with no event to wait on (a row count in someone else's DB):
    re-check every `interval` until true, failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        select.select([], [], [], interval)


def http_get(port, path, timeout=2):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read()


class Supervisor:
    """One agentron-supervisor process with its own config and data dir under tmp."""

    def __init__(self, tmp, app=None, restart=None, extra=None, env=None):
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.data_dir = self.tmp / "data"
        self.config = self.tmp / "agentron-supervisor.toml"
        app_keys = {
            "data_dir": str(self.data_dir),
            "release": str(BIN),
            "command": [str(FIXTURE)],
            "working_dir": "{data_dir}",
            "env": {"HOSTNAME": "127.0.0.1"},
            "port": self.port,
            "stop_timeout": "2s",
        }
        app_keys.update(app or {})
        self._state_dir = app_keys.get("state_dir")
        restart_keys = {"backoff_initial": "20ms", "backoff_max": "200ms"}
        restart_keys.update(restart or {})
        sections = {"app": app_keys, "restart": restart_keys}
        sections.update(extra or {})
        write_config(self.config, sections)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.preexec = None  # runs in the child before the supervisor is exec'd
        self.proc = None
        self.lines = []
        self._partial = b""

    @property
    def state_dir(self):
        """[app] state_dir, else <data_dir>/.supervisor (following data_dir if a test moves it)."""
        return Path(self._state_dir) if self._state_dir else self.data_dir / ".supervisor"

    # -- process ---------------------------------------------------------------
    def start(self, *extra_args):
        self.proc = subprocess.Popen(
            [str(SUPERVISOR), "run", "--config", str(self.config), *extra_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=self.env,
            preexec_fn=self.preexec)
        os.set_blocking(self.proc.stderr.fileno(), False)
        return self

    def signal(self, signo):
        self.proc.send_signal(signo)

    def wait_exit(self, timeout=10):
        code = self.proc.wait(timeout=timeout)
        # The rest of its log, up to EOF. An app's log helper may still hold the pipe
        # (it shares the supervisor's stderr), so stop at the first quiet moment.
        while self._read_available(0.2):
            pass
        return code

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            while self._read_available(0):
                pass

    def kill_leftover_app(self):
        """An app whose supervisor was SIGKILLed outlives it by design; a test that
        failed half-way must not leave it running."""
        record = self.state_dir / "current.json"
        try:
            pid = json.loads(record.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return
        if pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # -- logs ------------------------------------------------------------------
    def _read_available(self, timeout):
        """Reads what the supervisor logged; waits up to `timeout` for something new."""
        fd = self.proc.stderr.fileno()
        ready, _, _ = select.select([fd], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return False
        if not chunk:  # EOF: the supervisor exited
            if self._partial:
                self.lines.append(self._partial.decode(errors="replace"))
                self._partial = b""
            return None
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        self.lines += [line.decode(errors="replace") for line in complete]
        return True

    def wait_log(self, pattern, timeout=10, start=0):
        """Waits for a log line (from line index `start` on) matching `pattern`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        checked = start
        while True:
            for i in range(checked, len(self.lines)):
                m = regex.search(self.lines[i])
                if m:
                    return m
            checked = max(checked, len(self.lines))
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._read_available(remaining) is None and checked == len(self.lines):
                raise AssertionError(f"no log line matching {pattern!r} within {timeout}s; log:\n" + self.log())

    def wait_until(self, condition, timeout=10, what="condition"):
        """Re-checks `condition` each time the supervisor logs, and at least every 50 ms."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{what} not reached within {timeout}s; log:\n" + self.log())
            self._read_available(min(remaining, 0.05))

    def log(self):
        return "\n".join(self.lines)

    def started_pid(self, start=0):
        """Waits for the next "instance ... started, pid N" line; returns (pid, line index)."""
        m = self.wait_log(r"instance (\S+) started, pid (\d+)", start=start)
        index = next(i for i in range(start, len(self.lines)) if m.group(0) in self.lines[i])
        return int(m.group(2)), index + 1

    # -- CLI -------------------------------------------------------------------
    def cli(self, *args, timeout=10):
        return subprocess.run([str(SUPERVISOR), *args], capture_output=True, text=True, timeout=timeout,
                              env=self.env)

    def status(self):
        r = self.cli("status", "--json", "--state-dir", str(self.state_dir))
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def wait_serving(self, expect_pid=None, timeout=10):
        """Waits until the fixture answers /api/setup/status (from `expect_pid`, if given)."""
        def serving():
            try:
                status, _ = http_get(self.port, "/api/setup/status", timeout=1)
                _, body = http_get(self.port, "/api/fixture/info", timeout=1)
            except OSError:
                return None
            info = json.loads(body)
            if status == 200 and (expect_pid is None or info["pid"] == expect_pid):
                return info
            return None
        return self.wait_until(serving, timeout, "the app serving")


def as_nobody(action):
    """Runs `action()` in a child process as nobody (no groups); its exit status says
    whether it returned. Needs root."""
    nobody = pwd.getpwnam("nobody")
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            action()
            os._exit(0)
        except BaseException:  # noqa: B036 — the child must never return into pytest
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0
