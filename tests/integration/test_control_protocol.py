"""The control socket takes only well-formed requests: every method, with each field
missing, of the wrong type, or unknown, gets a clear error answer; nothing runs, the
supervisor stays up, and the app it supervises is untouched."""
import json
import os
import socket

import pytest

# Each method's fields: name → required.
METHODS = {
    "status": {},
    "verify": {},
    "stop": {"reason": False},
    "start": {"reason": False},
    "approve": {"id": True},
    "deny": {"id": True, "reason": False},
    "rollback": {"reason": False, "requested_by": False},
}
WRONG_VALUES = [5, 1.5, True, None, [], {"a": 1}]


def send_raw(data_dir, line):
    """One request line on the control socket; the parsed answer. The folder is reached
    through /proc/self/fd, as the supervisor does, so a long tmp path still fits."""
    folder = os.open(data_dir / ".supervisor", os.O_PATH)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(f"/proc/self/fd/{folder}/control.sock")
            s.sendall(line + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
    finally:
        os.close(folder)
    return json.loads(answer)


def valid_fields(method):
    return {name: "x" for name, required in METHODS[method].items() if required}


def bad_requests():
    """(description, request line, words the error must contain) for every method."""
    yield "not JSON", b"{method: status", ["not JSON"]
    yield "an array", b"[1,2]", ["JSON object", "array"]
    yield "no method", b"{}", ['"method"', "status, verify, stop"]
    yield "method a number", b'{"method":5}', ['"method"']
    yield "unknown method", b'{"method":"reboot"}', ['"reboot"', "status, verify, stop"]
    for method, fields in METHODS.items():
        base = {"method": method, **valid_fields(method)}
        for name, required in fields.items():
            if required:
                without = {k: v for k, v in base.items() if k != name}
                yield f"{method} without {name}", json.dumps(without).encode(), [f'missing field "{name}"']
            for value in WRONG_VALUES:
                request = dict(base, **{name: value})
                yield (f"{method} with {name}={value!r}", json.dumps(request).encode(),
                       [f'field "{name}" must be a string'])
        extra = dict(base, surprise="1")
        yield f"{method} with an unknown field", json.dumps(extra).encode(), ['unknown field "surprise"']


def test_every_malformed_control_request_is_answered_with_a_clear_error(supervisor):
    s = supervisor()
    pid, _ = s.started_pid()
    s.wait_serving(expect_pid=pid)
    cases = list(bad_requests())
    assert len(cases) > 50
    for what, line, words in cases:
        answer = send_raw(s.data_dir, line)
        assert answer["ok"] is False, what
        assert answer["error"]["code"] in ("bad_request", "unknown_method"), what
        for word in words:
            assert word in answer["error"]["message"], (what, answer)
        assert s.proc.poll() is None, f"the supervisor died on: {what}"
    # Nothing ran: the same instance serves, never stopped or restarted.
    st = s.status()
    assert st["state"] == "ready" and st["pid"] == pid and st["restart_count"] == 0
    s.wait_serving(expect_pid=pid)
    assert "critical" not in s.log() and "threw" not in s.log()
    s.wait_log(r'control: refused a request: start request: field "reason" must be a string, got a number')


def test_the_request_that_used_to_abort_the_supervisor_is_refused(supervisor):
    s = supervisor()
    pid, _ = s.started_pid()
    answer = send_raw(s.data_dir, b'{"method":"start","reason":5}')
    assert answer == {"ok": False, "error": {
        "code": "bad_request", "message": 'start request: field "reason" must be a string, got a number'}}
    assert s.proc.poll() is None
    assert s.status()["pid"] == pid


@pytest.mark.parametrize("method", sorted(METHODS))
def test_well_formed_requests_still_work(supervisor, method):
    """The same socket answers each method's well-formed request (not with bad_request)."""
    s = supervisor()
    pid, _ = s.started_pid()
    s.wait_serving(expect_pid=pid)
    answer = send_raw(s.data_dir, json.dumps({"method": method, **valid_fields(method)}).encode())
    if not answer["ok"]:
        # approve/deny of an unknown id, rollback without a previous release: refused by the supervisor, not the parser
        assert answer["error"]["code"] in ("no_such_request", "cannot_verify", "no_previous_release"), answer
    assert s.proc.poll() is None
