"""amlexec's run-time package inside a run: only `amlexec.logging` is needed there.

`extend_path` lets a full amlexec installed in the same interpreter stay importable behind this copy.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
__version__ = "@VERSION@"
