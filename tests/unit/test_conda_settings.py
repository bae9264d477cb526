"""Channel map, stand-in packages, lock options and the lock file format (no solver: pure functions)."""

from __future__ import annotations

import bz2
import io
import json
import tarfile
from pathlib import Path

import pytest

from amlexec.environment.channels import ChannelMap, canonical_url, load_channel_map, parse_env_map
from amlexec.environment.condapkg import BaseInterpreter, is_standin, write_standins
from amlexec.environment.lockfile import LockOptions, check_lock, lock_path_for, read_lock, relock_command, render_lock
from amlexec.environment.piplock import PipRecord, pip_argv, records_from_report
from amlexec.environment.solver import SolvedRecord, parse_virtual_package, with_overrides
from amlexec.errors import ConfigError, NotFoundError, UsageError


def test_canonical_channel_urls():
    assert canonical_url("conda-forge") == "https://conda.anaconda.org/conda-forge"
    assert canonical_url("conda-forge/label/dev/") == "https://conda.anaconda.org/conda-forge/label/dev"
    assert canonical_url("defaults") == "https://repo.anaconda.com/pkgs/main"
    assert canonical_url("/srv/mirror") == "file:///srv/mirror"
    assert canonical_url("https://mirror.corp/cf/") == "https://mirror.corp/cf"


def test_channel_map_from_env_and_config_file(isolated_home: Path):
    (isolated_home / "config.yml").write_text(
        "conda:\n  channel_map:\n    conda-forge: /ignored/because/env/wins\n"
        "    https://conda.anaconda.org: https://mirror.corp/conda\n")
    cmap = load_channel_map({"AMLEXEC_CHANNEL_MAP": "conda-forge=file:///srv/cf, bioconda=/srv/bio"})
    assert cmap.to_mirror("https://conda.anaconda.org/conda-forge/noarch/x.tar.bz2") == "file:///srv/cf/noarch/x.tar.bz2"
    assert cmap.to_mirror("https://conda.anaconda.org/bioconda") == "file:///srv/bio"
    # a prefix key covers every channel below it; the longest key wins
    assert cmap.to_mirror("https://conda.anaconda.org/pytorch/linux-64/a.conda") == \
        "https://mirror.corp/conda/pytorch/linux-64/a.conda"
    assert cmap.to_canonical("file:///srv/cf/noarch/x.tar.bz2") == \
        "https://conda.anaconda.org/conda-forge/noarch/x.tar.bz2"
    assert cmap.to_mirror("https://conda.anaconda.org/conda-forgeX/a") == "https://mirror.corp/conda/conda-forgeX/a"
    assert cmap.describe("conda-forge") == "conda-forge (mapped to file:///srv/cf by AMLEXEC_CHANNEL_MAP)"
    assert cmap.describe("pytorch").endswith(f"by {isolated_home / 'config.yml'})")


def test_unmapped_channels_pass_through():
    cmap = ChannelMap()
    assert cmap.to_mirror("https://conda.anaconda.org/conda-forge/a") == "https://conda.anaconda.org/conda-forge/a"
    assert cmap.describe("conda-forge") == "conda-forge"


@pytest.mark.parametrize(("text", "message"), [
    ("conda-forge", "AMLEXEC_CHANNEL_MAP: 'conda-forge' is not CHANNEL=URL"),
    ("conda-forge=relative/path", "AMLEXEC_CHANNEL_MAP: 'conda-forge' maps to 'relative/path', which is neither a "
                                  "URL nor an absolute path"),
])
def test_bad_channel_maps_are_config_errors(text, message):
    with pytest.raises(ConfigError) as err:
        load_channel_map({"AMLEXEC_CHANNEL_MAP": text})
    assert err.value.message == message


def test_env_map_syntax():
    assert parse_env_map("a=file:///x,,b=https://y/z") == [("a", "file:///x"), ("b", "https://y/z")]


def test_virtual_packages_default_to_bookworm_and_take_overrides():
    assert [str(v) for v in with_overrides([])] == ["__archspec=1=x86_64", "__glibc=2.36", "__linux=6.1", "__unix=0"]
    assert [str(v) for v in with_overrides(["__glibc=2.31", "__cuda=12.2"])] == [
        "__archspec=1=x86_64", "__cuda=12.2", "__glibc=2.31", "__linux=6.1", "__unix=0"]
    with pytest.raises(UsageError, match="'glibc=2' is not a virtual package"):
        parse_virtual_package("glibc=2")


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(bz2.decompress(path.read_bytes()))) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_standins_are_reproducible_and_describe_the_interpreter(tmp_path: Path):
    first = write_standins(tmp_path / "a", BaseInterpreter("3.11.2", "23.0.1"))
    second = write_standins(tmp_path / "b", BaseInterpreter("3.11.2", "23.0.1"))
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert [p.relative_to(tmp_path / "a").as_posix() for p in first] == [
        "linux-64/python-3.11.2-amlexec_base_image_0_cpython.tar.bz2",
        "noarch/pip-23.0.1-amlexec_base_image_0.tar.bz2"]
    index = json.loads(_members(first[0])["info/index.json"])
    assert (index["name"], index["version"], index["subdir"]) == ("python", "3.11.2", "linux-64")
    assert json.loads(_members(first[1])["info/index.json"])["depends"] == ["python"]
    assert is_standin(index["build"]) and not is_standin("py_0")


@pytest.mark.parametrize("version", ["3", "3.x", "python3.11", "3.11.2.1"])
def test_interpreter_versions_are_checked(version):
    with pytest.raises(UsageError, match=f"'{version}' is not a python version for --python-from-base-image"):
        BaseInterpreter(version)


def test_lock_paths():
    assert lock_path_for(Path("p/aml_config/conda_dependencies.yml")) == Path("p/aml_config/conda-lock.yml")
    assert lock_path_for(Path("p/aml_config/gpu.yml")) == Path("p/aml_config/gpu.conda-lock.yml")


def test_relock_command_repeats_the_options():
    options = LockOptions(virtual_packages=with_overrides(["__glibc=2.31"]),
                          interpreter=BaseInterpreter("3.11.2", "24.0"), conda_from_pypi=True)
    assert relock_command("aml_config/conda_dependencies.yml", options) == (
        "amlexec env lock -d aml_config/conda_dependencies.yml --python-from-base-image 3.11.2 --base-image-pip 24.0 "
        "--conda-from-pypi --virtual-package __glibc=2.31")
    assert LockOptions.from_metadata(options.to_metadata()) == options
    assert relock_command("my deps.yml", LockOptions()) == "amlexec env lock -d 'my deps.yml'"


def test_lock_resolution_describes_the_target_like_offline_downloads(tmp_path):
    argv = pip_argv(["six"], python_version="3.11.2", glibc="2.36", target=tmp_path)
    tags = [argv[i + 1] for i, a in enumerate(argv) if a == "--platform"]
    assert tags[0] == "manylinux_2_36_x86_64" and "manylinux_2_17_x86_64" in tags and "manylinux1_x86_64" in tags
    assert tags[-1] == "any"
    assert argv[argv.index("--python-version") + 1] == "3.11" and argv[argv.index("--abi") + 1] == "cp311"
    assert argv[-1] == "six"


def test_pip_report_becomes_records():
    report = {"install": [
        {"metadata": {"name": "Scikit_Learn", "version": "1.5.2", "requires_dist": ["numpy>=1.19.5", "pytest; "
                      "extra == 'tests'", "scikit-learn[docs]; extra == 'all'"]},
         "download_info": {"url": "https://files/x.whl", "archive_info": {"hashes": {"sha256": "ab"}}}},
        {"metadata": {"name": "numpy", "version": "1.26.4"},
         "download_info": {"url": "https://files/n.whl", "archive_info": {"hash": "sha256=cd"}}},
    ]}
    assert records_from_report(report) == [
        PipRecord("numpy", "1.26.4", "https://files/n.whl", "cd"),
        PipRecord("scikit-learn", "1.5.2", "https://files/x.whl", "ab", (("numpy", ">=1.19.5"),))]
    assert PipRecord("numpy", "1.26.4", "u", "cd").requirement_line == "numpy==1.26.4 --hash=sha256:cd"


def _record(name: str, version: str, depends: tuple[tuple[str, str], ...] = ()) -> SolvedRecord:
    return SolvedRecord(name=name, version=version, build="py_0", build_number=0, subdir="noarch",
                        url=f"https://conda.anaconda.org/c/noarch/{name}-{version}-py_0.tar.bz2",
                        file_name=f"{name}-{version}-py_0.tar.bz2", md5="0" * 32, sha256="1" * 64,
                        depends=tuple(f"{k} {v}" for k, v in depends), dependencies=depends, noarch="python")


def test_lock_round_trips_through_conda_locks_models(tmp_path: Path):
    path = tmp_path / "conda-lock.yml"
    conda = [_record("beta", "1.0", (("alpha", ">=1.0,<2"),)), _record("alpha", "1.0")]
    pip = [PipRecord("requests", "2.31.0", "https://files/r.whl", "ef")]
    kwargs = {"lock_path": path, "source": "conda_dependencies.yml", "fingerprint": "f" * 64, "channels": ("c",),
              "options": LockOptions(), "conda": conda, "pip": pip, "pip_python": "3.11", "relock": "amlexec env lock"}
    text = render_lock(**kwargs)
    assert text == render_lock(**{**kwargs, "conda": list(reversed(conda))})  # order of the solution is irrelevant
    assert text.startswith("# Written by amlexec from conda_dependencies.yml; do not edit.")
    assert "created_at" not in text  # nothing that changes from one run to the next
    path.write_text(text)
    lock = read_lock(path)
    assert [(c.name, c.version, c.subdir, c.file_name) for c in lock.conda] == [
        ("alpha", "1.0", "noarch", "alpha-1.0-py_0.tar.bz2"), ("beta", "1.0", "noarch", "beta-1.0-py_0.tar.bz2")]
    assert lock.pip == (PipRecord("requests", "2.31.0", "https://files/r.whl", "ef"),)
    assert (lock.fingerprint, lock.pip_python, lock.options) == ("f" * 64, "3.11", LockOptions())


def test_check_lock_states(tmp_path: Path):
    path = tmp_path / "conda-lock.yml"
    common = {"deps_display": "aml_config/conda_dependencies.yml", "lock_display": "aml_config/conda-lock.yml"}
    missing = check_lock(path, fingerprint="a", **common)
    assert (missing.state, missing.relock) == ("missing", "amlexec env lock -d aml_config/conda_dependencies.yml")
    path.write_text(render_lock(lock_path=path, source="conda_dependencies.yml", fingerprint="a", channels=(),
                                options=LockOptions(interpreter=BaseInterpreter("3.11.2")), conda=[], pip=[],
                                pip_python=None, relock="x"))
    assert check_lock(path, fingerprint="a", **common).state == "fresh"
    stale = check_lock(path, fingerprint="b", **common)
    assert stale.state == "stale"
    assert stale.reason == "aml_config/conda_dependencies.yml has changed since aml_config/conda-lock.yml was written"
    assert stale.relock == "amlexec env lock -d aml_config/conda_dependencies.yml --python-from-base-image 3.11.2"
    other = check_lock(path, fingerprint="a", options=LockOptions(), **common)
    assert other.state == "stale" and "was made with other options" in other.reason


def test_unreadable_locks_are_config_errors(tmp_path: Path):
    path = tmp_path / "conda-lock.yml"
    path.write_text("version: 7\npackage: []\n")
    with pytest.raises(ConfigError, match=r"conda-lock\.yml is not a valid conda-lock file: .* unknown version 7"):
        read_lock(path, display="conda-lock.yml")
    with pytest.raises(NotFoundError, match=r"nope\.yml does not exist"):
        read_lock(tmp_path / "nope.yml", display="nope.yml")
