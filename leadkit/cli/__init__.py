"""The `leadkit` command: one small module per command, registered in `leadkit.order.COMMANDS`.

Each imports `leadkit.pipeline` (pandas and the steps) inside its command, so `--help` stays quick.
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings

import typer

from leadkit import __version__
from leadkit.cli.common import LeadkitGroup
from leadkit.order import COMMANDS

app = typer.Typer(
    name="leadkit",
    cls=LeadkitGroup,  # the parser's errors in leadkit's one-line format
    rich_markup_mode=None,  # plain --help: the README's command reference is generated from it
    help="A small sales team's lead pipeline over the Excel/CSV sheets it already keeps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # plain tracebacks for real bugs, never with local values
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leadkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """A small sales team's lead pipeline over the Excel/CSV sheets it already keeps."""
    # fastexcel logs a warning for every all-empty or mixed column it reads (both normal in a lead
    # book): the command keeps them off its stderr so `--quiet` stays silent; a program that uses
    # leadkit as a library keeps its own logging
    logging.getLogger("fastexcel").setLevel(logging.ERROR)


for name in COMMANDS:  # `leadkit --help` lists them in the pipeline order
    importlib.import_module(f"leadkit.cli.{name}_cmd").register(app)


def library_warnings_off() -> None:
    """Python warnings from libraries off, unless the user asked for them (-W, PYTHONWARNINGS)."""
    # pandas' date-format inference notes and scikit-learn's solver notes speak to developers, not
    # to a sales team, and one of them on stderr breaks `-q`'s promise of silence for cron
    if not sys.warnoptions:
        warnings.simplefilter("ignore")


def main() -> None:
    """Console-script entry point."""
    library_warnings_off()
    app()
