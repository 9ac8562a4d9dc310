"""Bounded input: bombs are measured and refused before any parser holds them in memory.

Each bomb is built on the fly (zip entries streamed, never a file of gigabytes), imported by a
real `leadkit` process, and its peak memory read from the kernel (wait4's rusage).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from leadkit.bookio import limits
from leadkit.errors import InputFileError
from leadkit.workspace import LimitsConfig

PEAK_MB = 1000  # the bound: under 1 GB whatever the file
SAFETY_AS = 6 << 30  # a runaway child (the old code) fails instead of eating the machine

CT = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="名单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


HEAD = (
    '<row r="1">' + _cell("A1", "公司名称") + _cell("B1", "联系人") + _cell("C1", "手机") + "</row>"
    '<row r="2">'
    + _cell("A2", "甲公司")
    + _cell("B2", "王")
    + _cell("C2", "13812345678")
    + "</row>"
)


def package(path: Path, rows: list[str] | None = None, *, filler_rows: int = 0) -> Path:
    """A hand-made .xlsx (inline strings), its sheet XML streamed into the zip in pieces.

    `filler_rows` appends that many thousands of identical rows: a sheet that inflates to
    about 100 KB per thousand and compresses to almost nothing.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", CT)
        zf.writestr("_rels/.rels", RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            sheet.write((HEAD + "".join(rows or [])).encode())
            data = b'<row r="3"><c r="D3"><v>1</v></c></row>' * 2500
            for _ in range(filler_rows):
                sheet.write(data)
            sheet.write(b"</sheetData></worksheet>")
    return path


def run(args: list[str], cwd: Path) -> tuple[int, str, str, float]:
    """`leadkit ARGS` in its own process: (exit code, stdout, stderr, peak RSS in MB)."""
    out, err = cwd / ".out", cwd / ".err"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadkit", *args], cwd=cwd, stdout=o, stderr=e,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (SAFETY_AS, SAFETY_AS)),
        )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out.read_text(), err.read_text(), usage.ru_maxrss / 1024


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def one_lead_book(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A book with one lead in it, made once by a real import."""
    from leadkit import pipeline

    folder = tmp_path_factory.mktemp("reference")
    pipeline.init(folder, "zh")
    src = folder / "first.csv"
    src.write_text("公司名称,联系人,手机\n乙公司,李,13912345678\n", encoding="utf-8")
    code, _, err, _ = run(["import", str(src), "--as-of=2026-03-10T09:00", "-q"], folder)
    assert code == 0, err
    return (folder / "leads.xlsx").read_bytes()


@pytest.fixture
def book(workspace: Path, one_lead_book: bytes) -> Path:
    """The workspace's book with one lead in it, as a byte-for-byte reference."""
    path = workspace / "leads.xlsx"
    path.write_bytes(one_lead_book)
    return path


def refused(book: Path, bomb: Path, *expected: str) -> float:
    """Import `bomb`: exit 2, one line naming what was too big, the book unchanged; peak MB."""
    before = digest(book)
    code, _, err, peak = run(["import", str(bomb), "--as-of=2026-03-10T09:00"], book.parent)
    assert code == 2, err[-2000:]
    assert len(err.splitlines()) == 1, err[-2000:]
    assert err.startswith(f"leadkit: error: {bomb}"), err
    for part in expected:
        assert part in err, err
    assert peak < PEAK_MB, f"peak {peak:.0f} MB"
    assert digest(book) == before
    return peak


def test_a_zip_bomb_is_refused_by_what_it_inflates_to(book, tmp_path):
    # 2,100 thousand rows of filler: about 210 MB of XML in a zip of well under 1 MB
    bomb = package(tmp_path / "bomb.xlsx", filler_rows=2100)
    assert bomb.stat().st_size < 2_000_000
    refused(book, bomb, "sheet '名单'", "unpacks to 205 MB (limit 200 MB", "limits: unpacked_mb")


def test_a_zip_that_lies_about_its_sizes_is_measured_by_inflating(book, tmp_path):
    bomb = package(tmp_path / "liar.xlsx", filler_rows=2100)
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    lied = _lie_about_size(data, info.filename.encode(), 1024)
    liar = tmp_path / "liar2.xlsx"
    liar.write_bytes(lied)
    with zipfile.ZipFile(liar) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size == 1024
    refused(book, liar, "unpacks to more than 200 MB", "declares")


def _lie_about_size(data: bytearray, name: bytes, size: int) -> bytes:
    """The zip with `name`'s uncompressed size (zip64 extra fields included) set to `size`."""
    out = bytearray(data)
    at = 0
    while (at := out.find(b"PK\x01\x02", at)) >= 0:
        name_len, extra_len = (
            int.from_bytes(out[at + 28 : at + 30], "little"),
            int.from_bytes(out[at + 30 : at + 32], "little"),
        )
        if bytes(out[at + 46 : at + 46 + name_len]) == name:
            extra = at + 46 + name_len
            if int.from_bytes(out[at + 24 : at + 28], "little") == 0xFFFFFFFF:
                # zip64: the real size is the first field of the 0x0001 extra record
                pos = extra
                while pos < extra + extra_len:
                    tag, length = (int.from_bytes(out[pos : pos + 2], "little"),
                                   int.from_bytes(out[pos + 2 : pos + 4], "little"))  # fmt: skip
                    if tag == 1:
                        out[pos + 4 : pos + 12] = size.to_bytes(8, "little")
                    pos += 4 + length
            else:
                out[at + 24 : at + 28] = size.to_bytes(4, "little")
        at += 4
    return bytes(out)


def test_a_huge_single_cell_is_refused(book, tmp_path):
    bomb = package(
        tmp_path / "cell.xlsx", ['<row r="3">' + _cell("D3", "长" * 1_500_000) + "</row>"]
    )
    refused(book, bomb, "sheet '名单'", "a cell of 1,500,000 characters", "limits: cell_chars")


def test_a_far_cell_is_refused_by_its_reference(book, tmp_path):
    bomb = package(tmp_path / "far.xlsx", ['<row r="200000">' + _cell("ZZ200000", "x") + "</row>"])
    assert bomb.stat().st_size < 10_000
    refused(book, bomb, "sheet '名单'", "reaches column ZZ (702 columns; limit 500")


def test_a_far_row_within_the_columns_is_refused_by_its_area(book, tmp_path):
    bomb = package(
        tmp_path / "far.xlsx", ['<row r="1000000">' + _cell("SF1000000", "x") + "</row>"]
    )
    refused(book, bomb, "spans 500,000,000 cells", "limits: cells")


def test_a_wide_xlsx_is_refused(book, tmp_path):
    wide = tmp_path / "wide.xlsx"
    wb = xlsxwriter.Workbook(wide)
    ws = wb.add_worksheet("宽")
    ws.write_row(0, 0, ["公司名称", "联系人", "手机"] + [f"c{n}" for n in range(16_381)])
    ws.write_row(1, 0, ["甲公司", "王", "13812345678"] + ["x"] * 16_381)
    wb.close()
    refused(book, wide, "sheet '宽'", "reaches column XFD (16,384 columns; limit 500")


def test_a_wide_csv_is_refused_naming_the_line(book, tmp_path):
    wide = tmp_path / "wide.csv"
    with open(wide, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["公司名称", "联系人", "手机"])
        writer.writerow(["甲公司", "王", "13812345678"] + ["x"] * 16_381)
    refused(book, wide, "line 2", "16,384 fields (limit 500")


def test_a_very_long_csv_line_is_refused(book, tmp_path):
    long = tmp_path / "long.csv"
    long.write_text(
        "公司名称,联系人,手机,备注\n甲公司,王,13812345678," + "长" * 3_000_000 + "\n",
        encoding="utf-8",
    )
    refused(book, long, "line 2", "a field of more than 1,000,000 characters")


def test_commas_inside_quotes_do_not_count_as_columns(workspace, tmp_path):
    notes = tmp_path / "notes.csv"
    with open(notes, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["公司名称", "联系人", "手机", "备注"],
                                  ["甲公司", "王", "13812345678", "一," * 2000]])  # fmt: skip
    code, _, err, _ = run(["import", str(notes), "--as-of=2026-03-10T09:00", "-q"], workspace)
    assert code == 0, err


def test_limits_come_from_leadkit_yaml_and_are_validated(book, tmp_path):
    config = book.parent / "leadkit.yaml"
    config.write_text(config.read_text() + "limits:\n  columns: 3\n", encoding="utf-8")
    four = tmp_path / "four.csv"
    four.write_text("公司名称,联系人,手机,备注\n甲公司,王,13812345678,x\n", encoding="utf-8")
    refused(book, four, "line 1", "4 fields (limit 3")
    config.write_text(config.read_text().replace("columns: 3", "columns: many"))
    code, _, err, _ = run(["import", str(four)], book.parent)
    assert code == 2 and "limits.columns" in err and len(err.splitlines()) == 1, err


def test_the_book_itself_past_a_limit_is_refused_untouched(book, tmp_path):
    config = book.parent / "leadkit.yaml"
    config.write_text(config.read_text() + "limits:\n  columns: 20\n", encoding="utf-8")
    before = digest(book)
    code, _, err, peak = run(["score", "-q"], book.parent)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "leads.xlsx, sheet '线索': reaches column" in err and "limit 20" in err
    assert peak < PEAK_MB
    assert digest(book) == before


def test_the_book_grows_past_the_input_limit_and_stays_readable(book, tmp_path):
    """A book that outgrew `unpacked_mb` (100k leads with their follow-ups do) is still read:
    it has its own cap, `book_unpacked_mb`; past that it is refused like any input, untouched."""
    config = book.parent / "leadkit.yaml"
    plain = config.read_text()
    config.write_text(plain + "limits:\n  unpacked_mb: 0.00001\n", encoding="utf-8")
    code, _, err, _ = run(["score", "-q"], book.parent)
    assert code == 0 and err == "", err
    src = tmp_path / "more.csv"
    src.write_text("公司名称,联系人,手机\n丙公司,张,13712345678\n", encoding="utf-8")
    code, _, err, _ = run(["import", str(src), "-q"], book.parent)  # an input still has the cap
    assert code == 2 and "`limits: unpacked_mb`" in err, err
    config.write_text(plain + "limits:\n  book_unpacked_mb: 0.001\n", encoding="utf-8")
    before = digest(book)
    code, _, err, _ = run(["score", "-q"], book.parent)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "leads.xlsx" in err and "`limits: book_unpacked_mb`" in err, err
    assert digest(book) == before


def test_a_real_sheet_passes_the_check_quickly(tmp_path):
    ok = tmp_path / "ok.xlsx"
    wb = xlsxwriter.Workbook(ok)
    ws = wb.add_worksheet()
    for r in range(20_000):
        ws.write_row(r, 0, ["甲公司", "王", "13812345678", "x" * 40, r, "备注，很长" * 30])
    wb.close()
    limits.check_package(ok)  # nothing raised
    with pytest.raises(InputFileError, match="limit 5, `limits: columns`"):
        limits.check_package(ok, LimitsConfig(columns=5))
    with pytest.raises(InputFileError, match="reaches row 20,000"):
        limits.check_package(ok, LimitsConfig(rows=19_999))
    with pytest.raises(InputFileError, match="a cell of 150 characters"):
        limits.check_package(ok, LimitsConfig(cell_chars=120))


def test_column_letters_round_trip():
    for n in (1, 26, 27, 500, 702, 703, 16_384):
        assert limits.column_number(limits.column_letters(n)) == n
    assert limits.column_letters(16_384) == "XFD"


# ---------------------------------------------------------------------------------------------
# A cell longer than Excel holds, in a row that is otherwise fine


def _long_note() -> str:
    # 40,000 characters; a piece boundary at 32,767 would start with "=" (moved left)
    text = "跟进记录" * 8191 + "备注。=" + "x" * 7232
    assert len(text) == 40_000 and text[32_767] == "="
    return text


def test_a_40000_character_cell_keeps_its_row_and_its_full_text(cli, workspace, tmp_path, soffice):
    note = _long_note()
    src = tmp_path / "long.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["公司名称", "联系人", "手机", "备注"],
                                  ["甲公司", "王", "13812345678", note],
                                  ["乙公司", "李", "13912345678", "短"]])  # fmt: skip
    result = cli("import", src, "--as-of=2026-03-10T09:00", "--json")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr and "Excel range" not in result.stderr
    out = json.loads(result.stdout)
    assert out["totals"]["imported"] == 2 and out["totals"]["warnings"] == 1
    [warning] = out["warnings"]
    assert (warning["file"], warning["row"], warning["column"]) == ("long.csv", 2, "notes")
    assert warning["message"].startswith("40,000 characters, more than an Excel cell holds")
    from leadkit import pipeline

    leads = pipeline.load(pipeline.context(cwd=workspace)).leads.set_index("company")
    first, rest = leads.at["甲公司", "notes"], leads.at["甲公司", "备注 (续2)"]
    assert len(first) <= 32_767 and not rest.startswith("=")
    assert first + rest == note
    assert leads.at["乙公司", "notes"] == "短"
    # LibreOffice reads the book as written: the text in two cells, joined exactly
    exported = soffice(
        workspace / "leads.xlsx", "csv:Text - txt - csv (StarCalc):44,34,76,1", tmp_path / "lo"
    )
    rows = list(csv.reader(exported.open(encoding="utf-8")))
    header = rows[0]
    got = next(r for r in rows if r and r[0] == leads.at["甲公司", "lead_id"])
    assert got[header.index("备注")] + got[header.index("备注 (续2)")] == note


def test_an_overlong_text_leadkit_composes_is_cut_with_a_mark_not_a_crash(cli, workspace, tmp_path):
    src = tmp_path / "rejected.csv"
    src.write_text(
        "公司名称,联系人,手机,备注\n甲公司,王,无," + "长" * 40_000 + "\n", encoding="utf-8"
    )
    result = cli("import", src, "--as-of=2026-03-10T09:00", "-q")
    assert result.exit_code == 0, result.stderr
    from leadkit import pipeline

    rejects = pipeline.load(pipeline.context(cwd=workspace)).sheets["rejects"]
    data = rejects["data"].iloc[0]
    assert len(data) <= 32_767 and data.startswith("公司名称=甲公司; 联系人=王")
    assert data.endswith("more characters cut]")


def test_split_text_joins_back_and_never_starts_a_piece_like_a_formula():
    text = "a" * 32_766 + "=+-@" + "b" * 40_000
    pieces = limits.split_text(text)
    assert "".join(pieces) == text
    assert all(len(p) <= 32_767 for p in pieces)
    assert not any(p[0] in "=+-@" for p in pieces[1:])


def test_an_xlsx_cell_past_excel_limit_keeps_its_row_full_text_and_a_warning(
    cli, workspace, tmp_path
):
    # openpyxl itself cuts a long value on write, so the long cell is put into the sheet's XML
    # by hand, as a writer that does not cut (or a hand-edited package) would leave it.
    import re
    import zipfile

    import openpyxl

    note = _long_note()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "线索"
    ws.append(["公司名称", "联系人", "手机", "备注"])
    ws.append(["甲公司", "王", "13812345678", "PLACEHOLDER"])
    ws.append(["乙公司", "李", "13912345678", "短"])
    base = tmp_path / "base.xlsx"
    wb.save(base)
    src = tmp_path / "long.xlsx"
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"PLACEHOLDER", note.encode(), data)
            zout.writestr(info, data)
    result = cli("import", src, "--as-of=2026-03-10T09:00", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["totals"]["imported"] == 2 and out["totals"]["warnings"] == 1
    [warning] = out["warnings"]
    assert (warning["file"], warning["row"], warning["column"]) == ("long.xlsx", 2, "notes")
    assert warning["message"].startswith("40,000 characters, more than an Excel cell holds")
    from leadkit import pipeline

    leads = pipeline.load(pipeline.context(cwd=workspace)).leads.set_index("company")
    assert leads.at["甲公司", "notes"] + leads.at["甲公司", "备注 (续2)"] == note
    assert leads.at["乙公司", "notes"] == "短"
