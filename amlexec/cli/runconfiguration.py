"""`amlexec runconfiguration ...`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError
from ..output import OutputFormat
from .common import NameOpt, OutputOpt, QueryOpt, progress, project_here, show

if TYPE_CHECKING:
    from ..config.runconfig import RunConfig
    from ..project import Project

app = typer.Typer(no_args_is_help=True)


def parse_env(pairs: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--env '{pair}' is not NAME=VALUE", hint="write it as --env NAME=VALUE")
        env[name] = value
    return env


@app.command("create")
def create(
    name: NameOpt,
    target: Annotated[str, typer.Option("--target", "-t", help="The compute target it runs on.")],
    framework: Annotated[str | None, typer.Option("--framework", "-f", help="Python or PySpark.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="NAME=VALUE, repeatable.")] = None,
    conda_file: Annotated[str | None, typer.Option("--conda-dependencies", "-d")] = None,
    spark_file: Annotated[str | None, typer.Option("--spark-dependencies", "-s")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write aml_config/<name>.runconfig for a target."""
    from ..configure import create_runconfig

    project = project_here()
    rc = create_runconfig(project, name=name, target=target, framework=framework, env=parse_env(env),
                          conda_file=conda_file, spark_file=spark_file, force=force)
    typer.echo(project.display(rc.path))
    progress(f"run with: amlexec experiment submit -c {name} SCRIPT")


@app.command("list")
def list_runconfigs(output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """List the project's run configurations."""
    project = project_here()
    rows = []
    for name in project.runconfig_names():
        rc = project.load_runconfig(name)
        rows.append({"name": name, "target": rc.target_name, "framework": rc.framework,
                     "condaDependenciesFile": rc.conda_dependencies_file})
    show("runconfiguration list", rows, output, query, columns=["name", "target", "framework",
                                                                  "condaDependenciesFile"])


@app.command("show")
def show_runconfig(name: Annotated[str, typer.Argument(help="Run configuration name.")],
                   output: OutputOpt = OutputFormat.table, query: QueryOpt = None) -> None:
    """Show a run configuration's settings."""
    from ..config.schema import to_mapping

    project = project_here()
    rc = project.load_runconfig(name)
    _warn_missing_dependency_files(project, rc)
    show("runconfiguration show", {"name": rc.name, **to_mapping(rc)}, output, query)


def _warn_missing_dependency_files(project: Project, rc: RunConfig) -> None:
    from ..notices import warn

    files = (("CondaDependenciesFile", rc.conda_dependencies_file, "docker, remotedocker and cluster runs read it"),
             ("SparkDependenciesFile", rc.spark_dependencies_file,
              "PySpark runs read it" if rc.is_pyspark else "only Framework: PySpark runs read it"))
    for key, relative, who in files:
        path = project.resolve_file(relative)
        if not path.is_file():
            warn(f"{project.display(path)} ({key} in {rc.file_name}) does not exist; {who}")


@app.command("delete")
def delete(name: Annotated[str, typer.Argument(help="Run configuration name.")]) -> None:
    """Delete aml_config/<name>.runconfig."""
    from ..configure import delete_runconfig

    delete_runconfig(project_here(), name)
    progress(f"deleted run configuration '{name}'")
