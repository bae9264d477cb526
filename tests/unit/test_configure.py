"""Attaching targets and run configurations writes Workbench files; secrets stay out of them."""

from __future__ import annotations

import stat

import pytest

from amlexec import credentials
from amlexec.configure import AttachRequest, attach, create_runconfig, detach, secure
from amlexec.errors import NotFoundError, UsageError
from amlexec.project import Project


@pytest.fixture
def project(tmp_path):
    (tmp_path / "aml_config").mkdir()
    return Project(tmp_path)


def test_attach_remotedocker_writes_the_pair_with_a_secret_reference(project, isolated_home):
    result = attach(project, AttachRequest(kind="remotedocker", name="vm", address="10.0.0.4:2200",
                                           username="azureuser", password="s3cr3t!", check=False))
    compute_text = (project.config_dir / "vm.compute").read_text()
    assert "s3cr3t" not in compute_text
    assert result.compute.password.startswith("AzureMlSecret=vm#azureuser#")
    assert credentials.lookup_secret(result.compute.password) == "s3cr3t!"
    cred_file = isolated_home / "credentials.json"
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600
    assert "s3cr3t" not in str(sorted(project.root.rglob("*")))
    loaded = project.load_compute("vm")
    assert (loaded.host, loaded.port, loaded.type) == ("10.0.0.4", 2200, "remotedocker")
    rc = project.load_runconfig("vm")
    assert rc.target == "vm" and rc.framework == "Python" and rc.prepare_environment


def test_attach_cluster_defaults_to_sshuser_and_pyspark(project):
    attach(project, AttachRequest(kind="cluster", name="hdi", address="c-ssh.azurehdinsight.net", check=False))
    assert project.load_compute("hdi").username == "sshuser"
    assert project.load_runconfig("hdi").framework == "PySpark"


def test_attach_refuses_to_replace_without_force(project):
    attach(project, AttachRequest(kind="local", name="l2"))
    with pytest.raises(UsageError) as err:
        attach(project, AttachRequest(kind="local", name="l2"))
    assert err.value.message == "target 'l2' already exists (aml_config/l2.compute, aml_config/l2.runconfig)"
    attach(project, AttachRequest(kind="docker", name="l2", force=True))
    assert project.load_compute("l2").type == "docker"


def test_attach_validates_inputs(project):
    with pytest.raises(UsageError, match="needs the host's address"):
        attach(project, AttachRequest(kind="remote", name="r"))
    with pytest.raises(UsageError, match="did you mean 'remotedocker'"):
        attach(project, AttachRequest(kind="remotedockr", name="r"))
    with pytest.raises(NotFoundError, match="private key file /nope does not exist"):
        attach(project, AttachRequest(kind="remote", name="r", address="h", username="u",
                                      private_key_file="/nope"))
    with pytest.raises(UsageError, match="not a valid target name"):
        attach(project, AttachRequest(kind="local", name="../x"))
    assert not list(project.config_dir.iterdir())


def test_detach_removes_files_and_secrets(project):
    result = attach(project, AttachRequest(kind="remote", name="r", address="h", username="u", password="pw",
                                           check=False))
    create_runconfig(project, name="other", target="r")
    notes = detach(project, "r")
    assert notes == ["run configuration 'other' still names target 'r'"]
    assert not project.compute_path("r").exists() and not project.runconfig_path("r").exists()
    assert credentials.lookup_secret(result.compute.password) is None


def test_secure_moves_a_clear_text_password(project, capsys):
    path = project.config_dir / "old.compute"
    path.write_text("# legacy file\ntype: remotedocker\naddress: h\nusername: u\npassword: hunter2\n")
    project.load_compute("old")
    assert "holds a clear-text password" in capsys.readouterr().err
    assert secure(project, "old")
    text = path.read_text()
    assert text.startswith("# legacy file\n") and "hunter2" not in text
    assert credentials.lookup_secret(project.load_compute("old").password) == "hunter2"
    assert not secure(project, "old")


def test_runconfiguration_create_checks_the_target(project):
    with pytest.raises(NotFoundError) as err:
        create_runconfig(project, name="x", target="nope")
    assert err.value.message == "no compute target 'nope': aml_config/nope.compute does not exist"
    attach(project, AttachRequest(kind="local", name="local"))
    rc = create_runconfig(project, name="exp", target="local", framework="pyspark", env={"A": "1"})
    assert (rc.framework, rc.env) == ("PySpark", {"A": "1"})
    assert project.load_runconfig("exp").env == {"A": "1"}
