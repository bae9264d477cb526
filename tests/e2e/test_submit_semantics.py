"""What a local run sees and what comes back: argv, env, exit codes, streams, snapshot isolation."""

from __future__ import annotations

import json
import subprocess
import time

from e2e_support import AMLEXEC, amlexec, env_for, write

HOSTILE = {
    "QUOTES": "it's \"quoted\" `back`",
    "DOLLAR": "$HOME ${PATH} $(id)",
    "SEMI": "a; rm -rf / && echo pwned | cat",
    "SPACES": "  leading and trailing  ",
    "NEWLINE": "line1\nline2\n",
    "UNICODE": "żółć ☃ 日本語 \u00e9",
    "BACKSLASH": "C:\\path\\to\\x",
}

DUMP_ENV = """import json, os, sys
names = sys.argv[1:]
os.makedirs("outputs", exist_ok=True)
with open("outputs/env.json", "w", encoding="utf-8") as fh:
    json.dump({n: os.environ.get(n) for n in names}, fh, ensure_ascii=False)
with open("outputs/argv.json", "w", encoding="utf-8") as fh:
    json.dump(sys.argv[1:], fh, ensure_ascii=False)
"""


def runconfig_with_env(env: dict[str, str]) -> str:
    lines = ["ArgumentVector:", "  - $file", "Target: local", "Framework: Python", "EnvironmentVariables:"]
    lines += [f"  {name}: {json.dumps(value)}" for name, value in env.items()]
    return "\n".join(lines) + "\n"


def last_run(project) -> dict:
    return amlexec("history", "last", "-o", "json", cwd=project).json()


def test_hostile_env_values_and_args_arrive_byte_for_byte(project):
    write(project, "aml_config/hostile.runconfig", runconfig_with_env(HOSTILE))
    write(project, "dump.py", DUMP_ENV)
    names = [*HOSTILE, "AMLEXEC_RUN_ID", "AZUREML_RUN_ID", "AMLEXEC_TARGET", "AZUREML_NATIVE_SHARE_DIRECTORY"]
    result = amlexec("experiment", "submit", "-c", "hostile", "dump.py", *names, cwd=project,
                     env={"HOME": str(project.parent)})
    assert result.code == 0, result.err
    run_id = last_run(project)["run_id"]
    outputs = project / ".amlexec" / "runs" / run_id / "outputs"
    seen = json.loads((outputs / "env.json").read_text(encoding="utf-8"))
    assert {k: seen[k] for k in HOSTILE} == HOSTILE
    assert seen["AMLEXEC_RUN_ID"] == seen["AZUREML_RUN_ID"] == run_id
    assert seen["AMLEXEC_TARGET"] == "local"
    assert seen["AZUREML_NATIVE_SHARE_DIRECTORY"] == f"{project.parent}/.azureml/share/proj/"
    assert json.loads((outputs / "argv.json").read_text(encoding="utf-8")) == names


def test_arguments_are_passed_verbatim_without_a_shell(project):
    write(project, "args.py", "import json, sys; print(json.dumps(sys.argv[1:]))\n")
    args = ["--flag", "a b", "$(touch pwned)", "x;y", "'q'", '"dq"', "", "--", "-c", "local"]
    result = amlexec("experiment", "submit", "-c", "local", "args.py", *args, cwd=project)
    assert result.code == 0, result.err
    assert json.loads(result.out.splitlines()[1]) == args
    assert not list(project.rglob("pwned"))


def test_exit_code_passes_through_and_run_is_failed(project):
    write(project, "fail.py", "import sys; print('bad'); sys.exit(3)\n")
    result = amlexec("experiment", "submit", "-c", "local", "fail.py", cwd=project)
    assert result.code == 3
    run = last_run(project)
    assert (run["status"], run["exit_code"]) == ("Failed", 3)
    write(project, "killed.py", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)\n")
    assert amlexec("experiment", "submit", "-c", "local", "killed.py", cwd=project).code == 128 + 9


def test_stdout_and_stderr_stay_separate(project):
    write(project, "streams.py", "import sys; print('to-out'); print('to-err', file=sys.stderr)\n")
    result = amlexec("experiment", "submit", "-c", "local", "streams.py", cwd=project)
    assert "to-out" in result.out and "to-out" not in result.err
    assert "to-err" in result.err and "to-err" not in result.out
    as_json = amlexec("experiment", "submit", "-c", "local", "-o", "json", "streams.py", cwd=project)
    assert as_json.json()["status"] == "Completed"  # stdout holds only the run record
    assert "to-out" in as_json.err and "RunId:" in as_json.err


def test_output_streams_live(project):
    write(project, "slow.py", "import time\nprint('first', flush=False)\ntime.sleep(5)\nprint('second')\n")
    proc = subprocess.Popen([AMLEXEC, "experiment", "submit", "-c", "local", "slow.py"], cwd=project,
                            env=env_for(), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("RunId:")
        started = time.monotonic()
        assert proc.stdout.readline() == "first\n"
        assert time.monotonic() - started < 3, "the first line waited for the script to end"
    finally:
        proc.wait(30)


def test_the_run_gets_a_private_copy_of_the_project(project):
    write(project, ".amlignore", "data/\n")
    write(project, "data/big.csv", "x\n")
    write(project, "edit.py", "import os\nopen('train.py', 'w').write('changed')\nprint(sorted(os.listdir('.')))\n")
    result = amlexec("experiment", "submit", "-c", "local", "edit.py", cwd=project)
    assert result.code == 0, result.err
    assert "'data'" not in result.out and "'.amlexec'" not in result.out and "'aml_config'" in result.out
    assert "changed" not in (project / "train.py").read_text()
    assert not list((project / ".amlexec" / "work").iterdir())


def test_unmodified_workbench_script_logs_metrics(project):
    write(project, "iris_like.py",
          "from azureml.logging import get_azureml_logger\nrun_logger = get_azureml_logger()\n"
          "run_logger.log('Regularization Rate', 0.01)\nrun_logger.log('Accuracy', 0.6792)\n"
          "run_logger.log('Accuracy', 0.7)\n")
    assert amlexec("experiment", "submit", "-c", "local", "iris_like.py", cwd=project).code == 0
    run = last_run(project)
    assert run["Regularization Rate"] == 0.01 and run["Accuracy"] == [0.6792, 0.7]


def test_untracked_runs_leave_no_history(project):
    write(project, "aml_config/quick.runconfig", "Target: local\nFramework: Python\nTrackedRun: false\n")
    write(project, "hello.py", "print('hi')\n")
    result = amlexec("experiment", "submit", "-c", "quick", "hello.py", cwd=project)
    assert result.code == 0 and "hi" in result.out
    assert amlexec("history", "list", "-o", "json", cwd=project).json() == []


def test_a_run_whose_interpreter_cannot_start_keeps_which_python_it_was(project):
    # found on PATH and executable, so the checks before the run pass, but its #! names no interpreter
    write(project, "bin/python", "#!/nonexistent/python3\n").chmod(0o755)
    compute = project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text().replace('pythonLocation: "python"',
                                                   f'pythonLocation: "{project}/bin/python"'))
    write(project, "noop.py", "")
    result = amlexec("experiment", "submit", "-c", "local", "noop.py", cwd=project)
    assert result.code != 0 and "amlexec: error: cannot run" in result.err
    run = last_run(project)
    assert run["status"] == "Failed"
    assert run["properties"]["python_path"] == f"{project}/bin/python"
    assert run["properties"]["python_version"] == "unknown"
