"""Finding and removing what amlexec left on an engine for one project, and nothing else.

Everything amlexec creates carries the label `amlexec.project_root=<the project folder>`; only those are
listed, and of containers only the ones that are not running.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .engine import Engine, sdk_errors
from .tags import LABEL_PROJECT_ROOT, LABEL_RUN_ID


def find_project_resources(engine: Engine, project_root: Path) -> dict[str, list[dict[str, Any]]]:
    api = engine.client.api
    label = f"{LABEL_PROJECT_ROOT}={project_root}"
    containers = []
    for c in api.containers(all=True, filters={"label": label}):
        if c.get("State") == "running":
            continue  # a live run: `experiment cancel` is the way to stop it
        containers.append({"id": c["Id"][:12], "name": (c.get("Names") or ["?"])[0].lstrip("/"),
                           "run_id": (c.get("Labels") or {}).get(LABEL_RUN_ID), "status": c.get("Status")})
    images = []
    for i in api.images(filters={"label": label}):
        tags = [t for t in (i.get("RepoTags") or []) if t != "<none>:<none>"]
        images.append({"id": i["Id"].split(":")[-1][:12], "tags": tags, "size_mb": round(i.get("Size", 0) / 1e6, 1)})
    return {"containers": containers, "images": images}


def remove_resources(engine: Engine, found: dict[str, list[dict[str, Any]]], *,
                     progress: Callable[[str], None]) -> dict[str, Any]:
    """Remove the containers, then the images (an image used by a container cannot go first)."""
    errors = sdk_errors()
    api = engine.client.api
    removed: dict[str, list[str]] = {"containers": [], "images": []}
    failed: list[str] = []
    for c in found["containers"]:
        try:
            api.remove_container(c["id"])
            removed["containers"].append(c["name"])
        except errors.NotFound:
            continue
        except errors.APIError as exc:
            failed.append(f"container {c['name']}: {exc.explanation}")
    for i in found["images"]:
        for ref in i["tags"] or [i["id"]]:
            try:
                api.remove_image(ref)
                removed["images"].append(ref)
            except errors.NotFound:
                continue
            except errors.APIError as exc:
                failed.append(f"image {ref}: {exc.explanation}")
    for problem in failed:
        progress(f"warning: could not remove {problem}")
    return {"removed": removed, "failed": failed}
