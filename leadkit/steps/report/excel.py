"""The report as an Excel workbook with charts and print areas, and as an HTML mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from leadkit.bookio.neutralise import neutralise_frame
from leadkit.files import replacing
from leadkit.rules.columns import ColumnsRules
from leadkit.steps.report.build import Report
from leadkit.steps.report.render import _number_format, localised, markdown, metric_rows, shown_cell

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
