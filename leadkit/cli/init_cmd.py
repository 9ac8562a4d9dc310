from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadkit.cli.common import Cmd, Lang, command, ui


def register(app: typer.Typer) -> None:
    @command(app, "init", options=("json", "quiet"))
    def init(
        cmd: Cmd,
        folder: Annotated[Path, typer.Argument(help="Folder for the workspace.")] = Path("."),
        lang: Annotated[Lang, typer.Option("--lang", help="Book language.")] = Lang.zh,
    ) -> int:
        """Create a workspace: leadkit.yaml, rules/ and an empty lead book."""
        from leadkit import pipeline

        ws = pipeline.init(folder, lang.value)
        book = ws.book_path()
        ui.say(f"workspace ready in {ws.root}: leadkit.yaml, {ws.config.rules}/, {book.name}")
        ui.emit_json({"workspace": str(ws.root), "book": str(book), "lang": lang.value})
        return 0
