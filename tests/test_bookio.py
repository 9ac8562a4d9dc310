from __future__ import annotations

import csv
import datetime as dt
import io
import os
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
import xlwt
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit import bookio
from leadkit.errors import BookBusyError, BookError, InputFileError, UsageError

HEADERS = ["公司名称", "联系人", "手机号", "邮箱"]
ROWS = [
    ["上海智联科技有限公司", "王伟", "13812345678", "wang@zhilian.cn"],
    ["北京华信制造有限公司", "李娜", "13912345678", ""],
]


@pytest.fixture
def known(rules):
    return bookio.header_lookup(rules.columns)


def write_csv(path: Path, encoding: str, sep: str = ",", bom: bytes = b"") -> Path:
    text = "\n".join(sep.join(r) for r in [HEADERS, *ROWS]) + "\n"
    path.write_bytes(bom + text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "sep", "bom", "expected"),
    [
        ("utf-8", ",", b"", "utf-8"),
        ("utf-8", ",", b"\xef\xbb\xbf", "utf-8-sig"),
        ("gbk", ",", b"", "gb18030"),
        ("gb18030", ";", b"", "gb18030"),
        ("utf-16-le", "\t", b"\xff\xfe", "utf-16"),  # Excel's "Unicode text"
    ],
)
def test_csv_encodings_and_delimiters(tmp_path, known, encoding, sep, bom, expected):
    path = write_csv(tmp_path / "in.csv", encoding, sep, bom)
    [table] = bookio.read_input_tables(path, known)
    assert table.encoding == expected
    assert table.delimiter == sep
    assert table.headers == HEADERS
    assert table.frame.iloc[0].tolist() == ROWS[0]
    assert table.frame.index.tolist() == [2, 3]  # rows as the user sees them


def test_csv_that_cannot_be_decoded(tmp_path, known):
    path = tmp_path / "bad.csv"
    path.write_bytes(bytes(range(128, 256)) * 50)
    with pytest.raises(InputFileError) as exc:
        bookio.read_input_tables(path, known)
    assert "bad.csv" in str(exc.value)


def _c_parser(text: str, sep: str) -> pd.DataFrame:
    """What pandas' C parser, leadkit's reader for every CSV until Arrow's was added, gives."""
    return pd.read_csv(
        io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False,
        skip_blank_lines=False, engine="c",
    )  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        '公司名称,联系人,手机号\n智联,"王\n伟",138\n华信,"李""娜""",139\n',  # quoted newline, quotes
        "公司名称,联系人,手机号\r\n智联,王伟,138\r\n\r\n华信,李娜,139\r\n",  # CRLF, a blank line
        "公司名称,联系人,手机号\n智联,王伟\n华信,李娜,139\n",  # a short row, padded
        "公司名称,联系人,手机号,\n   \n华信,李娜,139,\n",  # a line of spaces; trailing commas
        "公司名称,联系人,手机号\r智联,王伟,138\r",  # old Mac line ends
    ],
)
def test_csv_rows_and_row_numbers_are_those_of_the_c_parser(tmp_path, text):
    """Arrow's parser is used only where it gives exactly what the C parser gives."""
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode("utf-8"))
    expected = _c_parser(text, ",")
    frame, _, _ = bookio.read._read_csv(path)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


csv_cell = st.text(alphabet=st.sampled_from(list('ab公司 ,;"\n\r\t')), max_size=6)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(csv_cell, min_size=3, max_size=3), min_size=1, max_size=12))
def test_csv_written_by_the_csv_module_reads_as_the_c_parser_reads_it(tmp_path_factory, rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["公司名称", "联系人", "手机号"], *rows])
    text = buffer.getvalue()
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_bytes(text.encode("utf-8"))
    sep = bookio.read._sniff_delimiter(text[:65536])  # the sniffer may guess otherwise on odd text
    try:
        expected = _c_parser(text, sep)
    except ValueError:
        return  # the C parser refuses it (a wider row): see the title-line test below
    frame, _, _ = bookio.read._read_csv(path)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


@pytest.mark.parametrize(
    ("text", "row"),
    [
        ("\n\n2026 展会登记表\n公司名称,联系人,手机号\n智联,王伟,13812345678\n", 5),
        ("2026 展会登记表\r\n\r\n公司名称,联系人,手机号\r\n智联,王伟,13812345678\r\n", 4),
        ("\r\n公司名称,联系人,手机号\r\n智联,王伟,13812345678\r\n", 3),
    ],
)
def test_csv_header_below_empty_lines_and_a_title_line(tmp_path, known, text, row):
    """The C parser alone refuses both: no columns on an empty first line, and rows wider than
    a one-cell title line."""
    path = tmp_path / "show.csv"
    path.write_bytes(text.encode("utf-8"))
    [table] = bookio.read_input_tables(path, known)
    assert table.headers == ["公司名称", "联系人", "手机号"]
    assert table.frame.index.tolist() == [row]  # the line number in the file
    assert table.frame.iloc[0].tolist() == ["智联", "王伟", "13812345678"]


def test_header_found_below_a_merged_title_and_blank_rows(tmp_path, known):
    path = tmp_path / "show.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("登记")
    ws.merge_range("A1:D1", "2026 展会登记表")
    ws.write_row(3, 0, HEADERS)
    ws.write_row(4, 0, [ROWS[0][0], ROWS[0][1], 13812345678, ROWS[0][3]])  # phone typed as a number
    wb.close()
    [table] = bookio.read_input_tables(path, known)
    assert table.headers == HEADERS
    assert table.frame.index.tolist() == [5]
    assert table.frame.iloc[0, 2] == "13812345678"


def test_xls_written_by_xlwt(tmp_path, known):
    path = tmp_path / "old.xls"
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Sheet1")
    for c, h in enumerate(HEADERS):
        ws.write(0, c, h)
    for r, row in enumerate(ROWS, 1):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    wb.save(str(path))
    [table] = bookio.read_input_tables(path, known)
    assert table.frame.iloc[1].tolist()[:3] == ROWS[1][:3]


def test_sheet_without_recognisable_header(tmp_path, known):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no recognisable header"):
        bookio.read_input_tables(path, known)


def test_corrupt_xlsx(tmp_path, known):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(InputFileError) as exc:
        bookio.read_input_tables(path, known)
    assert "broken.xlsx" in str(exc.value)


def make_book(tmp_path: Path, rules, lang="zh") -> bookio.Book:
    book = bookio.new_book(tmp_path / "leads.xlsx", lang, rules.columns)
    leads = pd.DataFrame({
        "lead_id": ["LX2026000001", "LX2026000002"],
        "created_at": pd.to_datetime(["2026-03-01 09:30", "2026-03-02 14:05"]),
        "source": ["trade_show", "website"], "company": ["甲公司", "乙公司"], "contact": ["王伟", "李娜"],
        "phone": ["13812345678", "010-88886666"], "budget": [12.5, None], "status": ["won", "new"],
        "notes": ["000123456789012345678", None],  # a long digit string must stay text
    })  # fmt: skip
    book.append("leads", leads)
    return book


def save(book, rules, state, command="test"):
    return bookio.save_book(
        book, rules.columns, state_dir=state, command=command, as_of=dt.datetime(2026, 3, 3)
    )


def test_round_trip_keeps_types_user_columns_and_sheets(tmp_path, rules):
    book = make_book(tmp_path, rules)
    book.leads["微信号"] = ["wx_wang", None]  # a column the user added
    book.user_sheets["我的统计"] = pd.DataFrame({"月份": ["1月", "2月"], "数量": [3, 4]})
    book.order.insert(1, "我的统计")
    save(book, rules, tmp_path / ".leadkit")
    back = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai")
    leads = back.leads
    assert leads["lead_id"].tolist() == ["LX2026000001", "LX2026000002"]
    assert leads["created_at"].tolist() == [
        pd.Timestamp("2026-03-01 09:30"),
        pd.Timestamp("2026-03-02 14:05"),
    ]
    assert leads["source"].tolist() == ["trade_show", "website"]
    assert leads["status"].tolist() == ["won", "new"]
    assert leads["phone"].tolist() == ["13812345678", "010-88886666"]
    assert leads["budget"].tolist()[0] == 12.5
    assert leads["notes"].tolist()[0] == "000123456789012345678"
    assert leads["微信号"].tolist()[0] == "wx_wang"
    assert back.order[:2] == ["leads", "我的统计"]
    assert back.user_sheets["我的统计"]["数量"].tolist() == [3, 4]
    assert leads.index.tolist() == [2, 3]


def _mark_part(path: Path, title: str) -> None:
    """An XML comment in one sheet's part of the stored book: it reads the same, but a sheet
    written again from its cells loses it."""
    import zipfile

    from leadkit.bookio import xlsx as xlsxpackage

    with zipfile.ZipFile(path) as zf:
        part = xlsxpackage.parts._Package(zf).sheet_part(title)
        items = [(info.filename, zf.read(info)) for info in zf.infolist()]
    tmp = path.with_name("marked.xlsx")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in items:
            if name == part:
                data = data.replace(b"<sheetData>", b"<!--as stored--><sheetData>", 1)
            out.writestr(name, data)
    os.replace(tmp, path)


def _stored_part(path: Path, title: str) -> bytes:
    import zipfile

    from leadkit.bookio import xlsx as xlsxpackage

    with zipfile.ZipFile(path) as zf:
        return zf.read(xlsxpackage.parts._Package(zf).sheet_part(title))


def _as_if_leadkit_wrote_it(path: Path, state: Path) -> None:
    """Record the marked file as leadkit's own last write (the stamp its save records)."""
    record = bookio.safety._written_record(path, state)
    record.write(bookio.model._stamp(path), record.read()["sheets"])


def test_a_leadkit_sheet_unchanged_since_its_last_save_is_carried_as_stored(tmp_path, rules):
    state = tmp_path / ".leadkit"
    book = make_book(tmp_path, rules)
    rows = pd.DataFrame({"row_key": ["v2:aa", "v2:bb"], "file": ["a.csv", "a.csv"], "row": [2, 3]})
    book.append("imports", rows)
    save(book, rules, state)
    _mark_part(book.path, "导入记录")
    _as_if_leadkit_wrote_it(book.path, state)
    again = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai")
    again.leads.loc[2, "notes"] = "改了"  # the Leads sheet changes, the Imports sheet does not
    save(again, rules, state)
    assert b"<!--as stored-->" in _stored_part(book.path, "导入记录"), "carried as stored"
    back = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai")
    assert back.leads.loc[2, "notes"] == "改了"
    assert back.sheets["imports"]["row_key"].tolist() == ["v2:aa", "v2:bb"]

    # a sheet whose cells changed is written from them
    _as_if_leadkit_wrote_it(book.path, state)
    back.append("imports", rows.iloc[:1])
    save(back, rules, state)
    assert b"<!--as stored-->" not in _stored_part(book.path, "导入记录")
    imports = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai").sheets["imports"]
    assert imports["row_key"].tolist() == ["v2:aa", "v2:bb", "v2:aa"]

    # a file another program saved since leadkit's last write is written from its cells
    _mark_part(book.path, "导入记录")
    other = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai")
    save(other, rules, state)
    assert b"<!--as stored-->" not in _stored_part(book.path, "导入记录")

    # and so is one written with other rules (another language here)
    _mark_part(book.path, "导入记录")
    _as_if_leadkit_wrote_it(book.path, state)
    english = bookio.load_book(book.path, rules.columns, "en", "Asia/Shanghai")
    save(english, rules, state)
    assert "Imports" in bookio.read._excel_reader(book.path).sheet_names


def test_book_is_written_in_its_language(tmp_path, rules):
    book = make_book(tmp_path, rules, lang="en")
    save(book, rules, tmp_path / ".leadkit")
    import fastexcel

    reader = fastexcel.read_excel(str(book.path))
    assert reader.sheet_names[:2] == ["Leads", "Activities"]
    frame = reader.load_sheet("Leads").to_pandas()
    assert frame["Status"].tolist() == ["Won", "New"]
    assert frame["Source"].tolist() == ["Trade Show", "Website Form"]


def test_save_is_atomic_with_backup_and_undo(tmp_path, rules):
    state = tmp_path / ".leadkit"
    book = make_book(tmp_path, rules)
    save(book, rules, state)
    first = book.path.read_bytes()
    book.leads.loc[2, "company"] = "改过的公司"
    backup = save(book, rules, state)
    assert backup is not None and backup.read_bytes() == first
    assert not list(tmp_path.glob(".leads.xlsx.*.tmp"))
    bookio.undo_last(book.path, state)
    assert book.path.read_bytes() == first
    with pytest.raises(UsageError, match="nothing to undo"):
        bookio.undo_last(book.path, state)


def test_backups_are_bounded(tmp_path, rules):
    state = tmp_path / ".leadkit"
    book = make_book(tmp_path, rules)
    for _ in range(5):
        bookio.save_book(
            book,
            rules.columns,
            state_dir=state,
            command="t",
            as_of=dt.datetime(2026, 3, 3),
            keep_backups=2,
        )
    assert len(list(bookio.book_backups(book.path, state).glob("*.xlsx"))) == 2


def test_lock_refuses_a_second_writer(tmp_path):
    book = tmp_path / "leads.xlsx"
    with (
        bookio.book_lock(book, "import"),
        pytest.raises(BookBusyError, match="leadkit import"),
        bookio.book_lock(book, "score"),
    ):
        pass
    with bookio.book_lock(book, "score"):  # released afterwards
        pass


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    book = tmp_path / "leads.xlsx"
    import json
    import socket

    (tmp_path / ".leads.xlsx.leadkit-lock").write_text(
        json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname()})
    )
    with bookio.book_lock(book, "import"):
        assert json.loads((tmp_path / ".leads.xlsx.leadkit-lock").read_text())["pid"] == os.getpid()


def test_excel_owner_file_blocks_unless_forced(tmp_path):
    book = tmp_path / "leads.xlsx"
    (tmp_path / "~$leads.xlsx").write_bytes(b"owner")
    with pytest.raises(BookBusyError, match="Excel/WPS"), bookio.book_lock(book, "import"):
        pass
    with bookio.book_lock(book, "import", force=True):
        pass


def test_loading_a_book_without_leads_sheet(tmp_path, rules):
    path = tmp_path / "other.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("Sheet1").write(0, 0, "x")
    wb.close()
    with pytest.raises(BookError, match="is this a leadkit book"):
        bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")


def test_unparseable_cells_in_typed_columns_survive_a_save(tmp_path, rules):
    """A rep typed '下周' into a date column: leadkit must not turn it into a blank."""
    book = make_book(tmp_path, rules)
    book.leads["next_follow_up"] = book.leads["next_follow_up"].astype(object)
    book.leads.loc[2, "next_follow_up"] = "下周"
    book.leads["budget"] = book.leads["budget"].astype(object)
    book.leads.loc[3, "budget"] = "待定"
    save(book, rules, tmp_path / ".leadkit")
    back = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai").leads
    assert back.loc[2, "next_follow_up"] == "下周"
    assert back.loc[3, "budget"] == "待定"
    assert back.loc[2, "budget"] == 12.5


def test_numbers_a_person_typed_into_text_columns_read_as_typed(tmp_path, rules):
    """Excel stores a phone typed into 联系电话 as a number; leadkit's text columns are read as
    text, so it is 13812345678 (not 13812345678.0, which is no phone number)."""
    path = tmp_path / "leads.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("线索")
    ws.write_row(0, 0, ["线索编号", "企业名称", "联系电话", "备注", "员工数", "我的列"])
    ws.write_row(1, 0, ["LX1", "甲公司", 13812345678, 12.5, 50, 7])
    ws.write_row(2, 0, ["LX2", "乙公司", "13912345678", "老客户", 8, "x"])
    wb.close()
    leads = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai").leads
    assert leads["phone"].tolist() == ["13812345678", "13912345678"]
    assert leads["notes"].tolist() == ["12.5", "老客户"]
    assert leads["employees"].tolist() == [50, 8], "a typed column keeps its numbers"
    assert leads["我的列"].tolist() == [7, "x"], "a user's column keeps each cell's type"
    book = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    save(book, rules, tmp_path / ".leadkit")
    import openpyxl

    ws = openpyxl.load_workbook(path)["线索"]
    heads = [c.value for c in ws[1]]
    cell = ws.cell(2, heads.index("联系电话") + 1)
    assert (cell.value, cell.data_type) == ("13812345678", "s"), "written back as its text"
    assert ws.cell(2, heads.index("我的列") + 1).value == 7


def test_a_book_read_in_part_can_never_be_saved(tmp_path, rules):
    book = make_book(tmp_path, rules)
    save(book, rules, tmp_path / ".leadkit")
    before = book.path.read_bytes()
    part = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai", only={"leads"})
    assert part.partial and len(part.leads) == 2 and part.sheets["log"].empty
    with pytest.raises(BookError, match="read in part"):
        save(part, rules, tmp_path / ".leadkit")
    assert book.path.read_bytes() == before


def _odd_cells_after_row_1000(path: Path, rows: int = 1600, odd: int = 1500) -> None:
    """A lead sheet written by xlsxwriter whose cell types change only far down (row `odd`)."""
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("线索")
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for c, h in enumerate(["线索编号", "企业名称", "员工数", "预算(万元)", "获取时间", "我的编号"]):
        ws.write(0, c, h)
    for r in range(1, rows):
        ws.write(r, 0, f"LX2026{r:06d}")
        ws.write(r, 1, f"公司{r}")
        ws.write(r, 2, "很多" if r == odd - 1 else 100 + r)
        ws.write(r, 3, "待定" if r == odd - 1 else 10.5)
        if r == odd - 1:
            ws.write(r, 4, "下周")
        else:
            ws.write_datetime(r, 4, dt.datetime(2026, 1, 1, 9, 0), when)
        ws.write(r, 5, "A-001" if r == odd - 1 else str(r))
    wb.close()


def test_cells_far_below_the_first_thousand_rows_are_kept_and_reported(tmp_path, rules):
    """Types are not guessed from a sample: row 1500's text in number/date columns survives."""
    from leadkit.steps.check import check_book

    path = tmp_path / "leads.xlsx"
    _odd_cells_after_row_1000(path)
    book = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    row = book.leads.loc[1500]
    assert (row["employees"], row["budget"], row["created_at"], row["我的编号"]) == (
        "很多", "待定", "下周", "A-001",
    )  # fmt: skip
    assert book.leads.loc[1499, "employees"] == 1598
    assert book.leads.loc[1499, "created_at"] == pd.Timestamp("2026-01-01 09:00")
    found = {
        (f.row, f.column, f.value) for f in check_book(book, rules.columns, dt.datetime(2026, 3, 1))
    }
    assert {
        (1500, "员工数", "很多"),
        (1500, "预算(万元)", "待定"),
        (1500, "获取时间", "下周"),
    } <= found
    save(book, rules, tmp_path / ".leadkit")
    back = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai").leads
    assert back.loc[1500, ["employees", "budget", "created_at", "我的编号"]].tolist() == [
        "很多", "待定", "下周", "A-001",
    ]  # fmt: skip
    assert back.loc[1499, "employees"] == 1598


def _marked(rule, value) -> bool:
    """Whether a cellIs rule marks a cell, as Excel evaluates it (an empty cell is 0)."""
    x = 0.0 if value is None else float(value)
    bounds = [float(f) for f in rule.formula]
    return {
        "between": lambda: bounds[0] <= x <= bounds[1],
        "lessThan": lambda: x < bounds[0],
    }[rule.operator]()


def test_overdue_marks_only_cells_with_a_date_before_the_write(tmp_path, rules):
    import openpyxl

    book = make_book(tmp_path, rules)
    book.leads["next_follow_up"] = pd.to_datetime(["2026-03-02 10:00", None])
    save(book, rules, tmp_path / ".leadkit")  # written as of 2026-03-03
    ws = openpyxl.load_workbook(book.path)["线索"]
    col = next(c.column_letter for c in ws[1] if c.value == "下次跟进时间")
    [[rule]] = [cf.rules for cf in ws.conditional_formatting if col in str(cf.sqref)]
    cells = {r: ws[f"{col}{r}"].value for r in range(2, 40)}
    marked = {r for r, v in cells.items() if _marked(rule, None if v is None else _serial(v))}
    assert marked == {2}  # the past date only: not the empty row 3, nor the blank rows below


def _serial(value: dt.datetime) -> float:
    return (value - dt.datetime(1899, 12, 30)) / dt.timedelta(days=1)


def test_log_is_written_in_the_books_words_and_read_back_in_keys(tmp_path, rules):
    import openpyxl

    book = make_book(tmp_path, rules)
    book.append("log", pd.DataFrame({
        "time": pd.to_datetime(["2026-03-02 10:00"] * 3), "command": ["log", "assign", "import"],
        "lead_id": ["LX2026000001"] * 3, "column": ["status", "owner", "微信号"],
        "old": ["new", None, None], "new": ["contacted", "李娜", "wx_wang"],
    }))  # fmt: skip
    save(book, rules, tmp_path / ".leadkit")
    ws = openpyxl.load_workbook(book.path)["操作日志"]
    rows = [[c.value for c in r][3:6] for r in ws.iter_rows(min_row=2) if r[0].value]
    assert rows == [
        ["客户状态", "未接触", "初步接洽"],
        ["负责人", None, "李娜"],
        ["微信号", None, "wx_wang"],
    ]
    back = bookio.load_book(book.path, rules.columns, "zh", "Asia/Shanghai").sheets["log"]
    assert back[["column", "old", "new"]].fillna("").values.tolist() == [
        ["status", "new", "contacted"], ["owner", "", "李娜"], ["微信号", "", "wx_wang"],
    ]  # fmt: skip


def test_a_numpy_date_in_a_mixed_column_is_stored_as_a_date_not_its_text():
    """A 获取时间 that came through NumPy (a merge, a concat) next to a kept text cell."""
    import numpy as np

    from leadkit.bookio.write import _writable

    cells = pd.Series([np.datetime64("2026-02-12T15:00"), "下周", None], dtype=object)
    stored = _writable(cells)
    assert stored.iloc[0] == pd.Timestamp("2026-02-12 15:00")
    assert isinstance(stored.iloc[0], pd.Timestamp)
    assert stored.iloc[1] == "下周"
