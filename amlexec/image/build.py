"""Building an image through the Docker SDK's low-level API, with progress, a saved log, and no half tags.

The build itself is untagged; the tag is applied only after the builder reported success, so a failed or
interrupted build never leaves a name pointing at an incomplete image. Works against any engine the
caller's client talks to (the local one, or a remote host's).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import EnvironmentBuildError
from .engine import engine_down
from .progress import BuildDisplay

if TYPE_CHECKING:
    import docker

BUILD_TIMEOUT = 3600  # seconds without any answer from the builder before giving up


def build_image(
    client: docker.DockerClient, *, context: IO[bytes], repository: str, tag: str,
    log_path: Path, progress: Callable[[str], None], network_mode: str | None = None, live: bool | None = None,
) -> str:
    """Build the tar `context` (a Dockerfile at its root), tag it `repository:tag`; the image id.

    Raises EnvironmentBuildError naming the failed step and pointing at `log_path`.
    """
    from docker.errors import APIError, DockerException

    display = BuildDisplay(progress, live=live)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    image_id = ""
    error = ""
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"# build of {repository}:{tag} (network: {network_mode or 'default'})\n")
        try:
            stream = client.api.build(
                fileobj=context, custom_context=True, rm=True, forcerm=True, pull=False, decode=True,
                network_mode=network_mode, timeout=BUILD_TIMEOUT,
            )
            for chunk in stream:
                image_id, error = _consume(chunk, log, display, image_id, error)
                if error:
                    break
        except APIError as exc:
            error = str(exc.explanation or exc)
            log.write(f"ERROR: {error}\n")
        except DockerException as exc:
            raise engine_down(exc) from exc
        finally:
            display.finish()
        log.write(f"# finished in {time.monotonic() - started:.1f}s: {error or image_id}\n")
    if error or not image_id:
        step = f" at step {display.step}" if display.step else ""
        tail = "\n".join(f"  {line}" for line in list(display.tail)[-8:])
        raise EnvironmentBuildError(
            f"building the environment image failed{step}: {error or 'the builder reported no image'}"
            + (f"\n{tail}" if tail else ""),
            hint=f"full build log: {log_path}",
        )
    try:
        client.api.tag(image_id, repository, tag)
    except APIError as exc:
        raise EnvironmentBuildError(f"tagging the built image {image_id[:19]} failed: {exc.explanation}",
                                    hint=f"full build log: {log_path}") from exc
    return image_id


def _consume(chunk: Any, log: IO[str], display: BuildDisplay, image_id: str, error: str) -> tuple[str, str]:
    if not isinstance(chunk, dict):
        return image_id, error
    if "stream" in chunk:
        text = str(chunk["stream"])
        log.write(text)
        for line in text.splitlines():
            display.line(line)
    if "aux" in chunk and isinstance(chunk["aux"], dict) and chunk["aux"].get("ID"):
        image_id = str(chunk["aux"]["ID"])
    if "error" in chunk:
        detail = chunk.get("errorDetail") or {}
        error = str(detail.get("message") or chunk["error"]).strip()
        log.write(f"ERROR: {json.dumps(chunk)}\n")
    if "status" in chunk:
        log.write(f"{chunk['status']}\n")
    log.flush()
    return image_id, error
