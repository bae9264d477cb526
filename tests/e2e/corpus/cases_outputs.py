"""Corpus cases of outputs: nothing outside the run is read into history, nothing outside is written to."""

from __future__ import annotations

import os
from pathlib import Path

from corpus_support import Case, Vars, script_case, submitted
from e2e_support import Result

LINKS = """import os, socket
os.makedirs("outputs/sub", exist_ok=True)
open("outputs/model.json", "w").write("{}")
open("outputs/sub/x.txt", "w").write("x")
os.symlink("/etc/passwd", "outputs/passwd")
os.symlink("/etc", "outputs/etc")
os.symlink("/nope", "outputs/dangling")
os.mkfifo("outputs/fifo")
socket.socket(socket.AF_UNIX).bind("outputs/sock")
"""
MODEL = "import os\nos.makedirs('outputs/sub', exist_ok=True)\nopen('outputs/model.json', 'w').write('{\"w\": 1}')\n" \
    "open('outputs/sub/x.txt', 'w').write('x')\n"


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir() or p.is_symlink())


def kept_only_regular_files(project: Path, values: Vars, result: Result) -> None:
    outputs = project / ".amlexec" / "runs" / values["run"] / "outputs"
    assert files_under(outputs) == ["model.json", "sub/x.txt"]
    for line in ("warning: outputs/etc is a symbolic link to a folder (/etc); it was not kept",
                 "warning: outputs/fifo is a named pipe (FIFO); it was not kept",
                 "warning: outputs/passwd is a symbolic link to a file (/etc/passwd); it was not kept",
                 "warning: outputs/sock is a socket; it was not kept"):
        assert line in result.err.splitlines()


def downloaded_regular_only(project: Path) -> None:
    assert files_under(project / "dl") == ["model.json", "sub/x.txt"]


def bait(project: Path) -> Path:
    """A file outside the project that a hostile link points at (a stand-in for ~/.bashrc)."""
    home = project.parent / "home"
    home.mkdir(exist_ok=True)
    (home / ".bashrc").write_text("SAFE\n")
    return home / ".bashrc"


def run_with_model(project: Path) -> Vars:
    return {"run": submitted(project, MODEL), "bait": str(bait(project)), "home": str(bait(project).parent)}


def planted_link(project: Path) -> Vars:
    values = run_with_model(project)
    os.symlink("/etc/passwd", project / ".amlexec" / "runs" / values["run"] / "outputs" / "passwd")
    return values


def dest_link(folder: str):
    def before(project: Path) -> Vars:
        values = run_with_model(project)
        (project / folder).mkdir(exist_ok=True)
        os.symlink(values["bait"], project / folder / "model.json")
        return values
    return before


def link_replaced(folder: str):
    def check(project: Path, values: Vars, result: Result) -> None:
        assert Path(values["bait"]).read_text() == "SAFE\n"
        model = project / folder / "model.json"
        assert not model.is_symlink() and model.read_text() == '{"w": 1}'
    return check


def outputs_is(kind: str):
    def before(project: Path) -> Vars:
        values = run_with_model(project)
        if kind == "link":
            os.symlink(values["home"], project / "outputs")
        else:
            (project / "outputs").write_text("not a folder\n")
        return values
    return before


def dir_link_in_dest(project: Path) -> Vars:
    values = run_with_model(project)
    (project / "dl").mkdir()
    os.symlink(values["home"], project / "dl" / "sub")
    return values


def bait_untouched(project: Path, values: Vars, result: Result) -> None:
    assert sorted(os.listdir(values["home"])) == [".bashrc"]
    assert (project / "dl" / "model.json").read_text() == '{"w": 1}'


def empty_folder_made(project: Path, values: Vars, result: Result) -> None:
    assert (project / "fresh").is_dir() and not list((project / "fresh").iterdir())


def a_file(project: Path) -> Vars:
    (project / "afile").write_text("x")
    return {"run": submitted(project, MODEL)}


PLANT = """import os
run = os.path.dirname(os.environ["AMLEXEC_METRICS_FILE"])
victim = os.path.abspath("../../../../victim")  # beside the project
os.makedirs(victim, exist_ok=True)
os.symlink(victim, os.path.join(run, "outputs"))
os.makedirs("outputs", exist_ok=True)
open("outputs/evil", "w").write("x")
"""


def victim_untouched(project: Path, values: Vars, result: Result) -> None:
    outputs = project / ".amlexec" / "runs" / values["run"] / "outputs"
    assert not outputs.is_symlink() and files_under(outputs) == ["evil"]
    assert not list((project.parent / "victim").iterdir())


DOWNLOAD = ("history", "download", "-r", "{run}", "-d")
CASES = [
    script_case("links, FIFOs and sockets in a local run's outputs", LINKS, code=0,
                first_err="warning: outputs/dangling is a dangling symbolic link (to /nope); it was not kept",
                after=kept_only_regular_files),
    script_case("a run plants a link as its outputs folder in history", PLANT, code=0,
                first_err="warning: {project}/.amlexec/runs/{run}/outputs was a symbolic link (to "
                "{parent}/victim); it was removed, nothing was written through it",
                after=victim_untouched),
    Case("download skips a link in history's outputs", (*DOWNLOAD, "dl"), code=0, before=planted_link,
         first_err="warning: outputs/passwd is a symbolic link to a file (/etc/passwd); it was not copied",
         after=lambda p, v, r: downloaded_regular_only(p)),
    Case("download replaces a link where a file goes", (*DOWNLOAD, "dl"), code=0, before=dest_link("dl"),
         first_err="warning: dl/model.json was a symbolic link (to {bait}); it was replaced by the file itself, "
         "and what it pointed to was not touched", after=link_replaced("dl")),
    Case("return replaces a committed link where a file goes", ("experiment", "return", "-r", "{run}"), code=0,
         before=dest_link("outputs"),
         first_err="warning: {project}/outputs/model.json was a symbolic link (to {bait}); it was replaced by the "
         "file itself, and what it pointed to was not touched", after=link_replaced("outputs")),
    Case("download never writes through a folder link", (*DOWNLOAD, "dl"), code=0, before=dir_link_in_dest,
         first_err="warning: dl/sub is a symbolic link, not a folder; the files of outputs/sub/ were not copied "
         "(nothing is written through links)", after=bait_untouched),
    Case("return into an outputs/ that is a link", ("experiment", "return", "-r", "{run}"), code=74,
         before=outputs_is("link"),
         first_err="amlexec: error: {project}/outputs is a symbolic link (to {home}); amlexec does not write "
         "through it"),
    Case("return into an outputs/ that is a file", ("experiment", "return", "-r", "{run}"), code=74,
         before=outputs_is("file"), first_err="amlexec: error: {project}/outputs is a file, not a folder"),
    Case("download -d ''", (*DOWNLOAD, ""), code=2, before=run_with_model,
         first_err="amlexec: error: --directory must name a folder, not be empty"),
    Case("download -d naming a file", (*DOWNLOAD, "afile"), code=74, before=a_file,
         first_err="amlexec: error: cannot copy into afile: it is a file, not a folder"),
    Case("download -d under a file", (*DOWNLOAD, "afile/sub"), code=74, before=a_file,
         first_err="amlexec: error: cannot make the folder afile/sub: a part of that path is a file, not a folder"),
    Case("download -d /proc", (*DOWNLOAD, "/proc"), code=74, before=run_with_model,
         first_err="amlexec: error: cannot write /proc/model.json: No such file or directory"),
    Case("download of a run without outputs", (*DOWNLOAD, "fresh"), code=0,
         before=lambda p: {"run": submitted(p, "print('no outputs')\n")},
         first_err="copied 0 file(s) into fresh (the run has no outputs)", after=empty_folder_made),
]
