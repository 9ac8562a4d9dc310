from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from leadkit.cli.common import Channels, Cmd, Period, ReportFormat, command, date_option, ui
from leadkit.errors import ExitStatus

if TYPE_CHECKING:
    import pandas as pd

    from leadkit.steps.report import View


def _bar(value: float | None, top: float, width: int = 24) -> str:
    if not value or value != value or not top:  # None, 0 or NaN: no bar
        return ""
    return "█" * max(1, round(value / top * width))


def _table(view: View, shown: pd.DataFrame) -> Table:
    """One view as a terminal table, with bars beside the series it charts elsewhere."""
    import pandas as pd  # not at import time: the CLI reads the clock and rules before pandas

    from leadkit.steps.report import shown_cell

    table = Table(title=view.title, title_justify="left")
    for i, label in enumerate(shown.columns):
        # numbers to the right; text (the category, RFM's owner and segment) to the left
        text = i == 0 or not pd.api.types.is_numeric_dtype(view.frame.iloc[:, i])
        table.add_column(str(label), justify="left" if text else "right")
    top = 0.0
    if view.series:
        table.add_column("")
        values = pd.to_numeric(view.frame[view.series], errors="coerce")
        top = float(values.max()) if values.notna().any() else 0.0
    for raw, row in zip(
        view.frame.itertuples(index=False), shown.itertuples(index=False), strict=True
    ):
        cells = [str(v) if i == 0 else shown_cell(k, v)
                 for i, (k, v) in enumerate(zip(view.frame.columns, row, strict=True))]  # fmt: skip
        if view.series:
            cells.append(_bar(getattr(raw, view.series), top))
        table.add_row(*cells)
    return table


def register(app: typer.Typer) -> None:
    @command(app, "report", book="arg", options=("as_of", "quiet"))
    def report(
        cmd: Cmd,
        period: Annotated[
            Period, typer.Option("--period", help="The period containing --as-of.")
        ] = Period.month,
        previous: Annotated[
            bool, typer.Option("--previous", help="The last complete period instead.")
        ] = False,
        start: Annotated[
            str | None,
            typer.Option(
                "--from", help="Start of a custom period (with --to).", callback=date_option
            ),
        ] = None,
        end: Annotated[
            str | None,
            typer.Option("--to", help="End of a custom period (exclusive).", callback=date_option),
        ] = None,
        by: Annotated[
            str,
            typer.Option(
                "--by", help="Breakdowns, comma-separated: source,grade,owner,industry,region."
            ),
        ] = "source,grade,owner",
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                help="Also write the report: .xlsx with charts, .html (self-contained), .md.",
            ),
        ] = None,
        rfm: Annotated[
            bool,
            typer.Option(
                "--rfm",
                help="Also RFM of the won customers (all won deals to --as-of): recency, frequency, "
                "monetary, 1-5 scores and segments (rules/report.yaml's rfm:).",
            ),
        ] = False,
        fmt: Annotated[
            ReportFormat, typer.Option("--format", help="How to print it.")
        ] = ReportFormat.table,
        notify: Annotated[
            Channels | None,
            typer.Option("--notify", help="Send the Markdown report: email, webhook or both."),
        ] = None,
    ) -> int:
        """Conversion, response time, funnel and breakdowns for a week/month/quarter; Excel with charts; feedback by type and trend; --rfm: won customers' RFM segments."""
        quiet = cmd.quiet
        ui.configure(quiet=quiet, json_out=fmt == "json")
        ctx = cmd.context()
        from leadkit import pipeline
        from leadkit.steps.report import (
            as_json,
            localised,
            markdown,
            metric_rows,
            report_views,
            write_report,
        )

        rep = pipeline.report(ctx, period=period.value, previous=previous, start=start, end=end,
                              by=[b.strip() for b in by.split(",") if b.strip()], rfm=rfm)  # fmt: skip
        if fmt == "json":
            ui.emit_json(json.loads(json.dumps(as_json(rep), default=str)))
        elif fmt == "md":
            if not quiet:
                ui.out.print(
                    markdown(rep, ctx.lang, ctx.rules.columns), markup=False, highlight=False
                )
        elif ui.chatty:
            zh = ctx.lang == "zh"
            summary = Table(
                title=f"leadkit {'报告' if zh else 'report'} {rep.period} ({rep.start:%Y-%m-%d} – {rep.end:%Y-%m-%d})",
                title_justify="left",
            )
            summary.add_column("指标" if zh else "Metric")
            summary.add_column("数值" if zh else "Value", justify="right")
            for k, v in metric_rows(rep, ctx.lang):
                summary.add_row(k, v)
            ui.show(summary)
            for view in report_views(rep, ctx.lang, ctx.rules.columns):
                ui.show(_table(view, localised(view.frame, ctx.rules.columns, ctx.lang)))
        for w in rep.warnings:
            ui.warn(w)
        if out is not None:
            target = pipeline.output_file(ctx, out, (".xlsx", ".html", ".md"))
            write_report(rep, target, ctx.lang, ctx.rules.columns)
            ui.say(f"wrote {out}")
        if notify is not None:
            sent = pipeline.send_report(ctx, rep, notify.value)
            for d in sent.failed:
                ui.warn(f"not delivered: {d.channel}: {d.detail}")
            if sent.failed:
                return ExitStatus.NOT_DELIVERED
            ui.say(f"report sent ({len(sent.sent)})")
        return 0
