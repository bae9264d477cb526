"""Issue 4 phase 2, pure parts: the conda builder stage, which lock an image uses, the lock summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amlexec.environment.condapkg import BaseInterpreter
from amlexec.environment.dockerfile import (
    CondaContext,
    CondaRecipe,
    PipMode,
    Recipe,
    context_files,
    render_dockerfile,
    render_tool_dockerfile,
    tool_context_files,
)
from amlexec.environment.imagelock import ImagePython, LockWishes, disagreement, on_the_fly_options
from amlexec.environment.lockfile import LockOptions, read_lock_summary, render_lock
from amlexec.environment.piplock import PipRecord
from amlexec.environment.solver import SolvedRecord, with_overrides
from amlexec.errors import ConfigError
from amlexec.image.tags import render_dockerfile_template_digest

IMAGE = ImagePython("3.11.2", "23.0.1", "2.36")
DEPS = "aml_config/conda_dependencies.yml"
LOCK = "aml_config/conda-lock.yml"
WHEEL = "py_rattler-0.28.0-cp310-abi3-manylinux_2_17_x86_64.whl"


def recipe(conda_python: bool, pip: PipMode = PipMode.offline) -> Recipe:
    return Recipe(base="sha256:abc", interpreter="/usr/bin/python3", pip=pip, labels=(("amlexec", "1"),),
                  conda=CondaRecipe("sha256:tool", conda_python=conda_python))


def test_tool_image_unpacks_py_rattler_once_per_project_and_base(tmp_path: Path):
    text = render_tool_dockerfile("sha256:abc", "/usr/bin/python3", WHEEL, (("amlexec.project", "p"),))
    assert text.splitlines()[1:] == [
        "FROM sha256:abc",
        "COPY conda/tool/ /opt/amlexec/conda/tool/",
        f'RUN ["/usr/bin/python3", "-m", "zipfile", "-e", "/opt/amlexec/conda/tool/{WHEEL}", '
        '"/opt/amlexec/conda/site"]',
        'LABEL "amlexec.project"="p"',
    ]
    wheel = tmp_path / WHEEL
    wheel.write_bytes(b"w")
    assert sorted(tool_context_files("sha256:abc", "/usr/bin/python3", wheel, ())) == [
        "Dockerfile", f"conda/tool/{WHEEL}"]


def test_builder_stage_installs_the_staged_lock_then_the_final_stage_copies_it():
    lines = render_dockerfile(recipe(conda_python=False)).splitlines()
    froms = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert [lines[i] for i in froms] == ["FROM sha256:tool AS amlexec-conda", "FROM sha256:abc"]
    builder, final = lines[froms[0]:froms[1]], lines[froms[1]:]
    assert builder[1:3] == [
        "COPY conda/data/ /opt/amlexec/conda/data/",
        'RUN ["/usr/bin/python3", "/opt/amlexec/conda/data/rattler_child.py", "--request", '
        '"/opt/amlexec/conda/data/install.json", "--site", "/opt/amlexec/conda/site"]',
    ]
    assert builder[3].startswith('LABEL "amlexec"="1"')  # so `experiment clean` finds an interrupted build's stage
    steps = [line for line in final if not line.startswith("#")]
    assert steps[1] == 'RUN ["/usr/bin/python3", "-m", "venv", "/opt/amlexec/env"]'  # cached across locks
    assert steps[2] == "COPY --from=amlexec-conda /opt/amlexec/env/ /opt/amlexec/env/"
    assert steps[3] == "COPY pip/ /opt/amlexec/pip/" and "--require-hashes" in steps[4]  # pip after conda


def test_conda_python_needs_no_venv():
    text = render_dockerfile(recipe(conda_python=True, pip=PipMode.none))
    final = text.split("FROM sha256:abc\n", 1)[1]
    assert "venv" not in final.split("ENV", 1)[0]
    assert "COPY --from=amlexec-conda /opt/amlexec/env/ /opt/amlexec/env/" in final


def test_without_a_conda_stage_the_dockerfile_is_unchanged():
    plain = Recipe(base="sha256:abc", interpreter="/usr/bin/python3", pip=PipMode.none)
    assert "AS amlexec-conda" not in render_dockerfile(plain) and render_dockerfile(plain).count("FROM") == 1


def test_template_digest_covers_the_conda_stage(monkeypatch):
    import amlexec.environment.dockerfile as dockerfile

    before = render_dockerfile_template_digest()
    monkeypatch.setattr(dockerfile, "CONDA_CACHE", "/elsewhere")
    assert render_dockerfile_template_digest() == before  # the request carries the cache dir, not the file
    monkeypatch.setattr(dockerfile, "CONDA_STAGE", "renamed")
    assert render_dockerfile_template_digest() != before


def test_context_holds_channel_request_and_child(tmp_path: Path):
    channel = tmp_path / "channel"
    (channel / "noarch").mkdir(parents=True)
    (channel / "noarch" / "repodata.json").write_text("{}")
    (channel / "noarch" / "a-1-0.tar.bz2").write_bytes(b"a")
    child = tmp_path / "rattler_child.py"
    child.write_text("")
    conda = CondaContext(rattler_child=child, channel_dir=channel, request=b"{}")
    files = context_files(recipe(False, PipMode.none), plan=None, conda=conda)  # type: ignore[arg-type]
    assert sorted(files) == ["Dockerfile", "conda/data/channel/noarch/a-1-0.tar.bz2",
                             "conda/data/channel/noarch/repodata.json", "conda/data/install.json",
                             "conda/data/rattler_child.py"]
    with pytest.raises(ValueError, match="staged channel"):
        context_files(recipe(False, PipMode.none), plan=None)  # type: ignore[arg-type]


def _record(name: str, version: str, build: str = "py_0", url: str | None = None) -> SolvedRecord:
    url = url or f"https://conda.anaconda.org/c/noarch/{name}-{version}-{build}.tar.bz2"
    return SolvedRecord(name=name, version=version, build=build, build_number=0, subdir="noarch", url=url,
                        file_name=url.rsplit("/", 1)[-1], md5="0" * 32, sha256="1" * 64, depends=(),
                        dependencies=(), noarch="python")


def write_lock(path: Path, *, options: LockOptions, conda=(), pip=(), fingerprint="f", pip_python=None,
               source="conda_dependencies.yml") -> Path:
    path.write_text(render_lock(lock_path=path, source=source, fingerprint=fingerprint, channels=("c",),
                                options=options, conda=list(conda), pip=list(pip), pip_python=pip_python,
                                relock="amlexec env lock"))
    return path


STANDINS = LockOptions(interpreter=BaseInterpreter("3.11.2", "23.0.1"))
PY_STANDIN = _record("python", "3.11.2", "amlexec_base_image_0_cpython",
                     "file:///amlexec-base-image-interpreter/linux-64/python-3.11.2-amlexec_base_image_0_cpython.tar.bz2")


def test_summary_reads_what_prepare_needs_and_digests_what_gets_installed(tmp_path: Path):
    one = write_lock(tmp_path / "one.yml", options=STANDINS, conda=[PY_STANDIN, _record("alpha", "1.0")],
                     pip=[PipRecord("six", "1.16.0", "https://f/six.whl", "ab")], pip_python="3.11.2")
    summary = read_lock_summary(one)
    assert summary.fingerprint == "f" and summary.options == STANDINS and summary.pip_python == "3.11.2"
    assert summary.pip == (("six", "1.16.0"),) and [c[0] for c in summary.conda] == ["alpha", "python"]
    assert summary.installs_conda and not summary.conda_python
    # the same packages from another place (another `sources`, a comment) are the same environment
    other = write_lock(tmp_path / "other.yml", options=STANDINS, conda=[_record("alpha", "1.0"), PY_STANDIN],
                       pip=[PipRecord("six", "1.16.0", "https://f/six.whl", "ab")], pip_python="3.11.2",
                       source="../../aml_config/conda_dependencies.yml")
    other.write_text("# moved\n" + other.read_text())
    assert read_lock_summary(other).digest == summary.digest
    changed = write_lock(tmp_path / "changed.yml", options=STANDINS, conda=[PY_STANDIN, _record("alpha", "2.0")],
                         pip=[PipRecord("six", "1.16.0", "https://f/six.whl", "ab")], pip_python="3.11.2")
    assert read_lock_summary(changed).digest != summary.digest


def test_only_standins_need_no_builder_stage_and_a_real_python_is_condas(tmp_path: Path):
    standins = read_lock_summary(write_lock(tmp_path / "s.yml", options=STANDINS, conda=[PY_STANDIN]))
    assert not standins.installs_conda and not standins.conda_python
    real = read_lock_summary(write_lock(tmp_path / "r.yml", options=LockOptions(),
                                        conda=[_record("python", "3.12.3", "h1234_0_cpython")]))
    assert real.installs_conda and real.conda_python


def test_summary_refuses_what_is_not_a_lock(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 2\nmetadata: {}\n")
    with pytest.raises(ConfigError, match=r"bad\.yml is not a valid conda-lock file"):
        read_lock_summary(bad)


NO_WISHES = LockWishes()


def check(tmp_path: Path, *, options=STANDINS, image=IMAGE, wishes=NO_WISHES, fingerprint="f", **lock):
    summary = read_lock_summary(write_lock(tmp_path / "l.yml", options=options, **lock))
    return disagreement(summary, fingerprint=fingerprint, deps_display=DEPS, lock_display=LOCK, python=image,
                        wishes=wishes)


def test_a_matching_lock_is_used(tmp_path: Path):
    assert check(tmp_path, conda=[PY_STANDIN]) is None


def test_a_changed_file_is_stale_and_relocks_for_this_image(tmp_path: Path):
    reason, options = check(tmp_path, fingerprint="g", options=LockOptions(interpreter=BaseInterpreter("3.11.7")))
    assert reason == f"{DEPS} has changed since {LOCK} was written"
    assert options.interpreter == BaseInterpreter("3.11.2", "23.0.1")  # the relock describes the real image


def test_a_lock_for_another_interpreter_names_both(tmp_path: Path):
    reason, _ = check(tmp_path, options=LockOptions(interpreter=BaseInterpreter("3.11.7", "24.0")))
    assert reason == (f"{LOCK} describes the base image's interpreter as Python 3.11.7 with pip 24.0, but the base "
                      "image has Python 3.11.2 with pip 23.0.1")


def test_wheels_for_another_python_and_a_newer_glibc_are_refused(tmp_path: Path):
    pypi = LockOptions(conda_from_pypi=True)
    reason, _ = check(tmp_path, options=pypi, pip=[PipRecord("six", "1", "u", "ab")], pip_python="3.12")
    assert reason == f"{LOCK} holds wheels for Python 3.12, but the base image has Python 3.11.2"
    old = ImagePython("3.11.2", "23.0.1", "2.31")
    reason, options = check(tmp_path, options=LockOptions(), image=old)
    assert reason == f"{LOCK} was solved for glibc 2.36, but the base image has glibc 2.31"
    assert "--virtual-package __glibc=2.31" in " ".join(options.cli_args())


def test_options_asked_for_must_be_the_locks(tmp_path: Path):
    reason, options = check(tmp_path, options=LockOptions(), wishes=LockWishes(python_from_base_image=True))
    assert reason == f"{LOCK} was made without --python-from-base-image"
    assert options.interpreter == BaseInterpreter("3.11.2", "23.0.1")
    reason, options = check(tmp_path, options=STANDINS, wishes=LockWishes(conda_from_pypi=True))
    assert reason == f"{LOCK} was made without --conda-from-pypi" and options.conda_from_pypi


def test_on_the_fly_options_describe_the_base_image():
    assert on_the_fly_options(IMAGE, LockWishes()) == LockOptions()  # bookworm is the default target
    options = on_the_fly_options(ImagePython("3.10.12", "22.0.2", "2.35"), LockWishes(conda_from_pypi=True))
    assert options.interpreter == BaseInterpreter("3.10.12", "22.0.2") and options.conda_from_pypi
    assert options.virtual_packages == with_overrides(["__glibc=2.35"])


def test_install_request_pins_every_package_by_hash(tmp_path: Path):
    from amlexec.environment.buildcontext import install_request
    from amlexec.environment.lockfile import read_lock

    path = write_lock(tmp_path / "l.yml", options=STANDINS, conda=[PY_STANDIN, _record("alpha", "1.0")])
    request = install_request(read_lock(path), channel_url="file:///opt/amlexec/conda/data/channel",
                              prefix="/opt/amlexec/env", cache_dir="/tmp/c", timeout=60)
    assert request["specs"] == ["alpha ==1.0 py_0", "python ==3.11.2 amlexec_base_image_0_cpython"]
    assert request["expect"]["alpha"] == {"sha256": "1" * 64, "md5": "0" * 32}
    assert json.loads(json.dumps(request)) == request  # what goes into the context as install.json


def test_build_finds_the_dangling_images_of_earlier_stages():
    import io

    from amlexec.image.build import _consume, _Outcome
    from amlexec.image.progress import BuildDisplay

    outcome = _Outcome()
    display = BuildDisplay(lambda _: None, live=False)
    stream = ["Step 1/6 : FROM sha256:aaa AS amlexec-conda", " ---> 111111111111", "Step 2/6 : RUN x",
              " ---> 222222222222", "Step 3/6 : LABEL a=b", " ---> 333333333333", "Step 4/6 : FROM sha256:aaa",
              " ---> 111111111111", "Step 5/6 : COPY --from=amlexec-conda /a /a", " ---> 444444444444",
              "Step 6/6 : ENV X=1", " ---> 555555555555"]
    for line in stream:
        _consume({"stream": line + "\n"}, io.StringIO(), display, outcome)
    assert outcome.stage_images == ["333333333333"]  # the builder's last image; the final one gets the tag
    assert outcome.from_images == {"111111111111"}  # base images are never removed
