"""What is at a config path: regular files are read; folders, FIFOs, links to nothing and loops are named."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from amlexec.config.files import problem, read_config_text
from amlexec.errors import ConfigError, NotFoundError


def test_a_regular_file_and_a_link_to_one_have_no_problem(tmp_path: Path):
    (tmp_path / "a.compute").write_text("type: local\n")
    (tmp_path / "b.compute").symlink_to("a.compute")
    assert problem(tmp_path / "a.compute") is None and problem(tmp_path / "b.compute") is None
    assert read_config_text(tmp_path / "b.compute", "b.compute") == "type: local\n"


def test_each_kind_is_named(tmp_path: Path):
    (tmp_path / "dir.runconfig").mkdir()
    os.mkfifo(tmp_path / "fifo.compute")
    (tmp_path / "loop.compute").symlink_to("loop.compute")
    (tmp_path / "gone.compute").symlink_to("nowhere.compute")
    assert problem(tmp_path / "dir.runconfig") == "is a directory, not a file"
    assert problem(tmp_path / "fifo.compute") == "is a FIFO (named pipe), not a file"
    assert problem(tmp_path / "loop.compute") == "is a symbolic link loop"
    assert problem(tmp_path / "gone.compute") == "is a symbolic link to nowhere.compute, which does not exist"
    assert problem(tmp_path / "missing.compute") == "does not exist"


def test_reading_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path):
    fifo = tmp_path / "x.compute"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_config_text(fifo, "aml_config/x.compute")
        except BaseException as exc:  # handed to the test thread below
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # free the blocked thread before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a FIFO blocked")
    assert isinstance(outcome[0], ConfigError)
    assert outcome[0].message == "aml_config/x.compute is a FIFO (named pipe), not a file"


def test_reading_a_directory_or_loop_is_a_config_error_and_a_missing_file_not_found(tmp_path: Path):
    (tmp_path / "d.runconfig").mkdir()
    (tmp_path / "l.runconfig").symlink_to("l.runconfig")
    with pytest.raises(ConfigError, match=r"^d\.runconfig is a directory, not a file$"):
        read_config_text(tmp_path / "d.runconfig", "d.runconfig")
    with pytest.raises(ConfigError, match=r"^l\.runconfig is a symbolic link loop$"):
        read_config_text(tmp_path / "l.runconfig", "l.runconfig")
    with pytest.raises(NotFoundError, match=r"^m\.runconfig does not exist$"):
        read_config_text(tmp_path / "m.runconfig", "m.runconfig")


def test_not_utf8_names_the_byte(tmp_path: Path):
    (tmp_path / "x.compute").write_bytes(b"type: \xff\n")
    with pytest.raises(ConfigError) as err:
        read_config_text(tmp_path / "x.compute", "x.compute")
    assert err.value.message == "x.compute: not UTF-8 text (invalid start byte at byte 6)"

