"""One error type for everything amlexec reports, each bound to a documented exit code.

`cli.main()` is the only place an error becomes an exit code; code below the CLI raises these and never
calls `sys.exit`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """amlexec's own exit codes (docs/exit-codes.md).

    `experiment submit` passes the script's own exit code through, so amlexec's failures live in the
    sysexits range (64-78) that scripts rarely use, and a shell script can tell them apart.
    """

    OK = 0
    USAGE = 2  # the command line itself is wrong (same code as click's usage errors)
    NOT_FOUND = 66  # a project, target, runconfig, run, script or file that does not exist
    UNAVAILABLE = 69  # an engine or host that cannot be reached (Docker daemon, SSH host)
    INTERNAL = 70  # a bug in amlexec: please report it
    ENVIRONMENT = 71  # preparing the run environment failed (image build, dependency resolution)
    IO = 74  # reading or writing a file failed
    AUTH = 77  # credentials or host keys refused
    CONFIG = 78  # a configuration file is malformed or inconsistent
    CANCELED = 130  # the run was canceled (Ctrl-C or `experiment cancel`)


class AmlexecError(Exception):
    """An error the user can act on: `message` says what is wrong, `hint` how to fix it."""

    exit_code: ExitCode = ExitCode.INTERNAL
    # Every `amlexec: error:` line is followed by a `hint:` line. Most raise sites name the fix for their own
    # case; where one cannot (an engine's or a host's own words), `cli.report` falls back to the class's hint.
    default_hint: str = "rerun with --debug for a traceback and report it"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(AmlexecError):
    exit_code = ExitCode.USAGE
    default_hint = "see `amlexec --help`, or the command's own --help"


class NotFoundError(AmlexecError):
    exit_code = ExitCode.NOT_FOUND
    default_hint = "check the name or path; `amlexec computetarget list` and `amlexec history list` show what exists"


class ConfigError(AmlexecError):
    exit_code = ExitCode.CONFIG
    default_hint = "fix the file or value named above; docs/config-reference.md describes every key"


class UnavailableError(AmlexecError):
    exit_code = ExitCode.UNAVAILABLE
    default_hint = "check that the engine or host named above is running and reachable, then retry"


class EnvironmentBuildError(AmlexecError):
    exit_code = ExitCode.ENVIRONMENT
    default_hint = "docs/troubleshooting.md lists the usual causes of a failed environment build"


class StorageError(AmlexecError):
    exit_code = ExitCode.IO
    default_hint = "check the disk and the folder: full, read-only, or gone"


class AuthError(AmlexecError):
    exit_code = ExitCode.AUTH
    default_hint = "check the user, key or password, and the host's key in ~/.ssh/known_hosts"


class RunUnreachableError(UnavailableError):
    """The host of a started run stopped answering. The run itself may well go on there, so its record
    says `Unreachable` (not Failed) and is settled when the host answers again."""

