"""treecopy.copy_tree: the one copy of outputs into and out of history; it never follows or writes through links."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from engines import require_engine

from amlexec.errors import StorageError
from amlexec.treecopy import copy_tree


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): ("-> " + os.readlink(p) if p.is_symlink() else p.read_text())
            for p in sorted(root.rglob("*")) if p.is_symlink() or p.is_file()}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    os.symlink("/etc/passwd", root / "passwd")
    os.symlink(tmp_path, root / "up")
    os.symlink("/nope", root / "dangling")
    os.mkfifo(root / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock"))
    yield root
    sock.close()


def test_only_regular_files_are_copied_and_the_rest_named(src, tmp_path):
    done = copy_tree(src, tmp_path / "dest", shown="outputs")
    assert tree(tmp_path / "dest") == {"a.txt": "a", "sub/b.txt": "b"} and done.files == 2
    assert done.warnings == [
        "outputs/dangling is a dangling symbolic link (to /nope); it was not copied",
        "outputs/fifo is a named pipe (FIFO); it was not copied",
        "outputs/passwd is a symbolic link to a file (/etc/passwd); it was not copied",
        "outputs/sock is a socket; it was not copied",
        f"outputs/up is a symbolic link to a folder ({tmp_path}); it was not copied",
    ]


def test_a_link_in_the_place_of_a_file_is_replaced_never_written_through(src, tmp_path):
    bait = tmp_path / "bashrc"
    bait.write_text("SAFE")
    dest = tmp_path / "dest"
    dest.mkdir()
    os.symlink(bait, dest / "a.txt")
    done = copy_tree(src, dest, shown="outputs")
    assert bait.read_text() == "SAFE" and not (dest / "a.txt").is_symlink() and (dest / "a.txt").read_text() == "a"
    assert f"{dest}/a.txt was a symbolic link (to {bait}); it was replaced by the file itself, and what it " \
        "pointed to was not touched" in done.warnings


def test_a_link_or_file_in_the_place_of_a_folder_keeps_that_folder_out(src, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    os.symlink(outside, dest / "sub")
    done = copy_tree(src, dest, shown="outputs")
    assert list(outside.iterdir()) == []
    assert f"{dest}/sub is a symbolic link, not a folder; the files of outputs/sub/ were not copied (nothing is " \
        "written through links)" in done.warnings
    os.unlink(dest / "sub")
    (dest / "sub").write_text("file")
    assert f"{dest}/sub is a file, not a folder; the files of outputs/sub/ were not copied (nothing is written " \
        "through links)" in copy_tree(src, dest, shown="outputs").warnings


def test_a_folder_in_the_place_of_a_file_is_left_alone(src, tmp_path):
    (tmp_path / "dest" / "a.txt").mkdir(parents=True)
    done = copy_tree(src, tmp_path / "dest", shown="outputs")
    assert f"{tmp_path}/dest/a.txt is a folder; the file of that name was not written over it" in done.warnings


def test_move_renames_and_keeps_the_cap(src, tmp_path):
    (src / "big.bin").write_bytes(b"x" * 3 * 2**20)
    os.link(src / "a.txt", tmp_path / "hardlink")  # a file with another name elsewhere is copied, not moved
    done = copy_tree(src, tmp_path / "dest", shown="outputs", verb="kept", move=True, max_file_bytes=2**20)
    assert tree(tmp_path / "dest") == {"a.txt": "a", "sub/b.txt": "b"}
    assert "outputs/big.bin is 3 MiB, over the 1 MiB limit per file; it was not kept" in done.warnings
    assert not (src / "sub" / "b.txt").exists() and (src / "a.txt").exists()


def test_modes_and_times_are_kept(src, tmp_path):
    os.chmod(src / "a.txt", 0o750)
    os.utime(src / "a.txt", ns=(10**18, 10**18))
    copy_tree(src, tmp_path / "dest", shown="outputs")
    st = os.stat(tmp_path / "dest" / "a.txt")
    assert (st.st_mode & 0o777, st.st_mtime_ns) == (0o750, 10**18)


def test_source_root_that_is_a_link_or_missing(src, tmp_path):
    os.symlink(src, tmp_path / "linked")
    assert copy_tree(tmp_path / "linked", tmp_path / "d1", shown="outputs").warnings == [
        "outputs/ is a symbolic link; nothing in it was copied"]
    assert copy_tree(tmp_path / "missing", tmp_path / "d2", shown="outputs").files == 0
    assert (tmp_path / "d2").is_dir()  # made even when there is nothing to copy


@pytest.mark.parametrize(("dest", "message"), [
    ("afile", "cannot copy into {tmp}/afile: it is a file, not a folder"),
    ("afile/sub", "cannot make the folder {tmp}/afile/sub: a part of that path is a file, not a folder"),
])
def test_destinations_that_cannot_be_folders(src, tmp_path, dest, message):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StorageError) as err:
        copy_tree(src, tmp_path / dest, shown="outputs")
    assert err.value.message == message.format(tmp=tmp_path)


def test_a_full_disk_is_a_storage_error_and_leaves_no_temp_file(src, tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)]).returncode != 0:
        require_engine("a tmpfs mount", "`mount -t tmpfs` is not permitted here")
    try:
        (src / "big.bin").write_bytes(b"x" * 2**20)
        with pytest.raises(StorageError) as err:
            copy_tree(src, mount / "dest", shown="outputs")
        assert err.value.message.endswith("big.bin: No space left on device")
        assert not [p for p in (mount / "dest").iterdir() if "amlexec-tmp" in p.name]
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
