from __future__ import annotations

import typer

from leadkit.cli.common import BookArg, BookOpt, Force, Json, Quiet, boundary, pick_book, ui
from leadkit.context import context


def register(app: typer.Typer) -> None:
    @app.command("undo")
    @boundary
    def undo(
        book: BookArg = None,
        book_opt: BookOpt = None,
        force: Force = False,
        json_out: Json = False,
        quiet: Quiet = False,
    ) -> int:
        """Restore the book as it was before the last leadkit write."""
        ui.configure(quiet=quiet, json_out=json_out)
        ctx = context(pick_book(book, book_opt), force=force)
        from leadkit import pipeline

        backup = pipeline.undo(ctx)
        ui.say(f"restored {ctx.book_path.name} from {backup.name}")
        ui.emit_json({"book": str(ctx.book_path), "restored_from": str(backup)})
        return 0
