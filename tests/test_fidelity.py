"""Every cell as written: a user's cell of any type, anywhere in a 5,000-row column, comes back
from a read and a save with the same value and the same type, on leadkit's Leads sheet and on a
user's own sheet, in books written by xlsxwriter and by LibreOffice."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from test_xlsxpackage import M, Package, _canon

from leadkit import bookio
from leadkit.bookio import xlsx as xlsxpackage
from leadkit.rules.loader import Rules
from leadkit.steps.check import check_book

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
    (leadkit.bookio.neutralise, #13); everything else exactly as it was."""
    from leadkit.bookio.neutralise import neutralise

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
    real = bookio.model._load_columns
    monkeypatch.setattr(
        bookio.model, "_load_columns", lambda r, t, d: loads.append(d) or real(r, t, d)
    )
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


# ---------------------------------------------------------------------------------------------
# The README's "what a rewrite does", claim by claim. Claims tested elsewhere:
# - a user sheet's cells where they were (B2 stays B2, blank rows/columns), type, value, formula
#   and style, duplicate/numeric headers, a title line, merges, column widths, comments,
#   conditional formats, validations, hyperlinks, charts, images, tables, hidden state, sheet
#   order, defined names (book-wide and local), chart sheets: test_xlsxpackage's
#   test_user_sheets_*_survive_every_command (part by part, through import → dedupe → score →
#   assign → undo → redo) and _opens_everywhere (read back by openpyxl and LibreOffice);
# - .xlsm keeps its VBA project and content type: test_an_xlsm_keeps_its_macros_and_stays_macro_enabled;
# - styles and strings renumbered (not grown): test_saving_again_and_again_does_not_grow_styles_or_strings;
# - a sheet a command changed is written from its values: test_a_user_sheet_given_new_values_is_written_from_them;
# - 1904 books: test_carryable_leaves_out_a_1904_book;
# - user-column cells keep their type (all digits, NA/null/#N/A, TRUE, 0123, 2026-01-02, =1+1):
#   test_any_cell_anywhere_in_a_user_column_round_trips (EVERY_KIND) above.
THEME_MARK = "leadkit-test-theme"


def _rewrite_book(path: Path) -> None:
    """A book with the odd bits the README names, by xlsxwriter; its theme patched so a kept
    theme can be told from a regenerated one."""
    wb = xlsxwriter.Workbook(path)
    leads = wb.add_worksheet("线索")
    mine = wb.add_worksheet("我的表")
    bold = wb.add_format({"bold": True})
    slash = wb.add_format({"num_format": "yyyy/mm/dd"})
    leads.write_row(0, 0, ["我的编号", "线索编号", "企业名称", "获取时间", "我的日期"])
    mine_ids = [1024, "A-001", dt.datetime(2026, 3, 1), True]
    for r, my_id in enumerate(mine_ids, start=1):
        if isinstance(my_id, dt.datetime):
            leads.write_datetime(r, 0, my_id, slash)
        elif isinstance(my_id, str):
            leads.write_string(r, 0, my_id)
        else:
            leads.write(r, 0, my_id)
        leads.write_string(r, 1, f"LX2026{r:06d}")
        leads.write_string(r, 2, f"公司{r}", bold if r == 1 else None)  # hand formatting
        if r == 2:
            leads.write_string(r, 3, "下周")  # leadkit's date column, a cell it cannot parse
        else:
            leads.write_datetime(r, 3, dt.datetime(2026, 2, r), slash)
        leads.write_datetime(r, 4, dt.datetime(2026, 1, r), slash)
    mine.write_row(0, 0, ["月份", "数量"])
    mine.write_row(1, 0, ["1月", 3])
    mine.write_row(2, 0, ["2月", 4])
    mine.set_row(2, 30)  # a row height
    mine.set_landscape()
    mine.set_paper(9)
    mine.set_margins(left=1.1, right=1.2)
    mine.set_header("&C季度统计")
    mine.print_area("A1:B3")
    mine.activate()  # the user's sheet was the selected tab
    wb.define_name("全书名", "='我的表'!$B$2:$B$3")
    wb.define_name("'线索'!线索本地", "='线索'!$A$2")
    wb.define_name("外部", "=[1]Sheet1!$A$1")
    wb.close()
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    theme = "xl/theme/theme1.xml"
    parts[theme] = parts[theme].replace(b'name="Office Theme"', f'name="{THEME_MARK}"'.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


@pytest.fixture
def rewritten(tmp_path, rules):
    original, path = tmp_path / "original.xlsx", tmp_path / "leads.xlsx"
    _rewrite_book(original)
    path.write_bytes(original.read_bytes())
    round_trip(path, rules, from_values=False)
    return original, path


def test_readme_leadkits_own_sheets_are_formatted_by_leadkit(rewritten, rules):
    """'leadkit formats its own sheets itself; formatting you add by hand on them is regenerated'."""
    _, path = rewritten
    ws = openpyxl.load_workbook(path)["线索"]
    name_col = [c.value for c in ws[1]].index("企业名称") + 1
    assert ws.cell(2, name_col).value == "公司1" and not ws.cell(2, name_col).font.b


def test_readme_user_columns_move_after_the_template_and_keep_their_types(rewritten, rules):
    """'your own columns on leadkit's sheets move after the template columns, in their own order,
    and each cell keeps the type it is stored with … Their formatting is not kept (dates get
    leadkit's yyyy-mm-dd hh:mm). In leadkit's own columns a cell it cannot parse is kept as its
    text while the others keep their type (the dates of a date column stay dates)'."""
    _, path = rewritten
    ws = openpyxl.load_workbook(path)["线索"]
    header = [c.value for c in ws[1]]
    template = [c.zh for c in rules.columns.sheets["leads"].columns]
    assert header[: len(template)] == template
    assert header[len(template) :] == ["我的编号", "我的日期"]
    col = {h: i + 1 for i, h in enumerate(header)}
    # the README's example output, exactly
    assert [ws.cell(r, col["我的编号"]).value for r in range(2, 6)] == [
        1024.0, "A-001", dt.datetime(2026, 3, 1), True
    ]  # fmt: skip
    assert ws.cell(2, col["我的日期"]).number_format == "yyyy-mm-dd hh:mm"  # was yyyy/mm/dd
    assert [ws.cell(r, col["获取时间"]).value for r in range(2, 6)] == [
        dt.datetime(2026, 2, 1), "下周", dt.datetime(2026, 2, 3), dt.datetime(2026, 2, 4)
    ]  # fmt: skip


def _part(path: Path, title: str) -> etree._Element:
    pkg = Package(path)
    return etree.fromstring(pkg.zf.read(pkg.sheet_part(title)))


def test_readme_a_user_sheet_keeps_heights_print_settings_theme_and_names(rewritten, rules):
    """'… column widths and row heights, … print settings … The sheet order, the book's defined
    names (book-wide ones and those local to your sheets) and its theme are kept … Names local to
    leadkit's sheets and names that refer to another workbook are dropped'."""
    original, path = rewritten
    old, new = _part(original, "我的表"), _part(path, "我的表")
    for tag in ("pageSetup", "pageMargins", "headerFooter", "printOptions"):
        assert _canon(new.find(M + tag)) == _canon(old.find(M + tag)), tag
    assert new.find(M + "pageSetup").get("orientation") == "landscape"
    row3 = next(r for r in new.iter(M + "row") if r.get("r") == "3")
    assert float(row3.get("ht")) == 30 and row3.get("customHeight") == "1"
    with zipfile.ZipFile(path) as zf:
        assert THEME_MARK in zf.read("xl/theme/theme1.xml").decode()
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == ["线索", "我的表"]
    assert "全书名" in wb.defined_names
    assert wb["我的表"].print_area == "'我的表'!$A$1:$B$3"
    assert "线索本地" not in wb["线索"].defined_names and "外部" not in wb.defined_names


def test_readme_unstyled_cells_take_the_default_style_and_the_tab_is_leadkits(rewritten, rules):
    """'cells with no style of their own take leadkit's default one (11-point body font of the
    theme); your sheet is no longer the selected tab (leadkit's 线索 is)'."""
    _, path = rewritten
    pkg = Package(path)
    cell = next(c for c in _part(path, "我的表").iter(M + "c") if c.get("r") == "A2")
    font = etree.fromstring(pkg.style(int(cell.get("s", "0")))[1])
    assert font.find("sz").get("val") == "11" and font.find("scheme").get("val") == "minor"
    views = {t: _part(path, t).find(f"{M}sheetViews/{M}sheetView") for t in ("线索", "我的表")}
    assert views["线索"].get("tabSelected") == "1" and views["我的表"].get("tabSelected") is None


def _patched(path: Path, out: Path, edit) -> Path:
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    edit(parts)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out


def test_readme_a_pivot_sheet_or_a_strict_book_is_written_from_values(tmp_path):
    """'Written from their values instead …: … a sheet with a pivot table, and every own sheet of
    a book that uses the 1904 date system or is saved as Strict Open XML'."""
    original = tmp_path / "original.xlsx"
    _rewrite_book(original)
    assert xlsxpackage.carryable(original, ["我的表"]) == ["我的表"]
    pivot_rel = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId9" Target="../pivotTables/pivotTable1.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/pivotTable"/></Relationships>'
    )

    def add_pivot(parts):
        parts["xl/worksheets/_rels/sheet2.xml.rels"] = pivot_rel.encode()
        parts["xl/pivotTables/pivotTable1.xml"] = b"<pivotTableDefinition/>"

    pivot = _patched(original, tmp_path / "pivot.xlsx", add_pivot)
    assert xlsxpackage.carryable(pivot, ["我的表"]) == []

    def strict(parts):
        main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
            main, b"http://purl.oclc.org/ooxml/spreadsheetml/main"
        )

    assert (
        xlsxpackage.carryable(_patched(original, tmp_path / "strict.xlsx", strict), ["我的表"])
        == []
    )
