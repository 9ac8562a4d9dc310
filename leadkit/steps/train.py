"""Train step: learn the predictive score from the team's own closed leads (won = 成交, lost = 流失).

Every closed lead is described as it stood when it came in: its attributes as of created_at and its
behaviour up to created_at + `window_days` (never after it closed), so what a deal does after it is
won cannot leak into the model. The candidates (naive Bayes over binned fields as Odoo does, logistic
regression, gradient boosting; scikit-learn) are fitted on the earlier closes and measured on the
later ones; the best is kept, its probabilities calibrated, and its ROC AUC on that split (with a
bootstrap 95% interval) and a calibration table are what `leadkit train` prints. The history also says
whether the grades mean anything and where better grade cut-offs would lie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadkit.errors import ExitStatus, LeadkitError, Where
from leadkit.files import replacing
from leadkit.rules.base import CLOSED_STATUSES
from leadkit.rules.scoring import ScoringRules
from leadkit.steps.score import combine, events_by_lead, ladder
from leadkit.steps.score.points import CATEGORICAL, arrival_features

MODEL_FILE = "model.joblib"
ESTIMATOR_NAMES = {
    "naive_bayes": "naive Bayes",
    "logistic": "logistic regression",
    "gradient_boosting": "gradient boosting",
}


class NotEnoughHistory(LeadkitError):
    """Too few closed leads of one outcome to learn from."""

    exit_status = ExitStatus.DATA_PROBLEMS


# ---------------------------------------------------------------------------------------------
# Estimators


def estimator(name: str, numeric: list[str]) -> Any:
    """An unfitted scikit-learn pipeline of one candidate kind."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import CategoricalNB
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    from leadkit.steps.binning import Binner

    if name == "naive_bayes":
        binner = Binner(categorical=CATEGORICAL)
        return Pipeline([
            ("bins", binner), ("model", CategoricalNB(alpha=1.0, min_categories=binner.codes_)),
        ])  # fmt: skip
    if name == "logistic":
        prep = ColumnTransformer([
            ("num", Pipeline([
                ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                ("scale", StandardScaler()),
            ]), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=3), CATEGORICAL),
        ])  # fmt: skip
        return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=2000, C=0.5))])
    prep = ColumnTransformer([
        ("num", "passthrough", numeric),
        # negative codes (unknown, or too rare) are treated as missing by the booster
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                               encoded_missing_value=-1, min_frequency=5), CATEGORICAL),
    ])  # fmt: skip
    mask = [False] * len(numeric) + [True] * len(CATEGORICAL)
    booster = HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=20,
        l2_regularization=1.0, categorical_features=mask, early_stopping=True,
        validation_fraction=0.15, n_iter_no_change=20, random_state=0,
    )  # fmt: skip
    return Pipeline([("prep", prep), ("model", booster)])


def calibrated(name: str, numeric: list[str], folds: int) -> Any:
    """A candidate whose probabilities are calibrated (Platt scaling over `folds` folds)."""
    from sklearn.calibration import CalibratedClassifierCV

    return CalibratedClassifierCV(estimator(name, numeric), method="sigmoid", cv=folds)


# ---------------------------------------------------------------------------------------------
# Measuring


def bootstrap_auc(
    y: np.ndarray, p: np.ndarray, n: int, seed: int = 0
) -> tuple[float, float, float]:
    """(AUC, 2.5th, 97.5th percentile of the AUC over `n` resamples of the leads)."""
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y, p))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n):
        pick = rng.integers(0, len(y), len(y))
        ys = y[pick]
        if ys.min() != ys.max():
            draws.append(roc_auc_score(ys, p[pick]))
    low, high = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
    return auc, float(low), float(high)


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int) -> pd.DataFrame:
    """Held-out leads in bins of predicted probability: predicted vs actual won rate."""
    frame = pd.DataFrame({"p": p, "won": y})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    table = frame.groupby("bin").agg(
        low=("p", "min"), high=("p", "max"), leads=("p", "size"),
        predicted=("p", "mean"), won_rate=("won", "mean"),
    )  # fmt: skip
    return table.reset_index(drop=True)


def suggest_cutoffs(scores: pd.Series, won: pd.Series, rules: ScoringRules) -> pd.DataFrame:
    """For each grade boundary, from the top down, the cut-off that best separates won from lost.

    Best = largest Youden's J (share of won leads at or above minus share of lost leads at or
    above) among the leads between the neighbouring cut-offs. Each is searched strictly between the
    one suggested above it and the grade below's cut-off in use, so the suggestions are always
    strictly ordered and the validator takes them.
    """
    cuts = [c for c in rules.grades if c.min > 0]
    won = won.astype(bool).to_numpy()
    s = scores.to_numpy(dtype=float)
    rows = []
    ceiling = 100.0
    for i, cut in enumerate(cuts):
        floor = cuts[i + 1].min if i + 1 < len(cuts) else 0.0
        # whole points strictly between the next grade's cut-off and the one suggested above
        options = np.arange(math.floor(floor) + 1, math.ceil(ceiling), 1.0)
        best = min(max(cut.min, options[0]), options[-1]) if len(options) else cut.min
        # among the leads between the two neighbouring cut-offs: where this boundary matters
        near = (s >= floor) & (s < ceiling)
        w, sn = won[near], s[near]
        if len(options) and w.any() and (~w).any():
            above = sn[:, None] >= options[None, :]
            j = above[w].mean(axis=0) - above[~w].mean(axis=0)
            best = float(options[int(np.argmax(j))])
        hi, lo = won[s >= best], won[s < best]
        rows.append({
            "boundary": f"{cut.grade}", "in_use": cut.min, "suggested": best,
            "won_rate_above": hi.mean() if len(hi) else np.nan,
            "won_rate_below": lo.mean() if len(lo) else np.nan,
        })  # fmt: skip
        ceiling = best
    return pd.DataFrame(rows)


@dataclass
class Training:
    """What `leadkit train` learnt and how well (measured on the later closes)."""

    won: int
    lost: int
    estimator: str  # the kept candidate
    auc: float  # of the kept, calibrated model on the held-out later closes
    auc_low: float
    auc_high: float
    candidates: dict[str, float]  # held-out AUC of each candidate
    score_auc: float  # held-out AUC of the rules' score (attributes + behaviour), no model
    train_size: int
    test_size: int
    split_at: str  # closes up to this day trained, later ones tested
    calibration: pd.DataFrame  # low, high, leads, predicted, won_rate
    grades: pd.DataFrame  # grade, leads, won, won_rate
    thresholds: pd.DataFrame  # boundary, in use, suggested, won rate above/below
    model: dict[str, Any] = field(repr=False, default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _closed_leads(leads: pd.DataFrame, rules: ScoringRules) -> pd.DataFrame:
    active = leads[leads["duplicate_of"].isna()] if "duplicate_of" in leads else leads
    closed = active[active["status"].isin(list(CLOSED_STATUSES))]
    won = closed["status"] == "won"
    n_won, n_lost = int(won.sum()), int((~won).sum())
    need = rules.predictive.min_per_class
    if n_won < need or n_lost < need:
        raise NotEnoughHistory(
            f"needs at least {need} won (成交) and {need} lost (流失) leads to learn from; "
            f"the book has {n_won} won and {n_lost} lost (predictive.min_per_class in scoring.yaml)"
        )
    return closed


def history_features(
    leads: pd.DataFrame, events: pd.DataFrame, rules: ScoringRules, *, now: datetime, tz: str
) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.DataFrame]:
    """(features on arrival, won, closed_at, closed leads) of the closed, non-merged leads."""
    closed = _closed_leads(leads, rules)
    closed_at = pd.to_datetime(closed.get("closed_at"), errors="coerce")
    if not isinstance(closed_at, pd.Series):
        closed_at = pd.Series(pd.NaT, index=closed.index)
    created = pd.to_datetime(closed["created_at"], errors="coerce")
    closed_at = closed_at.fillna(created).fillna(pd.Timestamp(now))
    matched = events_by_lead(events, leads, rules, tz)
    x = arrival_features(
        closed, matched, rules, tz, window_days=rules.predictive.window_days, until=closed_at
    )
    return x, closed["status"] == "won", closed_at, closed


def train(
    leads: pd.DataFrame, events: pd.DataFrame, rules: ScoringRules, *, now: datetime, tz: str
) -> Training:
    """Choose, fit and measure the model on a time split of the closed, non-merged leads."""
    from sklearn.metrics import roc_auc_score

    p = rules.predictive
    x, won_mask, closed_at, _closed = history_features(leads, events, rules, now=now, tz=tz)
    y = won_mask.astype(int).to_numpy()
    order = np.argsort(closed_at.to_numpy(dtype="datetime64[ns]"), kind="stable")
    n_test = max(1, round(len(y) * p.validation_share))
    train_at, test_at = order[: len(y) - n_test], order[len(y) - n_test :]
    for part, at in (("earlier", train_at), ("later", test_at)):
        if len(set(y[at])) < 2 or min(np.bincount(y[at], minlength=2)) < 2:
            raise NotEnoughHistory(
                f"the {part} closes ({len(at)} of the history) are nearly all won or all lost; "
                "leadkit needs both outcomes before and after the split to measure a model"
            )
    # a field nobody filled in before the split tells nothing (and the booster cannot bin it)
    numeric = [c for c in x.columns if c not in CATEGORICAL and x[c].iloc[train_at].notna().any()]
    x = x[numeric + CATEGORICAL]
    x_train, y_train, x_test, y_test = x.iloc[train_at], y[train_at], x.iloc[test_at], y[test_at]
    folds = max(2, min(p.folds, int(np.bincount(y_train, minlength=2).min())))
    candidates: dict[str, float] = {}
    held_out: dict[str, np.ndarray] = {}
    for name in p.estimators:
        model = calibrated(name, numeric, folds).fit(x_train, y_train)
        held_out[name] = model.predict_proba(x_test)[:, 1]
        candidates[name] = float(roc_auc_score(y_test, held_out[name]))
    best = max(candidates, key=lambda k: candidates[k])
    auc, low, high = bootstrap_auc(y_test, held_out[best], p.bootstrap)
    calibration = calibration_table(y_test, held_out[best], p.calibration_bins)

    # the rules' own score on arrival (no model): how good it is, and what the grades mean
    behaviour = x["behaviour"]
    attr_total = x[[c for c in x.columns if c.startswith("points_")]].sum(axis=1)
    arrival_score, _, _, _ = combine(attr_total, behaviour, None, 0.5, rules)
    score_auc = float(roc_auc_score(y_test, arrival_score.iloc[test_at]))
    folds_all = max(2, min(p.folds, int(np.bincount(y, minlength=2).min())))
    final = calibrated(best, numeric, folds_all).fit(x, y)

    grades = ladder(arrival_score, rules.grades)
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
    n_won, n_lost = int(y.sum()), int(len(y) - y.sum())
    split_at = f"{closed_at.iloc[train_at[-1]]:%Y-%m-%d}" if len(train_at) else ""
    metrics = {
        "auc": auc, "auc_low": low, "auc_high": high, "won": n_won, "lost": n_lost,
        "estimator": best, "candidates": candidates, "score_auc": score_auc,
        "base_rate": n_won / len(y), "window_days": p.window_days, "split_at": split_at,
        "train_size": len(train_at), "test_size": len(test_at),
    }  # fmt: skip
    model = {
        "pipeline": final, "features": list(x.columns), "trained_at": now.isoformat(),
        "metrics": metrics,
    }  # fmt: skip
    return Training(
        won=n_won, lost=n_lost, estimator=best, auc=auc, auc_low=low, auc_high=high,
        candidates=candidates, score_auc=score_auc, train_size=len(train_at),
        test_size=len(test_at), split_at=split_at, calibration=calibration,
        grades=table.reset_index(), thresholds=suggest_cutoffs(arrival_score, won_mask, rules),
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
