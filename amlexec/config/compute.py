"""`aml_config/<target>.compute`: where a run executes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import schema
from .schema import BOOL, STR, key
from .yamlio import dump_mapping, key_line, read_text


class _TypeNames(Mapping[str, str]):
    """The `type` values a `.compute` file may hold -> the canonical type: read from the target types'
    descriptors (targets/registry.py) the first time a file is checked, so this module names no type.
    The import is lazy because config sits below targets; the registry imports only descriptors."""

    def _names(self) -> dict[str, str]:
        from ..targets.registry import type_names

        return type_names()

    def __getitem__(self, name: str) -> str:
        return self._names()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


TARGET_TYPES: Mapping[str, str] = _TypeNames()


def _own_keys(type_name: object) -> frozenset[str]:
    """The keys a target type's own attach options write (a slurm target's `partition`...), from its
    descriptor (imported lazily, as `_TypeNames` does)."""
    from ..targets.registry import own_keys

    return own_keys(type_name) if isinstance(type_name, str) else frozenset()
SECRET_PREFIX = "AzureMlSecret="
# A modern, widely available default for new projects (Workbench used microsoft/mmlspark:plus-*, long gone).
DEFAULT_BASE_IMAGE = "python:3.11-slim-bookworm"

# The order `computetarget attach` writes keys in: the sorted order Workbench's dumper produced.
KEY_ORDER = (
    "address",
    "baseDockerImage",
    "nativeSharedDirectory",
    "password",
    "privateKeyFile",
    "pythonLocation",
    "sharedVolumes",
    "type",
    "username",
)


@dataclass(frozen=True)
class ComputeTarget:
    """A `.compute` file: the target's type and settings; keys amlexec does not know are kept."""

    name: str
    path: Path | None
    type: str = key("type", STR, choices=TARGET_TYPES)
    raw_type: str = ""
    base_docker_image: str | None = key("baseDockerImage")
    address: str | None = key("address")
    username: str | None = key("username")
    password: str | None = key("password")
    private_key: str | None = key("privateKey")
    private_key_file: str | None = key("privateKeyFile")
    private_key_passphrase: str | None = key("privateKeyPassphrase")
    shared_volumes: bool = key("sharedVolumes", BOOL, default=False)
    nvidia_docker: bool = key("nvidiaDocker", BOOL, default=False)
    # amlexec's own key (docs/docker.md): build Docker environments with no network, from wheels the host
    # downloads. Overridden by `--offline/--online` and AMLEXEC_OFFLINE.
    offline_build: bool = key("offlineBuild", BOOL, default=False)
    native_shared_directory: str | None = key("nativeSharedDirectory")
    user_managed_environment: bool = key("userManagedEnvironment", BOOL, default=False)
    python_location: str | None = key("pythonLocation")
    spark_submit_location: str | None = key("sparkSubmitLocation")
    # amlexec's own cluster keys (docs/spark.md). sparkMaster: spark-submit's --master (default: the
    # cluster's own configuration); sparkMasterUI: a standalone master's web UI (default
    # http://<master host>:8080), for the run's UI address and for cancel; shipEnvironment: send the prepared
    # Python environment to the executors as an archive (false: they use its path on the head node).
    spark_master: str | None = key("sparkMaster")
    spark_master_ui: str | None = key("sparkMasterUI")
    ship_environment: bool = key("shipEnvironment", BOOL, default=True)
    yarn_deploy_mode: str | None = key("yarnDeployMode", STR, choices={"cluster": "cluster", "client": "client"})
    # Pre-GA preview flags (`az ml computecontext attach`), read so old files load; they change nothing.
    preview_cluster: bool | None = key("cluster", BOOL)
    preview_native: bool | None = key("native", BOOL)
    extra: dict[str, Any] = field(default_factory=dict)
    present: frozenset[str] = frozenset()  # keys the file spelled out, so rewrites keep explicit defaults

    @property
    def file_name(self) -> str:
        return f"{self.name}.compute"

    @property
    def host(self) -> str | None:
        return split_address(self.address)[0] if self.address else None

    @property
    def port(self) -> int:
        return split_address(self.address)[1] if self.address else 22

    @property
    def password_is_reference(self) -> bool:
        return bool(self.password) and str(self.password).startswith(SECRET_PREFIX)

    @property
    def has_cleartext_password(self) -> bool:
        return bool(self.password) and not self.password_is_reference


_PORT = re.compile(r"[0-9]{1,5}\Z")


def address_problem(address: str) -> str | None:
    """Why `address` is not `host`, `host:port` or `[v6]:port` with a port in 1-65535, or None."""
    try:
        split_address(address)
    except ValueError as exc:
        return str(exc)
    return None


def split_address(address: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address into (host, port); port 22 by default.

    Raises ValueError (its text says why) for an empty host, or a port that is not a number in 1-65535.
    """
    text = address.strip()
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"'{address}' is not [IPv6 address] or [IPv6 address]:PORT")
        port = _port(rest[1:], address) if rest else 22
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, address)
    else:
        host, port = text, 22  # a name, an IPv4 address, or a bare IPv6 address (two colons or more)
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"'{address}' has no host name" if not host else f"'{address}' is not a host name")
    return host, port


def _port(text: str, address: str) -> int:
    if not _PORT.match(text):
        raise ValueError(f"the port of '{address}' is not a number" if text else f"'{address}' has no port after ':'")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} of '{address}' is outside 1-65535")
    return port


def parse_compute(name: str, text: str, *, display: str, path: Path | None = None) -> ComputeTarget:
    from .yamlio import parse_mapping

    raw = parse_mapping(text, display, text_keys=schema.text_keys(ComputeTarget))
    target = schema.build(
        ComputeTarget, raw, display=display, text=text, fixed={"name": name, "path": path}, required=("type",),
        own_keys=_own_keys(raw.get("type")),
    )
    if target.address is not None:
        problem = address_problem(target.address)
        if problem is not None:
            line = key_line(text, "address")
            raise ConfigError(f"{display}{f', line {line}' if line else ''}: address: {problem}",
                              hint="write address: HOST, HOST:PORT or [IPv6]:PORT, with a port in 1-65535")
    return dataclasses.replace(target, raw_type=str(raw["type"]))


def load_compute(path: Path, *, display: str | None = None) -> ComputeTarget:
    shown = display or str(path)
    text = read_text(path, shown)
    return parse_compute(path.stem, text, display=shown, path=path)


def render_compute(target: ComputeTarget) -> str:
    data = schema.to_mapping(target, order=KEY_ORDER)
    data["type"] = target.raw_type or target.type
    # Like Workbench's attach, leave out unset keys and defaults the file did not spell out.
    defaults = {"sharedVolumes": False, "nvidiaDocker": False, "userManagedEnvironment": False,
                "offlineBuild": False, "shipEnvironment": True}
    data = {k: v for k, v in data.items()
            if v is not None and (k in target.present or k not in defaults or v != defaults[k])}
    return dump_mapping(data)
