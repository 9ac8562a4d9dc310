"""Every cell as written: a user's cell of any type, anywhere in a 5,000-row column, comes back
from a read and a save with the same value and the same type, on leadkit's Leads sheet and on a
user's own sheet, in books written by xlsxwriter and by LibreOffice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leadkit import bookio
from leadkit.check import check_book
from leadkit.rules import Rules

ROWS = 5000
LEADS = ["线索编号", "企业名称", "员工数", "我的备注", "我的数值"]  # the last two are the user's
MINE = ["月份", "备注", "数量"]  # the user's own sheet
TRICKY_TEXT = [
    "123", "0123", "-4.5", "1e5", "2026-01-02", "2026-01-02 03:04:00", "2026/1/2", "=1+1",
    "=SUM(A1:A3)", "+86 138", "true", "FALSE", "NA", "null", "#N/A", "None", "nan", "N/A",
    " leading space", "trailing space ", "很多", "待定", "下周", "A-001", "😀 emoji", "x" * 5000,
]  # fmt: skip

cells = st.one_of(
    st.integers(-(10**15), 10**15),
    st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)),
    st.sampled_from(TRICKY_TEXT),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
        str.strip
    ),
    st.none(),
)
placed = st.dictionaries(st.integers(2, ROWS + 1), cells, min_size=1, max_size=12)  # Excel rows
EVERY_KIND = {
    1001 + i: v
    for i, v in enumerate([
        7, -3, 10**15, 2.5, 3.141592653589793, 1.1234567891234, True, False, dt.datetime(2026, 1, 2, 3, 4),
        dt.date(3026, 5, 6), None, *TRICKY_TEXT,
    ])
}  # fmt: skip


def _write(ws, wb, row: int, col: int, value) -> None:
    if value is None:
        return
    if isinstance(value, dt.date):
        ws.write_datetime(row, col, value, wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    elif isinstance(value, str):
        ws.write_string(row, col, value)
    else:
        ws.write(row, col, value)


def write_book(path: Path, odd: dict[int, object], employees: dict[int, str] | None = None) -> None:
    """A book by xlsxwriter: the Leads sheet with two user columns (one of text, one of numbers)
    and a user sheet, each with the odd cells at their (Excel) rows; `employees` puts text in
    leadkit's own number column 员工数."""
    employees = employees or {}
    wb = xlsxwriter.Workbook(path)
    leads = wb.add_worksheet("线索")
    mine = wb.add_worksheet("我的表")
    leads.write_row(0, 0, LEADS)
    mine.write_row(0, 0, MINE)
    for r in range(1, ROWS + 1):
        leads.write(r, 0, f"LX2026{r:06d}")
        leads.write(r, 1, f"公司{r}")
        leads.write(r, 2, employees.get(r + 1, 100 + r))
        mine.write(r, 0, f"{r % 12 + 1}月")
        for sheet, text_col, number_col in ((leads, 3, 4), (mine, 1, 2)):
            if r + 1 in odd:
                _write(sheet, wb, r, text_col, odd[r + 1])
                _write(sheet, wb, r, number_col, odd[r + 1])
            else:
                sheet.write_string(r, text_col, f"备注{r}")
                sheet.write_number(r, number_col, r * 1.5)
    wb.close()


def _kind(cell: object) -> tuple[type, object]:
    # A cell's type as Excel has it: one number type (openpyxl says int for "3", float for "3.0")
    if type(cell) in (int, float):
        return float, float(cell)  # type: ignore[arg-type]
    return type(cell), cell


def stored(path: Path, title: str, columns: list[str]) -> list[list[tuple[type, object]]]:
    """Each cell of `columns` as stored in the file: (its type, its value), read by openpyxl.

    Values as last calculated: LibreOffice stores TRUE as the formula =TRUE() with its value."""
    ws = openpyxl.load_workbook(path, read_only=True, data_only=True)[title]
    rows = ws.iter_rows(values_only=True)
    header = list(next(rows))
    at = [header.index(c) for c in columns]
    out = []
    for row in rows:
        cells_ = [row[i] if i < len(row) else None for i in at]
        if all(c is None for c in cells_):
            continue
        out.append([_kind(c) for c in cells_])
    return out


def round_trip(path: Path, rules: Rules, *, from_values: bool) -> None:
    """Read the book and save it; with `from_values` the user sheet is written from its cells."""
    book = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    if from_values:
        book.user_sheets = {"我的表": book.user_sheets["我的表"]}  # a plain dict: not carried
    bookio.save_book(
        book, rules.columns, state_dir=path.parent / ".leadkit", command="test",
        as_of=dt.datetime(2026, 3, 3),
    )  # fmt: skip


def _as_written(row: list[tuple[type, object]]) -> list[tuple[type, object]]:
    """A cell as leadkit writes it: text that would run as a formula carries its apostrophe
    (leadkit.neutralise, #13); everything else exactly as it was."""
    from leadkit.neutralise import neutralise

    return [
        (t, neutralise(pd.Series([v], dtype=object)).iloc[0]) if t is str else (t, v)
        for t, v in row
    ]


def assert_unchanged(before: Path, after: Path) -> None:
    for title, columns in (("线索", ["我的备注", "我的数值"]), ("我的表", MINE)):
        old = stored(before, title, columns)
        if title == "线索":  # leadkit's own sheet; a user's sheet is theirs and left as typed
            old = [_as_written(r) for r in old]
        new = stored(after, title, columns)
        assert len(old) == len(new), title
        diff = [(i + 2, a, b) for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        assert diff == [], (title, diff[:5])


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(odd=placed)
@example(odd=EVERY_KIND)
def test_any_cell_anywhere_in_a_user_column_round_trips(tmp_path_factory, rules, odd):
    folder = tmp_path_factory.mktemp("cells")
    path, original = folder / "leads.xlsx", folder / "original.xlsx"
    write_book(original, odd)
    path.write_bytes(original.read_bytes())
    round_trip(path, rules, from_values=True)
    assert_unchanged(original, path)


def test_the_leads_frame_holds_each_cell_in_its_type(tmp_path, rules):
    path = tmp_path / "leads.xlsx"
    write_book(path, EVERY_KIND)
    leads = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai").leads
    for column in (leads["我的备注"], leads["我的数值"]):
        for row, value in EVERY_KIND.items():
            got = column[row]
            if value is None:
                assert pd.isna(got), row
            elif isinstance(value, bool):
                assert got is value, row
            elif isinstance(value, int | float):
                # the exact number, not fastexcel's text of it cut to nine decimals
                assert isinstance(got, float) and got == value, (row, got)
            elif isinstance(value, dt.date):
                assert got == pd.Timestamp(value), (row, got)
            else:
                assert got == value, (row, got)  # 123, true, NA, null stay text
    assert leads.loc[2, "我的备注"] == "备注1" and leads.loc[2, "我的数值"] == 1.5


def test_only_user_columns_that_may_be_mixed_are_read_again(tmp_path, rules, monkeypatch):
    """A column of plain text (no text that reads as a number, date or true) and a column of
    numbers without empty cells or 0/1 cannot hide a cell of another type: no second read."""
    loads: list[dict] = []
    real = bookio._load_columns
    monkeypatch.setattr(bookio, "_load_columns", lambda r, t, d: loads.append(d) or real(r, t, d))
    path = tmp_path / "leads.xlsx"
    write_book(path, {})
    bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    assert loads == []
    write_book(path, {4000: "0123"})  # text like a number (in the numbers: a mixed column)
    book = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    assert loads[0] == {"我的备注": "boolean", "我的数值": "boolean"}
    assert loads[1:] == [{"我的数值": "float"}]  # the exact numbers of the one mixed column
    assert book.leads.loc[4000, "我的备注"] == "0123" and book.leads.loc[4000, "我的数值"] == "0123"
    assert book.leads.loc[2, "我的数值"] == 1.5
    loads.clear()
    write_book(path, {4001: None})  # an empty cell in the numbers, where a NA text could hide
    bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    assert loads == [{"我的数值": "string"}]


@pytest.fixture
def libreoffice_book(tmp_path, soffice):
    """The same 5,000-row book with odd cells after row 1000, opened and saved by LibreOffice."""
    made = tmp_path / "made" / "leads.xlsx"
    made.parent.mkdir()
    write_book(made, EVERY_KIND, employees={1601: "很多"})
    converted = soffice(made, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    return converted


def test_a_book_saved_by_libreoffice_keeps_every_cell(tmp_path, rules, libreoffice_book):
    path = tmp_path / "leads.xlsx"
    path.write_bytes(libreoffice_book.read_bytes())
    book = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    found = {
        (f.row, f.column, f.value) for f in check_book(book, rules.columns, dt.datetime(2026, 3, 1))
    }
    assert (1601, "员工数", "很多") in found  # leadkit's own column: kept and reported
    for from_values in (False, True):
        round_trip(path, rules, from_values=from_values)
        assert_unchanged(libreoffice_book, path)
    back = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai").leads
    assert back.loc[1601, "employees"] == "很多" and back.loc[1600, "employees"] == 1699
