"""The sweep page in Chromium: trials ranked, the parallel-coordinates chart, one scatter per parameter."""

from __future__ import annotations

import pytest
from browser import INK, SERIES, shot, wait_css, wait_js
from sweepdata import GRID, PARENT, parent, trials

from amlexec.ui.report import _page
from amlexec.ui.sweeps import sweep_view

pytestmark = pytest.mark.browser

AXES = "return echarts.getInstanceByDom(arguments[0]).getOption().parallelAxis.map((a) => [a.name, a.type])"


def test_sweep_page_draws_parallel_coordinates_and_scatters(driver, tmp_path, screenshots):
    record, info = parent()
    view = sweep_view(trials(), record, info)
    page = tmp_path / "sweep.html"  # the page as the report carries it: the same scripts, the view's data
    page.write_text(_page({"project": "proj", "written": "now", "start": f"#/sweep/{PARENT}",
                           "api": {f"/api/sweep/{PARENT}": view}, "files": {}}))
    driver.get(page.as_uri())
    chart = wait_css(driver, "#parallel-chart[data-drawn='1']")
    assert driver.execute_script(SERIES, chart) == [["", "parallel", len(GRID) - 1]]  # the running one has no value
    assert driver.execute_script(AXES, chart) == [["k", "value"], ["weights", "category"], ["Accuracy", "value"]]
    assert wait_js(driver, INK, chart, what="ink on the parallel chart") > 500
    ranked = driver.execute_script("return [...document.querySelectorAll('#trials-table tr[data-run]')]"
                                   ".map((r) => r.querySelector('.objective').textContent)")
    numbers = [float(v) for v in ranked if v]
    assert numbers == sorted(numbers, reverse=True) and ranked[-1] == ""
    scatters = driver.execute_script("return [...document.querySelectorAll('#scatter-charts .chart')]"
                                     ".map((c) => c.dataset.parameter)")
    assert scatters == ["k", "weights"]
    shot(driver, screenshots, "sweep", docs=True)
