from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from leadkit.cli.common import Cmd, command, ui


def installed_executable() -> list[str]:
    """This install's `leadkit`, by absolute path (cron's PATH does not reach into a venv)."""
    # the script beside this interpreter (a venv's bin/); not resolved: that would leave the venv
    script = Path(os.path.abspath(sys.executable)).parent / "leadkit"
    if script.is_file():
        return [str(script)]
    return [os.path.abspath(sys.executable), "-m", "leadkit"]


def register(app: typer.Typer) -> None:
    @command(app, "cron", options=("json", "quiet"))
    def cron(
        cmd: Cmd,
        schedule: Annotated[
            str, typer.Option("--schedule", help="The cron schedule fields.")
        ] = "30 8 * * 1-5",
    ) -> int:
        """Print a crontab line for `leadkit run` in this workspace (absolute path, cd, secrets)."""
        ctx = cmd.context()
        from leadkit.cron import ENV_FILE, crontab_line
        from leadkit.workspace import needed_env

        secrets = needed_env(ctx.workspace.config)
        line = crontab_line(
            ctx.workspace.root.resolve(), installed_executable(), schedule=schedule,
            secrets=secrets, pythonpath=os.environ.get("PYTHONPATH"),
        )  # fmt: skip
        if cmd.json:
            ui.emit_json({"line": line, "env_file": ENV_FILE, "variables": secrets})
            return 0
        if cmd.quiet:  # as every command: nothing on stdout or stderr on success
            return 0
        if secrets:
            typer.echo(f"# needs {', '.join(secrets)} in {ENV_FILE} (NAME=value lines, chmod 600)")
        typer.echo(line)
        return 0
