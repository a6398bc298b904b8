import pytest

from harness import Supervisor


@pytest.fixture
def supervisor(tmp_path):
    """A factory: supervisor(app={...}, restart={...}) → a started Supervisor, stopped after the test."""
    started = []

    def make(start=True, **kwargs):
        s = Supervisor(tmp_path / f"s{len(started)}", **kwargs)
        started.append(s)
        return s.start() if start else s

    yield make
    for s in started:
        s.close()
        s.kill_leftover_app()
