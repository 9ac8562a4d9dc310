from __future__ import annotations

import typer

from leadkit.cli.common import Cmd, command, ui


def register(app: typer.Typer) -> None:
    @command(app, "redo", book="arg", options=("force", "json", "quiet"))
    def redo(cmd: Cmd) -> int:
        """Bring back what the last undo replaced (a write after the undo clears this)."""
        ctx = cmd.context()
        from leadkit import pipeline

        copy = pipeline.redo(ctx)
        ui.say(f"restored {ctx.book_path.name} as it was before the undo ({copy.name})")
        ui.emit_json({"book": str(ctx.book_path), "restored_from": str(copy)})
        return 0
