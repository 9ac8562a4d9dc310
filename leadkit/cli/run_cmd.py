from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadkit.cli.common import AssignBy, Channels, Cmd, command, steps_option, ui
from leadkit.errors import ExitStatus
from leadkit.progress import bar

STEPS_HELP = (
    "comma-separated, run in pipeline order: import,dedupe,score,assign,recycle,due,report "
    "(default: leadkit.yaml's pipeline: steps, else the first five)"
)


def register(app: typer.Typer) -> None:
    @command(app, "run", book="opt")
    def run(
        cmd: Cmd,
        files: Annotated[
            list[Path] | None,
            typer.Argument(
                help="files to import, besides the inbox: folder's (none: import is skipped)"
            ),
        ] = None,
        steps: Annotated[
            str | None, typer.Option("--steps", help=STEPS_HELP, callback=steps_option)
        ] = None,
        by: Annotated[
            AssignBy | None,
            typer.Option("--by", help="assign strategy (default: pipeline: assign: by)"),
        ] = None,
        notify: Annotated[
            Channels | None,
            typer.Option("--notify", help="due: send reminders, email, webhook or both."),
        ] = None,
    ) -> int:
        """The morning chain in one pass (import … recycle, due, report): one load, one save.

        Imports the inbox: folder's lead and events files too; a terminal shows a progress bar.
        """
        ctx = cmd.context()
        dry_run = cmd.dry_run
        from leadkit import pipeline

        wanted = None if steps is None else [s.strip() for s in steps.split(",") if s.strip()]
        with bar(chatty=ui.chatty) as ctx.progress:
            outcome = pipeline.run(
                ctx,
                wanted,
                files=list(files or []),
                by=by and by.value,
                notify=notify and notify.value,
            )
        for name, result in outcome.steps.items():
            if name == "due":
                ui.say(f"due: {len(result.items)} to-do(s)")
            else:
                ui.say(f"{name}: done")
            if name == "import" and outcome.events is not None:
                ev = outcome.events
                ui.say(
                    f"import: {ev.added} behaviour event(s) added to the Events sheet ({ev.untied} "
                    f"untied); {ev.already} already there; {ev.skipped} skipped"
                )
        for path in outcome.written:
            ui.say(f"wrote {path}")
        for d in outcome.undelivered:
            ui.warn(f"not delivered: {d.channel} to {d.recipient}: {d.detail}")
        if outcome.inbox_done:
            ui.say(
                f"inbox: {len(outcome.inbox_done)} file(s) imported, moved to {outcome.inbox_done[0].parent}"
            )
        for failed in outcome.inbox_failed:
            # a warning even under --quiet: cron mails it, and the exit code says so
            where = "" if dry_run else " (moved to inbox/failed/, reason beside it)"
            ui.warn(f"inbox: {failed.reason}{where}")
        if dry_run:
            ui.say("dry run: the book was not changed")
        ui.emit_json(
            lambda: {
                "steps": list(outcome.steps),
                "events": None
                if outcome.events is None
                else {**vars(outcome.events), "untied": outcome.events.untied},
                "inbox_done": [str(p) for p in outcome.inbox_done],
                "inbox_failed": [
                    {"file": str(f.path), "reason": f.reason} for f in outcome.inbox_failed
                ],
            }
        )
        if outcome.inbox_failed:
            return ExitStatus.INBOX_FAILED
        return ExitStatus.NOT_DELIVERED if outcome.undelivered else ExitStatus.OK
