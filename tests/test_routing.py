from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit import pipeline
from leadkit.errors import RuleError
from leadkit.rules.base import load_yaml_model
from leadkit.rules.routing import Rep, RoutingRules
from leadkit.steps.routing import (
    Picker,
    Queue,
    RotationState,
    add_working_hours,
    apply_assignment,
    assign,
)

NOW = dt.datetime(2026, 3, 6, 10, 0)  # a Friday

TEAM = [
    {"name": "王经理", "level": "manager", "team": "东", "regions": ["华东"], "capacity": 10},
    {
        "name": "李娜",
        "level": "senior",
        "team": "东",
        "regions": ["华东"],
        "industries": ["制造业"],
        "capacity": 10,
    },
    {
        "name": "张伟",
        "level": "senior",
        "team": "南",
        "regions": ["华南"],
        "industries": ["医疗健康"],
        "capacity": 10,
    },
    {"name": "陈静", "level": "junior", "team": "东", "regions": ["华东"], "capacity": 10},
    {
        "name": "刘洋",
        "level": "junior",
        "team": "北",
        "regions": ["华北"],
        "industries": ["物流"],
        "capacity": 10,
    },
]


def routing(**changes) -> RoutingRules:
    data = {
        "team": TEAM,
        "rules": [
            {"name": "S", "when": {"grade": ["S"]}, "to": {"level": "manager"}},
            {
                "name": "big",
                "when": {"budget_at_least": 50},
                "to": {"level": "senior"},
                "strategy": "load",
            },
            {"name": "north", "when": {"region": ["华北"]}, "to": {"team": "北"}},
        ],
        "sla_hours": {"S": 2, "A": 2, "B": 4, "C": 24},
    }
    if "team" in changes and "rules" not in changes:
        changes["rules"] = [
            {"to": {"all": True}}
        ]  # the default rules name teams of the full roster
    data.update(changes)
    return RoutingRules.model_validate(data)


def leads(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["lead_id"] = [f"L{i + 1}" for i in range(len(frame))]
    for col in ("owner", "duplicate_of", "grade", "score", "region", "province", "industry", "budget", "company",
                "created_at", "assigned_at", "first_contact_due"):  # fmt: skip
        if col not in frame:
            frame[col] = None
    frame["status"] = frame.get("status", "new")
    frame["status"] = frame["status"].fillna("new")
    return frame


def owners_of(rows, by, rules=None, state=None):
    frame = leads(rows)
    a = assign(frame, rules or routing(), state or RotationState(), by=by, now=NOW)
    return [a.owners.get(i) for i in frame.index], a


@pytest.mark.parametrize(
    ("by", "row", "expected"),
    [
        ("region", {"region": "华南"}, "张伟"),
        ("region", {"region": "华北"}, "刘洋"),
        ("industry", {"industry": "物流"}, "刘洋"),
        ("industry", {"industry": "医疗健康"}, "张伟"),
        ("grade", {"grade": "S"}, "王经理"),
        ("grade", {"grade": "C"}, None),  # a junior: 陈静 or 刘洋
        ("rules", {"grade": "S"}, "王经理"),
        ("rules", {"region": "华北"}, "刘洋"),
    ],
)
def test_each_strategy_picks_the_expected_rep(by, row, expected):
    owners, _ = owners_of([row], by)
    if expected is None:
        assert owners[0] in {"陈静", "刘洋"}
    else:
        assert owners == [expected]


def test_grade_routing_sends_a_to_seniors_and_ungraded_as_c():
    owners, _ = owners_of([{"grade": "A"}, {"grade": "A"}, {"grade": None}], "grade")
    assert set(owners[:2]) == {"李娜", "张伟"}
    assert owners[2] in {"陈静", "刘洋"}


def test_no_rule_and_no_region_stay_in_the_pool():
    owners, a = owners_of([{"region": "西北"}], "region")
    assert owners == [None]
    assert a.pool["lead_id"].tolist() == ["L1"]
    owners, a = owners_of([{"region": "西北"}], "rules")
    assert owners == [None] and "no routing rule" in a.pool["reason"].iloc[0]


def test_round_robin_is_strict_rotation():
    owners, _ = owners_of([{} for _ in range(10)], "round-robin")
    counts = Counter(owners)
    assert set(counts.values()) == {2}
    assert owners[:5] == owners[5:]  # the same order again


def test_load_prefers_the_emptiest_relative_to_capacity():
    rules = routing(team=[{**TEAM[0], "capacity": 10}, {**TEAM[1], "capacity": 40}])
    existing = [{"owner": "王经理"}] * 4 + [{"owner": "李娜"}] * 8
    frame = leads([*existing, {}, {}, {}])
    a = assign(frame, rules, RotationState(), by="load", now=NOW)
    # 王经理 4/10 = 0.4, 李娜 8/40 = 0.2: 李娜 until she reaches 0.4 (16 open)
    assert a.owners.tolist() == ["李娜", "李娜", "李娜"]


def test_fair_over_thirty_cron_runs_with_equal_and_weighted_shares(tmp_path):
    counts = Counter()
    state = RotationState()
    rules = routing(team=[{**t, "capacity": 1000} for t in TEAM[:3]])
    for _run in range(30):
        frame = leads([{"region": "华东"} for _ in range(3)])  # 王经理 and 李娜 cover 华东
        a = assign(
            frame,
            rules,
            RotationState.from_json(json.loads(json.dumps(state.to_json()))),
            by="region",
            now=NOW,
        )
        state = a.state
        counts.update(a.owners.tolist())
    assert counts["王经理"] + counts["李娜"] == 90
    assert abs(counts["王经理"] - counts["李娜"]) <= 1
    weighted = routing(
        team=[{**TEAM[0], "capacity": 1000, "weight": 2}, {**TEAM[1], "capacity": 1000}]
    )
    counts, state = Counter(), RotationState()
    for _ in range(30):
        a = assign(leads([{} for _ in range(3)]), weighted, state, by="rules", now=NOW)
        counts.update(a.owners.tolist())
    assert abs(counts["王经理"] - 2 * counts["李娜"]) <= 2


def test_ties_are_not_broken_by_roster_order():
    firsts = Counter()
    for run in range(40):
        state = RotationState(seq=run)
        owners, _ = owners_of([{}], "round-robin", state=state)
        firsts[owners[0]] += 1
    assert len(firsts) >= 4  # not always the first rep in the file


def test_capacity_is_never_exceeded_and_highest_grade_goes_first():
    rules = routing(team=[{**TEAM[0], "capacity": 2}])
    rows = [
        {"grade": "C", "score": 10},
        {"grade": "S", "score": 90},
        {"grade": "B", "score": 45},
        {"grade": "S", "score": 85},
    ]
    owners, a = owners_of(rows, "load", rules=rules)
    assert owners == [None, "王经理", None, "王经理"]
    assert a.open_after["王经理"] == 2
    assert sorted(a.pool["lead_id"]) == ["L1", "L3"]


def test_away_and_inactive_reps_are_skipped_and_keep_their_place():
    away = {**TEAM[1], "away_from": dt.date(2026, 3, 1), "away_to": dt.date(2026, 3, 8)}
    rules = routing(team=[TEAM[0], away, {**TEAM[3], "active": False}])
    state = RotationState()
    owners, a = owners_of([{}, {}], "round-robin", rules=rules, state=state)
    assert owners == ["王经理", "王经理"]
    back = dt.datetime(2026, 3, 9, 10, 0)
    frame = leads([{}])
    a = assign(frame, rules, a.state, by="round-robin", now=back)
    assert a.owners.tolist() == ["李娜"]  # back from holiday: first in line, not last


def test_returning_customer_goes_to_its_owner():
    frame = leads([
        {"company": "上海智联科技有限公司", "owner": "张伟"},
        {"company": "智联科技（上海）股份有限公司"},  # same company key, unowned
        {"company": "新公司"},
    ])  # fmt: skip
    a = assign(frame, routing(), RotationState(), by="round-robin", now=NOW)
    assert a.owners.get(1) == "张伟" and a.why.get(1) == "returning customer"
    merged = leads([{"owner": "刘洋", "duplicate_of": "L2"}, {}])
    a = assign(merged, routing(), RotationState(), by="round-robin", now=NOW)
    assert a.owners.get(1) == "刘洋"


def test_new_rep_starts_level_not_at_zero():
    state = RotationState(given={"王经理": 40, "李娜": 42}, last={"王经理": 5, "李娜": 6}, seq=6)
    rules = routing(team=[TEAM[0], TEAM[1], {**TEAM[3], "regions": ["华东"]}])
    a = assign(leads([{"region": "华东"} for _ in range(3)]), rules, state, by="region", now=NOW)
    assert Counter(a.owners)["陈静"] <= 2


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        ("2026-03-06 10:00", 2, "2026-03-06 12:00"),
        ("2026-03-06 17:00", 4, "2026-03-09 12:00"),  # Friday evening: 1 h then Monday 3 h
        ("2026-03-07 11:00", 2, "2026-03-09 11:00"),  # Saturday: starts Monday 09:00
        ("2026-03-06 20:00", 24, "2026-03-11 15:00"),  # 24 working hours = 2 days 6 hours
        ("2026-03-06 08:00", 9, "2026-03-06 18:00"),
    ],
)
def test_sla_in_working_hours_across_a_weekend(start, hours, expected):
    wh = routing(
        working_hours={
            "start": "09:00",
            "end": "18:00",
            "days": ["mon", "tue", "wed", "thu", "fri"],
        }
    ).working_hours
    assert add_working_hours(pd.Timestamp(start), hours, wh) == pd.Timestamp(expected)


def test_sla_without_working_hours_counts_the_clock():
    frame = leads([{"grade": "S"}, {"grade": "B"}, {"grade": None}])
    a = assign(frame, routing(), RotationState(), by="round-robin", now=NOW)
    out, log = apply_assignment(frame, a, now=NOW)
    assert out["first_contact_due"].tolist() == [
        pd.Timestamp(NOW) + pd.Timedelta(hours=h) for h in (2, 4, 24)
    ]
    assert out["assigned_at"].tolist() == [pd.Timestamp(NOW)] * 3
    assert log["column"].tolist() == ["owner"] * 3 and log["new"].tolist() == out["owner"].tolist()


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("team: []\nsla_hours: {S: 2, A: 2, B: 4, C: 24}\n", "at least 1"),
        ("team:\n  - {name: a}\n  - {name: a}\nsla_hours: {S: 2, A: 2, B: 4, C: 24}\n", "unique"),
        (
            "team:\n  - {name: a}\nrules:\n  - {to: {reps: [b]}}\nsla_hours: {S: 2, A: 2, B: 4, C: 24}\n",
            "unknown rep",
        ),
        ("team:\n  - {name: a, level: boss}\nsla_hours: {S: 2, A: 2, B: 4, C: 24}\n", "level"),
        ("team:\n  - {name: a}\nsla_hours: {S: 2}\n", "every grade"),
        (
            "team:\n  - {name: a, away_from: 2026-03-09, away_to: 2026-03-01}\nsla_hours: {S: 2, A: 2, B: 4, C: 24}\n",
            "before away_from",
        ),
    ],
)
def test_rule_file_errors(tmp_path, yaml_text, message):
    path = tmp_path / "routing.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        load_yaml_model(path, RoutingRules)
    assert message in str(exc.value) and "routing.yaml" in str(exc.value)


def test_assign_cli_keeps_fairness_state_and_dry_run_writes_nothing(workspace, cli, data_dir):
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-06T10:00", "-q")
    before = (workspace / "leads.xlsx").read_bytes()
    dry = cli("assign", "--by", "round-robin", "--dry-run", "--json", "--as-of", "2026-03-06T10:00")
    assert dry.exit_code == 0 and len(json.loads(dry.stdout)["assigned"]) == 4
    assert (workspace / "leads.xlsx").read_bytes() == before
    assert not (workspace / ".leadkit" / "routing.json").exists()
    result = cli("assign", "--by", "round-robin", "--json", "--as-of", "2026-03-06T10:00")
    assert result.exit_code == 0
    state = json.loads((workspace / ".leadkit" / "routing.json").read_text(encoding="utf-8"))
    assert state["seq"] == 4
    leads_ = pipeline.load(pipeline.context(cwd=workspace)).leads
    assert leads_["owner"].notna().all() and leads_["first_contact_due"].notna().all()
    assert cli("assign", "--by", "magic").exit_code == 2


@settings(max_examples=60, deadline=None)
@given(
    reps=st.lists(
        st.tuples(st.sampled_from([0.5, 1.0, 2.0, 3.0]), st.integers(0, 6), st.integers(-1, 4)),
        min_size=1,
        max_size=6,
    ),
    groups=st.lists(st.sets(st.integers(0, 5), min_size=1), min_size=1, max_size=3),
    leads=st.lists(st.tuples(st.integers(0, 2), st.integers(-1, 5)), max_size=40),
    strategy=st.sampled_from(["fair", "load", "round-robin"]),
)
def test_queue_picks_what_the_brute_force_picker_picks(reps, groups, leads, strategy):
    """The heap queues choose exactly the rep a full scan of the candidates would, lead by lead."""
    team = [Rep(name=f"r{i}", weight=w, capacity=c) for i, (w, c, _) in enumerate(reps)]
    state = RotationState(
        given={t.name: float(max(g, 0)) for t, (_, _, g) in zip(team, reps, strict=True) if g >= 0},
        last={t.name: g for t, (_, _, g) in zip(team, reps, strict=True) if g >= 0},
        seq=5,
    )
    bases = [np.array(sorted(i for i in g if i < len(team)), dtype=np.int64) for g in groups]
    heap_picker = Picker(team, RotationState.from_json(state.to_json()), {})
    scan_picker = Picker(team, RotationState.from_json(state.to_json()), {})
    queues: dict[int, Queue] = {}
    heap_full, scan_full = heap_picker.full(), scan_picker.full()
    for group, previous in leads:
        base = bases[group % len(bases)]
        previous = previous if previous < len(team) else -1
        if group not in queues:
            queues[group] = Queue(heap_picker, base, strategy)
        by_heap = queues[group].pick(heap_full, previous, base)
        candidates = base[~scan_full[base] & (base != previous)]
        by_scan = scan_picker.pick(candidates, strategy) if candidates.size else -1
        assert by_heap == by_scan
        for picker, full in ((heap_picker, heap_full), (scan_picker, scan_full)):
            if by_scan >= 0:
                picker.record(by_scan)
                full[by_scan] = picker.open[by_scan] >= picker.capacity[by_scan]


def test_pool_reasons_name_the_real_cause():
    # nobody covers 西北
    _, a = owners_of([{"region": "西北"}], "region")
    assert a.pool["reason"].tolist() == [
        "no rep on the team covers it (region 西北); add one in routing.yaml"
    ]
    # the only rep for 华南 is on holiday
    away = [{**r, "away_from": "2026-03-01", "away_to": "2026-03-31"} if r["name"] == "张伟" else r
            for r in TEAM]  # fmt: skip
    _, a = owners_of([{"region": "华南"}], "region", rules=routing(team=away))
    assert a.pool["reason"].tolist() == ["every rep for it is away or inactive today (region 华南)"]
    # the only rep for 华南 is full
    full = [{**r, "capacity": 0} if r["name"] == "张伟" else r for r in TEAM]
    _, a = owners_of([{"region": "华南"}], "region", rules=routing(team=full))
    assert a.pool["reason"].tolist() == ["every rep for it is at capacity (region 华南)"]
    # a rule whose reps are all away (a rule naming nobody is refused when the rules load)
    rules = routing(team=away, rules=[{"name": "south", "to": {"team": "南"}}])
    _, a = owners_of([{"region": "华东"}], "rules", rules=rules)
    assert a.pool["reason"].tolist() == [
        "every rep for it is away or inactive today (rule 'south')"
    ]


def test_assigned_by_records_the_rule_and_strategy():
    frame = leads([{"grade": "S"}, {"region": "华北"}, {"budget": 80}])
    a = assign(frame, routing(), RotationState(), by="rules", now=NOW)
    out, _ = apply_assignment(frame.assign(assigned_by=None), a, now=NOW)
    assert out["assigned_by"].tolist() == [
        "rule: S (fair)",
        "rule: north (fair)",
        "rule: big (load)",
    ]
    a = assign(frame, routing(), RotationState(), by="load", now=NOW)
    out, _ = apply_assignment(frame.assign(assigned_by=None), a, now=NOW)
    assert set(out["assigned_by"]) == {"by load (load)"}


def test_text_a_person_typed_in_a_date_column_survives_an_assignment(workspace, cli, data_dir):
    import openpyxl

    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-06T10:00", "-q")
    rep = pipeline.context(cwd=workspace).rules.routing.team[0].name
    wb = openpyxl.load_workbook(workspace / "leads.xlsx")
    ws = wb["线索"]
    col = {c.value: c.column for c in ws[1]}
    ws.cell(2, col["负责人"], rep)
    ws.cell(2, col["分配时间"], "待定")  # the rep took it by phone; the time is still to be filled
    wb.save(workspace / "leads.xlsx")
    result = cli("assign", "--by", "round-robin", "--json", "--as-of", "2026-03-06T10:00")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["assigned"]) == 3
    ws = openpyxl.load_workbook(workspace / "leads.xlsx")["线索"]
    assert ws.cell(2, col["分配时间"]).value == "待定"
    assert isinstance(ws.cell(3, col["分配时间"]).value, dt.datetime)
