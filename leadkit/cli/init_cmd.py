from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadkit.cli.common import Json, Quiet, boundary, ui


def register(app: typer.Typer) -> None:
    @app.command("init")
    @boundary
    def init(
        folder: Annotated[Path, typer.Argument(help="Folder for the workspace.")] = Path("."),
        lang: Annotated[str, typer.Option("--lang", help="Book language: zh or en.")] = "zh",
        json_out: Json = False,
        quiet: Quiet = False,
    ) -> int:
        """Create a workspace: leadkit.yaml, rules/ and an empty lead book."""
        ui.configure(quiet=quiet, json_out=json_out)
        if lang not in ("zh", "en"):
            raise typer.BadParameter("--lang must be zh or en")
        from leadkit import pipeline

        ws = pipeline.init(folder, lang)
        book = ws.book_path()
        ui.say(f"workspace ready in {ws.root}: leadkit.yaml, {ws.config.rules}/, {book.name}")
        ui.emit_json({"workspace": str(ws.root), "book": str(book), "lang": lang})
        return 0
