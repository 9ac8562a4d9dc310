from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadkit.cli.common import Channels, Cmd, command, ui
from leadkit.errors import ExitStatus


def register(app: typer.Typer) -> None:
    @command(app, "due", book="arg", options=("as_of", "dry_run", "json", "quiet"))
    def due(
        cmd: Cmd,
        owner: Annotated[
            str | None, typer.Option("--owner", help="Only this rep's to-dos.")
        ] = None,
        out: Annotated[
            Path | None, typer.Option("--out", help="Also write the list to this .xlsx.")
        ] = None,
        notify: Annotated[
            Channels | None,
            typer.Option(
                "--notify",
                help="Send reminders: email, webhook or both (see leadkit.yaml); each item once,"
                " each robot within its per-minute limit across runs (.leadkit/robots.json).",
            ),
        ] = None,
        force: Annotated[
            bool,
            typer.Option("--force", help="Send every due item again, also those already sent."),
        ] = False,
    ) -> int:
        """What each rep must do today: overdue contacts and follow-ups, stuck leads, a missed
        weekly meeting/e-mail (S/A), feedback past its close-out date, S/A untouched."""
        ctx = cmd.context()
        dry_run = cmd.dry_run
        from leadkit import pipeline
        from leadkit.steps.followup import kind_label

        outcome = pipeline.due(ctx, owner=owner)
        items = outcome.items
        for rep, mine in items.groupby("owner", sort=True) if ui.chatty else ():
            table = Table(title=f"{rep}: {len(mine)}", title_justify="left")
            for name in (
                "what",
                "lead",
                "company",
                "contact",
                "phone",
                "grade",
                "when",
                "hours over",
            ):
                table.add_column(name, justify="right" if name == "hours over" else "left")
            for r in mine.itertuples():
                style = "red" if r.escalate else None
                table.add_row(kind_label(r.kind, ctx.lang), str(r.lead_id), str(r.company or ""), str(r.contact or ""),
                              str(r.phone or ""), str(r.grade or ""), "" if r.when != r.when else f"{r.when:%m-%d %H:%M}",
                              f"{r.hours_overdue:g}" if r.hours_overdue else "", style=style)  # fmt: skip
            ui.show(table)
        if items.empty:
            ui.say("nothing due")
        if len(outcome.unknown_activities):
            ui.warn(f"{len(outcome.unknown_activities)} follow-up record(s) name a lead ID the book does not have: "
                    + ", ".join(sorted(set(outcome.unknown_activities["lead_id"].astype(str)))[:10]))  # fmt: skip
        if out is not None and dry_run:
            ui.say(f"dry run: {out} not written")
        elif out is not None:
            pipeline.write_due(ctx, items, pipeline.output_file(ctx, out))
            ui.say(f"wrote {out}")
        status = ExitStatus.OK
        report = None
        if notify is not None:
            report = pipeline.send_reminders(ctx, outcome, notify.value, force=force)
            if dry_run:
                ui.say(f"dry run: {len(report.unsent)} reminder(s) would be sent; none was")
            ui.say(
                f"reminders: {len(report.sent)} sent, {len(report.skipped)} with nothing new, {len(report.failed)} failed"
            )
            for d in report.failed:
                ui.warn(f"not delivered: {d.channel} to {d.recipient}: {d.detail}")
            if report.failed:
                status = ExitStatus.NOT_DELIVERED
        ui.emit_json(
            lambda: {
                "items": items.to_dict(orient="records"),
                "unknown_activities": outcome.unknown_activities["lead_id"].astype(str).tolist()
                if len(outcome.unknown_activities)
                else [],
                "notify": None
                if report is None
                else {
                    k: [vars(d) for d in getattr(report, k)]
                    for k in ("sent", "skipped", "failed", "unsent")
                },
            }
        )
        return status
