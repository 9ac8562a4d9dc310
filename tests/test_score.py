from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from leadkit import pipeline
from leadkit.errors import RuleError
from leadkit.rules import Rules, default_rules_dir, load_yaml_model
from leadkit.score import (
    Cut,
    ScoringRules,
    attribute_points,
    behaviour_points,
    events_by_lead,
    ladder,
    score_leads,
)

NOW = dt.datetime(2026, 3, 10, 9, 0)
TZ = "Asia/Shanghai"


@pytest.fixture
def srules(rules) -> ScoringRules:
    return rules.scoring


def leads(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["lead_id"] = [f"L{i + 1}" for i in range(len(frame))]
    for col in ("created_at", "employees", "revenue", "budget", "purchase_timeline", "need", "notes",
                "title", "decision_maker", "tags", "duplicate_of", "phone", "email", "intent", "lost_reason"):  # fmt: skip
        if col not in frame:
            frame[col] = None
    frame["created_at"] = pd.to_datetime(frame["created_at"]).fillna(pd.Timestamp(NOW))
    return frame


def points(srules, rows) -> pd.DataFrame:
    frame = leads(rows)
    return attribute_points(frame, srules, pd.Series(pd.Timestamp(NOW), index=frame.index), TZ)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"employees": 350}, 24),
        ({"employees": 99}, 10),
        ({"revenue": 2500}, 24),
        ({"employees": 50, "revenue": 12000}, 30),  # the better of the two
        ({}, 0),
    ],
)
def test_size_points(srules, row, expected):
    assert points(srules, [row])["size"].iloc[0] == expected


@pytest.mark.parametrize(
    ("budget", "expected"), [(120, 30), (60, 26), (20, 20), (5, 8), (4.9, 0), (None, 0)]
)
def test_budget_points_and_the_product_minimum(srules, budget, expected):
    assert points(srules, [{"budget": budget}])["budget"].iloc[0] == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"purchase_timeline": "1个月内"}, 16),
        ({"purchase_timeline": "本季度"}, 12),
        ({"purchase_timeline": "预计半年内采购"}, 7),  # a phrase inside a sentence
        ({"purchase_timeline": "暂无计划"}, 0),
        ({"purchase_timeline": "2026-04-01"}, 16),  # a date 22 days away
        ({"purchase_timeline": "2026-08-01"}, 7),
        ({"purchase_timeline": "2025-12-01"}, 0),  # long overdue: stale
        ({"purchase_timeline": "1个月内", "need": "系统到期，尽快替换"}, 20),
        ({"purchase_timeline": "1个月内", "created_at": "2026-01-01"}, 0),  # said two months ago
    ],
)
def test_urgency_points(srules, row, expected):
    assert points(srules, [row])["urgency"].iloc[0] == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"title": "CEO"}, 20),
        ({"title": "IT总监"}, 16),
        ({"title": "采购经理"}, 12),
        ({"title": "工程师"}, 5),
        ({"title": "工程师", "decision_maker": "王总"}, 10),
        ({}, 0),
    ],
)
def test_decision_chain_points(srules, row, expected):
    assert points(srules, [row])["decision"].iloc[0] == expected


def test_behaviour_decays_with_half_life_and_is_capped(srules):
    frame = leads([{"phone": "13812345678"}, {"email": "a@corp.cn"}, {}])
    events = pd.DataFrame({
        "time": ["2026-03-10 09:00", "2026-02-24 09:00", "2026-02-10 09:00", "2026-03-12 09:00", "2026-03-01"],
        "lead_id": [None, None, None, None, "L3"],
        "phone": ["138 1234 5678", "+86 13812345678", "13812345678", "13812345678", None],
        "email": [None, None, None, None, None],
        "event": ["查看价格", "pricing_page", "下载资料", "咨询", "预约演示"],
        "detail": None,
    })  # fmt: skip
    matched = events_by_lead(events, frame, srules, TZ)
    got = behaviour_points(matched, frame, srules, pd.Series(pd.Timestamp(NOW), index=frame.index))
    # pricing now 5 + pricing 14 days ago 2.5 + download 28 days ago 4/4 = 1; the future inquiry: 0
    assert got.iloc[0] == pytest.approx(8.5)
    assert got.iloc[1] == 0
    assert got.iloc[2] == pytest.approx(12 * 0.5 ** ((9 + 9 / 24) / 14))  # midnight to 09:00
    many = pd.DataFrame(
        {"time": ["2026-03-10"] * 10, "lead_id": ["L1"] * 10, "event": ["预约演示"] * 10}
    )
    capped = behaviour_points(
        events_by_lead(many, frame, srules, TZ),
        frame,
        srules,
        pd.Series(pd.Timestamp(NOW), index=frame.index),
    )
    assert capped.iloc[0] == srules.behaviour.cap


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (100, "S"),
        (80, "S"),
        (79.999, "A"),
        (60, "A"),
        (59.99, "B"),
        (40, "B"),
        (39.9, "C"),
        (0, "C"),
    ],
)
def test_grade_thresholds_at_their_boundaries(srules, score, grade):
    assert ladder(pd.Series([score]), srules.grades).iloc[0] == grade


@pytest.mark.parametrize(
    ("score", "action"), [(60, "contact_now"), (59.9, "nurture"), (30, "nurture"), (29.9, "hold")]
)
def test_action_bands(srules, score, action):
    assert ladder(pd.Series([score]), srules.actions).iloc[0] == action


def test_score_blend_detail_tags_and_intent(srules):
    frame = leads([{
        "employees": 400, "budget": 60, "purchase_timeline": "1个月内", "title": "IT总监",
        "need": "和竞品对比中，预算有限", "tags": "老客户",
    }])  # fmt: skip
    scored = score_leads(frame, pd.DataFrame(), srules, now=NOW, tz=TZ, lang="zh")
    # attributes 24+26+16+16 = 82, behaviour 0; without a model: 82 x 0.75/0.9
    assert scored.score.iloc[0] == pytest.approx(round(82 * 0.75 / 0.9, 1))
    assert scored.detail.iloc[0] == "规模24/预算26/紧急度16/决策链16/行为0"
    assert scored.grade.iloc[0] == "A" and scored.action.iloc[0] == "contact_now"
    assert scored.tags.iloc[0] == "老客户;竞品对比中;价格敏感"
    assert scored.intent.iloc[0] == "B"
    assert scored.weights["predicted"] == 0


def test_merged_rows_are_not_scored(srules):
    frame = leads([{"budget": 60}, {"budget": 60, "duplicate_of": "L1"}])
    scored = score_leads(frame, pd.DataFrame(), srules, now=NOW, tz=TZ, lang="zh")
    assert scored.score.index.tolist() == [0]


def bad_rules(tmp_path, old: str, new: str):
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder)
    text = (folder / "scoring.yaml").read_text(encoding="utf-8")
    assert old in text
    (folder / "scoring.yaml").write_text(text.replace(old, new), encoding="utf-8")
    return folder / "scoring.yaml"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "{min: 300, points: 24}, {min: 100, points: 18}",
            "{min: 100, points: 18}, {min: 300, points: 24}",
            "from the highest min down",
        ),
        (
            "{min: 1000, points: 30}, {min: 300",
            "{min: 1000, points: 35}, {min: 300",
            "more than the dimension's max",
        ),
        ("  predicted: 0.10", "  predicted: 0.20", "add up to 1"),
        ("  - {grade: C, min: 0}", "  - {grade: C, min: 10}", "must start at 0"),
        ("  - {grade: A, min: 60}", "  - {grade: A, min: 85}", "without overlaps"),
        ("half_life_days: 14", "half_life_days: 14\n  decay: fast", "Extra inputs"),
        ("    en: Size\n    max: 30", "    en: Size\n    max: 40", "add up to 100"),
    ],
)
def test_rule_file_errors_have_file_and_line(tmp_path, old, new, message):
    path = bad_rules(tmp_path, old, new)
    with pytest.raises(RuleError) as exc:
        load_yaml_model(path, ScoringRules)
    assert message in str(exc.value)
    assert "scoring.yaml" in str(exc.value) and "line" in str(exc.value)


def test_cut_labels():
    assert Cut(grade="S", min=80).label == "S"


def test_score_cli_writes_grades_logs_changes_and_explains(workspace, cli, data_dir, tmp_path):
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-10", "-q")
    ev = tmp_path / "ev.csv"
    ev.write_text(
        "时间,手机号,行为\n2026-03-09 10:00,13812345678,预约演示\n2026-03-09 11:00,13812345678,查看价格\n",
        encoding="utf-8",
    )
    assert cli("import", ev, "--events", "--as-of", "2026-03-10", "-q").exit_code == 0
    result = cli("score", "--as-of", "2026-03-10T09:00", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["scored"] == 4 and payload["model"] is None
    leads_ = pipeline.load(pipeline.context(cwd=workspace)).leads.set_index("lead_id")
    wang = leads_.loc["LX2026000001"]
    assert wang["grade"] in {"S", "A", "B", "C"} and 0 <= wang["score"] <= 100
    assert "行为" in wang["score_detail"]
    behaviour = float(wang["score_detail"].split("行为")[1])
    assert behaviour == pytest.approx(
        12 * 0.5 ** ((23 / 24) / 14) + 5 * 0.5 ** ((22 / 24) / 14), abs=0.06
    )

    # a later run with more budget changes the grade: logged
    def richer(book):
        book.leads["budget"] = book.leads["budget"].astype(object)
        book.leads.loc[book.leads.index[0], ["budget", "employees", "title"]] = [200, 5000, "CEO"]

    pipeline.update_book(pipeline.context(cwd=workspace), "test", richer)
    cli("score", "--as-of", "2026-03-10T09:00", "-q")
    log = pipeline.load(pipeline.context(cwd=workspace)).sheets["log"]
    changes = log[(log["command"] == "score") & (log["lead_id"] == "LX2026000001")]
    assert changes[["column", "old"]].values.tolist() == [["grade", wang["grade"]]]
    explained = cli("score", "--explain", "LX2026000001", "--as-of", "2026-03-10T09:00", "--json")
    rules_fired = json.loads(explained.stdout)["rules"]
    assert any("keyword 'CEO'" in r["rule"] and r["result"] == "20" for r in rules_fired)
    assert any(r["part"] == "行为" and "demo_request" in r["rule"] for r in rules_fired)
    assert cli("score", "--explain", "NOPE").exit_code == 2


def test_score_dry_run_writes_nothing(workspace, cli, data_dir):
    cli("import", data_dir / "web_small.csv", "-q")
    before = (workspace / "leads.xlsx").read_bytes()
    assert cli("score", "--dry-run", "-q").exit_code == 0
    assert (workspace / "leads.xlsx").read_bytes() == before


def test_workspace_rules_are_used(workspace, cli, data_dir):
    text = (workspace / "rules" / "scoring.yaml").read_text(encoding="utf-8")
    (workspace / "rules" / "scoring.yaml").write_text(
        text.replace("  - {grade: S, min: 80}", "  - {grade: S, min: 1}"), encoding="utf-8"
    )
    cli("import", data_dir / "web_small.csv", "-q")
    assert cli("score", "-q").exit_code == 2  # A 60 above S 1: not in order
    assert Rules(workspace / "rules").folder == workspace / "rules"


def test_explain_a_merged_lead_says_so(workspace, cli, data_dir):
    cli("import", data_dir / "web_small.csv", "-q")

    def merge_one(book):
        book.leads["duplicate_of"] = book.leads["duplicate_of"].astype(object)
        book.leads.loc[book.leads.index[1], "duplicate_of"] = "LX2026000001"

    pipeline.update_book(pipeline.context(cwd=workspace), "test", merge_one)
    result = cli("score", "--explain", "LX2026000002")
    assert result.exit_code == 0 and "merged, not scored" in result.stdout
