from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from leadkit import pipeline
from leadkit.rules.followup import FollowupRules
from leadkit.steps.followup import apply_activities, due_items

RULES = FollowupRules(
    cadence_days={"S": 1, "A": 2, "B": 7, "C": 7}, due_soon_hours=4, escalate_after_hours=4
)
NOW = dt.datetime(2026, 3, 10, 9, 0)


def leads(rows):
    frame = pd.DataFrame(rows)
    frame["lead_id"] = [f"L{i + 1}" for i in range(len(frame))]
    defaults = {"owner": "李娜", "status": "new", "grade": "B", "duplicate_of": None, "company": "甲", "contact": "王",
                "phone": "13812345678", "first_contact_at": None, "last_contact_at": None, "next_follow_up": None,
                "closed_at": None, "first_contact_due": None}  # fmt: skip
    for k, v in defaults.items():
        if k not in frame:
            frame[k] = [v] * len(frame)
    return frame


def acts(rows):
    frame = pd.DataFrame(rows)
    for k in ("date", "lead_id", "status_after", "next_follow_up"):
        if k not in frame:
            frame[k] = None
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def test_activities_set_contacts_status_and_cadence():
    out = apply_activities(
        leads([{"grade": "S"}, {"grade": "B"}, {}]),
        acts([
            {"date": "2026-03-02 10:00", "lead_id": "L1", "status_after": "contacted"},
            {"date": "2026-03-05 15:00", "lead_id": "L1", "status_after": "qualified"},
            {"date": "2026-03-03 09:00", "lead_id": "L2", "next_follow_up": "2026-03-20 10:00"},
            {"date": "2026-03-04 09:00", "lead_id": "L9"},
        ]), RULES, now=NOW,
    )  # fmt: skip
    l1, l2, l3 = (out.leads.iloc[i] for i in range(3))
    assert (l1["first_contact_at"], l1["last_contact_at"]) == (
        pd.Timestamp("2026-03-02 10:00"),
        pd.Timestamp("2026-03-05 15:00"),
    )
    assert l1["status"] == "qualified"
    assert l1["next_follow_up"] == pd.Timestamp("2026-03-06 15:00")  # S: daily
    assert l2["status"] == "contacted"  # contacted, though nobody said so
    assert l2["next_follow_up"] == pd.Timestamp("2026-03-20 10:00")  # the rep's own date wins
    assert pd.isna(l3["first_contact_at"]) and l3["status"] == "new"
    assert out.unknown["lead_id"].tolist() == ["L9"]  # reported, not dropped
    assert set(out.log["column"]) >= {"first_contact_at", "status", "next_follow_up"}


@pytest.mark.parametrize(("grade", "days"), [("S", 1), ("A", 2), ("B", 7), ("C", 7), (None, 7)])
def test_cadence_by_grade(grade, days):
    out = apply_activities(
        leads([{"grade": grade}]),
        acts([{"date": "2026-03-02 10:00", "lead_id": "L1"}]),
        RULES,
        now=NOW,
    )
    assert out.leads["next_follow_up"].iloc[0] == pd.Timestamp("2026-03-02 10:00") + pd.Timedelta(
        days=days
    )


def test_won_closes_the_lead_and_stops_follow_ups():
    out = apply_activities(
        leads([{}]),
        acts([{"date": "2026-03-08 16:00", "lead_id": "L1", "status_after": "won"}]),
        RULES,
        now=NOW,
    )
    lead = out.leads.iloc[0]
    assert lead["status"] == "won" and lead["closed_at"] == pd.Timestamp("2026-03-08 16:00")
    assert pd.isna(lead["next_follow_up"])


def test_due_lists_by_urgency():
    frame = leads([
        {"first_contact_due": pd.Timestamp("2026-03-09 09:00"), "grade": "S"},  # overdue 24 h: escalate
        {"first_contact_due": pd.Timestamp("2026-03-10 11:00")},  # due in 2 h
        {"first_contact_at": pd.Timestamp("2026-03-01"), "next_follow_up": pd.Timestamp("2026-03-10 15:00")},
        {"first_contact_at": pd.Timestamp("2026-03-01"), "next_follow_up": pd.Timestamp("2026-03-08 10:00")},
        {"first_contact_at": pd.Timestamp("2026-03-01"), "next_follow_up": pd.Timestamp("2026-03-12 10:00")},
        {"grade": "A", "first_contact_due": pd.Timestamp("2026-03-11 10:00")},
        {"status": "won", "first_contact_due": pd.Timestamp("2026-03-01")},
    ])  # fmt: skip
    items = due_items(frame, RULES, now=NOW)
    assert items[["kind", "lead_id"]].values.tolist() == [
        ["first_contact_overdue", "L1"], ["follow_up_overdue", "L4"], ["first_contact_soon", "L2"],
        ["follow_up_today", "L3"], ["untouched_top", "L6"],
    ]  # fmt: skip
    assert items["escalate"].tolist() == [True, False, False, False, False]
    assert items["hours_overdue"].iloc[0] == 24


def test_log_and_due_cli(workspace, cli, data_dir):
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-09T09:00", "-q")
    cli("assign", "--by", "load", "--as-of", "2026-03-09T09:00", "-q")
    result = cli(
        "log",
        "LX2026000001",
        "--note",
        "电话沟通",
        "--status",
        "需求明确",
        "--channel",
        "电话",
        "--as-of",
        "2026-03-09T10:00",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["status"] == "qualified" and payload["next_follow_up"].startswith(
        "2026-03-16 10:00"
    )
    book = pipeline.load(pipeline.context(cwd=workspace))
    assert book.sheets["activities"]["summary"].tolist() == ["电话沟通"]
    assert book.leads.set_index("lead_id").loc["LX2026000001", "status"] == "qualified"
    assert cli("log", "LX2026000001", "--note", "x", "--status", "nonsense").exit_code == 2
    # C leads assigned Monday 09:00 have 24 working hours: due Wednesday 15:00
    due = cli("due", "--as-of", "2026-03-12T09:00", "--json", "--out", workspace / "due.xlsx")
    items = json.loads(due.stdout)["items"]
    assert {i["lead_id"] for i in items if i["kind"] == "first_contact_overdue"} == {
        "LX2026000002",
        "LX2026000003",
        "LX2026000004",
    }
    assert (workspace / "due.xlsx").exists()


def test_unknown_activity_is_reported_by_due(workspace, cli, data_dir):
    cli("import", data_dir / "web_small.csv", "-q")

    def add(book):
        book.append(
            "activities",
            pd.DataFrame(
                [{"date": pd.Timestamp("2026-03-01"), "lead_id": "NOPE1", "summary": "?"}]
            ),
        )

    pipeline.update_book(pipeline.context(cwd=workspace), "test", add)
    result = cli("due")
    assert "NOPE1" in result.stderr and result.exit_code == 0


# ---------------------------------------------------------------------------------------------
# Follow-ups typed by hand into 跟进记录 (saved by LibreOffice) count for every command

HAND_TYPED = [
    # (跟进时间, 线索编号, 跟进方式, 跟进后状态, 下次跟进时间): out of order, partial, zh and en,
    # text and real dates, an ID with a space and lower case
    ("2026/3/3 10:30", "lx2026000001 ", "电话", None, None),
    (dt.datetime(2026, 3, 2, 15, 0), "LX2026000002", "Email", "Qualified", "2026-03-20"),
    (dt.datetime(2026, 3, 2, 11, 0), "LX2026000002", None, "初步接洽", None),
    ("2026-03-03 16:00", "LX2026000003", "面谈", "成交", None),
]


def type_by_hand(ctx, rows, soffice, tmp_path):
    """Add rows to the book's 跟进记录 sheet as a person would, then let LibreOffice save it."""
    import shutil

    import openpyxl

    book = ctx.book_path
    wb = openpyxl.load_workbook(book)
    ws = wb["跟进记录"]
    headers = [c.value for c in ws[1]]
    for when, lead_id, channel, status, planned in rows:
        cells = {"跟进时间": when, "线索编号": lead_id, "跟进方式": channel,
                 "跟进后状态": status, "下次跟进时间": planned, "沟通内容": "打过电话"}  # fmt: skip
        ws.append([cells.get(h) for h in headers])
    typed = tmp_path / "typed" / book.name
    typed.parent.mkdir(parents=True)
    wb.save(typed)
    saved = soffice(typed, "xlsx", tmp_path / "lo")
    shutil.copyfile(saved, book)


@pytest.fixture
def hand_book(workspace, data_dir, soffice, tmp_path):
    """Four leads assigned Monday 2026-03-02 09:00; three were worked, typed in by hand."""
    ctx = pipeline.context(as_of="2026-03-02T09:00", cwd=workspace)
    pipeline.import_files(ctx, [data_dir / "web_small.csv"])
    pipeline.score(ctx)
    pipeline.assign(ctx, "load")
    type_by_hand(ctx, HAND_TYPED, soffice, tmp_path)
    return workspace


def test_recycle_reads_hand_typed_follow_ups(hand_book):
    # Friday: the untouched lead's first contact (due Wed 15:00 + 24 h grace) is overdue; the
    # three leads reps called are not
    ctx = pipeline.context(as_of="2026-03-06T09:00", cwd=hand_book)
    found = pipeline.recycle(ctx)
    assert found.recycle["lead_id"].tolist() == ["LX2026000004"]
    leads = pipeline.load(ctx).leads.set_index("lead_id")
    assert leads.loc["LX2026000001", "first_contact_at"] == pd.Timestamp("2026-03-03 10:30")
    assert leads.loc["LX2026000002", "status"] == "qualified"
    assert leads.loc["LX2026000002", "next_follow_up"] == pd.Timestamp("2026-03-20")
    assert leads.loc["LX2026000003", "status"] == "won"
    assert leads["recycle_count"].fillna(0).tolist() == [0, 0, 0, 1]


def test_score_keeps_the_grade_of_a_lead_won_by_hand(hand_book):
    ctx = pipeline.context(as_of="2026-03-06T09:00", cwd=hand_book)
    assert pipeline.score(ctx).count("closed") == 1


def test_due_and_report_read_hand_typed_ids(hand_book):
    ctx = pipeline.context(as_of="2026-03-05T09:00", cwd=hand_book)
    outcome = pipeline.due(ctx)
    assert outcome.unknown_activities.empty
    first = outcome.items[outcome.items["kind"].str.startswith("first_contact")]
    assert first["lead_id"].tolist() == ["LX2026000004"]
    rep = pipeline.report(ctx, start="2026-03-01", end="2026-03-05")
    assert rep.metrics["contacted"] == 3


def test_assign_and_claim_read_hand_typed_closes(workspace, data_dir, soffice, tmp_path):
    (workspace / "rules" / "routing.yaml").write_text(
        "team:\n  - {name: 甲, capacity: 1}\n  - {name: 乙, capacity: 1}\n"
        "sla_hours: {S: 2, A: 2, B: 4, C: 24}\n",
        encoding="utf-8",
    )
    ctx = pipeline.context(as_of="2026-03-02T09:00", cwd=workspace)
    pipeline.import_files(ctx, [data_dir / "web_small.csv"])
    assert len(pipeline.assign(ctx, "load").assignment.owners) == 2
    owners = pipeline.load(ctx).leads.set_index("lead_id")["owner"]
    won_by, other = owners["LX2026000001"], owners["LX2026000002"]
    type_by_hand(ctx, [("2026-03-02 10:00", "LX2026000001", "电话", "成交", None)], soffice,
                 tmp_path / "1")  # fmt: skip
    later = pipeline.context(as_of="2026-03-02T11:00", cwd=workspace)
    # the rep who won his lead has room for one more
    assert pipeline.assign(later, "load").assignment.owners.tolist() == [won_by]
    type_by_hand(later, [("2026-03-02 11:05", "lx2026000002", "电话", "Lost", None)], soffice,
                 tmp_path / "2")  # fmt: skip
    pool = pipeline.load(later).leads
    left = pool.loc[pool["owner"].isna(), "lead_id"].tolist()
    assert len(left) == 1
    claimed = pipeline.claim(
        pipeline.context(as_of="2026-03-02T11:30", cwd=workspace), left[0], other
    )
    assert claimed["owner"] == other


STAGED = FollowupRules(
    cadence_days={"S": 1, "A": 2, "B": 7, "C": 7},
    stage_limit_days={"contacted": {"S": 3, "C": 7}, "qualified": {"S": 7}},
)


def test_a_lead_stuck_past_its_stage_limit_is_due():
    applied = apply_activities(
        leads([{"grade": "S"}, {"grade": "C"}, {"grade": "S"}, {"grade": "S"}, {"grade": "B"}]),
        acts([
            # S in 初步接洽 since 03-02 (logged again 03-06: the clock does not restart): 3 days ran out 03-05
            {"date": "2026-03-02 10:00", "lead_id": "L1", "status_after": "contacted"},
            {"date": "2026-03-06 10:00", "lead_id": "L1", "status_after": "contacted",
             "next_follow_up": "2026-03-20"},
            # C in 初步接洽 since 03-04 (first contact, no status typed): 7 days end 03-11
            {"date": "2026-03-04 10:00", "lead_id": "L2", "next_follow_up": "2026-03-20"},
            # S moved on to qualified 03-06: the qualified clock starts then (7 days)
            {"date": "2026-03-01 10:00", "lead_id": "L3", "status_after": "contacted"},
            {"date": "2026-03-06 10:00", "lead_id": "L3", "status_after": "qualified",
             "next_follow_up": "2026-03-20"},
            # S qualified 03-01, contacted again 03-02: back in 初步接洽 since 03-02
            {"date": "2026-03-01 10:00", "lead_id": "L4", "status_after": "qualified"},
            {"date": "2026-03-02 10:00", "lead_id": "L4", "status_after": "contacted",
             "next_follow_up": "2026-03-20"},
            # B has no limit in these rules
            {"date": "2026-02-01 10:00", "lead_id": "L5", "next_follow_up": "2026-03-20"},
        ]), STAGED, now=NOW, with_log=False,
    )  # fmt: skip
    assert applied.status_since.tolist()[:4] == [
        pd.Timestamp("2026-03-02 10:00"),
        pd.Timestamp("2026-03-04 10:00"),
        pd.Timestamp("2026-03-06 10:00"),
        pd.Timestamp("2026-03-02 10:00"),
    ]
    items = due_items(applied.leads, STAGED, now=NOW, status_since=applied.status_since)
    stuck = items[items["kind"] == "stage_overdue"]
    assert stuck["lead_id"].tolist() == ["L1", "L4"]
    assert stuck["when"].tolist() == [pd.Timestamp("2026-03-05 10:00")] * 2
    assert stuck["hours_overdue"].tolist() == [119.0, 119.0]
    # without limits nothing is stuck
    assert "stage_overdue" not in set(due_items(applied.leads, RULES, now=NOW)["kind"])


def test_due_flags_a_lead_stuck_in_a_stage_typed_by_hand(hand_book):
    # LX2026000001 was first called 03-03 10:30 (typed by hand, saved by LibreOffice) and has sat
    # in 初步接洽 since; its grade's limit in the shipped rules/followup.yaml says when it is stuck
    ctx = pipeline.context(as_of="2026-03-30T09:00", cwd=hand_book)
    lead = pipeline.load(ctx).leads.set_index("lead_id").loc["LX2026000001"]
    days = ctx.rules.followup.stage_limit_days["contacted"][lead["grade"] or "C"]
    outcome = pipeline.due(ctx)
    stuck = outcome.items[outcome.items["kind"] == "stage_overdue"].set_index("lead_id")
    assert "LX2026000001" in stuck.index
    assert stuck.loc["LX2026000001", "when"] == pd.Timestamp("2026-03-03 10:30") + pd.Timedelta(
        days=days
    )
    assert "LX2026000003" not in stuck.index  # won: closed, never stuck


def test_text_typed_in_date_columns_survives_log_recycle_and_due(workspace, cli, data_dir):
    import openpyxl

    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-09T09:00", "-q")
    cli("assign", "--by", "load", "--as-of", "2026-03-09T09:00", "-q")
    wb = openpyxl.load_workbook(workspace / "leads.xlsx")
    ws = wb["线索"]
    col = {c.value: c.column for c in ws[1]}
    typed = {
        (2, "下次跟进时间"): "下周再说",
        (3, "首次跟进时间"): "已电话",
        (4, "关闭时间"): "待定",
    }
    for (row, header), text in typed.items():
        ws.cell(row, col[header], text)
    wb.save(workspace / "leads.xlsx")
    steps = [
        ("log", "LX2026000004", "--note", "电话沟通", "--as-of", "2026-03-09T10:00"),
        ("recycle", "--as-of", "2026-03-20T09:00"),
        ("due", "--as-of", "2026-03-20T09:00"),
    ]
    for step in steps:
        result = cli(*step, "-q")
        assert result.exit_code == 0, (step, result.stderr)
    ws = openpyxl.load_workbook(workspace / "leads.xlsx")["线索"]
    kept = {(row, header): ws.cell(row, col[header]).value for row, header in typed}
    # LX2026000004 (row 5) was logged: its dates derive from the activity; rows 2-4 were not
    assert kept == typed
    assert isinstance(ws.cell(5, col["首次跟进时间"]).value, dt.datetime)


# ---------------------------------------------------------------------------------------------
# Customer feedback (客户反馈 sheet, #20)


def test_log_feedback_appends_a_row_and_due_lists_it_once_past_its_close_out(
    workspace, cli, data_dir
):
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-09T09:00", "-q")
    cli("assign", "--by", "load", "--as-of", "2026-03-09T09:00", "-q")
    said = cli("log", "LX2026000002", "--feedback", "价格类", "--priority", "高", "--note",
               "竞品A报价低15%", "--channel", "邮件反馈", "--as-of", "2026-03-09T10:00")  # fmt: skip
    assert said.exit_code == 0, said.stderr
    assert (
        "LX2026000002: feedback 价格类, priority 高; close out by 2026-03-12 10:00" in said.stderr
    )
    # English labels work too, and --close-by sets the 完成时限
    cli("log", "LX2026000003", "--feedback", "Decision", "--priority", "low", "--note", "需内部审批",
        "--close-by", "2026-03-20T18:00", "--as-of", "2026-03-09T11:00", "-q")  # fmt: skip
    sheet = pipeline.load(pipeline.context(cwd=workspace)).sheets["feedback"]
    assert sheet["type"].tolist() == ["price", "decision"]
    assert sheet["priority"].tolist() == ["high", "low"]
    assert sheet["channel"].fillna("").tolist() == ["邮件反馈", ""]
    assert sheet["due"].tolist() == [
        pd.Timestamp("2026-03-12 10:00"),
        pd.Timestamp("2026-03-20 18:00"),
    ]
    owners = pipeline.load(pipeline.context(cwd=workspace)).leads.set_index("lead_id")["owner"]
    assert sheet["owner"].tolist() == [owners["LX2026000002"], owners["LX2026000003"]]

    def late(at):
        out = json.loads(cli("due", "--as-of", at, "--json").stdout)["items"]
        return [(i["lead_id"], i["owner"]) for i in out if i["kind"] == "feedback_overdue"]

    assert late("2026-03-12T09:59") == []
    assert late("2026-03-12T10:01") == [("LX2026000002", owners["LX2026000002"])]
    assert sorted(late("2026-03-21T09:00")) == [
        ("LX2026000002", owners["LX2026000002"]), ("LX2026000003", owners["LX2026000003"])
    ]  # fmt: skip


def test_log_feedback_refuses_unknown_types_and_follow_up_options(workspace, cli, data_dir):
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-09T09:00", "-q")
    bad = cli("log", "LX2026000002", "--feedback", "抱怨", "--note", "x")
    assert bad.exit_code != 0 and "价格类/Price" in bad.stderr and len(bad.stderr.splitlines()) == 1
    mixed = cli("log", "LX2026000002", "--feedback", "价格类", "--status", "成交", "--note", "x")
    assert mixed.exit_code != 0 and "--status" in mixed.stderr
    alone = cli("log", "LX2026000002", "--priority", "高", "--note", "x")
    assert alone.exit_code != 0 and "--feedback" in alone.stderr
    assert pipeline.load(pipeline.context(cwd=workspace)).sheets["feedback"].empty


def test_feedback_typed_by_hand_and_saved_by_libreoffice_is_due_until_confirmed(
    workspace, data_dir, soffice, tmp_path
):
    """Rows typed into 客户反馈 as the seeds' 客户需求分析表 has them: no 完成时限 is 反馈时间 + the
    close_out_days of followup.yaml; 客户认可 closes one, 待确认 leaves it open."""
    import shutil

    import openpyxl

    ctx = pipeline.context(as_of="2026-03-02T09:00", cwd=workspace)
    pipeline.import_files(ctx, [data_dir / "web_small.csv"])
    pipeline.assign(ctx, "load")
    wb = openpyxl.load_workbook(ctx.book_path)
    ws = wb["客户反馈"]
    headers = [c.value for c in ws[1]]
    rows = [  # (反馈时间, 线索编号, 反馈类型, 优先级, 完成时限, 客户确认结果)
        ("2026-03-03 10:00", "lx2026000001 ", "产品/服务类", "高", None, None),
        (
            dt.datetime(2026, 3, 5),
            "LX2026000002",
            "价格类",
            "中",
            dt.datetime(2026, 3, 7),
            "待确认",
        ),
        ("2026/3/5", "LX2026000003", "产品/服务类", "中", "2026-03-08", "客户认可"),
    ]
    for when, lead, kind, prio, close, confirmed in rows:
        cells = {"反馈时间": when, "线索编号": lead, "反馈类型": kind, "优先级": prio,
                 "完成时限": close, "客户确认结果": confirmed, "反馈内容": "方案缺少数据备份"}  # fmt: skip
        ws.append([cells.get(h) for h in headers])
    typed = tmp_path / "typed" / ctx.book_path.name
    typed.parent.mkdir(parents=True)
    wb.save(typed)
    shutil.copyfile(soffice(typed, "xlsx", tmp_path / "lo"), ctx.book_path)

    later = pipeline.context(as_of="2026-03-10T09:00", cwd=workspace)
    items = pipeline.due(later).items
    late = items[items["kind"] == "feedback_overdue"].set_index("lead_id")["when"]
    days = later.rules.followup.feedback.close_out_days
    assert late.to_dict() == {
        "LX2026000001": pd.Timestamp("2026-03-03 10:00") + pd.Timedelta(days=days),
        "LX2026000002": pd.Timestamp("2026-03-07"),
    }
    report = pipeline.report(later, period="month")
    by_type = report.feedback.set_index("feedback_type")
    assert by_type.loc[
        "product", ["received", "high", "medium", "unresolved", "overdue"]
    ].tolist() == [2, 1, 1, 1, 1]
    assert by_type.loc["price", ["received", "unresolved", "overdue"]].tolist() == [1, 1, 1]
    assert by_type.loc["total", "received"] == 3 and by_type.loc["decision", "received"] == 0
    # a later save keeps the typed rows as they were (and their labels in the book's words)
    pipeline.log_activity(later, "LX2026000001", note="回访")
    sheet = pipeline.load(later).sheets["feedback"]
    assert sheet["type"].tolist() == ["product", "price", "product"]
    assert sheet["confirmation"].fillna("").tolist() == ["", "待确认", "客户认可"]


# ---------------------------------------------------------------------------------------------
# Follow-up plans and the weekly second channel (#20 build 2)

SECOND = FollowupRules(
    cadence_days={"S": 1, "A": 2, "B": 7, "C": 7},
    second_channel={"S": {"channels": ["meeting"]}, "A": {"channels": ["email", "phone"]}},
)


def test_the_weekly_second_channel_is_due_a_week_after_the_last_one_or_the_first_contact():
    book = leads([
        dict(grade="S", status="contacted"),  # L1: called daily, met on 03-04
        dict(grade="A", status="contacted"),  # L2: only WeChat since its first contact 03-01
        dict(grade="B", status="contacted"),  # L3: B has no second channel
        dict(grade="S", status="new"),  # L4: not contacted yet: the first contact's business
        dict(grade="S", status="contacted"),  # L5: won below, closed
    ])  # fmt: skip
    log = acts([
        dict(date="2026-03-02 10:00", lead_id="L1", channel="phone"),
        dict(date="2026-03-04 14:00", lead_id="L1", channel="meeting"),
        dict(date="2026-03-09 10:00", lead_id="L1", channel="phone"),
        dict(date="2026-03-01 09:00", lead_id="L2", channel="wechat"),
        dict(date="2026-03-01 09:00", lead_id="L3", channel="phone"),
        dict(date="2026-03-01 09:00", lead_id="L5", channel="phone", status_after="won"),
    ])  # fmt: skip
    applied = apply_activities(book, log, SECOND, now=NOW)

    def missed(at):
        items = due_items(applied.leads, SECOND, now=at, activities=log)
        late = items[items["kind"] == "second_channel_missed"]
        return dict(zip(late["lead_id"], late["when"], strict=True))

    assert missed(NOW) == {"L2": pd.Timestamp("2026-03-08 09:00")}
    assert missed(dt.datetime(2026, 3, 11, 15, 0)) == {
        "L1": pd.Timestamp("2026-03-11 14:00"), "L2": pd.Timestamp("2026-03-08 09:00"),
    }  # fmt: skip
    # an e-mail is A's second channel: sent on 03-10, L2 is not due again until 03-17
    mailed = pd.concat([log, acts([dict(date="2026-03-10 08:00", lead_id="L2", channel="email")])])
    items = due_items(applied.leads, SECOND, now=dt.datetime(2026, 3, 16), activities=mailed)
    assert "L2" not in set(items.loc[items["kind"] == "second_channel_missed", "lead_id"])


def test_plan_rules_are_checked_as_typed_models(workspace, cli):
    rules = workspace / "rules" / "followup.yaml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("S: {channels: [meeting], every_days: 7}",
                                  "S: {channels: [visit], every_days: 7}"), encoding="utf-8")  # fmt: skip
    bad = cli("due")
    assert bad.exit_code == 2 and "followup.yaml" in bad.stderr and "second_channel" in bad.stderr
    rules.write_text(text.replace("  proposal:\n    goal: 客户将我方方案纳入短名单",
                                  "  proposal:\n    gaol: 客户将我方方案纳入短名单"), encoding="utf-8")  # fmt: skip
    bad = cli("due")
    assert bad.exit_code == 2 and "plans.proposal" in bad.stderr


def test_the_plan_sheet_and_second_channel_on_a_book_saved_by_libreoffice(
    workspace, cli, rules, soffice, tmp_path
):
    from leadkit import bookio

    def lead(n, grade, **extra):
        return dict(lead_id=f"LX{n}", created_at=pd.Timestamp("2026-03-02 08:00"), source="website",
                    company=f"公司{n}", contact=f"联系人{n}", phone=f"1381234000{n}", grade=grade,
                    owner="李娜", assigned_at=pd.Timestamp("2026-03-02 09:00"),
                    first_contact_due=pd.Timestamp("2026-03-02 11:00"), status="new", **extra)  # fmt: skip

    b = bookio.new_book(workspace / "leads.xlsx", "zh", rules.columns)
    b.append("leads", pd.DataFrame([
        lead(1, "S"), lead(2, "A"), lead(3, "C"), lead(4, "B"),
        lead(5, "S", duplicate_of="LX1"), {**lead(6, "A"), "owner": None},
    ]))  # fmt: skip
    bookio.save_book(b, rules.columns, state_dir=workspace / ".leadkit", command="test",
                     as_of=dt.datetime(2026, 3, 2))  # fmt: skip
    ctx = pipeline.context(as_of="2026-03-02T09:00", cwd=workspace)
    type_by_hand(ctx, [
        ("2026-03-02 10:00", "LX1", "电话", "初步接洽", None),
        ("2026-03-03 15:00", "lx1 ", "面谈", None, None),  # S met in the first week
        ("2026-03-02 10:30", "LX2", "微信", "需求明确", None),  # A: no e-mail, no call
        ("2026-03-02 11:00", "LX3", "电话", "成交", None),  # won: no plan
    ], soffice, tmp_path)  # fmt: skip
    # a save (here `log`) writes the 跟进计划 sheet for every open lead with an owner
    assert cli("log", "LX4", "--note", "电话沟通", "--channel", "电话", "--as-of",
               "2026-03-04T09:00", "-q").exit_code == 0  # fmt: skip
    import openpyxl

    sheet = openpyxl.load_workbook(workspace / "leads.xlsx")["跟进计划"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(values_only=False)]
    head = rows[0]
    plan = {r[0]: dict(zip(head, r, strict=True)) for r in rows[1:] if r[0]}
    assert set(plan) == {"LX1", "LX2", "LX4"}  # LX3 won, LX5 merged, LX6 in the pool
    plans = ctx.rules.followup.plans
    assert (
        plan["LX1"]["跟进阶段"] == "初步接洽" and plan["LX1"]["跟进目标"] == plans["contacted"].goal
    )
    assert plan["LX1"]["沟通要点(BANT)"] == "；".join(plans["contacted"].confirm)
    assert plan["LX1"]["跟进方式"] == "每1天跟进 + 每7天面谈"
    assert plan["LX2"]["跟进方式"] == "每2天跟进 + 每7天邮件/电话"
    assert plan["LX2"]["预期成果"] == plans["qualified"].expected
    assert plan["LX2"]["应急预案"] == plans["qualified"].fallback
    limit = ctx.rules.followup.stage_limit_days["contacted"]["S"]
    assert plan["LX1"]["阶段时限"] == dt.datetime(2026, 3, 2, 10) + dt.timedelta(days=limit)
    assert plan["LX4"]["跟进阶段"] == "初步接洽" and plan["LX4"]["负责人"] == "李娜"
    assert plan["LX4"]["时间节点"] == dt.datetime(2026, 3, 11, 9)  # B: 7 days after the call

    def missed(at):
        items = json.loads(cli("due", "--as-of", at, "--json").stdout)["items"]
        return {i["lead_id"]: i["when"] for i in items if i["kind"] == "second_channel_missed"}

    # LX2's week from its first contact (03-02 10:30) ends 03-09 10:30; LX1 met 03-03 15:00
    assert missed("2026-03-09T09:00") == {}
    assert missed("2026-03-09T11:00") == {"LX2": "2026-03-09 10:30:00"}
    assert missed("2026-03-10T16:00") == {
        "LX1": "2026-03-10 15:00:00", "LX2": "2026-03-09 10:30:00",
    }  # fmt: skip


def test_a_workspace_made_before_the_new_sheets_gets_them(workspace, cli, data_dir):
    """A columns.yaml written before #20 has no 跟进计划 / 客户反馈 sheets and no feedback enums:
    they are taken as packaged, and feedback can be logged."""
    import yaml

    path = workspace / "rules" / "columns.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name in ("plans", "feedback"):
        del data["sheets"][name]
    for name in ("feedback_type", "priority"):
        del data["enums"][name]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-09T09:00", "-q")
    done = cli("log", "LX2026000002", "--feedback", "服务类", "--note", "响应慢", "-q")
    assert done.exit_code == 0, done.stderr
    book = pipeline.load(pipeline.context(cwd=workspace))
    assert book.sheets["feedback"]["type"].tolist() == ["service"]


def test_log_takes_a_lead_id_as_a_rep_types_it(workspace, cli, data_dir):
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-09T09:00", "-q")
    result = cli(
        "log", " lx2026000002 ", "--note", "电话沟通", "--as-of", "2026-03-09T10:00", "--json"
    )
    assert result.exit_code == 0, result.stderr
    book = pipeline.load(pipeline.context(cwd=workspace))
    assert book.sheets["activities"]["lead_id"].tolist() == ["LX2026000002"]
    lead = book.leads.set_index("lead_id").loc["LX2026000002"]
    assert lead["status"] == "contacted" and pd.notna(lead["first_contact_at"])


def test_a_plan_sheet_that_comes_out_the_same_keeps_its_stored_frame_and_part(
    workspace, cli, data_dir
):
    """Rebuilt plans equal to those read leave the read frame in place (the save then carries
    the stored part, not 100k rows written again); a changed lead's plan replaces it."""
    import zipfile

    from leadkit.bookio import xlsx as xlsxpackage

    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-09T09:00", "-q")
    cli("score", "--as-of", "2026-03-09T09:00", "-q")
    cli("assign", "--by", "load", "--as-of", "2026-03-09T09:00", "-q")
    ctx = pipeline.context(cwd=workspace, as_of="2026-03-09T10:00")
    book = pipeline.load(ctx)
    stored = book.sheets["plans"]
    assert len(stored) > 0
    pipeline.refresh_plans(ctx, book)
    assert book.sheets["plans"] is stored  # same cells: nothing to write again

    first = book.leads.index[book.leads["lead_id"] == "LX2026000001"][0]
    book.leads.loc[first, "status"] = "qualified"
    pipeline.refresh_plans(ctx, book)
    plans = book.sheets["plans"]
    assert plans is not stored
    assert plans.set_index("lead_id").loc["LX2026000001", "stage"] == "qualified"

    # end to end: a command that saves without changing a plan (scoring again: the same grades)
    # leaves the plans part as stored (at the same clock: the overdue highlight follows it)
    def part() -> bytes:
        with zipfile.ZipFile(ctx.book_path) as zf:
            return zf.read(xlsxpackage.parts._Package(zf).sheet_part("跟进计划"))

    before = part()
    assert cli("score", "--as-of", "2026-03-09T09:00", "-q").exit_code == 0
    assert part() == before
