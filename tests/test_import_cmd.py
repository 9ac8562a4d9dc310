"""`leadkit import` end to end: how headers were read is said, warned about and mappable."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from leadkit import pipeline
from leadkit.pipeline import ColumnMap
from leadkit.rules.base import load_yaml_model

AS_OF = "--as-of=2026-03-10T09:00"

PARTNER = (
    "Prospect Company,Prospect Contact,Cell Phone,Work Email,Country,Est. Budget (USD),Submitted\n"
    "Kunming Plateau Pharma,Dr. Yang,13888012345,yang@plateaupharma.cn,China,40000,2026-03-02\n"
    "Suzhou Jinding Precision,Mr. Xu,13962112345,xu@jdprecision.com,China,20000,2026-03-03\n"
)


def partner_xlsx(tmp_path: Path, soffice) -> Path:
    src = tmp_path / "partner.csv"
    src.write_text(PARTNER, encoding="utf-8")
    return soffice(src, "xlsx", tmp_path / "lo", infilter="CSV:44,34,76,1")


def leads(workspace: Path) -> pd.DataFrame:
    ctx = pipeline.context(cwd=workspace)
    return pipeline.load(ctx).leads


def test_similar_headers_map_and_are_named_in_the_summary(cli, workspace, tmp_path, soffice):
    path = partner_xlsx(tmp_path, soffice)
    result = cli("import", path, AS_OF)
    assert result.exit_code == 0, result.stderr
    err = result.stderr
    assert "'Prospect Contact' → 联系人 (contact, similar 0.97)" in err
    assert "'Cell Phone' → 联系电话 (phone, similar 0.90)" in err
    # close to an alias ("submit date"), and said how sure
    assert "'Submitted' → 获取时间 (created_at, similar 0.84)" in err
    assert "kept as extra columns: Country, Est. Budget (USD)\n" in err
    assert (
        "warning: partner.xlsx [partner]: header 'Est. Budget (USD)' looks like 预算(万元) (budget, 0.80) "
        "but was left unmapped"
    ) in err
    lead = leads(workspace).set_index("contact").loc["Dr. Yang"]
    assert (lead["company"], lead["phone"], lead["email"]) == (
        "Kunming Plateau Pharma",
        "13888012345",
        "yang@plateaupharma.cn",
    )
    assert lead["Country"] == "China", "an unmapped column is kept as an extra one"


def test_json_lists_unmapped_inferred_and_suspect_headers(cli, workspace, tmp_path, soffice):
    path = partner_xlsx(tmp_path, soffice)
    result = cli("import", path, AS_OF, "--json")
    assert result.exit_code == 0
    [f] = json.loads(result.stdout)["files"]
    assert f["unmapped"] == ["Country", "Est. Budget (USD)"]
    assert {(m["header"], m["column"], m["how"]) for m in f["matched"]} == {
        ("Prospect Company", "company", "similar"),
        ("Prospect Contact", "contact", "similar"),
        ("Cell Phone", "phone", "similar"),
        ("Work Email", "email", "similar"),
        ("Submitted", "created_at", "similar"),
    }
    assert [(s["header"], s["column"]) for s in f["suspects"]] == [
        ("Est. Budget (USD)", "budget"),
    ]
    assert f["suspects"][0]["why"] == "in usd, not the column's unit"
    assert f["no_capture_time"] == 0


def test_strict_fails_on_a_template_column_left_unmapped(cli, workspace, tmp_path):
    src = tmp_path / "p.csv"
    src.write_text(PARTNER, encoding="utf-8")
    assert cli("import", src, AS_OF, "--strict", "-q").exit_code == 1
    clean = tmp_path / "clean.csv"
    clean.write_text("公司名称,联系人,手机\n甲公司,王,13812345678\n", encoding="utf-8")
    assert cli("import", clean, AS_OF, "--strict", "-q").exit_code == 0


def test_suggest_map_prints_a_map_and_a_saved_one_is_reused(cli, workspace, tmp_path):
    src = tmp_path / "p.csv"
    src.write_text(PARTNER, encoding="utf-8")
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    result = cli("import", src, "--suggest-map")
    assert result.exit_code == 0
    assert book.read_bytes() == before, "--suggest-map writes nothing to the book"
    text = result.stdout
    assert '"Est. Budget (USD)": ~  # kept as an extra column; looks like budget (0.80)' in text
    maps = workspace / "rules" / "maps"
    maps.mkdir()
    saved = maps / "acme_partner.yaml"
    # a person confirms the budget (the partner's sheet is in 10k CNY after all) and the date
    saved.write_text(
        text.replace('"Est. Budget (USD)": ~', '"Est. Budget (USD)": budget').replace(
            '"Submitted": ~', '"Submitted": created_at'
        ),
        encoding="utf-8",
    )
    mapping = load_yaml_model(saved, ColumnMap).columns
    assert mapping["Est. Budget (USD)"] == "budget" and mapping["Country"] is None
    again = cli("import", src, AS_OF, "--strict")
    assert again.exit_code == 0, again.stderr
    assert "p.csv: headers mapped by the saved map rules/maps/acme_partner.yaml" in again.stderr
    assert "warning" not in again.stderr
    lead = leads(workspace).set_index("contact").loc["Mr. Xu"]
    assert lead["budget"] == 20000
    assert lead["created_at"] == pd.Timestamp("2026-03-03")
    other = tmp_path / "other.csv"
    other.write_text("公司名称,联系人,手机,Country\n乙公司,李,13912345678,China\n", "utf-8")
    third = cli("import", other, AS_OF)
    assert "saved map" not in third.stderr, "a map naming other headers is not used"


def test_a_map_naming_one_key_twice_is_a_rule_error(cli, workspace, tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("columns:\n  手机: phone\n  电话: phone\n", encoding="utf-8")
    src = tmp_path / "a.csv"
    src.write_text("公司名称,手机,电话\n甲,13812345678,021-62345678\n", encoding="utf-8")
    result = cli("import", src, AS_OF, "--map", bad)
    assert result.exit_code == 2
    assert "one key for two headers: phone ('手机' and '电话')" in result.stderr


def test_two_headers_for_one_column_say_which_won(cli, workspace, tmp_path):
    src = tmp_path / "card.csv"
    src.write_text("公司,姓名,电话,手机\n甲公司,王,021-62345678,13812345678\n", encoding="utf-8")
    result = cli("import", src, AS_OF)
    assert result.exit_code == 0
    assert (
        "card.csv: '手机' and '电话' both looked like phone; '手机' won "
        "(its cells suit the column better)"
    ) in result.stderr
    assert leads(workspace).iloc[0]["phone"] == "13812345678"


def test_missing_capture_time_is_a_warning_even_when_quiet(cli, workspace, tmp_path):
    src = tmp_path / "no_time.csv"
    src.write_text("公司名称,联系人,手机\n甲,王,13812345678\n乙,李,13912345678\n", "utf-8")
    result = cli("import", src, AS_OF, "-q")
    assert result.exit_code == 0
    assert (
        "warning: no_time.csv: 2 lead(s) have no 获取时间 (created_at) in the sheet; "
        "the import time stands in for it"
    ) in result.stderr
    assert (leads(workspace)["created_at"] == pd.Timestamp("2026-03-10 09:00")).all()


def test_the_seeds_lead_intake_template_maps_whole(cli, workspace, data_dir):
    result = cli("import", data_dir / "seed_lead_intake.csv", AS_OF, "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    [f] = payload["files"]
    assert f["unmapped"] == ["序号"]
    assert f["suspects"] == [] and f["conflicts"] == []
    assert payload["warnings"] == [], "every value of the template is understood"
    assert f["no_capture_time"] == 1, "the third row has a blank 获取时间"
    got = leads(workspace).set_index("lead_id")
    assert got.loc["LX2024002", "source"] == "trade_show", "展会(数博会) is 展会"
    assert got.loc["LX2024001", "need"] == "数据安全、服务器升级"
    assert got.loc["LX2024002", "intent"] == "B"
    assert got.loc["LX2024003", "source_detail"] == "推荐人:*机构，暂无具体需求"
    assert got.loc["LX2024001", "owner"] == "李四"
    assert got.loc["LX2024001", "created_at"] == pd.Timestamp("2024-03-01")


def test_suggested_map_round_trips_through_yaml(cli, workspace, data_dir):
    result = cli("import", data_dir / "seed_lead_intake.csv", "--suggest-map")
    data = yaml.safe_load(result.stdout)
    assert data["columns"]["需求关键词"] == "need"
    assert data["columns"]["序号"] is None
    assert len(data["columns"]) == 14


def test_demo_says_how_the_samples_headers_were_read(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("demo", "--as-of", "2026-03-01T09:00")
    assert result.exit_code == 0
    assert (
        "trade_show.xlsx [展会登记]: kept as extra columns: 序号, 洽谈时长(分钟)" in result.stderr
    )
    assert (
        "partner_referral.xlsx [Referrals]: 25 lead(s) have no 获取时间 (created_at)"
        in result.stderr
    )


def test_the_seeds_grading_template_maps_with_its_values(cli, workspace, data_dir):
    result = cli("import", data_dir / "seed_grading.csv", AS_OF, "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    [f] = payload["files"]
    assert f["unmapped"] == ["预计转化周期"]  # 分配方式 is the template's assigned_by since #16
    assert payload["warnings"] == [], "S级/A级/C级 are grades"
    got = leads(workspace).set_index("lead_id")
    assert got["grade"].tolist() == ["S", "A", "C"]
    assert got.loc["LX2024001", "tags"] == "决策链复杂、竞品对比中"
    assert got.loc["LX2024003", "first_contact_at"] == pd.Timestamp("2024-03-05")
    assert got.loc["LX2024002", "score_detail"] == "75分(20/25/15/15)"


def _seven_people(path: Path) -> Path:
    rows = [f"公司{n}有限公司,联系人{n},1381234567{n},1990-01-0{n + 1}" for n in range(6)]
    rows.append(rows[0].replace("1990-01-01", "1999-09-09"))  # differs in the birth date only
    path.write_text("公司名称,姓名,手机号,出生日期\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_rows_already_imported_are_listed_with_the_row_they_matched(cli, workspace, tmp_path):
    src = _seven_people(tmp_path / "people.csv")
    first = cli("import", src, AS_OF, "--json")
    assert first.exit_code == 0, first.stderr
    ids = json.loads(first.stdout)["lead_ids"]
    assert len(ids) == 7, "a row differing only in an unmapped column is a row of its own"
    again = cli("import", src, AS_OF)
    assert again.exit_code == 0, again.stderr
    lines = [line for line in again.stderr.splitlines() if "already imported" in line]
    assert lines[0] == f"  people.csv row 2: already imported as lead {ids[0]} (导入记录 row 2)"
    assert lines[4] == f"  people.csv row 6: already imported as lead {ids[4]} (导入记录 row 6)"
    assert lines[5] == "  … 2 more rows already imported (--json lists them all)"
    third = cli("import", src, AS_OF, "--json", "-q")
    assert third.exit_code == 0 and third.stderr == ""
    out = json.loads(third.stdout)
    assert out["totals"]["already"] == 7 and out["totals"]["imported"] == 0
    [f] = out["files"]
    assert f["already_rows"] == [
        {"row": n + 2, "lead_id": ids[n], "matched_row": n + 2} for n in range(7)
    ]
    # the records name the rows found again: no 导入记录 row added by either re-import
    book = pd.read_excel(workspace / "leads.xlsx", sheet_name="导入记录")
    assert len(book) == 7 and set(book["结果"]) == {"已导入"}


def test_a_re_import_that_finds_every_row_writes_nothing(cli, workspace, tmp_path):
    """Nothing new: the book is not rewritten and no backup is made, so `undo` still undoes
    the import that added the rows."""
    src = _seven_people(tmp_path / "people.csv")
    assert cli("import", src, AS_OF, "-q").exit_code == 0
    before = _book_bytes(workspace)
    backups = sorted(p.name for p in (workspace / ".leadkit").rglob("*") if p.is_file())
    again = cli("import", src, AS_OF, "--json", "-q")
    assert again.exit_code == 0 and json.loads(again.stdout)["totals"]["already"] == 7
    assert _book_bytes(workspace) == before
    assert sorted(p.name for p in (workspace / ".leadkit").rglob("*") if p.is_file()) == backups
    moved = tmp_path / "moved.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    moved.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
    assert cli("import", moved, AS_OF, "-q").exit_code == 0
    assert _book_bytes(workspace) != before, "rows found elsewhere are noted: a write"
    assert cli("undo").exit_code == 0
    assert _book_bytes(workspace) == before


def test_a_sheet_resaved_by_libreoffice_imports_nothing_twice(cli, workspace, tmp_path, soffice):
    import xlsxwriter

    src = tmp_path / "booth.xlsx"
    wb = xlsxwriter.Workbook(src)
    ws = wb.add_worksheet()
    stamp = wb.add_format({"num_format": "yyyy/mm/dd hh:mm"})
    ws.write_row(0, 0, ["扫码时间", "公司名称", "姓名", "手机号", "身份证号", "积分"])
    # the two scans differ only in the unmapped ID number and points
    for r, (born, points) in enumerate([("19900101", 1.5), ("19910202", 2.0)], start=1):
        ws.write_datetime(r, 0, pd.Timestamp("2026-03-02 10:15").to_pydatetime(), stamp)
        ws.write_row(r, 1, ["苏州金鼎精密", "徐先生", 13962112345, f"320501{born}1234", points])
    wb.close()
    first = cli("import", src, AS_OF, "--json", "-q")
    assert json.loads(first.stdout)["totals"]["imported"] == 2
    resaved = soffice(src, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    again = cli("import", resaved, AS_OF, "--json", "-q")
    totals = json.loads(again.stdout)["totals"]
    assert (totals["imported"], totals["already"]) == (0, 2)
    assert len(leads(workspace)) == 2


def _book_bytes(workspace: Path) -> bytes | None:
    book = workspace / "leads.xlsx"
    return book.read_bytes() if book.exists() else None


def test_a_glob_that_matches_nothing_is_skipped_silently_under_quiet(cli, workspace):
    inbox = workspace / "inbox"
    inbox.mkdir()
    (inbox / "web.csv").write_text(
        "公司名称,联系人,手机,获取时间\n甲公司,王伟,13812345678,2026-03-09 10:00\n"
        "乙公司,李娜,13912345678,2026-03-09 11:00\n",
        encoding="utf-8",
    )
    # what cron's /bin/sh passes on a morning with CSVs but no .xlsx: the pattern as it stands
    result = cli("import", "inbox/*.csv", "inbox/*.xlsx", AS_OF, "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert len(leads(workspace)) == 2, "the quoted pattern was expanded and its file imported"
    before = _book_bytes(workspace)
    nothing = cli("import", "inbox/*.xlsx", "inbox/events/*.csv", AS_OF, "-q")
    assert (nothing.exit_code, nothing.stdout, nothing.stderr) == (0, "", "")
    assert _book_bytes(workspace) == before, "nothing to import: the book is not written"
    events = cli("import", "--events", "inbox/events/*.csv", AS_OF, "-q")
    assert (events.exit_code, events.stdout, events.stderr) == (0, "", "")


def test_a_glob_that_matches_nothing_is_a_note_without_quiet(cli, workspace):
    result = cli("import", "inbox/*.xlsx", AS_OF)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "inbox/*.xlsx: no file matches; skipped",
        "nothing to import: the book was not changed",
    ]
    payload = json.loads(cli("import", "inbox/*.xlsx", AS_OF, "--json").stdout)
    assert payload["unmatched"] == ["inbox/*.xlsx"] and payload["totals"]["imported"] == 0


def test_a_missing_file_is_still_an_error_under_quiet(cli, workspace):
    before = _book_bytes(workspace)
    result = cli("import", "inbox/today.csv", AS_OF, "-q")
    assert result.exit_code == 2
    assert result.stderr == "leadkit: error: inbox/today.csv: file not found\n"
    assert _book_bytes(workspace) == before
