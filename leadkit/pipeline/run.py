"""`check`, `undo`/`redo` and `run`: the whole morning chain in one pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadkit import bookio
from leadkit.bookio import Book
from leadkit.bookio.inbox import Failed, arrivals, file_done, file_failed
from leadkit.context import Context
from leadkit.errors import InputFileError, UsageError
from leadkit.order import RUN_STEPS
from leadkit.pipeline.book import (
    READING,
    READING_FILES,
    WRITING,
    load,
    output_file,
    stages,
    update_book,
)
from leadkit.pipeline.intake import (
    EventsOutcome,
    _events_step,
    _import_step,
    _read_event_tables,
    _read_tables,
    saved_maps,
)
from leadkit.pipeline.merging import _dedupe_step
from leadkit.pipeline.selling import _assign_step, _recycle_step, _score_step
from leadkit.steps.check import Finding, check_book
from leadkit.steps.headers import SavedMap
from leadkit.steps.importer import (
    ImportResult,
    looks_like_events,
)

if TYPE_CHECKING:
    from leadkit.notify import Delivery


def check(ctx: Context) -> list[Finding]:
    """Every problem in the book."""
    roster = [r.name for r in ctx.rules.routing.team]
    return check_book(load(ctx, only={"leads", "activities"}), ctx.rules.columns, ctx.now, roster)


def undo(ctx: Context) -> Path:
    """Restore the book as it was before the last leadkit write; `redo` can bring it back."""
    with bookio.book_lock(ctx.book_path, "undo", force=ctx.force):
        return bookio.undo_last(
            ctx.book_path, ctx.workspace.state_dir, keep=ctx.workspace.config.backups
        )


def redo(ctx: Context) -> Path:
    """Bring back the state the last `undo` replaced (until another write clears it)."""
    with bookio.book_lock(ctx.book_path, "redo", force=ctx.force):
        return bookio.redo_last(
            ctx.book_path, ctx.workspace.state_dir, keep=ctx.workspace.config.backups
        )


WRITING_STEPS = ("import", "dedupe", "score", "assign", "recycle")  # the rest only read the book


@dataclass
class RunOutcome:
    """What `leadkit run` did: each step's outcome, by step name, in pipeline order."""

    steps: dict[str, Any]
    inbox_done: list[Path] = field(default_factory=list)  # where each imported inbox file went
    inbox_failed: list[Failed] = field(default_factory=list)  # unreadable, moved to inbox/failed/
    written: list[Path] = field(default_factory=list)  # the due list / report files written
    undelivered: list[Delivery] = field(default_factory=list)  # due / report notifications
    events: EventsOutcome | None = None  # behaviour events the inbox brought, as import --events


def _inbox_tables(
    ctx: Context, path: Path, fixed: dict[str, str | None]
) -> tuple[list[bookio.RawTable], list[bookio.RawTable]]:
    """(lead tables, events tables) of one inbox file: events by the inbox's naming rule
    (`events_glob`), else by their columns (`looks_like_events`), read as `import --events` would
    read them (the events sheet's header vocabulary picks the header row)."""
    inbox = ctx.workspace.config.inbox
    if inbox is not None and inbox.is_events(path.name):
        return [], _read_event_tables(ctx, path, None)
    leads, events = [], []
    for table in _read_tables(ctx, [path], None, fixed):
        if looks_like_events(table, ctx.rules.columns):
            events += _read_event_tables(ctx, path, table.sheet)
        else:
            leads.append(table)
    return leads, events


def _run_import_step(
    ctx: Context,
    tables: list[bookio.RawTable],
    event_tables: list[bookio.RawTable],
    maps: list[SavedMap],
    found: dict[str, EventsOutcome],
) -> Callable[[Book], ImportResult | None]:
    """`run`'s import: the leads (as `import`), then the behaviour events (as `import --events`),
    the order of the two commands in a crontab. Returns the leads' result (None if only events
    arrived); the events' outcome goes to `found["events"]`."""
    leads = _import_step(ctx, tables, None, None, maps) if tables else None
    events = _events_step(ctx, event_tables) if event_tables else None

    def step(book: Book) -> ImportResult | None:
        result = leads(book) if leads else None
        if events:
            found["events"] = events(book)
        return result

    return step


def run(
    ctx: Context,
    steps: list[str] | None = None,
    *,
    files: list[Path] | None = None,
    by: str | None = None,
    notify: str | None = None,
) -> RunOutcome:
    """Run `steps` (default: leadkit.yaml's `pipeline: steps`) in pipeline order on one in-memory
    book: one lock, one load, one save (one backup; each step's Log rows under its own command
    name, as when run alone). A failing step raises before the save, so the book on disk stays as
    it was before the run. `due` and `report` read the book as saved, with no second read; their
    files and messages go out only after the save."""
    config = ctx.workspace.config.pipeline
    steps = list(config.steps) if steps is None else steps
    unknown = [s for s in steps if s not in RUN_STEPS]
    if unknown:
        raise UsageError(
            f"--steps: unknown step(s) {', '.join(unknown)}; use {', '.join(RUN_STEPS)}"
        )
    by = config.assign.by if by is None else by
    due_notify = config.due.notify if notify is None else notify
    if due_notify not in (None, "email", "webhook", "both"):
        raise UsageError("--notify takes email, webhook or both")
    chosen = [s for s in RUN_STEPS if s in steps]
    root = ctx.workspace.root
    # every step's inputs (files, rules, settings, state) are checked before the book is touched
    due_out = config.due.out and output_file(ctx, root / config.due.out)
    report_out = config.report.out and output_file(
        ctx, root / config.report.out, (".xlsx", ".html", ".md")
    )
    if "due" in chosen or "report" in chosen:
        # only then: the reminders bring mail, the chat robots and the report with them
        from leadkit.pipeline.reminders import (
            _due_of,
            _notify_config,
            _report_of,
            send_reminders,
            send_report,
            write_due,
        )
        from leadkit.steps.report import write_report
    if "due" in chosen and due_notify:
        _notify_config(ctx, due_notify)
    if "report" in chosen and config.report.notify:
        _notify_config(ctx, config.report.notify, manager=True)
    inbox_dir = ctx.workspace.inbox_dir
    waiting = arrivals(inbox_dir) if inbox_dir is not None and "import" in chosen else []
    if "import" in chosen and not files and not waiting:
        chosen.remove("import")  # nothing arrived: not an error for a morning cron chain
    prepared: list[tuple[str, Callable[[Book], Any]]] = []
    read_ok: list[Path] = []
    failures: list[Failed] = []
    event_tables: list[bookio.RawTable] = []
    found: dict[str, EventsOutcome] = {}
    writers = [s for s in chosen if s in WRITING_STEPS]
    readers = [s for s in chosen if s not in WRITING_STEPS]
    before = [READING_FILES] if "import" in chosen else []
    after = [WRITING] if writers else []
    stage = stages(ctx, [*before, READING, *writers, *after, *readers])
    for name in chosen:
        if name == "import":
            stage(READING_FILES)
            maps = saved_maps(ctx)
            fixed: dict[str, str | None] = {}
            for saved in maps:
                fixed = {**saved.fixed, **fixed}
            # files named on the command line must all be readable (as for `import`)
            tables = _read_tables(ctx, files or [], None, fixed)
            for path in waiting:
                # one bad file in the inbox must not stop the others or the later steps
                try:
                    leads, events = _inbox_tables(ctx, path, fixed)
                except InputFileError as exc:
                    failures.append(Failed(path, str(exc)))
                else:
                    tables += leads
                    event_tables += events
                    read_ok.append(path)
            if tables or event_tables:
                prepared.append((name, _run_import_step(ctx, tables, event_tables, maps, found)))
        elif name == "dedupe":
            where = ctx.rules.folder / "dedupe.yaml"
            prepared.append((name, _dedupe_step(ctx, ctx.rules.dedupe, where, [])))
        elif name == "score":
            prepared.append((name, _score_step(ctx)))
        elif name == "assign":
            prepared.append((name, _assign_step(ctx, by)))
        elif name == "recycle":
            prepared.append((name, _recycle_step(ctx)))

    held: list[Book] = []

    def step(book: Book) -> RunOutcome:
        done: dict[str, Any] = {}
        for name, one in prepared:
            stage(name)
            done[name] = one(book)  # Log rows carry the step's own command name
        held.append(book)
        return RunOutcome(steps=done)

    if prepared:
        create = any(n == "import" for n, _ in prepared)
        outcome = update_book(ctx, "run", step, create=create, stage=stage)
    else:  # only readers: no lock, no save, no backup
        stage(READING)
        outcome = step(load(ctx))
    outcome.inbox_failed = failures
    outcome.events = found.get("events")
    if not ctx.dry_run:
        if "assign" in outcome.steps:
            ctx.workspace.write_state("routing", outcome.steps["assign"].assignment.state.to_json())
        # only once the book holds their rows: a run that failed leaves the inbox to retry
        if inbox_dir is not None:
            outcome.inbox_done = file_done(inbox_dir, read_ok, ctx.now.date())
            file_failed(inbox_dir, failures)
    book = held[0]
    if "due" in chosen:
        stage("due")
        due_list = outcome.steps["due"] = _due_of(ctx, book)
        if due_out and not ctx.dry_run:
            write_due(ctx, due_list.items, due_out)
            outcome.written.append(due_out)
        if due_notify and not ctx.dry_run:
            outcome.undelivered += send_reminders(ctx, due_list, due_notify).failed
    if "report" in chosen:
        stage("report")
        rep = outcome.steps["report"] = _report_of(
            ctx, book, config.report.period, rfm=config.report.rfm
        )
        if report_out and not ctx.dry_run:
            write_report(rep, report_out, ctx.lang, ctx.rules.columns)
            outcome.written.append(report_out)
        if config.report.notify and not ctx.dry_run:
            outcome.undelivered += send_report(ctx, rep, config.report.notify).failed
    stage("done")
    return outcome
