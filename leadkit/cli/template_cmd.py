from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadkit.cli.common import Quiet, boundary, ui
from leadkit.errors import UsageError
from leadkit.workspace import find_workspace


def register(app: typer.Typer) -> None:
    @app.command("template")
    @boundary
    def template(
        out: Annotated[Path, typer.Argument(help="Where to write the empty book (.xlsx).")],
        lang: Annotated[
            str | None, typer.Option("--lang", help="zh or en (default: the workspace's).")
        ] = None,
        quiet: Quiet = False,
    ) -> int:
        """Write an empty lead book with the template's sheets, headers and dropdowns."""
        ui.configure(quiet=quiet)
        ws = find_workspace()
        lang = lang or ws.config.lang
        if lang not in ("zh", "en"):
            raise typer.BadParameter("--lang must be zh or en")
        if out.suffix.lower() != ".xlsx":
            raise UsageError(f"{out}: the template is an .xlsx file")
        if out.exists():
            raise UsageError(f"{out} exists; leadkit template never overwrites a file")
        from leadkit import pipeline

        pipeline.write_template(out, lang, ws.rules(), state_dir=ws.state_dir)
        ui.say(f"wrote {out}")
        return 0
