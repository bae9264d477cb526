"""`amlexec image ...`: base images for Docker targets, and copying them to remote Docker hosts."""

from __future__ import annotations

from typing import Annotated

import typer

from ..output import OutputFormat
from .common import OutputOpt, QueryOpt, progress, project_here, show

app = typer.Typer(no_args_is_help=True)


@app.command("bootstrap")
def bootstrap(
    suite: Annotated[str, typer.Option("--suite", help="Debian release to build the base image from.")] = "bookworm",
    tag: Annotated[str | None, typer.Option("--tag", help="Image tag (default: amlexec/base:<suite>).")] = None,
    mirror: Annotated[str | None, typer.Option("--mirror", help="Debian mirror URL (default: mmdebstrap's).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the tag already exists.")] = False,
    spark: Annotated[bool, typer.Option("--spark", help="Add a Java runtime (openjdk-17-jre-headless) for "
                                        "Framework: PySpark runs; tagged amlexec/base:<suite>-spark.")] = False,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Build a base image from Debian's package archive (mmdebstrap + import), no registry needed.

    Use it as `baseDockerImage` in a docker .compute file. Skips the build when the tag exists.
    """
    from ..image.bootstrap import bootstrap as do_bootstrap
    from ..image.bootstrap import recipe_for
    from ..image.engine import Engine

    result = do_bootstrap(Engine.local(), recipe_for(suite, spark=spark), progress=progress, force=force,
                          mirror=mirror, tag=tag)
    show("image bootstrap", {"tag": result.tag, "image_id": result.image_id, "built": result.built,
                             "seconds": round(result.seconds, 2)}, output, query)


@app.command("push-to")
def push_to(
    target: Annotated[str, typer.Argument(help="A remotedocker target of this project (aml_config/NAME.compute).")],
    image: Annotated[str | None, typer.Option("--image", help="The image to copy (default: the target's "
                                              "baseDockerImage).")] = None,
    output: OutputOpt = OutputFormat.table,
    query: QueryOpt = None,
) -> None:
    """Copy an image from this machine's Docker engine to a remote Docker host's, over SSH.

    For hosts that cannot pull it (no registry, no internet): docker save here, docker load there,
    streamed. Nothing is sent when the host already has the image. `experiment prepare` does the same
    for a missing baseDockerImage by itself; this command does it ahead of time.
    """
    from ..errors import UsageError
    from ..targets import registry
    from ..targets.base import target_for
    from ..targets.types import Capability

    project = project_here()
    compute = project.load_compute(target)
    hosts = registry.with_capability(Capability.HAS_DOCKER_ENGINE, over_ssh=True)  # Docker engines over SSH
    if registry.find(compute.type) not in hosts:
        raise UsageError(f"{compute.file_name} is a {compute.raw_type or compute.type} target; push-to copies "
                         f"images to {registry.spoken(hosts, 'or')} targets", hint="name a target attached with "
                         + " or ".join(f"`amlexec computetarget attach {kind.name}`" for kind in hosts))
    remote = target_for(compute, project)
    try:
        result = remote.push_image(image or remote.base_image, progress)
    finally:
        remote.close()
    if result.how == "present":
        progress(f"{remote.display} already has {result.ref} ({result.image_id[:19]}); nothing sent")
    show("image push-to", {"target": compute.name, **result.summary()}, output, query)
