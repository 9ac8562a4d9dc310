"""The progress bar of long commands: drawn on a terminal only, by the CLI layer.

The pipeline never prints; it calls `ctx.progress(label, done, total)` (a `Tick`) as it starts
each stage (reading the book, each step, writing it). The CLI passes the `tick` of `bar()`, which
draws a rich bar on stderr when stderr is a terminal and the command is neither `--quiet` nor
`--json`; otherwise there is no callback and nothing is drawn, so cron mail and pipes stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# (what is starting now, how many stages are done, how many there are)
Tick = Callable[[str, int, int], None]


def wanted(*, chatty: bool, stream: object = None) -> bool:
    """A bar only for a person at a terminal: not under --quiet/--json, not into a pipe or file."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return chatty and callable(isatty) and bool(isatty())


@contextmanager
def bar(*, chatty: bool) -> Iterator[Tick | None]:
    """A `Tick` drawing a bar on stderr while the block runs, or None where no bar is wanted.

    The bar is transient: once the command ends it is wiped, and the command's own summary lines
    are what stays on the screen.
    """
    if not wanted(chatty=chatty):
        yield None
        return
    # rich's bar (live display, spinners) only when one is drawn: every long command imports this
    # module, and under cron (--quiet, no terminal) the bar's imports were start-up cost alone
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True, highlight=False)
    if not console.is_terminal or console.is_dumb_terminal:
        # TERM=dumb (an editor's shell, some CI runners) cannot move the cursor back
        yield None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    # hidden until the first stage is named: no anonymous pulsing bar before it
    task = progress.add_task("", total=None, visible=False)

    def tick(label: str, done: int, total: int) -> None:
        progress.update(task, description=label, completed=done, total=total, visible=True)
        progress.refresh()  # draw the new stage now: the next may hold the CPU for seconds

    with progress:
        yield tick
