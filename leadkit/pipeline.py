"""The lead pipeline, in the order a team runs it:

    init -> import -> check -> (dedupe -> score -> assign -> recycle -> due -> report)

Each function here opens the book (under the lock when it writes), calls one pipeline step (a plain
module of DataFrame functions), and saves atomically with a backup unless it is a dry run. The CLI
calls these; so can any Python program.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from leadkit import bookio, clock
from leadkit.bookio import Book
from leadkit.check import Finding, check_book
from leadkit.errors import RuleError, UsageError
from leadkit.importer import ImportResult, apply_import, import_tables
from leadkit.rules import Rules, Strict, fold_header
from leadkit.workspace import Workspace, find_workspace, init_workspace

T = TypeVar("T")


@dataclass
class Context:
    """Everything a command needs to know about where and when it runs."""

    workspace: Workspace
    rules: Rules
    book_path: Path
    now: datetime
    dry_run: bool = False
    force: bool = False

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
    return Context(
        workspace=ws,
        rules=ws.rules(),
        book_path=ws.book_path(book),
        now=clock.now(ws.config.timezone, as_of),
        dry_run=dry_run,
        force=force,
    )


def load(ctx: Context) -> Book:
    """Read the book (no lock: saves are atomic, so a reader never sees half a file)."""
    return bookio.load_book(ctx.book_path, ctx.rules.columns, ctx.lang, ctx.tz)


@contextmanager
def _held(ctx: Context, command: str) -> Iterator[None]:
    if ctx.dry_run:
        yield
        return
    with bookio.book_lock(ctx.book_path, command, force=ctx.force):
        yield


def update_book(
    ctx: Context, command: str, step: Callable[[Book], T], *, create: bool = False
) -> T:
    """Lock, load, apply `step`, and save atomically with a backup (not on a dry run)."""
    columns = ctx.rules.columns
    with _held(ctx, command):
        if create and not ctx.book_path.exists():
            book = bookio.new_book(ctx.book_path, ctx.lang, columns)
        else:
            book = load(ctx)
        result = step(book)
        if not ctx.dry_run:
            bookio.save_book(
                book, columns, state_dir=ctx.workspace.state_dir, command=command,
                as_of=ctx.now, keep_backups=ctx.workspace.config.backups,
            )  # fmt: skip
    return result


# ---------------------------------------------------------------------------------------------
# Commands


def init(folder: Path, lang: str = "zh") -> Workspace:
    """A new workspace with its settings, default rules and an empty template book."""
    ws = init_workspace(folder, lang)
    book = ws.book_path()
    if not book.exists():
        write_template(book, lang, Rules(ws.rules_dir), state_dir=ws.state_dir)
    return ws


def write_template(out: Path, lang: str, rules: Rules, *, state_dir: Path | None = None) -> Path:
    """An empty lead book with leadkit's sheets, headers, widths and dropdowns."""
    columns = rules.columns
    book = bookio.new_book(out, lang, columns)
    with bookio.book_lock(out, "template"):
        bookio.save_book(
            book, columns, state_dir=state_dir or out.parent / ".leadkit", command="template",
            as_of=datetime.now(),
        )  # fmt: skip
    return out


class ColumnMap(Strict):
    """A one-off header mapping for `import --map M.yaml`: incoming header -> column key."""

    columns: dict[str, str]


def _load_map(ctx: Context, map_file: Path) -> dict[str, str]:
    mapping = ctx.rules.load(map_file, ColumnMap).columns
    keys = set(ctx.rules.columns.sheets["leads"].keys)
    unknown = sorted(v for v in mapping.values() if v not in keys)
    if unknown:
        raise RuleError(map_file, [(None, f"columns: unknown column key(s) {', '.join(unknown)}")])
    return mapping


def import_files(
    ctx: Context,
    files: list[Path],
    *,
    source: str | None = None,
    map_file: Path | None = None,
    sheet: str | None = None,
) -> ImportResult:
    """Append the rows of `files` to the book; rejects and provenance go to their sheets."""
    if not files:
        raise UsageError("no files to import")
    columns = ctx.rules.columns
    if source is not None and fold_header(source) not in columns.enum_lookup["source"]:
        choices = ", ".join(f"{o.key} ({o.zh})" for o in columns.enums["source"])
        raise UsageError(f"--source {source!r} is not a known channel; use one of {choices}")
    mapping = _load_map(ctx, map_file) if map_file else None
    known = bookio.header_lookup(columns)
    if mapping:
        known = {**known, **{fold_header(h): k for h, k in mapping.items()}}
    tables = [t for f in files for t in bookio.read_input_tables(f, known, sheet)]

    def step(book: Book) -> ImportResult:
        result = import_tables(
            book, tables, columns, ctx.rules.regions, now=ctx.now, tz=ctx.tz,
            id_prefix=ctx.workspace.config.id_prefix, source=source, mapping=mapping,
        )  # fmt: skip
        apply_import(book, result)
        return result

    return update_book(ctx, "import", step, create=True)


def check(ctx: Context) -> list[Finding]:
    """Every problem in the book."""
    return check_book(load(ctx), ctx.rules.columns, ctx.now)


def undo(ctx: Context) -> Path:
    """Restore the book as it was before the last leadkit write."""
    with bookio.book_lock(ctx.book_path, "undo", force=ctx.force):
        return bookio.undo_last(ctx.book_path, ctx.workspace.state_dir)
