"""A run's container: name, command, env, mounts, GPUs, and the tars in and out, pinned."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from amlexec.targets.docker.container import (
    ChunkReader,
    container_name,
    create_kwargs,
    extract_tree,
    host_config_kwargs,
    plan_container,
    write_run_tar,
)


def plan(**overrides):
    values = dict(run_id="proj_1700000000000", image="sha256:img", python="/opt/amlexec/env/bin/python",
                  argv=["train.py", "--epochs", "3"], env={"A": "1", "AZUREML_RUN_ID": "proj_1700000000000"},
                  labels={"amlexec": "1"}, workdir=Path("/w/run"), shared_volumes=False,
                  shared_dir=None, gpus=False)
    values.update(overrides)
    return plan_container(**values)


def test_default_run_copies_the_snapshot_and_sets_the_run_variables():
    p = plan()
    assert p.name == "proj_1700000000000" and p.copy_snapshot and p.binds == {}
    assert p.command == ["/opt/amlexec/env/bin/python", "train.py", "--epochs", "3"]
    assert p.environment == {"A": "1", "AZUREML_RUN_ID": "proj_1700000000000",
                             "AMLEXEC_OUTPUTS_DIR": "/azureml-run/outputs",
                             "AMLEXEC_METRICS_FILE": "/opt/amlexec/run/metrics.jsonl",
                             "PYTHONPATH": "/opt/amlexec/runtime"}
    assert create_kwargs(p) == {
        "image": "sha256:img", "command": p.command, "name": p.name, "environment": p.environment,
        "labels": {"amlexec": "1"}, "working_dir": "/azureml-run", "tty": False, "stdin_open": False,
    }
    assert host_config_kwargs(p) == {"binds": None, "init": True}


def test_user_pythonpath_comes_after_the_runtime():
    assert plan(env={"PYTHONPATH": "/x:/y"}).environment["PYTHONPATH"] == "/opt/amlexec/runtime:/x:/y"


def test_hostile_values_are_passed_as_data():
    hostile = "a \"b\" 'c' $HOME; `id` \\ \n ü"
    assert plan(env={"H": hostile}).environment["H"] == hostile


def test_shared_volumes_mount_the_snapshot_and_the_share():
    p = plan(shared_volumes=True, shared_dir=Path("/home/u/.azureml/share/proj"))
    assert not p.copy_snapshot
    assert p.binds == {"/w/run": {"bind": "/azureml-run", "mode": "rw"},
                       "/home/u/.azureml/share/proj": {"bind": "/azureml-share", "mode": "rw"}}
    assert p.environment["AZUREML_NATIVE_SHARE_DIRECTORY"] == "/azureml-share/"


def test_host_folders_mount_the_snapshot_runtime_and_state_instead_of_copying():
    from amlexec.image.localapi import LocalAPI
    from amlexec.targets.docker.container import HostFolders

    p = plan(host_folders=HostFolders(runtime=Path("/h/.amlexec/runtime/v1"), state=Path("/w/run.run")))
    assert not p.copy_snapshot and not p.copy_runtime
    assert p.binds == {"/w/run": {"bind": "/azureml-run", "mode": "rw"},
                       "/h/.amlexec/runtime/v1": {"bind": "/opt/amlexec/runtime", "mode": "ro"},
                       "/w/run.run": {"bind": "/opt/amlexec/run", "mode": "rw"}}
    assert "AZUREML_NATIVE_SHARE_DIRECTORY" not in p.environment  # the share still needs sharedVolumes
    # amlexec's local client sends them as Mounts: a folder with ':' in its name is fine there.
    config = LocalAPI.create_host_config(binds={"/p/a:b": {"bind": "/azureml-run", "mode": "rw"},
                                                "/r": {"bind": "/opt/amlexec/runtime", "mode": "ro"}}, init=True)
    assert config == {"Init": True, "Mounts": [
        {"Type": "bind", "Source": "/p/a:b", "Target": "/azureml-run", "ReadOnly": False},
        {"Type": "bind", "Source": "/r", "Target": "/opt/amlexec/runtime", "ReadOnly": True}]}


def test_no_share_without_a_shared_directory():
    p = plan(shared_volumes=True)
    assert "AZUREML_NATIVE_SHARE_DIRECTORY" not in p.environment and list(p.binds) == ["/w/run"]


def test_nvidia_docker_requests_every_gpu():
    (request,) = host_config_kwargs(plan(gpus=True))["device_requests"]
    assert request["Count"] == -1 and request["Capabilities"] == [["gpu"]] and request["Driver"] == ""


@pytest.mark.parametrize(("run_id", "name"), [
    ("IrisDemo_1504832281116", "IrisDemo_1504832281116"), ("my proj_1", "my-proj_1"),
    ("_x_1", "amlexec-x_1"), ("日本_1", "amlexec-1"),
])
def test_container_name(run_id, name):
    assert container_name(run_id) == name


def test_run_tar_holds_runtime_state_snapshot_and_outputs(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "train.py").write_text("print(1)\n")
    (tmp_path / "pkg" / "m.py").write_text("")
    out = io.BytesIO()
    write_run_tar(out, runtime={"amlexec/logging.py": b"L", "azureml/logging/__init__.py": b"A"}, snapshot=tmp_path)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert {"opt/amlexec/runtime/amlexec/logging.py", "opt/amlexec/runtime/azureml/logging/__init__.py",
            "opt/amlexec/run", "azureml-run/train.py", "azureml-run/pkg/m.py", "azureml-run/outputs"} <= set(members)
    assert members["opt/amlexec/runtime/azureml"].isdir()
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())
    assert members["azureml-run/outputs"].mode == 0o777


def test_run_tar_without_snapshot_when_mounted():
    out = io.BytesIO()
    write_run_tar(out, runtime={"amlexec/logging.py": b"L"}, snapshot=None)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert not any(n.startswith("azureml-run") for n in tar.getnames())


def archive(members: list[tuple[tarfile.TarInfo, bytes]]) -> list[bytes]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    raw = buf.getvalue()
    return [raw[i:i + 700] for i in range(0, len(raw), 700)]  # odd chunk sizes, as the engine sends


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_outputs_are_extracted_safely(tmp_path):
    chunks = archive([
        (member("outputs", tarfile.DIRTYPE), b""),
        (member("outputs/model.json"), b'{"a": 1}'),
        (member("outputs/sub/deep.txt"), b"deep"),
        (member("outputs/../../escape.txt"), b"x"),
        (member("outputs/link", tarfile.SYMTYPE, "/etc/passwd"), b""),
        (member("outputs/big.bin"), b"0" * 2048),
        (member("elsewhere.txt"), b"no"),
    ])
    warnings = extract_tree(ChunkReader(chunks), tmp_path / "dest", strip="outputs", max_file_bytes=1024)
    dest = tmp_path / "dest"
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "model.json", "sub/deep.txt"]
    assert (dest / "model.json").read_bytes() == b'{"a": 1}'
    assert not (tmp_path / "escape.txt").exists()
    assert len(warnings) == 3
    assert any("unsafe path" in w for w in warnings) and any("not a regular file" in w for w in warnings)
    assert any("big.bin" in w and "limit per file" in w for w in warnings)
