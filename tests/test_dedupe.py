from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from leadkit import bookio, pipeline
from leadkit.errors import RuleError
from leadkit.rules.base import load_yaml_model
from leadkit.rules.dedupe import AGREE, DISAGREE, MISSING, PARTIAL, DedupeRules
from leadkit.steps.dedupe import candidate_pairs, compare, find_duplicates, merge, prepare
from leadkit.steps.dedupe.merge import _join_by_cluster

NOW = dt.datetime(2026, 3, 10, 9, 0)


@pytest.fixture
def drules(rules) -> DedupeRules:
    return rules.dedupe


def sheet(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if "lead_id" not in frame:
        frame["lead_id"] = [f"L{i + 1}" for i in range(len(frame))]
    for col in (
        "duplicate_of",
        "owner",
        "status",
        "created_at",
        "source",
        "source_detail",
        "tags",
        "notes",
        "city",
        "email",
        "phone",
        "contact",
        "company",
    ):
        if col not in frame:
            frame[col] = None
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame


def levels_of(drules, rows, field):
    frame = sheet(rows)
    prepared = prepare(frame, drules)
    scored = compare(prepared, drules, np.array([0]), np.array([1]))
    return int(scored[field].iloc[0]), float(scored["score"].iloc[0])


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("+86 138-1234-5678", "13812345678", AGREE),
        ("0086 138 1234 5678", "138 1234 5678", AGREE),
        ("13812345678", "13912345678", DISAGREE),
        ("13812345678", None, MISSING),
        ("12345", "12345", MISSING),  # unusable numbers are no evidence
    ],
)
def test_phone_comparator(drules, a, b, level):
    assert levels_of(drules, [{"phone": a}, {"phone": b}], "phone")[0] == level


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("Wang@ZhiLian.cn", "wang@zhilian.cn", AGREE),
        ("wang@zhilian.cn", "li@zhilian.cn", PARTIAL),  # same corporate domain: weak evidence
        ("wang@qq.com", "li@qq.com", DISAGREE),  # a free-mail domain says nothing
    ],
)
def test_email_comparator(drules, a, b, level):
    assert levels_of(drules, [{"email": a}, {"email": b}], "email")[0] == level


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("上海智联科技有限公司", "智联科技股份有限公司", AGREE),  # legal form and leading region
        ("智联科技（上海）有限公司", "上海智联科技有限公司", AGREE),  # region in brackets
        ("嘉迅文化传媒（嘉兴）有限公司", "嘉迅文化传媒有限公司", AGREE),  # a region not listed
        ("华信科技（北京分公司）", "华信科技有限公司", DISAGREE),  # a bracketed branch stays
        ("Acme Co., Ltd.", "ACME Inc.", AGREE),
        ("智联恒通科技有限公司", "智联恒通科枝有限公司", PARTIAL),  # a typo
        ("华信科技有限公司", "华信终端有限公司", DISAGREE),  # the group's other company
        ("华信科技有限公司", "华信科技上海分公司", DISAGREE),  # a branch is not its parent
        ("华信科技北京分公司", "华信科技上海分公司", DISAGREE),  # nor another branch
    ],
)
def test_company_comparator(drules, a, b, level):
    assert levels_of(drules, [{"company": a}, {"company": b}], "company")[0] == level


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("王伟", "王伟", AGREE),
        ("王先生", "王伟", PARTIAL),  # surname + title fits a full name of that surname
        ("王伟", "王总", PARTIAL),
        ("王经理", "王总", PARTIAL),  # the same surname, two titles
        ("欧阳总", "欧阳明", PARTIAL),  # a two-character surname
        ("王先生", "李伟", DISAGREE),
        ("王先生", "李先生", DISAGREE),  # the ratio says 67; the surnames say no
        ("喻晶", "喻静", PARTIAL),  # the same sounds: a pinyin input slip
        ("曹玉华", "何勇萍", DISAGREE),
        ("王伟", None, MISSING),
    ],
)
def test_person_comparator(drules, a, b, level):
    assert levels_of(drules, [{"contact": a}, {"contact": b}], "contact")[0] == level


def test_a_colleague_on_the_switchboard_is_neither_merged_nor_reviewed(drules):
    # same company, same landline, same corporate domain, another person
    rows = [
        {"company": "安澜青文化传媒有限公司", "contact": "何勇萍", "phone": "057164063308",
         "email": "jingping94@alq.cn", "city": "洛阳"},
        {"company": "安澜青文化传媒有限公司", "contact": "曹玉华", "phone": "057164063308",
         "email": "fang987@alq.cn", "city": "洛阳"},
        {"company": "安澜青文化传媒有限公司", "contact": "何女士", "phone": "057164063308",
         "email": None, "city": "洛阳"},
    ]  # fmt: skip
    result = find_duplicates(sheet(rows), drules)
    assert result.clusters.merges == [(0, [2])]
    assert result.clusters.review.empty


def test_number_and_date_comparators():
    rules = DedupeRules(
        fields=[
            {"name": "budget", "column": "budget", "comparator": "number", "tolerance": 1, "agree": 0.5},
            {"name": "born", "column": "born", "comparator": "date", "tolerance": 0, "agree": 0.5},
        ],
        blocking=["budget"], match=0.8, review=0.4, strong=1.0,
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "budget": [10, 10.5, 13],
            "born": pd.to_datetime(["1990-01-01", "1990-01-01", "1991-01-01"]),
        }
    )
    prepared = prepare(frame, rules)
    scored = compare(prepared, rules, np.array([0, 0]), np.array([1, 2]))
    assert scored["budget"].tolist() == [AGREE, DISAGREE]
    assert scored["born"].tolist() == [AGREE, DISAGREE]
    assert scored["score"].tolist() == [1.0, 0.0]


def test_blocking_pairs_only_share_a_key_and_skip_switchboards(drules):
    rows = [
        {"company": f"公司{i}号", "phone": "010-88886666", "contact": f"人{i}"} for i in range(60)
    ]
    rows += [
        {"company": "甲乙丙科技", "phone": "13812345678"},
        {"company": "丁戊科技", "phone": "13812345678"},
    ]
    frame = sheet(rows)
    prepared = prepare(frame, drules)
    left, right, stats = candidate_pairs(prepared, drules, len(frame))
    assert {(int(a), int(b)) for a, b in zip(left, right, strict=True)} == {(60, 61)}
    assert stats.skipped["phone"] == 1  # 60 records on one switchboard number: ignored


def chain_rules(strong: float) -> DedupeRules:
    return DedupeRules(
        fields=[{"name": "f1", "column": "f1", "agree": 0.8}, {"name": "f2", "column": "f2", "agree": 0.8}],
        blocking=["f1", "f2"], match=0.8, review=0.5, strong=strong,
    )  # fmt: skip


def test_chaining_guard_does_not_merge_through_weak_links():
    # A~B share f1, B~C share f2, A and C share nothing: a chain of two ordinary links
    frame = pd.DataFrame(
        {
            "lead_id": ["A", "B", "C"],
            "f1": ["x", "x", "y"],
            "f2": ["p", "q", "q"],
            "duplicate_of": None,
        }
    )
    result = find_duplicates(frame, chain_rules(strong=0.95))
    assert [
        (result.ids([s], chain_rules(0.95)), result.ids(o, chain_rules(0.95)))
        for s, o in result.clusters.merges
    ] == [(["A"], ["B"])]
    review = result.clusters.review
    assert set(review["why"]) == {"linked only through weaker matches"}
    # when the links are strong, the chain holds the cluster together
    strong = find_duplicates(frame, chain_rules(strong=0.8))
    assert [sorted(strong.ids([s, *o], chain_rules(0.8))) for s, o in strong.clusters.merges] == [
        ["A", "B", "C"]
    ]


def test_big_cluster_goes_to_review(drules):
    rows = [
        # one person eight times (a different person each time would be colleagues, not a cluster)
        {"company": "大集团有限公司", "email": "boss@bigcorp.cn", "contact": "张伟"}
        for i in range(8)
    ]
    result = find_duplicates(sheet(rows), drules)
    assert result.clusters.merges == []
    assert (result.clusters.review["why"].str.contains("max_cluster")).any()


def test_survivor_owned_then_status_then_earliest(drules):
    base = {"company": "智联科技有限公司", "phone": "13812345678", "contact": "王伟"}
    rows = [
        {**base, "created_at": pd.Timestamp("2026-01-01"), "status": "new"},
        {**base, "created_at": pd.Timestamp("2026-02-01"), "status": "proposal"},
        {**base, "created_at": pd.Timestamp("2026-03-01"), "status": "new", "owner": "李娜"},
    ]
    result = find_duplicates(sheet(rows), drules)
    survivor, _ = result.clusters.merges[0]
    assert result.ids([survivor], drules) == ["L3"]  # the owned one keeps the customer
    rows[2]["owner"] = None
    result = find_duplicates(sheet(rows), drules)
    assert result.ids([result.clusters.merges[0][0]], drules) == ["L2"]  # most advanced status
    rows[1]["status"] = "new"
    result = find_duplicates(sheet(rows), drules)
    assert result.ids([result.clusters.merges[0][0]], drules) == ["L1"]  # earliest


def test_merge_fills_blanks_joins_and_keeps_every_row(drules):
    rows = [
        {"company": "智联科技有限公司", "phone": "13812345678", "contact": "王伟", "source": "website",
         "created_at": pd.Timestamp("2026-01-01"), "tags": "价格敏感", "owner": "李娜"},
        {"company": "上海智联科技股份有限公司", "phone": "+86 138 1234 5678", "contact": "王伟", "source": "trade_show",
         "source_detail": "A12", "email": "wang@zhilian.cn", "city": "上海", "tags": "竞品对比中;价格敏感",
         "created_at": pd.Timestamp("2026-02-01")},
    ]  # fmt: skip
    frame = sheet(rows)
    before = frame.copy(deep=True)
    result = find_duplicates(frame, drules)
    out, log = merge(frame, result, drules, now=NOW, source_labels={"trade_show": "展会"})
    pd.testing.assert_frame_equal(frame, before)  # the sheet given is not changed in place
    assert len(out) == 2 and out.index.tolist() == frame.index.tolist()
    survivor = out.loc[2]
    assert survivor["owner"] == "李娜"
    assert survivor["email"] == "wang@zhilian.cn" and survivor["city"] == "上海"  # filled blanks
    assert survivor["company"] == "智联科技有限公司"  # its own values stay
    assert survivor["tags"] == "价格敏感;竞品对比中"
    assert survivor["source_detail"] == "展会: A12"
    merged = out.loc[3]
    assert merged["duplicate_of"] == "L1"
    assert merged["company"] == "上海智联科技股份有限公司"  # the merged row keeps its own data
    assert set(log["column"]) >= {"email", "city", "tags", "source_detail", "duplicate_of"}
    assert (log["command"] == "dedupe").all()


def test_an_outcome_fills_the_survivor_only_from_a_record_in_its_status(drules):
    base = {"company": "智联科技有限公司", "phone": "13812345678", "contact": "王伟"}
    lost_2025 = {**base, "status": "lost", "closed_at": pd.Timestamp("2025-09-21 16:00"),
                 "deal_amount": 2.4, "lost_reason": "价格太高", "city": "上海",
                 "created_at": pd.Timestamp("2025-06-20")}  # fmt: skip
    open_lead = {**base, "status": "new", "owner": "陈静", "created_at": pd.Timestamp("2026-02-02")}
    out, log = merge(
        sheet([open_lead, lost_2025]),
        find_duplicates(sheet([open_lead, lost_2025]), drules),
        drules,
        now=NOW,
    )
    survivor = out.loc[2]
    assert (survivor["lead_id"], survivor["status"], survivor["city"]) == ("L1", "new", "上海")
    assert pd.isna(survivor["closed_at"]) and pd.isna(survivor["deal_amount"])
    assert pd.isna(survivor["lost_reason"])
    assert not set(log["column"]) & {"closed_at", "deal_amount", "lost_reason"}
    # two lost records of one customer: the reason is the survivor's own kind of fact
    both_lost = [{**lost_2025, "lost_reason": None, "owner": "陈静"}, lost_2025]
    out, _ = merge(sheet(both_lost), find_duplicates(sheet(both_lost), drules), drules, now=NOW)
    assert out.loc[2, "lost_reason"] == "价格太高"


def test_already_merged_rows_are_left_alone(drules):
    rows = [
        {"company": "智联科技", "phone": "13812345678"},
        {"company": "智联科技", "phone": "13812345678", "duplicate_of": "L9"},
    ]
    assert find_duplicates(sheet(rows), drules).clusters.merges == []


def test_import_links_a_returning_customer_to_its_owner(workspace, tmp_path):
    ctx = pipeline.context(as_of="2026-03-10T09:00", cwd=workspace)
    first = tmp_path / "web.csv"
    first.write_text(
        "公司名称,联系人,手机号\n上海智联科技有限公司,王伟,13812345678\n", encoding="utf-8"
    )
    pipeline.import_files(ctx, [first])

    def assign(book):
        book.leads["owner"] = book.leads["owner"].astype(object)
        book.leads.loc[book.leads.index[0], "owner"] = "李娜"

    pipeline.update_book(ctx, "test", assign)
    show = tmp_path / "show.csv"
    show.write_text(
        "客户名称,联系人,电话,展位号\n智联科技（上海）股份有限公司,王伟,+86 138-1234-5678,A12\n新客户有限公司,赵六,13900009999,B1\n",
        encoding="utf-8",
    )
    result = pipeline.import_files(ctx, [show], source="展会")
    assert result.totals["linked"] == 1
    leads = pipeline.load(ctx).leads.set_index("lead_id")
    assert leads.loc["LX2026000002", "duplicate_of"] == "LX2026000001"
    assert pd.isna(leads.loc["LX2026000003", "duplicate_of"])
    assert leads.loc["LX2026000001", "owner"] == "李娜"
    assert "展会" in leads.loc["LX2026000001", "source_detail"]


def test_review_round_trip_and_keep_apart_is_remembered(workspace, cli, tmp_path):
    src = tmp_path / "in.csv"
    # same company name and city, a full name and a surname + title, different numbers: uncertain
    src.write_text(
        "公司名称,联系人,手机号,所在城市\n智联科技有限公司,王伟,13812345678,上海\n智联科技有限公司,王先生,13912345678,上海\n",
        encoding="utf-8",
    )
    assert cli("import", src, "--as-of", "2026-03-10", "-q").exit_code == 0
    review = tmp_path / "review.xlsx"
    result = cli("dedupe", "--review", review, "--as-of", "2026-03-10")
    assert result.exit_code == 0 and "1 uncertain pair(s) written" in result.stderr
    wb = openpyxl.load_workbook(review)  # a person edits it (in another program)
    ws = wb.active
    assert [c.value for c in ws[1]][:5] == ["决定", "得分", "原因", "left_id", "right_id"]
    ws.cell(2, 1, "分开")
    wb.save(review)
    assert cli("dedupe", "--apply-review", review, "--as-of", "2026-03-10", "-q").exit_code == 0
    again = cli("dedupe", "--review", tmp_path / "again.xlsx", "--as-of", "2026-03-10")
    assert "0 uncertain pair(s)" in again.stderr
    book = pipeline.load(pipeline.context(cwd=workspace))
    assert book.sheets["decisions"]["decision"].tolist() == ["keep_apart"]


def test_review_decision_merge_merges(workspace, cli, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        "公司名称,联系人,手机号,所在城市\n智联科技有限公司,王伟,13812345678,上海\n智联科技有限公司,王先生,13912345678,上海\n",
        encoding="utf-8",
    )
    cli("import", src, "--as-of", "2026-03-10", "-q")
    review = tmp_path / "review.xlsx"
    cli("dedupe", "--review", review, "-q")
    wb = openpyxl.load_workbook(review)
    wb.active.cell(2, 1, "合并")
    wb.save(review)
    result = cli("dedupe", "--apply-review", review, "--json")
    assert result.exit_code == 0
    leads = pipeline.load(pipeline.context(cwd=workspace)).leads
    assert leads["duplicate_of"].tolist()[1] == "LX2026000001"


def test_bad_review_file_is_a_clear_error(workspace, cli, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bookio.write_table(bad, "x", pd.DataFrame({"a": [1]}))
    result = cli("dedupe", "--apply-review", bad)
    assert result.exit_code == 2 and "not a leadkit review file" in result.stderr


def test_dry_run_lists_merges_and_writes_nothing(workspace, cli, data_dir):
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-10", "-q")
    book = workspace / "leads.xlsx"

    def add_copy(b):
        first = b.leads.iloc[[0]].copy()
        first["lead_id"] = "MANUAL1"
        b.append("leads", first)

    pipeline.update_book(pipeline.context(cwd=workspace), "test", add_copy)
    before = book.read_bytes()
    result = cli("dedupe", "--dry-run", "--json")
    assert result.exit_code == 0
    import json

    payload = json.loads(result.stdout)
    assert payload["clusters"] == [{"survivor": "LX2026000001", "merged": ["MANUAL1"]}]
    assert book.read_bytes() == before


def test_dedupe_on_the_samples_keeps_every_row(tmp_path):
    from leadkit import demo

    outcome = demo.run(tmp_path / "d", as_of="2026-03-01T09:00")
    leads = outcome.leads
    imported = sum(r.totals["imported"] for _, r in outcome.imports)
    assert len(leads) == imported  # nothing deleted
    merged = leads[leads["duplicate_of"].notna()]
    assert len(merged) >= 10
    survivors = leads.set_index("lead_id").loc[merged["duplicate_of"]]
    # each merged row is the same phone as its survivor
    assert (merged["phone"].to_numpy() == survivors["phone"].to_numpy()).all()


def test_rule_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "dedupe.yaml"
    bad.write_text(
        "fields:\n  - {name: phone, column: phone, comparator: phonetic, agree: 0.9}\n"
        "blocking: [nosuch]\nmatch: 0.5\nreview: 0.8\nstrong: 0.9\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as exc:
        load_yaml_model(bad, DedupeRules)
    text = str(exc.value)
    assert "line 2" in text and "comparator" in text


def test_generic_sheet_of_people(workspace, tmp_path, cli):
    """The engine on a user's own sheet: a customer list of people with addresses and birth dates."""
    ctx = pipeline.context(cwd=workspace)

    def add_people(book):
        book.user_sheets["客户名单"] = pd.DataFrame({
            "编号": ["P1", "P2", "P3"], "姓名": ["王伟", "王 伟", "李娜"],
            "地址": ["上海市浦东新区张江路1号", "上海浦东新区张江路1号", "北京市海淀区"],
            "生日": pd.to_datetime(["1990-05-01", "1990-05-01", "1988-01-01"]),
        })  # fmt: skip
        book.order.append("客户名单")

    pipeline.update_book(ctx, "test", add_people)
    rules = tmp_path / "people.yaml"
    rules.write_text(
        Path(__file__).with_name("data").joinpath("dedupe_people.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    result = cli("dedupe", "--rules", rules, "--json")
    assert result.exit_code == 0, result.stderr
    people = pipeline.load(pipeline.context(cwd=workspace)).user_sheets["客户名单"]
    assert people["重复于"].tolist()[:3] == [None, "P1", None] or people["重复于"].fillna(
        ""
    ).tolist() == ["", "P1", ""]


def test_join_by_cluster_keeps_each_clusters_values_in_order():
    """Interleaved clusters: each gets only its own values, in the order they came."""
    joined = _join_by_cluster(
        np.array([1, 0, 1, 0, 2]), pd.Series(["a", "b", "c", "d", "e"], dtype=object)
    )
    assert joined.sort_index().to_dict() == {0: "b;d", 1: "a;c", 2: "e"}


def test_a_merged_lead_that_became_complete_is_complete(workspace, cli, tmp_path):
    # The survivor is 基本完整 on its own; the merge fills industry, need, budget, timeline and
    # size from its duplicate, so 信息完整度 must follow (it was only computed at import).
    src = tmp_path / "in.csv"
    src.write_text(
        "企业名称,联系人,联系电话,获取时间\n智联科技有限公司,王伟,13812345678,2026-03-01\n",
        encoding="utf-8",
    )
    cli("import", src, "--as-of", "2026-03-10", "-q")
    leads = pipeline.load(pipeline.context(cwd=workspace)).leads
    assert leads["completeness"].tolist() == ["basic"]
    more = tmp_path / "more.csv"
    more.write_text(
        "企业名称,联系人,联系电话,获取时间,所属行业,需求描述,预算(万元),计划采购时间,员工数\n"
        "智联科技有限公司,王伟,13812345678,2026-03-05,制造业,MES 系统,50,3个月内,200\n",
        encoding="utf-8",
    )
    cli("import", more, "--as-of", "2026-03-10", "-q")
    result = cli("dedupe", "--as-of", "2026-03-10", "--json")
    assert result.exit_code == 0, result.stderr
    leads = pipeline.load(pipeline.context(cwd=workspace)).leads
    survivor = leads[leads["duplicate_of"].isna()]
    assert len(survivor) == 1 and len(leads) == 2
    assert survivor["industry"].iloc[0] == "制造业"
    assert survivor["completeness"].iloc[0] == "complete"


def _contact_rules(**contact) -> DedupeRules:
    field = {"name": "contact", "column": "contact", "comparator": "fuzzy", "agree_at": 95}
    return DedupeRules(
        fields=[field | contact | {"agree": 1.0}], blocking=["contact"], match=0.8, review=0.4,
        strong=1.0,
    )  # fmt: skip


def _contact_level(rules: DedupeRules, a: str, b: str) -> int:
    prepared = prepare(sheet([{"contact": a}, {"contact": b}]), rules)
    return int(compare(prepared, rules, np.array([0]), np.array([1]))["contact"].iloc[0])


def test_token_scorers_see_tokens():
    # the README's token scorer: word order does not matter once the words are kept apart
    token = _contact_rules(scorer="token_sort_ratio")
    assert _contact_level(token, "westbrook jake", "Jake  Westbrook") == AGREE
    # a character scorer compares the text with whitespace dropped, as before
    assert (
        _contact_level(_contact_rules(scorer="ratio"), "westbrook jake", "jake westbrook")
        == DISAGREE
    )
    assert _contact_level(_contact_rules(scorer="ratio"), "Wang Wei", "wangwei") == AGREE


def test_normalize_says_which_characters_are_dropped():
    dots = _contact_rules(scorer="ratio", normalize=r"[\s.·]")
    assert _contact_level(dots, "J. R. Smith", "jr smith") == AGREE
    assert _contact_level(dots, "约翰·史密斯", "约翰史密斯") == AGREE
    # nothing dropped: a space is a difference
    assert _contact_level(_contact_rules(normalize="x^", agree_at=100), "ab c", "abc") == DISAGREE
    # a value normalize empties is blank, not equal to every other empty value
    assert _contact_level(dots, "...", "·") == MISSING
    with pytest.raises(ValueError, match="normalize"):
        _contact_rules(normalize="[unclosed")


def _same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert pd.Series(a[key]).equals(pd.Series(b[key])), key


def test_prepare_reuses_only_unchanged_rows(drules):
    rows = [
        {"company": "星河科技有限公司", "contact": "张三", "phone": "138-0013-8000", "email": "zs@xinghe.cn", "city": "上海"},
        {"company": "星河科技", "contact": "张 三", "phone": "13800138000", "email": None, "city": None},
        {"company": "制造有限公司", "contact": "王先生", "phone": "13956781234", "email": "WW@zhizao.cn", "city": "苏州"},
        {"company": "(北京)云启数据", "contact": "陈静", "phone": None, "email": "cj@qq.com", "city": "北京"},
    ]  # fmt: skip
    before = sheet(rows)
    earlier = find_duplicates(before, drules).prepared
    assert earlier is not None
    # as after a merge: one row filled in, one marked merged (inactive), one row new
    after = pd.concat([before, sheet([{"company": "晨星智能", "contact": "周明"}]).set_axis([6])])
    after.loc[3, "email"] = "zs@xinghe.cn"
    after.loc[5, "duplicate_of"] = "L1"
    records = after[after["duplicate_of"].isna()]
    reused = prepare(records, drules, earlier)
    _same_arrays(reused, prepare(records, drules))
    assert reused["email"][1] == "zs@xinghe.cn"  # the changed row was prepared again
    # the reused search finds what a fresh one finds
    again = find_duplicates(after, drules, reuse=earlier)
    fresh = find_duplicates(after, drules)
    assert again.clusters.merges == fresh.clusters.merges
    pd.testing.assert_frame_equal(again.scored, fresh.scored)
    # unchanged rows really come from the earlier arrays (marked here), and only for its rules
    marked = {k: v.copy() for k, v in earlier.arrays.items()}
    marked["company_key"][0] = "marked"
    earlier.arrays = marked
    assert prepare(records, drules, earlier)["company_key"][0] == "marked"
    other = drules.model_copy(update={"strong": drules.strong + 0.01})
    assert prepare(records, other, earlier)["company_key"][0] != "marked"


SWITCHBOARD = {
    "company": "锦程思文化传媒（泉州）有限责任公司",
    "phone": "02144581639",
    "city": "泉州",
}


def test_a_record_matching_two_colleagues_is_merged_with_neither(drules):
    # 孙伟 and 杨平芬 share the switchboard; the third record has no contact and no e-mail, so it
    # could be either of them: a person decides, and the two colleagues stay apart
    rows = [
        {**SWITCHBOARD, "contact": "孙伟", "email": "jingyan4@qq.com"},
        {**SWITCHBOARD, "contact": "杨平芬", "email": "tao330@163.com"},
        {**SWITCHBOARD, "contact": None, "email": None},
    ]
    result = find_duplicates(sheet(rows), drules)
    assert result.clusters.merges == []
    review = result.clusters.review
    assert sorted(zip(review["left"], review["right"], strict=True)) == [(0, 2), (1, 2)]
    assert set(review["why"]) == {"matches two records that are different people"}
    # without the conflict rule the three are one cluster
    loose = drules.model_copy(update={"conflict": []})
    assert [sorted([s, *o]) for s, o in find_duplicates(sheet(rows), loose).clusters.merges] == [
        [0, 1, 2]
    ]


def test_a_colleague_of_a_merged_customer_leaves_the_review_list(drules):
    # the blank-phone record is 孙伟's (same mailbox); its pair with his colleague 杨平芬 (same
    # company and mail domain) would be "uncertain", but her contact disagrees with his
    rows = [
        {**SWITCHBOARD, "contact": "孙伟", "email": "jingyan4@li3016.cn"},
        {**SWITCHBOARD, "contact": "杨平芬", "email": "tao330@li3016.cn"},
        {**SWITCHBOARD, "contact": None, "phone": None, "email": "jingyan4@li3016.cn"},
    ]
    result = find_duplicates(sheet(rows), drules)
    assert result.clusters.merges == [(0, [2])]
    assert result.clusters.review.empty
    loose = drules.model_copy(update={"conflict": []})
    kept = find_duplicates(sheet(rows), loose).clusters.review
    assert list(zip(kept["left"], kept["right"], strict=True)) == [(1, 2)]


def test_no_shared_phone_or_email_is_evidence_against(drules):
    # one common name at two companies of one trade name in two cities, nothing else in common
    rows = [
        {"company": "思齐泓智能制造有限责任公司", "contact": "郑娟", "phone": "18901846457",
         "email": "haohua24@163.com", "city": "南通"},
        {"company": "济南思齐泓智能制造股份有限公司", "contact": "郑娟", "phone": "18499516131",
         "email": "haofang83@sina.com", "city": "济南"},
    ]  # fmt: skip
    _, score = levels_of(drules, rows, "company")
    _, without = levels_of(drules.model_copy(update={"no_shared": None}), rows, "company")
    assert score == pytest.approx(without - 0.3)
    assert score < drules.review <= without
    # one channel missing is no evidence either way
    rows[1]["email"] = None
    assert levels_of(drules, rows, "company")[1] == pytest.approx(without)


def test_conflict_and_no_shared_name_known_fields(drules):
    data = drules.model_dump()
    with pytest.raises(ValueError, match="'person' is not one of the fields"):
        DedupeRules.model_validate({**data, "conflict": ["person"]})
    with pytest.raises(ValueError, match="'fax' is not one of the fields"):
        DedupeRules.model_validate(
            {**data, "no_shared": {"fields": ["phone", "fax"], "points": -1}}
        )


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        # 简称: the distinctive part of the long name
        ({"company": "德兴公司"}, {"company": "德兴教育科技有限公司"}, PARTIAL),
        ({"company": "德兴"}, {"company": "德兴教育科技有限公司"}, PARTIAL),
        ({"company": "西安嘉迅普"}, {"company": "嘉迅普文化传媒(西安)有限责任公司"}, PARTIAL),
        # not a 简称: the short one is another word, or the start of another company's
        ({"company": "兴德公司"}, {"company": "德兴教育科技有限公司"}, DISAGREE),
        ({"company": "华信科技有限公司"}, {"company": "华信终端有限公司"}, DISAGREE),
        # a region no list knows, named by the record's own city
        (
            {"company": "太原卓远致", "city": "太原"},
            {"company": "卓远致餐饮管理（太原）集团有限公司"},
            PARTIAL,
        ),
        (
            {"company": "太原卓远致餐饮管理有限公司", "city": "太原"},
            {"company": "卓远致餐饮管理集团有限公司"},
            AGREE,
        ),
        # one record's city never makes two equal names differ
        (
            {"company": "洛阳博雅金生物医药集团有限公司", "city": "洛阳"},
            {"company": "洛阳博雅金生物医药集团有限公司"},
            AGREE,
        ),
        # the own place is dropped only where two characters of name remain
        ({"company": "太原宏", "city": "太原"}, {"company": "宏"}, DISAGREE),
    ],
)
def test_short_names_and_own_place(drules, a, b, level):
    assert levels_of(drules, [a, b], "company")[0] == level


def test_short_name_with_phone_and_contact_is_merged(drules):
    rows = [
        {"company": "德兴教育科技有限公司", "contact": "王伟", "phone": "13812345678"},
        {"company": "德兴公司", "contact": "王伟", "phone": "138-1234-5678"},
    ]
    assert find_duplicates(sheet(rows), drules).clusters.merges == [(0, [1])]


def test_strong_ties_to_a_direct_match_join_a_sparse_survivor(drules):
    # the survivor (first row) has no phone or e-mail: one ordinary match to the original;
    # the copies are strongly tied to the original, so they join too instead of waiting for review
    full = {"company": "禾丰正物流股份有限公司", "contact": "郑萍", "phone": "055168320824",
            "email": "leili9@qq.com"}  # fmt: skip
    rows = [
        {"company": "禾丰正物流股份有限公司", "contact": "郑萍", "city": "兰州"},
        {**full, "city": "兰州"},
        {**full, "company": "禾丰正物流股有份限公司"},  # a slip in the legal form: no name match
    ]
    result = find_duplicates(sheet(rows), drules)
    assert result.clusters.merges == [(0, [1, 2])]
    assert result.clusters.review.empty


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        # 连云港 is where 138 1234 xxxx was issued: import's guess for a blank city, no evidence
        (
            {"phone": "13812345678", "city": "连云港"},
            {"phone": "13900001111", "city": "上海"},
            MISSING,
        ),
        ({"phone": "13812345678", "city": "连云港市"}, {"city": "上海"}, MISSING),
        # a city the mobile does not explain was written by someone: evidence
        ({"phone": "13812345678", "city": "南京"}, {"city": "上海"}, DISAGREE),
        # a landline's area code is where the company is: a city beside it is no guess
        ({"phone": "021-44581639", "city": "上海"}, {"city": "北京"}, DISAGREE),
        ({"city": "上海"}, {"city": "上海"}, AGREE),
    ],
)
def test_a_city_guessed_from_a_mobile_is_no_evidence(drules, a, b, level):
    assert levels_of(drules, [a, b], "city")[0] == level


def test_places_and_guessed_from_belong_to_their_comparators(drules):
    data = drules.model_dump()
    fields = data["fields"]
    bad = [{**f, "places": "city"} if f["name"] == "contact" else f for f in fields]
    with pytest.raises(ValueError, match="places and regions_apart are for the company comparator"):
        DedupeRules.model_validate({**data, "fields": bad})
    bad = [{**f, "guessed_from": "phone"} if f["name"] == "company" else f for f in fields]
    with pytest.raises(ValueError, match="guessed_from is for the exact and normalized"):
        DedupeRules.model_validate({**data, "fields": bad})


def test_a_pair_already_in_one_cluster_is_not_listed(drules):
    # the phone-only and the e-mail-only record both match the full one; between them only the
    # company agrees ("uncertain" on its own), but they are merged into one customer anyway
    rows = [
        {"company": "禾丰正物流股份有限公司", "contact": "郑萍", "phone": "13812345678",
         "email": "leili9@qq.com"},
        {"company": "禾丰正物流股份有限公司", "phone": "13812345678"},
        {"company": "禾丰正物流股份有限公司", "email": "leili9@qq.com"},
    ]  # fmt: skip
    result = find_duplicates(sheet(rows), drules)
    assert result.clusters.merges == [(0, [1, 2])]
    pair = result.scored[(result.scored["left"] == 1) & (result.scored["right"] == 2)]
    assert drules.review <= pair["score"].iloc[0] < drules.match
    assert result.clusters.review.empty


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        # one 字号 registered in two regions is two companies, however close the keys
        ({"company": "杭州方圆云电子商务有限公司"}, {"company": "福州市方圆云电子商务有限公司"}, DISAGREE),
        ({"company": "正源锦建筑装饰（沈阳）有限公司"}, {"company": "厦门正源锦建筑装饰有限公司"}, DISAGREE),
        # the region named by the record's own city, where no list knows it
        ({"company": "太原卓远致餐饮管理有限公司", "city": "太原"},
         {"company": "卓远致餐饮管理（绵阳）有限公司"}, DISAGREE),
        # the same region written two ways, or a region on one side only, is no conflict
        ({"company": "嘉迅文化传媒（嘉兴）有限公司"}, {"company": "嘉兴市嘉迅文化传媒有限公司"}, AGREE),
        ({"company": "上海智联科技有限公司"}, {"company": "智联科技股份有限公司"}, AGREE),
    ],
)  # fmt: skip
def test_names_in_two_regions_are_two_companies(drules, a, b, level):
    assert levels_of(drules, [a, b], "company")[0] == level
    if level == DISAGREE:
        loose = drules.model_copy(
            update={
                "fields": [
                    f.model_copy(update={"regions_apart": False}) if f.name == "company" else f
                    for f in drules.fields
                ]
            }
        )
        assert levels_of(loose, [a, b], "company")[0] != DISAGREE


def test_a_record_matching_one_colleague_clearly_better_joins_that_one(drules):
    # the switchboard and the company match both; 孙伟's own mailbox says whose record it is
    rows = [
        {**SWITCHBOARD, "contact": "孙伟", "email": "jingyan4@li3016.cn"},
        {**SWITCHBOARD, "contact": "杨平芬", "email": "tao330@li3016.cn"},
        {**SWITCHBOARD, "contact": None, "email": "jingyan4@li3016.cn"},
    ]
    result = find_duplicates(sheet(rows), drules)
    assert result.clusters.merges == [(0, [2])]
    assert result.clusters.review.empty
    # with a margin wider than the gap (2.35 against 1.55) a person decides
    wide = drules.model_copy(update={"conflict_margin": 1.0})
    unsure = find_duplicates(sheet(rows), wide)
    assert unsure.clusters.merges == []
    assert sorted(
        zip(unsure.clusters.review["left"], unsure.clusters.review["right"], strict=True)
    ) == [
        (0, 2),
        (1, 2),
    ]


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        # a name half in English beside a Chinese one: its Han part is the 简称 of the other
        ("杭州 瀚海 Information Technology Co., Ltd.", "杭州瀚海信息技术有限公司", PARTIAL),
        ("瀚海 Information Technology", "瀚海信息技术有限公司", PARTIAL),
        ("杭州 瀚海 Information Technology Co., Ltd.", "杭州星途信息技术有限公司", DISAGREE),
        # no Han at all beside a Chinese name: characters cannot compare them, no evidence
        ("Acme Co., Ltd.", "艾克美科技有限公司", MISSING),
        ("Acme Co., Ltd.", "ACME Inc.", AGREE),  # both in Latin letters: compared as they are
    ],
)
def test_an_english_name_beside_a_chinese_one(drules, a, b, level):
    assert levels_of(drules, [{"company": a}, {"company": b}], "company")[0] == level


def test_the_same_mailbox_with_an_english_company_name_is_merged(drules):
    rows = [
        {"company": "杭州瀚海信息技术有限公司", "contact": "王伟", "email": "wangwei@hanhai.cn"},
        {"company": "Acme Information Technology Co., Ltd.", "contact": "王伟",
         "email": "WangWei@hanhai.cn"},
    ]  # fmt: skip
    assert find_duplicates(sheet(rows), drules).clusters.merges == [(0, [1])]
