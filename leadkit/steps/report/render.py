"""The report as the terminal, Markdown and JSON show it, labelled in the book's language."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadkit.rules.columns import ColumnsRules
from leadkit.steps.report.build import Report

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


def shown_cell(key: str, value: Any) -> str:
    """A table cell as people read it: rates as percentages, numbers grouped, text as it is."""
    if key in SHARES:
        return shown_pct(value)
    if isinstance(value, (int, float, np.number)) or value is None:
        return shown_num(value)
    return str(value)
