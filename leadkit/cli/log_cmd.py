from __future__ import annotations

from typing import Annotated

import typer

from leadkit.cli.common import AsOf, BookOpt, DryRun, Force, Json, Quiet, boundary, ui
from leadkit.context import context


def register(app: typer.Typer) -> None:
    @app.command("log")
    @boundary
    def log(
        lead_id: Annotated[str, typer.Argument(help="The lead followed up.")],
        note: Annotated[str, typer.Option("--note", help="What was said (沟通内容).")],
        status: Annotated[
            str | None,
            typer.Option("--status", help="Status after it, e.g. 需求明确 or Qualified."),
        ] = None,
        next_date: Annotated[
            str | None,
            typer.Option(
                "--next",
                help="Next follow-up, e.g. 2026-03-12T10:00 (default: the grade's cadence).",
            ),
        ] = None,
        channel: Annotated[
            str | None, typer.Option("--channel", help="电话 / 邮件 / 面谈 / 微信.")
        ] = None,
        owner: Annotated[
            str | None, typer.Option("--owner", help="Who followed up (default: the lead's owner).")
        ] = None,
        person: Annotated[str | None, typer.Option("--person", help="Who was reached.")] = None,
        book: BookOpt = None,
        as_of: AsOf = None,
        dry_run: DryRun = False,
        force: Force = False,
        json_out: Json = False,
        quiet: Quiet = False,
    ) -> int:
        """Record a follow-up; the lead's contact dates, status and next follow-up follow from it."""
        ui.configure(quiet=quiet, json_out=json_out)
        ctx = context(book, as_of=as_of, dry_run=dry_run, force=force, read_ahead=True)
        from leadkit import pipeline

        lead = pipeline.log_activity(
            ctx,
            lead_id,
            note=note,
            status=status,
            next_follow_up=next_date,
            channel=channel,
            owner=owner,
            person=person,
        )
        labels = ctx.rules.columns.enum_labels("status", ctx.lang)
        nxt = lead["next_follow_up"]
        ui.say(
            f"{lead_id}: {labels.get(lead['status'], lead['status'])}; next follow-up "
            + ("none (closed)" if nxt != nxt or nxt is None else f"{nxt:%Y-%m-%d %H:%M}")
            + (" (dry run: not saved)" if dry_run else "")
        )
        ui.emit_json({"lead_id": lead_id, "status": lead["status"], "first_contact_at": lead["first_contact_at"],
                      "last_contact_at": lead["last_contact_at"], "next_follow_up": nxt})  # fmt: skip
        return 0
