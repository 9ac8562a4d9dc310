"""The report's metrics for a period: conversion, response time, funnel, breakdowns, per rep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from leadkit.normalize import column_dates
from leadkit.rules.base import CLOSED_STATUSES
from leadkit.rules.report import RANK, STAGES, ChannelsRules, Period
from leadkit.rules.routing import WorkingHours
from leadkit.steps.routing import working_hours_between


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


def _label(kind: Period, start: pd.Timestamp) -> str:
    if kind == "week":  # its days, as a heading in any language reads them
        return f"{start:%Y-%m-%d}~{start + pd.Timedelta(days=6):%Y-%m-%d}"
    if kind == "month":
        return f"{start:%Y-%m}"
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}"
