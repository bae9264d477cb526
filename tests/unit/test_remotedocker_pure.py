"""remotedocker pieces that need no host: registration, the run handle's saved state, error classification."""

from __future__ import annotations

from pathlib import Path

import pytest

from amlexec.config.compute import ComputeTarget
from amlexec.image.transfer import _split
from amlexec.project import Project
from amlexec.targets.base import target_for
from amlexec.targets.types import Capability
from amlexec.transport.ssh import SshSettings, is_connection_error


def test_the_remotedocker_type_is_registered_and_its_runs_outlive_amlexec(tmp_path: Path) -> None:
    (tmp_path / "aml_config").mkdir()
    compute = ComputeTarget(name="vm", path=None, type="remotedocker", address="10.0.0.4:2222", username="u")
    target = target_for(compute, Project(tmp_path))
    assert type(target).__name__ == "RemoteDockerTarget"
    assert target.independent_runs and target.kind.has(Capability.DETACHES_ON_INTERRUPT)
    assert target.settings().display == "u@[10.0.0.4]:2222"
    # A run stays on the host it started on, whatever the .compute file says later.
    moved = target.settings({"host": "10.0.0.9", "port": 22, "user": "v"})
    assert (moved.host, moved.port, moved.username) == ("10.0.0.9", 22, "v")


def test_run_handle_state_round_trips_without_connecting() -> None:
    from amlexec.targets.docker.remotedocker_run import RemoteDockerRun

    state = {"host": "10.0.0.4", "port": 2222, "user": "u", "run_id": "proj_1", "remote_dir": "/h/.amlexec/runs/p",
             "container": "proj_1", "container_id": "c0ffee", "run_dir": "/tmp/runs/proj_1", "keep": True}
    handle = RemoteDockerRun.restore(state, SshSettings(host="10.0.0.4", port=2222, username="u"))
    assert handle.state() == state
    assert handle.patient is False, "a restored handle asks once; it does not wait out a host that is away"


def test_an_engine_answer_is_never_taken_for_a_lost_connection() -> None:
    import docker.errors

    from amlexec.targets.docker.remotedocker_run import _EngineAnswer

    answer = docker.errors.NotFound("no such container")
    # The SDK's errors derive from OSError (through requests), which reads as "reconnect and retry".
    assert is_connection_error(answer)
    assert not is_connection_error(_EngineAnswer(answer))


@pytest.mark.parametrize(("ref", "split"), [
    ("amlexec/base:bookworm", ("amlexec/base", "bookworm")),
    ("python", ("python", "latest")),
    ("registry.local:5000/team/img", ("registry.local:5000/team/img", "latest")),
    ("registry.local:5000/team/img:1.2", ("registry.local:5000/team/img", "1.2")),
])
def test_image_references_split_into_repository_and_tag(ref: str, split: tuple[str, str]) -> None:
    assert _split(ref) == split
