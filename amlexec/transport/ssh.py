"""SSH connections on paramiko: settings from a `.compute` file, authentication, host keys, exec, SFTP.

Used by every SSH target (remote, remotedocker, cluster). paramiko is imported only inside functions, so
commands that never talk SSH do not pay for it. Remote command lines are always `shlex.join(argv)`: the
user's login shell on the host parses one quoted word per argument and nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..config.compute import SECRET_PREFIX, ComputeTarget
from ..errors import AuthError, ConfigError, NotFoundError, UnavailableError, UsageError
from . import hostkeys

DEFAULT_CONNECT_TIMEOUT = 15.0
DEFAULT_KEEPALIVE = 15
_CHUNK = 65536

LineSink = Callable[[str, bytes], None]
"""Receives ("stdout" | "stderr", one line including its newline)."""


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        raise UsageError(f"{name}={os.environ[name]!r} is not a number",
                         hint=f"set {name} to a number of seconds, or unset it") from None


@dataclass(frozen=True)
class SshSettings:
    """Where and how to connect. Secrets stay references (`AzureMlSecret=...`) until `connect` needs them."""

    host: str
    port: int
    username: str
    key_file: str | None = None
    passphrase: str | None = field(default=None, repr=False)  # reference or legacy clear text
    password: str | None = field(default=None, repr=False)  # reference or legacy clear text
    source: str = ""  # the .compute file, for messages
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    keepalive: int = DEFAULT_KEEPALIVE

    @classmethod
    def from_compute(cls, compute: ComputeTarget, *, host: str | None = None, port: int | None = None,
                     username: str | None = None) -> SshSettings:
        """Settings from a `.compute` file; `host`/`port`/`username` override it (a run's recorded host)."""
        name = host or compute.host
        user = username or compute.username
        if not name:
            raise ConfigError(f"{compute.file_name} has no address", hint="add `address: HOST[:PORT]` to it")
        if not user:
            raise ConfigError(f"{compute.file_name} has no username", hint="add `username: USER` to it")
        return cls(host=name, port=port or compute.port, username=user, key_file=compute.private_key_file,
                   passphrase=compute.private_key_passphrase, password=compute.password,
                   source=compute.file_name,
                   connect_timeout=_env_float("AMLEXEC_SSH_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT))

    @property
    def display(self) -> str:
        return f"{self.username}@{hostkeys.host_entry_name(self.host, self.port)}"


@dataclass(frozen=True)
class Completed:
    """A finished remote command: its real exit status and what it printed."""

    status: int
    stdout: bytes
    stderr: bytes

    def text(self) -> str:
        return (self.stderr or self.stdout).decode("utf-8", "replace").strip()


def is_connection_error(exc: BaseException) -> bool:
    """True for a lost or failed connection (worth a reconnect), False for refused credentials or keys."""
    import paramiko

    if isinstance(exc, (paramiko.AuthenticationException, paramiko.BadHostKeyException)):
        return False
    # SFTP reports a missing or forbidden remote file as these: an answer, not a lost connection.
    if isinstance(exc, (FileNotFoundError, PermissionError, FileExistsError, IsADirectoryError,
                        NotADirectoryError)):
        return False
    return isinstance(exc, (paramiko.SSHException, OSError, EOFError, UnavailableError))


def _secret(value: str | None, what: str, settings: SshSettings) -> str | None:
    if not value:
        return None
    if not value.startswith(SECRET_PREFIX):
        return value  # a legacy clear-text value; `computetarget secure` moves it out of aml_config/
    from ..credentials import lookup_secret

    found = lookup_secret(value)
    if found is None:
        raise AuthError(f"the {what} for {settings.display} ({settings.source}) is not in this machine's "
                        "credentials store", hint="attach the target again on this machine "
                        "(e.g. with --password-stdin and --force)")
    return found


def check_credentials(settings: SshSettings) -> None:
    """What a connection will need from this machine, without connecting: the private key file loads
    (with its passphrase) and the stored secrets are in the credentials store."""
    _load_key(settings)
    _secret(settings.password, "password", settings)


def _load_key(settings: SshSettings) -> Any:
    import paramiko

    if not settings.key_file:
        return None
    path = Path(os.path.expanduser(settings.key_file))
    if not path.is_file():
        raise NotFoundError(f"private key file {path} (privateKeyFile in {settings.source}) does not exist",
                            hint="fix privateKeyFile, or attach the target again with --private-key-file")
    passphrase = _secret(settings.passphrase, "private key passphrase", settings)
    try:
        # Positional: the keyword was renamed (passphrase -> password) in paramiko 5. cryptography,
        # which does the loading, wants bytes.
        return paramiko.PKey.from_path(path, passphrase.encode() if passphrase else None)
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        # cryptography says "encrypted, no password" (and "not encrypted, password given") with TypeError.
        if passphrase:
            raise AuthError(f"cannot use private key {path}: {exc}",
                            hint="check the key file and its passphrase") from None
        raise AuthError(f"private key {path} is encrypted and no passphrase is stored for it",
                        hint="attach again with --private-key-passphrase, or load the key into ssh-agent "
                        "and remove privateKeyFile") from None
    except (paramiko.SSHException, paramiko.pkey.UnknownKeyType, ValueError, OSError) as exc:
        raise AuthError(f"cannot use private key {path}: {exc}",
                        hint="check the key file and its passphrase") from None


class SshConnection:
    """One authenticated SSH connection: exec with real exit status, line streaming, and SFTP."""

    def __init__(self, settings: SshSettings, client: Any) -> None:
        self.settings = settings
        self._client = client
        self._sftp: Any = None
        self._home: str | None = None

    # -- connecting ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: SshSettings, *, accept_host_key: bool = False,
             accept_hint: str = "attach the target again with --accept-host-key") -> SshConnection:
        """Connect and authenticate; unknown host keys are refused unless `accept_host_key`."""
        try:
            return cls(settings, _connect(settings, accept_hint))
        except _AcceptOffered as offered:
            if not accept_host_key:
                raise offered.error from None
            hostkeys.record(settings.host, settings.port, offered.key)
            return cls(settings, _connect(settings, accept_hint))

    def close(self) -> None:
        for thing in (self._sftp, self._client):
            if thing is not None:
                # Closing a dead connection may raise anything; it is gone either way.
                with contextlib.suppress(Exception):
                    thing.close()
        self._sftp = None

    def __enter__(self) -> SshConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        transport = self._client.get_transport()
        return transport is not None and transport.is_active()

    @property
    def host_key(self) -> Any:
        return self._client.get_transport().get_remote_server_key()

    # -- exec ---------------------------------------------------------------------------------------
    def run(self, argv: Sequence[str], *, stdin: bytes | Callable[[IO[bytes]], None] | None = None,
            timeout: float | None = 120.0) -> Completed:
        """Run `argv` on the host and capture its output. `stdin` is bytes, or a writer fed the channel."""
        out: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
        status = self._exec(argv, stdin, lambda name, data: out[name].append(data), timeout=timeout, lines=False)
        return Completed(status, b"".join(out["stdout"]), b"".join(out["stderr"]))

    def stream(self, argv: Sequence[str], sink: LineSink, *, stdin: bytes | None = None,
               timeout: float | None = None) -> int:
        """Run `argv`, handing `sink` each line of stdout and stderr as it arrives; the real exit status."""
        return self._exec(argv, stdin, sink, timeout=timeout, lines=True)

    def _exec(self, argv: Sequence[str], stdin: bytes | Callable[[IO[bytes]], None] | None, sink: LineSink, *,
              timeout: float | None, lines: bool) -> int:
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise EOFError("the SSH connection is closed")
        chan = transport.open_session(timeout=self.settings.connect_timeout)
        try:
            chan.exec_command(shlex.join(argv))
            if callable(stdin):
                writer = chan.makefile_stdin("wb")
                stdin(writer)
                writer.flush()
                chan.shutdown_write()
            elif stdin is not None:
                chan.sendall(stdin)
                chan.shutdown_write()
            else:
                chan.shutdown_write()
            _pump(chan, sink, deadline=None if timeout is None else time.monotonic() + timeout, lines=lines,
                  what=f"`{shlex.join(argv)[:80]}` on {self.settings.display}")
            return chan.recv_exit_status()
        finally:
            chan.close()

    def open_command(self, argv: Sequence[str], *, timeout: float | None = None) -> Any:
        """Start `argv` on the host and hand back its channel (a socket-like object: send, recv, makefile),
        for callers that speak a protocol over the command's stdin and stdout (`docker system dial-stdio`)."""
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise EOFError("the SSH connection is closed")
        chan = transport.open_session(timeout=self.settings.connect_timeout)
        chan.settimeout(timeout)
        chan.exec_command(shlex.join(argv))
        return chan

    def ping(self, timeout: float) -> bool:
        """True when the host answers a request within `timeout` s. TCP alone can take many minutes to notice
        a network that silently went away; a reading that waits with no deadline needs this to notice it."""
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            return False
        answered = threading.Event()

        def ask() -> None:
            # OpenSSH answers unknown global requests with a failure message: any answer proves it is there.
            with contextlib.suppress(Exception):
                transport.global_request("keepalive@openssh.com", wait=True)
                answered.set()

        threading.Thread(target=ask, daemon=True, name="amlexec-ssh-ping").start()
        return answered.wait(timeout) and transport.is_active()

    # -- files --------------------------------------------------------------------------------------
    def sftp(self) -> Any:
        """The connection's SFTP session; requests that get no answer fail after the connect timeout."""
        if self._sftp is None:
            self._sftp = self._client.open_sftp()
            self._sftp.get_channel().settimeout(max(self.settings.connect_timeout, 5.0))
        return self._sftp

    def home(self) -> str:
        """The user's home folder on the host, absolute (SFTP sessions start there)."""
        if self._home is None:
            self._home = self.sftp().normalize(".")
        return self._home


def _pump(chan: Any, sink: LineSink, *, deadline: float | None, lines: bool, what: str) -> None:
    """Hand out stdout and stderr as they arrive until the channel's EOF (all output read)."""
    pending = {"stdout": b"", "stderr": b""}

    def emit(name: str, data: bytes) -> None:
        if not lines:
            sink(name, data)
            return
        *complete, pending[name] = (pending[name] + data).split(b"\n")
        for line in complete:
            sink(name, line + b"\n")

    while True:
        if chan.recv_ready():
            emit("stdout", chan.recv(_CHUNK))
            continue
        if chan.recv_stderr_ready():
            emit("stderr", chan.recv_stderr(_CHUNK))
            continue
        if chan.eof_received or chan.closed:
            break
        if deadline is not None and time.monotonic() > deadline:
            raise UnavailableError(f"{what} did not finish in time",
                                   hint="check the host's load and network; rerun the command")
        # The channel's pipe is set while data is buffered and on EOF, so this sleeps only when idle.
        select.select([chan], [], [], 0.5)
    for name, rest in pending.items():
        if rest:
            sink(name, rest)


def _silence(client: Any, settings: SshSettings, waited: float) -> str | None:
    """What to say when a host accepted TCP but its SSH server did not answer in time, or None.

    paramiko reports these with words about its own state ("No existing session", "Error reading SSH protocol
    banner"); what happened on the wire is clearer: no banner at all, or a banner and then silence.
    """
    transport = client.get_transport()
    if transport is None or waited < settings.connect_timeout * 0.9:
        return None
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    limit = f"{settings.connect_timeout:g} s"
    if not transport.remote_version:
        return f"no SSH answer from {host}:{settings.port} within {limit} ({settings.source or settings.display})"
    if not transport.is_authenticated():
        return (f"{host}:{settings.port} sent its SSH banner ({transport.remote_version}) but did not finish the "
                f"SSH handshake within {limit} ({settings.source or settings.display})")
    return None


class _AcceptOffered(Exception):
    def __init__(self, key: Any, error: Exception) -> None:
        super().__init__(str(error))
        self.key = key
        self.error = error


def _connect(settings: SshSettings, accept_hint: str) -> Any:
    import paramiko

    # paramiko's transport thread logs a failed handshake (a host that accepts TCP but sends no banner)
    # with a traceback, which Python would print on stderr for want of a handler. The same failure reaches
    # the caller as an exception, which says it better.
    quiet = logging.getLogger("paramiko")
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    pkey = _load_key(settings)
    password = _secret(settings.password, "password", settings)
    client = paramiko.SSHClient()
    hostkeys.load_into(client)
    client.set_missing_host_key_policy(hostkeys.refusing_policy())
    where = f"{settings.display} ({settings.source})" if settings.source else settings.display
    started = time.monotonic()
    try:
        client.connect(
            settings.host, port=settings.port, username=settings.username, pkey=pkey, password=password,
            allow_agent=True, look_for_keys=True, timeout=settings.connect_timeout,
            banner_timeout=settings.connect_timeout, auth_timeout=settings.connect_timeout,
            channel_timeout=settings.connect_timeout,
        )
    except hostkeys.UnknownHostKey as exc:
        client.close()
        error = hostkeys.unknown_host_error(settings.host, settings.port, exc.key, accept_hint=accept_hint)
        raise _AcceptOffered(exc.key, error) from None
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise hostkeys.changed_host_error(settings.host, settings.port, exc.key, exc.expected_key) from None
    except paramiko.AuthenticationException as exc:
        client.close()
        tried = ", ".join(m for m, used in (("private key " + str(settings.key_file), pkey is not None),
                                            ("ssh-agent", bool(os.environ.get("SSH_AUTH_SOCK"))),
                                            ("default keys in ~/.ssh", True),
                                            ("password", password is not None)) if used)
        raise AuthError(f"{where} refused the credentials ({exc}); tried: {tried}",
                        hint="check the user name and that the key is in the user's ~/.ssh/authorized_keys "
                        "on the host, or attach again with the right --private-key-file/--password-stdin") from None
    except TimeoutError as exc:
        client.close()
        raise UnavailableError(f"cannot reach {where}: no answer within {settings.connect_timeout:g}s",
                               hint="check the address and port, and that the host is up") from exc
    except (OSError, paramiko.SSHException, EOFError) as exc:
        silent = _silence(client, settings, time.monotonic() - started)
        client.close()
        if silent is not None:
            raise UnavailableError(silent, hint="check that the address and port are the host's SSH server "
                                   "(not another service), and that sshd there is not overloaded; "
                                   "AMLEXEC_SSH_CONNECT_TIMEOUT sets the wait") from None
        # paramiko wraps refused connections (one per address tried); the socket's own words are clearer.
        first = next(iter(getattr(exc, "errors", {}).values()), exc)
        reason = first.strerror if isinstance(first, OSError) and first.strerror else str(exc) or type(exc).__name__
        raise UnavailableError(f"cannot reach {where}: {reason}",
                               hint="check the address and port, and that sshd runs on the host") from exc
    transport = client.get_transport()
    transport.set_keepalive(settings.keepalive)
    return client
