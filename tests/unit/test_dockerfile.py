"""The run environment's Dockerfile and build context, pinned."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from amlexec.config.dependencies import parse_conda
from amlexec.environment.dockerfile import (
    PipMode,
    Recipe,
    context_files,
    render_dockerfile,
    render_requirements,
    write_context,
)
from amlexec.environment.plan import plan_environment

HEAD = (
    "# amlexec run environment, recipe 1. Generated; do not edit.\n"
    "FROM sha256:abc\n"
    "# An isolated environment over the base image's interpreter, so packages never touch the system's.\n"
    'RUN ["/usr/bin/python3", "-m", "venv", "/opt/amlexec/env"]\n'
)
PIP = ('RUN ["/opt/amlexec/env/bin/python", "-m", "pip", "install", "--no-cache-dir", '
       '"--disable-pip-version-check", "--no-input", ')
TAIL = "ENV VIRTUAL_ENV=/opt/amlexec/env PATH=/opt/amlexec/env/bin:$PATH\n"


def recipe(pip: PipMode, labels: tuple[tuple[str, str], ...] = ()) -> Recipe:
    return Recipe(base="sha256:abc", interpreter="/usr/bin/python3", pip=pip, labels=labels)


def test_no_pip_packages_is_base_plus_an_empty_venv():
    assert render_dockerfile(recipe(PipMode.none)) == HEAD + TAIL


def test_online():
    assert render_dockerfile(recipe(PipMode.online)) == (
        HEAD + "COPY pip/ /opt/amlexec/pip/\n" + PIP + '"-r", "/opt/amlexec/pip/requirements.txt"]\n' + TAIL
    )


def test_offline_installs_only_hashed_local_wheels():
    assert render_dockerfile(recipe(PipMode.offline)) == (
        HEAD
        + "# Exactly the wheels the host downloaded, checked against their hashes; the build has no network.\n"
        + "COPY pip/ /opt/amlexec/pip/\n"
        + PIP + '"--no-index", "--find-links", "/opt/amlexec/pip/wheels", "--require-hashes", '
        '"-r", "/opt/amlexec/pip/requirements.lock"]\n'
        + TAIL
    )


def test_venv_layer_comes_before_anything_that_depends_on_the_packages():
    text = render_dockerfile(recipe(PipMode.online, (("amlexec.project", "p"),)))
    lines = text.splitlines()
    venv = next(i for i, ln in enumerate(lines) if "venv" in ln and ln.startswith("RUN"))
    copy = next(i for i, ln in enumerate(lines) if ln.startswith("COPY"))
    assert venv < copy
    assert lines[-1].startswith("LABEL"), "labels last, so they never invalidate cached layers"


def test_labels_are_quoted_so_the_parser_takes_them_literally():
    text = render_dockerfile(recipe(PipMode.none, (("amlexec.project_root", '/p/$HOME "q" \\b\nx'),)))
    assert text.splitlines()[-1] == 'LABEL "amlexec.project_root"="/p/\\$HOME \\"q\\" \\\\b x"'


def conda_plan(text: str, root: Path = Path("/nonexistent")):
    return plan_environment(parse_conda(text, display="c.yml"), display="c.yml", root=root)


def test_requirements_file_keeps_index_options_with_their_values():
    p = conda_plan("dependencies:\n  - pip:\n    - --index-url https://m.example/simple\n    - --pre\n"
                   "    - six==1.17.0\n")
    assert render_requirements(p) == ("# Written by amlexec from c.yml\n--index-url https://m.example/simple\n"
                                      "--pre\nsix==1.17.0\n")


def test_online_context_carries_local_wheels(tmp_path):
    wheel = tmp_path / "w-1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    p = conda_plan("dependencies:\n  - pip:\n    - ./w-1.0-py3-none-any.whl\n", root=tmp_path)
    files = context_files(recipe(PipMode.online), p)
    assert sorted(files) == ["Dockerfile", "pip/local/w-1.0-py3-none-any.whl", "pip/requirements.txt"]
    assert files["pip/requirements.txt"].endswith(b"\n/opt/amlexec/pip/local/w-1.0-py3-none-any.whl\n")


def test_offline_context_needs_the_downloads(tmp_path):
    p = conda_plan("dependencies:\n  - pip:\n    - six\n")
    with pytest.raises(ValueError):
        context_files(recipe(PipMode.offline), p)
    (tmp_path / "six-1.17.0-py2.py3-none-any.whl").write_bytes(b"z")
    files = context_files(recipe(PipMode.offline), p, wheels_dir=tmp_path, lock="six==1.17.0 --hash=sha256:x\n")
    assert sorted(files) == ["Dockerfile", "pip/requirements.lock", "pip/wheels/six-1.17.0-py2.py3-none-any.whl"]


def test_context_tar_is_reproducible_and_root_owned(tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"\x00" * 10)
    files = {"b.txt": b"b", "a/Dockerfile": b"FROM x\n", "z.bin": data}
    one, two = io.BytesIO(), io.BytesIO()
    write_context(files, one)
    data.touch()  # a newer mtime on disk must not change the context
    write_context(files, two)
    assert one.getvalue() == two.getvalue()
    with tarfile.open(fileobj=io.BytesIO(one.getvalue())) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["a/Dockerfile", "b.txt", "z.bin"]
    assert {(m.uid, m.gid, m.mtime, m.mode) for m in members} == {(0, 0, 0, 0o644)}
