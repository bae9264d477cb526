"""A real sweep, recorded by `amlexec experiment sweep`, on the served sweep page while it runs and in the report."""

from __future__ import annotations

import pytest
from browser import SERIES, shot, wait_css
from e2e.e2e_support import amlexec
from engines import wait_for
from uisupport import Server

pytestmark = pytest.mark.browser

TRIAL = """import sys, time
from amlexec.logging import get_logger
args = sys.argv[1:]
k, lr = int(args[args.index("--k") + 1]), float(args[args.index("--lr") + 1])
log = get_logger()
for step in range(1, 9):
    log.log("Accuracy", round(min(1.0, k * lr * step / 10), 4))
    time.sleep(0.15)
"""
AXES = "return echarts.getInstanceByDom(arguments[0]).getOption().parallelAxis.map((a) => [a.name, a.type])"
ROWS = ("return [...document.querySelectorAll('#trials-table tr[data-run]')].map((r) => "
        "[r.dataset.run, r.querySelector('.objective').textContent])")


def test_a_running_sweep_updates_on_its_page_and_its_report_ranks_the_trials(driver, tmp_path, screenshots):
    root = tmp_path / "sweepy"
    assert amlexec("init", str(root), cwd=tmp_path).code == 0
    (root / "trial.py").write_text(TRIAL)
    server = Server(root)
    try:
        started = amlexec("experiment", "sweep", "-a", "-c", "local", "trial.py", "-p", "k=1,2,4", "-p",
                          "lr=0.1,0.2", "--max-concurrent", "2", "--metric", "Accuracy", cwd=root)
        assert started.code == 0, started.err
        parent = started.out.split()[1]
        driver.get(f"{server.url}#/sweep/{parent}")
        driver.refresh()
        driver.execute_script("window.__same_page = true")
        wait_css(driver, "#trials-table")
        table = "return document.querySelector('#trials-table').textContent"  # the table is redrawn live
        wait_for(lambda: "Running" in driver.execute_script(table), timeout=30,
                 what="a running trial on the sweep page")
        wait_for(lambda: len(driver.execute_script(ROWS)) == 6 and "Running" not in driver.execute_script(table),
                 timeout=90, what="all six trials ended, without a reload")
        assert driver.execute_script("return window.__same_page === true")
        done = amlexec("history", "info", "-r", parent, "-o", "json", cwd=root).json()
        assert done["status"] == "Completed"
        best = done["properties"]["best_trial"]
        wait_for(lambda: driver.execute_script(ROWS)[0][0] == best["run_id"], timeout=15,
                 what="the best trial ranked first")
        shot(driver, screenshots, "sweep-real")
    finally:
        code, err = server.stop()
    assert code == 0, err

    report = tmp_path / "sweep.html"
    written = amlexec("history", "report", "--sweep", parent, "-o", str(report), cwd=root)
    assert written.code == 0, written.err
    driver.get(report.as_uri())
    chart = wait_css(driver, "#parallel-chart[data-drawn='1']")
    assert driver.execute_script(AXES, chart) == [["k", "value"], ["lr", "value"], ["Accuracy", "value"]]
    assert driver.execute_script(SERIES, chart) == [["", "parallel", 6]]
    ranked = [float(v) for _, v in driver.execute_script(ROWS)]
    assert ranked == sorted(ranked, reverse=True) and ranked[0] == best["value"]
