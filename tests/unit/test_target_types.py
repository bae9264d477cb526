"""Every target type's descriptor drives the registry, `computetarget attach`, the host checks and the
capabilities its implementation has: a type added with one registration line gets all of them."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import pytest
import typer.main

from amlexec.cli.computetarget import attach_app
from amlexec.config.compute import TARGET_TYPES, parse_compute
from amlexec.configure import AttachRequest, attach
from amlexec.errors import ConfigError, UsageError
from amlexec.project import Project
from amlexec.targets import registry
from amlexec.targets.base import target_for
from amlexec.targets.types import Capability, TargetType

KINDS = registry.TYPES


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "aml_config").mkdir()
    return Project(tmp_path)
ids = [kind.name for kind in KINDS]


def test_the_registry_knows_every_spelling_and_nothing_else() -> None:
    assert registry.names() == ["local", "docker", "remotedocker", "remote", "cluster", "slurm"]
    assert dict(TARGET_TYPES) == {"local": "local", "docker": "docker", "localdocker": "docker",
                                  "remotedocker": "remotedocker", "remote": "remote", "cluster": "cluster",
                                  "slurm": "slurm"}
    assert registry.find("localdocker") is registry.find("docker")
    assert registry.find("pbs") is None
    with pytest.raises(ConfigError, match="'pbs' is not valid") as err:
        parse_compute("x", "type: pbs\n", display="x.compute")
    assert err.value.hint == f"use one of: {', '.join(sorted(registry.names()))}"


@pytest.mark.parametrize("kind", KINDS, ids=ids)
def test_a_compute_file_of_each_type_loads_as_it_and_gets_its_implementation(kind: TargetType,
                                                                              tmp_path: Path) -> None:
    (tmp_path / "aml_config").mkdir()
    for spelling in kind.spellings:
        compute = parse_compute("t", f"type: {spelling}\naddress: h\nusername: u\n", display="t.compute")
        assert compute.type == kind.name
        target = target_for(compute, Project(tmp_path))
        assert type(target).kind is kind, "the implementation names its own descriptor"


@pytest.mark.parametrize("kind", KINDS, ids=ids)
def test_each_type_has_an_attach_command_with_exactly_its_descriptors_options(kind: TargetType) -> None:
    group = typer.main.get_group(attach_app)
    command = group.commands[kind.name]
    assert command.help == kind.summary
    options = {param.name: param for param in command.params if param.param_type_name == "option"}
    assert list(options) == ["name", *(option.param for option in kind.attach_options), "output", "query"]
    for option in kind.attach_options:
        param = options[option.param]
        assert tuple(sorted(param.opts)) == tuple(sorted(option.flags)) and param.help == option.help
        assert param.is_flag == (option.value is bool) and param.required == option.required


@pytest.mark.parametrize("kind", KINDS, ids=ids)
def test_attach_writes_what_the_descriptor_says(kind: TargetType, project: Project, isolated_home: Path) -> None:
    result = attach(project, AttachRequest(kind=kind.name, name="t", address="10.0.0.4", username="u",
                                           check=False))
    compute = result.compute
    assert compute.type == kind.name
    for field, value in kind.compute_values.items():
        assert getattr(compute, field) == value
    for option in kind.attach_options:
        if option.writes is not None:
            assert getattr(compute, option.writes) == option.default
    assert (compute.address is not None) == kind.over_ssh
    assert result.runconfig.framework == kind.default_framework
    assert result.runconfig.prepare_environment == kind.has(Capability.PREPARES_ENVIRONMENT)


def test_attach_of_an_unknown_type_lists_the_registered_ones(project: Project) -> None:
    with pytest.raises(UsageError) as err:
        attach(project, AttachRequest(kind="pbs", name="t"))
    assert err.value.hint == "use one of: " + ", ".join(registry.names())


@pytest.mark.parametrize("kind", KINDS, ids=ids)
def test_ssh_types_and_only_they_have_a_host_check_that_loads(kind: TargetType) -> None:
    check = kind.load_host_check()
    assert (check is not None) == kind.over_ssh
    if check is not None:
        assert list(inspect.signature(check).parameters) == ["compute", "host"]


def _handle_class(target_class: type) -> type:
    return typing.get_type_hints(target_class.restore)["return"]


@pytest.mark.parametrize("kind", KINDS, ids=ids)
def test_declared_capabilities_are_what_the_implementation_has(kind: TargetType) -> None:
    cls = kind.load_implementation()
    assert callable(getattr(cls, "prepare", None)) == kind.has(Capability.PREPARES_ENVIRONMENT)
    assert callable(getattr(cls, "engine_for", None)) == kind.has(Capability.HAS_DOCKER_ENGINE)
    handle = _handle_class(cls)
    assert callable(getattr(handle, "reattach_stream", None)) == kind.has(Capability.CAN_REATTACH)
    if kind.has(Capability.DETACHES_ON_INTERRUPT) or kind.has(Capability.CAN_REATTACH):
        assert cls.independent_runs, "a run that goes on without amlexec must outlive it"
    if kind.has(Capability.BUILDS_FROM_CONDA_LOCKS):
        assert kind.has(Capability.PREPARES_ENVIRONMENT)


def test_messages_that_name_types_come_from_the_capabilities() -> None:
    assert registry.spoken(registry.with_capability(Capability.BUILDS_FROM_CONDA_LOCKS)) == "docker and remotedocker"
    assert registry.spoken(registry.with_capability(Capability.HAS_DOCKER_ENGINE, over_ssh=True), "or") == \
        "remotedocker"
