from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from leadkit.cli.common import AssignBy, Cmd, command, ui
from leadkit.progress import bar

SHOWN = 20


def register(app: typer.Typer) -> None:
    @command(app, "assign", book="arg")
    def assign(
        cmd: Cmd,
        by: Annotated[AssignBy, typer.Option("--by", help="How to route.")] = AssignBy.rules,
    ) -> int:
        """Route unowned leads to reps fairly, within capacity, with first-contact deadlines."""
        ctx = cmd.context()
        dry_run = cmd.dry_run
        from leadkit import pipeline

        with bar(chatty=ui.chatty) as ctx.progress:
            outcome = pipeline.assign(ctx, by.value)
        a = outcome.assignment
        given = a.owners.value_counts()
        table = Table(
            title=f"{'would assign' if dry_run else 'assigned'} {len(a.owners)} lead(s) --by {by.value}",
            title_justify="left",
        )
        for name in ("rep", "new now", "open", "capacity"):
            table.add_column(name, justify="left" if name == "rep" else "right")
        for rep, capacity in outcome.capacity.items():
            table.add_row(
                rep, str(int(given.get(rep, 0))), str(a.open_after.get(rep, 0)), str(capacity)
            )
        ui.show(table)
        if not a.pool.empty:
            ui.say(
                f"{len(a.pool)} lead(s) stay in the pool: "
                + "; ".join(f"{r.lead_id} ({r.reason})" for r in a.pool.head(SHOWN).itertuples())
            )
        if dry_run:
            ui.say("dry run: the book was not changed")
        if ui.json:  # built only when asked: 100k rows of JSON cost seconds
            chosen = outcome.leads.loc[a.owners.index]
            assigned = [
                {"lead_id": lid, "owner": owner, "why": a.why.get(row), "first_contact_due": due}
                for row, lid, owner, due in zip(
                    a.owners.index,
                    chosen["lead_id"],
                    a.owners,
                    chosen["first_contact_due"],
                    strict=True,
                )
            ]
            ui.emit_json({"assigned": assigned, "pool": a.pool.to_dict(orient="records")})
        return 0
