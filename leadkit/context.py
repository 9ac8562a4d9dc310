"""Where and when a command runs: the workspace, its rules, the book and the clock.

Light on purpose (no pandas): the CLI builds the context before the pipeline and its steps import,
so a command that fails on its workspace or rules says so at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from leadkit import clock
from leadkit.rules.loader import Rules
from leadkit.workspace import Workspace, find_workspace


@dataclass
class Context:
    """Everything a command needs to know about where and when it runs."""

    workspace: Workspace
    rules: Rules
    book_path: Path
    now: datetime
    dry_run: bool = False
    force: bool = False
    # told (stage, done, total) as each stage of a long command starts; the CLI draws a bar with
    # it on a terminal (leadkit.progress), the pipeline itself never prints
    progress: Callable[[str, int, int], None] | None = None

    @property
    def lang(self) -> str:
        return self.workspace.config.lang

    @property
    def tz(self) -> str:
        return self.workspace.config.timezone


def context(
    book: Path | None = None,
    *,
    as_of: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    cwd: Path | None = None,
) -> Context:
    """Find the workspace, its rules and its book; fix the clock."""
    ws = find_workspace(cwd)
    rules = ws.rules()
    path = ws.book_path(book)
    return Context(
        workspace=ws,
        rules=rules,
        book_path=path,
        now=clock.now(ws.config.timezone, as_of),
        dry_run=dry_run,
        force=force,
    )
