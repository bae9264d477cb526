"""Finding the Spark application in a driver log, its UI address, and the commands that kill it."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar
from urllib.parse import parse_qs

from amlexec.targets.cluster.sparkapp import (
    KILL_STANDALONE_CODE,
    cluster_ui,
    find_application,
    kill_commands,
    master_uis,
    run_properties,
)

STANDALONE_LOG = """\
26/11/23 19:26:34 INFO Utils: Successfully started service 'SparkUI' on port 4040.
26/11/23 19:26:35 INFO StandaloneAppClient$ClientEndpoint: Connecting to master spark://10.0.0.4:7077...
26/11/23 19:26:35 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261123192635-0007
26/11/23 19:26:36 INFO StandaloneAppClient$ClientEndpoint: Executor added: app-20261123192635-0007/0 on worker
"""
# What Spark 2.x/3.x on YARN (HDInsight) printed in client mode.
YARN_LOG = """\
17/09/08 10:00:01 INFO SparkUI: Bound SparkUI to 0.0.0.0, and started at http://hn0-abc.internal:4040
17/09/08 10:00:02 INFO Client: Submitting application application_1504800000000_0042 to ResourceManager
17/09/08 10:00:02 INFO YarnClientImpl: Submitted application application_1504800000000_0042
17/09/08 10:00:03 INFO Client: \n\t client token: N/A\n\t tracking URL: http://hn0-abc:8088/proxy/application_1504800000000_0042/
"""


def test_standalone_application() -> None:
    app = find_application(STANDALONE_LOG)
    assert app is not None and app.manager == "standalone"
    assert (app.app_id, app.masters) == ("app-20261123192635-0007", ("spark://10.0.0.4:7077",))
    assert cluster_ui(app) == "http://10.0.0.4:8080/app/?appId=app-20261123192635-0007"
    assert cluster_ui(app, "https://head.example:8443/") == "https://head.example:8443/app/?appId=app-20261123192635-0007"
    assert run_properties(app) == {"spark_application_id": "app-20261123192635-0007",
                                   "spark_ui": "http://10.0.0.4:8080/app/?appId=app-20261123192635-0007",
                                   "spark_master": "spark://10.0.0.4:7077"}


def test_yarn_application() -> None:
    app = find_application(YARN_LOG)
    assert app is not None and app.manager == "yarn"
    assert app.app_id == "application_1504800000000_0042"
    assert app.driver_ui == "http://hn0-abc.internal:4040"
    assert cluster_ui(app) == "http://hn0-abc:8088/proxy/application_1504800000000_0042/"
    assert kill_commands(app, python="python3") == [
        ("yarn application -kill", ["yarn", "application", "-kill", "application_1504800000000_0042"])]
    assert run_properties(app)["spark_master"] == "yarn"


def test_no_application_yet() -> None:
    assert find_application("26/11/23 INFO SparkContext: Submitted application: job.py\n") is None


def test_high_availability_masters_are_each_tried() -> None:
    app = find_application("INFO x: Connecting to master spark://m1:7077,m2.example:7077...\n"
                           "INFO y: Connected to Spark cluster with app ID app-20240101000000-0000\n")
    assert app is not None
    assert master_uis(app) == ["http://m1:8080", "http://m2.example:8080"]
    commands = kill_commands(app, python="/env/bin/python")
    assert [argv[0] for _what, argv in commands] == ["/env/bin/python", "/env/bin/python"]
    assert [argv[-2:] for _what, argv in commands] == [["http://m1:8080", "app-20240101000000-0000"],
                                                       ["http://m2.example:8080", "app-20240101000000-0000"]]


class _FakeMaster(BaseHTTPRequestHandler):
    posted: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        body = b'<form action="app/kill/"><input type="hidden" name="csrfToken" value="t0k3n"/></form>'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _FakeMaster.posted.append(parse_qs(self.rfile.read(length).decode()))
        self.send_response(302)
        self.send_header("Location", "/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_kill_request_sends_the_pages_csrf_token() -> None:
    """The standalone kill code against a stand-in for the master UI (the real one is in the spark tests)."""
    server = HTTPServer(("127.0.0.1", 0), _FakeMaster)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ui = f"http://127.0.0.1:{server.server_address[1]}"
        done = subprocess.run([sys.executable, "-c", KILL_STANDALONE_CODE, ui, "app-1-2"], capture_output=True,
                              text=True, timeout=60)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert _FakeMaster.posted == [{"id": ["app-1-2"], "terminate": ["true"], "csrfToken": ["t0k3n"]}]
