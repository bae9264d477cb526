"""A Spark application as its driver's log tells it: the application id, the master, the UI addresses,
and the command that kills it on the cluster (pure functions, pinned by unit tests).

spark-submit's default log4j profile prints these lines at INFO on the driver's stderr, which is part of a
run's output:

    StandaloneAppClient$ClientEndpoint: Connecting to master spark://head:7077...
    StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20240101120000-0007
    YarnClientImpl: Submitted application application_1700000000000_0042
    Client: ... tracking URL: http://rm:8088/proxy/application_1700000000000_0042/
    SparkUI: Bound SparkUI to 0.0.0.0, and started at http://head:4040

A cluster whose log4j configuration silences them still runs fine; amlexec then cannot name the
application, and cancel falls back to stopping the driver (docs/spark.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

STANDALONE_UI_PORT = 8080
_STANDALONE_ID = re.compile(r"Connected to Spark cluster with app ID (app-\d+-\d+)")
_YARN_ID = re.compile(r"Submitted application (application_\d+_\d+)")
_MASTER = re.compile(r"Connecting to master (spark://\S+?)\.\.\.")
_TRACKING = re.compile(r"tracking URL: (https?://\S+)")
_DRIVER_UI = re.compile(r"Bound SparkUI to \S+, and started at (https?://\S+)")

# Run on the head node with the cluster's Python: kill a standalone application through its master's web
# UI, as the UI's "(kill)" link does. Spark 4 pages carry a CSRF token that the POST must send back;
# older masters have none. Arguments: the master UI's base URL, the application id.
KILL_STANDALONE_CODE = """\
import re, sys, urllib.parse, urllib.request
ui, app = sys.argv[1].rstrip("/"), sys.argv[2]
page = urllib.request.urlopen(ui + "/", timeout=30).read().decode("utf-8", "replace")
form = {"id": app, "terminate": "true"}
token = re.search(r'name="csrfToken" value="([^"]+)"', page)
if token:
    form["csrfToken"] = token.group(1)
urllib.request.urlopen(urllib.request.Request(ui + "/app/kill/", data=urllib.parse.urlencode(form).encode()),
                       timeout=30)
print("killed", app)
"""


@dataclass(frozen=True)
class SparkApplication:
    app_id: str
    masters: tuple[str, ...] = ()  # standalone master URLs the driver connected to
    tracking_url: str | None = None  # YARN's page for the application
    driver_ui: str | None = None  # the driver's own UI (only while the application runs)

    @property
    def manager(self) -> str:
        return "yarn" if self.app_id.startswith("application_") else "standalone"


def find_application(log: str) -> SparkApplication | None:
    """The application a driver log speaks of; None before (or without) the line that names it."""
    found = _STANDALONE_ID.search(log) or _YARN_ID.search(log)
    if found is None:
        return None
    masters = tuple(dict.fromkeys(m.group(1) for m in _MASTER.finditer(log)))
    tracking = _TRACKING.search(log)
    driver = _DRIVER_UI.search(log)
    return SparkApplication(found.group(1), masters, tracking.group(1) if tracking else None,
                            driver.group(1) if driver else None)


def master_uis(app: SparkApplication, configured: str | None = None) -> list[str]:
    """The standalone master web UIs to try: `sparkMasterUI`, else port 8080 of each master host."""
    if configured:
        return [configured.rstrip("/")]
    uis = []
    for url in app.masters:
        # spark://h1:7077,h2:7077 names several masters (high availability): the leader is one of them.
        for part in url.removeprefix("spark://").split(","):
            host = urlsplit(f"spark://{part}").hostname
            if host:
                uis.append(f"http://{_bracket(host)}:{STANDALONE_UI_PORT}")
    return list(dict.fromkeys(uis))


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def cluster_ui(app: SparkApplication, configured: str | None = None) -> str | None:
    """Where to look at the application on the cluster: YARN's tracking page, or the master's app page."""
    if app.manager == "yarn":
        return app.tracking_url
    uis = master_uis(app, configured)
    return f"{uis[0]}/app/?appId={app.app_id}" if uis else None


def kill_commands(app: SparkApplication, *, python: str, configured_ui: str | None = None
                  ) -> list[tuple[str, list[str]]]:
    """(what, head-node argv) pairs that kill `app`, to be tried in order until one succeeds."""
    if app.manager == "yarn":
        return [("yarn application -kill", ["yarn", "application", "-kill", app.app_id])]
    return [(f"the master's web UI {ui}", [python, "-c", KILL_STANDALONE_CODE, ui, app.app_id])
            for ui in master_uis(app, configured_ui)]


def run_properties(app: SparkApplication, configured_ui: str | None = None) -> dict[str, str]:
    """What run history records about the application (`history info` shows them under properties)."""
    props = {"spark_application_id": app.app_id}
    ui = cluster_ui(app, configured_ui)
    if ui:
        props["spark_ui"] = ui
    if app.masters:
        props["spark_master"] = app.masters[0]
    elif app.manager == "yarn":
        props["spark_master"] = "yarn"
    return props
