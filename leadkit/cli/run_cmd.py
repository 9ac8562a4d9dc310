from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadkit.cli.common import AsOf, BookOpt, DryRun, Force, Json, Quiet, boundary, ui
from leadkit.context import context
from leadkit.errors import ExitStatus
from leadkit.progress import bar

STEPS_HELP = (
    "comma-separated, run in pipeline order: import,dedupe,score,assign,recycle,due,report "
    "(default: leadkit.yaml's pipeline: steps, else the first five)"
)


def register(app: typer.Typer) -> None:
    @app.command("run")
    @boundary
    def run(
        files: Annotated[
            list[Path] | None,
            typer.Argument(
                help="files to import, besides the inbox: folder's (none: import is skipped)"
            ),
        ] = None,
        steps: Annotated[str | None, typer.Option("--steps", help=STEPS_HELP)] = None,
        by: Annotated[
            str | None, typer.Option("--by", help="assign strategy (default: pipeline: assign: by)")
        ] = None,
        notify: Annotated[
            str | None,
            typer.Option("--notify", help="due: send reminders, email, webhook or both."),
        ] = None,
        book_opt: BookOpt = None,
        as_of: AsOf = None,
        dry_run: DryRun = False,
        force: Force = False,
        json_out: Json = False,
        quiet: Quiet = False,
    ) -> int:
        """The morning chain in one pass (import … recycle, due, report): one load, one save.

        Imports the inbox: folder's lead and events files too; a terminal shows a progress bar.
        """
        ui.configure(quiet=quiet, json_out=json_out)
        ctx = context(book_opt, as_of=as_of, dry_run=dry_run, force=force, read_ahead=True)
        from leadkit import pipeline

        wanted = None if steps is None else [s.strip() for s in steps.split(",") if s.strip()]
        with bar(chatty=ui.chatty) as ctx.progress:
            outcome = pipeline.run(ctx, wanted, files=list(files or []), by=by, notify=notify)
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
