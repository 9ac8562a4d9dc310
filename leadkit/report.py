"""Report step: the numbers a sales manager reviews every week, month and quarter.

Every metric is computed on active leads (merged rows, with duplicate_of set, are left out) for a
calendar period of the workspace time zone; the definitions are in the README ("Report").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from leadkit.files import replacing
from leadkit.neutralise import neutralise_frame
from leadkit.normalize import column_dates
from leadkit.rules import CLOSED_STATUSES, Strict

Period = Literal["week", "month", "quarter", "year"]
STAGES = ["new", "contacted", "qualified", "proposal", "negotiation", "won"]
RANK = {s: i for i, s in enumerate(STAGES)}


class ReportRules(Strict):
    """`report.yaml`."""

    stage_weights: dict[str, float] = Field(default_factory=dict)
    trend_periods: int = Field(default=6, ge=1, le=60)
    top_lost_reasons: int = Field(default=5, ge=1)


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


def metrics(leads: pd.DataFrame, activities: pd.DataFrame, log: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
            *, now: datetime, cadence: dict[str, float]) -> dict[str, Any]:  # fmt: skip
    """The headline numbers of one period (see the README for each definition)."""
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
    contacted = _within(first, start, end)
    hours = ((first - assigned) / pd.Timedelta(hours=1))[contacted & assigned.notna()]
    assigned_in = _within(assigned, start, end) & due.notna()
    now_ts = pd.Timestamp(now)
    decided = assigned_in & (first.notna() | (due < min(end, now_ts)))
    hit = decided & first.notna() & (first <= due)
    deals = pd.to_numeric(leads["deal_amount"], errors="coerce")[won]
    cycle = ((closed - created) / pd.Timedelta(days=1))[won]
    completeness = leads["completeness"][new]
    # follow-up plan: the contacts the grade cadence asked for in the period, against those made
    open_owned = leads["owner"].notna() & ~status.isin(list(CLOSED_STATUSES))
    span_start = pd.concat([assigned.where(assigned > start, start)], axis=1).max(axis=1)
    span_end = min(end, now_ts)
    days = ((span_end - span_start) / pd.Timedelta(days=1)).clip(lower=0)[
        open_owned & assigned.notna()
    ]
    grade = leads["grade"].where(leads["grade"].isin(list(cadence)), "C")[days.index]
    expected = float((days / grade.map(cadence).astype(float)).sum())
    act_dates = (
        column_dates(activities, "date")
        if not activities.empty
        else pd.Series(dtype="datetime64[ns]")
    )
    done = int(_within(act_dates, start, end).sum()) if len(act_dates) else 0
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
        "win_rate_of_closed": _ratio(int(won.sum()), int(won.sum() + lost.sum())),
        "response_hours_median": float(hours.median()) if len(hours) else None,
        "response_hours_p90": float(hours.quantile(0.9)) if len(hours) else None,
        "sla_hit_rate": _ratio(int(hit.sum()), int(decided.sum())),
        "follow_up_completion": _ratio(done, expected),
        "follow_ups_done": done,
        "follow_ups_expected": round(expected, 1),
        "complete_info_rate": _ratio(int((completeness == "complete").sum()), len(completeness)),
        "basic_info_rate": _ratio(
            int(completeness.isin(["complete", "basic"]).sum()), len(completeness)
        ),
        "deal_amount_total": float(deals.sum()) if len(deals) else 0.0,
        "average_deal": float(deals.mean()) if deals.notna().any() else None,
        "sales_cycle_days_median": float(cycle.median()) if len(cycle) else None,
        "pool_unassigned": int((open_now & leads["owner"].isna()).sum()),
        "pool_overdue_first_contacts": int(
            (open_now & leads["owner"].notna() & first.isna() & (due < now_ts)).sum()
        ),
        "recycled": recycled,
    }


def sla_by_grade(
    leads: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, now: datetime
) -> pd.DataFrame:
    first, assigned, due = (
        column_dates(leads, "first_contact_at"),
        column_dates(leads, "assigned_at"),
        column_dates(leads, "first_contact_due"),
    )
    assigned_in = _within(assigned, start, end) & due.notna()
    decided = assigned_in & (first.notna() | (due < min(end, pd.Timestamp(now))))
    hit = decided & first.notna() & (first <= due)
    grade = leads["grade"].fillna("-")
    out = (
        pd.DataFrame({"grade": grade, "decided": decided, "hit": hit})
        .groupby("grade")[["decided", "hit"]]
        .sum()
    )
    out["sla_hit_rate"] = (out["hit"] / out["decided"]).where(out["decided"] > 0)
    return out.reset_index()


def funnel(leads: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Leads created in the period by the furthest stage they reached, with stage-to-stage rates."""
    new = leads[_within(column_dates(leads, "created_at"), start, end)]
    rank = new["status"].map(RANK)
    rank = rank.where(new["status"] != "lost", 1)  # a lost lead reached at least 初步接洽
    reached = [int((rank >= i).sum()) for i in range(len(STAGES))]
    frame = pd.DataFrame({"stage": STAGES, "reached": reached})
    frame["from_previous"] = (frame["reached"] / frame["reached"].shift(1)).where(
        frame["reached"].shift(1) > 0
    )
    frame["now_in_stage"] = [int((new["status"] == s).sum()) for s in STAGES]
    frame.loc[len(frame)] = [
        "lost",
        int((new["status"] == "lost").sum()),
        np.nan,
        int((new["status"] == "lost").sum()),
    ]
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
        cost = pd.Series({s: channels.cost(str(s), start, end) for s in out.index}, dtype=float)
        out["spend"] = cost
        out["cost_per_lead"] = (cost / out["new"]).where(out["new"] > 0)
        out["cost_per_won"] = (cost / out["won"]).where(out["won"] > 0)
    return (
        out.drop(columns=["new_won"])
        .reset_index()
        .sort_values("new", ascending=False, kind="stable")
    )


def per_rep(
    leads: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, now: datetime
) -> pd.DataFrame:
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
        "response_hours": ((first - assigned) / pd.Timedelta(hours=1)).where(_within(first, start, end)),
    })  # fmt: skip
    out = frame.groupby("owner").agg(
        assigned=("assigned", "sum"), contacted=("contacted", "sum"), won=("won", "sum"), lost=("lost", "sum"),
        open=("open", "sum"), sla_decided=("sla_decided", "sum"), sla_hit=("sla_hit", "sum"),
        response_hours_median=("response_hours", "median"),
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
    """Open leads by status: budget (万元) and the stage-weighted expected amount."""
    open_ = leads[~leads["status"].isin(list(CLOSED_STATUSES))]
    budget = pd.to_numeric(open_["budget"], errors="coerce").fillna(0)
    frame = pd.DataFrame({"status": open_["status"], "budget": budget})
    out = frame.groupby("status").agg(leads=("budget", "size"), budget=("budget", "sum"))
    out["weight"] = [weights.get(s, 0.0) for s in out.index]
    out["expected"] = out["budget"] * out["weight"]
    out = out.reindex(
        [s for s in STAGES if s in out.index] + [s for s in out.index if s not in STAGES]
    )
    return out.reset_index()


def build_report(
    leads: pd.DataFrame, activities: pd.DataFrame, log: pd.DataFrame, *, kind: Period, now: datetime,
    rules: ReportRules, cadence: dict[str, float], by: list[str], channels: ChannelsRules | None = None,
    previous: bool = False, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
) -> Report:  # fmt: skip
    """Everything `leadkit report` shows, for one period."""
    active = leads[leads["duplicate_of"].isna()] if "duplicate_of" in leads else leads
    if start is None or end is None:
        start, end = period_bounds(kind, now, previous=previous)
    m = metrics(active, activities, log, start, end, now=now, cadence=cadence)
    trend_rows = []
    for back in range(rules.trend_periods - 1, -1, -1):
        s, e = period_bounds(kind, start, back=back)
        t = metrics(active, activities, log, s, e, now=now, cadence=cadence)
        trend_rows.append({"period": _label(kind, s), "new_leads": t["new_leads"], "won": t["won"],
                           "conversion_of_new": t["conversion_of_new"], "win_rate_of_closed": t["win_rate_of_closed"]})  # fmt: skip
    grades, warnings = grade_validation(active, start, end)
    lost = active[
        (active["status"] == "lost") & _within(column_dates(active, "closed_at"), start, end)
    ]
    reasons = lost["lost_reason"].fillna("(no reason)").value_counts().head(rules.top_lost_reasons)
    return Report(
        period=_label(kind, start), start=start, end=end, metrics=m, funnel=funnel(active, start, end),
        breakdowns={b: breakdown(active, b, start, end, channels) for b in by},
        reps=per_rep(active, start, end, now), grades=grades, trend=pd.DataFrame(trend_rows),
        forecast=forecast(active, rules.stage_weights),
        lost_reasons=reasons.rename_axis("reason").reset_index(name="leads"),
        sla_grades=sla_by_grade(active, start, end, now), warnings=warnings,
    )  # fmt: skip


def _label(kind: Period, start: pd.Timestamp) -> str:
    if kind == "week":
        return f"{start:%Y-%m-%d} week"
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
    "new_leads": ("新增线索", "New leads"), "contacted": ("已接触", "Contacted"), "won": ("成交", "Won"),
    "lost": ("流失", "Lost"), "conversion_of_new": ("新线索转化率", "Conversion of new leads"),
    "win_rate_of_closed": ("关闭赢单率", "Win rate of closed"),
    "response_hours_median": ("响应时长中位数(小时)", "Response time median (h)"),
    "response_hours_p90": ("响应时长P90(小时)", "Response time p90 (h)"), "sla_hit_rate": ("SLA达成率", "SLA hit rate"),
    "follow_up_completion": ("跟进计划完成率", "Follow-up plan completion"),
    "follow_ups_done": ("已跟进次数", "Follow-ups done"), "follow_ups_expected": ("应跟进次数", "Follow-ups expected"),
    "complete_info_rate": ("信息完整率", "Complete-information rate"), "basic_info_rate": ("基本完整率", "Basic-information rate"),
    "deal_amount_total": ("成交总额(万元)", "Deal amount (10k CNY)"), "average_deal": ("平均客单价(万元)", "Average deal (10k CNY)"),
    "sales_cycle_days_median": ("销售周期中位数(天)", "Sales cycle median (days)"),
    "pool_unassigned": ("线索池待分配", "Pool: unassigned"), "pool_overdue_first_contacts": ("首次跟进超时", "Overdue first contacts"),
    "recycled": ("回收次数", "Recycled"),
}  # fmt: skip
RATES = {
    "conversion_of_new",
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


def markdown(report: Report, lang: str) -> str:
    """The report as Markdown, for pasting into a chat."""
    title = f"### leadkit {'报告' if lang == 'zh' else 'report'} {report.period}"
    lines = [title, ""]
    lines += [f"- {k}: **{v}**" for k, v in metric_rows(report, lang)]
    lines += ["", "| stage | reached | from previous |", "|---|---:|---:|"]
    lines += [
        f"| {r.stage} | {r.reached} | {shown_pct(r.from_previous)} |"
        for r in report.funnel.itertuples()
    ]
    for by, frame in report.breakdowns.items():
        lines += ["", f"| {by} | new | won | conversion |", "|---|---:|---:|---:|"]
        lines += [
            f"| {getattr(r, by)} | {r.new} | {r.won} | {shown_pct(r.conversion_of_new)} |"
            for r in frame.itertuples()
        ]
    lines += [f"- ⚠ {w}" for w in report.warnings]
    return "\n".join(lines)


def as_json(report: Report) -> dict[str, Any]:
    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return frame.replace({np.nan: None}).to_dict(orient="records")

    return {
        "period": report.period, "start": str(report.start), "end": str(report.end), "metrics": report.metrics,
        "funnel": records(report.funnel), "breakdowns": {k: records(v) for k, v in report.breakdowns.items()},
        "reps": records(report.reps), "grades": records(report.grades), "trend": records(report.trend),
        "forecast": records(report.forecast), "lost_reasons": records(report.lost_reasons),
        "sla_by_grade": records(report.sla_grades), "warnings": report.warnings,
    }  # fmt: skip


def write_excel(report: Report, path: Any, lang: str) -> None:
    """A workbook: a summary sheet, one sheet per view, number formats and native charts."""
    import rustpy_xlsxwriter as rx

    zh = lang == "zh"
    header = rx.Format().set_bold().set_background_color("#DDEBF7").set_border("thin")
    pct = rx.Format().set_num_format("0.0%")
    rows = metric_rows(report, lang)
    summary = pd.DataFrame({
        "指标" if zh else "Metric": [label for label, _ in rows],
        report.period: [None if v is None else float(v) for v in report.metrics.values()],  # numbers, for formulas
        "显示" if zh else "Shown": [shown for _, shown in rows],
    })  # fmt: skip
    sheets: list[tuple[str, pd.DataFrame]] = [("汇总" if zh else "Summary", summary)]
    sheets.append(("漏斗" if zh else "Funnel", report.funnel))
    for by, frame in report.breakdowns.items():
        sheets.append(((f"按{by}" if zh else f"By {by}")[:31], frame))
    sheets += [("销售" if zh else "Reps", report.reps), ("等级验证" if zh else "Grades", report.grades),
               ("趋势" if zh else "Trend", report.trend), ("预测" if zh else "Forecast", report.forecast),
               ("流失原因" if zh else "Lost reasons", report.lost_reasons),
               ("等级SLA" if zh else "SLA by grade", report.sla_grades)]  # fmt: skip
    # Sources, reps, lost reasons … are the user's text: through the writer's one neutraliser.
    entries = [(name, neutralise_frame(frame.reset_index(drop=True))) for name, frame in sheets]
    charts: dict[str, list[dict[str, Any]]] = {}
    formats: dict[str, dict[str, Any]] = {}
    for name, frame in entries:
        formats[name] = {
            c: pct
            for c in frame.columns
            if c in RATES or c in ("from_previous", "won_rate", "sla_hit_rate")
        }
    funnel_name = entries[1][0]
    charts[funnel_name] = [
        {
            "type": "bar",
            "series": ["reached"],
            "categories": "stage",
            "title": "漏斗" if zh else "Funnel",
        }
    ]
    if "source" in report.breakdowns:
        name = next(n for n, _ in entries if n.endswith("source"))
        charts[name] = [{"type": "column", "series": ["conversion_of_new"], "categories": "source",
                         "title": "各渠道转化率" if zh else "Conversion by source"}]  # fmt: skip
    trend_name = "趋势" if zh else "Trend"
    charts[trend_name] = [
        {
            "type": "line",
            "series": ["new_leads", "won"],
            "categories": "period",
            "title": "趋势" if zh else "Trend",
        }
    ]
    grades_name = "等级验证" if zh else "Grades"
    charts[grades_name] = [{"type": "column", "series": ["won_rate"], "categories": "grade",
                            "title": "各等级赢单率" if zh else "Won rate by grade"}]  # fmt: skip
    with replacing(Path(path)) as tmp:
        rx.write_worksheets(
            entries, str(tmp), header_format={n: header for n, _ in entries}, column_width={n: 16 for n, _ in entries},
            freeze_panes={"general": {"row": 1, "col": 0}}, column_formats=formats, charts=charts,
        )  # fmt: skip
