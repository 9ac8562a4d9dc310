from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests_support import looks_like_xlsx

from leadkit import pipeline
from leadkit.errors import RuleError, UsageError
from leadkit.steps import identity

NOW = "2026-03-10T09:00"


def run_import(workspace: Path, *files: Path, **kw):
    ctx = pipeline.context(as_of=NOW, cwd=workspace)
    return ctx, pipeline.import_files(ctx, list(files), **kw)


def test_rows_are_normalised_and_placed(workspace, data_dir):
    ctx, _result = run_import(workspace, data_dir / "web_small.csv", source="官网表单")
    leads = pipeline.load(ctx).leads.set_index("company")
    wang = leads.loc["上海智联科技有限公司"]
    assert wang["lead_id"] == "LX2026000001"
    assert wang["phone"] == "13812345678"
    assert wang["email"] == "wang@zhilian.cn"
    assert wang["created_at"] == pd.Timestamp("2026-03-01 14:05")
    assert wang["budget"] == 10
    assert (wang["province"], wang["city"], wang["region"]) == ("上海", "上海", "华东")
    assert wang["source"] == "website"
    assert wang["status"] == "new"
    assert wang["completeness"] == "basic"
    assert wang["微信号"] == "wx_wang", "an unmapped column is kept, never dropped"
    li = leads.loc["（深圳）远航医疗器械有限公司"]
    assert li["budget"] == 8
    assert li["created_at"] == pd.Timestamp("2026-03-02")
    # no place in the sheet: the company name says 深圳, the phone (a Jiangsu mobile, as
    # libphonenumber says) another province; the name is kept and the disagreement reported
    import phonenumbers
    from phonenumbers import geocoder

    said = geocoder.description_for_number(phonenumbers.parse("13912345678", "CN"), "zh")
    assert said.startswith("江苏省")
    assert (li["province"], li["city"], li["region"]) == ("广东", "深圳", "华南")
    place = [w for w in _result.warnings if w.column == "province"]
    assert [(w.file, w.row) for w in place] == [("web_small.csv", 2), ("web_small.csv", 3)]
    assert place[0].message == (
        "places disagree (the sheet and the company name 上海, the phone 江苏); kept 上海"
    )
    assert place[1].message == "places disagree (the company name 广东, the phone 江苏); kept 广东"


def test_place_from_phone_city_or_name_for_the_autonomous_regions(workspace, tmp_path):
    sheet = tmp_path / "west.csv"
    sheet.write_text(
        "公司名称,姓名,手机号,所在城市\n"
        "甲公司,甲,0991-4561234,\n"  # 乌鲁木齐 landline
        "乙公司,乙,0771-5551234,\n"  # 南宁 landline
        "丙公司,丙,13800000000,南宁\n"  # only the city: 南宁 is in 广西
        "丁公司,丁,13800000000,塔城地区\n"
        "呼和浩特戊公司,戊,0951-5551234,\n",  # name says 内蒙古, phone 宁夏
        encoding="utf-8",
    )
    ctx, result = run_import(workspace, sheet)
    leads = pipeline.load(ctx).leads.set_index("contact")
    got = {k: tuple(leads.loc[k, ["province", "city", "region"]]) for k in "甲乙丙丁戊"}
    assert got == {
        "甲": ("新疆", "乌鲁木齐", "西北"), "乙": ("广西", "南宁", "华南"),
        "丙": ("广西", "南宁", "华南"), "丁": ("新疆", "塔城", "西北"),
        "戊": ("内蒙古", "呼和浩特", "华北"),
    }  # fmt: skip
    place = [w for w in result.warnings if w.column == "province"]
    # 丙 and 丁: the sheet's city against a Beijing mobile; 戊: the name against the phone
    assert [w.row for w in place] == [4, 5, 6]
    assert "the company name 内蒙古, the phone 宁夏" in place[2].message


def test_rejects_keep_file_row_and_reason(workspace, data_dir):
    ctx, result = run_import(workspace, data_dir / "web_small.csv")
    assert result.totals == {
        "read": 6,
        "imported": 4,
        "rejected": 2,
        "already": 0,
        "warnings": 3,
        "linked": 0,
    }
    rejects = pipeline.load(ctx).sheets["rejects"]
    assert rejects[["file", "row", "reason"]].values.tolist() == [
        ["web_small.csv", 4, "no usable phone or e-mail"],
        ["web_small.csv", 5, "no company and no contact"],
    ]
    assert "公司名称=某某贸易有限公司" in rejects["data"].iloc[0]


def test_bad_phone_beside_good_email_is_kept_with_a_warning(workspace, data_dir):
    ctx, result = run_import(workspace, data_dir / "web_small.csv")
    leads = pipeline.load(ctx).leads.set_index("contact")
    assert leads.loc["孙经理", "phone"] == "12345"
    assert [(w.row, w.column) for w in result.warnings if w.column != "province"] == [(6, "phone")]


def test_formulas_from_outside_cannot_run(workspace, data_dir):
    ctx, _ = run_import(workspace, data_dir / "web_small.csv")
    import openpyxl

    cells = {c.value for row in openpyxl.load_workbook(ctx.book_path).worksheets[0].iter_rows()
             for c in row}  # fmt: skip
    assert "'@SUM(1+1)" in cells and any(str(v).startswith("'=HYPERLINK") for v in cells)
    # Read back, leadkit works on the text as it came in.
    leads = pipeline.load(ctx).leads.set_index("contact")
    assert leads.loc["钱女士", "company"].startswith("=HYPERLINK")
    assert leads.loc["钱女士", "need"] == "@SUM(1+1)"


def test_reimport_adds_nothing(workspace, data_dir, tmp_path):
    ctx, _first = run_import(workspace, data_dir / "web_small.csv")
    before = pipeline.load(ctx)
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes((data_dir / "web_small.csv").read_bytes())
    _, again = run_import(workspace, renamed)
    after = pipeline.load(ctx)
    assert again.totals["imported"] == 0 and again.totals["rejected"] == 0
    assert again.totals["already"] == 6
    assert len(after.leads) == len(before.leads) and len(after.sheets["rejects"]) == len(
        before.sheets["rejects"]
    )


def test_changed_row_is_new(workspace, data_dir, tmp_path):
    run_import(workspace, data_dir / "web_small.csv")
    edited = tmp_path / "edited.csv"
    edited.write_text(
        (data_dir / "web_small.csv")
        .read_text(encoding="utf-8")
        .replace("想了解报价", "想要报价单"),
        encoding="utf-8",
    )
    _, again = run_import(workspace, edited)
    assert again.totals["imported"] == 1 and again.totals["already"] == 5


def test_ids_continue_the_sequence(workspace, data_dir, tmp_path):
    ctx, _ = run_import(workspace, data_dir / "web_small.csv")
    more = tmp_path / "more.csv"
    more.write_text("公司名称,联系人,手机\n新公司,周周,13700001111\n", encoding="utf-8")
    run_import(workspace, more)
    assert pipeline.load(ctx).leads["lead_id"].tolist()[-1] == "LX2026000005"


def test_one_off_map_and_extra_columns(workspace, tmp_path, data_dir):
    src = tmp_path / "booth.csv"
    src.write_text(
        "客户,联系人,电话,展位号,洽谈时长\n甲公司,王,13812345678,A12,15\n", encoding="utf-8"
    )
    ctx, _ = run_import(workspace, src, map_file=data_dir / "map_booth.yaml", source="trade_show")
    lead = pipeline.load(ctx).leads.iloc[0]
    assert (lead["company"], lead["source_detail"], lead["source"]) == (
        "甲公司",
        "A12",
        "trade_show",
    )
    assert lead["洽谈时长"] in ("15", 15)


def test_map_with_unknown_key_is_a_rule_error(workspace, tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("columns:\n  客户: customer_name\n", encoding="utf-8")
    src = tmp_path / "a.csv"
    src.write_text("公司名称,联系人,电话\n甲,王,13812345678\n", encoding="utf-8")
    with pytest.raises(RuleError, match="customer_name"):
        run_import(workspace, src, map_file=bad)


def test_unknown_source_is_a_usage_error(workspace, data_dir):
    with pytest.raises(UsageError, match="not a known channel"):
        run_import(workspace, data_dir / "web_small.csv", source="carrier pigeon")


def test_dry_run_writes_nothing(workspace, data_dir):
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    ctx = pipeline.context(as_of=NOW, cwd=workspace, dry_run=True)
    result = pipeline.import_files(ctx, [data_dir / "web_small.csv"])
    assert result.totals["imported"] == 4
    assert book.read_bytes() == before


def test_import_writes_log_and_provenance(workspace, data_dir):
    ctx, _ = run_import(workspace, data_dir / "web_small.csv")
    book = pipeline.load(ctx)
    log = book.sheets["log"]
    # the Log gets one line per file; the Imports sheet ties each source row to its lead
    assert log[["command", "lead_id", "new"]].values.tolist() == [
        ["import", "LX2026000001…LX2026000004", "从 web_small.csv 导入 4 条线索"]
    ]
    imports = book.sheets["imports"]
    assert sorted(imports["outcome"].tolist()) == ["imported"] * 4 + ["rejected"] * 2
    imported = imports[imports["outcome"] == "imported"]
    assert imported[["row", "lead_id"]].values.tolist()[0] == [2, "LX2026000001"]


def test_import_into_a_missing_book_creates_it(tmp_path, monkeypatch, data_dir):
    monkeypatch.chdir(tmp_path)
    ctx = pipeline.context(as_of=NOW, cwd=tmp_path)
    pipeline.import_files(ctx, [data_dir / "web_small.csv"])
    assert looks_like_xlsx(tmp_path / "leads.xlsx")
    assert len(pipeline.load(ctx).leads) == 4


def test_samples_import_end_to_end(tmp_path):
    from leadkit import demo

    outcome = demo.run(tmp_path / "d", as_of="2026-03-01T09:00")
    totals = {step.split()[2]: r.totals for step, r in outcome.imports}
    assert totals["inbox/website_form.csv"]["rejected"] == 2
    assert totals["inbox/partner_referral.xlsx"]["imported"] == 25
    leads = outcome.leads
    assert len(leads) == sum(t["imported"] for t in totals.values())
    assert set(leads["source"]) == {"website", "trade_show", "partner"}
    assert leads["phone"].str.fullmatch(r"1[3-9]\d{9}").sum() >= len(leads) - 1
    assert leads.loc[leads["source"] == "trade_show", "source_detail"].str.match(r"A\d+").all()
    assert leads["created_at"].map(lambda v: isinstance(v, dt.datetime)).all()


def _row_keys_by_definition(frame: pd.DataFrame, mapped: list[str]) -> list[str]:
    """The legacy row key as documented: pandas' hash of the `key=trimmed text` cells, two hash keys."""
    cells = pd.DataFrame(
        {k: f"{k}=" + frame[k].fillna("").astype(str).str.strip() for k in sorted(mapped)}
    )
    high = pd.util.hash_pandas_object(cells, index=False, hash_key="leadkit-rowkey-a")
    low = pd.util.hash_pandas_object(cells, index=False, hash_key="leadkit-rowkey-b")
    return [f"{h:016x}{lo:016x}" for h, lo in zip(high, low, strict=True)]


def test_legacy_row_keys_are_stable_across_versions():
    """Books imported before hold these keys: the legacy function must still give them."""
    frame = pd.DataFrame(
        {
            "company": ["上海智联科技有限公司", " 北京华信 ", None],
            "phone": ["13812345678", None, "010-88886666"],
            "微信号": ["x", "y", "z"],
        },
        index=[2, 3, 4],
    )
    assert identity.legacy_row_keys(frame, ["company", "phone"]).tolist() == [
        "5410c9201cd9a8e508bddfd05ff037b3",
        "f3f9d2a905670f81bdf6dffe3536bce3",
        "d94cf8cb3b28946afe5006063a230a8a",
    ]


cell_text = st.one_of(
    st.none(), st.text(max_size=12), st.sampled_from(["", " ", "\u3000a ", "1.0"])
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(cell_text, cell_text, cell_text), min_size=1, max_size=30), st.booleans())
def test_legacy_row_keys_match_their_definition(rows, arrow_text):
    frame = pd.DataFrame(rows, columns=["company", "contact", "notes"])
    frame = frame.astype("str" if arrow_text else object).where(frame.notna())
    keys = identity.legacy_row_keys(frame, ["notes", "company", "contact"])
    assert keys.tolist() == _row_keys_by_definition(frame, ["company", "contact", "notes"])


# --- identity of a source row (issue 12, Build 3) ---------------------------------------------

TWINS = (
    "公司名称,姓名,手机号,出生日期,身份证号\n"
    "上海智联科技有限公司,王伟,13812345678,1990-01-01,310101199001011234\n"
    "上海智联科技有限公司,王伟,13812345678,1991-02-02,310101199102021234\n"
    "杭州远景咨询有限公司,孙丽,13912345678,,\n"
    "杭州远景咨询有限公司,孙丽,13912345678,,\n"
)


def imports_sheet(ctx) -> pd.DataFrame:
    return pipeline.load(ctx).sheets["imports"]


def test_rows_differing_only_in_unmapped_cells_are_two_rows(workspace, tmp_path):
    """Two people with one company and phone but other birth dates and ID numbers, and two rows
    the user typed twice: all four are imported, and all four recognised on re-import."""
    src = tmp_path / "twins.csv"
    src.write_text(TWINS, encoding="utf-8")
    ctx, first = run_import(workspace, src)
    assert (first.totals["imported"], first.totals["already"]) == (4, 0)
    leads = pipeline.load(ctx).leads
    assert sorted(leads["出生日期"].dropna()) == ["1990-01-01", "1991-02-02"]
    _, again = run_import(workspace, src)
    assert (again.totals["imported"], again.totals["already"]) == (0, 4)
    keys = imports_sheet(ctx)["row_key"]
    assert keys.str.fullmatch(r"v2:[0-9a-f]{32}(#2)?").all()
    assert keys.iloc[:4].nunique() == 4 and keys.iloc[:4].str.endswith("#2").sum() == 1


def test_already_imported_rows_name_the_row_they_matched(workspace, tmp_path):
    src = tmp_path / "twins.csv"
    src.write_text(TWINS, encoding="utf-8")
    ctx, _ = run_import(workspace, src)
    shuffled = tmp_path / "shuffled.csv"
    lines = TWINS.splitlines()
    shuffled.write_text(
        "\n".join([lines[0], lines[4], lines[1], "新公司,周周,13700001111,,"]) + "\n"
    )
    _, again = run_import(workspace, shuffled)
    assert (again.totals["imported"], again.totals["already"]) == (1, 2)
    sheet = imports_sheet(ctx)
    first = sheet[sheet["file"] == "twins.csv"].set_index("row")
    already = sheet[sheet["outcome"] == "already"]
    assert already["file"].tolist() == ["shuffled.csv"] * 2
    assert already["row"].tolist() == [2, 3]
    # each names the Imports row that first recorded it, and that row's lead
    # (孙丽 is there once: the first of the two typed, source and Imports row 4)
    assert already["matched_row"].tolist() == [4, 2]
    assert already["lead_id"].tolist() == [first.loc[4, "lead_id"], first.loc[2, "lead_id"]]
    listed = again.files[0].already_rows
    assert listed == [
        {"row": 2, "lead_id": first.loc[4, "lead_id"], "matched_row": 4},
        {"row": 3, "lead_id": first.loc[2, "lead_id"], "matched_row": 2},
    ]


PEOPLE = (
    "公司名称,姓名,手机号,出生日期\n"
    "甲科技有限公司,张三,13812345670,1990-01-01\n"
    "乙科技有限公司,李四,13812345671,1991-01-01\n"
    "丙科技有限公司,王五,13812345672,1992-01-01\n"
)
# 丙 and 甲 moved (rows 2 and 4), 丁 new in row 3
MOVED = (
    "公司名称,姓名,手机号,出生日期\n"
    "丙科技有限公司,王五,13812345672,1992-01-01\n"
    "丁科技有限公司,赵六,13812345673,1993-01-01\n"
    "甲科技有限公司,张三,13812345670,1990-01-01\n"
)


def test_re_imports_add_no_imports_rows(workspace, tmp_path):
    """A daily re-import of the same file leaves the Imports sheet as it was (each row's record
    names its lead); a row found in another file or row is noted once, however often it is
    imported again. The summary lists every row found, with the Imports row it matched."""
    people, moved = tmp_path / "people.csv", tmp_path / "moved.csv"
    people.write_text(PEOPLE, encoding="utf-8")
    moved.write_text(MOVED, encoding="utf-8")
    ctx, first = run_import(workspace, people)
    ids = first.leads["lead_id"].tolist()
    for n in (2, 3):
        _, again = run_import(workspace, people)
        assert (again.totals["imported"], again.totals["already"]) == (0, 3)
        assert len(imports_sheet(ctx)) == 3, f"after {n} re-imports"
        assert again.files[0].already_rows == [
            {"row": r + 2, "lead_id": ids[r], "matched_row": r + 2} for r in range(3)
        ]
    _, mixed = run_import(workspace, moved)
    assert (mixed.totals["imported"], mixed.totals["already"]) == (1, 2)
    assert len(imports_sheet(ctx)) == 6, "two rows found elsewhere noted, one row imported"
    for n in (2, 3):
        _, again = run_import(workspace, moved)
        assert (again.totals["imported"], again.totals["already"]) == (0, 3)
        _, again = run_import(workspace, people)
        assert again.totals["already"] == 3
        assert len(imports_sheet(ctx)) == 6, f"after {n} re-imports of both"
    sheet = imports_sheet(ctx)
    noted = sheet[sheet["outcome"] == "already"]
    assert noted[["file", "row", "matched_row"]].values.tolist() == [
        ["moved.csv", 2, 4], ["moved.csv", 4, 2],
    ]  # fmt: skip
    assert noted["lead_id"].tolist() == [ids[2], ids[0]]


def test_books_with_an_already_row_per_re_import_are_collapsed(workspace, data_dir, tmp_path):
    """tests/data/book_reimported_89372aa.xlsx: what commit 89372aa wrote importing PEOPLE,
    PEOPLE again, MOVED twice and PEOPLE again (15 Imports rows, 11 of them 已在册). The next
    import keeps the records and the first time each moved row was found, renumbered."""
    (workspace / "leads.xlsx").write_bytes((data_dir / "book_reimported_89372aa.xlsx").read_bytes())
    ctx = pipeline.context(as_of=NOW, cwd=workspace)
    old = imports_sheet(ctx)
    assert len(old) == 15 and (old["outcome"] == "already").sum() == 11
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE, encoding="utf-8")
    _, again = run_import(workspace, people)
    assert (again.totals["imported"], again.totals["already"]) == (0, 3)
    sheet = imports_sheet(ctx)
    assert sheet.index.tolist() == [2, 3, 4, 5, 6, 7]
    kept = old.loc[[2, 3, 4, 8, 9, 10]]
    for column in ("row_key", "file", "row", "outcome", "lead_id"):
        assert sheet[column].tolist() == kept[column].tolist(), column
    # the moved rows' records are rows 4 and 2 still; 丁's record is row 7 now (was 10)
    assert sheet["matched_row"].tolist()[3:5] == [4, 2]
    assert [r["matched_row"] for r in again.files[0].already_rows] == [2, 3, 4]
    assert len(pipeline.load(ctx).leads) == 4
    moved = tmp_path / "moved.csv"
    moved.write_text(MOVED, encoding="utf-8")
    _, third = run_import(workspace, moved)
    assert [r["matched_row"] for r in third.files[0].already_rows] == [4, 7, 2]
    assert len(imports_sheet(ctx)) == 6


def test_what_does_not_count_in_a_rows_identity(workspace, tmp_path):
    """Re-typed numbers, dates as serials, spaces, column order, empty columns and the header
    matcher's choices do not make a row new; a changed unmapped cell does."""
    src = tmp_path / "a.csv"
    src.write_text(
        "提交时间,公司名称,手机号,员工数,备注\n"
        "2026/3/1 14:05,甲公司,13812345678,50,老客户\n"
        "2026-03-02,乙公司,13912345678,1.5,\n",
        encoding="utf-8",
    )
    run_import(workspace, src)
    same = tmp_path / "b.csv"
    same.write_text(
        "备注,手机号,公司名称,提交时间,员工数,空列\n"
        " 老客户 ,13812345678,甲公司,46082.586805556,50.0,\n"
        ",13912345678,乙公司,2026年3月2日,1.50,\n",
        encoding="utf-8",
    )
    _, again = run_import(workspace, same)
    assert (again.totals["imported"], again.totals["already"]) == (0, 2)
    changed = tmp_path / "c.csv"
    changed.write_text(
        src.read_text(encoding="utf-8").replace("老客户", "老客户2"), encoding="utf-8"
    )
    _, third = run_import(workspace, changed)
    assert (third.totals["imported"], third.totals["already"]) == (1, 1)


def test_canonical_cells_agree_across_writers():
    import pyarrow as pa

    cells = ["1", "1.0", "1.00", "1e0", "46051", "2026-01-29", "2026年1月29日 00:00",
             "2026/01/29 05:52", "2026-01-29 05:52:00", "46051.244444444", "0012", "12",
             "310101199001011234", "310101199001011235", "2026-02-30", "+86 138"]  # fmt: skip
    out = identity.canonical_cells(pa.array(cells)).to_pylist()
    assert out[:4] == ["1"] * 4
    assert out[4:7] == ["46051"] * 3
    assert out[7:10] == ["46051.244444444"] * 3
    assert out[10:12] == ["0012", "12"], "a leading zero is text as written"
    assert out[12] != out[13], "an ID number is text beyond a number's 15 digits"
    assert out[14:] == ["2026-02-30", "+86 138"]


def _book_by_040ce12(workspace: Path, data_dir: Path) -> Path:
    """The book commit 040ce12 made importing tests/data/old_export.csv (its Imports sheet holds
    mapped-cell keys, and it kept one of the two 王伟 rows that differ only in birth date), in a
    workspace whose columns.yaml is that commit's too (no `already` outcome, no matched_row)."""
    book = workspace / "leads.xlsx"
    book.write_bytes((data_dir / "book_040ce12.xlsx").read_bytes())
    rules = workspace / "rules" / "columns.yaml"
    text = rules.read_text(encoding="utf-8")
    lines = [
        line
        for line in text.splitlines(keepends=True)
        if "key: already" not in line and "matched_row" not in line and "first recorded" not in line
    ]
    assert len(lines) == len(text.splitlines()) - 3
    rules.write_text("".join(lines), encoding="utf-8")
    return book


def test_books_imported_by_the_old_keys_keep_recognising_their_rows(workspace, data_dir):
    _book_by_040ce12(workspace, data_dir)
    ctx = pipeline.context(as_of=NOW, cwd=workspace)
    old = imports_sheet(ctx)
    assert old["row_key"].str.fullmatch(identity.LEGACY_KEY.pattern).all()
    assert len(pipeline.load(ctx).leads) == 2
    _, again = run_import(workspace, data_dir / "old_export.csv")
    # the two rows it imported and the one it rejected are recognised by their old keys; the
    # row it dropped as "already imported" comes in now
    assert (again.totals["imported"], again.totals["already"]) == (1, 3)
    leads = pipeline.load(ctx).leads
    assert sorted(leads["出生日期"].dropna()) == ["1990-01-01", "1991-02-02"]
    sheet = imports_sheet(ctx)
    assert sheet.loc[old.index, "row_key"].str.startswith("v2:").all(), "old keys migrated"
    assert sheet.loc[old.index, ["outcome", "lead_id"]].equals(old[["outcome", "lead_id"]])
    # each is the very row its record came from: the summary names the record, and the sheet
    # gets no `already` row for it
    listed = {r["row"]: r["matched_row"] for r in again.files[0].already_rows}
    assert listed == {2: 3, 4: 4, 5: 2}
    assert not (sheet["outcome"] == "already").any()
    # migrated: the next import matches by the new keys alone
    _, third = run_import(workspace, data_dir / "old_export.csv")
    assert (third.totals["imported"], third.totals["already"]) == (0, 4)
    assert not imports_sheet(ctx)["row_key"].str.fullmatch(identity.LEGACY_KEY.pattern).any()


def _people_xlsx(path: Path) -> Path:
    """Leads as xlsxwriter writes them: numbers, dates with a date format, text."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("名单")
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, ["提交时间", "公司名称", "姓名", "手机号", "员工数", "出生日期", "积分"])
    people = [
        (dt.datetime(2026, 3, 1, 14, 5), "上海智联科技有限公司", "王伟", 13812345678, 50,
         dt.datetime(1990, 1, 1), 1.5),
        (dt.datetime(2026, 3, 1, 14, 5), "上海智联科技有限公司", "王伟", 13812345678, 50,
         dt.datetime(1991, 2, 2), 2.25),
        (dt.datetime(2026, 3, 2, 9, 30, 17), "杭州远景咨询有限公司", "孙丽", 13912345678, 8,
         None, 0.1),
    ]  # fmt: skip
    for r, (at, company, name, phone, staff, born, points) in enumerate(people, start=1):
        ws.write_datetime(r, 0, at, when)
        ws.write_row(r, 1, [company, name, phone, staff])
        if born is not None:
            ws.write_datetime(r, 5, born, day)
        ws.write_number(r, 6, points)
    wb.close()
    return path


def test_sheet_resaved_by_libreoffice_is_recognised(workspace, tmp_path, soffice):
    src = _people_xlsx(tmp_path / "people.xlsx")
    _, first = run_import(workspace, src)
    assert first.totals["imported"] == 3
    resaved = soffice(src, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    assert resaved.read_bytes() != src.read_bytes()
    _, again = run_import(workspace, resaved)
    assert (again.totals["imported"], again.totals["already"]) == (0, 3)


def test_csv_saved_as_xlsx_by_libreoffice_is_recognised(workspace, tmp_path, soffice):
    """The CSV's `2026/3/1 14:05` and `10.0` are a date and a number once LibreOffice opened it."""
    from tests_support import soffice_convert_csv_to_xlsx

    src = tmp_path / "web.csv"
    src.write_text(
        "提交时间,公司名称,姓名,手机号,员工数,出生日期\n"
        "2026/3/1 14:05,上海智联科技有限公司,王伟,13812345678,10.0,1990-01-01\n"
        "2026/3/1 14:05,上海智联科技有限公司,王伟,13812345678,10.0,1991-02-02\n"
        "2026-03-02,杭州远景咨询有限公司,孙丽,13912345678,8,\n",
        encoding="utf-8",
    )
    _, first = run_import(workspace, src)
    assert first.totals["imported"] == 3
    xlsx = soffice_convert_csv_to_xlsx(src, tmp_path / "lo", soffice)
    _, again = run_import(workspace, xlsx)
    assert (again.totals["imported"], again.totals["already"]) == (0, 3)


def test_event_rows_have_the_same_identity(workspace, tmp_path):
    """Two page views a second apart in the source's own column are two events; re-imported,
    both are recorded as already there, with the Imports row each matched."""
    ev = tmp_path / "ev.csv"
    ev.write_text(
        "时间,手机号,行为,页面停留秒\n"
        "2026-03-09 10:00,13812345678,查看价格,30\n"
        "2026-03-09 10:00,13812345678,查看价格,31\n",
        encoding="utf-8",
    )
    ctx = pipeline.context(as_of=NOW, cwd=workspace)
    first = pipeline.import_event_files(ctx, [ev])
    assert (first.added, first.already) == (2, 0)
    again = pipeline.import_event_files(ctx, [ev])
    assert (again.added, again.already) == (0, 2)
    assert len(imports_sheet(ctx)) == 2, "the same rows of the same file: their records stand"
    moved = tmp_path / "ev2.csv"
    lines = ev.read_text(encoding="utf-8").splitlines()
    moved.write_text("\n".join([lines[0], lines[2], lines[1]]) + "\n", encoding="utf-8")
    for _ in range(2):
        third = pipeline.import_event_files(ctx, [moved])
        assert (third.added, third.already) == (0, 2)
    sheet = imports_sheet(ctx)
    already = sheet[sheet["outcome"] == "already"]
    assert already["row"].tolist() == [2, 3], "found elsewhere: noted once, not twice"
    assert already["matched_row"].tolist() == [3, 2]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(9999, 12, 31)),
            st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y年%m月%d日", "%Y-%m-%d"]),
        ),
        min_size=1,
        max_size=20,
    ),
    st.lists(st.text(alphabet="0123456789-/: 年月日", max_size=19), max_size=10),
)
def test_dates_read_in_arrow_agree_with_their_definition(stamps, noise):
    """The vectorised date path gives what `_canonical_date` (one cell at a time) gives."""
    import pyarrow as pa

    cells = [when.strftime(form) for when, form in stamps] + [n.strip() for n in noise if n.strip()]
    out = identity.canonical_cells(pa.array(cells)).to_pylist()
    expected = [
        identity._canonical_date(c)
        if identity._DATE.fullmatch(c)
        else identity.canonical_cells(pa.array([c])).to_pylist()[0]
        for c in cells
    ]
    assert out == expected


@pytest.mark.parametrize(
    ("lang", "sheet", "messages"),
    [
        ("zh", "操作日志", ["从 web_small.csv 导入 4 条线索", "4 条线索首次评级"]),
        (
            "en",
            "Log",
            ["4 lead(s) imported from web_small.csv", "4 lead(s) graded for the first time"],
        ),
    ],
)
def test_log_messages_are_in_the_books_language(
    tmp_path, monkeypatch, data_dir, lang, sheet, messages
):
    pipeline.init(tmp_path, lang)
    monkeypatch.chdir(tmp_path)
    ctx, _ = run_import(tmp_path, data_dir / "web_small.csv")
    pipeline.score(ctx)
    # read as the user sees the file, not through leadkit's reader
    log = pd.read_excel(tmp_path / "leads.xlsx", sheet_name=sheet)
    assert log.iloc[:, 5].tolist() == messages
