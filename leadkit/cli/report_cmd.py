from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadkit.cli.common import AsOf, BookArg, BookOpt, Quiet, boundary, pick_book, ui
from leadkit.context import context
from leadkit.errors import ExitStatus


def _bar(value: float | None, top: float, width: int = 24) -> str:
    if not value or value != value or not top:  # None, 0 or NaN: no bar
        return ""
    return "█" * max(1, round(value / top * width))


def register(app: typer.Typer) -> None:
    @app.command("report")
    @boundary
    def report(
        book: BookArg = None,
        book_opt: BookOpt = None,
        period: Annotated[
            str,
            typer.Option("--period", help="week | month | quarter | year (containing --as-of)."),
        ] = "month",
        previous: Annotated[
            bool, typer.Option("--previous", help="The last complete period instead.")
        ] = False,
        start: Annotated[
            str | None, typer.Option("--from", help="Start of a custom period (with --to).")
        ] = None,
        end: Annotated[
            str | None, typer.Option("--to", help="End of a custom period (exclusive).")
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
        fmt: Annotated[str, typer.Option("--format", help="table | json | md")] = "table",
        notify: Annotated[
            str | None,
            typer.Option("--notify", help="Send the Markdown report: email, webhook or both."),
        ] = None,
        as_of: AsOf = None,
        quiet: Quiet = False,
    ) -> int:
        """Conversion, response time, funnel and breakdowns for a week/month/quarter; Excel with charts."""
        if fmt not in ("table", "json", "md"):
            raise typer.BadParameter("--format takes table, json or md")
        ui.configure(quiet=quiet, json_out=fmt == "json")
        ctx = context(pick_book(book, book_opt), as_of=as_of, read_ahead=True)
        from leadkit import pipeline
        from leadkit.report import (
            as_json,
            markdown,
            metric_rows,
            shown_num,
            shown_pct,
            write_report,
        )

        rep = pipeline.report(ctx, period=period, previous=previous, start=start, end=end,
                              by=[b.strip() for b in by.split(",") if b.strip()])  # fmt: skip
        if fmt == "json":
            ui.emit_json(json.loads(json.dumps(as_json(rep), default=str)))
        elif fmt == "md":
            if not quiet:
                ui.out.print(
                    markdown(rep, ctx.lang, ctx.rules.columns), markup=False, highlight=False
                )
        elif ui.chatty:
            summary = Table(
                title=f"leadkit report {rep.period} ({rep.start:%Y-%m-%d} – {rep.end:%Y-%m-%d})",
                title_justify="left",
            )
            summary.add_column("metric")
            summary.add_column("value", justify="right")
            for k, v in metric_rows(rep, ctx.lang):
                summary.add_row(k, v)
            ui.show(summary)
            fun = Table(title="funnel (leads created in the period)", title_justify="left")
            for name in ("stage", "reached", "from previous", ""):
                fun.add_column(name, justify="left" if name in ("stage", "") else "right")
            top = max(rep.funnel["reached"].max(), 1)
            for r in rep.funnel.itertuples():
                fun.add_row(
                    str(r.stage), str(r.reached), shown_pct(r.from_previous), _bar(r.reached, top)
                )
            ui.show(fun)
            for name, frame in rep.breakdowns.items():
                t = Table(title=f"by {name}", title_justify="left")
                cols = [c for c in frame.columns]
                for c in cols:
                    t.add_column(c, justify="left" if c == name else "right")
                for row in frame.itertuples(index=False):
                    t.add_row(
                        *(
                            shown_pct(v)
                            if c in ("conversion_of_new", "win_rate_of_closed")
                            else (str(v) if c == name else shown_num(v))
                            for c, v in zip(cols, row, strict=True)
                        )
                    )
                ui.show(t)
            g = Table(title="grade validation (closed in the period)", title_justify="left")
            for c in ("grade", "closed", "won", "won rate", ""):
                g.add_column(c, justify="left" if c in ("grade", "") else "right")
            for r in rep.grades.itertuples():
                g.add_row(
                    str(r.grade),
                    shown_num(r.closed),
                    shown_num(r.won),
                    shown_pct(r.won_rate),
                    _bar(r.won_rate, 1.0),
                )
            ui.show(g)
            tr = Table(title="trend", title_justify="left")
            for c in ("period", "new", "won", "conversion", ""):
                tr.add_column(c, justify="left" if c in ("period", "") else "right")
            top = max(rep.trend["new_leads"].max(), 1)
            for r in rep.trend.itertuples():
                tr.add_row(
                    str(r.period),
                    str(r.new_leads),
                    str(r.won),
                    shown_pct(r.conversion_of_new),
                    _bar(r.new_leads, top),
                )
            ui.show(tr)
            sla = Table(title="SLA by grade (assigned in the period)", title_justify="left")
            for c in ("grade", "decided", "hit", "hit rate"):
                sla.add_column(c, justify="left" if c == "grade" else "right")
            for r in rep.sla_grades.itertuples():
                sla.add_row(
                    str(r.grade), shown_num(r.decided), shown_num(r.hit), shown_pct(r.sla_hit_rate)
                )
            ui.show(sla)
            reps = Table(title="per rep", title_justify="left")
            for c in rep.reps.columns:
                reps.add_column(c, justify="left" if c == "owner" else "right")
            for row in rep.reps.itertuples(index=False):
                reps.add_row(
                    *(
                        str(v)
                        if c == "owner"
                        else (
                            shown_pct(v)
                            if c.endswith("rate") or c.endswith("closed")
                            else shown_num(v)
                        )
                        for c, v in zip(rep.reps.columns, row, strict=True)
                    )
                )
            ui.show(reps)
            if len(rep.lost_reasons):
                lost = Table(title="top lost reasons", title_justify="left")
                lost.add_column("reason")
                lost.add_column("leads", justify="right")
                for r in rep.lost_reasons.itertuples():
                    lost.add_row(str(r.reason), str(r.leads))
                ui.show(lost)
            fc = Table(title="pipeline forecast (open leads, stage-weighted)", title_justify="left")
            for c in ("status", "leads", "budget", "weight", "expected"):
                fc.add_column(c, justify="left" if c == "status" else "right")
            for r in rep.forecast.itertuples():
                fc.add_row(
                    str(r.status),
                    str(r.leads),
                    shown_num(r.budget),
                    f"{r.weight:g}",
                    shown_num(r.expected),
                )
            ui.show(fc)
        for w in rep.warnings:
            ui.warn(w)
        if out is not None:
            target = pipeline.output_file(ctx, out, (".xlsx", ".html", ".md"))
            write_report(rep, target, ctx.lang, ctx.rules.columns)
            ui.say(f"wrote {out}")
        if notify is not None:
            sent = pipeline.send_report(ctx, rep, notify)
            for d in sent.failed:
                ui.warn(f"not delivered: {d.channel}: {d.detail}")
            if sent.failed:
                return ExitStatus.NOT_DELIVERED
            ui.say(f"report sent ({len(sent.sent)})")
        return 0
