"""The `amlexec` command. `main()` is the only place an error becomes an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..errors import AmlexecError, ExitCode, UsageError


def _debug(argv: Sequence[str]) -> bool:
    return "--debug" in argv[:1] or os.environ.get("AMLEXEC_DEBUG", "") not in ("", "0")


def report(error: AmlexecError) -> int:
    """Print an error the way every command does, and return its exit code.

    Only on stderr, whatever `-o` says: as with the az CLI, a failed command prints nothing on stdout,
    so a script reading `-o json` or `-o tsv` never mistakes an error for data; the exit code says it failed.
    """
    sys.stderr.write(f"amlexec: error: {error.message}\n")
    sys.stderr.write(f"hint: {error.hint or error.default_hint}\n")
    return int(error.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    import typer

    from .app import build_app, normalize_argv

    args = normalize_argv(list(sys.argv[1:] if argv is None else argv))
    debug = _debug(args)
    try:
        command = typer.main.get_command(build_app(args))
        code = command.main(args=args, prog_name="amlexec", standalone_mode=False)
        return int(code or 0)
    except AmlexecError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        return report(exc)
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(exc.format_message() + "\n")
            return 0
        message = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "amlexec"
        return report(UsageError(message.rstrip("."), hint=f"see `{where} --help`"))
    except KeyboardInterrupt:
        sys.stderr.write("amlexec: interrupted\n")
        return int(ExitCode.CANCELED)
    except BrokenPipeError:
        # `amlexec history list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # `> /dev/full`, a vanished folder: an I/O failure (74), not a bug
        from ..errors import StorageError

        message = (f"reading or writing {exc.filename} failed: {exc.strerror or exc}" if exc.filename
                   else f"cannot write standard output: {exc.strerror or exc}")
        return report(StorageError(message, hint="check the disk and the folder: full, read-only, or gone"))
    except Exception as exc:
        if debug:
            raise
        return report(
            AmlexecError(f"internal error: {exc!r}",
                         hint="rerun with --debug for a traceback and report it"),
        )


def run() -> None:
    """The `amlexec` executable: `main()`, then a quick exit.

    A finished command has nothing left to tear down that matters: its files are written atomically and its
    history transactions committed. Python's own shutdown (module teardown, the final garbage collection,
    SQLite's WAL checkpoint on close) still costs about 35 ms, a tenth of a docker submit. So after waiting
    for non-daemon threads (a container being removed) and running atexit handlers, the process ends with
    `os._exit`. In-process callers use `main()`, which returns normally.
    """
    import atexit
    import threading

    code = main()
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # what a normal exit would run; its handlers flush logs and the like
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # `> /dev/full` is reported by main() itself; nothing more can be said
        code = code or int(ExitCode.IO)
    os._exit(code)
