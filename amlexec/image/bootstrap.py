"""`amlexec image bootstrap`: a base image built from Debian's package archive, with no registry.

mmdebstrap writes a root filesystem as a tar stream, which the engine imports as an image. The recipes
amlexec ships live here as data (images/README.md documents them, and a unit test keeps the shell
recipes in images/ identical). The import is untagged until mmdebstrap has exited cleanly, so a failed
or interrupted bootstrap never leaves a tag pointing at half a filesystem.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import EnvironmentBuildError, NotFoundError, UsageError
from .engine import Engine, sdk_errors

if TYPE_CHECKING:
    from collections.abc import Callable

BASE_REPOSITORY = "amlexec/base"


@dataclass(frozen=True)
class BaseRecipe:
    suite: str  # the Debian release
    variant: str
    packages: tuple[str, ...]
    # Image config applied at import: a rootfs tarball carries none.
    changes: tuple[str, ...]
    flavor: str = ""  # "spark": with a Java runtime, for Framework: PySpark

    @property
    def name(self) -> str:
        return f"{self.suite}-{self.flavor}" if self.flavor else self.suite

    @property
    def tag(self) -> str:
        return f"{BASE_REPOSITORY}:{self.name}"


RECIPES = {
    "bookworm": BaseRecipe(
        suite="bookworm",
        variant="minbase",
        # python3-venv brings ensurepip, which the run environment's venv needs; ca-certificates lets
        # online builds reach package indexes over TLS.
        packages=("python3", "python3-venv", "python3-pip", "ca-certificates"),
        changes=(
            "ENV LANG=C.UTF-8",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            'CMD ["python3"]',
            "LABEL amlexec=1 amlexec.base=bookworm",
        ),
    ),
}
# Framework: PySpark needs Java in the base image: builds have no network to install it later. Spark
# itself is not part of the base; it goes into a layer of its own (image/sparkimage.py).
RECIPES["bookworm-spark"] = BaseRecipe(
    suite="bookworm",
    variant="minbase",
    packages=(*RECIPES["bookworm"].packages, "openjdk-17-jre-headless"),
    changes=(*RECIPES["bookworm"].changes[:-1], "LABEL amlexec=1 amlexec.base=bookworm-spark"),
    flavor="spark",
)


def mmdebstrap_argv(recipe: BaseRecipe, *, mirror: str | None = None, executable: str = "mmdebstrap") -> list[str]:
    """The rootfs command: the tar stream goes to stdout."""
    argv = [executable, f"--variant={recipe.variant}", f"--include={','.join(recipe.packages)}", recipe.suite, "-"]
    if mirror:
        argv.append(mirror)
    return argv


def recipe_for(suite: str, *, spark: bool = False) -> BaseRecipe:
    name = f"{suite}-spark" if spark else suite
    try:
        return RECIPES[name]
    except KeyError:
        known = sorted({r.suite for r in RECIPES.values()})
        raise UsageError(f"no base image recipe for '{name}'", hint=f"known suites: {', '.join(known)}") from None


@dataclass(frozen=True)
class BootstrapResult:
    tag: str
    image_id: str
    built: bool
    seconds: float


def bootstrap(engine: Engine, recipe: BaseRecipe, *, progress: Callable[[str], None], force: bool = False,
              mirror: str | None = None, tag: str | None = None) -> BootstrapResult:
    """Build (or find) the base image for `recipe`; idempotent unless `force`."""
    started = time.monotonic()
    name = tag or recipe.tag
    existing = engine.image_id(name)
    if existing and not force:
        progress(f"{name} already exists ({existing[7:19]}); use --force to rebuild it")
        return BootstrapResult(name, existing, False, time.monotonic() - started)
    exe = shutil.which("mmdebstrap")
    if exe is None:
        raise NotFoundError("mmdebstrap is not installed; it builds the base image from Debian's archive",
                            hint="sudo apt-get install -y mmdebstrap")
    argv = mmdebstrap_argv(recipe, mirror=mirror, executable=exe)
    progress(f"building {name} from Debian {recipe.suite} with mmdebstrap (about a minute)...")
    image_id = _import_rootfs(engine, argv, recipe.changes, progress)
    repository, _, image_tag = name.rpartition(":")
    engine.client.api.tag(image_id, repository, image_tag)
    progress(f"tagged {name} ({image_id[7:19]}) in {time.monotonic() - started:.0f}s")
    return BootstrapResult(name, image_id, True, time.monotonic() - started)


def _import_rootfs(engine: Engine, argv: Sequence[str], changes: Sequence[str],
                   progress: Callable[[str], None]) -> str:
    errors = sdk_errors()
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    messages: list[str] = []
    pump = threading.Thread(target=_relay, args=(proc.stderr, messages, progress), daemon=True)
    pump.start()
    image_id = ""
    try:
        # The rootfs streams straight into the engine: no temporary tarball on disk.
        chunks = iter(lambda: proc.stdout.read(1 << 20), b"")  # type: ignore[union-attr]
        answer = engine.client.api.import_image(src=chunks, stream_src=True, changes=list(changes))
        image_id = _imported_id(answer)
    except errors.APIError as exc:
        proc.kill()
        raise EnvironmentBuildError(f"the engine refused the imported root filesystem: {exc.explanation}",
                                    hint="check the engine's log and free disk space, then retry") from exc
    finally:
        code = proc.wait()
        pump.join(timeout=10)
    if code != 0:
        if image_id:
            with contextlib.suppress(errors.APIError):
                engine.client.api.remove_image(image_id, force=True)
        last = next((m for m in reversed(messages) if m.startswith("E:")), messages[-1] if messages else "")
        raise EnvironmentBuildError(
            f"mmdebstrap failed (exit code {code}): {last}",
            hint="it needs root (or unprivileged user namespaces) and access to a Debian mirror; "
            "pass --mirror for a local one",
        )
    if not image_id:
        raise EnvironmentBuildError("the engine did not report the imported image's id",
                                    hint="retry; `docker images` shows whether the import arrived")
    return image_id


def _relay(stream: Any, messages: list[str], progress: Callable[[str], None]) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip()
        if line:
            messages.append(line)
            progress(f"  {line}")


def _imported_id(answer: Any) -> str:
    """The image id from the import API's answer (JSON lines ending with {"status": "sha256:..."})."""
    import json

    text = answer.decode() if isinstance(answer, bytes) else str(answer)
    found = ""
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            status = json.loads(line).get("status", "")
            if status.startswith("sha256:"):
                found = status
    return found
