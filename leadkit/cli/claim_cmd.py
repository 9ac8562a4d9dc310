from __future__ import annotations

from typing import Annotated

import typer

from leadkit.cli.common import Cmd, command, ui


def register(app: typer.Typer) -> None:
    @command(app, "claim", book="opt")
    def claim(
        cmd: Cmd,
        lead_id: Annotated[str, typer.Argument(help="The pool lead to take.")],
        owner: Annotated[
            str, typer.Option("--owner", help="The rep taking it (a name in routing.yaml).")
        ],
    ) -> int:
        """A rep takes a lead from the pool, within the daily claim limit."""
        ctx = cmd.context()
        from leadkit import pipeline

        lead = pipeline.claim(ctx, lead_id, owner)
        due = lead["first_contact_due"]
        ui.say(
            f"{lead_id} is now {owner}'s; first contact due {due:%Y-%m-%d %H:%M}"
            + (" (dry run: not saved)" if cmd.dry_run else "")
        )
        ui.emit_json({"lead_id": lead_id, "owner": owner, "first_contact_due": due})
        return 0
