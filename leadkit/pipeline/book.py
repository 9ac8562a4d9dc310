"""Loading the book for a command, updating it under one lock and backup, and what every save refreshes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pandas as pd

from leadkit import bookio
from leadkit.bookio import Book
from leadkit.bookio.write import same_cells
from leadkit.context import Context
from leadkit.errors import UsageError
from leadkit.rules.columns import ColumnsRules
from leadkit.steps.followup import (
    apply_activities,
    plan_sheet,
)
from leadkit.steps.importer import (
    completeness,
)

T = TypeVar("T")


def output_file(ctx: Context, path: Path, kinds: tuple[str, ...] = (".xlsx",)) -> Path:
    """A file leadkit writes for a person (review list, to-do list, report): never the book itself.

    Such files are replaced whole (temp file + rename) without a backup, so pointing one at the
    lead book would lose it; that is refused.
    """
    if path.suffix.lower() not in kinds:
        raise UsageError(f"{path}: leadkit writes {', '.join(kinds)} files here")
    if path.resolve() == ctx.book_path.resolve():
        raise UsageError(f"{path} is the lead book; write the output to another file")
    return path


def load(ctx: Context, only: set[str] | None = None) -> Book:
    """Read the book (no lock: saves are atomic, so a reader never sees half a file).

    `only` reads just those sheets, for commands that write nothing.
    """
    return bookio.load_book(
        ctx.book_path, ctx.rules.columns, ctx.lang, ctx.tz, only=only,
        limits=ctx.workspace.config.limits,
    )  # fmt: skip


@contextmanager
def _held(ctx: Context, command: str) -> Iterator[None]:
    if ctx.dry_run:
        yield
        return
    with bookio.book_lock(ctx.book_path, command, force=ctx.force):
        yield


READING, WRITING, READING_FILES = "reading the book", "writing the book", "reading the files"


def stages(ctx: Context, labels: list[str]) -> Callable[[str], None]:
    """Announce each of `labels` to `ctx.progress` as it starts (nothing without a callback)."""

    def start(label: str) -> None:
        if ctx.progress is not None:
            done = len(labels) if label == "done" else labels.index(label)
            ctx.progress(label, done, len(labels))

    return start


def update_book(
    ctx: Context,
    command: str,
    step: Callable[[Book], T],
    *,
    create: bool = False,
    stage: Callable[[str], None] | None = None,
    changed: Callable[[T], bool] | None = None,
) -> T:
    """Lock, load, apply `step`, and save atomically with a backup (not on a dry run, nor when
    `changed` says the step changed nothing in a book already on disk).

    `stage` announces reading and writing (and `step` its own stages); without it the stages
    are: reading the book, `command`, writing the book.
    """
    columns = ctx.rules.columns
    alone = stage is None
    stage = stage or stages(ctx, [READING, command, WRITING])
    with _held(ctx, command):
        stage(READING)
        existed = not create or ctx.book_path.exists()
        book = load(ctx) if existed else bookio.new_book(ctx.book_path, ctx.lang, columns)
        if alone:
            stage(command)
        result = step(book)
        if existed and changed is not None and not changed(result):
            if alone:
                stage("done")
            return result
        refresh_completeness(book, columns)
        refresh_plans(ctx, book)
        if not ctx.dry_run:
            stage(WRITING)
            bookio.save_book(
                book, columns, state_dir=ctx.workspace.state_dir, command=command,
                as_of=ctx.now, keep_backups=ctx.workspace.config.backups,
            )  # fmt: skip
    if alone:
        stage("done")
    return result


def refresh_completeness(book: Book, columns: ColumnsRules) -> None:
    """Recompute 信息完整度 of every lead after a step changed the book.

    Any step may fill fields (a dedupe merge, log, claim, assign); computing it only at import
    left merged leads that became complete at 基本完整. One place, before every save.
    """
    leads = book.sheets.get("leads")
    if book.partial or leads is None or leads.empty or "completeness" not in leads.columns:
        return
    leads["completeness"] = completeness(leads, columns)


def refresh_plans(ctx: Context, book: Book) -> None:
    """Rewrite the 跟进计划 sheet from the leads as they are about to be saved: each open lead
    with an owner and its stage's plan (followup.yaml `plans`). Derived like 信息完整度, so one
    place before every save; a book whose rules have no plans keeps whatever the sheet holds."""
    leads = book.sheets.get("leads")
    rules = ctx.rules.followup
    if book.partial or leads is None or not rules.plans or "plans" not in book.sheets:
        return
    since = _known_status_since(book)
    if since is None:
        since = apply_activities(
            leads, book.sheets["activities"], rules, now=ctx.now, with_log=False
        ).status_since
    plans = plan_sheet(
        leads, rules, since, lang=book.lang,
        channel_labels=ctx.rules.columns.enum_labels("preferred_channel", book.lang),
    )  # fmt: skip
    # The same plans as the sheet holds: keep its frame (rows numbered as read), so the save
    # carries the stored part instead of writing 100k rows again (0.8 s of the writer's time).
    # The new frame differs from the read one only in its row labels (the leads' index).
    old = book.sheets["plans"]
    if len(plans) == len(old) and same_cells(plans, old, any_types=True):
        return
    book.sheets["plans"] = plans


def _remember_status_since(book: Book, since: pd.Series | None) -> None:
    """Keep what apply_activities found of each lead's stage entry for this book's save (the
    plan sheet's 阶段时限): working it out again is most of a second at 100k leads."""
    book.derived["status_since"] = (book.sheets["activities"], book.leads.index, since)


def _known_status_since(book: Book) -> pd.Series | None:
    """The remembered stage entries, if the activities are the same frame and the leads the
    same rows as when they were worked out (a step that added a follow-up or a lead since did
    not reuse them)."""
    known = book.derived.get("status_since")
    if known is None:
        return None
    acts, index, since = known
    if acts is not book.sheets["activities"] or not index.equals(book.leads.index):
        return None
    return since


def with_activities(ctx: Context, book: Book, command: str) -> None:
    """Bring the Leads sheet up to date with the 跟进记录 sheet before a command judges it.

    Reps type follow-ups into that sheet by hand as often as they use `leadkit log`; both are
    the same facts, so first/last contact, status and next follow-up are derived from them here,
    for every command that reads or writes leads (changes logged under `command`).
    """
    applied = apply_activities(
        book.leads, book.sheets["activities"], ctx.rules.followup, now=ctx.now, command=command
    )
    book.sheets["leads"] = applied.leads
    book.append_log(applied.log)
    _remember_status_since(book, applied.status_since)


def current_leads(ctx: Context, book: Book) -> pd.DataFrame:
    """The Leads sheet as `with_activities` would make it, for commands that save nothing."""
    return apply_activities(
        book.leads, book.sheets["activities"], ctx.rules.followup, now=ctx.now, with_log=False
    ).leads


def write_review(
    ctx: Context, path: Path, table: pd.DataFrame, decisions: dict[str, tuple[str, str]]
) -> None:
    """A review file for a person: `table` with its first column a drop-down of the decisions
    (their zh/en labels in the book's language), as dedupe and enrich both hand one over."""
    choices = [zh if ctx.lang == "zh" else en for zh, en in decisions.values()]
    bookio.write_table(
        path, "待确认" if ctx.lang == "zh" else "Review", table,
        dropdowns={table.columns[0]: choices},
    )  # fmt: skip
