from __future__ import annotations

import typer
from rich.table import Table

from leadkit.cli.common import (
    AsOf,
    BookArg,
    BookOpt,
    DryRun,
    Force,
    Json,
    Quiet,
    boundary,
    pick_book,
    ui,
)
from leadkit.context import context
from leadkit.progress import bar


def register(app: typer.Typer) -> None:
    @app.command("recycle")
    @boundary
    def recycle(
        book: BookArg = None,
        book_opt: BookOpt = None,
        as_of: AsOf = None,
        dry_run: DryRun = False,
        force: Force = False,
        json_out: Json = False,
        quiet: Quiet = False,
    ) -> int:
        """Return neglected leads to the pool (first contact overdue, no follow-up); warn owners first."""
        ui.configure(quiet=quiet, json_out=json_out)
        ctx = context(
            pick_book(book, book_opt), as_of=as_of, dry_run=dry_run, force=force, read_ahead=True
        )
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
