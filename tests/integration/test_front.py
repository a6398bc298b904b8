"""The zero-downtime front ([proxy]): the public port stays with the supervisor and
connections follow the active instance — through a handover and a crash restart —
while a long-lived stream to the old instance keeps working until it is drained."""
import ctypes
import http.client
import json
import os
import random
import resource
import select
import signal
import socket
import threading
import time

import pytest

from handover_env import HandoverEnv
from harness import free_port, http_get, pid_alive, rss_kib


def free_range():
    """Two free ports next to each other, for instance_ports — below the ephemeral range,
    as an operator would choose them: no client connection (a bench leaves thousands in
    TIME_WAIT) holds them. Bound as the supervisor and the app bind them."""
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    for _ in range(50):
        p = random.randrange(max(1024, low - 12000), low - 2)
        with socket.socket() as a, socket.socket() as b:
            a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 1))
            except OSError:
                continue
        return p, p + 1
    raise AssertionError("no free port pair")


class Client(threading.Thread):
    """Sends GET /api/fixture/info through the front, one connection each, until stopped."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop_flag = threading.Event()
        self.ok = 0
        self.failures = []
        self.pids = set()

    def run(self):
        while not self.stop_flag.is_set():
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                c.request("GET", "/api/fixture/info")
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status != 200:
                    self.failures.append(f"status {r.status}")
                    continue
                self.pids.add(json.loads(body)["pid"])
                self.ok += 1
            except Exception as e:  # every failure counts, whatever it is
                self.failures.append(repr(e))

    def finish(self):
        self.stop_flag.set()
        self.join(15)


@pytest.fixture
def front_env(handover_envs):
    def make(**kwargs):
        first, last = free_range()
        listen = free_port()
        e = handover_envs(proxy={"listen": f"127.0.0.1:{listen}", "instance_ports": f"{first}-{last}",
                                 "drain_timeout": "1s", **kwargs.pop("proxy", {})}, **kwargs)
        e.listen = listen
        e.ports = (first, last)
        return e

    return make


def test_requests_through_the_front_never_fail_across_a_handover(front_env):
    e = front_env()
    s = e.supervisor.start()
    old_pid, _ = s.started_pid()
    s.wait_log(r"instance \S+ verified")
    client = Client(e.listen)
    client.start()
    s.wait_until(lambda: client.ok > 20, what="requests through the front")
    rid = e.request(e.commit())
    assert e.wait_outcome(rid)[0] == "done"
    new_pid = s.status()["pid"]
    s.wait_until(lambda: new_pid in client.pids and client.ok > 50, what="requests reaching the new instance")
    client.finish()
    assert client.failures == []
    assert old_pid in client.pids and new_pid in client.pids
    st = s.status()
    assert st["front"]["listen"] == f"127.0.0.1:{e.listen}"
    assert st["front"]["active_port"] == st["port"] and st["port"] in e.ports
    human = s.cli("status", "--data-dir", str(e.data_dir)).stdout
    assert f"front:       127.0.0.1:{e.listen} → port {st['port']}" in human
    assert f"handover:    {rid}: done" in human


def test_a_rolled_back_handover_switches_nothing(front_env):
    """The new release's instance gets ready but reports a corrupt database: it is never
    made active, and the old instance serves every request throughout."""
    e = front_env(health={"verification": "record"})
    e.write_release_files(e.initial, "export FIXTURE_SEED_AGENTS=3 FIXTURE_WRITE_VERIFICATION=1", "")
    s = e.supervisor.start()
    old_pid, _ = s.started_pid()
    s.wait_log(r"instance \S+ verified")
    old_port = s.status()["front"]["active_port"]
    client = Client(e.listen)
    client.start()
    s.wait_until(lambda: client.ok > 20, what="requests through the front")
    rid = e.request(e.commit(exports="export FIXTURE_WRITE_VERIFICATION=corrupt"))
    outcome, detail = e.wait_outcome(rid)
    assert outcome == "rolled_back" and "integrity check failed" in detail
    served = client.ok
    s.wait_until(lambda: client.ok > served + 20, what="requests after the rollback")
    client.finish()
    assert client.failures == []
    assert client.pids == {old_pid}
    front = s.status()["front"]
    assert front["active_port"] == old_port and front["refused"] == 0


def test_a_stream_to_the_old_instance_lasts_until_it_is_drained(front_env):
    e = front_env(proxy={"drain_timeout": "2s"})
    s = e.supervisor.start()
    old_pid, _ = s.started_pid()
    s.wait_log(r"instance \S+ verified")
    stream = socket.create_connection(("127.0.0.1", e.listen), timeout=10)
    stream.sendall(b"GET /api/fixture/stream HTTP/1.1\r\nHost: x\r\n\r\n")
    reader = stream.makefile("rb")
    assert reader.readline().startswith(b"HTTP/1.1 200")
    rid = e.request(e.commit())
    s.wait_log(rf"request {rid}: stopping_old")
    # Switched: new connections go to the new instance, the stream still flows from the old one.
    ticks_after_switch = 0
    while True:
        line = reader.readline()
        if not line:
            break  # drained: closed by the front after drain_timeout
        if line.startswith(b"tick") and f"pid {old_pid}".encode() in line:
            ticks_after_switch += 1
    assert ticks_after_switch >= 10  # ~2 s of ticks at one per 50 ms
    assert e.wait_outcome(rid)[0] == "done"
    assert not pid_alive(old_pid)


def test_connections_wait_for_a_ready_instance_instead_of_being_refused(front_env):
    e = front_env(initial_exports="export FIXTURE_SEED_AGENTS=3 FIXTURE_SLOW_START=1s")
    s = e.supervisor.start()
    first, _ = s.started_pid()
    # Not ready yet (it sleeps 1 s before it listens): the front holds the connection.
    c = http.client.HTTPConnection("127.0.0.1", e.listen, timeout=10)
    c.request("GET", "/api/fixture/info")
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())["pid"] == first
    # A crash: while it restarts, requests wait for the next instance.
    client = Client(e.listen)
    client.start()
    s.wait_until(lambda: client.ok > 5, what="requests")
    os.killpg(first, signal.SIGKILL)
    second, _ = s.started_pid(s.lines.index(next(l for l in s.lines if f"pid {first}" in l)) + 1)
    s.wait_until(lambda: second in client.pids, timeout=20, what="requests served by the restarted instance")
    client.finish()
    # Requests sent while no instance ran waited; the one in flight at the kill (a GET,
    # not yet answered) was sent again to the new instance: nothing failed.
    assert client.failures == []


def test_a_taken_listen_address_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        first, last = free_range()
        e = HandoverEnv(tmp_path, proxy={"listen": f"127.0.0.1:{port}", "instance_ports": f"{first}-{last}"})
        s = e.supervisor.start()
        assert s.wait_exit() == 1
        assert f"[proxy] listen 127.0.0.1:{port} is already in use by another program" in s.log()


def thread_nices(pid):
    """{thread id: nice value} of every thread of pid."""
    nices = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        nices[int(task)] = int(fields[16])  # field 19 of stat; fields[0] is field 3
    return nices


def test_the_front_thread_alone_takes_its_priority(front_env):
    # A lower priority (nice 5) is allowed to anyone: the per-thread claim can be
    # checked without privileges.
    e = front_env(proxy={"nice": 5})
    s = e.supervisor.start()
    app, _ = s.started_pid()
    s.wait_until(lambda: s.status()["front"].get("thread_priority") == "nice 5", what="the front's priority")
    nices = thread_nices(s.proc.pid)
    assert sorted(nices.values()).count(5) == 1, nices  # the front's thread
    assert nices[s.proc.pid] == 0  # the supervisor's loop
    assert all(n == 0 for n in thread_nices(app).values())  # the app keeps its own
    c = http.client.HTTPConnection("127.0.0.1", e.listen, timeout=10)
    c.request("GET", "/api/fixture/info")
    assert c.getresponse().status == 200


CAP_SYS_NICE = 23
PR_CAPBSET_DROP = 24


def drop_cap_sys_nice():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
    resource.setrlimit(resource.RLIMIT_NICE, (0, 0))


@pytest.mark.skipif(os.geteuid() != 0, reason="checks a refusal by taking CAP_SYS_NICE away from root")
def test_a_refused_priority_is_said_and_the_front_still_works(front_env):
    e = front_env(proxy={"nice": -5})
    e.supervisor.preexec = drop_cap_sys_nice
    s = e.supervisor.start()
    s.wait_log(r"front: its thread runs at normal priority: nice -5 needs CAP_SYS_NICE")
    s.wait_log(r"instance \S+ ready")
    assert "refused" in s.status()["front"]["thread_priority"]
    assert all(n == 0 for n in thread_nices(s.proc.pid).values())
    c = http.client.HTTPConnection("127.0.0.1", e.listen, timeout=10)
    c.request("GET", "/api/fixture/info")
    assert c.getresponse().status == 200


def ok_through(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/api/fixture/info")
        return c.getresponse().status == 200
    except OSError:
        return False


def test_the_front_leaves_descriptors_for_the_supervisor_and_resumes(front_env):
    e = front_env()
    # 64 descriptors: of those not yet open at start, half kept for the supervisor and
    # two per forwarded connection.
    e.supervisor.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    s = e.supervisor.start()
    s.wait_log(r"instance \S+ ready")
    clients = [socket.create_connection(("127.0.0.1", e.listen), timeout=10) for _ in range(60)]
    try:
        most = int(s.wait_log(r"front: (\d+) connections open, the most the open-files limit leaves").group(1))
        # The supervisor still answers (its control socket has descriptors left), the
        # front's connections all reached the instance, the rest wait in the backlog.
        front = s.status()["front"]
        assert front["max_connections"] == most and 4 <= most < 16
        assert sum(front["connections"].values()) == most and front["waiting"] == 0
        assert front["accept_errors"] == 0
    finally:
        for c in clients:
            c.close()
    # Room again: the clients' closes are passed on (they sent nothing: nothing is
    # sent again), the front accepts and forwards again.
    s.wait_until(lambda: ok_through(e.listen), what="a request through the front")


def test_a_get_the_instance_keeps_closing_unanswered_is_given_up_after_three_replays(front_env):
    e = front_env()
    s = e.supervisor.start()
    s.wait_log(r"instance \S+ ready")
    c = http.client.HTTPConnection("127.0.0.1", e.listen, timeout=10)
    c.request("GET", "/api/fixture/hang-up")
    # The instance is alive and closes this GET every time: not a crash to ride out.
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        c.getresponse()
    _, body = http_get(s.status()["port"], "/api/fixture/info")
    assert json.loads(body)["hang_ups"] == 4  # the request and three replays
    assert ok_through(e.listen)


def upgrade_to_echo(port):
    """A connection through the front, upgraded (101) to the fixture's echo."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /api/fixture/echo HTTP/1.1\r\nHost: front\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, f"closed before the 101: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 ") and head.endswith(b"\r\n\r\n")
    return sock


def test_bytes_pass_both_ways_unchanged_and_so_do_the_ends_of_sending(front_env):
    """As a WebSocket's upgraded connection: 8 MiB — 128 times the front's buffer — echoed
    byte for byte while it is still being sent; the client's FIN reaches the app, and the
    app's FIN comes back as the end of what the client reads (half-close, both ways)."""
    e = front_env()
    s = e.supervisor.start()
    s.wait_log(r"instance \S+ ready")
    sock = upgrade_to_echo(e.listen)
    data = os.urandom(8 << 20)

    def send_all_then_end():
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send_all_then_end)
    sender.start()
    got = bytearray()
    while chunk := sock.recv(1 << 20):
        got += chunk
    sender.join(10)
    sock.close()
    assert len(got) == len(data) and got == data
    s.wait_until(lambda: sum(s.status()["front"]["connections"].values()) == 0, what="the connection closed")


def test_a_client_that_does_not_read_holds_the_writer_back_and_memory_stays_bounded(front_env):
    """The client sends to the echo and reads nothing: the echo's answers fill the way
    back, the echo stops reading, and the stall reaches the client as a full send buffer.
    Unbounded buffering anywhere on the way — in the front above all — would let the
    client send on (up to 1 GiB here) and the supervisor's memory grow."""
    e = front_env()
    s = e.supervisor.start()
    s.wait_log(r"instance \S+ ready")
    sock = upgrade_to_echo(e.listen)
    rss_before = rss_kib(s.proc.pid)
    sock.setblocking(False)
    block = b"x" * (1 << 16)
    sent = 0
    while sent < 1 << 30:
        try:
            sent += sock.send(block)
        except BlockingIOError:
            # Stalled: no room within a second (only a bug lets it go on past the bound).
            if not select.select([], [sock], [], 1.0)[1]:
                break
    # Bounded by the kernel's socket buffers on the way (a few MiB each) and the front's
    # two 64 KiB buffers; the supervisor holds none of it beyond those.
    assert sent < 128 << 20, f"{sent} bytes went in without anyone reading"
    assert rss_kib(s.proc.pid) - rss_before < 4096
    # Nothing was lost on the way: all of it comes back once the client reads.
    sock.setblocking(True)
    sock.settimeout(10)
    got = 0
    while got < sent:
        chunk = sock.recv(1 << 20)
        assert chunk and chunk.count(b"x") == len(chunk)
        got += len(chunk)
    sock.close()
    assert got == sent


@pytest.mark.skipif(os.environ.get("AGENTRON_SANITIZED") == "1",
                    reason="the sanitizers' runtime needs descriptors of its own (UBSan's vptr check opens a pipe)")
def test_the_front_rides_out_running_out_of_descriptors_and_accepts_again(front_env):
    """Another process — or the supervisor's own work — used the descriptors the reserve
    kept: accepting fails (EMFILE). The front retries every 100 ms instead of spinning on
    the error, and the client waiting in the listen backlog is served once there is room."""
    e = front_env()
    s = e.supervisor.start()
    s.wait_log(r"instance \S+ ready")
    pid = s.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    used = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
    lowest_free = next(fd for fd in range(len(used) + 1) if fd not in used)
    at = len(s.lines)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free, hard))  # no new descriptor at all
    try:
        client = http.client.HTTPConnection("127.0.0.1", e.listen, timeout=10)
        client.request("GET", "/api/fixture/info")  # the kernel takes it into the backlog
        s.wait_log(r"front: cannot accept connections: Too many open files \(1 time\(s\)\); trying again every 100ms",
                   start=at)
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    assert client.getresponse().status == 200
    assert s.status()["front"]["accept_errors"] >= 1


PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000


@pytest.mark.skipif(os.geteuid() != 0, reason="stops one thread of the supervisor with ptrace")
def test_status_answers_while_the_front_thread_is_stuck_and_the_supervisor_keeps_working(front_env):
    """The front's thread stops (ptrace stops that thread alone): asking it for its part
    does not hold up the supervisor's loop — status answers within its 1 s bound, saying
    the front did not answer — and once the thread runs again, so does the front."""
    e = front_env(proxy={"nice": 5})  # nice 5 tells the front's thread from the others
    s = e.supervisor.start()
    s.wait_log(r"instance \S+ ready")
    s.wait_until(lambda: s.status()["front"].get("thread_priority") == "nice 5", what="the front's priority")
    tid = next(t for t, n in thread_nices(s.proc.pid).items() if n == 5)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    assert libc.ptrace(PTRACE_SEIZE, tid, None, None) == 0, os.strerror(ctypes.get_errno())
    try:
        assert libc.ptrace(PTRACE_INTERRUPT, tid, None, None) == 0, os.strerror(ctypes.get_errno())
        os.waitpid(tid, WALL)  # it is stopped
        # Four at once: each waits its own second, not one after the other (4 s or more
        # if waiting for the front held up the supervisor's loop).
        answers = []
        askers = [threading.Thread(target=lambda: answers.append(s.status())) for _ in range(4)]
        began = time.monotonic()
        for a in askers:
            a.start()
        for a in askers:
            a.join(10)
        took = time.monotonic() - began
        assert len(answers) == 4 and took < 3.5, took
        for st in answers:
            assert st["front"]["error"] == "the front's thread did not answer within 1s"
            assert st["state"] == "ready"  # the rest of the status is there
    finally:
        libc.ptrace(PTRACE_DETACH, tid, None, None)
    s.wait_until(lambda: "error" not in s.status()["front"], what="the front answering again")
    assert ok_through(e.listen)
