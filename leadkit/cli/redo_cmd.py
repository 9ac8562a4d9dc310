from __future__ import annotations

import typer

from leadkit.cli.common import BookArg, BookOpt, Force, Json, Quiet, boundary, pick_book, ui
from leadkit.context import context


def register(app: typer.Typer) -> None:
    @app.command("redo")
    @boundary
    def redo(
        book: BookArg = None,
        book_opt: BookOpt = None,
        force: Force = False,
        json_out: Json = False,
        quiet: Quiet = False,
    ) -> int:
        """Bring back what the last undo replaced (a write after the undo clears this)."""
        ui.configure(quiet=quiet, json_out=json_out)
        ctx = context(pick_book(book, book_opt), force=force)
        from leadkit import pipeline

        copy = pipeline.redo(ctx)
        ui.say(f"restored {ctx.book_path.name} as it was before the undo ({copy.name})")
        ui.emit_json({"book": str(ctx.book_path), "restored_from": str(copy)})
        return 0
