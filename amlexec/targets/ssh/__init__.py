"""The SSH family: the host connection every SSH target shares (`target.py`, `run.py`, `check.py`) and the
`remote` type (`remote.py`). Descriptors only here: importing this package imports no paramiko."""

from __future__ import annotations

from ..types import FORCE, AttachOption, Capability, TargetType

# The options of every SSH type's attach, before the type's own: where the host is and how to log in.
# configure.py writes them (address, username and the secrets, kept in the credentials store).
CONNECTION_OPTIONS = (
    AttachOption("address", ("--address", "-a"), "Host name or IP, optionally host:port.", required=True,
                 key="address"),
    AttachOption("username", ("--username", "-u"), "SSH user.", key="username"),
    AttachOption("password", ("--password", "-w"),
                 "SSH password (kept in the credentials store, never in aml_config/). Prefer --password-stdin or "
                 "AMLEXEC_SSH_PASSWORD: a password on the command line shows in process listings and shell "
                 "history.", key="password"),
    AttachOption("password_stdin", ("--password-stdin",),
                 "Read the SSH password from the first line of stdin. Without any password or key option, the "
                 "AMLEXEC_SSH_PASSWORD environment variable is used when set.", value=bool),
    AttachOption("private_key_file", ("--private-key-file",), "SSH private key file.", key="privateKeyFile"),
    AttachOption("private_key_passphrase", ("--private-key-passphrase",),
                 "Passphrase of the private key (kept in the credentials store).", key="privateKeyPassphrase"),
    AttachOption("use_azureml_ssh_key", ("--use-azureml-ssh-key", "-k"),
                 "Use amlexec's own key pair; prints the public key to authorize.", value=bool),
)

# After the type's own options: force, then how the host is checked.
HOST_OPTIONS = (
    FORCE,
    AttachOption("accept_host_key", ("--accept-host-key",),
                 "Trust the host's SSH key on first use and record it in amlexec's known_hosts (check the "
                 "fingerprint it prints). Without it, unknown hosts are refused.", value=bool),
    AttachOption("no_check", ("--no-check",), "Write the files without connecting to the host.", value=bool),
)

DEFAULT_PYTHON = "python3"

REMOTE = TargetType(
    name="remote",
    summary="Attach a remote Linux host's own Python (user-managed environment), over SSH.",
    implementation="amlexec.targets.ssh.remote:RemoteTarget",
    over_ssh=True,
    attach_options=(*CONNECTION_OPTIONS,
                    AttachOption("python_location", ("--python",),
                                 "pythonLocation: the host's interpreter (default python3).",
                                 writes="python_location", key="pythonLocation", default=DEFAULT_PYTHON),
                    *HOST_OPTIONS),
    compute_values={"user_managed_environment": True},
    host_check="amlexec.targets.ssh.check:check_python",
    capabilities=frozenset({Capability.DETACHES_ON_INTERRUPT, Capability.CAN_REATTACH}),
)
