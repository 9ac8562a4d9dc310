from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadkit.cli.common import Cmd, command, ui
from leadkit.errors import ExitStatus

SHOWN = 50


def _settings(book_opt: Path | None) -> int:
    """The environment variables leadkit.yaml names: which are set, which are missing (exit 2)."""
    from leadkit.context import context
    from leadkit.workspace import needed_env

    ctx = context(book_opt)
    needed = needed_env(ctx.workspace.config)
    missing = [name for name in needed if not os.environ.get(name)]
    ui.emit_json({"variables": needed, "missing": missing})
    for name in needed:  # names only: the values are secrets
        ui.say(f"{name}: {'missing' if name in missing else 'set'}")
    if missing:
        ui.warn(f"not set: {', '.join(missing)} (leadkit.yaml names them; cron needs them too)")
        return ExitStatus.USAGE
    if not needed:
        ui.say("the settings need no environment variables")
    return ExitStatus.OK


def register(app: typer.Typer) -> None:
    @command(app, "check", book="arg", options=("as_of", "json", "quiet"))
    def check(
        cmd: Cmd,
        settings: Annotated[
            bool,
            typer.Option("--settings", help="Check the environment variables the settings need."),
        ] = False,
    ) -> int:
        """Validate the book against the template; exit 1 if anything is wrong."""
        if settings:
            return _settings(cmd.book_opt)
        ctx = cmd.context()
        from leadkit import pipeline

        findings = pipeline.check(ctx)
        ui.emit_json({"book": str(ctx.book_path), "problems": [f.as_dict() for f in findings]})
        if not findings:
            ui.say(f"{ctx.book_path.name}: no problems")
            return ExitStatus.OK
        table = Table(
            title=f"{ctx.book_path.name}: {len(findings)} problem(s)", title_justify="left"
        )
        for name in ("sheet", "row", "column", "problem", "value"):
            table.add_column(name, justify="right" if name == "row" else "left")
        for f in findings[:SHOWN]:
            table.add_row(f.sheet, str(f.row), f.column, f.problem, f.value[:40])
        ui.show(table)
        if len(findings) > SHOWN:
            ui.say(f"… and {len(findings) - SHOWN} more (--json lists them all)")
        if cmd.quiet:
            ui.warn(f"{len(findings)} problem(s) in {ctx.book_path}")
        return ExitStatus.DATA_PROBLEMS
