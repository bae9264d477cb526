"""amlexec: run data-science experiments anywhere from one project folder."""

__version__ = "0.1.0"
