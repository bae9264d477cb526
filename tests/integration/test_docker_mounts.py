"""Issue 10 §4: on the local engine the run's folders are bind-mounted instead of copied in and out with
tars, when what the container writes there stays amlexec's to read and remove; otherwise (a non-root
amlexec on a rootful engine, a kept container) they are copied, as before. Both paths, on the real engine.
"""

from __future__ import annotations

import json
import os

import pytest
from dockerkit import base_image, docker_client, docker_project, venv_layer_cache  # noqa: F401  (fixtures)

pytestmark = pytest.mark.docker

# What the script sees of its folders, and files a root container leaves behind in them: nested folders
# under outputs/, a __pycache__ next to an imported module, a file outside outputs/.
PROBE = """\
import json, os
import helper
from azureml.logging import get_azureml_logger
mounts = {line.split()[4]: line.split()[5].split(",")[0] for line in open("/proc/self/mountinfo")}
get_azureml_logger().log("seen", 1)
os.makedirs("outputs/deep/er", exist_ok=True)
open("outputs/deep/er/result.txt", "w").write("é ✓")
open("scratch.txt", "w").write("not an output")
print(json.dumps({p: mounts.get(p) for p in ("/azureml-run", "/opt/amlexec/runtime", "/opt/amlexec/run")}))
"""


@pytest.fixture
def probe(docker_project):
    if os.geteuid() != 0:
        pytest.skip("the mounted path needs amlexec to run as root on this rootful engine")
    docker_project.write("probe.py", PROBE)
    docker_project.write("helper.py", "VALUE = 1\n")
    return docker_project


def run(project, **options):
    outcome = project.submit("probe.py", **options)
    assert outcome.result.exit_code == 0, outcome.stderr
    run_dir = project.root / ".amlexec" / "runs" / outcome.result.run_id
    assert (run_dir / "outputs" / "deep" / "er" / "result.txt").read_text() == "é ✓"
    assert json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])["name"] == "seen"
    assert not (run_dir / "scratch.txt").exists() and not (project.root / "scratch.txt").exists()
    assert list((project.root / ".amlexec" / "work").iterdir()) == [], "nothing left on this machine"
    return json.loads(outcome.stdout)


def test_the_run_folders_are_mounted_and_nothing_is_left_behind(probe):
    assert run(probe) == {"/azureml-run": "rw", "/opt/amlexec/runtime": "ro", "/opt/amlexec/run": "rw"}
    assert probe.containers() == []


def test_a_non_root_amlexec_copies_in_and_out_as_before(probe, monkeypatch):
    """Root-owned files in a folder of a non-root user could not be removed: copy, as before."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert run(probe) == {"/azureml-run": None, "/opt/amlexec/runtime": None, "/opt/amlexec/run": None}


def test_a_kept_container_holds_its_own_copy_of_the_run(probe):
    import io
    import tarfile

    seen = run(probe, keep_container=True)
    assert seen["/azureml-run"] is None, "docker cp and docker diff of a kept container show the run"
    (container,) = probe.containers()
    chunks, _ = probe.client.api.get_archive(container["Id"], "/azureml-run/scratch.txt")
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        member = tar.extractfile("scratch.txt")
        assert member is not None and member.read() == b"not an output"


def test_shared_volumes_mount_the_runtime_and_state_too(probe):
    probe.compute(sharedVolumes=True)
    assert run(probe) == {"/azureml-run": "rw", "/opt/amlexec/runtime": "ro", "/opt/amlexec/run": "rw"}


def test_engine_refusals_are_named_without_the_sdk(docker_project):
    """The local engine's own client (image.localapi) maps the engine's answers as the SDK did."""
    from amlexec.errors import NotFoundError, UnavailableError
    from amlexec.targets.base import target_for
    from amlexec.targets.docker.container import plan_container

    target = target_for(docker_project.project.load_compute("docker"), docker_project.project)
    prepared = docker_project.prepare()

    def plan(name: str, image: str):
        return plan_container(run_id=name, image=image, python="python3", argv=["-c", "pass"], env={},
                              labels={"amlexec.project_root": str(docker_project.root)},
                              workdir=docker_project.root, shared_volumes=False, shared_dir=None, gpus=False)

    from amlexec.image.environment_image import PreparedImage

    gone = PreparedImage(**{**prepared_fields(prepared), "ref": "amlexec-env/gone:0"})
    with pytest.raises(NotFoundError, match=r"the environment image amlexec-env/gone:0 disappeared"):
        target._start(plan("amlexec-test-gone", "sha256:" + "0" * 64), gone, target.engine.errors, snapshot=None)
    first = target._start(plan("amlexec-test-twice", prepared["image_id"]), gone, target.engine.errors,
                          snapshot=None)
    try:
        with pytest.raises(UnavailableError, match=r"could not create the run's container: .*already in use"):
            target._start(plan("amlexec-test-twice", prepared["image_id"]), gone, target.engine.errors,
                          snapshot=None)
    finally:
        target.engine.api.remove_container(first, force=True)


def prepared_fields(prepared: dict) -> dict:
    return {"ref": prepared["image"], "image_id": prepared["image_id"], "env_hash": "0", "built": False,
            "base_image": prepared["base_image"], "python_version": prepared["python_version"],
            "python": "/opt/amlexec/env/bin/python", "pip": prepared["pip"], "seconds": 0.0, "log_path": None}


def test_a_local_submit_imports_no_docker_sdk(docker_project):
    """`import docker` (requests, urllib3) was a quarter of a bare `docker run`: a submit that finds its
    image talks to the local engine with amlexec's own client only."""
    import subprocess
    import sys

    docker_project.write("noop.py", "")
    docker_project.prepare()
    code = ("import sys\nfrom amlexec.cli import main\nsys.argv = ['amlexec', 'experiment', 'submit', '-c', "
            "'docker', 'noop.py']\ntry:\n    code = main()\nexcept SystemExit as exc:\n    code = exc.code\n"
            "sys.stderr.write('SDK:%s CODE:%s\\n' % (sorted(m for m in ('docker', 'requests', 'urllib3') "
            "if m in sys.modules), code))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=docker_project.root, capture_output=True, text=True,
                          timeout=120)
    assert done.stderr.splitlines()[-1] == "SDK:[] CODE:0", done.stderr
