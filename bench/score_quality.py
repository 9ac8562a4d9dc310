"""How well leadkit's score and model rank leads that close later than anything they learnt from.

python bench/score_quality.py [--leads 24000]

A labelled history (gen_history.py: a hidden pattern, and late behaviour that follows the outcome)
is split by close date: the earliest 70% of closes are the team's book as of the split day (with
the behaviour seen so far), `leadkit train` learns from it and prints its AUC; the latest 30% are
the holdout, each lead as it stood a week after it came in (its score a week or two in). On that holdout: leadkit's score (what
`score` would have written then, with the model), the score without the model, the blend mode,
leadkit's model alone, and two baselines fitted on the same book with the same fields: naive Bayes
over field values as Odoo's predictive lead scoring does, and gradient boosting. Last, the same
model trained the old way (behaviour up to the close) shows what leakage does. Results also go to
bench/out/score_quality.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pandas as pd
from common import OUT, fresh_workspace, leadkit
from gen_history import generate
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import OrdinalEncoder

from leadkit import bookio
from leadkit.rules.loader import Rules
from leadkit.steps.score import events_by_lead, score_leads
from leadkit.steps.score.points import arrival_features
from leadkit.steps.train import load_model
from leadkit.steps.train import train as train_model

TZ = "Asia/Shanghai"
WINDOW = pd.Timedelta(days=7)
FIELDS = ["source", "industry", "region", "title", "purchase_timeline", "employees", "budget"]
EARLY = ["浏览页面", "查看价格", "下载资料", "预约演示", "咨询", "参加直播", "打开邮件", "退订"]


def outsider_table(leads: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The raw fields as text, and the count of each event kind in the first week (and before the close)."""
    table = leads[FIELDS].astype(object).where(leads[FIELDS].notna(), "(blank)").astype(str)
    cutoff = leads.set_index("lead_id")["created_at"] + WINDOW
    cutoff = cutoff.where(
        cutoff <= leads.set_index("lead_id")["closed_at"], leads.set_index("lead_id")["closed_at"]
    )
    ev = events[events["lead_id"].isin(leads["lead_id"])]
    ev = ev[ev["time"] <= ev["lead_id"].map(cutoff)]
    counts = pd.crosstab(ev["lead_id"], ev["event"]).reindex(
        index=leads["lead_id"], columns=EARLY, fill_value=0
    )
    for kind in EARLY:
        table[f"n_{kind}"] = counts[kind].to_numpy()
    return table


def odoo_naive_bayes(train: pd.DataFrame, y: np.ndarray, test: pd.DataFrame) -> np.ndarray:
    """P(won | fields) the way Odoo's predictive lead scoring computes it: per field, the share of
    won and of lost leads with that value (Laplace-smoothed), multiplied with the prior."""
    log_won = np.full(len(test), np.log(y.mean()))
    log_lost = np.full(len(test), np.log(1 - y.mean()))
    for column in train.columns:
        values = (
            train[column].astype(str).clip(upper="3") if column.startswith("n_") else train[column]
        )
        test_values = (
            test[column].astype(str).clip(upper="3") if column.startswith("n_") else test[column]
        )
        levels = pd.unique(values)
        won_counts = values[y == 1].value_counts().reindex(levels, fill_value=0)
        lost_counts = values[y == 0].value_counts().reindex(levels, fill_value=0)
        k = len(levels) + 1
        p_won = (test_values.map(won_counts).fillna(0) + 1) / (y.sum() + k)
        p_lost = (test_values.map(lost_counts).fillna(0) + 1) / ((1 - y).sum() + k)
        log_won += np.log(p_won.to_numpy(dtype=float))
        log_lost += np.log(p_lost.to_numpy(dtype=float))
    return 1 / (1 + np.exp(log_lost - log_won))


def boosting(train: pd.DataFrame, y: np.ndarray, test: pd.DataFrame) -> np.ndarray:
    """Gradient boosting with its defaults on the same fields (text as categories)."""
    text = [c for c in train.columns if not c.startswith("n_")]
    enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    xt = np.column_stack([enc.fit_transform(train[text]), train.drop(columns=text).to_numpy(float)])
    xs = np.column_stack([enc.transform(test[text]), test.drop(columns=text).to_numpy(float)])
    mask = [True] * len(text) + [False] * (xt.shape[1] - len(text))
    model = HistGradientBoostingClassifier(categorical_features=mask, random_state=0).fit(xt, y)
    return model.predict_proba(xs)[:, 1]


def scored_a_week_in(leads: pd.DataFrame, events: pd.DataFrame, rules, model) -> pd.Series:
    """leadkit's score of each lead as `score` would have written it a week or two after it came in
    (the leads of one calendar week are scored together, seven days after the week's end)."""
    out = []
    open_leads = leads.assign(status="new", closed_at=pd.NaT, duplicate_of=None)
    week = open_leads["created_at"].dt.to_period("W").dt.end_time.dt.normalize()
    for end, group in open_leads.groupby(week):
        now = (end + pd.Timedelta(days=1) + WINDOW).to_pydatetime()
        mine = events[events["lead_id"].isin(group["lead_id"])]
        out.append(score_leads(group, mine, rules, now=now, tz=TZ, lang="zh", model=model).score)
    return pd.concat(out).reindex(leads.index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=24000)
    args = parser.parse_args()
    leads, events = generate(args.leads)
    order = leads["closed_at"].sort_values(kind="stable").index
    cut = int(len(order) * 0.7)
    book_ids, hold_ids = order[:cut], order[cut:]
    split = leads.loc[book_ids, "closed_at"].max()
    history = leads.loc[book_ids].drop(columns="won")
    holdout = leads.loc[hold_ids].reset_index(drop=True)
    y_hold = holdout["won"].to_numpy(dtype=int)
    seen = events[(events["time"] <= split) & events["lead_id"].isin(history["lead_id"])]

    ws = OUT / "quality_ws"
    fresh_workspace(ws)
    columns = Rules().columns
    book = bookio.new_book(ws / "leads.xlsx", "zh", columns)
    book.append("leads", history)
    book.append("events", seen.assign(phone=None, email=None, detail=None))
    bookio.save_book(book, columns, state_dir=ws / ".leadkit", command="bench", as_of=split)
    as_of = f"{split:%Y-%m-%dT%H:%M}"
    run = subprocess.run(
        [leadkit(), "train", "--as-of", as_of, "--json"],
        cwd=ws,
        capture_output=True,
        text=True,
        check=True,
    )
    printed = json.loads(run.stdout)
    rules = Rules().scoring
    model = load_model(ws / ".leadkit")
    assert model is not None

    # leadkit on the holdout, each lead as it stood a week in
    matched = events_by_lead(events, holdout, rules, TZ)
    x = arrival_features(holdout, matched, rules, TZ, window_days=7, until=holdout["closed_at"])
    for column in model["features"]:
        if column not in x:
            x[column] = np.nan
    p_model = model["pipeline"].predict_proba(x[model["features"]])[:, 1]
    with_model = scored_a_week_in(holdout, events, rules, model)
    without_model = scored_a_week_in(holdout, events, rules, None)
    blend_rules = rules.model_copy(
        update={"score": rules.score.model_copy(update={"base": "blend"})}
    )
    blended = scored_a_week_in(holdout, events, blend_rules, model)

    # the baselines, fitted on the same book (its leads and the behaviour seen by the split day)
    y_book = leads.loc[book_ids, "won"].to_numpy(dtype=int)
    t_book, t_hold = outsider_table(history, seen), outsider_table(holdout, events)
    p_nb = odoo_naive_bayes(t_book, y_book, t_hold)
    p_gb = boosting(t_book, y_book, t_hold)

    # the old way: every closed lead described by its behaviour up to the close
    book_frame = history.assign(duplicate_of=None)
    leaky_rules = rules.model_copy(
        update={"predictive": rules.predictive.model_copy(update={"window_days": 3650.0})}
    )
    leaky = train_model(book_frame, seen, leaky_rules, now=split.to_pydatetime(), tz=TZ)
    p_leaky = leaky.model["pipeline"].predict_proba(x[leaky.model["features"]])[:, 1]

    auc = lambda p: float(roc_auc_score(y_hold, p))  # noqa: E731
    rows = [
        ("leadkit score (attributes + behaviour + model)", None, auc(with_model)),
        ("leadkit score without a model", None, auc(without_model)),
        ("leadkit score, blend mode", None, auc(blended)),
        (f"leadkit model alone ({printed['estimator']})", printed["auc"], auc(p_model)),
        ("naive Bayes, Odoo-style (baseline)", None, auc(p_nb)),
        ("gradient boosting (baseline)", None, auc(p_gb)),
        ("leadkit model fed behaviour up to the close (leaky)", leaky.auc, auc(p_leaky)),
    ]
    print(
        f"{len(history)} closes to {split:%Y-%m-%d} in the book ({len(seen)} events), "
        f"{len(holdout)} later closes held out (won rate {y_hold.mean():.2f})"
    )
    print(
        "leadkit train, on its own split of the book: "
        + ", ".join(f"{k} {v:.3f}" for k, v in printed["candidates"].items())
        + f"; kept: 95% CI {printed['auc_ci'][0]:.3f}-{printed['auc_ci'][1]:.3f}"
    )
    print(f"{'':54} {'printed':>8} {'holdout':>8}")
    for name, said, got in rows:
        print(f"{name:54} {'' if said is None else f'{said:.3f}':>8} {got:.3f}")
    best_baseline = max(auc(p_nb), auc(p_gb))
    checks = {
        "model >= best baseline": auc(p_model) >= best_baseline,
        "printed AUC within 0.02 of the holdout": abs(printed["auc"] - auc(p_model)) <= 0.02,
    }
    for what, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
    OUT.mkdir(exist_ok=True)
    (OUT / "score_quality.json").write_text(
        json.dumps({"rows": [{"name": n, "printed": s, "holdout": g} for n, s, g in rows],
                    "checks": checks}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )  # fmt: skip
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
