"""The pure parts of the SSH transport: quoting, the env file, manifests, status parsing, and the helper
script's file verbs (POSIX sh, so they run here on the local machine exactly as on a host)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from amlexec.errors import StorageError, UsageError
from amlexec.transport import detached, sync
from amlexec.transport.hostkeys import host_entry_name
from amlexec.transport.remotehost import RemoteLayout, helper_name, helper_text

HOSTILE = {
    "QUOTES": "it's \"quoted\" and 'single'",
    "DOLLARS": "$HOME ${PATH} $(id) `id` $$",
    "SEMI": "a; echo pwned; b && c || d | e",
    "SPACES": "  two  spaces  around  ",
    "NEWLINE": "line one\nline two\n",
    "UNICODE": "naïve café ✓ 日本語 🚀",
    "BACKSLASH": "back\\slash \\n not a newline",
    "GLOB": "* ? [a-z] ~",
    "EMPTY": "",
}


def test_env_file_exports_every_value_byte_for_byte_through_a_real_shell(tmp_path: Path) -> None:
    env_path = tmp_path / "env"
    env_path.write_bytes(detached.env_file(HOSTILE, pythonpath="/r/runtime dir"))
    dump = "import os, sys, json; print(json.dumps({k: os.environb[k.encode()].hex() for k in sys.argv[1:]}))"
    out = subprocess.run(["sh", "-c", '. "$1" && shift && exec "$@"', "sh", str(env_path), sys.executable, "-c", dump,
                          *sorted(HOSTILE)],
                         capture_output=True, check=True, env={"PATH": os.environ["PATH"], "PYTHONPATH": "/old"})
    got = json.loads(out.stdout)
    assert {k: bytes.fromhex(v).decode() for k, v in got.items()} == HOSTILE
    pp = subprocess.run(["sh", "-c", '. "$1" && printf %s "$PYTHONPATH"', "sh", str(env_path)],
                        capture_output=True, check=True, env={"PYTHONPATH": "/old"}).stdout
    assert pp == b"/r/runtime dir:/old"


def test_env_file_rejects_names_a_shell_cannot_export() -> None:
    with pytest.raises(UsageError, match="cannot be exported"):
        detached.env_file({"BAD-NAME": "x"}, source="x.runconfig")
    with pytest.raises(UsageError, match="NUL"):
        detached.env_file({"OK": "a\0b"})


@pytest.mark.parametrize(("text", "state", "code", "pgid"), [
    ("exited 0\n", "exited", 0, None), ("exited 143", "exited", 143, None), ("running 4242\n", "running", None, 4242),
    ("vanished\n", "vanished", None, None), ("missing", "missing", None, None),
])
def test_parse_status(text: str, state: str, code: int | None, pgid: int | None) -> None:
    assert detached.parse_status(text) == detached.RemoteStatus(state, code=code, pgid=pgid)


def test_parse_status_refuses_garbage() -> None:
    with pytest.raises(StorageError):
        detached.parse_status("sh: 1: syntax error")


def test_materialize_script_quotes_every_word() -> None:
    entries = [sync.Entry("project/a b/it's $x;.py", digest="ab" * 32),
               sync.Entry("project/run.sh", mode=0o755, digest="cd" * 32),
               sync.Entry("project/link", link_target="../$(rm -rf ~)")]
    lines = sync.materialize_script(entries).decode().splitlines()
    assert [shlex.split(line) for line in lines] == [
        ["d", "project/a b"],
        ["d", "project"],
        ["f", "ab" * 32, "project/a b/it's $x;.py"],
        ["l", "../$(rm -rf ~)", "project/link"],
        ["x", "cd" * 32, "755", "project/run.sh"],
    ]


def test_manifest_diff_carries_only_changed_lines_and_new_digests() -> None:
    old = sync.from_bytes({"project/a.py": b"1", "project/b.py": b"2", "project/gone.py": b"3"})
    new = sync.from_bytes({"project/a.py": b"1", "project/b.py": b"2 edited", "project/sub/new.py": b"4"})
    diff = sync.manifest_diff(sync.materialize_script(old), sync.materialize_script(new))
    assert sorted(diff.decode().splitlines()) == sorted([
        f"-f {hashlib.sha256(b'2').hexdigest()} project/b.py",
        f"-f {hashlib.sha256(b'3').hexdigest()} project/gone.py",
        f"+f {hashlib.sha256(b'2 edited').hexdigest()} project/b.py",
        f"+f {hashlib.sha256(b'4').hexdigest()} project/sub/new.py",
        "+d project/sub",
    ])
    assert sorted(sync._added_digests(diff)) == sorted(hashlib.sha256(x).hexdigest() for x in (b"2 edited", b"4"))


def test_scan_hashes_files_keeps_modes_and_symlinks(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.txt").write_bytes(b"hello")
    (tmp_path / "tool.sh").write_bytes(b"#!/bin/sh\n")
    (tmp_path / "tool.sh").chmod(0o755)
    os.symlink("sub/data.txt", tmp_path / "alias")
    got = {e.path: e for e in sync.scan(tmp_path, prefix="project/")}
    assert set(got) == {"project/alias", "project/sub/data.txt", "project/tool.sh"}
    assert got["project/sub/data.txt"].digest == hashlib.sha256(b"hello").hexdigest()
    assert got["project/tool.sh"].mode == 0o755
    assert got["project/alias"].link_target == "sub/data.txt" and got["project/alias"].digest is None


def test_digests_are_deduplicated_in_order() -> None:
    entries = sync.from_bytes({"b": b"same", "a": b"same", "c": b"other"})
    assert sync.digests(entries) == [hashlib.sha256(b"same").hexdigest(), hashlib.sha256(b"other").hexdigest()]


def test_tar_stream_is_a_valid_archive_without_record_padding(tmp_path: Path) -> None:
    entries = sync.from_bytes({"x": b"x" * 700, "y": b""})
    counted: list[int] = []
    buf = io.BytesIO()
    sync._tar_writer(entries, counted)(buf)
    data = buf.getvalue()
    assert counted == [len(data)]
    assert len(data) == 512 + 1024 + 512 + 1024  # header + padded 700 bytes, header + nothing, end blocks
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert {m.name: tar.extractfile(m).read() for m in tar.getmembers()} == {  # type: ignore[union-attr]
            e.digest: e.data for e in entries}


def _helper(tmp_path: Path) -> Path:
    path = tmp_path / helper_name()
    path.write_bytes(helper_text())
    return path


def test_helper_stores_checked_objects_and_materializes_a_run_folder(tmp_path: Path) -> None:
    helper, objects = _helper(tmp_path), tmp_path / "store" / "objects"
    entries = sync.from_bytes({"project/a.txt": b"alpha", "project/deep/er/b.bin": bytes(range(256))})
    entries.append(sync.Entry("project/a copy.txt", digest=entries[0].digest))
    query = gzip.compress("\n".join(sync.digests(entries)).encode())
    missing = subprocess.run(["sh", str(helper), "missing", str(objects), "14"], input=query,
                             capture_output=True, check=True).stdout.split()
    assert sorted(missing) == sorted(d.encode() for d in sync.digests(entries))
    buf = io.BytesIO()
    sync._tar_writer([e for e in entries if e.data is not None], [])(buf)
    subprocess.run(["sh", str(helper), "receive", str(objects)], input=buf.getvalue(), check=True)
    again = subprocess.run(["sh", str(helper), "missing", str(objects), "14"], input=query,
                           capture_output=True, check=True).stdout
    assert again == b""
    dest = tmp_path / "store" / "runs" / "r1"
    subprocess.run(["sh", str(helper), "materialize", str(objects), str(dest), "", ""],
                   input=gzip.compress(sync.materialize_script(entries)), check=True)
    assert (dest / "project" / "a copy.txt").read_bytes() == b"alpha"
    assert (dest / "project" / "deep" / "er" / "b.bin").read_bytes() == bytes(range(256))
    # A run rewriting its copy must not touch the store.
    (dest / "project" / "a.txt").write_bytes(b"changed")
    assert (objects / entries[0].digest).read_bytes() == b"alpha"  # type: ignore[operator]


def _store(helper: Path, objects: Path, entries: list[sync.Entry]) -> None:
    buf = io.BytesIO()
    sync._tar_writer([e for e in entries if e.data is not None], [])(buf)
    subprocess.run(["sh", str(helper), "receive", str(objects)], input=buf.getvalue(), check=True)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_helper_rebuilds_a_manifest_from_its_stored_base_and_a_diff(tmp_path: Path) -> None:
    helper, objects = _helper(tmp_path), tmp_path / "store" / "objects"
    old = sync.from_bytes({"project/a.py": b"1", "project/b.py": b"2", "project/gone.py": b"3"})
    new = sync.from_bytes({"project/a.py": b"1", "project/b.py": b"2 edited", "project/sub/new.py": b"4"})
    _store(helper, objects, old + new)
    base, manifest = sync.materialize_script(old), sync.materialize_script(new)
    base_hash, new_hash = hashlib.sha256(base).hexdigest(), hashlib.sha256(manifest).hexdigest()
    subprocess.run(["sh", str(helper), "materialize", str(objects), str(tmp_path / "r1"), "", base_hash],
                   input=gzip.compress(base), check=True)
    assert (tmp_path / "store" / "manifests" / base_hash).read_bytes() == base
    patch = gzip.compress(sync.manifest_diff(base, manifest))
    subprocess.run(["sh", str(helper), "materialize", str(objects), str(tmp_path / "r2"), base_hash, new_hash],
                   input=patch, check=True)
    assert _tree(tmp_path / "r2") == {"project/a.py": b"1", "project/b.py": b"2 edited", "project/sub/new.py": b"4"}
    # A host without the base says so (exit 3), and a diff that does not rebuild `new` is refused.
    lost = subprocess.run(["sh", str(helper), "materialize", str(objects), str(tmp_path / "r3"), "f" * 64, new_hash],
                          input=patch, capture_output=True)
    assert lost.returncode == 3 and not (tmp_path / "r3").exists()
    wrong = subprocess.run(["sh", str(helper), "materialize", str(objects), str(tmp_path / "r4"), base_hash,
                            "0" * 64], input=patch, capture_output=True)
    assert wrong.returncode == 2 and b"does not match" in wrong.stderr


def test_helper_refuses_objects_whose_content_does_not_match_their_name(tmp_path: Path) -> None:
    helper, objects = _helper(tmp_path), tmp_path / "objects"
    forged = [sync.Entry("x", size=4, digest="0" * 64, data=b"evil")]
    buf = io.BytesIO()
    sync._tar_writer(forged, [])(buf)
    done = subprocess.run(["sh", str(helper), "receive", str(objects)], input=buf.getvalue(), capture_output=True)
    assert done.returncode != 0 and b"do not match" in done.stderr
    assert not (objects / ("0" * 64)).exists()


def test_helper_remove_only_touches_run_folders(tmp_path: Path) -> None:
    helper = _helper(tmp_path)
    victim = tmp_path / "precious"
    victim.mkdir()
    done = subprocess.run(["sh", str(helper), "remove", str(victim)], capture_output=True)
    assert done.returncode == 2 and victim.is_dir()


def test_layout_and_host_names() -> None:
    layout = RemoteLayout.for_home("/home/u")
    assert layout.run_dir("p_1") == "/home/u/.amlexec/runs/p_1"
    assert layout.helper.startswith("/home/u/.amlexec/bin/helper-")
    with pytest.raises(ValueError):
        layout.run_dir("../../etc")
    assert host_entry_name("h", 22) == "h" and host_entry_name("127.0.0.1", 2222) == "[127.0.0.1]:2222"


def test_importing_the_cli_does_not_import_paramiko() -> None:
    code = "import sys, amlexec.cli, amlexec.cli.app; sys.exit('paramiko' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
