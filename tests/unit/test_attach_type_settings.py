"""A new type's own attach options reach its .compute file with no field added outside its subpackage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from amlexec.configure import AttachRequest, attach
from amlexec.project import Project
from amlexec.targets import registry
from amlexec.targets.types import AttachOption

PARTITION = AttachOption("partition", ("--partition",), "The partition jobs go to.", key="partition")
NODES = AttachOption("node_count", ("--node-count",), "Nodes per job.", value=int, key="nodeCount", default=1)


@pytest.fixture
def batch_type(monkeypatch: pytest.MonkeyPatch) -> str:
    kind = dataclasses.replace(registry.LOCAL, name="batchtest", attach_options=(PARTITION, NODES))
    monkeypatch.setattr(registry, "names", lambda: [*(k.name for k in registry.TYPES), kind.name])
    monkeypatch.setattr(registry, "find", lambda name: kind if name == kind.name else None)
    return kind.name


def test_type_specific_options_are_written_as_their_keys(tmp_path: Path, batch_type: str) -> None:
    (tmp_path / "aml_config").mkdir()
    attach(Project(tmp_path), AttachRequest(kind=batch_type, name="hpc", settings={"partition": "gpu"}))
    text = (tmp_path / "aml_config" / "hpc.compute").read_text()
    assert "type: batchtest" in text
    assert "partition: gpu" in text
    assert "nodeCount: 1" in text  # left out on the command line: the option's default


def test_an_option_left_out_with_no_default_writes_nothing(tmp_path: Path, batch_type: str) -> None:
    (tmp_path / "aml_config").mkdir()
    attach(Project(tmp_path), AttachRequest(kind=batch_type, name="hpc"))
    assert "partition" not in (tmp_path / "aml_config" / "hpc.compute").read_text()
