"""Every command case of the corpus (cases_*.py): its exact exit code and first stderr line, never exit 70, no
traceback, and the state of history and files it must leave behind."""

from __future__ import annotations

import pytest
from corpus_support import assert_settled, fill, first_line, load_cases, run_case

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, project):
    result, values = run_case(case, project)  # the e2e guard fails exit 70, "internal error" or a traceback
    assert (result.code, first_line(result.err)) == (case.code, fill(case.first_err, values)), result.err
    if case.out is not None:
        assert result.out == fill(case.out, values)
    if case.after is not None:
        case.after(project, values, result)
    if case.settled:
        assert_settled(project)


def test_the_corpus_covers_every_class_of_this_issue():
    """A guard on the table itself: each class keeps at least one case (a removed case fails here)."""
    names = {c.name for c in CASES}
    for needed in ("metric name is a list", "metric time is a mapping", "metric value of 10 MB",
                   "metric line not JSON", "metrics file replaced by a folder", "script deletes its run folder",
                   "script deletes .amlexec/runs", "history list with a damaged row",
                   "history list with no history creates nothing", "links, FIFOs and sockets in a local run's outputs",
                   "download replaces a link where a file goes", "return replaces a committed link where a file goes",
                   "download -d ''", "download -d naming a file", "download -d under a file", "download -d /proc",
                   "return into an outputs/ that is a file", "download of a run without outputs",
                   "failed run records its last output line"):
        assert needed in names
