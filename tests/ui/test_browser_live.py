"""A running run watched in the browser, and the report opened from disk with the network off."""

from __future__ import annotations

import pytest
from browser import INK, SERIES, chrome, requested_urls, shot, wait_css, wait_js
from e2e.e2e_support import amlexec
from engines import wait_for
from uisupport import Server, run_id_of, submit

pytestmark = pytest.mark.browser


def test_a_running_runs_log_and_chart_grow_on_screen(driver, tmp_path, screenshots):
    root = tmp_path / "live"
    assert amlexec("init", str(root), cwd=tmp_path).code == 0
    (root / "slow.py").write_text(
        "import time\nfrom amlexec.logging import get_logger\nlog = get_logger()\n"
        "for i in range(1, 31):\n    log.log('loss', 1 / i)\n    print(f'step {i}/30', flush=True)\n"
        "    time.sleep(0.25)\n")
    server = Server(root)
    try:
        run_id = run_id_of(submit(root, "slow.py", detach=True))
        driver.get(f"{server.url}#/run/{run_id}")
        driver.refresh()
        log = wait_css(driver, "#driver-log")
        driver.execute_script("window.__same_page = true")  # gone if the page reloaded
        wait_for(lambda: "step 3/30" in log.text, what="the first lines of the log")
        early = len(log.text)
        early_points = wait_js(driver, "const el = document.querySelector('[data-metric=loss]');"
                                       "return el && window.echarts && echarts.getInstanceByDom(el) && "
                                       "echarts.getInstanceByDom(el).getOption().series[0].data.length",
                               what="the loss chart of the running run")
        assert "Running" in driver.find_element("id", "run-status").text
        listed = server.json("/api/runs")["runs"][0]
        assert (listed["run_id"], listed["status"]) == (run_id, "Running") and listed["metrics"]["loss"]["count"] >= 3
        shot(driver, screenshots, "live-running")
        wait_for(lambda: "step 30/30" in log.text, timeout=30, what="the log's last line, without a reload")
        assert len(log.text) > early
        wait_for(lambda: "Completed" in driver.find_element("id", "run-status").text, timeout=20,
                 what="the run's final status")
        chart = wait_css(driver, "[data-metric=loss][data-drawn='1']")
        assert driver.execute_script(SERIES, chart) == [["loss", "line", 30]] and early_points < 30
        assert driver.execute_script("return window.__same_page === true")
        assert log.text.count("step 1/30") == 1  # appended, never repeated
    finally:
        code, err = server.stop()
    assert code == 0, err


def test_report_opens_from_disk_with_the_network_off(ui_project, tmp_path, screenshots):
    report = tmp_path / "report.html"
    result = amlexec("history", "report", "-r", ui_project.curves[0], "-r", ui_project.curves[1], "-o", str(report),
                     cwd=ui_project.root)
    assert result.code == 0, result.err
    single = tmp_path / "run.html"
    assert amlexec("history", "report", "-r", ui_project.curves[0], "-o", str(single), cwd=ui_project.root).code == 0
    offline = chrome("--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>")
    try:
        offline.execute_cdp_cmd("Network.enable", {})
        offline.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
        offline.get(report.as_uri())
        chart = wait_css(offline, '#compare-charts [data-metric="loss"][data-drawn="1"]')
        assert [s[2] for s in offline.execute_script(SERIES, chart)] == [40, 40]
        assert wait_js(offline, INK, chart, what="ink on the report's chart") > 500
        assert "parameter: lr" in offline.find_element("id", "settings-table").text
        shot(offline, screenshots, "report-compare", docs=True)
        offline.get(single.as_uri())
        image = wait_css(offline, 'img[data-output="outputs/cm.png"]')
        assert wait_js(offline, "return arguments[0].complete && arguments[0].naturalWidth", image,
                       what="the inlined image") == 120
        wait_css(offline, '[data-metric="Precision"][data-drawn="1"]')
        assert "epoch 40/40" in offline.find_element("id", "driver-log").text
        urls = requested_urls(offline)
        assert [u for u in urls if not u.startswith(("file://", "data:"))] == []
    finally:
        offline.quit()
