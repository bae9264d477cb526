"""`amlexec.logging`: the name scripts import the metrics API by (`from amlexec.logging import get_logger`).

The API itself lives next to run history, in `amlexec.history.metrics_api`, which writes the lines history
reads. Inside a run the runtime folder ships that module under this name (amlexec/runtime.py), so a run needs
nothing installed; this alias serves scripts that run where amlexec itself is installed.
"""

from __future__ import annotations

from .history.metrics_api import RunLogger, get_azureml_logger, get_logger

__all__ = ["RunLogger", "get_azureml_logger", "get_logger"]
