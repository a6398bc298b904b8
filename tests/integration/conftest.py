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


@pytest.fixture
def handover_envs(tmp_path):
    """A factory: handover_envs(**HandoverEnv kwargs) → a HandoverEnv (not started),
    its supervisor and apps stopped after the test."""
    from handover_env import HandoverEnv
    made = []

    def make(**kwargs):
        e = HandoverEnv(tmp_path, **kwargs)
        made.append(e)
        return e

    yield make
    for e in made:
        e.supervisor.close()
        e.supervisor.kill_leftover_app()


@pytest.fixture
def tools_env(handover_envs):
    """A factory: tools_env(handover=, fork=, control=) → an agent_tools_env.ToolsEnv,
    [control] on a free port, started and verified."""
    from agent_tools_env import ToolsEnv

    def make(handover=None, fork=None, control=None, **kwargs):
        e = handover_envs(handover=handover, fork=fork,
                          control={"listen": "127.0.0.1:0", "header_timeout": "5s", **(control or {})}, **kwargs)
        return ToolsEnv(e)
    return make
