"""Report step: the numbers a sales manager reviews every week, month and quarter.

Every metric is computed on active leads (merged rows, with duplicate_of set, are left out) for a
calendar period of the workspace time zone; the definitions are in the README ("Report").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from leadkit.files import replacing
from leadkit.followup import FeedbackRules, feedback_deadlines, feedback_open
from leadkit.neutralise import neutralise_frame
from leadkit.normalize import column_dates, company_key, company_place
from leadkit.routing import WorkingHours, working_hours_between
from leadkit.rules import CLOSED_STATUSES, ColumnsRules, Strict

Period = Literal["week", "month", "quarter", "year"]
STAGES = ["new", "contacted", "qualified", "proposal", "negotiation", "won"]
RANK = {s: i for i, s in enumerate(STAGES)}


Level = Literal["high", "low"]
RFM_DIMENSIONS = {"recency_days": "r", "frequency": "f", "monetary": "m"}


class Segment(Strict):
    """One RFM segment: the high/low combination of R, F and M it takes, and its names."""

    r: Level
    f: Level
    m: Level
    zh: str
    en: str

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class RfmRules(Strict):
    """`report.yaml`'s `rfm:`: how R, F and M are scored and how scores make segments."""

    scores: int = Field(default=5, ge=2, le=10)
    thresholds: dict[Literal["recency_days", "frequency", "monetary"], list[float]] = Field(
        default_factory=dict
    )
    high_at: int = Field(default=4, ge=2)
    segments: dict[str, Segment]

    @model_validator(mode="after")
    def _consistent(self) -> RfmRules:
        if self.high_at > self.scores:
            raise ValueError(f"high_at {self.high_at} is above the top score ({self.scores})")
        for name, bounds in self.thresholds.items():
            if len(bounds) != self.scores - 1:
                raise ValueError(
                    f"thresholds.{name}: {self.scores} scores need {self.scores - 1} bounds, not {len(bounds)}"
                )
            if any(b <= a for a, b in pairwise(bounds)) or min(bounds) < 0:
                raise ValueError(f"thresholds.{name}: bounds must be ascending and not negative")
        # every customer falls in exactly one segment: each of the 8 combinations once
        seen: dict[tuple[str, str, str], str] = {}
        for key, seg in self.segments.items():
            combo = (seg.r, seg.f, seg.m)
            if combo in seen:
                raise ValueError(
                    f"segments {seen[combo]} and {key} are both r/f/m = {'/'.join(combo)}"
                )
            seen[combo] = key
        if len(seen) != 8:
            missing = [f"{r}/{f}/{m}" for r in ("high", "low") for f in ("high", "low")
                       for m in ("high", "low") if (r, f, m) not in seen]  # fmt: skip
            raise ValueError(f"segments: no segment for r/f/m = {', '.join(missing)}")
        return self

    def segment_of(self, r: str, f: str, m: str) -> str:
        return next(k for k, s in self.segments.items() if (s.r, s.f, s.m) == (r, f, m))


class ReportRules(Strict):
    """`report.yaml`."""

    stage_weights: dict[str, float] = Field(default_factory=dict)
    trend_periods: int = Field(default=6, ge=1, le=60)
    top_lost_reasons: int = Field(default=5, ge=1)
    # optional: a workspace's report.yaml from before RFM has none, and only `report --rfm` asks
    rfm: RfmRules | None = None


class ChannelsRules(Strict):
    """`channels.yaml`: what each channel costs per month."""

    spend: dict[str, dict[str, float]] = Field(default_factory=dict)

    def cost(self, source: str, start: pd.Timestamp, end: pd.Timestamp) -> float | None:
        """Spend of a channel over [start, end): whole months it touches, pro rata by days."""
        table = self.spend.get(source)
        if not table:
            return None
        total = 0.0
        month = start.to_period("M")
        while month.start_time < end:
            days_in = month.days_in_month
            lo, hi = (
                max(start, month.start_time),
                min(end, month.end_time + pd.Timedelta(nanoseconds=1)),
            )
            share = (hi - lo) / pd.Timedelta(days=days_in)
            amount = table.get(str(month), table.get("monthly"))
            total += float(amount or 0) * share
            month += 1
        return total


def period_bounds(
    kind: Period, as_of: datetime, *, previous: bool = False, back: int = 0
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the calendar period containing `as_of` (or the one before, or `back` before)."""
    freq = {"week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}[kind]
    p = pd.Timestamp(as_of).to_period(freq) - (int(previous) + back)
    return p.start_time.normalize(), (p + 1).start_time.normalize()


def _within(values: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    return (values >= start) & (values < end)


def _ratio(a: float, b: float) -> float | None:
    return None if not b else a / b


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


def metrics(leads: pd.DataFrame, activities: pd.DataFrame, log: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
            *, now: datetime, cadence: dict[str, float],
            working_hours: WorkingHours | None = None) -> dict[str, Any]:  # fmt: skip
    """The headline numbers of one period (see the README for each definition).

    Response time is counted on the SLA's clock (working hours when routing.yaml sets them), so
    a lead that met its SLA never reports more hours than the SLA gave it."""
    created, closed = column_dates(leads, "created_at"), column_dates(leads, "closed_at")
    first, assigned, due = (
        column_dates(leads, "first_contact_at"),
        column_dates(leads, "assigned_at"),
        column_dates(leads, "first_contact_due"),
    )
    status = leads["status"]
    new = _within(created, start, end)
    won = (status == "won") & _within(closed, start, end)
    lost = (status == "lost") & _within(closed, start, end)
    cohort_won = new & (status == "won") & (closed < end)
    # a lead the status history shows reached 初步接洽 by the period's end but whose 首次跟进时间 is
    # blank (a book kept without it) was contacted after its creation: in the period if created in it
    reached = pd.Series(False, index=leads.index)
    reached[new[new].index] = furthest_stage(leads[new], activities, log, end).to_numpy() >= 1
    contacted = _within(first, start, end) | (first.isna() & reached)
    hours = working_hours_between(assigned, first, working_hours)[contacted & assigned.notna()]
    assigned_in = _within(assigned, start, end) & due.notna()
    now_ts = pd.Timestamp(now)
    decided = assigned_in & (first.notna() | (due < min(end, now_ts)))
    hit = decided & first.notna() & (first <= due)
    deals = pd.to_numeric(leads["deal_amount"], errors="coerce")[won]
    cycle = ((closed - created) / pd.Timedelta(days=1))[won]
    # the seeds' sales cycle: average days from 分配时间 to the close, of the leads won in the period
    cycle_assigned = ((closed - assigned) / pd.Timedelta(days=1))[won & assigned.notna()]
    # the seeds' other conversion: won of the new leads somebody actually reached
    # (reached by the period's end, as the funnel's 初步接洽 counts them: a close after it is not yet)
    cohort_contacted = new & ((first.notna() & (first < end)) | reached)
    completeness = leads["completeness"][new]
    # follow-up plan (the seeds' 实际跟进次数 ÷ 计划跟进次数): every lead owned during the period, from
    # its assignment (or the period's start) to its close (or the period's end), against the
    # activities recorded for those same leads in the period
    span_end = min(end, now_ts)
    owned = leads["owner"].notna() & assigned.notna()
    from_ = assigned.where(assigned > start, start)
    until = closed.where(closed.notna() & (closed < span_end), span_end)
    days = ((until - from_) / pd.Timedelta(days=1)).clip(lower=0)[owned]
    days = days[days > 0]
    grade = leads["grade"].where(leads["grade"].isin(list(cadence)), "C")[days.index]
    asked = pd.Series(
        (days / grade.map(cadence).astype(float)).to_numpy(),
        index=leads.loc[days.index, "lead_id"].astype(str),
    )
    expected = float(asked.sum())
    done, kept = 0, 0.0
    if not activities.empty:
        in_period = _within(column_dates(activities, "date"), start, end)
        ids = activities["lead_id"].astype(str)
        per_lead = ids[in_period & ids.isin(asked.index)].value_counts()
        done = int(per_lead.sum())
        # the plan kept: a lead followed up more than asked makes up for no other lead, so a
        # lead closed on the week's last day with its closing call does not read as 400 %
        kept = float(
            np.minimum(per_lead, asked.groupby(level=0).sum().reindex(per_lead.index)).sum()
        )
    recycled = 0
    if not log.empty:
        times = pd.to_datetime(log["time"], errors="coerce")
        recycled = int(
            (
                (log["command"] == "recycle")
                & (log["column"] == "owner")
                & _within(times, start, end)
            ).sum()
        )
    open_now = ~status.isin(list(CLOSED_STATUSES))
    return {
        "new_leads": int(new.sum()),
        "contacted": int(contacted.sum()),
        "won": int(won.sum()),
        "lost": int(lost.sum()),
        "conversion_of_new": _ratio(int(cohort_won.sum()), int(new.sum())),
        "conversion_of_contacted": _ratio(int(cohort_won.sum()), int(cohort_contacted.sum())),
        "win_rate_of_closed": _ratio(int(won.sum()), int(won.sum() + lost.sum())),
        "response_hours_mean": float(hours.mean()) if len(hours) else None,
        "response_hours_median": float(hours.median()) if len(hours) else None,
        "response_hours_p90": float(hours.quantile(0.9)) if len(hours) else None,
        "sla_hit_rate": _ratio(int(hit.sum()), int(decided.sum())),
        "follow_up_completion": _ratio(kept, expected),
        "follow_ups_done": done,
        "follow_ups_expected": round(expected, 1),
        "complete_info_rate": _ratio(int((completeness == "complete").sum()), len(completeness)),
        "basic_info_rate": _ratio(
            int(completeness.isin(["complete", "basic"]).sum()), len(completeness)
        ),
        "deal_amount_total": float(deals.sum()) if len(deals) else 0.0,
        "average_deal": float(deals.mean()) if deals.notna().any() else None,
        "sales_cycle_days_median": float(cycle.median()) if len(cycle) else None,
        "sales_cycle_days_mean": float(cycle_assigned.mean()) if len(cycle_assigned) else None,
        "pool_unassigned": int((open_now & leads["owner"].isna()).sum()),
        "pool_overdue_first_contacts": int(
            (open_now & leads["owner"].notna() & first.isna() & (due < now_ts)).sum()
        ),
        "recycled": recycled,
    }


def sla_by_grade(
    leads: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, now: datetime,
    working_hours: WorkingHours | None = None,
) -> pd.DataFrame:  # fmt: skip
    """SLA hits and response time (mean, median; the SLA's clock) per grade."""
    first, assigned, due = (
        column_dates(leads, "first_contact_at"),
        column_dates(leads, "assigned_at"),
        column_dates(leads, "first_contact_due"),
    )
    assigned_in = _within(assigned, start, end) & due.notna()
    decided = assigned_in & (first.notna() | (due < min(end, pd.Timestamp(now))))
    hit = decided & first.notna() & (first <= due)
    grade = leads["grade"].fillna("(blank)")  # shown (空) as in every other view
    hours = working_hours_between(assigned, first, working_hours).where(_within(first, start, end))
    out = pd.DataFrame({"grade": grade, "decided": decided, "hit": hit, "hours": hours}).groupby(
        "grade"
    ).agg(decided=("decided", "sum"), hit=("hit", "sum"), response_hours_mean=("hours", "mean"),
          response_hours_median=("hours", "median"))  # fmt: skip
    out["sla_hit_rate"] = (out["hit"] / out["decided"]).where(out["decided"] > 0)
    return out[
        ["decided", "hit", "sla_hit_rate", "response_hours_mean", "response_hours_median"]
    ].reset_index()


def furthest_stage(
    leads: pd.DataFrame, activities: pd.DataFrame, log: pd.DataFrame, end: pd.Timestamp
) -> pd.Series:
    """Each lead's furthest stage (as a rank in STAGES) by `end`, from its status history.

    A lead that went 方案提交 → 流失 reached 方案提交: the Activities' 跟进后状态 and the Log's status
    changes before `end` count, and so does the current status when it is not a close after `end`.
    A lost lead with no history reached at least 初步接洽.
    """
    ids = leads["lead_id"].astype(str)
    current = leads["status"].map(RANK).astype(float)
    closed_late = leads["status"].isin(list(CLOSED_STATUSES)) & ~(
        column_dates(leads, "closed_at") < end
    )
    current = current.where(~closed_late & (leads["status"] != "lost"))
    steps = [pd.DataFrame({"lead_id": ids, "rank": current})]
    if not activities.empty and "status_after" in activities:
        when = column_dates(activities, "date")
        steps.append(pd.DataFrame({"lead_id": activities["lead_id"].astype(str),
                                   "rank": activities["status_after"].map(RANK).where(when < end)}))  # fmt: skip
    if not log.empty:
        status_rows = log[
            (log["column"] == "status") & (pd.to_datetime(log["time"], errors="coerce") < end)
        ]
        for side in ("old", "new"):
            steps.append(pd.DataFrame({"lead_id": status_rows["lead_id"].astype(str),
                                       "rank": status_rows[side].map(RANK)}))  # fmt: skip
    history = pd.concat(steps, ignore_index=True).dropna(subset=["rank"])
    best = history.groupby("lead_id")["rank"].max()
    reached = ids.map(best)
    lost_floor = (leads["status"] == "lost") & ~closed_late
    return reached.where(~lost_floor, reached.fillna(1).clip(lower=1)).fillna(0).astype(int)


def _lost_by(leads: pd.DataFrame, end: pd.Timestamp) -> pd.Series:
    return (leads["status"] == "lost") & (column_dates(leads, "closed_at") < end)


def funnel(
    leads: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
    activities: pd.DataFrame | None = None, log: pd.DataFrame | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Leads created in the period by the furthest stage they reached by its end, with stage-to-stage rates."""
    new = leads[_within(column_dates(leads, "created_at"), start, end)]
    empty = pd.DataFrame()
    rank = furthest_stage(new, activities if activities is not None else empty,
                          log if log is not None else empty, end)  # fmt: skip
    reached = [int((rank >= i).sum()) for i in range(len(STAGES))]
    frame = pd.DataFrame({"stage": STAGES, "reached": reached})
    frame["from_previous"] = (frame["reached"] / frame["reached"].shift(1)).where(
        frame["reached"].shift(1) > 0
    )
    # where each lead stood when the period ended (not now: a later close is not this period's)
    lost = _lost_by(new, end)
    frame["now_in_stage"] = [int(((rank == i) & ~lost).sum()) for i in range(len(STAGES))]
    frame.loc[len(frame)] = ["lost", int(lost.sum()), np.nan, int(lost.sum())]
    return frame


def breakdown(
    leads: pd.DataFrame,
    by: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    channels: ChannelsRules | None,
) -> pd.DataFrame:
    created, closed = column_dates(leads, "created_at"), column_dates(leads, "closed_at")
    key = (
        leads[by].astype(object).where(leads[by].notna(), "(blank)")
        if by in leads
        else pd.Series("(blank)", index=leads.index)
    )
    frame = pd.DataFrame({
        by: key, "new": _within(created, start, end),
        "won": (leads["status"] == "won") & _within(closed, start, end),
        "lost": (leads["status"] == "lost") & _within(closed, start, end),
        "new_won": _within(created, start, end) & (leads["status"] == "won") & (closed < end),
        "deal_amount": pd.to_numeric(leads["deal_amount"], errors="coerce").where((leads["status"] == "won") & _within(closed, start, end), 0),
    })  # fmt: skip
    out = frame.groupby(by).sum(numeric_only=True)
    out = out[(out[["new", "won", "lost"]].sum(axis=1)) > 0]
    out["conversion_of_new"] = (out["new_won"] / out["new"]).where(out["new"] > 0)
    out["win_rate_of_closed"] = (out["won"] / (out["won"] + out["lost"])).where(
        out["won"] + out["lost"] > 0
    )
    if by == "source" and channels is not None and channels.spend:
        # channels.yaml says 元 (what an invoice says); the report shows all money in 万元
        cost = (
            pd.Series({s: channels.cost(str(s), start, end) for s in out.index}, dtype=float) / 1e4
        )
        out["spend"] = cost
        out["cost_per_lead"] = (cost / out["new"]).where(out["new"] > 0)
        out["cost_per_won"] = (cost / out["won"]).where(out["won"] > 0)
    return (
        out.drop(columns=["new_won"])
        .reset_index()
        .sort_values("new", ascending=False, kind="stable")
    )


def per_rep(
    leads: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, now: datetime,
    working_hours: WorkingHours | None = None,
) -> pd.DataFrame:  # fmt: skip
    owned = leads[leads["owner"].notna()]
    first, assigned, due, closed = (
        column_dates(owned, c)
        for c in ("first_contact_at", "assigned_at", "first_contact_due", "closed_at")
    )
    assigned_in = _within(assigned, start, end)
    decided = assigned_in & due.notna() & (first.notna() | (due < min(end, pd.Timestamp(now))))
    frame = pd.DataFrame({
        "owner": owned["owner"], "assigned": assigned_in, "contacted": _within(first, start, end),
        "won": (owned["status"] == "won") & _within(closed, start, end),
        "lost": (owned["status"] == "lost") & _within(closed, start, end),
        "open": ~owned["status"].isin(list(CLOSED_STATUSES)),
        "sla_decided": decided, "sla_hit": decided & first.notna() & (first <= due),
        "response_hours": working_hours_between(assigned, first, working_hours).where(_within(first, start, end)),
        # what the SLA gave the lead (分配时间 to 首次跟进时限, on the same clock): the bar a rep's
        # response time is read against; grades have different SLAs, so it is per rep, not one line
        "sla_hours": working_hours_between(assigned, due, working_hours).where(assigned_in),
    })  # fmt: skip
    out = frame.groupby("owner").agg(
        assigned=("assigned", "sum"), contacted=("contacted", "sum"), won=("won", "sum"), lost=("lost", "sum"),
        open=("open", "sum"), sla_decided=("sla_decided", "sum"), sla_hit=("sla_hit", "sum"),
        response_hours_mean=("response_hours", "mean"), response_hours_median=("response_hours", "median"),
        sla_hours=("sla_hours", "median"),
    )  # fmt: skip
    out["sla_hit_rate"] = (out["sla_hit"] / out["sla_decided"]).where(out["sla_decided"] > 0)
    out["win_rate_of_closed"] = (out["won"] / (out["won"] + out["lost"])).where(
        out["won"] + out["lost"] > 0
    )
    return out.drop(columns=["sla_decided", "sla_hit"]).reset_index()


def grade_validation(
    leads: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, list[str]]:
    """Won rate by grade of the leads closed in the period; warns when a grade beats a higher one."""
    closed = _within(column_dates(leads, "closed_at"), start, end) & leads["status"].isin(
        list(CLOSED_STATUSES)
    )
    frame = pd.DataFrame(
        {"grade": leads["grade"][closed], "won": (leads["status"] == "won")[closed]}
    )
    out = (
        frame.groupby("grade")["won"]
        .agg(closed="size", won="sum")
        .reindex(["S", "A", "B", "C"])
        .fillna(0)
    )
    out["won_rate"] = (out["won"] / out["closed"]).where(out["closed"] > 0)
    warnings = []
    rates = out["won_rate"]
    for hi, lo in zip(["S", "A", "B"], ["A", "B", "C"], strict=True):
        if pd.notna(rates[hi]) and pd.notna(rates[lo]) and rates[hi] <= rates[lo]:
            warnings.append(
                f"grade {hi} won {rates[hi]:.0%} of its closed leads, not more than {lo} ({rates[lo]:.0%}): check the scoring rules"
            )
    return out.reset_index(), warnings


def forecast(leads: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Open leads by status, with the seeds' three forecasts (万元) and a total row.

    Stage-weighted: 预算 × the status's chance in report.yaml. Commit: the reps' own
    预计成交金额. Best case: every open lead closes, at its commit where a rep gave one, else at
    its 预算.
    """
    open_ = leads[~leads["status"].isin(list(CLOSED_STATUSES))]
    budget = pd.to_numeric(open_["budget"], errors="coerce").fillna(0)
    commit = (
        pd.to_numeric(open_["commit_amount"], errors="coerce")
        if "commit_amount" in open_
        else pd.Series(np.nan, index=open_.index)
    )
    frame = pd.DataFrame({"status": open_["status"], "budget": budget, "commit": commit.fillna(0),
                          "best_case": commit.fillna(budget)})  # fmt: skip
    out = frame.groupby("status").agg(
        leads=("budget", "size"), budget=("budget", "sum"), commit=("commit", "sum"),
        best_case=("best_case", "sum"),
    )  # fmt: skip
    out["weight"] = [weights.get(s, 0.0) for s in out.index]
    out["expected"] = out["budget"] * out["weight"]
    out = out.reindex(
        [s for s in STAGES if s in out.index] + [s for s in out.index if s not in STAGES]
    )[["leads", "budget", "weight", "expected", "commit", "best_case"]]
    total = out.sum(numeric_only=True)
    total["weight"] = np.nan
    out.loc["total"] = total
    return out.reset_index()


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


def _trend(
    leads: pd.DataFrame, kind: Period, start: pd.Timestamp, periods: int
) -> list[dict[str, Any]]:
    """The trend rows: `metrics`' new leads, won, conversion of new and win rate of each of the
    last `periods` periods, counted as `metrics` counts them. Only these four are shown, and
    working out every metric for each period (response hours, status history, follow-up plan)
    was most of a report's time at 100k leads."""
    created, closed = column_dates(leads, "created_at"), column_dates(leads, "closed_at")
    status = leads["status"]
    is_won, is_lost = status == "won", status == "lost"
    rows = []
    for back in range(periods - 1, -1, -1):
        s, e = period_bounds(kind, start, back=back)
        new = _within(created, s, e)
        in_period = _within(closed, s, e)
        won, lost = int((is_won & in_period).sum()), int((is_lost & in_period).sum())
        cohort_won = int((new & is_won & (closed < e)).sum())
        rows.append({"period": _label(kind, s), "new_leads": int(new.sum()), "won": won,
                     "conversion_of_new": _ratio(cohort_won, int(new.sum())),
                     "win_rate_of_closed": _ratio(won, won + lost)})  # fmt: skip
    return rows


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


def _label(kind: Period, start: pd.Timestamp) -> str:
    if kind == "week":  # its days, as a heading in any language reads them
        return f"{start:%Y-%m-%d}~{start + pd.Timedelta(days=6):%Y-%m-%d}"
    if kind == "month":
        return f"{start:%Y-%m}"
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}"


# ---------------------------------------------------------------------------------------------
# Output


def shown_pct(v: Any) -> str:
    """A rate as people read it (12.5%); - where there is none."""
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.1%}"


def shown_num(v: Any) -> str:
    """A count or amount as people read it (1,234 or 12.5); - where there is none."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    return f"{v:,.1f}" if isinstance(v, float) and not float(v).is_integer() else f"{v:,.0f}"


METRIC_LABELS = {
    "new_leads": ("新增线索", "New leads"), "contacted": ("本期首次跟进", "First contacts in period"), "won": ("成交", "Won"),
    "lost": ("流失", "Lost"), "conversion_of_new": ("新线索转化率", "Conversion of new leads"),
    "conversion_of_contacted": ("接触线索转化率", "Conversion of contacted leads"),
    "win_rate_of_closed": ("关闭赢单率", "Win rate of closed"),
    "response_hours_mean": ("平均响应时长(SLA计时,小时)", "Response time mean (SLA hours)"),
    "response_hours_median": ("响应时长中位数(SLA计时,小时)", "Response time median (SLA hours)"),
    "response_hours_p90": ("响应时长P90(SLA计时,小时)", "Response time p90 (SLA hours)"), "sla_hit_rate": ("SLA达成率", "SLA hit rate"),
    "follow_up_completion": ("跟进计划完成率", "Follow-up plan completion"),
    "follow_ups_done": ("已跟进次数", "Follow-ups done"), "follow_ups_expected": ("应跟进次数", "Follow-ups expected"),
    "complete_info_rate": ("信息完整率", "Complete-information rate"), "basic_info_rate": ("基本完整率", "Basic-information rate"),
    "deal_amount_total": ("成交总额(万元)", "Deal amount (10k CNY)"), "average_deal": ("平均客单价(万元)", "Average deal (10k CNY)"),
    "sales_cycle_days_median": ("销售周期中位数(天,自获取)", "Sales cycle median from capture (days)"),
    "sales_cycle_days_mean": ("平均销售周期(天,自分配)", "Sales cycle mean from assignment (days)"),
    "pool_unassigned": ("线索池待分配", "Pool: unassigned"), "pool_overdue_first_contacts": ("首次跟进超时", "Overdue first contacts"),
    "recycled": ("回收次数", "Recycled"),
}  # fmt: skip
RATES = {
    "conversion_of_new",
    "conversion_of_contacted",
    "win_rate_of_closed",
    "sla_hit_rate",
    "follow_up_completion",
    "complete_info_rate",
    "basic_info_rate",
}


def metric_rows(report: Report, lang: str) -> list[tuple[str, str]]:
    i = 0 if lang == "zh" else 1
    return [
        (METRIC_LABELS[k][i], shown_pct(v) if k in RATES else shown_num(v))
        for k, v in report.metrics.items()
    ]


def markdown(report: Report, lang: str, columns: ColumnsRules) -> str:
    """The report as Markdown, for pasting into a chat, in the book's language."""
    title = f"### leadkit {'报告' if lang == 'zh' else 'report'} {report.period}"
    lines = [title, ""]
    lines += [f"- {k}: **{v}**" for k, v in metric_rows(report, lang)]

    def table(frame: pd.DataFrame, keys: list[str]) -> list[str]:
        shown = localised(frame[keys], columns, lang)
        cells = [[shown_cell(k, v) if k != keys[0] else str(v)
                  for k, v in zip(keys, row, strict=True)] for row in shown.itertuples(index=False)]  # fmt: skip
        # numbers right-aligned, text (a customer's owner, its segment) left
        align = ["---:" if pd.api.types.is_numeric_dtype(frame[k]) else "---" for k in keys[1:]]
        return [
            "",
            "| " + " | ".join(shown.columns) + " |",
            "|" + "|".join(["---", *align]) + "|",
        ] + ["| " + " | ".join(row) + " |" for row in cells]

    lines += table(
        report.funnel[report.funnel["stage"] != "lost"], ["stage", "reached", "from_previous"]
    )
    for by, frame in report.breakdowns.items():
        lines += table(frame, [by, "new", "won", "conversion_of_new"])
    if report.rfm is not None:
        named = report.rfm.labels(lang)
        segments, customers = (f.assign(segment=f["segment"].map(named))
                               for f in (report.rfm.segments, report.rfm.customers))  # fmt: skip
        lines += table(segments, ["segment", "customers", "customer_share", "monetary"])
        lines += table(customers, ["customer", "owner", "recency_days", "frequency", "monetary",
                                   "r_score", "f_score", "m_score", "segment"])  # fmt: skip
    lines += [f"- ⚠ {w}" for w in report.warnings]
    return "\n".join(lines)


def _iso(moment: pd.Timestamp, tz: str) -> str:
    """ISO 8601 with the zone's offset (2026-03-01T00:00:00+08:00): unambiguous for any reader."""
    return (moment.tz_localize(tz) if moment.tzinfo is None else moment.tz_convert(tz)).isoformat()


def as_json(report: Report) -> dict[str, Any]:
    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return frame.replace({np.nan: None}).to_dict(orient="records")

    out: dict[str, Any] = {
        "period": report.period, "start": _iso(report.start, report.tz), "end": _iso(report.end, report.tz),
        "time_zone": report.tz, "metrics": report.metrics,
        "funnel": records(report.funnel), "breakdowns": {k: records(v) for k, v in report.breakdowns.items()},
        "reps": records(report.reps), "grades": records(report.grades), "trend": records(report.trend),
        "forecast": records(report.forecast), "lost_reasons": records(report.lost_reasons),
        "sla_by_grade": records(report.sla_grades), "feedback": records(report.feedback),
        "feedback_trend": records(report.feedback_trend), "warnings": report.warnings,
    }  # fmt: skip
    if report.rfm is not None:  # segments by their report.yaml keys, named in both languages
        out["rfm"] = {
            "customers": records(report.rfm.customers), "segments": records(report.rfm.segments),
            "segment_names": {k: {"zh": s.zh, "en": s.en} for k, s in report.rfm.rules.segments.items()},
        }  # fmt: skip
    return out


# Headers of the report's tables as a manager reads them, with their units (money is 万元 throughout).
TABLE_LABELS = {
    "stage": ("阶段", "Stage"), "reached": ("到达数", "Reached"), "from_previous": ("较上一阶段", "From previous stage"),
    "now_in_stage": ("期末在此阶段", "In stage at period end"), "new": ("新增线索", "New leads"), "won": ("成交", "Won"),
    "lost": ("流失", "Lost"), "deal_amount": ("成交金额(万元)", "Deal amount (10k CNY)"),
    "conversion_of_new": ("新线索转化率", "Conversion of new leads"),
    "conversion_of_contacted": ("接触线索转化率", "Conversion of contacted leads"), "win_rate_of_closed": ("关闭赢单率", "Win rate of closed"),
    "spend": ("渠道费用(万元)", "Spend (10k CNY)"), "cost_per_lead": ("单条线索成本(万元)", "Cost per lead (10k CNY)"),
    "cost_per_won": ("单个成交成本(万元)", "Cost per won deal (10k CNY)"), "assigned": ("分配数", "Assigned"),
    "contacted": ("首次跟进", "First contacts"), "open": ("进行中", "Open"),
    "response_hours_median": ("响应时长中位数(小时)", "Response time median (h)"), "sla_hit_rate": ("SLA达成率", "SLA hit rate"),
    "closed": ("已关闭", "Closed"), "won_rate": ("赢单率", "Won rate"), "period": ("期间", "Period"),
    "new_leads": ("新增线索", "New leads"), "leads": ("线索数", "Leads"), "budget": ("预算(万元)", "Budget (10k CNY)"),
    "weight": ("成交概率", "Win chance"), "expected": ("阶段加权预测(万元)", "Stage-weighted (10k CNY)"),
    "commit": ("销售承诺预测(万元)", "Commit (10k CNY)"), "best_case": ("最佳情况(万元)", "Best case (10k CNY)"),
    "reason": ("流失原因", "Lost reason"), "decided": ("已到期", "Due"), "hit": ("按时跟进", "Met"),
    "response_hours_mean": ("平均响应时长(小时)", "Response time mean (h)"),
    "sla_hours": ("SLA时限(小时)", "SLA (h)"),
    "customer": ("客户", "Customer"), "last_won": ("最近成交日期", "Last won"),
    "recency_days": ("最近成交距今(天)", "Recency (days)"), "frequency": ("成交次数", "Frequency (won deals)"),
    "monetary": ("成交金额合计(万元)", "Monetary (10k CNY)"), "r_score": ("R分", "R score"),
    "f_score": ("F分", "F score"), "m_score": ("M分", "M score"), "segment": ("客户分层", "Segment"),
    "customers": ("客户数", "Customers"), "customer_share": ("客户占比", "Share of customers"),
    "recency_days_mean": ("平均最近成交距今(天)", "Mean recency (days)"),
    "feedback_type": ("反馈类型", "Feedback type"), "received": ("本期收到", "Received"),
    "high": ("高优先级", "High priority"), "medium": ("中优先级", "Medium priority"),
    "low": ("低优先级", "Low priority"), "unresolved": ("未关闭", "Open"), "overdue": ("已逾期", "Overdue"),
}  # fmt: skip
MONEY = {
    "deal_amount",
    "spend",
    "cost_per_lead",
    "cost_per_won",
    "budget",
    "expected",
    "commit",
    "best_case",
    "deal_amount_total",
    "average_deal",
    "monetary",
}
DAYS = {"recency_days_mean"}
HOURS = {"response_hours_median", "response_hours_p90", "response_hours_mean", "sla_hours"}
SHARES = RATES | {"from_previous", "won_rate", "weight", "customer_share"}
BLANK = {
    "(blank)": ("(空)", "(blank)"),
    "(no reason)": ("(未填写)", "(no reason)"),
    "total": ("合计", "Total"),
}


def localised(frame: pd.DataFrame, columns: ColumnsRules, lang: str) -> pd.DataFrame:
    """A report table with its headers and coded values (status, source …) in the book's language."""
    i = 0 if lang == "zh" else 1
    leads = columns.sheets["leads"].by_key
    out = frame.copy()
    for c in out.columns:
        enum = {"stage": "status", "feedback_type": "feedback_type"}.get(c) or getattr(
            leads.get(c), "enum", None
        )
        labels = columns.enum_labels(enum, lang) if enum else {}
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = (
                out[c]
                .astype(object)
                .map(lambda v, m=labels: BLANK[v][i] if v in BLANK else m.get(v, v))
            )
        if c in MONEY:  # 万元 to the 元: no 239999.999999909 in a cell
            out[c] = pd.to_numeric(out[c], errors="coerce").round(4)
    names = {c: TABLE_LABELS[c][i] if c in TABLE_LABELS else leads[c].header(lang) if c in leads else c
             for c in out.columns}  # fmt: skip
    names.update(_type_headers(frame, columns, lang))
    return out.rename(columns=names)


def _type_headers(frame: pd.DataFrame, columns: ColumnsRules, lang: str) -> dict[str, str]:
    """A feedback trend's type columns (product, price …, (blank), total) named for a reader."""
    if "period" not in frame.columns or "total" not in frame.columns:
        return {}
    i = 0 if lang == "zh" else 1
    types = columns.enum_labels("feedback_type", lang)
    return {
        c: BLANK[c][i] if c in BLANK else types[c]
        for c in frame.columns
        if c in types or c in BLANK
    }


def _number_format(key: str) -> str | None:
    if key in SHARES:
        return "0.0%"
    if key in MONEY:
        return "#,##0.00"
    if key in HOURS or key in DAYS:
        return "0.0"
    return None


# The report's sheet geometry. The table's columns are 16 characters wide; the columns after it
# keep Excel's default (64 px), and the writer anchors a chart on those, so a chart 8 default
# columns by 15 default rows (20 px) ends exactly at a cell edge the print area can end at.
COLUMN_WIDTH = 16
DEFAULT_COLUMN_PX = 64
ROW_PX = 20
CHART_COLUMNS = 8
CHART_ROWS = 15


def _has_values(values: pd.Series) -> bool:
    return bool(pd.to_numeric(values, errors="coerce").fillna(0).ne(0).any())


def write_excel(report: Report, path: Any, lang: str, columns: ColumnsRules) -> None:
    """A workbook a manager forwards: one sheet per view in the book's language, units, charts, print setup."""
    import rustpy_xlsxwriter as rx

    zh = lang == "zh"
    header = rx.Format().set_bold().set_background_color("#DDEBF7").set_border("thin")
    rows = metric_rows(report, lang)
    summary = pd.DataFrame({
        "指标" if zh else "Metric": [label for label, _ in rows],
        report.period: [None if v is None else float(v) for v in report.metrics.values()],  # numbers, for formulas
        "显示" if zh else "Shown": [shown for _, shown in rows],
    })  # fmt: skip
    summary_name = "汇总" if zh else "Summary"
    entries: list[tuple[str, pd.DataFrame]] = [(summary_name, summary)]
    opts: dict[str, dict[str, Any]] = {
        k: {}
        for k in (
            "column_formats",
            "charts",
            "page_setup",
            "header_format",
            "column_width",
            "row_formats",
        )
    }
    # one metric per row: each row's number in its own unit (39.5%, 2.9 hours, 3,435 follow-ups)
    opts["row_formats"][summary_name] = {
        at: rx.Format().set_num_format(
            _number_format(key)
            or ("#,##0" if value is None or float(value).is_integer() else "#,##0.0")
        )
        for at, (key, value) in enumerate(report.metrics.items(), start=1)
    }
    for view in report_views(report, lang, columns):
        name, frame = view.title[:31], view.frame  # 31: Excel's limit on sheet names
        # sources, reps, lost reasons … are the user's text: through the writer's one neutraliser
        shown = neutralise_frame(localised(frame, columns, lang))
        entries.append((name, shown))
        label = dict(zip(frame.columns, shown.columns, strict=True))
        opts["column_formats"][name] = {
            label[key]: rx.Format().set_num_format(fmt)
            for key in frame.columns
            if (fmt := _number_format(key))
        }
        # an empty chart says nothing, and neither does an empty series beside a full one
        drawn = [k for k in (view.series, *view.extra) if k and _has_values(frame[k])]
        if drawn:
            opts["charts"][name] = [{
                # columns left to right in stage order: the funnel reads as a funnel (the writer
                # has no funnel type; a bar chart would put 未接触 at the bottom)
                "type": "line" if view.series == "new_leads" else "column",
                "series": [label[k] for k in drawn], "categories": label[view.category],
                "title": view.chart, "x_axis": label[view.category],
                "y_axis": view.axis or label[drawn[0]], "legend": len(drawn) > 1,
                # placed, not left to the writer, so the print area can end where the chart does
                "row": 0, "col": len(frame.columns) + 1,
                "width": CHART_COLUMNS * DEFAULT_COLUMN_PX, "height": CHART_ROWS * ROW_PX,
            }]  # fmt: skip
    for name, frame in entries:
        opts["header_format"][name] = header
        opts["column_width"][name] = COLUMN_WIDTH
        # one page wide per view: the table, one blank column, the chart, and nothing after it
        charted = name in opts["charts"]
        last_col = len(frame.columns) + CHART_COLUMNS if charted else len(frame.columns) - 1
        last_row = max(len(frame), CHART_ROWS - 1 if charted else 0)
        opts["page_setup"][name] = {
            "landscape": True, "fit_to_pages": (1, 0), "repeat_rows": 0,
            "print_area": (0, 0, last_row, last_col),
        }  # fmt: skip
    with replacing(Path(path)) as tmp:
        rx.write_worksheets(
            entries, str(tmp), freeze_panes={"general": {"row": 1, "col": 1}},
            autofilter={"general": True}, **opts,
        )  # fmt: skip


class View(NamedTuple):
    """One table of the report: its title, the frame, its category column and the series to draw.

    `series` is the one every output draws (the HTML page as bars); `extra` are drawn beside it in
    Excel's clustered columns, against `axis` (the value axis's title; the series' header if blank).
    """

    title: str
    chart: str
    frame: pd.DataFrame
    category: str
    series: str
    extra: tuple[str, ...] = ()
    axis: str = ""


def report_views(report: Report, lang: str, columns: ColumnsRules) -> list[View]:
    """The report's tables in the order every output shows them, titled in the book's language."""
    zh = lang == "zh"
    leads = columns.sheets["leads"].by_key
    views = [View("漏斗" if zh else "Funnel", "线索漏斗" if zh else "Lead funnel",
                  report.funnel[report.funnel["stage"] != "lost"], "stage", "reached")]  # fmt: skip
    for by, frame in report.breakdowns.items():
        name = leads[by].header(lang) if by in leads else by
        views.append(View(f"按{name}" if zh else f"By {name}",
                          f"各{name}新线索转化率" if zh else f"Conversion of new leads by {name}",
                          frame, by, "conversion_of_new"))  # fmt: skip
    views += [
        View("销售" if zh else "Reps", "各销售响应时长与SLA时限" if zh else "Response time vs SLA by rep",
             report.reps, "owner", "response_hours_median", ("response_hours_mean", "sla_hours"),
             "工作小时(SLA计时)" if zh else "Hours on the SLA clock"),
        View("等级验证" if zh else "Grades", "各等级赢单率" if zh else "Won rate by grade", report.grades, "grade", "won_rate"),
        View("趋势" if zh else "Trend", "新增线索趋势" if zh else "New leads by period", report.trend, "period", "new_leads"),
        View("预测" if zh else "Forecast", "", report.forecast, "status", ""),
        View("流失原因" if zh else "Lost reasons", "", report.lost_reasons, "reason", ""),
        View("等级SLA" if zh else "SLA by grade", "", report.sla_grades, "grade", ""),
    ]  # fmt: skip
    if report.rfm is not None:
        named = report.rfm.labels(lang)  # the segments as report.yaml names them
        views += [
            View("RFM分层" if zh else "RFM segments", "各RFM分层客户数" if zh else "Customers by RFM segment",
                 report.rfm.segments.assign(segment=report.rfm.segments["segment"].map(named)),
                 "segment", "customers"),
            View("RFM客户" if zh else "RFM customers", "",
                 report.rfm.customers.assign(segment=report.rfm.customers["segment"].map(named)), "customer", ""),
        ]  # fmt: skip
    if not report.feedback.empty:
        views.append(View("客户反馈" if zh else "Feedback", "各类型客户反馈" if zh else "Feedback by type",
                          report.feedback, "feedback_type", "received", ("unresolved", "overdue")))  # fmt: skip
    if not report.feedback_trend.empty:
        views.append(_feedback_trend_view(report.feedback_trend, lang))
    return [v._replace(frame=v.frame.reset_index(drop=True)) for v in views]


def _feedback_trend_view(trend: pd.DataFrame, lang: str) -> View:
    """The feedback trend: the total (the terminal's and the page's bars) and one series per type
    beside it in Excel's clustered columns, period by period (`localised` names the type columns
    as the 客户反馈 sheet names the types)."""
    zh = lang == "zh"
    types = [c for c in trend.columns if c not in ("period", "total")]
    return View("反馈趋势" if zh else "Feedback trend",
                "各类型客户反馈趋势" if zh else "Feedback by type and period",
                trend, "period", "total", tuple(types),
                "收到的反馈" if zh else "Feedback received")  # fmt: skip


def shown_cell(key: str, value: Any) -> str:
    """A table cell as people read it: rates as percentages, numbers grouped, text as it is."""
    if key in SHARES:
        return shown_pct(value)
    if isinstance(value, (int, float, np.number)) or value is None:
        return shown_num(value)
    return str(value)


def html(report: Report, lang: str, columns: ColumnsRules) -> str:
    """A self-contained HTML page (no script, no external file) with the tables and bar charts.

    The bars are table cells of a set width, which every mail client draws, so the same page is
    what `report --notify email` sends inline.
    """
    from html import escape

    zh = lang == "zh"
    cell = shown_cell

    def table(frame: pd.DataFrame) -> str:
        shown = localised(frame, columns, lang)
        head = "".join(f"<th>{escape(str(c))}</th>" for c in shown.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(cell(k, v))}</td>" for k, v in zip(frame.columns, row, strict=True)) + "</tr>"
            for row in shown.itertuples(index=False)
        )  # fmt: skip
        return f"<table><tr>{head}</tr>{body}</table>"

    def bars(title: str, frame: pd.DataFrame, cat: str, series: str) -> str:
        values = pd.to_numeric(frame[series], errors="coerce").fillna(0)
        if not values.ne(0).any():
            return ""
        top = float(values.max()) or 1.0
        labels = localised(frame[[cat]], columns, lang).iloc[:, 0]
        rows = "".join(
            f'<tr><td class="c">{escape(str(label))}</td><td><div class="bar" style="width:{max(1, round(240 * float(v) / top))}px"></div></td>'
            f"<td>{escape(cell(series, v))}</td></tr>"
            for label, v in zip(labels, values, strict=True)
        )  # fmt: skip
        return f'<h3>{escape(title)}</h3><table class="chart">{rows}</table>'

    title = f"leadkit {'报告' if zh else 'report'} {report.period}"
    metrics = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in metric_rows(report, lang)
    )
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<h2>{'汇总' if zh else 'Summary'}</h2><table>{metrics}</table>",
    ]
    for view in report_views(report, lang, columns):
        parts.append(f"<h2>{escape(view.title)}</h2>")
        drawn = [k for k in (view.series, *view.extra) if k]
        for k in drawn:  # one bar block per series: a mail client draws no clustered columns
            head = localised(view.frame[[k]], columns, lang).columns[0]
            parts.append(bars(f"{view.chart}: {head}" if len(drawn) > 1 else view.chart,
                              view.frame, view.category, k))  # fmt: skip
        parts.append(table(view.frame))
    parts += [f"<p>⚠ {escape(w)}</p>" for w in report.warnings]
    style = (
        "body{font-family:sans-serif;margin:24px}table{border-collapse:collapse;margin:8px 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#DDEBF7}"
        "td:first-child{text-align:left}table.chart td{border:none}.bar{background:#4472C4;height:14px}"
    )
    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if zh else "en"}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


def write_report(report: Report, path: Path, lang: str, columns: ColumnsRules) -> None:
    """The report as the file's kind asks: .xlsx with native charts, .html, or .md."""
    kind = path.suffix.lower()
    if kind == ".xlsx":
        write_excel(report, path, lang, columns)
        return
    text = (
        html(report, lang, columns) if kind == ".html" else markdown(report, lang, columns) + "\n"
    )
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
