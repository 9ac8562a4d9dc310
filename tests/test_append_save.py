"""A leadkit sheet that only grew since leadkit's last save (the Imports log) is saved as its stored
rows plus the new ones: the file must be the one a full rewrite gives, cell for cell, and open
in LibreOffice; a change to an old row writes the sheet whole again."""

from __future__ import annotations

import csv
import datetime as dt
import os
import zipfile
from pathlib import Path

import fastexcel
import pandas as pd

from leadkit import bookio
from leadkit.bookio import xlsx as xlsxpackage
from leadkit.bookio.write import _write_workbook

AS_OF = dt.datetime(2026, 3, 3)
MARK = b"<!--kept-->"


def _imports(start: int, n: int) -> pd.DataFrame:
    """`n` rows of the Imports log as the importer adds them: text, dates, numbers, an enum."""
    rows = range(start, start + n)
    return pd.DataFrame({
        "row_key": [f"v2:{i:032x}" for i in rows],
        "time": pd.to_datetime(["2026-03-01 09:30"] * n) + pd.to_timedelta(list(rows), unit="min"),
        "file": ["甲.csv" if i % 2 else "b&<c>.csv" for i in rows],
        "row": [float(i + 2) for i in rows],
        "outcome": ["imported" if i % 3 else "rejected" for i in rows],
        "lead_id": [f"LX2026{i:06d}" if i % 3 else None for i in rows],
        "matched_row": [float("nan")] * n,
    })  # fmt: skip


def _save(book: bookio.Book, rules, state: Path) -> None:
    bookio.save_book(book, rules.columns, state_dir=state, command="test", as_of=AS_OF)


def _part(path: Path, title: str) -> tuple[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        name = xlsxpackage.parts._Package(zf).sheet_part(title)
        return name, zf.read(name)


def _mark_old_rows(path: Path, state: Path) -> None:
    """A comment between two stored rows of the Imports sheet, the file still recorded as
    leadkit's own last write: it survives only if those rows are carried as stored."""
    name, _ = _part(path, "导入记录")
    with zipfile.ZipFile(path) as zf:
        items = [(info.filename, zf.read(info)) for info in zf.infolist()]
    tmp = path.with_name("marked.xlsx")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for part, data in items:
            if part == name:
                data = data.replace(b'<row r="3"', MARK + b'<row r="3"', 1)
            out.writestr(part, data)
    os.replace(tmp, path)
    record = bookio.safety._written_record(path, state)
    record.write(bookio.model._stamp(path), record.read()["sheets"])


def _book(tmp_path: Path, rules) -> tuple[bookio.Book, Path]:
    state = tmp_path / ".leadkit"
    book = bookio.new_book(tmp_path / "leads.xlsx", "zh", rules.columns)
    book.append("leads", pd.DataFrame({"lead_id": ["LX2026000001"], "company": ["甲公司"]}))
    book.append("imports", _imports(0, 40))
    _save(book, rules, state)
    _mark_old_rows(book.path, state)
    return bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai"), state


def _sheets_as_csv(path: Path, soffice, outdir: Path) -> dict[str, list[list[str]]]:
    """Every sheet as LibreOffice reads it (its CSV export, one file per sheet)."""
    soffice(
        path,
        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
        outdir,
    )
    return {
        f.stem.removeprefix(path.stem + "-"): list(csv.reader(f.open(encoding="utf-8")))
        for f in outdir.glob(path.stem + "-*.csv")
    }


def test_a_sheet_that_only_grew_is_saved_as_a_full_rewrite_would_save_it(tmp_path, rules, soffice):
    book, state = _book(tmp_path, rules)
    book.append("imports", _imports(40, 7))
    book.leads.loc[2, "company"] = "乙公司"  # the Leads sheet is written anew beside it
    _save(book, rules, state)
    _, part = _part(book.path, "导入记录")
    assert MARK in part, "the stored rows were carried as they were"

    full = tmp_path / "full" / "leads.xlsx"
    full.parent.mkdir()
    _write_workbook(
        bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai"),
        rules.columns,
        full,
        AS_OF,
    )
    assert part.replace(MARK, b"") == _part(full, "导入记录")[1], "the XML of writing every row"
    assert b'<dimension ref="A1:G48"/>' in part and b'sqref="E2:E1048"' in part

    ours, theirs = fastexcel.read_excel(str(book.path)), fastexcel.read_excel(str(full))
    assert ours.sheet_names == theirs.sheet_names
    for title in ours.sheet_names:
        assert ours.load_sheet(title).to_pandas().equals(theirs.load_sheet(title).to_pandas()), (
            title
        )
    back = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai").sheets["imports"]
    assert back["row_key"].tolist() == _imports(0, 47)["row_key"].tolist()
    assert back["outcome"].tolist()[-3:] == ["imported", "rejected", "imported"]

    lo_ours = _sheets_as_csv(book.path, soffice, tmp_path / "lo-ours")
    lo_full = _sheets_as_csv(full, soffice, tmp_path / "lo-full")
    assert lo_ours["导入记录"] == lo_full["导入记录"] and len(lo_ours["导入记录"]) == 48
    assert lo_ours == lo_full
    assert lo_ours["导入记录"][47][:3] == ["v2:" + f"{46:032x}", "2026-03-01 10:16:00", "b&<c>.csv"]

    # saved again with more rows: the carried part grows the same way
    again = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai")
    again.append("imports", _imports(47, 2))
    _save(again, rules, state)
    assert MARK in _part(book.path, "导入记录")[1]
    imports = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai").sheets["imports"]
    assert imports["row_key"].tolist() == _imports(0, 49)["row_key"].tolist()


def test_a_changed_old_row_writes_the_sheet_whole(tmp_path, rules):
    book, state = _book(tmp_path, rules)
    book.sheets["imports"].loc[5, "file"] = "改了.csv"
    book.append("imports", _imports(40, 3))
    _save(book, rules, state)
    assert MARK not in _part(book.path, "导入记录")[1], "written from its cells"
    imports = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai").sheets["imports"]
    assert imports.loc[5, "file"] == "改了.csv" and len(imports) == 43
    assert imports["row_key"].tolist() == _imports(0, 43)["row_key"].tolist()

    # and so does a file another program saved (no record of it being leadkit's last write)
    _mark_old_rows(book.path, state)
    bookio.safety._written_record(book.path, state).path.unlink()
    other = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai")
    other.append("imports", _imports(43, 1))
    _save(other, rules, state)
    assert MARK not in _part(book.path, "导入记录")[1]
