from __future__ import annotations

from typing import Annotated

import typer

from leadkit.cli.common import AsOf, BookOpt, DryRun, Force, Json, Quiet, boundary, ui
from leadkit.context import context


def register(app: typer.Typer) -> None:
    @app.command("claim")
    @boundary
    def claim(
        lead_id: Annotated[str, typer.Argument(help="The pool lead to take.")],
        owner: Annotated[
            str, typer.Option("--owner", help="The rep taking it (a name in routing.yaml).")
        ],
        book: BookOpt = None,
        as_of: AsOf = None,
        dry_run: DryRun = False,
        force: Force = False,
        json_out: Json = False,
        quiet: Quiet = False,
    ) -> int:
        """A rep takes a lead from the pool, within the daily claim limit."""
        ui.configure(quiet=quiet, json_out=json_out)
        ctx = context(book, as_of=as_of, dry_run=dry_run, force=force, read_ahead=True)
        from leadkit import pipeline

        lead = pipeline.claim(ctx, lead_id, owner)
        due = lead["first_contact_due"]
        ui.say(
            f"{lead_id} is now {owner}'s; first contact due {due:%Y-%m-%d %H:%M}"
            + (" (dry run: not saved)" if dry_run else "")
        )
        ui.emit_json({"lead_id": lead_id, "owner": owner, "first_contact_due": due})
        return 0
