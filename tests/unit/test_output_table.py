"""`-o table`: alignment, short forms of lists, cutting to the terminal width, az's query tables."""

from __future__ import annotations

import math

from amlexec.output import OutputFormat, render, short, terminal_width
from amlexec.output.table import auto_table, cell, cut, render_table, width_of


def test_table_alignment():
    assert render_table([{"name": "local", "type": "local"}, {"name": "docker", "type": "localdocker"}]) == (
        "name    type\n------  -----------\nlocal   local\ndocker  localdocker\n")
    assert render_table({"k": 1, "long": True}) == "k     1\nlong  true\n"


def test_cells_show_nan_and_inf_and_lists_short():
    assert [cell(math.nan), cell(math.inf), cell(-math.inf), cell(0.123456789)] == ["NaN", "inf", "-inf", "0.123457"]
    assert short([0.5, 0.25, 0.93]) == "0.93 (3 values)"
    assert short([0.5]) == "0.5 (1 value)"
    assert short([]) == "(0 values)"
    assert short([[1, 2], [3, 4]]) == "(2 values)"
    assert short(0.5) == 0.5 and short("x") == "x"


def test_cut_counts_terminal_columns():
    assert cut("abcdef", 6) == "abcdef"
    assert cut("abcdefg", 6) == "abcde…"
    assert width_of("日本") == 4
    assert cut("日本語です", 5) == "日本…"
    assert width_of(cut("日本語です", 5)) <= 5


def test_a_wide_table_is_cut_to_the_width_widest_columns_first_and_kept_columns_last():
    rows = [{"Run_id": "iris_1796181811583", "Curve": "x" * 200, "Note": "y" * 60, "Status": "Completed"}]
    text = render_table(rows, width=80, keep=("Run_id",))
    lines = text.splitlines()
    assert all(width_of(line) <= 80 for line in lines)
    assert "iris_1796181811583" in lines[2] and "Completed" in lines[2]
    assert lines[2].split()[1].endswith("…")
    assert render_table(rows, width=None) == render_table(rows)  # no terminal: whole lines


def test_a_table_that_cannot_fit_even_cut_has_its_lines_cut():
    rows = [{f"c{i}": "v" * 10 for i in range(30)}]
    assert all(width_of(line) <= 40 for line in render_table(rows, width=40).splitlines())


def test_name_value_lines_are_cut_too():
    text = render_table({"properties": {"python": "/usr/bin/python3 " * 10}, "k": "v"}, width=50)
    assert all(width_of(line) <= 50 for line in text.splitlines())
    assert text.splitlines()[1] == "k           v"


def test_query_tables_are_the_az_cli_ones():
    assert auto_table([["a", "Completed"], ["b", "Failed"]]) == (
        "Column1  Column2\n-------  ---------\na        Completed\nb        Failed\n")
    assert auto_table(["a", "b"]) == "Result\n------\na\nb\n"
    assert auto_table({"run_id": "a", "loss": [1.0, 0.5]}) == (
        "Run_id  Loss\n------  --------------\na       0.5 (2 values)\n")
    assert render(["a"], OutputFormat.table, queried=True) == "Result\n------\na\n"


def test_terminal_width_honours_columns_and_is_unlimited_off_a_terminal(monkeypatch):
    import io

    monkeypatch.setenv("COLUMNS", "100")
    assert terminal_width() == 100
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.setattr("sys.stderr", io.StringIO())
    for junk in ("", "junk", "0"):
        monkeypatch.setenv("COLUMNS", junk)
        assert terminal_width() is None
