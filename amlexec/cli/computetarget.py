"""`amlexec computetarget ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from ..output import OutputFormat
from .common import NameOpt, OutputOpt, QueryOpt, progress, project_here, show

app = typer.Typer(no_args_is_help=True)
attach_app = typer.Typer(no_args_is_help=True, help="Attach a compute target: writes <name>.compute and "
                         "<name>.runconfig. The older form `attach --type TYPE` works too.")
app.add_typer(attach_app, name="attach")

AddressOpt = Annotated[str, typer.Option("--address", "-a", help="Host name or IP, optionally host:port.")]
UserOpt = Annotated[str | None, typer.Option("--username", "-u", help="SSH user.")]
PasswordOpt = Annotated[str | None, typer.Option(
    "--password", "-w", help="SSH password (kept in the credentials store, never in aml_config/). "
    "Prefer --password-stdin or AMLEXEC_SSH_PASSWORD: a password on the command line shows in process "
    "listings and shell history.")]
PasswordStdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the SSH password from the first line of stdin. Without any password or key "
    "option, the AMLEXEC_SSH_PASSWORD environment variable is used when set.")]
KeyOpt = Annotated[str | None, typer.Option("--private-key-file", help="SSH private key file.")]
PassphraseOpt = Annotated[str | None, typer.Option(
    "--private-key-passphrase", help="Passphrase of the private key (kept in the credentials store).")]
AmlKeyOpt = Annotated[bool, typer.Option("--use-azureml-ssh-key", "-k",
                                         help="Use amlexec's own key pair; prints the public key to authorize.")]
BaseImageOpt = Annotated[str | None, typer.Option("--base-image", help="baseDockerImage for the target.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing target of that name.")]
AcceptKeyOpt = Annotated[bool, typer.Option(
    "--accept-host-key", help="Trust the host's SSH key on first use and record it in amlexec's known_hosts "
    "(check the fingerprint it prints). Without it, unknown hosts are refused.")]
NoCheckOpt = Annotated[bool, typer.Option("--no-check", help="Write the files without connecting to the host.")]
PythonOpt = Annotated[str | None, typer.Option("--python", help="pythonLocation: the host's interpreter "
                                               "(default python3).")]


def _attach(kind: str, output: OutputFormat = OutputFormat.table, query: str | None = None, **values: object) -> None:
    from ..configure import AttachRequest, attach

    if "password" in values:
        _password_source(values)
    project = project_here()
    result = attach(project, AttachRequest(kind=kind, **values))  # type: ignore[arg-type]
    for note in result.notes:
        progress(note)
    files = [project.display(path) for path in (result.compute.path, result.runconfig.path)]
    if output == OutputFormat.table:
        for shown in files:
            typer.echo(shown)
    else:
        show("computetarget attach", {"name": result.compute.name, "type": kind, "compute_file": files[0],
                                      "runconfig_file": files[1], "notes": result.notes}, output, query)
    progress(f"attached {kind} target '{result.compute.name}'; "
             f"run with: amlexec experiment submit -c {result.runconfig.name} SCRIPT")


PASSWORD_VARIABLE = "AMLEXEC_SSH_PASSWORD"


def _password_source(values: dict[str, object]) -> None:
    """-w, --password-stdin or AMLEXEC_SSH_PASSWORD, in values["password"]; warns about -w."""
    import os
    import sys

    from ..errors import UsageError

    from_stdin = values.pop("password_stdin", False)
    if from_stdin and values.get("password"):
        raise UsageError("give the password one way: -w/--password or --password-stdin",
                         hint="drop -w/--password: it shows in process listings")
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UsageError("--password-stdin read no password: stdin was empty",
                             hint="pipe the password in, e.g. `printf '%s\\n' \"$PASS\" | amlexec computetarget "
                             "attach ... --password-stdin`")
        values["password"] = line
    elif values.get("password"):
        from ..credentials import hide_from_process_list
        from ..notices import warn

        hidden = hide_from_process_list(str(values["password"]))
        seen = "was visible in process listings (ps) while amlexec started" if hidden else \
            "is visible in process listings (ps) while amlexec runs"
        warn(f"a password given with -w/--password {seen}, and stays in your shell history; use --password-stdin "
             f"or the {PASSWORD_VARIABLE} environment variable instead")
    elif os.environ.get(PASSWORD_VARIABLE) and not (values.get("private_key_file")
                                                     or values.get("use_azureml_ssh_key")):
        values["password"] = os.environ[PASSWORD_VARIABLE]


@attach_app.command("local")
def attach_local(name: NameOpt, force: ForceOpt = False,
                 python: Annotated[str | None, typer.Option("--python", help="pythonLocation.")] = None,
                 output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """Attach a target that runs scripts on this machine."""
    _attach("local", output, query, name=name, force=force, python_location=python)


@attach_app.command("docker")
def attach_docker(name: NameOpt, base_image: BaseImageOpt = None, force: ForceOpt = False,
                  output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """Attach the local Docker engine."""
    _attach("docker", output, query, name=name, base_image=base_image, force=force)


def _ssh_command(kind: str, doc: str) -> None:
    def command(name: NameOpt, address: AddressOpt, username: UserOpt = None, password: PasswordOpt = None,
                password_stdin: PasswordStdinOpt = False, private_key_file: KeyOpt = None,
                private_key_passphrase: PassphraseOpt = None, use_azureml_ssh_key: AmlKeyOpt = False,
                base_image: BaseImageOpt = None, force: ForceOpt = False, accept_host_key: AcceptKeyOpt = False,
                no_check: NoCheckOpt = False, output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
        _attach(kind, output, query, name=name, address=address, username=username, password=password,
                password_stdin=password_stdin, private_key_file=private_key_file,
                private_key_passphrase=private_key_passphrase, use_azureml_ssh_key=use_azureml_ssh_key,
                base_image=base_image, force=force, accept_host_key=accept_host_key, check=not no_check)

    command.__doc__ = doc
    attach_app.command(kind)(command)


_ssh_command("remotedocker", "Attach a remote Linux host running Docker, over SSH.")
_ssh_command("cluster", "Attach a Spark cluster's head node, over SSH.")


@attach_app.command("remote")
def attach_remote(name: NameOpt, address: AddressOpt, username: UserOpt = None, password: PasswordOpt = None,
                  password_stdin: PasswordStdinOpt = False, private_key_file: KeyOpt = None,
                  private_key_passphrase: PassphraseOpt = None, use_azureml_ssh_key: AmlKeyOpt = False,
                  python: PythonOpt = None, force: ForceOpt = False, accept_host_key: AcceptKeyOpt = False,
                  no_check: NoCheckOpt = False, output: OutputOpt = OutputFormat.table,
                  query: QueryOpt = None) -> None:
    """Attach a remote Linux host's own Python (user-managed environment), over SSH."""
    _attach("remote", output, query, name=name, address=address, username=username, password=password,
            password_stdin=password_stdin, private_key_file=private_key_file,
            private_key_passphrase=private_key_passphrase, use_azureml_ssh_key=use_azureml_ssh_key,
            python_location=python, force=force, accept_host_key=accept_host_key, check=not no_check)


@app.command("list")
def list_targets(output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """List the project's compute targets."""
    project = project_here()
    rows = []
    for name in project.compute_names():
        compute = project.load_compute(name)
        rows.append({"name": name, "type": compute.raw_type or compute.type, "address": compute.address,
                     "baseDockerImage": compute.base_docker_image})
    show("computetarget list", rows, output, query, columns=["name", "type", "address", "baseDockerImage"])


@app.command("show")
def show_target(name: Annotated[str, typer.Argument(help="Target name.")], output: OutputOpt = OutputFormat.table,
                query: QueryOpt = None) -> None:
    """Show a compute target's settings (secrets masked)."""
    from ..configure import compute_info

    project = project_here()
    compute = project.load_compute(name)
    show("computetarget show", compute_info(compute), output, query)


@app.command("detach")
def detach_target(name: Annotated[str, typer.Argument(help="Target name.")]) -> None:
    """Remove a target's .compute file (and its same-named .runconfig) and its stored secrets."""
    from ..configure import detach

    for note in detach(project_here(), name):
        progress(f"warning: {note}")
    progress(f"detached '{name}'")


@app.command("secure")
def secure_target(name: Annotated[str, typer.Argument(help="Target name.")]) -> None:
    """Move a clear-text password out of <name>.compute into the credentials store."""
    from ..configure import secure

    changed = secure(project_here(), name)
    progress(f"{name}.compute: " + ("password moved to the credentials store" if changed
                                    else "holds no clear-text secret; nothing to do"))
