from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from leadkit import pipeline
from leadkit.followup import FollowupRules, apply_activities, due_items

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
