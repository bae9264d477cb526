"""Building an image through the Docker SDK's low-level API, with progress, a saved log, and no half images.

The build itself is untagged; the tag is applied only after the builder reported success, so a failed or
interrupted build never leaves a name pointing at an incomplete image. The classic builder keeps the
image of the last successful step of a failed build as an untagged leftover; it is removed too (cached
layers that finished builds still use are kept). In a multi-stage build the classic builder also keeps the
last image of every stage but the final one as a dangling `<none>` image: those are removed after the build,
whatever its outcome (their contents were copied into the final image or are no longer needed). Works
against any engine the caller's client talks to.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import EnvironmentBuildError
from .engine import engine_down, sdk_errors
from .progress import BuildDisplay, strip_ansi

if TYPE_CHECKING:
    import docker

BUILD_TIMEOUT = 3600  # seconds without any answer from the builder before giving up
_STEP_IMAGE = re.compile(r"^\s*---> ([0-9a-f]{12})\s*$")
_FROM_STEP = re.compile(r"^Step \d+/\d+ : FROM\s", re.I)
_NONZERO = re.compile(r"returned a non-zero code: (\d+)")


@dataclass
class _Outcome:
    image_id: str = ""
    error: str = ""
    step_images: list[str] = field(default_factory=list)
    stage_images: list[str] = field(default_factory=list)  # the last image of each finished earlier stage
    stages: int = 0
    from_images: set[str] = field(default_factory=set)  # images stages start FROM: never removed
    after_from: bool = False


def build_image(
    client: docker.DockerClient, *, context: IO[bytes], repository: str, tag: str, log_path: Path,
    progress: Callable[[str], None], network_mode: str | None = None, live: bool | None = None,
    failure_hint: str | None = None, drop_stages: bool = False,
) -> str:
    """Build the tar `context` (a Dockerfile at its root) and tag it `repository:tag`; the image id.

    Raises EnvironmentBuildError naming the failed step and pointing at `log_path`. With `drop_stages`, the
    images of earlier build stages (kept by the builder as cache, but no part of the result) are removed.
    """
    errors = sdk_errors()
    display = BuildDisplay(progress, live=live)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    outcome = _Outcome()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"# build of {repository}:{tag} (network: {network_mode or 'default'})\n")
        try:
            stream = client.api.build(
                fileobj=context, custom_context=True, rm=True, forcerm=True, pull=False, decode=True,
                network_mode=network_mode, timeout=BUILD_TIMEOUT,
            )
            for chunk in stream:
                _consume(chunk, log, display, outcome)
                if outcome.error:
                    break
        except errors.APIError as exc:
            outcome.error = str(exc.explanation or exc)
            log.write(f"ERROR: {outcome.error}\n")
        except errors.DockerException as exc:
            raise engine_down(exc) from exc
        finally:
            display.finish()
            if outcome.error or not outcome.image_id:
                _remove_leftover(client, outcome.step_images)
            _remove_stage_images(client, [i for i in outcome.stage_images if i not in outcome.from_images])
        log.write(f"# finished in {time.monotonic() - started:.1f}s: {outcome.error or outcome.image_id}\n")
    if outcome.error or not outcome.image_id:
        raise EnvironmentBuildError(_failure_message(display, outcome.error),
                                    hint=f"full build log: {log_path}" + (f"; {failure_hint}" if failure_hint else ""))
    try:
        client.api.tag(outcome.image_id, repository, tag)
    except errors.APIError as exc:
        raise EnvironmentBuildError(f"tagging the built image {outcome.image_id[:19]} failed: {exc.explanation}",
                                    hint=f"full build log: {log_path}") from exc
    if drop_stages:
        _remove_other_stages(client, outcome.image_id, outcome.step_images)
    return outcome.image_id


def _remove_other_stages(client: docker.DockerClient, image_id: str, step_images: list[str]) -> None:
    """Remove the step images that are not in the result's history (earlier stages), newest first."""
    errors = sdk_errors()
    with contextlib.suppress(errors.APIError):
        kept = {h.get("Id") for h in client.api.history(image_id)}
        for short in reversed(step_images):
            with contextlib.suppress(errors.APIError):
                full = client.api.inspect_image(short)["Id"]
                if full not in kept and not client.api.inspect_image(short).get("RepoTags"):
                    client.api.remove_image(short, noprune=False)


def _consume(chunk: Any, log: IO[str], display: BuildDisplay, outcome: _Outcome) -> None:
    if not isinstance(chunk, dict):
        return
    if "stream" in chunk:
        text = strip_ansi(str(chunk["stream"]))
        log.write(text)
        for line in text.splitlines():
            m = _STEP_IMAGE.match(line)
            if m:
                outcome.step_images.append(m.group(1))
                if outcome.after_from:
                    outcome.from_images.add(m.group(1))
                    outcome.after_from = False
            elif _FROM_STEP.match(line):
                outcome.after_from = True
                if outcome.stages and outcome.step_images:
                    outcome.stage_images.append(outcome.step_images[-1])
                outcome.stages += 1
            display.line(line)
    aux = chunk.get("aux")
    if isinstance(aux, dict) and aux.get("ID"):
        outcome.image_id = str(aux["ID"])
    if "error" in chunk:
        detail = chunk.get("errorDetail") or {}
        outcome.error = strip_ansi(str(detail.get("message") or chunk["error"])).strip()
        log.write(f"ERROR: {outcome.error}\n")
    if "status" in chunk:
        log.write(f"{chunk['status']}\n")
    log.flush()


def _failure_message(display: BuildDisplay, error: str) -> str:
    step = display.step if len(display.step) <= 100 else display.step[:97] + "..."
    m = _NONZERO.search(error)
    what = f"exited with code {m.group(1)}" if m else (error or "the builder reported no image")
    lines = list(display.tail)
    # pip and most tools put the reason on their last ERROR lines; otherwise show the end of the output.
    shown = [ln for ln in lines if ln.lstrip().startswith(("ERROR", "error:", "E:"))][-4:] or lines[-6:]
    body = "\n".join(f"  {ln.strip()}" for ln in shown)
    where = f" at step {step}" if step else ""
    return f"building the environment image failed{where}: {what}" + (f"\n{body}" if body else "")


def _remove_leftover(client: docker.DockerClient, step_images: list[str]) -> None:
    """Remove the untagged image of the last step that succeeded; its parents go too unless shared."""
    if not step_images:
        return
    errors = sdk_errors()
    with contextlib.suppress(errors.APIError):
        info = client.api.inspect_image(step_images[-1])
        if not info.get("RepoTags"):
            client.api.remove_image(step_images[-1], noprune=False)


def _remove_stage_images(client: docker.DockerClient, stage_images: list[str]) -> None:
    """Remove the dangling last images of earlier stages (untagged ones only; shared parents are kept)."""
    errors = sdk_errors()
    for image in stage_images:
        with contextlib.suppress(errors.APIError):
            if not client.api.inspect_image(image).get("RepoTags"):
                client.api.remove_image(image, noprune=False)
