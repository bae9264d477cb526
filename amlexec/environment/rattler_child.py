"""The py-rattler child process: `python -m amlexec.environment.rattler_child`, a JSON request on stdin,
a JSON answer on stdout, and `os._exit` at the end.

py-rattler sometimes crashes while the interpreter shuts down, after its work is done, so it never runs
in the amlexec process (nor in pytest): the parent (`rattler_run.py`) starts this child with a deadline.
The module imports nothing from amlexec, only the standard library and rattler, so a Docker build stage
can run a copy of it to install a locked environment: `python rattler_child.py --request FILE [--site DIR]`
reads the request from FILE, finds rattler in DIR (an unpacked py-rattler wheel), and exits 1 with the
message on stderr when the request fails, so the build step fails.

Requests (`op`):
- `index`:   {"channel_dir"}                                   -> {}
- `solve`:   {"channels": [{"name", "url"}], "specs", "platform", "virtual_packages": [[name, version, build]],
              "cache_dir", "solver_timeout", "exclusive": {"url", "names"} | null}
                                                               -> {"records": [...]}
- `install`: {"channels", "specs", "platform", "virtual_packages", "cache_dir", "prefix", "solver_timeout",
              "expect": {name: sha256 or md5} | null}          -> {"records": [...]}
  With `expect`, the solution must be exactly those packages with those hashes, or nothing is installed.
Failures answer {"ok": false, "kind": "unsatisfiable" | "channel" | "standin" | "spec" | "internal",
"message", "spec", "channel"}.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import sys
import time
from typing import Any


class Failure(Exception):
    def __init__(self, kind: str, message: str, *, spec: str | None = None, channel: str | None = None) -> None:
        super().__init__(message)
        self.answer = {"ok": False, "kind": kind, "message": message, "spec": spec, "channel": channel}


def _short(exc: BaseException) -> str:
    """First line and deepest cause of a rattler error (its `Caused by:` chain is long)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    causes = [line[len("Caused by:"):].strip() for line in lines if line.startswith("Caused by:")]
    head = lines[0] if lines else type(exc).__name__
    return f"{head}: {causes[-1]}" if causes else head


def _virtual_packages(items: list[list[str]]) -> list[Any]:
    from rattler import BuildString, GenericVirtualPackage, PackageName, Version

    return [GenericVirtualPackage(PackageName(n), Version(v), BuildString(b)) for n, v, b in items]


def _record(rec: Any) -> dict[str, Any]:
    from rattler import MatchSpec

    dependencies: dict[str, list[str]] = {}
    for dep in rec.depends:
        spec = MatchSpec(dep)
        version = str(spec.version) if spec.version is not None else ""
        dependencies.setdefault(spec.name.normalized, [])
        if version and version != "*":
            dependencies[spec.name.normalized].append(version)
    return {
        "name": rec.name.normalized, "version": str(rec.version), "build": str(rec.build),
        "build_number": int(rec.build_number), "subdir": str(rec.subdir), "url": str(rec.url),
        "channel": str(rec.channel or ""), "file_name": str(rec.file_name), "md5": rec.md5.hex() if rec.md5 else None,
        "sha256": rec.sha256.hex() if rec.sha256 else None, "depends": [str(d) for d in rec.depends],
        "dependencies": {k: ",".join(v) for k, v in sorted(dependencies.items())},
        "noarch": _noarch(rec.noarch),
    }


def _noarch(value: Any) -> str | None:
    if value is None or value.none:
        return None
    return "python" if value.python else "generic"


async def _query(gateway: Any, urls: list[str], platforms: list[str], names: list[str]) -> list[Any]:
    result = await gateway.query(urls, platforms, names, recursive=False)
    return [rec for per_source in result for rec in per_source]


async def _check_channels(gateway: Any, channels: list[dict], platforms: list[str]) -> None:
    """Name the first channel that cannot be read (the solver's error only names a URL)."""
    for channel in channels:
        try:
            await gateway.query([channel["url"]], platforms, ["__amlexec_probe__"], recursive=False)
        except Exception as exc:
            raise Failure("channel", _short(exc), channel=channel["name"]) from None


async def _check_exclusive(gateway: Any, exclusive: dict, specs: list[str], platforms: list[str]) -> None:
    """Specs for stand-in packages (python, pip) must match the stand-ins, not anything else."""
    from rattler import MatchSpec

    for text in specs:
        spec = MatchSpec(text)
        if spec.name.normalized not in exclusive["names"]:
            continue
        records = await _query(gateway, [exclusive["url"]], platforms, [spec.name.normalized])
        if not any(spec.matches(rec) for rec in records):
            have = ", ".join(f"{r.name.normalized} {r.version}" for r in records) or "nothing"
            raise Failure("standin", f"the base image's interpreter provides {have}", spec=text)


async def _diagnose(gateway: Any, channels: list[dict], specs: list[str], platforms: list[str], error: Exception):
    """After a failed solve: name a spec that nothing matches, else report the solver's explanation."""
    from rattler import MatchSpec

    urls = [c["url"] for c in channels]
    for text in specs:
        spec = MatchSpec(text)
        records = await _query(gateway, urls, platforms, [spec.name.normalized])
        if not any(spec.matches(rec) for rec in records):
            versions = sorted({str(r.version) for r in records})
            found = f"versions found: {', '.join(versions[-8:])}" if versions else "no package of that name"
            raise Failure("unsatisfiable", found, spec=text)
    raise Failure("unsatisfiable", str(error).strip())


async def _solve(request: dict) -> list[Any]:
    import rattler
    from rattler.exceptions import GatewayError, InvalidMatchSpecError, SolverError

    gateway = rattler.Gateway(cache_dir=request["cache_dir"])
    platforms = [request["platform"], "noarch"]
    channels = request["channels"]
    specs = request["specs"]
    try:
        parsed = [rattler.MatchSpec(s) for s in specs]
    except InvalidMatchSpecError as exc:
        raise Failure("spec", _short(exc)) from None
    await _check_channels(gateway, channels, platforms)
    if request.get("exclusive"):
        await _check_exclusive(gateway, request["exclusive"], specs, platforms)
    try:
        return await rattler.solve(
            sources=[c["url"] for c in channels], specs=parsed, gateway=gateway, platforms=platforms,
            virtual_packages=_virtual_packages(request["virtual_packages"]),
            timeout=datetime.timedelta(seconds=request.get("solver_timeout", 60)))
    except GatewayError as exc:
        raise Failure("channel", _short(exc)) from None
    except SolverError as exc:
        await _diagnose(gateway, channels, specs, platforms, exc)
        raise


def _check_expected(records: list[Any], expect: dict[str, dict[str, str | None]]) -> None:
    """The solution must be exactly the locked packages, byte for byte: name -> {"sha256", "md5"} of each."""
    def same(rec: Any, want: dict[str, str | None]) -> bool:
        if want.get("sha256") and rec.sha256:
            return rec.sha256.hex() == want["sha256"]
        return bool(want.get("md5")) and rec.md5 is not None and rec.md5.hex() == want["md5"]

    got = {rec.name.normalized: rec for rec in records}
    missing = sorted(set(expect) - set(got))
    extra = sorted(set(got) - set(expect))
    changed = sorted(n for n in set(got) & set(expect) if not same(got[n], expect[n]))
    if missing or extra or changed:
        parts = [f"{what}: {', '.join(names)}" for what, names in
                 (("missing", missing), ("not in the lock", extra), ("hash differs", changed)) if names]
        raise Failure("internal", "the staged packages are not the locked ones (" + "; ".join(parts) + ")")


async def _handle(request: dict) -> dict:
    op = request.get("op")
    if op == "index":
        from rattler.index import index_fs

        await index_fs(request["channel_dir"], write_zst=False, write_shards=False, force=True)
        return {}
    if op == "solve":
        records = await _solve(request)
        return {"records": [_record(r) for r in records]}
    if op == "install":
        import rattler

        records = await _solve(request)
        if request.get("expect") is not None:
            _check_expected(records, request["expect"])
        await rattler.install(records, target_prefix=request["prefix"], cache_dir=request["cache_dir"],
                              platform=rattler.Platform(request["platform"]), show_progress=False)
        return {"records": [_record(r) for r in records]}
    raise Failure("internal", f"unknown op {op!r}")


def _arguments(argv: list[str]) -> tuple[str | None, str | None]:
    """`--request FILE` and `--site DIR` (both optional; without FILE the request comes on stdin)."""
    values: dict[str, str] = {}
    words = list(argv)
    while words:
        word = words.pop(0)
        if word not in ("--request", "--site") or not words:
            sys.stderr.write(f"usage: rattler_child.py [--request FILE] [--site DIR] (got {word!r})\n")
            os._exit(2)
        values[word] = words.pop(0)
    return values.get("--request"), values.get("--site")


def main() -> None:
    started = time.monotonic()
    request_file, site = _arguments(sys.argv[1:])
    if site:
        sys.path.insert(0, site)
    request: dict = {}
    try:
        if request_file:
            with open(request_file, encoding="utf-8") as fh:
                request = json.load(fh)
        else:
            request = json.load(sys.stdin)
        answer = {"ok": True, **asyncio.run(_handle(request))}
    except Failure as failure:
        answer = failure.answer
    except Exception as exc:
        answer = {"ok": False, "kind": "internal", "message": f"{type(exc).__name__}: {_short(exc)}",
                  "spec": None, "channel": None}
    answer["seconds"] = round(time.monotonic() - started, 4)
    try:
        text = json.dumps(answer)
    except (TypeError, ValueError) as exc:
        text = json.dumps({"ok": False, "kind": "internal", "message": f"unserialisable answer: {exc}",
                           "spec": None, "channel": None})
    code = 0
    if not request_file:
        sys.stdout.write(text + "\n")
    else:  # a build step: say what happened in words, and fail the step on failure
        if answer["ok"]:
            names = ", ".join(f"{r['name']} {r['version']}" for r in answer.get("records", []))
            sys.stdout.write(f"amlexec: installed {len(answer.get('records', []))} conda package(s) into "
                             f"{request.get('prefix')} in {answer['seconds']:.1f}s: {names}\n")
        else:
            sys.stderr.write(f"ERROR: {answer['message']}\n")
            code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # never run the interpreter's shutdown with rattler loaded (it can crash there)


if __name__ == "__main__":
    main()
