"""The `leadkit` command: one small module per command, registered here in pipeline order.

Command modules import `leadkit.pipeline` (pandas and the steps, about half a second) inside the
command, after `context(..., read_ahead=True)` has started reading the book on the other core.
"""

from __future__ import annotations

import sys
import warnings

import typer

from leadkit import __version__
from leadkit.cli.common import LeadkitGroup

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


from leadkit.cli import (  # noqa: E402
    assign_cmd,
    check_cmd,
    claim_cmd,
    cron_cmd,
    dedupe_cmd,
    demo_cmd,
    due_cmd,
    enrich_cmd,
    import_cmd,
    init_cmd,
    log_cmd,
    recycle_cmd,
    redo_cmd,
    report_cmd,
    run_cmd,
    score_cmd,
    template_cmd,
    train_cmd,
    undo_cmd,
)

for module in (
    init_cmd, template_cmd, import_cmd, check_cmd, dedupe_cmd, enrich_cmd, train_cmd, score_cmd,
    assign_cmd, recycle_cmd, run_cmd, cron_cmd, claim_cmd, log_cmd, due_cmd, report_cmd, undo_cmd, redo_cmd,
    demo_cmd,
):  # fmt: skip
    module.register(app)


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
