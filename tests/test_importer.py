from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests_support import looks_like_xlsx

from leadkit import importer, pipeline
from leadkit.errors import RuleError, UsageError

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
    # no place in the sheet: province and city come from the phone number, and agree with
    # libphonenumber's own per-number answer
    import phonenumbers
    from phonenumbers import geocoder

    said = geocoder.description_for_number(phonenumbers.parse("13912345678", "CN"), "zh")
    assert said == f"{li['province']}省{li['city']}市"
    assert li["region"] == "华东"


def test_rejects_keep_file_row_and_reason(workspace, data_dir):
    ctx, result = run_import(workspace, data_dir / "web_small.csv")
    assert result.totals == {
        "read": 6,
        "imported": 4,
        "rejected": 2,
        "already": 0,
        "warnings": 1,
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
    assert [(w.row, w.column) for w in result.warnings] == [(6, "phone")]


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
        ["import", "LX2026000001…LX2026000004", "4 lead(s) imported from web_small.csv"]
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
    """The row key as documented: pandas' hash of the `key=trimmed text` cells, two hash keys."""
    cells = pd.DataFrame(
        {k: f"{k}=" + frame[k].fillna("").astype(str).str.strip() for k in sorted(mapped)}
    )
    high = pd.util.hash_pandas_object(cells, index=False, hash_key="leadkit-rowkey-a")
    low = pd.util.hash_pandas_object(cells, index=False, hash_key="leadkit-rowkey-b")
    return [f"{h:016x}{lo:016x}" for h, lo in zip(high, low, strict=True)]


def test_row_keys_are_stable_across_versions():
    """Books imported before keep their Imports sheet: the same rows must give the same keys."""
    frame = pd.DataFrame(
        {
            "company": ["上海智联科技有限公司", " 北京华信 ", None],
            "phone": ["13812345678", None, "010-88886666"],
            "微信号": ["x", "y", "z"],
        },
        index=[2, 3, 4],
    )
    assert importer._row_keys(frame, ["company", "phone"]).tolist() == [
        "5410c9201cd9a8e508bddfd05ff037b3",
        "f3f9d2a905670f81bdf6dffe3536bce3",
        "d94cf8cb3b28946afe5006063a230a8a",
    ]


cell_text = st.one_of(
    st.none(), st.text(max_size=12), st.sampled_from(["", " ", "\u3000a ", "1.0"])
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(cell_text, cell_text, cell_text), min_size=1, max_size=30), st.booleans())
def test_row_keys_match_their_definition(rows, arrow_text):
    frame = pd.DataFrame(rows, columns=["company", "contact", "notes"])
    frame = frame.astype("str" if arrow_text else object).where(frame.notna())
    keys = importer._row_keys(frame, ["notes", "company", "contact"])
    assert keys.tolist() == _row_keys_by_definition(frame, ["company", "contact", "notes"])
