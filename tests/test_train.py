from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from leadkit import bookio, pipeline
from leadkit.train import NotEnoughHistory, load_model
from leadkit.train import train as train_model

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
