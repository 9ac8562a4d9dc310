from __future__ import annotations

import json

import pandas as pd
import pytest

from leadkit import pipeline
from leadkit.rules.loader import Rules
from leadkit.rules.pool import PoolRules
from leadkit.rules.routing import RoutingRules
from leadkit.steps.pool import ClaimRefused, apply_recycle, claim, find_neglected
from leadkit.steps.routing import RotationState, assign

T0 = pd.Timestamp("2026-03-02 09:00")  # Monday
SAY = Rules().columns.sayer("zh")  # the packaged Log messages of a Chinese book

POOL = PoolRules(
    first_contact_grace_hours=24, no_follow_up_days={"S": 3, "A": 5, "B": 10, "C": 15},
    exempt_status=["won", "lost", "negotiation"], max_recycles=2, manager_tag="需经理处理",
    warn_days=2, cooldown=True, claim_limit_per_day=2,
)  # fmt: skip
ROUTING = RoutingRules.model_validate({
    "team": [{"name": "王经理", "level": "manager"}, {"name": "李娜"}, {"name": "陈静", "capacity": 1}],
    "sla_hours": {"S": 2, "A": 2, "B": 4, "C": 24},
})  # fmt: skip


def leads(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["lead_id"] = [f"L{i + 1}" for i in range(len(frame))]
    defaults = {"owner": "李娜", "status": "contacted", "grade": "B", "duplicate_of": None, "tags": None,
                "recycle_count": 0.0, "assigned_at": T0, "first_contact_due": T0 + pd.Timedelta(hours=4),
                "first_contact_at": None, "last_contact_at": None, "score": None, "created_at": T0}  # fmt: skip
    for col, value in defaults.items():
        if col not in frame:
            frame[col] = [value] * len(frame)
    for col in (
        "assigned_at",
        "first_contact_due",
        "first_contact_at",
        "last_contact_at",
        "created_at",
    ):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def due_plus_grace() -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=4 + 24)


@pytest.mark.parametrize(
    ("offset", "recycled"), [(pd.Timedelta(0), False), (pd.Timedelta(minutes=1), True)]
)
def test_first_contact_overdue_at_the_boundary(offset, recycled):
    found = find_neglected(
        leads([{}]), POOL, now=(due_plus_grace() + offset).to_pydatetime(), say=SAY
    )
    assert (len(found.recycle) == 1) is recycled


@pytest.mark.parametrize(
    ("grade", "days", "recycled"),
    [("S", 3, False), ("S", 3.01, True), ("C", 15, False), ("C", 15.01, True), (None, 15.01, True)],
)
def test_no_follow_up_for_n_days_by_grade(grade, days, recycled):
    touched = T0 + pd.Timedelta(hours=1)
    frame = leads([{"grade": grade, "first_contact_at": touched, "last_contact_at": touched}])
    found = find_neglected(
        frame, POOL, now=(touched + pd.Timedelta(days=days)).floor("s").to_pydatetime(), say=SAY
    )
    assert (len(found.recycle) == 1) is recycled


@pytest.mark.parametrize("status", ["won", "lost", "negotiation"])
def test_exempt_statuses_are_never_recycled(status):
    found = find_neglected(
        leads([{"status": status}]), POOL, now=(T0 + pd.Timedelta(days=60)).to_pydatetime(), say=SAY
    )
    assert found.recycle.empty and found.escalate.empty


def test_recycle_clears_owner_bumps_count_and_logs():
    frame = leads([{"owner": "李娜"}, {"owner": "王经理", "first_contact_at": T0}])
    now = (T0 + pd.Timedelta(days=2)).to_pydatetime()
    found = find_neglected(frame, POOL, now=now, say=SAY)
    out, log = apply_recycle(frame, found, POOL, now=now, say=SAY)
    assert pd.isna(out.loc[0, "owner"]) and out.loc[0, "recycle_count"] == 1
    assert pd.isna(out.loc[0, "first_contact_due"]) and pd.isna(out.loc[0, "assigned_at"])
    assert out.loc[1, "owner"] == "王经理"  # contacted two days ago: fine for a B lead
    assert log[["command", "lead_id", "column", "old"]].values.tolist() == [
        ["recycle", "L1", "owner", "李娜"]
    ]
    # in the book's language, with the deadline (due − grace) it missed
    assert log["new"].iloc[0] == "退回公海：首次跟进自 2026-03-02 13:00 起逾期"


def test_after_k_recycles_the_manager_is_asked_instead():
    frame = leads([
        {"recycle_count": 2.0}, {"recycle_count": 2.0, "tags": "需经理处理"},
        {"recycle_count": 3.0, "tags": "价格敏感"},
    ])  # fmt: skip
    now = (T0 + pd.Timedelta(days=3)).to_pydatetime()
    found = find_neglected(frame, POOL, now=now, say=SAY)
    assert found.recycle.empty
    assert found.escalate["lead_id"].tolist() == ["L1", "L3"]  # L2 is tagged already
    out, log = apply_recycle(frame, found, POOL, now=now, say=SAY)
    assert out.loc[0, "owner"] == "李娜" and out.loc[0, "tags"] == "需经理处理"
    assert out.loc[2, "tags"] == "价格敏感;需经理处理"  # added to the tags it had
    assert log["column"].tolist() == ["tags", "tags"]


def test_owners_are_warned_before_recycling():
    touched = T0
    frame = leads([{"grade": "S", "first_contact_at": touched, "last_contact_at": touched}])
    warn = find_neglected(
        frame, POOL, now=(touched + pd.Timedelta(days=1.5)).to_pydatetime(), say=SAY
    ).warn
    assert warn["lead_id"].tolist() == ["L1"]
    assert warn["recycle_on"].iloc[0] == touched + pd.Timedelta(days=3)
    early = find_neglected(
        frame, POOL, now=(touched + pd.Timedelta(days=0.5)).to_pydatetime(), say=SAY
    ).warn
    assert early.empty


def test_cooldown_skips_the_previous_owner_on_reassignment():
    frame = leads([{}])
    now = (T0 + pd.Timedelta(days=2)).to_pydatetime()
    out, log = apply_recycle(
        frame, find_neglected(frame, POOL, now=now, say=SAY), POOL, now=now, say=SAY
    )
    log = log.reindex(columns=["time", "command", "lead_id", "column", "old", "new"])
    for _ in range(5):
        a = assign(out, ROUTING, RotationState(), by="round-robin", now=now, log=log)
        assert a.owners.tolist()[0] != "李娜"


def test_claim_sets_owner_and_deadline_and_enforces_the_limit():
    frame = leads([{"owner": None}, {"owner": None}, {"owner": None}])
    log = pd.DataFrame(columns=["time", "command", "lead_id", "column", "old", "new"])
    now = T0.to_pydatetime()
    for lead_id in ("L1", "L2"):
        frame, entry = claim(frame, log, lead_id, "王经理", ROUTING, POOL, now=now)
        log = pd.concat([log, entry], ignore_index=True)
    assert frame.loc[0, "owner"] == "王经理"
    assert frame.loc[0, "first_contact_due"] == T0 + pd.Timedelta(hours=4)
    with pytest.raises(ClaimRefused, match="daily limit"):
        claim(frame, log, "L3", "王经理", ROUTING, POOL, now=now)
    tomorrow = (T0 + pd.Timedelta(days=1)).to_pydatetime()
    frame, _ = claim(frame, log, "L3", "王经理", ROUTING, POOL, now=tomorrow)
    assert frame.loc[2, "owner"] == "王经理"


@pytest.mark.parametrize(
    ("rows", "lead_id", "owner", "message"),
    [
        ([{"owner": "李娜"}], "L1", "王经理", "not in the pool"),
        ([{"owner": None}], "L9", "王经理", "no lead"),
        ([{"owner": None}], "L1", "路人", "not in the team"),
        ([{"owner": None, "duplicate_of": "L7"}], "L1", "王经理", "merged"),
        ([{"owner": None, "status": "won"}], "L1", "王经理", "closed"),
        ([{"owner": "陈静"}, {"owner": None}], "L2", "陈静", "capacity"),
    ],
)
def test_claim_refusals(rows, lead_id, owner, message):
    log = pd.DataFrame(columns=["time", "command", "lead_id", "column", "old", "new"])
    with pytest.raises(ClaimRefused, match=message):
        claim(leads(rows), log, lead_id, owner, ROUTING, POOL, now=T0.to_pydatetime())


def test_recycle_and_claim_cli(workspace, cli, data_dir):
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-02T09:00", "-q")
    assert cli("assign", "--by", "load", "--as-of", "2026-03-02T09:00", "-q").exit_code == 0
    leads_ = pipeline.load(pipeline.context(cwd=workspace)).leads
    owner_of_first = leads_["owner"].iloc[0]
    dry = cli("recycle", "--dry-run", "--json", "--as-of", "2026-03-10T09:00")
    assert len(json.loads(dry.stdout)["recycled"]) == 4
    result = cli("recycle", "--json", "--as-of", "2026-03-10T09:00")
    assert result.exit_code == 0
    after = pipeline.load(pipeline.context(cwd=workspace)).leads
    assert after["owner"].isna().all() and (after["recycle_count"] == 1).all()
    refused = cli("claim", "LX2026000001", "--owner", owner_of_first, "--as-of", "2026-03-10T10:00")
    assert refused.exit_code == 1 and "recycled from" in refused.stderr
    other = next(r for r in ("王经理", "李娜", "张伟") if r != owner_of_first)
    ok = cli("claim", "LX2026000001", "--owner", other, "--as-of", "2026-03-10T10:00")
    assert ok.exit_code == 0 and "first contact due" in ok.stderr
