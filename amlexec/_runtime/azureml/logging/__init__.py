"""Workbench's `azureml.logging`, as amlexec provides it inside a run.

`azureml/` itself is left a namespace package (no __init__.py) so that other `azureml.*` packages the
user has installed stay importable beside it.
"""

from amlexec.logging import RunLogger, get_azureml_logger, get_logger

__all__ = ["RunLogger", "get_azureml_logger", "get_logger"]
