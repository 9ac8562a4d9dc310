"""Train step: learn the predictive score from the team's own closed leads (won = 成交, lost = 流失).

A scikit-learn logistic regression on attribute points, behaviour, size/budget numbers, urgency,
and source / industry / region; its quality is measured by cross-validated ROC AUC, and the
history also says whether the grades mean anything and where better grade cut-offs would lie.
Each closed lead is described as it was when captured (its urgency and behaviour as of then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadkit.errors import ExitStatus, LeadkitError, Where
from leadkit.files import replacing
from leadkit.rules import CLOSED_STATUSES
from leadkit.score import (
    ScoringRules,
    attribute_points,
    behaviour_points,
    blend,
    events_by_lead,
    ladder,
    timeline_days,
)

CATEGORICAL = ["source", "industry", "region"]
MODEL_FILE = "model.joblib"


class NotEnoughHistory(LeadkitError):
    """Too few closed leads of one outcome to learn from."""

    exit_status = ExitStatus.DATA_PROBLEMS


def features(
    leads: pd.DataFrame, attrs: pd.DataFrame, behaviour: pd.Series, rules: ScoringRules,
    reference: pd.Series, tz: str,
) -> pd.DataFrame:  # fmt: skip
    """The model's inputs for each lead."""
    out = attrs.add_prefix("points_").copy()
    out["behaviour"] = behaviour.to_numpy()
    for column in ("employees", "revenue", "budget"):
        values = pd.to_numeric(leads.get(column), errors="coerce") if column in leads else np.nan
        out[f"log_{column}"] = np.log1p(pd.Series(values, index=leads.index).clip(lower=0))
    timeline = next((s for d in rules.attributes for s in d.scorers if s.kind == "timeline"), None)
    if timeline is not None:
        out["days_to_purchase"] = timeline_days(leads, timeline, reference, tz).clip(upper=730)
    for column in CATEGORICAL:
        values = leads[column] if column in leads else pd.Series(None, index=leads.index)
        out[column] = values.astype(object).where(values.notna(), "(blank)").astype(str)
    return out


def _pipeline(numeric: list[str]) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                          ("scale", StandardScaler())]), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=3), CATEGORICAL),
    ])  # fmt: skip
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=2000, C=0.5))])


def predict(model: dict[str, Any], leads: pd.DataFrame, attrs: pd.DataFrame, behaviour: pd.Series,
            rules: ScoringRules, reference: pd.Series, tz: str) -> pd.Series:  # fmt: skip
    """Won probability per lead from a saved model."""
    x = features(leads, attrs, behaviour, rules, reference, tz)
    for column in model["features"]:
        if column not in x:
            x[column] = np.nan
    proba = model["pipeline"].predict_proba(x[model["features"]])[:, 1]
    return pd.Series(proba, index=leads.index)


@dataclass
class Training:
    """What `leadkit train` learnt and how well."""

    won: int
    lost: int
    auc: float
    auc_std: float
    grades: pd.DataFrame  # grade, leads, won, won_rate
    thresholds: pd.DataFrame  # boundary, in use, suggested, won rate above/below
    model: dict[str, Any] = field(repr=False, default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _suggest_cutoffs(scores: pd.Series, won: pd.Series, rules: ScoringRules) -> pd.DataFrame:
    """For each grade boundary, the cut-off within reach that best separates won from lost.

    Best = largest Youden's J (share of won leads above minus share of lost leads above), searched
    between the neighbouring boundaries so the grades keep their order.
    """
    cuts = [c for c in rules.grades if c.min > 0]
    rows = []
    bounds = [100.0, *[c.min for c in cuts], 0.0]
    for i, cut in enumerate(cuts):
        upper, lower = bounds[i], bounds[i + 2]
        window = (scores >= lower) & (scores < upper)
        s, w = scores[window], won[window]
        best, best_j = cut.min, -np.inf
        if w.sum() and (~w).sum():
            for c in np.arange(lower + 1, upper, 1.0):
                j = (s[w] >= c).mean() - (s[~w] >= c).mean()
                if j > best_j + 1e-9:
                    best, best_j = float(c), j
        above, below = won[scores >= best], won[scores < best]
        rows.append({
            "boundary": f"{cut.grade}", "in_use": cut.min, "suggested": best,
            "won_rate_above": above.mean() if len(above) else np.nan,
            "won_rate_below": below.mean() if len(below) else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)


def train(
    leads: pd.DataFrame, events: pd.DataFrame, rules: ScoringRules, *, now: datetime, tz: str
) -> Training:
    """Fit and evaluate the model on the closed, non-merged leads."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    active = leads[leads["duplicate_of"].isna()] if "duplicate_of" in leads else leads
    closed = active[active["status"].isin(list(CLOSED_STATUSES))]
    won_mask = closed["status"] == "won"
    n_won, n_lost = int(won_mask.sum()), int((~won_mask).sum())
    need = rules.predictive.min_per_class
    if n_won < need or n_lost < need:
        raise NotEnoughHistory(
            f"needs at least {need} won (成交) and {need} lost (流失) leads to learn from; "
            f"the book has {n_won} won and {n_lost} lost (predictive.min_per_class in scoring.yaml)"
        )
    created = pd.to_datetime(closed["created_at"], errors="coerce").fillna(pd.Timestamp(now))
    reference = created  # describe each lead as it was when it came in
    attrs = attribute_points(closed, rules, reference, tz)
    matched = events_by_lead(events, leads, rules, tz)
    closed_at = pd.to_datetime(closed.get("closed_at"), errors="coerce").fillna(pd.Timestamp(now))
    behaviour = behaviour_points(matched, closed, rules, closed_at)
    x = features(closed, attrs, behaviour, rules, reference, tz)
    y = won_mask.astype(int).to_numpy()
    numeric = [c for c in x.columns if c not in CATEGORICAL]
    pipeline = _pipeline(numeric)
    folds = min(rules.predictive.folds, n_won, n_lost)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    aucs = cross_val_score(pipeline, x, y, cv=cv, scoring="roc_auc")
    pipeline.fit(x, y)

    base_score, _, _ = blend(attrs.sum(axis=1), behaviour, None, rules)
    grades = ladder(base_score, rules.grades)
    table = (
        pd.DataFrame({"grade": grades, "won": won_mask.to_numpy()})
        .groupby("grade")["won"].agg(leads="size", won="sum").reindex([c.grade for c in rules.grades]).fillna(0)
    )  # fmt: skip
    table["won_rate"] = (table["won"] / table["leads"]).where(table["leads"] > 0)
    warnings = []
    rates = table["won_rate"].tolist()
    labels = table.index.tolist()
    for hi, lo, r_hi, r_lo in zip(labels, labels[1:], rates, rates[1:], strict=False):
        if pd.notna(r_hi) and pd.notna(r_lo) and r_hi <= r_lo:
            warnings.append(
                f"grade {hi} won {r_hi:.0%} of its closed leads, not more than grade {lo} ({r_lo:.0%})"
            )
    model = {
        "pipeline": pipeline, "features": list(x.columns), "trained_at": now.isoformat(),
        "metrics": {"auc": float(aucs.mean()), "auc_std": float(aucs.std()), "won": n_won, "lost": n_lost},
    }  # fmt: skip
    return Training(
        won=n_won, lost=n_lost, auc=float(aucs.mean()), auc_std=float(aucs.std()),
        grades=table.reset_index(), thresholds=_suggest_cutoffs(base_score, won_mask, rules),
        model=model, warnings=warnings,
    )  # fmt: skip


def save_model(model: dict[str, Any], state_dir: Path) -> Path:
    """Store the model (pipeline, features, training date, metrics) in the workspace, atomically."""
    import joblib

    target = state_dir / MODEL_FILE
    with replacing(target) as tmp:
        joblib.dump(model, tmp)
    return target


def load_model(state_dir: Path) -> dict[str, Any] | None:
    """The workspace's trained model, or None. (A model file is the workspace's own, not input.)"""
    path = state_dir / MODEL_FILE
    if not path.exists():
        return None
    import joblib

    try:
        model = joblib.load(path)
    except (OSError, EOFError, ValueError, KeyError, AttributeError, ImportError) as exc:
        raise LeadkitError(
            f"cannot read the trained model ({exc}); run `leadkit train` again", Where(file=path)
        ) from None
    if not isinstance(model, dict) or "pipeline" not in model:
        raise LeadkitError("not a leadkit model; run `leadkit train` again", Where(file=path))
    return model
