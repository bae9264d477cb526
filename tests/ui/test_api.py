"""The JSON API and file routes of `amlexec history serve`, against a real server over real runs."""

from __future__ import annotations

import hashlib
import json
import re
import socket
from urllib.parse import quote

from e2e.e2e_support import amlexec
from engines import wait_for
from uisupport import PLAIN_VALUE, SECRET_VALUE, XSS, Server


def test_runs_page_is_newest_first_with_metric_columns(server, ui_project):
    page = server.json("/api/runs")
    ids = [r["run_id"] for r in page["runs"]]
    assert ids == [ui_project.xss, ui_project.iris, *reversed(ui_project.curves)]
    assert page["total"] == 4
    assert {"loss", "Accuracy", "Precision", "Recall", "k"} <= set(page["metric_names"])
    curve = next(r for r in page["runs"] if r["run_id"] == ui_project.curves[0])
    assert curve["metrics"]["loss"]["count"] == 40
    assert curve["metrics"]["loss"]["min"] <= curve["metrics"]["loss"]["last"] <= curve["metrics"]["loss"]["max"]
    assert curve["metrics"]["Precision"]["count"] == 54
    assert page["facets"]["script_name"] == ["iris_knn.py", "train_curves.py", "xss.py"]


def test_runs_sort_filter_and_page_on_the_server(server, ui_project):
    by_accuracy = server.json("/api/runs?sort=metric:Accuracy&desc=0")["runs"]
    values = [r["metrics"]["Accuracy"]["last"] for r in by_accuracy if "Accuracy" in r["metrics"]]
    assert values == sorted(values) and len(values) == 3
    assert "Accuracy" not in by_accuracy[-1]["metrics"]  # a run without the metric goes last either way
    assert [r["run_id"] for r in server.json("/api/runs?script=train_curves.py&sort=run_number&desc=0")["runs"]] \
        == ui_project.curves
    assert [r["run_id"] for r in server.json("/api/runs?q=--lr%200.3")["runs"]] == [ui_project.curves[1]]
    assert server.json("/api/runs?status=failed")["total"] == 0
    second = server.json("/api/runs?limit=1&offset=1")
    assert second["total"] == 4 and [r["run_id"] for r in second["runs"]] == [ui_project.iris]
    assert server.get("/api/runs?sort=nonsense").status == 400


def test_run_detail_shows_parameters_python_and_no_secret(server, ui_project):
    response = server.get(f"/api/runs/{ui_project.curves[1]}")
    detail = json.loads(response.body)
    assert detail["parameters"] == {"lr": 0.3}
    assert detail["command"] == "train_curves.py --lr 0.3"
    assert detail["python"]["python_version"]
    env = {v["name"]: v for v in detail["environment"]}
    assert env["EXAMPLE_ENV_VAR"] == {"name": "EXAMPLE_ENV_VAR", "secret": False, "value": PLAIN_VALUE}
    assert env["API_TOKEN"] == {"name": "API_TOKEN", "secret": True, "value": None}
    assert SECRET_VALUE.encode() not in response.body
    names = {f["name"] for f in detail["files"]}
    assert {"driver_log", "control_log", "outputs/cm.png", "outputs/roc.svg"} <= names
    assert detail["active"] is False


def test_metric_series_scalars_over_steps_and_lists_as_lines(server, ui_project):
    metrics = {m["name"]: m for m in server.json(f"/api/runs/{ui_project.curves[0]}/metrics")["metrics"]}
    assert [len(s["y"]) for s in metrics["loss"]["series"]] == [40]
    assert [len(s["y"]) for s in metrics["Precision"]["series"]] == [54]
    assert metrics["Accuracy"]["series"][0]["y"] == [metrics["Accuracy"]["series"][0]["y"][0]]


def test_log_chunks_follow_from_an_offset(server, ui_project):
    base = f"/api/runs/{ui_project.curves[0]}/log"
    whole = server.json(base + "?name=driver_log")
    assert "epoch 40/40" in whole["text"] and whole["start"] == 0 and whole["next"] == whole["size"]
    assert server.json(base + f"?name=driver_log&offset={whole['next']}")["text"] == ""
    assert server.json(base + "?name=driver_log&offset=6")["text"] == whole["text"][6:]
    assert "environment variables from local.runconfig" in server.json(base + "?name=control_log")["text"]
    assert SECRET_VALUE not in server.json(base + "?name=control_log")["text"]
    assert server.get(base + "?name=../history.db").status == 404


def test_outputs_are_served_as_what_they_are(server, ui_project):
    run = ui_project.curves[0]
    png = server.get(f"/files/{run}/outputs/cm.png")
    assert png.status == 200 and png.headers["content-type"] == "image/png" and png.body[:4] == b"\x89PNG"
    svg = server.get(f"/files/{run}/outputs/roc.svg?download=1")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["content-disposition"] == "attachment; filename*=UTF-8''roc.svg"
    assert svg.headers["content-security-policy"].startswith("sandbox")  # opened directly, its script never runs
    log = server.get(f"/files/{run}/driver_log.txt")
    assert log.headers["content-type"] == "text/plain; charset=utf-8" and b"epoch 1/40" in log.body


def test_download_paths_cannot_leave_the_run(server, ui_project):
    run = ui_project.curves[0]
    attempts = {
        f"/files/{run}/../../history.db": 403,
        f"/files/{run}/outputs/../../../history.db": 403,
        f"/files/{run}/%2e%2e/%2e%2e/history.db": 403,
        f"/files/{run}/outputs/%2E%2E/%2E%2E/%2E%2E/history.db": 403,
        f"/files/{run}/outputs%2f..%2f..%2fhistory.db": 403,
        f"/files/{run}//etc/passwd": 403,
        f"/files/{run}/%2Fetc%2Fpasswd": 403,
        f"/files/{run}/outputs/escape.txt": 403,  # a symbolic link to /etc/passwd
        f"/files/{run}/outputs/etcdir/passwd": 403,  # through a link to /etc
        f"/files/{run}/metrics.jsonl": 403,  # not a log or an output
        f"/files/{run}/outputs/%252e%252e/x": 404,  # a literal '%2e%2e' folder: there is none
        "/files/..%2F..%2Fetc/passwd": 404,
        "/files/../../etc/passwd": 404,
    }
    for path, status in attempts.items():
        response = server.get(path)
        assert response.status == status, (path, response.status, response.body)
        assert b"root:" not in response.body and b"SQLite" not in response.body, path


def test_read_only_and_loopback_only(server, ui_project):
    db = ui_project.root / ".amlexec" / "history.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert server.get("/api/runs", method=method).status == 405
    for path in ("/api/runs", f"/api/runs/{ui_project.xss}", f"/api/runs/{ui_project.xss}/metrics", "/"):
        assert server.get(path).status == 200
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert server.get("/api/runs", headers={"Host": "attacker.example:80"}).status == 403  # DNS rebinding
    assert server.get("/api/runs", headers={"Host": f"localhost:{server.port}"}).status == 200


def test_page_and_api_headers_forbid_outside_requests(server):
    page = server.get("/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "script-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert re.findall(rb'(?:src|href)="(?!/static/|#|data:)', page.body) == []
    assert server.get("/static/vendor/echarts.min.js").status == 200
    assert server.get("/static/../api.py").status == 404


def test_xss_corpus_travels_as_json_data(server, ui_project):
    response = server.get(f"/api/runs/{ui_project.xss}")
    assert response.headers["content-type"] == "application/json"
    detail = json.loads(response.body)
    assert detail["info"]["description"] == " ".join(XSS)
    assert set(detail["metrics"]) == set(XSS)
    assert detail["info"]["arguments"] == [XSS[1]]


def test_other_addresses_need_the_token(ui_project):
    other = Server(ui_project.root, "--host", "0.0.0.0")
    try:
        token = re.search(r"\?token=([\w-]+)$", other.url)
        assert token, other.url
        assert other.get("/api/runs").status == 403
        assert other.get("/api/runs?token=wrong").status == 403
        first = other.get(f"/?token={token[1]}")
        assert first.status == 200
        cookie = first.headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in first.headers["set-cookie"]
        assert other.get("/api/runs", headers={"Cookie": cookie}).status == 200
    finally:
        code, err = other.stop()
    assert code == 0 and "stopped" in err


def test_serve_on_a_port_in_use_says_so(ui_project):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = amlexec("history", "serve", "--port", str(port), cwd=ui_project.root, timeout=20)
    assert result.code == 69
    assert result.err.splitlines()[0].startswith(f"amlexec: error: cannot listen on 127.0.0.1:{port}: ")
    assert result.out == ""


def test_report_is_one_self_contained_file(ui_project, tmp_path):
    out = tmp_path / "report.html"
    result = amlexec("history", "report", "-r", ui_project.curves[0], "-r", ui_project.xss, "-o", str(out),
                     cwd=ui_project.root)
    assert result.code == 0, result.err
    text = out.read_text()
    markup = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.S)
    assert re.findall(r'(?:src|href)="(?!#|data:)[^"]*"', markup) == []  # the browser test opens it offline
    assert "default-src 'none'" in text
    assert XSS[0] not in text and "\\u003cscript\\u003ewindow.__xss" in text
    assert SECRET_VALUE not in text
    assert f"{ui_project.curves[0]}/outputs/cm.png\":\"data:image/png;base64," in text
    missing = amlexec("history", "report", "-o", str(out), cwd=ui_project.root)
    assert missing.code == 2 and "give runs with -r RUN_ID" in missing.err
    unknown = amlexec("history", "report", "-r", "nope_1", "-o", str(tmp_path / "x.html"), cwd=ui_project.root)
    assert unknown.code == 66 and not (tmp_path / "x.html").exists()
    not_sweep = amlexec("history", "report", "--sweep", ui_project.iris, "-o", str(tmp_path / "x.html"),
                        cwd=ui_project.root)
    assert not_sweep.code == 2 and f"run {ui_project.iris} is not a sweep" in not_sweep.err


def test_unknown_runs_and_pages_are_404(server):
    assert server.get(f"/api/runs/{quote('nope_1')}").status == 404
    assert server.get("/api/nothing").status == 404
    assert server.get("/files/nope_1/outputs/x").status == 404


def test_a_project_without_history_serves_an_empty_table_and_creates_nothing(tmp_path):
    root = tmp_path / "empty"
    assert amlexec("init", str(root), cwd=tmp_path).code == 0
    empty = Server(root)
    try:
        page = empty.json("/api/runs")
        assert (page["total"], page["runs"], page["metric_names"]) == (0, [], [])
        assert empty.get("/").status == 200
    finally:
        code, err = empty.stop()
    assert code == 0, err
    assert not (root / ".amlexec").exists()


def test_open_hands_the_url_to_the_web_browser(ui_project, tmp_path):
    opened = tmp_path / "opened.txt"
    recorder = tmp_path / "browser.sh"
    recorder.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    recorder.chmod(0o755)
    with_browser = Server(ui_project.root, "--open", env={"BROWSER": str(recorder)})
    try:
        wait_for(opened.exists, what="the browser command to be run")
        wait_for(lambda: opened.read_text() == with_browser.url, what="the URL handed to the browser")
    finally:
        code, _ = with_browser.stop()
    assert code == 0
