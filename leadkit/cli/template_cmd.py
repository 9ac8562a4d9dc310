from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadkit.cli.common import Cmd, Lang, command, ui
from leadkit.errors import UsageError


def register(app: typer.Typer) -> None:
    @command(app, "template", options=("quiet",))
    def template(
        cmd: Cmd,
        out: Annotated[Path, typer.Argument(help="Where to write the empty book (.xlsx).")],
        lang: Annotated[
            Lang | None,
            typer.Option("--lang", help="The book's language (default: the workspace's)."),
        ] = None,
    ) -> int:
        """Write an empty lead book with the template's sheets, headers and dropdowns."""
        # here, not at the top: the workspace brings pydantic and the rule models, which
        # `leadkit --version`, `--help` and a usage error never need
        from leadkit.workspace import find_workspace

        ws = find_workspace()
        chosen = lang.value if lang is not None else ws.config.lang
        if out.suffix.lower() != ".xlsx":
            raise UsageError(f"{out}: the template is an .xlsx file")
        if out.exists():
            raise UsageError(f"{out} exists; leadkit template never overwrites a file")
        from leadkit import pipeline

        pipeline.write_template(out, chosen, ws.rules(), state_dir=ws.state_dir)
        ui.say(f"wrote {out}")
        return 0
