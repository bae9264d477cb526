"""The `history info` document of a finished run, kept as the JSON text amlexec prints.

A finished run's document never changes, so it is written once, by the store, in the same transaction as
whatever made the run final (store.py, `_keep_doc`): every write to a run ends by making its stored
document match it again, or by removing it. `history list -o json` then joins the stored texts (kept
indented as items of a listing) instead of decoding 10,000 rows, building 10,000 dicts and encoding them
again in Python; with `--query` or another format it parses them (json.loads, at C speed).
Runs without a document (active runs, histories written before documents existed, a damaged one) are
described live, and both ways print the same bytes (tests/unit/test_history_docs.py).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from ..output.jsontext import json_safe, to_json
from .report import metric_values, run_info
from .rows import FINAL_STATUSES, RunRecord, Warn, fast_loads

# Bump when run_info, metric_values or to_json change what a run's document says: documents of another
# format are not used (the run is described live) and are rewritten when their run is next written.
# tests/unit/test_history_docs.py pins the text of a document to this number.
DOC_FORMAT = 1

# The document's own fields: a metric of one of these names never appears as a top-level key of it.
FIELDS = frozenset(run_info(RunRecord(run_id="", run_number=0, project="", status="", created_utc=""), {}, "", []))


class StoredDoc(NamedTuple):
    """A finished run's `history info -o json` text as an item of a listing (see `build`), and its metric
    names in order. (A named tuple: a listing makes 10,000 of them.)"""

    run_id: str
    names: tuple[str, ...]
    text: str


def build(record: RunRecord, pairs: Iterable[tuple[str, Any]], run_dir: str | os.PathLike[str],
          files: list[str]) -> tuple[str, str]:
    """(the metric names as JSON, the document's text) of a run, as `describe` gives it.

    The text is `history info -o json` without its final newline and with every line after the first
    indented two spaces more: as it stands inside a listing, so that a listing joins the texts as they
    are (re-indenting 10,000 documents would be a tenth of the command). `top_level` gives it back."""
    info = run_info(record, metric_values(pairs), run_dir, files)
    return json.dumps(list(info["metrics"])), to_json(info)[:-1].replace("\n", "\n  ")


def top_level(text: str) -> str:
    """A stored text as `history info -o json` prints it (strings hold no raw newlines, so this is exact)."""
    return text.replace("\n  ", "\n") + "\n"


def checksum(run_id: str, names: str, text: str) -> int:
    """Ties a document to its run and catches a damaged one (CRC-32: about a millisecond per 1,000 runs)."""
    return zlib.crc32(text.encode(), zlib.crc32(f"{DOC_FORMAT}\0{run_id}\0{names}\0".encode()))


def read_listing(rows: Iterable[tuple[Any, ...]], warn: Warn) -> list[StoredDoc | str]:
    """Rows of (run_id, status, format, checksum, names, doc): the sound document of each final run, else
    the run's id (to be described from its record). A damaged document is named in a warning."""
    parsed_names: dict[str, tuple[str, ...] | None] = {}  # the runs of a history share a few name lists
    entries: list[StoredDoc | str] = []
    for run_id, status, fmt, check, names, text in rows:
        run_id = str(run_id)
        if fmt != DOC_FORMAT or status not in FINAL_STATUSES:  # none, or another amlexec version's format
            entries.append(run_id)
            continue
        parsed = parsed_names.get(names, _UNSEEN) if type(names) is str else None
        if parsed is _UNSEEN:
            parsed = parsed_names[names] = _name_list(names)
        if parsed is None or type(text) is not str or check != checksum(run_id, names, text):
            warn(f"run {run_id}: its stored document (table run_docs) is damaged; it is described from its "
                 "record instead")
            entries.append(run_id)
            continue
        entries.append(StoredDoc(run_id, parsed, text))
    return entries


_UNSEEN: Any = object()


def _name_list(text: str) -> tuple[str, ...] | None:
    try:
        value = fast_loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(value, list) or not all(type(n) is str for n in value):
        return None
    return tuple(value)


Item = StoredDoc | dict[str, Any]


def all_names(items: Sequence[Item]) -> list[str]:
    """The metric names any of the runs logged, in the order they first appear (report.metric_names)."""
    names: dict[str, None] = {}
    seen: set[int] = set()  # name tuples are shared (read_listing): each is looked at once
    for item in items:
        if isinstance(item, StoredDoc):
            if id(item.names) not in seen:
                seen.add(id(item.names))
                names.update(dict.fromkeys(item.names))
        else:
            names.update(dict.fromkeys(item["metrics"]))
    return list(names)


def listing_text(items: Sequence[Item]) -> str:
    """`history list -o json`: what to_json(with_all_metrics(infos)) prints, byte for byte, with the stored
    documents joined in as they are; each one gets `"name": null` for the metrics only other runs logged."""
    if not items:
        return "[]\n"
    names = all_names(items)
    tails: dict[tuple[str, ...], str] = {}
    texts = []
    for item in items:
        if isinstance(item, StoredDoc):
            tail = tails.get(item.names)
            if tail is None:
                own = set(item.names)
                tail = tails[item.names] = "".join(f',\n    {encode_basestring(n)}: null' for n in names
                                                   if n not in own and n not in FIELDS)
            texts.append(item.text[:-4] + tail + "\n  }" if tail else item.text)
        else:
            for name in names:
                item.setdefault(name, None)
            texts.append(to_json(item)[:-1].replace("\n", "\n  "))
    return "[\n  " + ",\n  ".join(texts) + "\n]\n"


def listing_objects(items: Sequence[Item]) -> list[dict[str, Any]]:
    """The listing as objects (for --query and the other formats), as report.with_all_metrics makes it,
    and JSON-safe (output.jsontext.json_safe) as JSON gives them: parsed documents need no copy."""
    names = all_names(items)
    infos: list[dict[str, Any]] = [json.loads(item.text) if isinstance(item, StoredDoc) else json_safe(item)
                                   for item in items]
    for info in infos:
        for name in names:
            info.setdefault(name, None)
    return infos
