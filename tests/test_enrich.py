"""enrich: credit-code check digit, matching order, blanks-only fill."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from leadkit.rules.enrich import EnrichRules
from leadkit.steps.enrich import (
    CODE_ALPHABET,
    credit_code_check,
    fill_blanks,
    match,
    normalize_credit_code,
    review,
)

# A published code (Huawei Technologies Co., Ltd., Shenzhen) whose check digit is 6.
HUAWEI = "914403001922038216"


def test_known_code_check_digit() -> None:
    assert credit_code_check(HUAWEI[:17]) == HUAWEI[17]


def test_codes_failing_the_check_are_dropped() -> None:
    bad = HUAWEI[:17] + ("0" if HUAWEI[17] != "0" else "1")
    out = normalize_credit_code(
        pd.Series([HUAWEI.lower(), bad, "123", None, " 9144 0300 1922038216"])
    )
    assert out.tolist()[0] == HUAWEI
    assert out.isna().tolist() == [False, True, True, True, False]


@given(st.text(alphabet=CODE_ALPHABET, min_size=17, max_size=17))
def test_any_body_with_its_check_is_valid_and_one_change_breaks_it(body: str) -> None:
    code = body + credit_code_check(body)
    assert normalize_credit_code(pd.Series([code])).iloc[0] == code
    wrong = CODE_ALPHABET[(CODE_ALPHABET.index(code[0]) + 1) % 31] + code[1:]
    assert pd.isna(normalize_credit_code(pd.Series([wrong])).iloc[0])


def _companies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "company": [
                "华为技术有限公司",
                "杭州云栖数据科技有限公司",
                "上海明远国际物流科技有限公司",
            ],
            "credit_code": [HUAWEI, None, None],
            "industry": ["通信设备", "软件", "物流"],
            "legal_form": ["有限责任公司", "有限责任公司", "有限责任公司"],
        },
        index=[10, 11, 12],
    )


def test_match_order_code_then_key_then_fuzzy() -> None:
    leads = pd.DataFrame(
        {
            "company": [
                "某个错写的名字",
                "云栖数据科技（杭州）有限公司",
                "上海明远国际物留科技有限公司",
                "无关公司",
            ],
            "credit_code": [HUAWEI, None, None, None],
        }
    )
    m = match(leads, _companies()).set_index("lead")
    assert m.loc[0, "company"] == 10 and m.loc[0, "method"] == "credit_code"
    assert m.loc[1, "company"] == 11 and m.loc[1, "method"] == "company_key"
    assert m.loc[2, "company"] == 12 and m.loc[2, "method"] == "fuzzy"
    assert 80 <= m.loc[2, "confidence"] < 100
    assert 3 not in m.index


def test_fill_blanks_never_overwrites_and_logs_each_fill() -> None:
    leads = pd.DataFrame(
        {
            "company": ["华为技术有限公司", "杭州云栖数据科技有限公司"],
            "industry": ["手写的行业", None],
        }
    )
    m = match(leads, _companies())
    out, log = fill_blanks(leads, _companies(), m, ["industry", "legal_form"])
    assert out["industry"].tolist() == ["手写的行业", "软件"]
    assert out["legal_form"].tolist() == ["有限责任公司", "有限责任公司"]
    assert sorted(zip(log["lead"], log["column"], strict=True)) == [
        (0, "legal_form"),
        (1, "industry"),
        (1, "legal_form"),
    ]


def test_uncertain_fuzzy_goes_to_review_not_into_the_book() -> None:
    leads = pd.DataFrame({"company": ["上海明远国际物留科技有限公司"], "industry": [None]})
    rules = EnrichRules(fill_at=99, review_at=70)
    m = match(leads, _companies(), rules)
    out, log = fill_blanks(leads, _companies(), m, ["industry"], rules)
    assert pd.isna(out.loc[0, "industry"]) and log.empty
    assert review(m, rules)["company"].tolist() == [12]


def test_ambiguous_key_is_not_an_exact_match() -> None:
    companies = pd.DataFrame(
        {"company": ["北京星河有限公司", "星河股份有限公司"], "industry": ["a", "b"]}
    )
    m = match(pd.DataFrame({"company": ["星河有限公司"]}), companies)
    assert (m["method"] != "company_key").all()


def test_a_region_in_the_name_keeps_two_cities_apart() -> None:
    """The key drops 上海/深圳; enrich has only the name, so a region that disagrees vetoes."""
    companies = pd.DataFrame(
        {"company": ["上海博创科技有限公司", "深圳博创科技有限公司", "广州海纳物流有限公司"]}
    )
    leads = pd.DataFrame(
        {"company": ["深圳博创科技有限公司", "海纳物流（广州）有限公司", "杭州海纳物流有限公司"]}
    )
    m = match(leads, companies).set_index("lead")
    assert m.loc[0, "company"] == 1 and m.loc[0, "method"] == "company_key"
    assert m.loc[1, "company"] == 2 and m.loc[1, "method"] == "company_key"
    assert 2 not in m.index


def test_a_tie_the_full_names_cannot_break_is_reviewed_not_filled() -> None:
    """One name twice in a list (two registrations, or an export's duplicate row): no guessing."""
    companies = pd.DataFrame(
        {"company": ["博创科技有限公司", "博创科技有限公司"], "industry": ["a", "b"]}
    )
    leads = pd.DataFrame({"company": ["博创科技集团"], "industry": [None]})
    m = match(leads, companies)
    assert m["method"].tolist() == ["ambiguous"]
    out, log = fill_blanks(leads, companies, m, ["industry"])
    assert log.empty and pd.isna(out.loc[0, "industry"])
    assert len(review(m)) == 1


# all-digit codes such as HUAWEI become numbers when LibreOffice or Excel opens a CSV (and lose
# their last digits); this one has letters, as most codes issued since 2015 do
LETTERED = "91110108MA01K3XQ7Q"
LEADS_CSV = """提交时间,公司名称,姓名,手机号,行业,统一社会信用代码,注册资本
2026-02-02 09:00,上海明远国际物流科技有限公司,王伟,13800000001,,,
2026-02-02 10:00,华为,李娜,13800000002,,{code},
2026-02-02 11:00,北京星河数据有限公司,张敏,13800000003,手写的行业,,300
2026-02-02 12:00,深圳明远国际物流科技有限公司,刘静,13800000004,,,
2026-02-02 13:00,杭州云栖数据科技有限公司,陈芳,13800000005,,,
"""
LIST_CSV = """企业名称,统一社会信用代码,企业类型,注册资本,登记状态,注册地址,行业
华为技术有限公司,{code},有限责任公司,4104113万元人民币,存续,深圳市龙岗区坂田华为基地,通信设备
上海明远国际物流科技有限公司,,有限责任公司,500万元人民币,存续,上海市浦东新区张江路1号,物流
北京星河数据有限公司,,股份有限公司,1000万元人民币,在业,北京市海淀区中关村1号,软件
杭州云栖数据科技发展有限公司,,有限责任公司,200万元人民币,存续,杭州市西湖区文三路90号,软件
"""


def test_enrich_fills_blanks_from_a_libreoffice_list_logs_and_undoes(
    workspace, tmp_path, cli, soffice
):
    from tests_support import soffice_convert_csv_to_xlsx

    from leadkit import bookio
    from leadkit.rules.loader import Rules

    leads = tmp_path / "leads_in.csv"
    leads.write_text(LEADS_CSV.format(code=LETTERED), encoding="utf-8")
    assert cli("import", leads, "--source", "官网表单", "-q").exit_code == 0
    src = tmp_path / "companies.csv"
    src.write_text(LIST_CSV.format(code=LETTERED), encoding="utf-8")
    listed = soffice_convert_csv_to_xlsx(src, tmp_path / "lo", soffice)
    book = workspace / "leads.xlsx"
    before = bookio.load_book(book, Rules().columns, "zh", "Asia/Shanghai").leads

    review_file = tmp_path / "review.xlsx"
    done = cli("enrich", "--from", listed, "--review", review_file, "--as-of", "2026-03-01T09:00")
    assert done.exit_code == 0, done.stderr
    assert "matched 3 of 5 lead(s) against 4 companies" in done.stderr
    assert "filled 13 blank cell(s) in 3 lead(s)" in done.stderr

    loaded = bookio.load_book(book, Rules().columns, "zh", "Asia/Shanghai")
    after = loaded.leads.set_index("phone")
    ming, hua, xing = after.loc["13800000001"], after.loc["13800000002"], after.loc["13800000003"]
    assert ming["industry"] == "物流" and ming["registered_address"] == "上海市浦东新区张江路1号"
    assert hua["legal_form"] == "有限责任公司" and hua["company"] == "华为"  # matched by code
    # what a person typed stays: the industry and the capital typed as a number
    assert xing["industry"] == "手写的行业" and str(xing["registered_capital"]) == "300"
    assert xing["company_status"] == "在业"
    # 深圳… is not the list's 上海 company; 杭州… only resembles one: neither is filled
    for phone in ("13800000004", "13800000005"):
        assert after.loc[phone, ["credit_code", "legal_form", "industry"]].isna().all()
    log = loaded.sheets["log"]
    mine = log[log["command"] == "enrich"]
    # 5 + 5 + 3: the code was typed on one lead and is on no other list row
    assert len(mine) == 13 and mine["old"].isna().all()
    assert sorted(set(mine["column"])) == sorted(
        ["legal_form", "registered_capital", "company_status", "registered_address", "industry"]
    )
    assert set(mine["new"]) >= {"物流", "上海市浦东新区张江路1号", "在业"}
    rev = bookio.read_table(review_file)
    assert rev["企业名称"].tolist() == ["杭州云栖数据科技有限公司"]

    assert cli("undo", "-q").exit_code == 0
    undone = bookio.load_book(book, Rules().columns, "zh", "Asia/Shanghai").leads
    for column in ("credit_code", "legal_form", "industry", "registered_address"):
        assert undone[column].astype("string").tolist() == before[column].astype("string").tolist()


def test_a_list_without_known_headers_says_where_its_headers_are_named(workspace, tmp_path, cli):
    listed = tmp_path / "list.csv"
    listed.write_text("foo,bar\n1,2\n", encoding="utf-8")
    done = cli("enrich", "--from", listed)
    assert done.exit_code == 2
    assert "list.csv: no recognisable header row (see rules/enrich.yaml columns)" in done.stderr


def _review_workspace(workspace, tmp_path, cli):
    """The five leads of LEADS_CSV plus one more uncertain one, enriched with --review."""
    leads = tmp_path / "leads_in.csv"
    extra = "2026-02-02 14:00,北京星河数据科技有限公司,赵磊,13800000006,,,\n"
    leads.write_text(LEADS_CSV.format(code=LETTERED) + extra, encoding="utf-8")
    assert cli("import", leads, "--source", "官网表单", "-q").exit_code == 0
    src = tmp_path / "companies.csv"
    src.write_text(LIST_CSV.format(code=LETTERED), encoding="utf-8")
    review_file = tmp_path / "review.xlsx"
    done = cli("enrich", "--from", src, "--review", review_file, "--as-of", "2026-03-01T09:00")
    assert done.exit_code == 0, done.stderr
    assert "2 uncertain match(es) written to" in done.stderr
    return review_file


def test_accepted_review_rows_fill_blanks_from_a_file_libreoffice_saved(
    workspace, tmp_path, cli, soffice
):
    import openpyxl

    from leadkit import bookio
    from leadkit.rules.loader import Rules

    review_file = _review_workspace(workspace, tmp_path, cli)
    wb = openpyxl.load_workbook(review_file)  # a person decides, in a spreadsheet
    ws = wb.active
    head = [c.value for c in ws[1]]
    assert head[:6] == ["决定", "线索编号", "企业名称", "名单企业名称", "匹配方式", "相似度"]
    assert "名单所属行业" in head and head[-1] == "校验"
    rows = {ws.cell(r, 3).value: r for r in range(2, ws.max_row + 1) if ws.cell(r, 3).value}
    assert sorted(rows) == ["北京星河数据科技有限公司", "杭州云栖数据科技有限公司"]
    ws.cell(rows["杭州云栖数据科技有限公司"], 1, "采用")
    ws.cell(rows["北京星河数据科技有限公司"], 1, "不采用")
    edited = tmp_path / "edited" / "review.xlsx"
    edited.parent.mkdir()
    wb.save(edited)
    # and saved again by LibreOffice, as a colleague without Excel would
    saved = soffice(edited, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    assert saved != edited and saved.name == "review.xlsx"
    book = workspace / "leads.xlsx"
    before = bookio.load_book(book, Rules().columns, "zh", "Asia/Shanghai")

    done = cli("enrich", "--apply-review", saved, "--as-of", "2026-03-02T09:00")
    assert done.exit_code == 0, done.stderr
    assert "1 match(es) accepted, 1 rejected in review.xlsx" in done.stderr
    # the list row: no code, 有限责任公司, 200万元人民币, 存续, 文三路90号, 软件
    assert "filled 5 blank cell(s) in 1 lead(s)" in done.stderr
    loaded = bookio.load_book(book, Rules().columns, "zh", "Asia/Shanghai")
    after = loaded.leads.set_index("phone")
    yun, xing = after.loc["13800000005"], after.loc["13800000006"]
    assert yun["industry"] == "软件" and yun["registered_capital"] == "200万元人民币"
    assert yun["registered_address"] == "杭州市西湖区文三路90号" and pd.isna(yun["credit_code"])
    assert xing[["legal_form", "industry", "registered_address"]].isna().all()
    log = loaded.sheets["log"]
    mine = log[(log["command"] == "enrich") & (log["lead_id"] == yun["lead_id"])]
    assert len(mine) == 5 and set(mine["new"]) >= {"软件", "存续"}
    assert len(log) == len(before.sheets["log"]) + 5

    assert cli("undo", "-q").exit_code == 0
    undone = bookio.load_book(book, Rules().columns, "zh", "Asia/Shanghai").leads
    assert pd.isna(undone.set_index("phone").loc["13800000005", "industry"])


def test_a_review_file_whose_lead_changed_since_is_refused(workspace, tmp_path, cli):
    import openpyxl

    from leadkit import pipeline

    review_file = _review_workspace(workspace, tmp_path, cli)
    wb = openpyxl.load_workbook(review_file)
    for r in range(2, wb.active.max_row + 1):
        if wb.active.cell(r, 2).value:
            wb.active.cell(r, 1, "accept")  # the key and the English label count as well
    wb.save(review_file)

    def rename(book):  # a person corrects the lead's company name in the book meanwhile
        leads = book.leads
        at = leads.index[leads["company"] == "杭州云栖数据科技有限公司"]
        leads.loc[at, "company"] = "杭州云栖数据服务有限公司"

    pipeline.update_book(pipeline.context(cwd=workspace), "test", rename)
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    done = cli("enrich", "--apply-review", review_file)
    assert done.exit_code == 2
    assert "1 accepted lead(s) are gone or changed since the review was written" in done.stderr
    assert "nothing filled" in done.stderr and book.read_bytes() == before


def test_a_review_decision_that_is_no_choice_names_its_row(workspace, tmp_path, cli):
    import openpyxl

    review_file = _review_workspace(workspace, tmp_path, cli)
    wb = openpyxl.load_workbook(review_file)
    wb.active.cell(3, 1, "好的")
    wb.save(review_file)
    done = cli("enrich", "--apply-review", review_file)
    assert done.exit_code == 2
    assert "row 3: decision '好的' is neither accept (采用) nor reject (不采用)" in done.stderr


def test_the_prepared_list_is_cached_and_a_changed_list_is_read_afresh(workspace, tmp_path, cli):
    """.leadkit/cache/enrich/ holds the prepared list under a digest of its bytes: the same list
    again comes from it; one changed byte, the same mtime kept, is read afresh; a damaged cache
    file is rebuilt; a dry run writes none."""
    import json
    import os

    leads = tmp_path / "leads_in.csv"
    leads.write_text(LEADS_CSV.format(code=LETTERED), encoding="utf-8")
    assert cli("import", leads, "--source", "官网表单", "-q").exit_code == 0
    listed = tmp_path / "companies.csv"
    listed.write_text(LIST_CSV.format(code=LETTERED), encoding="utf-8")
    cache = workspace / ".leadkit" / "cache" / "enrich"

    def enrich(*extra: str) -> dict:
        done = cli("enrich", "--from", listed, "--json", *extra)
        assert done.exit_code == 0, done.stderr
        return json.loads(done.stdout)

    assert enrich("--dry-run")["list_cached"] is False and not cache.exists()
    first = enrich()
    assert first["list_cached"] is False and first["cells"] == 13
    assert len(list(cache.glob("*.arrow"))) == 1
    assert cli("undo", "-q").exit_code == 0
    again = enrich()
    assert again["list_cached"] is True
    assert {k: again[k] for k in ("matched", "filled", "review")} == {
        k: first[k] for k in ("matched", "filled", "review")
    }
    # the list's 杭州 row renamed to the lead's name (same length, same mtime): a key match now
    assert cli("undo", "-q").exit_code == 0
    was = listed.stat()
    text = listed.read_text(encoding="utf-8").replace("数据科技发展", "数据科技有限")
    text = text.replace("数据科技有限有限公司", "数据科技有限公司公司")
    listed.write_text(text, encoding="utf-8")
    os.utime(listed, ns=(was.st_atime_ns, was.st_mtime_ns))
    assert listed.stat().st_size == was.st_size and listed.stat().st_mtime_ns == was.st_mtime_ns
    changed = enrich()
    assert changed["list_cached"] is False and changed["matched"]["company_key"] == 3
    assert len(list(cache.glob("*.arrow"))) == 2  # the newest two lists are kept
    for damaged in cache.glob("*.arrow"):
        damaged.write_bytes(b"not arrow")
    assert cli("undo", "-q").exit_code == 0
    rebuilt = enrich()
    assert rebuilt["list_cached"] is False and rebuilt["cells"] == changed["cells"]
    assert enrich()["list_cached"] is True


def test_a_plain_csv_list_read_by_arrow_is_what_the_general_reader_reads(
    workspace, tmp_path, data_dir, monkeypatch
):
    """The fast path for a plain UTF-8 list gives the same frame; any other file is left to
    bookio's reader (here: GB18030, a title line above the header, a malformed quote)."""
    from pathlib import Path

    from leadkit import pipeline

    ctx = pipeline.context(cwd=workspace)
    config = ctx.rules.enrich
    samples = Path(__file__).resolve().parents[1] / "samples" / "companies.csv"
    plain = tmp_path / "plain.csv"
    plain.write_text("\ufeff" + LIST_CSV.format(code=LETTERED) + " ,,,,,,\n", encoding="utf-8")
    fast = {f: pipeline.enriching._plain_list_csv(f, config, None) for f in (samples, plain)}
    monkeypatch.setattr(pipeline.enriching, "_plain_list_csv", lambda *a: None)
    for f, got in fast.items():
        assert got is not None, f
        slow = pipeline.enriching._read_list_file(ctx, f, config)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), slow.reset_index(drop=True))
    monkeypatch.undo()
    assert len(fast[plain]) == 4 and fast[plain]["company"].iloc[0] == "华为技术有限公司"
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(LIST_CSV.format(code=LETTERED).encode("gb18030"))
    titled = tmp_path / "titled.csv"
    titled.write_text("2026年企业名单\n" + LIST_CSV.format(code=LETTERED), encoding="utf-8")
    broken = tmp_path / "broken.csv"
    broken.write_text('企业名称,行业\n "华为, 技术" ,通信\n', encoding="utf-8")
    for f in (gbk, titled, broken):
        assert pipeline.enriching._plain_list_csv(f, config, None) is None, f
    assert (
        pipeline.enriching._read_list_file(ctx, gbk, config)["company"].iloc[0]
        == "华为技术有限公司"
    )
