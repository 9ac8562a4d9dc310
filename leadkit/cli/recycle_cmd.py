from __future__ import annotations

import typer
from rich.table import Table

from leadkit.cli.common import Cmd, command, ui
from leadkit.progress import bar


def register(app: typer.Typer) -> None:
    @command(app, "recycle", book="arg")
    def recycle(
        cmd: Cmd,
    ) -> int:
        """Return neglected leads to the pool (first contact overdue, no follow-up); warn owners first."""
        ctx = cmd.context()
        dry_run = cmd.dry_run
        from leadkit import pipeline

        with bar(chatty=ui.chatty) as ctx.progress:
            found = pipeline.recycle(ctx)
        for title, frame in (
            ("back to the pool" if not dry_run else "would go back to the pool", found.recycle),
            ("tagged for the manager (recycled too often)", found.escalate),
            ("owners to warn: recycled soon", found.warn),
        ):
            if frame.empty:
                continue
            table = Table(title=f"{title}: {len(frame)}", title_justify="left")
            for name in frame.columns:
                table.add_column(name)
            for row in frame.head(30).itertuples(index=False):
                table.add_row(*("" if v != v else str(v) for v in row))
            ui.show(table)
        if found.recycle.empty and found.escalate.empty:
            ui.say("no neglected leads")
        if dry_run:
            ui.say("dry run: the book was not changed")
        ui.emit_json(
            lambda: {
                "recycled": found.recycle.to_dict(orient="records"),
                "escalated": found.escalate.to_dict(orient="records"),
                "warn": found.warn.to_dict(orient="records"),
            }
        )
        return 0
