from __future__ import annotations

import typer

from leadkit.cli.common import Cmd, command, ui


def register(app: typer.Typer) -> None:
    @command(app, "undo", book="arg", options=("force", "json", "quiet"))
    def undo(cmd: Cmd) -> int:
        """Restore the book as it was before the last leadkit write."""
        ctx = cmd.context()
        from leadkit import pipeline

        backup = pipeline.undo(ctx)
        ui.say(f"restored {ctx.book_path.name} from {backup.name}")
        ui.emit_json({"book": str(ctx.book_path), "restored_from": str(backup)})
        return 0
