"""Log metrics from a script into amlexec run history.

    from amlexec.logging import get_logger
    get_logger().log("Accuracy", 0.93)

Workbench scripts keep working unchanged: inside a run, `from azureml.logging import get_azureml_logger`
resolves to this module. This file is copied into every run's environment (containers and remote hosts
included), so it must only use the standard library and nothing else from amlexec. Outside a run every
call is a quiet no-op.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

METRICS_ENV = "AMLEXEC_METRICS_FILE"
OUTPUTS_ENV = "AMLEXEC_OUTPUTS_DIR"

__all__ = ["RunLogger", "get_azureml_logger", "get_logger"]


def _plain(value: Any) -> Any:
    """Scalars and lists, numpy values included, without importing numpy."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy arrays and scalars
        return _plain(value.tolist())
    if hasattr(value, "item") and hasattr(value, "dtype"):
        return _plain(value.item())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    try:
        return float(value)  # Decimal, Fraction, torch scalars...
    except (TypeError, ValueError):
        return str(value)


class RunLogger:
    """Appends one JSON line per metric to the run's metrics file; amlexec reads it into run history."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._fd: int | None = None

    @property
    def active(self) -> bool:
        """True inside an amlexec run."""
        return bool(self._path)

    def log(self, name: str, value: Any, description: str = "") -> RunLogger:
        """Record a scalar or a list under `name`; logging a name again makes it a series."""
        if not self._path:
            return self
        entry = {"name": str(name), "value": _plain(value), "time": time.time()}
        if description:
            entry["description"] = description
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self._fd, line)  # O_APPEND keeps lines whole when threads or processes share it
        return self

    def upload(self, path: str, content: str | bytes) -> RunLogger:
        """Store `content` as an artifact at `path` inside the run's outputs folder."""
        outputs = os.environ.get(OUTPUTS_ENV)
        if not outputs:
            return self
        target = os.path.join(outputs, path.removeprefix("outputs/").lstrip("/"))
        os.makedirs(os.path.dirname(target) or outputs, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(target, "wb") as fh:
            fh.write(data)
        return self

    def wait(self) -> RunLogger:
        """Workbench's logger was asynchronous; this one writes at once, so there is nothing to wait for."""
        return self


_logger: RunLogger | None = None


def get_logger() -> RunLogger:
    global _logger
    if _logger is None:
        _logger = RunLogger(os.environ.get(METRICS_ENV))
    return _logger


def get_azureml_logger() -> RunLogger:
    """The Workbench name for `get_logger()`."""
    return get_logger()
