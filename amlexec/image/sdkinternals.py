"""The Docker SDK's private API, in one place: what amlexec needs that the SDK's public API lacks.

Pinned with `docker>=7,<8` in pyproject.toml; a new SDK major version is checked against this module only.
- `use_adapter`: the SDK's `ssh://` client, with its transport replaced by amlexec's SSH connection
  (`image.sshengine`): paramiko, host-key checking and reconnects, instead of the SDK's own ssh setup.
- `follow_logs`: a container's multiplexed log stream with no socket timeout. The SDK's `logs()` drops
  which stream a frame came from, and its `attach()` keeps a 2-minute socket timeout that would break on
  a quiet script.
"""

from __future__ import annotations

from typing import Any


def use_adapter(api: Any, adapter: Any) -> None:
    """Make `api` (an `APIClient` made for `ssh://`) talk through `adapter`, then ask the engine's API
    version, which checks that it answers."""
    api._custom_adapter.close()
    api._custom_adapter = adapter
    api.mount("http+docker://ssh", adapter)
    api._version = api._retrieve_server_version()


def follow_logs(api: Any, container_id: str) -> Any:
    """The raw HTTP response of `GET /containers/ID/logs?follow=1` (stdout and stderr), streaming, with the
    socket's timeout removed; the caller reads the 8-byte-header frames from it and closes it."""
    response = api._get(api._url("/containers/{0}/logs", container_id),
                        params={"stdout": 1, "stderr": 1, "follow": 1}, stream=True)
    api._raise_for_status(response)
    api._disable_socket_timeout(api._get_raw_response_socket(response))
    return response
