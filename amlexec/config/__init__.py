"""Workbench configuration files: models, loading with precise errors, and rewriting."""
