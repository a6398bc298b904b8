"""What an idle supervisor holds (bench/README.md, idle cost): with the default config
only its loop's thread, and none of the libraries that only some paths use — libcrypto
is loaded by the first snapshot's hash, libgit2 and libcurl never (agentron-fork's)."""
import os


def mapped_libraries(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {os.path.basename(fields[5]) for fields in map(str.split, f) if len(fields) > 5 and ".so" in fields[5]}


def test_an_idle_supervisor_has_one_thread_and_no_libcrypto(supervisor):
    s = supervisor()
    pid, _ = s.started_pid()
    s.wait_serving(expect_pid=pid)
    assert os.listdir(f"/proc/{s.proc.pid}/task") == [str(s.proc.pid)], "a thread started before anything needs it"
    libraries = mapped_libraries(s.proc.pid)
    assert any(lib.startswith("libsqlite3") for lib in libraries), libraries  # the maps were read
    assert not [lib for lib in libraries if lib.startswith(("libcrypto", "libssl", "libgit2", "libcurl"))], libraries
