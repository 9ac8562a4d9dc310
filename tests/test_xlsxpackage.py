"""A user's own sheets survive every write part by part: cells, styles, merges, comments, charts."""

from __future__ import annotations

import copy
import datetime as dt
import io
import posixpath
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import fastexcel
import openpyxl
import pytest
import xlsxwriter
from lxml import etree

from leadkit import bookio, pipeline
from leadkit.bookio import xlsx as xlsxpackage
from leadkit.errors import BookError

AS_OF = "--as-of=2026-03-09T09:00"
SAMPLES = Path(__file__).parent.parent / "samples"
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
MY = "我的统计"
VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8  # stands in for a VBA project


def _png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )
    return path


def write_rich_book(template: Path, out: Path, vba: bytes | None = None) -> Path:
    """leadkit's sheets (headers as in `template`) with a user sheet that has every feature, by
    xlsxwriter: a title line above a table at B2, duplicate and numeric headers, a mixed column,
    styles, a merge, a comment, a conditional format, a validation, a link, a chart, an image,
    defined names; and a second, hidden user sheet."""
    reader = fastexcel.read_excel(str(template))
    wb = xlsxwriter.Workbook(str(out))
    for name in reader.sheet_names:
        ws = wb.add_worksheet(name)
        ws.write_row(0, 0, list(reader.load_sheet(name, dtypes="string").to_pandas().columns))
        if name != reader.sheet_names[0]:
            continue
        us = wb.add_worksheet(MY)
        percent = wb.add_format({"bold": True, "bg_color": "#FFFF00", "num_format": "0.00%"})
        title = wb.add_format({"bold": True, "align": "center", "font_color": "#1F4E78"})
        us.merge_range("B1:E1", "2026 季度统计", title)
        us.write_row(1, 1, ["月份", "数量", "数量", 2026, "混合"])
        rows = [
            ("1月", 3, 0.25, 12.5),
            ("2月", 4, 0.5, dt.datetime(2026, 3, 1)),
            ("3月", 5, 0.75, "待定"),
        ]
        for i, (month, n, share, mixed) in enumerate(rows, start=2):
            us.write_string(i, 1, month)
            us.write_number(i, 2, n)
            us.write_number(i, 3, share, percent)
            us.write_number(i, 4, i - 1)
            if isinstance(mixed, dt.datetime):
                us.write_datetime(i, 5, mixed, wb.add_format({"num_format": "yyyy/mm/dd"}))
            else:
                us.write(i, 5, mixed)
        us.write_formula("C6", "=SUM(C3:C5)", None, 12)
        us.write_comment("C3", "三月以前的数据")
        red = wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
        us.conditional_format("C3:C5", {"type": "cell", "criteria": ">", "value": 3, "format": red})
        us.data_validation("G3:G5", {"validate": "list", "source": ["是", "否"]})
        us.write_url("H2", "https://example.com/report", string="报告")
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"name": "数量", "categories": f"='{MY}'!$B$3:$B$5",
                          "values": f"='{MY}'!$C$3:$C$5"})  # fmt: skip
        us.insert_chart("J2", chart)
        us.insert_image("J20", str(_png(out.with_suffix(".png"))))
        us.set_column("B:B", 18)
        wb.define_name("统计数量", f"='{MY}'!$C$3:$C$5")
        wb.define_name(f"'{MY}'!本地名", f"='{MY}'!$B$3")
        hidden = wb.add_worksheet("参数")
        hidden.write_number("C3", 42)
        hidden.add_table("E2:F4", {"name": "价目表", "columns": [{"header": "产品"}, {"header": "单价"}],
                                   "data": [["A", 10], ["B", 20]], "style": "Table Style Light 9"})  # fmt: skip
        hidden.hide()
    sheet = wb.add_chartsheet("图表")
    pie = wb.add_chart({"type": "pie"})
    pie.add_series({"name": "占比", "values": f"='{MY}'!$C$3:$C$5"})
    sheet.set_chart(pie)
    if vba is not None:
        bin_path = out.with_name("vbaProject.bin")
        bin_path.write_bytes(vba)
        wb.add_vba_project(str(bin_path))
    wb.close()
    return out


# ---------------------------------------------------------------------------------------------
# What a sheet is, part by part, renumbering aside


def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False))


def _canon(element: etree._Element | None) -> str:
    """An element as text, equal for equal meaning: no namespace declarations, a font's settings
    in one order, an empty pattern as the explicit "none" (openpyxl and rust_xlsxwriter differ)."""
    if element is None:
        return ""
    element = copy.deepcopy(element)
    if element.tag == M + "font":
        element[:] = sorted(element, key=lambda e: e.tag)
    for fill in element.iter(M + "patternFill"):
        if len(fill) == 0 and fill.get("patternType") is None:
            fill.set("patternType", "none")
    return re.sub(r"\s+xmlns(:\w+)?=\"[^\"]*\"", "", etree.tostring(element, encoding="unicode"))


class Package:
    def __init__(self, path: Path) -> None:
        self.zf = zipfile.ZipFile(path)
        self.types = _xml(self.zf.read("[Content_Types].xml"))
        self.workbook = _xml(self.zf.read("xl/workbook.xml"))
        self.wb_rels = self.rels("xl/workbook.xml")
        self.titles = [s.get("name") for s in self.workbook.iter(M + "sheet")]
        self.styles = _xml(self.zf.read(self.target("xl/workbook.xml", "/styles")))
        sst = self.target("xl/workbook.xml", "/sharedStrings")
        self.strings = (
            ["".join(si.itertext()) for si in _xml(self.zf.read(sst)).iter(M + "si")] if sst else []
        )

    def rels(self, part: str) -> dict[str, tuple[str, str, str | None]]:
        folder, name = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", name + ".rels")
        if rels_name not in self.zf.namelist():
            return {}
        out = {}
        for rel in _xml(self.zf.read(rels_name)):
            target = rel.get("Target")
            if rel.get("TargetMode") != "External":
                target = posixpath.normpath(posixpath.join(folder, target)).lstrip("/")
            out[rel.get("Id")] = (rel.get("Type").rsplit("/", 1)[-1], target, rel.get("TargetMode"))
        return out

    def target(self, part: str, kind: str) -> str | None:
        rels = self.wb_rels if part == "xl/workbook.xml" else self.rels(part)
        return next((t for k, t, _ in rels.values() if "/" + k == kind), None)

    def content_type(self, part: str) -> str:
        for item in self.types:
            if item.get("PartName") == "/" + part:
                return item.get("ContentType")
        ext = part.rsplit(".", 1)[-1]
        return next(i.get("ContentType") for i in self.types if i.get("Extension") == ext)

    def sheet_part(self, title: str) -> str:
        sheet = next(s for s in self.workbook.iter(M + "sheet") if s.get("name") == title)
        return self.wb_rels[sheet.get(R_ID)][1]

    def style(self, index: int) -> tuple:
        xf = self.styles.find(f"{M}cellXfs")[index]
        fmt_id = int(xf.get("numFmtId", "0"))
        codes = {f.get("numFmtId"): f.get("formatCode") for f in self.styles.iter(M + "numFmt")}
        pick = lambda section, attr: _canon(self.styles.find(M + section)[int(xf.get(attr, "0"))])  # noqa: E731
        return (
            codes.get(str(fmt_id), fmt_id), pick("fonts", "fontId"), pick("fills", "fillId"),
            pick("borders", "borderId"), _canon(xf.find(M + "alignment")),
        )  # fmt: skip

    def dxf(self, index: int) -> str:
        return _canon(self.styles.find(f"{M}dxfs")[index])

    def reached(self, part: str, seen: dict[str, bytes] | None = None) -> dict[str, bytes]:
        """Every part a part reaches through its relationships, by kind and order, as bytes."""
        seen = {} if seen is None else seen
        for _rid, (kind, target, mode) in sorted(self.rels(part).items()):
            if mode == "External":
                seen[f"{kind}:{target}"] = b""
                continue
            key = f"{kind}#{sum(1 for k in seen if k.startswith(kind + '#') and ':' not in k)}"
            data = self.zf.read(target)
            if kind == "table":  # its style indices resolved, the rest as written
                table = _xml(data)
                for element in table.iter():
                    for attr in [a for a in element.attrib if a.endswith("DxfId") or a == "dxfId"]:
                        element.set(attr, self.dxf(int(element.get(attr))))
                data = _canon(table).encode()
            seen[key] = data
            seen[key + ":type"] = self.content_type(target).encode()
            self.reached(target, seen)
        return seen

    def sheet(self, title: str) -> dict:
        """The sheet as a person sees it and Excel stores it, with every index resolved."""
        part = self.sheet_part(title)
        root = _xml(self.zf.read(part))
        cells = {}
        for c in root.iter(M + "c"):
            value = c.findtext(M + "v")
            if c.get("t") == "s":
                value = self.strings[int(value)]
            style = self.style(int(c.get("s", "0")))
            cells[c.get("r")] = (c.get("t"), value, c.findtext(M + "f"), style)
        rules = [
            (cf.get("sqref"), {k: v for k, v in rule.attrib.items() if k != "dxfId"},
             [f.text for f in rule.iter(M + "formula")], self.dxf(int(rule.get("dxfId"))))
            for cf in root.iter(M + "conditionalFormatting") for rule in cf.iter(M + "cfRule")
        ]  # fmt: skip
        rels = self.rels(part)
        links = [(h.get("ref"), rels[h.get(R_ID)][1]) for h in root.iter(M + "hyperlink")]
        cols = [
            ({k: v for k, v in col.attrib.items() if k != "style"}, self.style(int(col.get("style", "0"))))
            for col in root.iter(M + "col")
        ]  # fmt: skip
        names = [
            (n.get("name"), self.titles[int(n.get("localSheetId"))] if n.get("localSheetId") else None, n.text)
            for n in self.workbook.iter(M + "definedName")
            if title in (n.text or "")
        ]  # fmt: skip
        sheet = next(s for s in self.workbook.iter(M + "sheet") if s.get("name") == title)
        return {
            "cells": cells,
            "merges": sorted(m.get("ref") for m in root.iter(M + "mergeCell")),
            "validations": _canon(root.find(M + "dataValidations")),
            "conditional": rules,
            "links": links,
            "cols": cols,
            "dimension": _canon(root.find(M + "dimension")),
            "names": sorted(names),
            "state": sheet.get("state"),
            "parts": self.reached(part),
        }


def assert_same_sheet(before: Path, after: Path, title: str) -> None:
    old, new = Package(before).sheet(title), Package(after).sheet(title)
    for key in old:
        assert new[key] == old[key], key


# ---------------------------------------------------------------------------------------------
# The CLI, end to end


def _rich_workspace(workspace: Path, tmp_path: Path, soffice=None) -> Path:
    book = workspace / "leads.xlsx"
    (tmp_path / "made").mkdir()
    made = write_rich_book(book, tmp_path / "made" / "leads.xlsx")
    if soffice is not None:  # the same book, opened and saved again by LibreOffice
        made = soffice(made, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo-made")
    shutil.copy(made, book)
    return made


def _run_pipeline_and_compare(cli, workspace: Path, original: Path, titles: list[str]) -> None:
    book = workspace / "leads.xlsx"
    steps = [
        ("import", SAMPLES / "trade_show.xlsx", AS_OF, "-q"),
        ("dedupe", "-q"),
        ("score", AS_OF, "-q"),
        ("assign", "--by", "round-robin", AS_OF, "-q"),
    ]
    for step in steps:
        result = cli(*step)
        assert result.exit_code == 0, (step, result.stderr)
        for title in titles:
            assert_same_sheet(original, book, title)
        assert Package(book).titles[:3] == ["线索", MY, "参数"]
    leads = bookio.load_book(
        book, pipeline.context(cwd=workspace).rules.columns, "zh", "Asia/Shanghai"
    )
    assert len(leads.leads) > 0 and leads.leads["owner"].notna().any()
    assigned = book.read_bytes()
    assert cli("undo").exit_code == 0
    for title in titles:
        assert_same_sheet(original, book, title)
    assert cli("redo").exit_code == 0  # the assigned book comes back whole, own sheets included
    assert book.read_bytes() == assigned
    for title in titles:
        assert_same_sheet(original, book, title)


def test_user_sheets_made_by_xlsxwriter_survive_every_command(cli, workspace, tmp_path, soffice):
    original = _rich_workspace(workspace, tmp_path)
    _run_pipeline_and_compare(cli, workspace, original, [MY, "参数", "图表"])
    # ...and come out where a spreadsheet program and another library read them.
    book = workspace / "leads.xlsx"
    cli("score", AS_OF, "-q")
    _opens_everywhere(book, tmp_path, soffice)


def test_user_sheets_saved_by_libreoffice_survive_every_command(cli, workspace, tmp_path, soffice):
    original = _rich_workspace(workspace, tmp_path, soffice)
    assert "LibreOffice" in zipfile.ZipFile(original).read("docProps/app.xml").decode()
    _run_pipeline_and_compare(cli, workspace, original, [MY, "参数", "图表"])
    cli("score", AS_OF, "-q")
    _opens_everywhere(workspace / "leads.xlsx", tmp_path, soffice)


def test_user_sheets_saved_by_openpyxl_survive_every_command(cli, workspace, tmp_path):
    made = write_rich_book(workspace / "leads.xlsx", tmp_path / "made.xlsx")
    original = tmp_path / "openpyxl.xlsx"
    openpyxl.load_workbook(made).save(original)  # absolute part names, its own styles and strings
    shutil.copy(original, workspace / "leads.xlsx")
    _run_pipeline_and_compare(cli, workspace, original, [MY, "参数"])
    ws = openpyxl.load_workbook(workspace / "leads.xlsx")[MY]
    assert ws["C3"].comment.text.startswith("三月以前的数据") and ws["D3"].number_format == "0.00%"


def _opens_everywhere(book: Path, tmp_path: Path, soffice) -> None:
    wb = openpyxl.load_workbook(book)
    ws = wb[MY]
    assert ws["B1"].value == "2026 季度统计" and [str(m) for m in ws.merged_cells.ranges] == [
        "B1:E1"
    ]
    assert [c.value for c in ws[2]][1:6] == ["月份", "数量", "数量", 2026, "混合"]
    assert [ws.cell(r, 6).value for r in (3, 4, 5)] == [12.5, dt.datetime(2026, 3, 1), "待定"]
    assert ws["D3"].number_format == "0.00%" and ws["D3"].font.b
    assert ws["C3"].comment.text.startswith("三月以前的数据")
    assert ws["H2"].hyperlink.target == "https://example.com/report"
    assert ws.data_validations.dataValidation[0].formula1 == '"是,否"'
    assert len(ws._charts) == 1
    assert "统计数量" in wb.defined_names and "本地名" in ws.defined_names
    assert wb["参数"].sheet_state == "hidden" and list(wb["参数"].tables) == ["价目表"]
    # a chart sheet (LibreOffice, which has none, makes it a worksheet with the chart on it)
    assert wb.sheetnames[-1] == "图表" and len(wb["图表"]._charts) == 1
    converted = soffice(book, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo-out")
    theirs = openpyxl.load_workbook(converted)  # as LibreOffice read and saved it again
    assert theirs.sheetnames[:3] == ["线索", MY, "参数"]
    mine = theirs[MY]
    assert mine["A1"].value is None and mine["B1"].value == "2026 季度统计"
    assert [c.value for c in mine[2]][1:6] == ["月份", "数量", "数量", 2026, "混合"]
    assert [mine.cell(r, 2).value for r in (3, 4, 5)] == ["1月", "2月", "3月"]
    assert [mine.cell(r, 6).value for r in (3, 4, 5)] == [12.5, dt.datetime(2026, 3, 1), "待定"]
    assert mine["C6"].value == "=SUM(C3:C5)" and mine["H2"].hyperlink.target.startswith(
        "https://example.com"
    )
    assert [str(m) for m in mine.merged_cells.ranges] == ["B1:E1"]
    assert theirs["参数"]["C3"].value == 42
    assert theirs["线索"].max_row > 1


# ---------------------------------------------------------------------------------------------
# The functions directly


def _book_with_user_sheet(tmp_path: Path, rules) -> Path:
    ws = pipeline.init(tmp_path / "ws", "zh")
    original = write_rich_book(ws.book_path(), tmp_path / "rich.xlsx")
    shutil.copy(original, ws.book_path())
    return ws.book_path()


def test_a_title_line_above_a_user_table_no_longer_breaks_saving(tmp_path, rules):
    path = _book_with_user_sheet(tmp_path, rules)
    book = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    assert list(book.user_sheets) == [MY, "参数", "图表"]
    book.user_sheets[MY]  # read (a person asked for it), not changed: still carried as stored
    bookio.save_book(
        book, rules.columns, state_dir=tmp_path / "s", command="t", as_of=dt.datetime(2026, 3, 3)
    )
    assert_same_sheet(tmp_path / "rich.xlsx", path, MY)


def test_a_user_sheet_given_new_values_is_written_from_them(tmp_path, rules):
    path = _book_with_user_sheet(tmp_path, rules)
    book = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    frame = book.user_sheets[MY].copy()
    frame.iloc[1, 1] = "改过"
    book.user_sheets[MY] = frame
    bookio.save_book(
        book, rules.columns, state_dir=tmp_path / "s", command="t", as_of=dt.datetime(2026, 3, 3)
    )
    back = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    assert "改过" in back.user_sheets[MY].astype(str).values
    assert_same_sheet(tmp_path / "rich.xlsx", path, "参数")  # the other one is still carried


def test_saving_again_and_again_does_not_grow_styles_or_strings(tmp_path, rules):
    path = _book_with_user_sheet(tmp_path, rules)
    sizes = []
    for _ in range(3):
        book = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
        bookio.save_book(
            book,
            rules.columns,
            state_dir=tmp_path / "s",
            command="t",
            as_of=dt.datetime(2026, 3, 3),
        )
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
            sizes.append((len(zf.read("xl/styles.xml")), len(zf.read("xl/sharedStrings.xml"))))
    assert sizes[0] == sizes[1] == sizes[2]
    assert_same_sheet(tmp_path / "rich.xlsx", path, MY)


def test_the_same_book_saved_twice_and_a_book_changed_meanwhile(tmp_path, rules):
    path = _book_with_user_sheet(tmp_path, rules)
    book = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    for _ in range(2):
        bookio.save_book(
            book,
            rules.columns,
            state_dir=tmp_path / "s",
            command="t",
            as_of=dt.datetime(2026, 3, 3),
        )
        assert_same_sheet(tmp_path / "rich.xlsx", path, MY)
    other = bookio.load_book(path, rules.columns, "zh", "Asia/Shanghai")
    shutil.copy(tmp_path / "rich.xlsx", path)  # another program saves the book in between
    with pytest.raises(BookError, match="changed by another program"):
        bookio.save_book(
            other,
            rules.columns,
            state_dir=tmp_path / "s",
            command="t",
            as_of=dt.datetime(2026, 3, 3),
        )
    assert path.read_bytes() == (tmp_path / "rich.xlsx").read_bytes()


def test_a_book_without_user_sheets_is_written_by_the_fast_writer_alone(tmp_path, rules):
    ws = pipeline.init(tmp_path / "ws", "zh")
    book = bookio.load_book(ws.book_path(), rules.columns, "zh", "Asia/Shanghai")
    assert bookio.write._carried_sheets(book) == []
    bookio.save_book(
        book, rules.columns, state_dir=tmp_path / "s", command="t", as_of=dt.datetime(2026, 3, 3)
    )
    with zipfile.ZipFile(ws.book_path()) as zf:
        infos = zf.infolist()
    # rust_xlsxwriter's package as it wrote it: every entry dated 1980, none re-assembled (8
    # parts of the package and one worksheet part per leadkit sheet).
    assert len(infos) == 8 + len(bookio.LEADKIT_SHEETS)
    assert {i.date_time[:3] for i in infos} == {(1980, 1, 1)}


def test_an_xlsm_keeps_its_macros_and_stays_macro_enabled(cli, workspace, tmp_path, soffice):
    config = workspace / "leadkit.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("leads.xlsx", "leads.xlsm"), encoding="utf-8"
    )
    book = workspace / "leads.xlsm"
    write_rich_book(workspace / "leads.xlsx", book, vba=VBA)
    original = tmp_path / "original.xlsm"
    shutil.copy(book, original)
    for step in (("import", SAMPLES / "trade_show.xlsx", AS_OF, "-q"), ("score", AS_OF, "-q")):
        assert cli(*step).exit_code == 0
        new = Package(book)
        vba = new.target("xl/workbook.xml", "/vbaProject")
        assert new.zf.read(vba) == VBA
        assert new.content_type(vba) == "application/vnd.ms-office.vbaProject"
        assert (
            new.content_type("xl/workbook.xml")
            == "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        )
        assert new.workbook.find(M + "workbookPr").get("codeName") == "ThisWorkbook"
        assert_same_sheet(original, book, MY)
    assert openpyxl.load_workbook(book, keep_vba=True).vba_archive is not None
    converted = soffice(book, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo-xlsm")
    assert "线索" in fastexcel.read_excel(str(converted)).sheet_names


def test_a_new_xlsm_book_is_macro_enabled(cli, workspace):
    config = workspace / "leadkit.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("leads.xlsx", "leads.xlsm"), encoding="utf-8"
    )
    assert cli("import", SAMPLES / "trade_show.xlsx", AS_OF, "-q").exit_code == 0
    assert (
        Package(workspace / "leads.xlsm")
        .content_type("xl/workbook.xml")
        .endswith("macroEnabled.main+xml")
    )


def test_entity_declarations_are_refused(tmp_path):
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>'
    with pytest.raises(xlsxpackage.PackageError, match="DTD"):
        xlsxpackage.parts._xml(bomb, "bomb.xml")


def test_raw_copy_keeps_every_entry_readable(tmp_path):
    src = tmp_path / "a.zip"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.xml", "<x>" + "数据" * 5000 + "</x>")
        zf.writestr("y.bin", bytes(range(256)))
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in zin.infolist():
            xlsxpackage.merge._copy_raw(zin, info, out)
        out.writestr("z.txt", "after")
    with zipfile.ZipFile(buf) as back:
        assert back.testzip() is None
        assert back.read("x.xml").decode() == "<x>" + "数据" * 5000 + "</x>"
        assert back.read("y.bin") == bytes(range(256)) and back.read("z.txt") == b"after"


def test_carryable_leaves_out_a_1904_book(tmp_path, rules):
    path = _book_with_user_sheet(tmp_path, rules)
    assert xlsxpackage.carryable(path, [MY, "参数"]) == [MY, "参数"]
    patched = tmp_path / "1904.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(patched, "w") as out:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/workbook.xml":
                data = re.sub(rb"<workbookPr", b'<workbookPr date1904="1"', data)
            out.writestr(info, data)
    assert xlsxpackage.carryable(patched, [MY]) == []
