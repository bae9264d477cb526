"""`.compute` files: every field, both YAML styles, null defaults, aliases, precise errors."""

from __future__ import annotations

import pytest

from amlexec.config.compute import parse_compute, render_compute, split_address
from amlexec.errors import ConfigError


def parse(text: str, name: str = "t"):
    return parse_compute(name, text, display=f"aml_config/{name}.compute")


def test_quoted_and_unquoted_styles_read_the_same():
    quoted = parse('type: "remotedocker"\naddress: "10.0.0.4"\nusername: "azureuser"\nsharedVolumes: true\n')
    plain = parse("type: remotedocker\naddress: 10.0.0.4\nusername: azureuser\nsharedVolumes: true\n")
    assert quoted == plain
    assert plain.type == "remotedocker" and plain.address == "10.0.0.4" and plain.shared_volumes is True


def test_every_documented_field_is_read():
    c = parse(
        "type: cluster\naddress: head-ssh.example.net:2200\nusername: sshuser\n"
        "password: AzureMlSecret=t#sshuser#abc\nbaseDockerImage: img:1\nsharedVolumes: 'true'\n"
        "nvidiaDocker: yes\nnativeSharedDirectory: ~/.azureml/share/\nuserManagedEnvironment: false\n"
        "pythonLocation: python3\nsparkSubmitLocation: /opt/spark/bin/spark-submit\nyarnDeployMode: client\n"
        "privateKey: KEY\ncluster: False\nnative: False\n"
    )
    assert (c.host, c.port) == ("head-ssh.example.net", 2200)
    assert c.password_is_reference and not c.has_cleartext_password
    assert c.base_docker_image == "img:1" and c.shared_volumes and c.nvidia_docker
    assert c.native_shared_directory == "~/.azureml/share/"
    assert c.python_location == "python3" and c.spark_submit_location == "/opt/spark/bin/spark-submit"
    assert c.yarn_deploy_mode == "client" and c.private_key == "KEY"
    assert c.preview_cluster is False and c.preview_native is False


def test_localdocker_is_an_alias_of_docker_and_keeps_its_spelling():
    c = parse('type: "localdocker"\n')
    assert c.type == "docker" and c.raw_type == "localdocker"
    assert "type: localdocker" in render_compute(c)


def test_null_and_empty_values_mean_default():
    c = parse("type: remotedocker\naddress:\npassword:\nusername:\nsharedVolumes: null\n")
    assert c.address is None and c.password is None and c.shared_volumes is False


def test_unknown_keys_are_kept_on_rewrite():
    c = parse("type: local\ncustomSetting: 42\nteam: ml\n")
    assert c.extra == {"customSetting": 42, "team": "ml"}
    again = parse(render_compute(c))
    assert again.extra == c.extra


def test_clear_text_password_is_flagged():
    assert parse("type: remote\npassword: hunter2\n").has_cleartext_password


def test_unknown_type_suggests_the_closest():
    with pytest.raises(ConfigError) as err:
        parse("type: dcoker\n")
    assert str(err.value) == "aml_config/t.compute, line 1: 'type': 'dcoker' is not valid (did you mean 'docker'?)"
    assert "local, docker, remotedocker, remote, cluster" in err.value.hint or "cluster" in err.value.hint


def test_missing_type_names_the_file_and_key():
    with pytest.raises(ConfigError) as err:
        parse("address: x\n")
    assert err.value.message == "aml_config/t.compute: missing key 'type'"


def test_misspelled_key_is_an_error_with_its_line_and_suggestion():
    with pytest.raises(ConfigError) as err:
        parse("type: docker\n# comment\nbaseDockerImgae: x\n")
    assert err.value.message == (
        "aml_config/t.compute, line 3: unknown key 'baseDockerImgae' (did you mean 'baseDockerImage'?)"
    )
    assert err.value.hint == "rename 'baseDockerImgae' to 'baseDockerImage'"


def test_wrong_value_kind_is_reported():
    with pytest.raises(ConfigError) as err:
        parse("type: docker\nsharedVolumes: sometimes\n")
    assert "'sharedVolumes' must be true or false" in err.value.message


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(ConfigError) as err:
        parse('type: "local"\naddress: [unclosed\n')
    assert err.value.message.startswith("aml_config/t.compute: invalid YAML at line 2: while parsing a flow")


@pytest.mark.parametrize(
    ("address", "expected"),
    [("10.0.0.4", ("10.0.0.4", 22)), ("host:2222", ("host", 2222)), ("[::1]:2200", ("::1", 2200)),
     ("fe80::1", ("fe80::1", 22))],
)
def test_split_address(address, expected):
    assert split_address(address) == expected


@pytest.mark.parametrize(
    ("address", "problem"),
    [("127.0.0.1:99999", "port 99999 of '127.0.0.1:99999' is outside 1-65535"),
     ("host:0", "port 0 of 'host:0' is outside 1-65535"),
     ("host:ssh", "the port of 'host:ssh' is not a number"),
     ("host:²", "the port of 'host:²' is not a number"),  # str.isdigit() says yes; int() would agree
     ("host:", "'host:' has no port after ':'"),
     (":22", "':22' has no host name"),
     ("[::1]:70000", "port 70000 of '[::1]:70000' is outside 1-65535"),
     ("[::1]2200", "'[::1]2200' is not [IPv6 address] or [IPv6 address]:PORT")],
)
def test_a_port_outside_1_to_65535_or_not_a_number_is_refused(address, problem):
    with pytest.raises(ValueError) as err:
        split_address(address)
    assert str(err.value) == problem


def test_a_bad_port_in_a_compute_file_names_file_line_and_key():
    with pytest.raises(ConfigError) as err:
        parse_compute("t", "type: remote\nusername: u\naddress: 127.0.0.1:99999\n", display="aml_config/t.compute")
    assert err.value.message == ("aml_config/t.compute, line 3: address: port 99999 of '127.0.0.1:99999' is outside "
                                 "1-65535")
    assert err.value.hint == "write address: HOST, HOST:PORT or [IPv6]:PORT, with a port in 1-65535"


def test_text_values_keep_their_source_text():
    """A clear-text password `0123` was 83; a user name `1.10` was 1.1."""
    compute = parse_compute("t", "type: remote\naddress: h\nusername: 1.10\npassword: 0123\n", display="t.compute")
    assert (compute.username, compute.password) == ("1.10", "0123")
