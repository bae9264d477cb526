"""The web app in a real headless Chromium: what a user sees and clicks, and what the browser requests."""

from __future__ import annotations

import pytest
from browser import INK, SERIES, requested_urls, shot, wait_css, wait_js
from engines import wait_for
from uisupport import XSS

pytestmark = pytest.mark.browser


def rows(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#runs-table tbody tr')].map((r) => r.dataset.run)")


def open_page(driver, server, fragment: str) -> None:
    driver.get(server.url + fragment)
    driver.refresh()  # a new fragment on the same page only fires hashchange; a load starts clean


def test_runs_table_loads_sorts_and_filters(driver, server, ui_project, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(driver, server, "#/")
    wait_for(lambda: len(rows(driver)) == 4, what="the runs table's 4 rows")
    assert rows(driver) == [ui_project.xss, ui_project.iris, *reversed(ui_project.curves)]
    shot(driver, screenshots, "runs", docs=True)
    driver.find_element(By.CSS_SELECTOR, 'th[data-sort="metric:Accuracy"]').click()
    wait_for(lambda: rows(driver)[-1] == ui_project.xss and rows(driver) != [ui_project.xss, ui_project.iris,
                                                                             *reversed(ui_project.curves)],
             what="rows sorted by Accuracy")
    accuracy = [float(t) for t in driver.execute_script(
        "const i = [...document.querySelectorAll('#runs-table th')].findIndex((t) => t.dataset.sort === "
        "'metric:Accuracy'); return [...document.querySelectorAll('#runs-table tbody tr')].map((r) => "
        "r.children[i].textContent).filter((t) => t)")]
    assert accuracy == sorted(accuracy, reverse=True) and len(accuracy) == 3
    Select(driver.find_element(By.ID, "filter-script")).select_by_visible_text("train_curves.py")
    wait_for(lambda: sorted(rows(driver)) == sorted(ui_project.curves), what="only the train_curves.py runs")
    driver.find_element(By.ID, "filter-text").send_keys("--lr 0.3")
    wait_for(lambda: rows(driver) == [ui_project.curves[1]], what="the one run with --lr 0.3")
    shot(driver, screenshots, "runs-filtered")


def test_run_page_charts_every_metric(driver, server, ui_project, screenshots):
    open_page(driver, server, f"#/run/{ui_project.curves[0]}")
    for metric, points in (("loss", 40), ("Precision", 54), ("Recall", 54)):
        chart = wait_css(driver, f'[data-metric="{metric}"][data-drawn="1"]', what=f"the {metric} chart")
        assert driver.execute_script(SERIES, chart) == [[metric, "line", points]]
        assert wait_js(driver, INK, chart, what=f"ink on the {metric} chart") > 500
    assert "Accuracy" in driver.find_element("id", "metric-table").text
    shot(driver, screenshots, "run", docs=True)


def test_output_images_are_shown(driver, server, ui_project, screenshots):
    open_page(driver, server, f"#/run/{ui_project.curves[0]}")
    for name, width in (("outputs/cm.png", 120), ("outputs/roc.svg", 200)):
        image = wait_css(driver, f'img[data-output="{name}"]')
        assert wait_js(driver, "return arguments[0].complete && arguments[0].naturalWidth", image,
                       what=f"{name} loaded") == width
    listed = driver.find_element("id", "files-table").text
    assert "outputs/escape.txt" in listed and "symbolic link: not served" in listed
    driver.execute_script("document.getElementById('run-outputs').scrollIntoView()")
    shot(driver, screenshots, "run-outputs", docs=True)


def test_compare_two_runs(driver, server, ui_project, screenshots):
    from selenium.webdriver.common.by import By

    open_page(driver, server, "#/")
    wait_for(lambda: len(rows(driver)) == 4, what="the runs table")
    for run_id in ui_project.curves:
        driver.find_element(By.CSS_SELECTOR, f'tr[data-run="{run_id}"] input[type=checkbox]').click()
    driver.find_element(By.ID, "compare-selected").click()
    table = wait_css(driver, "#settings-table")
    keys = driver.execute_script("return [...arguments[0].querySelectorAll('tr[data-key]')].map((r) => r.dataset.key)",
                                 table)
    assert "parameter: lr" in keys and "script_name" not in keys  # differences only, by default
    driver.find_element(By.ID, "differences-only").click()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, '#settings-table tr[data-key="script_name"]'),
             what="every setting once 'differences only' is off")
    chart = wait_css(driver, '#compare-charts [data-metric="loss"][data-drawn="1"]')
    assert [s[2] for s in driver.execute_script(SERIES, chart)] == [40, 40]
    assert wait_js(driver, INK, chart, what="ink on the overlaid chart") > 500
    bars = wait_css(driver, '#compare-charts [data-metric="Accuracy"][data-drawn="1"]')
    assert driver.execute_script(SERIES, bars) == [["Accuracy", "bar", 2]]
    shot(driver, screenshots, "compare", docs=True)


def test_xss_corpus_is_shown_as_text(driver, server, ui_project, screenshots):
    open_page(driver, server, f"#/run/{ui_project.xss}")
    log = wait_css(driver, "#driver-log")
    wait_for(lambda: "log line: " + XSS[1] in log.text, what="the log lines")
    body = driver.find_element("tag name", "body").text
    for text in XSS:
        assert text in body  # the description, the argument, the metric names (chart titles)
    open_page(driver, server, "#/")
    wait_for(lambda: ui_project.xss in rows(driver), what="the runs table")
    assert XSS[0] in driver.find_element("id", "runs-table").text
    assert driver.execute_script("return window.__xss === undefined && "
                                 "document.querySelectorAll('img[src=x], main script').length === 0")
    shot(driver, screenshots, "xss")


def test_path_traversal_is_refused_in_the_browser(driver, server, ui_project):
    # Chromium itself folds `..` and `%2e%2e` out of a URL before asking (the server's own refusals of the raw
    # forms are in test_api.py); what reaches the server must still never be a file outside the run.
    for path, answer in (("../../history.db", "no such page"), ("%2e%2e/%2e%2e/history.db", "no such page"),
                         ("outputs/%2e%2e/%2e%2e/%2e%2e/history.db", "no such page"),
                         ("outputs/escape.txt", "refused: the path passes through a symbolic link"),
                         ("outputs/etcdir/passwd", "refused: the path passes through a symbolic link")):
        driver.get(f"{server.url}files/{ui_project.curves[0]}/{path}")
        text = driver.find_element("tag name", "body").text
        assert answer in text and "SQLite" not in text and "root:" not in text, (path, text)


def test_no_request_leaves_the_server(driver, server, ui_project):
    requested_urls(driver)  # forget what earlier tests asked for
    for fragment in ("#/", f"#/run/{ui_project.curves[0]}", f"#/run/{ui_project.xss}",
                     f"#/compare/{ui_project.curves[0]}/{ui_project.curves[1]}"):
        open_page(driver, server, fragment)
        wait_css(driver, "[data-drawn='1'], #runs-table tbody tr")
    urls = requested_urls(driver)
    assert any(u.endswith("/static/vendor/echarts.min.js") for u in urls)
    outside = [u for u in urls if not (u.startswith(server.url) or u.startswith("data:"))]
    assert outside == []
