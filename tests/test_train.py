from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit import bookio, pipeline
from leadkit.rules.loader import Rules
from leadkit.rules.scoring import ScoringRules
from leadkit.steps.train import NotEnoughHistory, history_features, load_model, suggest_cutoffs
from leadkit.steps.train import train as train_model

NOW = dt.datetime(2026, 3, 10, 9, 0)


def history(n: int, seed: int = 3) -> pd.DataFrame:
    """Closed leads where bigger budgets and partner referrals win: a pattern to find."""
    rng = np.random.default_rng(seed)
    budget = rng.choice([2, 5, 10, 20, 50, 100], n)
    source = rng.choice(["website", "partner", "social"], n)
    logit = -2.5 + 0.05 * budget + 1.2 * (source == "partner")
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    created = pd.Timestamp("2025-06-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    return pd.DataFrame({
        "lead_id": [f"H{i}" for i in range(n)], "created_at": created, "source": source,
        "industry": rng.choice(["制造业", "软件/IT"], n), "region": rng.choice(["华东", "华南"], n),
        "budget": budget.astype(float), "employees": rng.choice([20, 300, 2000], n).astype(float),
        "title": rng.choice(["工程师", "经理", "总监"], n), "status": np.where(won, "won", "lost"),
        "closed_at": created + pd.Timedelta(days=30), "duplicate_of": None,
    })  # fmt: skip


def test_train_finds_the_pattern(rules):
    t = train_model(history(400), pd.DataFrame(), rules.scoring, now=NOW, tz="Asia/Shanghai")
    assert t.auc > 0.75
    assert t.won + t.lost == 400
    assert set(t.model["features"]) >= {"points_budget", "behaviour", "source", "log_budget"}
    assert t.model["metrics"]["auc"] == pytest.approx(t.auc)
    assert list(t.grades["grade"]) == ["S", "A", "B", "C"]
    assert t.grades["leads"].sum() == 400
    assert list(t.thresholds["boundary"]) == ["S", "A", "B"]
    suggested = t.thresholds["suggested"].tolist()
    assert suggested[0] > suggested[1] > suggested[2]


def test_train_on_noise_is_near_chance(rules):
    frame = history(400)
    frame["status"] = np.random.default_rng(9).permutation(frame["status"].to_numpy())
    t = train_model(frame, pd.DataFrame(), rules.scoring, now=NOW, tz="Asia/Shanghai")
    assert 0.3 < t.auc < 0.65


def test_refuses_tiny_histories_and_says_how_many(rules):
    frame = history(400)
    frame.loc[frame["status"] == "won", "status"] = ["won"] * 10 + ["new"] * (
        int((frame["status"] == "won").sum()) - 10
    )
    with pytest.raises(NotEnoughHistory) as exc:
        train_model(frame, pd.DataFrame(), rules.scoring, now=NOW, tz="Asia/Shanghai")
    assert "at least 20 won" in str(exc.value) and "10 won" in str(exc.value)


def write_history_book(path, frame, columns):
    book = bookio.new_book(path, "zh", columns)
    book.append("leads", frame)
    bookio.save_book(book, columns, state_dir=path.parent / ".leadkit", command="test", as_of=NOW)


def test_train_then_score_round_trip(workspace, cli, rules, data_dir):
    write_history_book(workspace / "history.xlsx", history(300), rules.columns)
    result = cli("train", "history.xlsx", "--as-of", "2026-03-10", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["auc"] > 0.7
    model = load_model(workspace / ".leadkit")
    assert model is not None and model["trained_at"].startswith("2026-03-10")
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-10", "-q")
    scored = cli("score", "--as-of", "2026-03-10")
    assert "using the model trained 2026-03-10" in scored.stderr
    leads = pipeline.load(pipeline.context(cwd=workspace)).leads
    assert leads["score_detail"].str.contains("预测[+-]", regex=True).all()


def test_train_refusal_exits_1(workspace, cli, rules):
    write_history_book(workspace / "history.xlsx", history(30), rules.columns)
    result = cli("train", "history.xlsx")
    assert result.exit_code == 1
    assert "needs at least 20 won" in result.stderr
    assert load_model(workspace / ".leadkit") is None


def test_grade_warning_when_grades_do_not_convert_in_order(rules):
    frame = history(400)
    # invert the outcome: the biggest budgets lose
    frame["status"] = np.where(
        frame["budget"] >= 50, "lost", np.where(frame["budget"] <= 5, "won", frame["status"])
    )
    t = train_model(frame, pd.DataFrame(), rules.scoring, now=NOW, tz="Asia/Shanghai")
    assert any("not more than grade" in w for w in t.warnings)


def test_samples_history_trains_clearly_above_chance(tmp_path):
    from leadkit import demo

    outcome = demo.run(tmp_path / "d", as_of="2026-03-01T09:00")
    assert outcome.training is not None and outcome.training.auc > 0.65
    assert outcome.score is not None and outcome.score.model is not None


def events_for(frame: pd.DataFrame, days_after: float, kind: str = "预约演示") -> pd.DataFrame:
    """One event per lead, `days_after` its arrival, tied by lead ID."""
    return pd.DataFrame({
        "time": pd.to_datetime(frame["created_at"]) + pd.Timedelta(days=days_after),
        "lead_id": frame["lead_id"], "phone": None, "email": None, "event": kind, "detail": None,
    })  # fmt: skip


def test_behaviour_after_arrival_cannot_change_the_training_features(rules):
    frame = history(200)
    frame["closed_at"] = pd.to_datetime(frame["created_at"]) + pd.Timedelta(days=60)
    early = events_for(frame, 2, "查看价格")
    base, won, _, _ = history_features(frame, early, rules.scoring, now=NOW, tz="Asia/Shanghai")
    # the deals that were won saw demos and inquiries later on: outcome-driven behaviour
    winners = frame[frame["status"] == "won"]
    late = pd.concat([early, events_for(winners, 8), events_for(winners, 30, "咨询"),
                      events_for(winners, 61, "咨询")])  # fmt: skip
    again, _, _, _ = history_features(frame, late, rules.scoring, now=NOW, tz="Asia/Shanghai")
    pd.testing.assert_frame_equal(base, again)
    assert (base["behaviour"] > 0).all() and (base["events_seen"] == 1).all()
    # inside the window the same events do count: the features can change
    inside = pd.concat([early, events_for(winners, 5)])
    moved, _, _, _ = history_features(frame, inside, rules.scoring, now=NOW, tz="Asia/Shanghai")
    assert (moved.loc[won, "events_seen"] == 2).all() and (
        moved.loc[~won, "events_seen"] == 1
    ).all()
    # a deal closed inside the window: nothing after the close counts either
    quick = frame.assign(closed_at=pd.to_datetime(frame["created_at"]) + pd.Timedelta(days=1))
    q, _, _, _ = history_features(quick, early, rules.scoring, now=NOW, tz="Asia/Shanghai")
    assert (q["events_seen"] == 0).all()


def test_a_time_split_with_a_calibrated_model_and_an_interval(rules):
    frame = history(600)
    t = train_model(frame, pd.DataFrame(), rules.scoring, now=NOW, tz="Asia/Shanghai")
    assert t.train_size + t.test_size == 600 and t.test_size == 150
    closed_at = pd.to_datetime(frame["closed_at"]).sort_values()
    assert t.split_at == f"{closed_at.iloc[449]:%Y-%m-%d}"  # tested on the 150 latest closes
    assert set(t.candidates) == {"naive_bayes", "logistic", "gradient_boosting"}
    assert t.estimator == max(t.candidates, key=t.candidates.get)
    assert t.auc == pytest.approx(t.candidates[t.estimator])
    assert t.auc_low < t.auc < t.auc_high and t.auc_high - t.auc_low < 0.25
    cal = t.calibration
    assert cal["leads"].sum() == 150 and len(cal) == 5
    assert cal["predicted"].is_monotonic_increasing
    # calibrated: on average the predictions are the won rate (within a few points)
    overall = (cal["predicted"] * cal["leads"]).sum() / 150
    won_rate = (cal["won_rate"] * cal["leads"]).sum() / 150
    assert abs(overall - won_rate) < 0.08
    assert t.model["metrics"]["base_rate"] == pytest.approx(t.won / 600)
    assert t.model["metrics"]["window_days"] == 7


def test_training_needs_both_outcomes_after_the_split(rules):
    frame = history(400)
    late = pd.to_datetime(frame["closed_at"]) >= pd.to_datetime(frame["closed_at"]).quantile(0.7)
    frame.loc[late, "status"] = "won"
    with pytest.raises(NotEnoughHistory) as exc:
        train_model(frame, pd.DataFrame(), rules.scoring, now=NOW, tz="Asia/Shanghai")
    assert "later closes" in str(exc.value)


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=60),
    seed=st.integers(0, 10_000),
    mins=st.sampled_from([(80, 60, 40), (99, 98, 97), (3, 2, 1), (50, 49, 1), (90, 10, 9)]),
)
def test_suggested_cutoffs_are_always_valid(scores, seed, mins):
    srules = Rules().scoring
    grades = [{"grade": g, "min": m} for g, m in zip("SAB", mins, strict=True)]
    current = ScoringRules.model_validate(
        {**srules.model_dump(), "grades": [*grades, {"grade": "C", "min": 0}]}
    )
    won = pd.Series(np.random.default_rng(seed).random(len(scores)) < 0.4)
    table = suggest_cutoffs(pd.Series(scores), won, current)
    suggested = table["suggested"].tolist()
    assert suggested == sorted(suggested, reverse=True) and len(set(suggested)) == 3
    proposal = [{"grade": g, "min": m} for g, m in zip("SAB", suggested, strict=True)]
    ScoringRules.model_validate(
        {**srules.model_dump(), "grades": [*proposal, {"grade": "C", "min": 0}]}
    )
