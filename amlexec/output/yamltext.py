"""`-o yaml`: the result as YAML, keys in their order (not sorted), unicode as is."""

from __future__ import annotations

from collections import OrderedDict
from functools import cache
from typing import Any


def to_yaml(value: Any) -> str:
    import yaml

    return yaml.dump(value, Dumper=_dumper(), sort_keys=False, allow_unicode=True, default_flow_style=False)


@cache
def _dumper() -> type:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: much faster on long lists

    class Dumper(base):  # type: ignore[misc, valid-type]
        pass

    # --query results keep their multiselect order in an OrderedDict; anything else (paths, dates) is
    # written as its string, as `-o json` does.
    Dumper.add_representer(OrderedDict, lambda dumper, data: dumper.represent_dict(data))
    Dumper.add_multi_representer(object, _fallback)
    return Dumper


def _fallback(dumper: Any, data: Any) -> Any:
    """Subclasses of the plain types (str enums, int enums) as their value; other objects as their string."""
    if isinstance(data, str):
        return dumper.represent_str(str.__str__(data))  # str(x) of a str enum is its name, not its value
    for plain, represent in ((bool, dumper.represent_bool), (int, dumper.represent_int),
                             (float, dumper.represent_float)):
        if isinstance(data, plain):
            return represent(plain(data))
    return dumper.represent_str(str(data))
