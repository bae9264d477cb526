"""Offline-mode precedence, the base image recipe's shell twin, and engine lookups over a unix socket."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
from unixserver import Handler, serving

from amlexec.config.compute import parse_compute, render_compute
from amlexec.errors import ConfigError, UnavailableError, UsageError
from amlexec.image.bootstrap import RECIPES, mmdebstrap_argv
from amlexec.image.engine import SocketLookup, local_socket
from amlexec.targets.docker.target import offline_setting

REPO = Path(__file__).resolve().parents[2]


def compute(extra: str = ""):
    return parse_compute("docker", f"type: docker\nbaseDockerImage: amlexec/base:bookworm\n{extra}",
                         display="aml_config/docker.compute")


def test_offline_precedence(monkeypatch):
    monkeypatch.delenv("AMLEXEC_OFFLINE", raising=False)
    assert offline_setting(None, compute()) is False
    assert offline_setting(None, compute("offlineBuild: true\n")) is True
    monkeypatch.setenv("AMLEXEC_OFFLINE", "0")
    assert offline_setting(None, compute("offlineBuild: true\n")) is False
    monkeypatch.setenv("AMLEXEC_OFFLINE", "yes")
    assert offline_setting(None, compute()) is True
    assert offline_setting(False, compute("offlineBuild: true\n")) is False
    monkeypatch.setenv("AMLEXEC_OFFLINE", "maybe")
    with pytest.raises(UsageError, match="AMLEXEC_OFFLINE='maybe'"):
        offline_setting(None, compute())


def test_offline_build_key_round_trips_and_typos_are_caught():
    assert "offlineBuild: true" in render_compute(compute("offlineBuild: true\n"))
    assert "offlineBuild" not in render_compute(compute())
    with pytest.raises(ConfigError, match="did you mean 'offlineBuild'"):
        compute("offlineBuilt: true\n")


@pytest.mark.parametrize(("name", "tag"), [("bookworm", "amlexec/base:bookworm"),
                                            ("bookworm-spark", "amlexec/base:bookworm-spark")])
def test_shell_recipe_matches_the_code(name, tag):
    """images/<name>.sh is what `amlexec image bootstrap [--spark]` runs; the two must not drift apart."""
    recipe = RECIPES[name]
    words = shlex.split((REPO / "images" / f"{name}.sh").read_text(), comments=True)
    start = words.index("mmdebstrap")
    assert words[start:start + 5] == mmdebstrap_argv(recipe)[:5]
    changes = [words[i + 1] for i, w in enumerate(words) if w == "--change"]
    assert changes == list(recipe.changes)
    assert recipe.tag == tag


def test_the_spark_base_adds_java_to_the_plain_one():
    from amlexec.image.bootstrap import recipe_for

    spark = recipe_for("bookworm", spark=True)
    assert spark.packages == (*RECIPES["bookworm"].packages, "openjdk-17-jre-headless")
    with pytest.raises(UsageError, match="no base image recipe for 'trixie-spark'"):
        recipe_for("trixie", spark=True)


@pytest.mark.parametrize("name", ["bookworm", "bookworm-spark"])
def test_shell_recipe_is_valid_sh(name):
    subprocess.run(["sh", "-n", str(REPO / "images" / f"{name}.sh")], check=True)


def test_docker_host_selects_the_socket(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert local_socket() == "/var/run/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    assert local_socket() == "/run/user/1000/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.4:2376")
    assert local_socket() is None


class _Engine(Handler):
    """A stand-in engine on a real unix socket, answering the one request SocketLookup makes."""

    images: ClassVar[dict[str, str]] = {"amlexec/base:bookworm": "sha256:" + "a" * 64}

    info_requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.path == "/info":
            self.info_requests.append(self.path)
            self.answer(200, json.dumps({"Name": "enginehost",
                                         "SecurityOptions": ["name=seccomp,profile=default"]}).encode())
            return
        name = self.path.split("/images/", 1)[-1].rsplit("/json", 1)[0]
        from urllib.parse import unquote

        image_id = self.images.get(unquote(name))
        if name == "broken":
            status, body = 500, {"message": "engine exploded"}
        elif image_id:
            status, body = 200, {"Id": image_id}
        else:
            status, body = 404, {"message": "no such image"}
        self.answer(status, json.dumps(body).encode())


@pytest.fixture()
def engine_socket(tmp_path):
    with serving(str(tmp_path / "docker.sock"), _Engine) as path:
        yield path


def test_socket_lookup(engine_socket):
    lookup = SocketLookup(engine_socket)
    assert lookup.image_id("amlexec/base:bookworm") == "sha256:" + "a" * 64
    assert lookup.image_id("amlexec-env/x:0123") is None
    with pytest.raises(UnavailableError, match="answered 500 for image broken: engine exploded"):
        lookup.image_id("broken")


def test_engine_facts_are_asked_once_per_engine_start(engine_socket, tmp_path, monkeypatch):
    from amlexec.image.engine import Engine

    monkeypatch.setenv("DOCKER_HOST", f"unix://{engine_socket}")
    _Engine.info_requests.clear()
    first = Engine.local().host_facts()
    assert (first["Name"], first["SecurityOptions"]) == ("enginehost", ["name=seccomp,profile=default"])
    assert Engine.local().host_facts() == first and len(_Engine.info_requests) == 1, "kept in the amlexec home"
    (tmp_path / "docker.pid").write_text("4242")  # the engine (re)started: its pid file beside the socket
    Engine.local().host_facts()
    assert len(_Engine.info_requests) == 2
    Engine.local().host_facts(fresh=True)
    assert len(_Engine.info_requests) == 3


def test_engine_down_is_one_clear_error(tmp_path):
    with pytest.raises(UnavailableError) as err:
        SocketLookup(str(tmp_path / "missing.sock")).image_id("x")
    assert err.value.message == (f"cannot reach the Docker engine at unix://{tmp_path}/missing.sock: "
                                 "no engine is listening (its socket does not exist)")
    assert "start the Docker engine" in err.value.hint


def test_importing_the_docker_target_does_not_import_the_sdk():
    code = ("import sys, amlexec.targets.docker.target, amlexec.image.environment_image, amlexec.runs.preparation;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'paramiko')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_check_validates_the_dependency_file_without_an_engine(tmp_path, monkeypatch):
    from amlexec.errors import ConfigError
    from amlexec.project import Project
    from amlexec.scaffold import scaffold
    from amlexec.targets.docker.target import DockerTarget

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # any engine use would fail
    scaffold(tmp_path / "p", base_image="amlexec/base:bookworm")
    project = Project(tmp_path / "p")
    target = DockerTarget(project.load_compute("docker"), project)
    rc = project.load_runconfig("docker")
    target.check(rc, None, None)
    (project.root / "conda.yml").write_text("dependencies:\n  - python=3.11\n  - numpy\n")
    target.check(rc, "conda.yml", None)  # conda packages are installed from a lock now
    (project.root / "bad.yml").write_text("dependencies:\n  - python=3.11\n  - numpy 1 2 3\n")
    with pytest.raises(ConfigError, match="is not a conda package spec"):
        target.check(rc, "bad.yml", None)
    # Framework: PySpark runs on Docker targets (issue 6); its spark_dependencies.yml is checked up front.
    (project.config_dir / "spark.runconfig").write_text("Target: docker\nFramework: PySpark\n")
    target.check(project.load_runconfig("spark"), None, None)
    (project.root / "bad_spark.yml").write_text("packages:\n  - group: g\n    artifact: a\n")
    with pytest.raises(ConfigError, match="packages\\[0\\] is missing 'version'"):
        target.check(project.load_runconfig("spark"), None, "bad_spark.yml")
