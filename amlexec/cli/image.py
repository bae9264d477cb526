"""`amlexec image ...`: base images for Docker targets."""

from __future__ import annotations

from typing import Annotated

import typer

from ..output import OutputFormat
from .common import OutputOpt, QueryOpt, progress, show

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
