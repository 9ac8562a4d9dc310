"""What leadkit writes must open in the real spreadsheet client, and what it writes must read back."""

from __future__ import annotations

import re
import zipfile

import fastexcel
import pandas as pd
from tests_support import soffice_convert_csv_to_xlsx

from leadkit import demo, pipeline
from leadkit.bookio.neutralise import restore


def test_demo_book_opens_in_libreoffice_with_its_values(tmp_path, soffice):
    outcome = demo.run(tmp_path / "d", as_of="2026-03-01T09:00")
    converted = soffice(outcome.book, "xlsx", tmp_path / "lo")
    reader = fastexcel.read_excel(str(converted))
    assert reader.sheet_names == [
        "线索",
        "跟进记录",
        "跟进计划",
        "客户反馈",
        "行为记录",
        "操作日志",
        "导入拒绝",
        "导入记录",
        "去重决定",
    ]
    theirs = reader.load_sheet("线索").to_pandas()
    ours = outcome.leads
    assert theirs["线索编号"].tolist() == ours["lead_id"].tolist()
    assert theirs["联系电话"].astype(str).tolist() == ours["phone"].astype(str).tolist()
    # on disk with the apostrophe leadkit's writer adds to formula text; in memory without it
    assert restore(theirs["企业名称"]).tolist() == ours["company"].tolist()
    assert not theirs["企业名称"].str.startswith("=").any()
    assert pd.to_datetime(theirs["获取时间"]).tolist() == ours["created_at"].tolist()


def test_template_has_frozen_header_dropdowns_and_formats(tmp_path, soffice):
    ws = pipeline.init(tmp_path / "ws", "zh")
    book = ws.book_path()
    with zipfile.ZipFile(book) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        styles = zf.read("xl/styles.xml").decode()
    assert 'state="frozen"' in sheet and 'ySplit="1"' in sheet
    lists = re.findall(r"<formula1>\"([^<]*)\"</formula1>", sheet)
    assert "未接触,初步接洽,需求明确,方案提交,商务谈判,成交,流失" in lists
    assert "官网表单,展会,合作伙伴推荐,社交媒体,电话咨询,其他" in lists
    assert "yyyy-mm-dd hh:mm" in styles
    converted = soffice(book, "xlsx", tmp_path / "lo")
    assert fastexcel.read_excel(str(converted)).sheet_names[0] == "线索"


def test_import_a_sheet_libreoffice_wrote(tmp_path, soffice, data_dir, monkeypatch):
    xlsx = soffice_convert_csv_to_xlsx(data_dir / "web_small.csv", tmp_path / "lo", soffice)
    pipeline.init(tmp_path / "ws", "zh")
    ctx = pipeline.context(as_of="2026-03-10T09:00", cwd=tmp_path / "ws")
    result = pipeline.import_files(ctx, [xlsx])
    assert result.totals["imported"] == 4 and result.totals["rejected"] == 2
    leads = pipeline.load(ctx).leads
    assert "13812345678" in leads["phone"].tolist()
    assert pd.Timestamp("2026-03-01 14:05") in leads["created_at"].tolist()
