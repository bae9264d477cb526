"""Copying an image from one Docker engine to another without a registry: `docker save | docker load`.

For hosts that cannot pull (air-gapped, or a base image made by `amlexec image bootstrap` that exists in no
registry). The save stream of the source engine goes straight into the load request of the destination
engine, chunk by chunk: no temporary file on either machine. An image keeps its id across the copy, so
environment images built from it get the same content-hash tags on both engines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import NotFoundError, UnavailableError
from .engine import Engine, sdk_errors

CHUNK = 1 << 20
PROGRESS_EVERY_SECONDS = 2.0


@dataclass(frozen=True)
class Transfer:
    ref: str
    image_id: str
    how: str  # "present" (nothing to do) | "tagged" (same image under another name) | "copied"
    bytes_sent: int
    seconds: float

    def summary(self) -> dict[str, object]:
        return {"image": self.ref, "image_id": self.image_id, "how": self.how, "bytes_sent": self.bytes_sent,
                "seconds": round(self.seconds, 2)}


def _split(ref: str) -> tuple[str, str]:
    last = ref.split("/")[-1]
    if ":" in last and "@" not in last:
        repository, _, tag = ref.rpartition(":")
        return repository, tag
    return ref, "latest"


def copy_image(source: Engine, dest: Engine, ref: str, *, progress: Callable[[str], None],
               dest_name: str = "the remote engine") -> Transfer:
    """Make `ref` exist on `dest` with the id it has on `source`, sending it only when `dest` lacks that id."""
    errors = sdk_errors()
    started = time.monotonic()
    image_id = source.image_id(ref)
    if image_id is None:
        raise NotFoundError(f"image {ref} is not on this machine's Docker engine, so it cannot be copied",
                            hint="build it here first (`amlexec image bootstrap` for amlexec/base:bookworm), "
                            "or `docker load` it here from a file")
    if dest.image_id(ref) == image_id:
        return Transfer(ref, image_id, "present", 0, time.monotonic() - started)
    repository, tag = _split(ref)
    if dest.image_id(image_id) == image_id:
        # Same content under another name (or untagged): naming it is enough.
        dest.client.api.tag(image_id, repository, tag)
        progress(f"{dest_name} already has image {image_id[:19]}; tagged it {ref}")
        return Transfer(ref, image_id, "tagged", 0, time.monotonic() - started)
    size = int(source.client.api.inspect_image(image_id).get("Size") or 0)
    progress(f"copying image {ref} ({size / 1e6:.0f} MB unpacked) from this machine's Docker engine to "
             f"{dest_name} (docker save | docker load, no registry needed)...")
    sent = [0]
    try:
        chunks = source.client.api.get_image(ref, chunk_size=CHUNK)
        answer = dest.client.api.load_image(_counted(chunks, sent, size, progress), quiet=False)
        for event in answer:
            if isinstance(event, dict) and event.get("error"):
                raise UnavailableError(f"{dest_name} could not load image {ref}: {event['error']}",
                                       hint="check free disk space under /var/lib/docker there")
    except errors.APIError as exc:
        raise UnavailableError(f"copying image {ref} to {dest_name} failed: {exc.explanation or exc}",
                               hint="check free disk space under /var/lib/docker on both machines") from exc
    if dest.image_id(ref) != image_id:
        raise UnavailableError(f"{dest_name} did not keep image {ref} after loading it",
                               hint="see the Docker engine's log there")
    seconds = time.monotonic() - started
    progress(f"copied {ref} to {dest_name}: {sent[0] / 1e6:.0f} MB in {seconds:.1f}s")
    return Transfer(ref, image_id, "copied", sent[0], seconds)


def _counted(chunks: Iterator[bytes], sent: list[int], size: int,
             progress: Callable[[str], None]) -> Iterator[bytes]:
    last = time.monotonic()
    for chunk in chunks:
        sent[0] += len(chunk)
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_SECONDS:
            last = now
            share = f" (~{min(99, 100 * sent[0] // size)}%)" if size else ""
            progress(f"  {sent[0] / 1e6:.0f} MB sent{share}")
        yield chunk
