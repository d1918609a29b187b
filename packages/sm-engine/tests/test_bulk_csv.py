"""The bulk read of big CSV bodies of raw rows (serving_io.bulk_csv_rows): the same features, and the same 400, as
the row-by-row read of every body, and only plain bodies taken by it."""

from __future__ import annotations

import numpy as np
import pytest
from test_fast_path import COLUMNS, build

from sm_runtime import serving_io
from sm_runtime.fast_sklearn import RawPreprocessor, raw_preprocessor
from sm_runtime.serving_io import PayloadError

ROWS = serving_io.BULK_CSV_ROWS + 500


def rows(count: int = ROWS) -> list[list[str]]:
    """Rows of every kind: sizes with 3 decimals, cities, yes/no members, years and numeric codes."""
    rng = np.random.default_rng(7)
    return [
        [
            f"{rng.normal(10, 3):.3f}",
            ["Paris", "Oslo", "Lima", "Rome"][index % 4],
            ["yes", "no", "TRUE", "f"][index % 3],
            str(1970 + index % 13),
            str(index % 5),
        ]
        for index in range(count)
    ]


def body(table: list[list[str]], end: str = "\n") -> bytes:
    return ("\n".join(",".join(row) for row in table) + end).encode()


def changed(cells: dict[tuple[int, int], str], table: list[list[str]] | None = None) -> list[list[str]]:
    """`table` (rows()) with the cells at (row, column) replaced."""
    table = [list(row) for row in (table or rows())]
    for (row, column), value in cells.items():
        table[row][column] = value
    return table


EVERY_FIELD_EMPTY_ONCE = {(3 + column, column): "" for column in range(len(COLUMNS))}
BOOLEAN_DIGITS = changed({(row, 2): "01"[row % 2] for row in range(ROWS)})
EVERY_FIELD_MISSING_ONCE = {(9 + column, column): "?" for column in range(len(COLUMNS))}
TAKEN = {
    "plain": rows(),
    "no final newline": rows(),
    "empty fields": changed(EVERY_FIELD_EMPTY_ONCE),
    "unknown categories": changed({(5, 1): "Atlantis", (6, 4): "99", (7, 4): "7.0", (8, 4): "0007"}),
    "long and exponent numbers": changed({(2, 0): "12345678901234567.89", (4, 0): "1.5e3", (6, 3): "-0.0000001"}),
    "numbers in the text column": changed({(1, 1): "8", (2, 1): "8.0"}),
    "numbers of 0 and 1 in a numeric column and others": changed({(1, 0): "1", (2, 0): "0"}),
}
"""Bodies that the bulk read takes."""
LEFT = {
    "spaces": changed({(1, 0): " 4.5", (2, 1): "Oslo ", (3, 2): " yes"}),
    "quoted fields": changed({(1, 1): '"Oslo"', (2, 1): '"Paris, France"'}),
    "a tab": changed({(1, 1): "Os\tlo"}),
    "booleans as 0/1 with 1.00": changed({(1, 2): "1.00"}, BOOLEAN_DIGITS),
    "booleans as 0/1 and empty": changed({(1, 2): ""}, BOOLEAN_DIGITS),
    "a blank row": [*changed({(4, 0): ""}), ["", "", "", "", ""]],
    "an empty line": [*rows()[:9], [], *rows()[9:]],
    "nan beside empty fields": changed({**EVERY_FIELD_EMPTY_ONCE, (20, 3): "nan"}),
    "a wide row": changed({(50, 4): "1,2"}),
    "a wide first row": changed({(0, 4): "1,2"}),
    "a wide row and a narrow one": [*changed({(50, 4): "1,2"})[:60], rows()[60][:4], *rows()[61:]],
    "too few rows": rows(serving_io.BULK_CSV_ROWS - 1),
}
"""Bodies left to the row-by-row read."""
TEXT_OR_ERROR = {
    "inf": changed({(21, 0): "inf"}),
    "underscores": changed({(22, 0): "1_000"}),
    "nan alone": changed({(20, 3): "NaN"}),
    "a bad number": changed({(30, 0): "ten"}),
    "a bad boolean": changed({(40, 2): "maybe"}),
    "missing markers": changed(EVERY_FIELD_MISSING_ONCE),
}
"""Bodies that the bulk read may take (their odd values read as text), whose results must still agree."""


def served(pipeline: object) -> list[RawPreprocessor]:
    """The compiled transform and the plain pipeline.transform."""
    return [raw_preprocessor(pipeline), RawPreprocessor(tuple(COLUMNS), pipeline.transform)]


def outcome(request: serving_io.Request, preprocessor: RawPreprocessor) -> np.ndarray | str:
    try:
        return serving_io.raw_features(request, preprocessor)
    except PayloadError as error:
        return f"{error.status}: {error}"


@pytest.fixture(scope="module")
def preprocessors() -> list[RawPreprocessor]:
    return served(build())


def row_by_row(request: serving_io.Request, preprocessor: RawPreprocessor, monkeypatch) -> np.ndarray | str:
    with monkeypatch.context() as patch:
        patch.setattr(serving_io, "BULK_CSV_ROWS", 10**9)
        return outcome(request, preprocessor)


def assert_same(table: list[list[str]], preprocessors: list[RawPreprocessor], monkeypatch, end: str = "\n") -> None:
    request = serving_io.Request(body(table, end), "text/csv")
    for preprocessor in preprocessors:
        bulk, reference = outcome(request, preprocessor), row_by_row(request, preprocessor, monkeypatch)
        if isinstance(reference, str):
            assert bulk == reference
        else:
            assert bulk.dtype == reference.dtype and bulk.tobytes() == reference.tobytes()


@pytest.mark.parametrize("name", list(TAKEN))
def test_plain_bodies_are_read_in_bulk_as_row_by_row(name: str, preprocessors, monkeypatch) -> None:
    end = "" if name == "no final newline" else "\n"
    assert serving_io.bulk_csv_rows(body(TAKEN[name], end), "text/csv", len(COLUMNS)) is not None
    assert_same(TAKEN[name], preprocessors, monkeypatch, end)


@pytest.mark.parametrize("name", [*LEFT, *TEXT_OR_ERROR])
def test_other_bodies_get_the_row_by_row_result_or_error(name: str, preprocessors, monkeypatch) -> None:
    assert_same({**LEFT, **TEXT_OR_ERROR}[name], preprocessors, monkeypatch)


def test_irregular_bodies_are_left_to_the_row_by_row_read() -> None:
    for name, table in LEFT.items():
        assert serving_io.bulk_csv_rows(body(table), "text/csv", len(COLUMNS)) is None, name
    assert serving_io.bulk_csv_rows(body(rows()), "application/json", len(COLUMNS)) is None
    assert serving_io.bulk_csv_rows(body(rows()), "text/csv", len(COLUMNS) + 1) is None


def test_a_bad_value_in_a_bulk_read_body_gets_the_row_by_row_error(preprocessors) -> None:
    bad = body(TEXT_OR_ERROR["a bad boolean"])
    assert serving_io.bulk_csv_rows(bad, "text/csv", len(COLUMNS)) is not None
    message = outcome(serving_io.Request(bad, "text/csv"), preprocessors[0])
    assert message == "400: row 41, column 'member': 'maybe' is not a boolean (true/false, yes/no, 1/0, t/f, y/n)"
    wide = serving_io.Request(body(LEFT["a wide row"]), "text/csv")
    assert outcome(wide, preprocessors[0]).startswith("400: row 51 has 6 values, expected 5")
