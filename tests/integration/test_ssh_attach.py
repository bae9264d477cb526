"""`computetarget attach remote|remotedocker` against real SSH hosts: what is checked, and what is said."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sshfixtures import USER, Keys, SshHost, amlexec, trust

from amlexec.errors import ExitCode

pytestmark = [pytest.mark.ssh, pytest.mark.usefixtures("ssh_client_home")]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    (root / "hello.py").write_text("import sys\nprint('hello', sys.argv[1:])\n")
    return root


def _attach(project: Path, host: SshHost, *extra: str, kind: str = "remote", input: bytes | None = None
            ) -> subprocess.CompletedProcess[str]:
    return amlexec("computetarget", "attach", kind, "-n", "box", "-a", host.address, "-u", USER, *extra,
                   cwd=project, input=input)


def _files(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "aml_config").iterdir())


def test_unknown_host_is_refused_with_its_fingerprint_and_nothing_is_written(
        project: Path, ssh_host: SshHost, client_keys: Keys) -> None:
    done = _attach(project, ssh_host, "--private-key-file", str(client_keys.good))
    assert done.returncode == ExitCode.AUTH, done.stderr
    assert done.stdout == ""
    first = done.stderr.splitlines()[0]
    assert first == (f"amlexec: error: the host key of [127.0.0.1]:{ssh_host.port} is not known: ssh-ed25519 "
                     f"{ssh_host.fingerprint()}; refusing to connect")
    assert "add --accept-host-key to the attach command" in done.stderr
    assert _files(project) == []


def test_accept_host_key_records_it_and_later_connections_trust_it(
        project: Path, ssh_host: SshHost, client_keys: Keys) -> None:
    done = _attach(project, ssh_host, "--private-key-file", str(client_keys.good), "--accept-host-key")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["aml_config/box.compute", "aml_config/box.runconfig"]
    assert f"(host key ssh-ed25519 {ssh_host.fingerprint()})" in done.stderr
    assert "Python 3.11" in done.stderr
    known = (Path(os.environ["AMLEXEC_HOME"]) / "known_hosts").read_text()
    assert known == ssh_host.known_hosts_line()
    # The user's own known_hosts is never edited.
    assert not (Path(os.environ["HOME"]) / ".ssh" / "known_hosts").exists()
    again = _attach(project, ssh_host, "--private-key-file", str(client_keys.good), "--force")
    assert again.returncode == 0, again.stderr
    compute = (project / "aml_config" / "box.compute").read_text()
    assert "type: remote" in compute and "pythonLocation: python3" in compute


def test_a_key_the_host_does_not_authorize_is_refused(project: Path, ssh_host: SshHost, client_keys: Keys) -> None:
    trust(ssh_host)
    done = _attach(project, ssh_host, "--private-key-file", str(client_keys.bad))
    assert done.returncode == ExitCode.AUTH
    assert f"amlexec: error: {USER}@[127.0.0.1]:{ssh_host.port} (box.compute) refused the credentials" in done.stderr
    assert _files(project) == []


def test_encrypted_key_needs_its_passphrase_which_goes_to_the_credentials_store(
        project: Path, ssh_host: SshHost, client_keys: Keys) -> None:
    trust(ssh_host)
    done = _attach(project, ssh_host, "--private-key-file", str(client_keys.locked))
    assert done.returncode == ExitCode.AUTH
    assert "is encrypted and no passphrase is stored for it" in done.stderr
    done = _attach(project, ssh_host, "--private-key-file", str(client_keys.locked),
                   "--private-key-passphrase", client_keys.passphrase)
    assert done.returncode == 0, done.stderr
    compute = (project / "aml_config" / "box.compute").read_text()
    assert client_keys.passphrase not in compute
    assert "privateKeyPassphrase: AzureMlSecret=box#amluser#" in compute


def test_changed_host_key_is_refused_even_when_accepting_keys(
        project: Path, ssh_host: SshHost, client_keys: Keys, tmp_path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "impostor")], check=True)
    impostor = " ".join((tmp_path / "impostor.pub").read_text().split()[:2])
    user_known = Path(os.environ["HOME"]) / ".ssh" / "known_hosts"
    user_known.parent.mkdir()
    user_known.write_text(f"[127.0.0.1]:{ssh_host.port} {impostor}\n")
    done = _attach(project, ssh_host, "--private-key-file", str(client_keys.good), "--accept-host-key")
    assert done.returncode == ExitCode.AUTH
    assert f"the host key of [127.0.0.1]:{ssh_host.port} has CHANGED" in done.stderr
    assert ssh_host.fingerprint() in done.stderr and str(user_known) in done.stderr
    assert f"ssh-keygen -R '[127.0.0.1]:{ssh_host.port}' -f {user_known}" in done.stderr
    assert _files(project) == []
    assert user_known.read_text() == f"[127.0.0.1]:{ssh_host.port} {impostor}\n"


def test_password_is_kept_in_the_credentials_store_and_used_by_runs(
        project: Path, fresh_host: SshHost) -> None:
    password = "pa$$ 'word' \"; echo pwned"
    fresh_host.set_password(password)
    trust(fresh_host)
    done = _attach(project, fresh_host, "--password-stdin", input=password.encode() + b"\n")
    assert done.returncode == 0, done.stderr
    compute = (project / "aml_config" / "box.compute").read_text()
    assert "password: AzureMlSecret=box#amluser#" in compute
    run = amlexec("experiment", "submit", "-c", "box", "hello.py", "there", cwd=project)
    assert run.returncode == 0, run.stderr
    assert "hello ['there']" in run.stdout
    for path in [*(project / "aml_config").iterdir(), *(project / ".amlexec").rglob("*")]:
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    # A wrong stored password is refused like a wrong key.
    fresh_host.set_password("something else")
    refused = amlexec("experiment", "submit", "-c", "box", "hello.py", cwd=project)
    assert refused.returncode == ExitCode.AUTH
    assert "refused the credentials" in refused.stderr


def test_missing_python_is_named(project: Path, ssh_host: SshHost, client_keys: Keys) -> None:
    trust(ssh_host)
    done = _attach(project, ssh_host, "--private-key-file", str(client_keys.good), "--python", "/opt/py/bin/python3")
    assert done.returncode == ExitCode.NOT_FOUND
    assert "amlexec: error: pythonLocation '/opt/py/bin/python3' does not run on" in done.stderr
    assert "exit 127" in done.stderr
    assert _files(project) == []


def test_remotedocker_on_a_host_without_docker_says_so(project: Path, ssh_host: SshHost, client_keys: Keys) -> None:
    trust(ssh_host)
    done = _attach(project, ssh_host, "--private-key-file", str(client_keys.good), kind="remotedocker")
    assert done.returncode == ExitCode.NOT_FOUND
    assert f"amlexec: error: docker is not installed on {USER}@[127.0.0.1]:{ssh_host.port}" in done.stderr
    assert _files(project) == []


def test_unreachable_address_fails_unless_no_check(project: Path, client_keys: Keys) -> None:
    args = ("computetarget", "attach", "remote", "-n", "box", "-a", "127.0.0.1:1", "-u", USER,
            "--private-key-file", str(client_keys.good))
    done = amlexec(*args, cwd=project)
    assert done.returncode == ExitCode.UNAVAILABLE
    assert "amlexec: error: cannot reach amluser@[127.0.0.1]:1 (box.compute): Connection refused" in done.stderr
    offline = amlexec(*args, "--no-check", cwd=project)
    assert offline.returncode == 0, offline.stderr
    assert _files(project) == ["box.compute", "box.runconfig"]
