"""Writing a project's target and run configuration files: attach, detach, create, delete, secure."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import credentials
from .config import environ
from .config.compute import ComputeTarget, address_problem, render_compute
from .config.names import NAME_LIMIT, name_problem
from .config.runconfig import DEFAULT_CONDA_FILE, DEFAULT_SPARK_FILE, FRAMEWORKS, RunConfig, render_runconfig
from .config.schema import to_mapping
from .config.yamlio import did_you_mean, update_yaml_file
from .errors import AmlexecError, NotFoundError, UsageError
from .fsutil import atomic_write, atomic_write_many
from .project import Project
from .targets import registry
from .targets.types import Capability, TargetType


@dataclass(frozen=True)
class AttachRequest:
    kind: str
    name: str
    address: str | None = None
    username: str | None = None
    password: str | None = None
    private_key_file: str | None = None
    private_key_passphrase: str | None = None
    use_azureml_ssh_key: bool = False
    base_image: str | None = None
    python_location: str | None = None
    force: bool = False
    check: bool = True  # SSH types: connect once to check the host (--no-check skips it)
    accept_host_key: bool = False  # SSH types: trust the host's key on first use (explicit)
    # The values of options only one type has (an AttachOption with `key` and no `writes`), by param name:
    # they are written into the .compute file as that key, so a new type needs no field here.
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AttachResult:
    compute: ComputeTarget
    runconfig: RunConfig
    notes: list[str]


def check_name(name: str, what: str) -> None:
    problem = name_problem(name or "", new=True)
    if problem is None:
        return
    if problem == "is not a valid name":
        raise UsageError(f"'{name}' is not a valid {what} name",
                         hint="start with a letter or digit; then letters, digits, '.', '-' and '_'")
    raise UsageError(f"{what} name '{name[:37]}...' {problem}", hint=f"choose a name of at most {NAME_LIMIT} "
                     "characters: it becomes a file name in aml_config/")


def _refuse_existing(project: Project, paths: list[Path], force: bool, what: str) -> None:
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise UsageError(f"{what} already exists ({', '.join(project.display(p) for p in existing)})",
                         hint="pass --force to replace it")


def attach(project: Project, req: AttachRequest) -> AttachResult:
    kinds = registry.names()
    if req.kind not in kinds:
        raise UsageError(f"unknown target type '{req.kind}'{did_you_mean(req.kind, kinds)}",
                         hint=f"use one of: {', '.join(kinds)}")
    check_name(req.name, "target")
    compute_path, rc_path = project.compute_path(req.name), project.runconfig_path(req.name)
    _refuse_existing(project, [compute_path, rc_path], req.force, f"target '{req.name}'")
    notes: list[str] = []
    stored: list[str] = []  # secrets put in the store by this attach: removed again if it fails
    try:
        compute, rc = _write_target(project, req, notes, stored)
    except BaseException:
        for reference in stored:
            with contextlib.suppress(AmlexecError, OSError):  # the failure that got us here says more
                credentials.delete_secret(reference)
        raise
    return AttachResult(compute, rc, notes)


def _write_target(project: Project, req: AttachRequest, notes: list[str],
                  stored: list[str]) -> tuple[ComputeTarget, RunConfig]:
    compute_path, rc_path = project.compute_path(req.name), project.runconfig_path(req.name)
    kind = _kind(req.kind)
    given = dataclasses.asdict(req)
    values: dict[str, Any] = {"name": req.name, "path": compute_path, "type": kind.name, "raw_type": kind.name,
                              **kind.compute_values}
    extra: dict[str, Any] = {}
    for option in kind.attach_options:  # what the type's own options write into the .compute file
        if option.writes is not None:
            values[option.writes] = given.get(option.param) or option.default
        elif option.key is not None and option.param not in given:  # one only this type has
            chosen = req.settings.get(option.param)  # the CLI passes an option left out as None
            if chosen is None:
                chosen = option.default
            if chosen is not None and chosen != []:  # a repeatable option given no time: nothing to write
                extra[option.key] = chosen
    if extra:
        values["extra"] = extra
    if kind.over_ssh:
        values.update(_ssh_values(req, kind, notes, stored))
    compute = ComputeTarget(**values)
    if kind.over_ssh and req.check:
        from .targets.ssh.check import check_target

        notes.extend(check_target(compute, accept_host_key=req.accept_host_key))
    rc = RunConfig(name=req.name, path=rc_path, target=req.name, framework=kind.default_framework,
                   prepare_environment=kind.has(Capability.PREPARES_ENVIRONMENT))
    old = _secret_references(project, req.name)
    atomic_write_many({compute_path: render_compute(compute), rc_path: render_runconfig(rc)})
    for reference in old - {compute.password, compute.private_key_passphrase}:
        credentials.delete_secret(reference)
    return compute, rc


def _kind(name: str) -> TargetType:
    kind = registry.find(name)
    assert kind is not None, name  # attach checked the name; a .compute file's type was checked at load
    return kind


def _ssh_values(req: AttachRequest, kind: TargetType, notes: list[str], stored: list[str]) -> dict[str, Any]:
    if not req.address:
        raise UsageError(f"attach {req.kind} needs the host's address", hint="pass -a HOST or -a HOST:PORT")
    problem = address_problem(req.address)
    if problem is not None:
        raise UsageError(f"-a/--address: {problem}", hint="pass -a HOST, -a HOST:PORT or -a [IPv6]:PORT, with a "
                         "port in 1-65535")
    username = req.username or kind.default_username
    if not username:
        raise UsageError(f"attach {req.kind} needs a user name", hint="pass -u USER")
    note = kind.attach_note(req.address) if kind.attach_note is not None else None
    if note:
        notes.append(note)
    chosen = [bool(req.password), bool(req.private_key_file), req.use_azureml_ssh_key]
    if sum(chosen) > 1:
        raise UsageError("choose one way to authenticate: a password, a private key file, or the amlexec key",
                         hint="pass only one of -w/--password, --private-key-file, -k")
    values: dict[str, Any] = {"address": req.address, "username": username}
    values.update(_secret_values(req, username, notes, stored))
    return values


def _secret_values(req: AttachRequest, username: str, notes: list[str], stored: list[str]) -> dict[str, Any]:
    """The password and key settings of an SSH target; secrets go to the credentials store."""
    values: dict[str, Any] = {}
    if req.password:
        reference = credentials.make_reference(req.name, username)
        stored.append(reference)
        credentials.store_secret(reference, req.password)
        values["password"] = reference
    key_file = req.private_key_file
    if req.use_azureml_ssh_key:
        from .sshkeys import ensure_amlexec_key

        key_path, public = ensure_amlexec_key()
        key_file = str(key_path)
        notes.append(f"append this public key to ~/.ssh/authorized_keys of {username}@{req.address}:\n{public}")
    if key_file:
        path = Path(os.path.expanduser(key_file)).resolve()
        if not path.is_file():
            raise NotFoundError(f"private key file {key_file} does not exist",
                                hint="pass the path of an existing key file, or -k for amlexec's own key")
        values["private_key_file"] = str(path)
        if req.private_key_passphrase:
            reference = credentials.make_reference(req.name, username)
            stored.append(reference)
            credentials.store_secret(reference, req.private_key_passphrase)
            values["private_key_passphrase"] = reference
    elif req.private_key_passphrase:
        raise UsageError("--private-key-passphrase needs --private-key-file",
                         hint="add --private-key-file KEY, or drop --private-key-passphrase")
    return values


def _secret_references(project: Project, name: str) -> set[str]:
    path = project.compute_path(name)
    if not path.is_file():
        return set()
    try:
        compute = project.load_compute(name)
    except Exception:
        return set()
    return {v for v in (compute.password, compute.private_key_passphrase)
            if v and v.startswith(credentials.SECRET_PREFIX)}


def detach(project: Project, name: str) -> list[str]:
    """Remove `<name>.compute` (and `<name>.runconfig` when it targets it); notes about what remains."""
    compute = project.load_compute(name)
    references = _secret_references(project, name)
    removed = [compute.path]
    rc_path = project.runconfig_path(name)
    notes: list[str] = []
    if rc_path.is_file() and project.load_runconfig(name).target_name == name:
        removed.append(rc_path)
    for other in project.runconfig_names():
        if other != name and project.load_runconfig(other).target_name == name:
            notes.append(f"run configuration '{other}' still names target '{name}'")
    for path in removed:
        if path is not None:
            path.unlink()
    for reference in references:
        credentials.delete_secret(reference)
    return notes


def secure(project: Project, name: str) -> bool:
    """Move a clear-text password out of `<name>.compute` into the credentials store."""
    compute = project.load_compute(name)
    changes: dict[str, str] = {}
    try:
        for key, value in (("password", compute.password),
                           ("privateKeyPassphrase", compute.private_key_passphrase)):
            if value and not value.startswith(credentials.SECRET_PREFIX):
                reference = credentials.make_reference(name, compute.username)
                changes[key] = reference
                credentials.store_secret(reference, value)
        if changes and compute.path is not None:
            update_yaml_file(compute.path, changes)
    except BaseException:
        for reference in changes.values():  # the file still holds the clear text: no reference points here
            with contextlib.suppress(AmlexecError, OSError):
                credentials.delete_secret(reference)
        raise
    return bool(changes)


def compute_info(compute: ComputeTarget) -> dict[str, Any]:
    info = {"name": compute.name, **to_mapping(compute)}
    info["type"] = compute.raw_type or compute.type
    for key in ("password", "privateKeyPassphrase"):
        value = info.get(key)
        if value and not str(value).startswith(credentials.SECRET_PREFIX):
            info[key] = "******** (clear text: run `amlexec computetarget secure " + compute.name + "`)"
    return {k: v for k, v in info.items() if v is not None}


def target_status(compute: ComputeTarget) -> dict[str, Any]:
    """`computetarget show NAME --status`: the target's settings and its own account of its state, from its
    type's descriptor (`TargetType.status`); a type without one has nothing more to say."""
    kind = _kind(compute.type)
    status = kind.load_status()
    if status is None:
        able = [k.name for k in registry.TYPES if k.status]
        raise UsageError(f"'{compute.name}' is a {kind.name} target, which has no state to show beyond its settings",
                         hint=f"--status works on {', '.join(able) or 'no'} targets; leave it out to see the settings")
    return {**compute_info(compute), "status": status(compute)}


def create_runconfig(project: Project, *, name: str, target: str, framework: str | None = None,
                     env: dict[str, str] | None = None, conda_file: str | None = None,
                     spark_file: str | None = None, force: bool = False) -> RunConfig:
    check_name(name, "run configuration")
    for variable, value in (env or {}).items():
        problem = environ.name_problem(variable) or environ.value_problem(variable, value)
        if problem is not None:
            raise UsageError(f"--env: {problem}", hint=environ.NAME_HINT if environ.name_problem(variable)
                             else environ.VALUE_HINT)
    compute = project.load_compute(target)
    path = project.runconfig_path(name)
    _refuse_existing(project, [path], force, f"run configuration '{name}'")
    if framework is not None and framework.lower() not in FRAMEWORKS:
        raise UsageError(f"unknown framework '{framework}'{did_you_mean(framework, FRAMEWORKS.values())}",
                         hint="use Python or PySpark")
    kind = _kind(compute.type)
    chosen = FRAMEWORKS[framework.lower()] if framework else kind.default_framework
    rc = RunConfig(name=name, path=path, target=target, framework=chosen, environment_variables=env or {},
                   conda_dependencies_file=conda_file or DEFAULT_CONDA_FILE,
                   spark_dependencies_file=spark_file or DEFAULT_SPARK_FILE,
                   prepare_environment=kind.has(Capability.PREPARES_ENVIRONMENT))
    atomic_write(path, render_runconfig(rc))
    return dataclasses.replace(rc)


def delete_runconfig(project: Project, name: str) -> None:
    rc = project.load_runconfig(name)
    if rc.path is not None:
        rc.path.unlink()

