"""What every command shares: two consoles, common options, and the one error boundary."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from leadkit.errors import ExitStatus, LeadkitError


class Ui:
    """Data on stdout, messages on stderr; `--quiet` and `--json` silence the chatter."""

    def __init__(self) -> None:
        self.quiet = False
        self.json = False
        self.out = Console(soft_wrap=False, highlight=False)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)

    def configure(self, *, quiet: bool = False, json_out: bool = False) -> None:
        self.quiet, self.json = quiet, json_out
        wide = None if sys.stdout.isatty() else 120
        self.out = Console(soft_wrap=False, highlight=False, width=wide)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)

    @property
    def chatty(self) -> bool:
        return not (self.quiet or self.json)

    def say(self, message: str) -> None:
        """A message for a person (stderr); silent under --quiet/--json."""
        if self.chatty:
            self.err.print(message, markup=False)

    def warn(self, message: str) -> None:
        """A warning: stderr, even under --quiet."""
        self.err.print(f"leadkit: warning: {message}", markup=False, style="yellow")

    def show(self, renderable: Any) -> None:
        """Data for the terminal (stdout); silent under --quiet and --json."""
        if self.chatty:
            self.out.print(renderable)

    def emit_json(self, payload: Any) -> None:
        """The machine-readable summary (stdout) under --json.

        Pass a function to build a large payload only when --json asked for it.
        """
        if self.json:
            if callable(payload):
                payload = payload()
            sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str, indent=2) + "\n")


ui = Ui()


def boundary(fn: Callable[..., int | None]) -> Callable[..., None]:
    """The one place user errors become a message and an exit code; bugs keep their traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            status = fn(*args, **kwargs)
        except LeadkitError as exc:
            ui.err.print(f"leadkit: error: {exc}", markup=False, highlight=False, style="red")
            raise typer.Exit(int(exc.exit_status)) from None
        raise typer.Exit(int(status or ExitStatus.OK))

    return wrapper


BookArg = Annotated[
    Path | None,
    typer.Argument(
        help="The lead book (default: the workspace's, from leadkit.yaml).", show_default=False
    ),
]
BookOpt = Annotated[
    Path | None, typer.Option("--book", help="The lead book; overrides the workspace's.")
]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="The clock for this run, e.g. 2026-03-01T09:00 (default: now)."),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable summary on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Nothing on stdout/stderr on success.")]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Write even if Excel/WPS/LibreOffice has the book open (~$book, .~lock.book#) or it is read-only.",
    ),
]


def pick_book(arg: Path | None, opt: Path | None) -> Path | None:
    """The positional BOOK or --book; they must not disagree."""
    if arg is not None and opt is not None and arg != opt:
        raise typer.BadParameter("give the book either as an argument or with --book, not both")
    return arg or opt
