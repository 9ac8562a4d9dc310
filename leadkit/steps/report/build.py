"""The whole report of a period, built from the metrics, RFM and feedback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from leadkit.normalize import column_dates
from leadkit.rules.followup import FeedbackRules
from leadkit.rules.report import ChannelsRules, Period, ReportRules, RfmRules
from leadkit.rules.routing import WorkingHours
from leadkit.steps.report.customers import Rfm, feedback_summary, feedback_trend, rfm
from leadkit.steps.report.metrics import (
    _label,
    _trend,
    _within,
    breakdown,
    forecast,
    funnel,
    grade_validation,
    metrics,
    per_rep,
    period_bounds,
    sla_by_grade,
)


@dataclass
class Report:
    """The report for one period."""

    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    metrics: dict[str, Any]
    funnel: pd.DataFrame
    breakdowns: dict[str, pd.DataFrame]
    reps: pd.DataFrame
    grades: pd.DataFrame
    trend: pd.DataFrame
    forecast: pd.DataFrame
    lost_reasons: pd.DataFrame
    sla_grades: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    # customer feedback by type (客户反馈 sheet); empty for a book with none
    feedback: pd.DataFrame = field(default_factory=pd.DataFrame)
    # feedback received per type in each of the trend's periods (feedback_trend); empty likewise
    feedback_trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    tz: str = "UTC"  # the workspace's zone: the period's bounds are its wall-clock times
    rfm: Rfm | None = None  # `report --rfm`: over every won deal to the report's --as-of


def build_report(
    leads: pd.DataFrame, activities: pd.DataFrame, log: pd.DataFrame, *, kind: Period, now: datetime,
    rules: ReportRules, cadence: dict[str, float], by: list[str], channels: ChannelsRules | None = None,
    previous: bool = False, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
    tz: str = "UTC",
    working_hours: WorkingHours | None = None, rfm_rules: RfmRules | None = None,
    feedback: pd.DataFrame | None = None, feedback_rules: FeedbackRules | None = None,
) -> Report:  # fmt: skip
    """Everything `leadkit report` shows, for one period (and RFM as of `now` when given its rules)."""
    active = leads[leads["duplicate_of"].isna()] if "duplicate_of" in leads else leads
    if start is None or end is None:
        start, end = period_bounds(kind, now, previous=previous)
        label = _label(kind, start)
    else:  # a --from/--to range is named by its own dates, not by the period it starts in
        label = f"{start:%Y-%m-%d}~{end - pd.Timedelta(seconds=1):%Y-%m-%d}"
    m = metrics(
        active, activities, log, start, end, now=now, cadence=cadence, working_hours=working_hours
    )
    trend_rows = _trend(active, kind, start, rules.trend_periods)
    grades, warnings = grade_validation(active, start, end)
    lost = active[
        (active["status"] == "lost") & _within(column_dates(active, "closed_at"), start, end)
    ]
    reasons = lost["lost_reason"].fillna("(no reason)").value_counts().head(rules.top_lost_reasons)
    customers = None
    if rfm_rules is not None:
        customers, rfm_warnings = rfm(active, now, rfm_rules)
        warnings += rfm_warnings
    return Report(
        period=label, start=start, end=end, metrics=m, funnel=funnel(active, start, end, activities, log),
        breakdowns={b: breakdown(active, b, start, end, channels) for b in by},
        reps=per_rep(active, start, end, now, working_hours), grades=grades, trend=pd.DataFrame(trend_rows),
        forecast=forecast(active, rules.stage_weights),
        lost_reasons=reasons.rename_axis("reason").reset_index(name="leads"),
        sla_grades=sla_by_grade(active, start, end, now, working_hours), warnings=warnings, tz=tz,
        rfm=customers,
        feedback=pd.DataFrame() if feedback is None else feedback_summary(
            feedback, start, end, now=now, rules=feedback_rules or FeedbackRules()),
        feedback_trend=pd.DataFrame() if feedback is None else feedback_trend(
            feedback, kind, start, rules.trend_periods),
    )  # fmt: skip
