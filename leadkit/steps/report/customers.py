"""RFM of won customers and the customer-feedback summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from leadkit.normalize import column_dates, company_key, company_place
from leadkit.rules.followup import FeedbackRules
from leadkit.rules.report import Period, RfmRules
from leadkit.steps.followup import feedback_deadlines, feedback_open
from leadkit.steps.report.metrics import _label, _within, period_bounds


@dataclass
class Rfm:
    """RFM of the won customers as of a moment: one row per customer, and the segments' totals."""

    customers: pd.DataFrame
    segments: pd.DataFrame
    rules: RfmRules

    def labels(self, lang: str) -> dict[str, str]:
        return {k: s.label(lang) for k, s in self.rules.segments.items()}


def _quantile_scores(values: pd.Series, scores: int) -> pd.Series:
    """ceil(rank / n × scores), ties at their average rank, in integers (0.6 × 5 is 3.0000000000000004)."""
    # an average rank is k or k.5, so twice it is a whole number
    twice_rank = (values.rank(method="average") * 2).round().astype(int)
    n = len(values)
    return (-(-(twice_rank * scores) // (2 * n))).clip(1, scores).astype(int)


def _scores(values: pd.Series, rules: RfmRules, name: str, higher_is_better: bool) -> pd.Series:
    bounds = rules.thresholds.get(name)  # type: ignore[call-overload]
    if bounds is None:
        return _quantile_scores(values if higher_is_better else -values, rules.scores)
    if higher_is_better:  # at or above a bound earns it: 2 deals with bounds [2, 3, 5, 8] is 2
        return pd.Series(1 + np.searchsorted(bounds, values, side="right"), index=values.index)
    # recency: at most a bound earns it: 30 days with [30, 90, 180, 365] is 5, 31 days 4
    return pd.Series(
        rules.scores - np.searchsorted(bounds, values, side="left"), index=values.index
    )


def rfm(leads: pd.DataFrame, now: datetime, rules: RfmRules) -> tuple[Rfm, list[str]]:
    """R/F/M of every customer with a won deal closed by `now` (active leads: a merged row is its survivor's).

    A customer is a company, by the dedupe company key of 企业名称 and the place the name carries
    (北京鼎盛科技有限公司 and 鼎盛科技 are one; 广州中科瑞丰物流 and 沈阳中科瑞丰物流 are two); a won lead
    with no company is a customer of its own. Recency is whole days from the
    last won close to `now`'s date, frequency the won deals, monetary their 成交金额 (万元; a blank
    amount adds nothing). A won lead without 关闭时间 cannot say when: it is left out, with a warning.
    """
    now_ts = pd.Timestamp(now)
    won = leads[leads["status"] == "won"]
    closed = column_dates(won, "closed_at")
    warnings = []
    if undated := int(closed.isna().sum()):
        warnings.append(f"{undated} won lead(s) have no close date: left out of RFM")
    won, closed = won[closed <= now_ts], closed[closed <= now_ts]
    company = won["company"] if "company" in won else pd.Series(np.nan, index=won.index)
    core = company_key(company.astype("string")).astype(object)
    # one trade name in two cities is two customers; a name without its city is the one
    # customer of that name if only one city has it
    place = company_place(company).astype(object)
    named = pd.DataFrame({"core": core, "place": place}).dropna()
    places = named.drop_duplicates().groupby("core")["place"]
    single = places.first()[places.size() == 1]
    place = place.where(place.notna(), core.map(single))
    key = (core + "@" + place.fillna("")).where(core.notna(), "lead:" + won["lead_id"].astype(str))
    frame = pd.DataFrame({
        "key": key, "closed": closed, "lead_id": won["lead_id"].astype(str),
        "customer": company.astype(object).where(company.notna(), won["lead_id"].astype(str)),
        "owner": won.get("owner", np.nan),
        "amount": pd.to_numeric(won["deal_amount"], errors="coerce").fillna(0.0),
    }).sort_values(["closed", "lead_id"], kind="stable")  # fmt: skip
    # the customer is named, and owned, as on its latest won deal
    groups = frame.groupby("key", sort=False)
    out = groups.agg(customer=("customer", "last"), owner=("owner", "last"), last=("closed", "max"),
                     frequency=("lead_id", "size"), monetary=("amount", "sum"))  # fmt: skip
    out["recency_days"] = (
        (now_ts.normalize() - out["last"].dt.normalize()) / pd.Timedelta(days=1)
    ).astype(int)
    seg_keys = list(rules.segments)
    if out.empty:
        out = out.assign(r_score=0, f_score=0, m_score=0, segment="")
    else:
        out["r_score"] = _scores(out["recency_days"], rules, "recency_days", higher_is_better=False)
        out["f_score"] = _scores(out["frequency"], rules, "frequency", higher_is_better=True)
        out["m_score"] = _scores(out["monetary"], rules, "monetary", higher_is_better=True)
        level = {c: np.where(out[f"{c}_score"] >= rules.high_at, "high", "low") for c in "rfm"}
        out["segment"] = [
            rules.segment_of(r, f, m)
            for r, f, m in zip(level["r"], level["f"], level["m"], strict=True)
        ]
    out["last_won"] = out["last"].dt.strftime("%Y-%m-%d")
    out["order"] = out["segment"].map({k: i for i, k in enumerate(seg_keys)})
    out = out.sort_values(["order", "monetary", "recency_days", "customer"],
                          ascending=[True, False, True, True], kind="stable")  # fmt: skip
    customers = out[["customer", "owner", "last_won", "recency_days", "frequency", "monetary",
                     "r_score", "f_score", "m_score", "segment"]].reset_index(drop=True)  # fmt: skip
    by = customers.groupby("segment")
    segments = pd.DataFrame({"segment": seg_keys})
    segments["customers"] = segments["segment"].map(by.size()).fillna(0).astype(int)
    segments["customer_share"] = (
        (segments["customers"] / len(customers)) if len(customers) else np.nan
    )
    segments["monetary"] = segments["segment"].map(by["monetary"].sum()).fillna(0.0)
    segments["recency_days_mean"] = segments["segment"].map(by["recency_days"].mean())
    return Rfm(customers, segments, rules), warnings


FEEDBACK_TYPES = ["product", "price", "service", "decision"]


def feedback_summary(
    feedback: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, *, now: datetime,
    rules: FeedbackRules,
) -> pd.DataFrame:  # fmt: skip
    """Feedback by type: how much came in during the period and at which priority, and how much
    is open and overdue now (whenever it came in: an old complaint still open is still open)."""
    if feedback.empty:
        return pd.DataFrame()
    kind = feedback["type"].where(feedback["type"].isin(FEEDBACK_TYPES), "(blank)")
    received = _within(column_dates(feedback, "time"), start, end)
    still_open = feedback_open(feedback, rules)
    overdue = still_open & (feedback_deadlines(feedback, rules) < pd.Timestamp(now))
    frame = pd.DataFrame({
        "feedback_type": kind, "received": received,
        "high": received & (feedback["priority"] == "high"),
        "medium": received & (feedback["priority"] == "medium"),
        "low": received & (feedback["priority"] == "low"),
        "unresolved": still_open, "overdue": overdue,
    })  # fmt: skip
    out = frame.groupby("feedback_type").sum().astype(int)
    # every type, in the seeds' order, also those nobody raised: a zero is an answer
    out = out.reindex(
        FEEDBACK_TYPES + (["(blank)"] if "(blank)" in out.index else []), fill_value=0
    )
    out.loc["total"] = out.sum()
    return out.reset_index()


def feedback_trend(
    feedback: pd.DataFrame, kind: Period, start: pd.Timestamp, periods: int
) -> pd.DataFrame:
    """Feedback received per type in each of `periods` periods ending with the one at `start`
    (the seeds' 客户需求分析表 asks for the analysis by type and trend): one row per period, a
    column per type in the seeds' order (and (blank) if any has none), and their total."""
    if feedback.empty:
        return pd.DataFrame()
    kind_of = feedback["type"].where(feedback["type"].isin(FEEDBACK_TYPES), "(blank)")
    when = column_dates(feedback, "time")
    types = FEEDBACK_TYPES + (["(blank)"] if (kind_of == "(blank)").any() else [])
    rows = []
    for back in range(periods - 1, -1, -1):
        s, e = period_bounds(kind, start, back=back)
        counts = kind_of[_within(when, s, e)].value_counts()
        row: dict[str, Any] = {"period": _label(kind, s)}
        row.update({t: int(counts.get(t, 0)) for t in types})
        row["total"] = sum(row[t] for t in types)
        rows.append(row)
    return pd.DataFrame(rows)
