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
    _reuse_freed_memory()


def _reuse_freed_memory() -> None:
    """Have Arrow keep the pages it frees for its next allocations, for the rest of the process.

    Set by the command, not by the library: a program using leadkit keeps its own allocator.
    Reading, writing and every step allocate and free large short-lived Arrow buffers, and the
    default allocator (mimalloc) hands freed pages back to the system, so each new buffer is
    page-faulted in afresh: 0.7-1.0 s of system time of a 12 s 1M-company enrich
    (bench/bench_enrich.py), 0.27 s of leadkit's own read+write of a 100k book. jemalloc, keeping
    freed pages for a second before it returns them, reuses them; its peak memory is no higher
    (enrich: 0.80-0.83 GB where mimalloc's is 0.90; with no purge at all, 1.19 GB). pyarrow builds
    without jemalloc keep their default allocator.
    """
    import pyarrow as pa

    try:
        pa.jemalloc_set_decay_ms(1000)
        pool = pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowException):
        return
    pa.set_memory_pool(pool)


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
