from __future__ import annotations

from typing import Annotated

import typer

from leadkit.cli.common import Cmd, command, date_option, ui
from leadkit.errors import UsageError


def register(app: typer.Typer) -> None:
    @command(app, "log", book="opt")
    def log(
        cmd: Cmd,
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
                callback=date_option,
            ),
        ] = None,
        channel: Annotated[
            str | None, typer.Option("--channel", help="电话 / 邮件 / 面谈 / 微信.")
        ] = None,
        owner: Annotated[
            str | None, typer.Option("--owner", help="Who followed up (default: the lead's owner).")
        ] = None,
        person: Annotated[str | None, typer.Option("--person", help="Who was reached.")] = None,
        feedback: Annotated[
            str | None,
            typer.Option(
                "--feedback",
                help="Record customer feedback instead (客户反馈 sheet), of this type:"
                " 产品/服务类, 价格类, 服务类 or 决策类 (Product/Service, Price, Service, Decision).",
            ),
        ] = None,
        priority: Annotated[
            str | None,
            typer.Option("--priority", help="With --feedback: 高/中/低 (High/Medium/Low)."),
        ] = None,
        close_by: Annotated[
            str | None,
            typer.Option(
                "--close-by",
                help="With --feedback: its 完成时限 (default: now + feedback close_out_days in"
                " followup.yaml, 3 days).",
                callback=date_option,
            ),
        ] = None,
    ) -> int:
        """Record a follow-up; the lead's contact dates, status and next follow-up follow from it.

        With --feedback, record the customer's feedback (type, priority, close-out date) instead;
        `due` lists it once its 完成时限 passes with 客户确认结果 still blank or 待确认.
        """
        if feedback is None and (priority is not None or close_by is not None):
            raise UsageError("--priority and --close-by go with --feedback TYPE")
        if feedback is not None and (status or next_date or person):
            raise UsageError("--status, --next and --person record a follow-up, not --feedback")
        ctx = cmd.context()
        dry_run = cmd.dry_run
        from leadkit import pipeline

        if feedback is not None:
            row = pipeline.log_feedback(
                ctx, lead_id, kind=feedback, note=note, priority=priority, channel=channel,
                owner=owner, close_by=close_by,
            )  # fmt: skip
            kinds = ctx.rules.columns.enum_labels("feedback_type", ctx.lang)
            levels = ctx.rules.columns.enum_labels("priority", ctx.lang)
            ui.say(
                f"{row['lead_id']}: feedback {kinds[row['type']]}"
                + (f", priority {levels[row['priority']]}" if row["priority"] else "")
                + f"; close out by {row['due']:%Y-%m-%d %H:%M}"
                + (" (dry run: not saved)" if dry_run else "")
            )
            ui.emit_json({"lead_id": row["lead_id"], "feedback": row["type"], "priority": row["priority"],
                          "owner": row["owner"], "close_by": row["due"]})  # fmt: skip
            return 0

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
