"""Getting leads in: a new workspace, the template, importing files and events, header maps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from leadkit import bookio
from leadkit.bookio import Book
from leadkit.context import Context
from leadkit.errors import RuleError, UsageError
from leadkit.pipeline.book import READING, READING_FILES, WRITING, stages, update_book
from leadkit.pipeline.merging import _link_on_arrival
from leadkit.rules.base import Strict, fold_header
from leadkit.rules.loader import Rules
from leadkit.steps.headers import SavedMap, recogniser, suggested_map
from leadkit.steps.identity import collapse_already, resolve_already
from leadkit.steps.importer import (
    ImportResult,
    apply_import,
    import_events,
    import_tables,
    plan_headers,
)
from leadkit.workspace import Workspace, init_workspace

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
    """A header mapping for `import --map M.yaml` or a saved `rules/maps/NAME.yaml`.

    Incoming header -> column key, or `~` to keep that column as an extra one.
    """

    columns: dict[str, str | None]


def _load_map(ctx: Context, map_file: Path) -> dict[str, str | None]:
    mapping = ctx.rules.load(map_file, ColumnMap).columns
    keys = set(ctx.rules.columns.sheets["leads"].keys)
    unknown = sorted(v for v in mapping.values() if v is not None and v not in keys)
    if unknown:
        raise RuleError(map_file, [(None, f"columns: unknown column key(s) {', '.join(unknown)}")])
    taken: dict[str, str] = {}
    twice = []
    for header, key in mapping.items():
        if key is not None and key in taken:
            twice.append(f"{key} ({taken[key]!r} and {header!r})")
        elif key is not None:
            taken[key] = header
    if twice:
        raise RuleError(map_file, [(None, f"columns: one key for two headers: {'; '.join(twice)}")])
    return mapping


def saved_maps(ctx: Context) -> list[SavedMap]:
    """The maps a person saved in the workspace's rules/maps/ (each checked like a --map)."""
    folder = ctx.rules.folder / "maps"
    if not folder.is_dir():
        return []
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml"))
    return [SavedMap(p, _load_map(ctx, p)) for p in found]


def _read_tables(
    ctx: Context, files: list[Path], sheet: str | None, fixed: dict[str, str | None]
) -> list[bookio.RawTable]:
    columns = ctx.rules.columns
    known = bookio.header_lookup(columns)
    found = recogniser(columns, fixed)
    limits = ctx.workspace.config.limits
    return [t for f in files for t in bookio.read_input_tables(f, known, sheet, found, limits)]


def import_files(
    ctx: Context,
    files: list[Path],
    *,
    source: str | None = None,
    map_file: Path | None = None,
    sheet: str | None = None,
) -> ImportResult:
    """Append the rows of `files` to the book; rejects and provenance go to their sheets.

    Headers map by `--map`, else by a saved map in rules/maps/ that fits the sheet, else by the
    header matcher (leadkit.steps.headers).
    """
    if not files:
        raise UsageError("no files to import")
    columns = ctx.rules.columns
    if source is not None and fold_header(source) not in columns.enum_lookup["source"]:
        choices = ", ".join(f"{o.key} ({o.zh})" for o in columns.enums["source"])
        raise UsageError(f"--source {source!r} is not a known channel; use one of {choices}")
    mapping = _load_map(ctx, map_file) if map_file else None
    maps = [] if mapping else saved_maps(ctx)
    fixed = {fold_header(h): k for h, k in (mapping or {}).items()}
    for saved in maps:
        fixed = {**saved.fixed, **fixed}
    stage = stages(ctx, [READING_FILES, READING, "import", WRITING])
    stage(READING_FILES)
    tables = _read_tables(ctx, files, sheet, fixed)
    step = _import_step(ctx, tables, source, mapping, maps)

    def announced(book: Book) -> ImportResult:
        stage("import")
        return step(book)

    result = update_book(
        ctx, "import", announced, create=True, stage=stage, changed=lambda r: r.changed
    )
    stage("done")
    return result


def _import_step(
    ctx: Context,
    tables: list[bookio.RawTable],
    source: str | None,
    mapping: dict[str, str | None] | None,
    maps: list[SavedMap],
) -> Callable[[Book], ImportResult]:
    """The import step on an in-memory book, shared by `import` and `run`."""
    columns = ctx.rules.columns

    def step(book: Book) -> ImportResult:
        # a book written before #12's fix holds an `already` row per row per re-import
        before = book.sheets["imports"]
        book.sheets["imports"] = collapse_already(before)
        result = import_tables(
            book, tables, columns, ctx.rules.regions, now=ctx.now, tz=ctx.tz,
            id_prefix=ctx.workspace.config.id_prefix, source=source, mapping=mapping,
            saved_maps=maps,
        )  # fmt: skip
        apply_import(book, result)
        # every row an import adds is recorded in 导入记录; old keys are migrated in place
        result.changed = book.sheets["imports"] is not before or bool(result.migrated)
        if not result.leads.empty:
            result.linked = _link_on_arrival(ctx, book, set(result.leads["lead_id"]))
        return result

    return step


def suggest_map(
    ctx: Context, files: list[Path], *, map_file: Path | None = None, sheet: str | None = None
) -> str:
    """The `--map` YAML the header matcher would use for `files`, for a person to check; the
    book is not read or written."""
    if not files:
        raise UsageError("no files to import")
    columns = ctx.rules.columns
    mapping = _load_map(ctx, map_file) if map_file else {}
    fixed = {fold_header(h): k for h, k in mapping.items()}
    plans = []
    for table in _read_tables(ctx, files, sheet, fixed):
        label = table.file.name + (f" [{table.sheet}]" if table.sheet else "")
        plans.append((label, plan_headers(table, columns, fixed)))
    return suggested_map(plans, columns)


@dataclass
class EventsOutcome:
    """What `leadkit import --events` added."""

    added: int
    skipped: int
    already: int
    # added, but tied to nothing yet: no lead of the book has its lead_id, phone or e-mail (it
    # ties once such a lead arrives), or scoring.yaml does not list its event (it scores nothing)
    no_lead: int = 0
    unknown_event: int = 0

    @property
    def untied(self) -> int:
        return self.no_lead + self.unknown_event


def import_event_files(
    ctx: Context, files: list[Path], *, sheet: str | None = None
) -> EventsOutcome:
    """Append behaviour events (page views, downloads, inquiries …) to the Events sheet."""
    tables = [t for f in files for t in _read_event_tables(ctx, f, sheet)]
    return update_book(ctx, "import", _events_step(ctx, tables), create=True)


def _read_event_tables(ctx: Context, path: Path, sheet: str | None) -> list[bookio.RawTable]:
    columns = ctx.rules.columns
    known = bookio.header_lookup(columns, "events")
    found = recogniser(columns, sheet="events")
    return bookio.read_input_tables(path, known, sheet, found, ctx.workspace.config.limits)


def _events_step(ctx: Context, tables: list[bookio.RawTable]) -> Callable[[Book], EventsOutcome]:
    """The events import on an in-memory book, shared by `import --events` and `run`."""
    columns = ctx.rules.columns

    def step(book: Book) -> EventsOutcome:
        book.sheets["imports"] = collapse_already(book.sheets["imports"])
        events, imports, already = import_events(book, tables, columns, now=ctx.now, tz=ctx.tz)
        book.append("events", events)
        book.append("imports", imports)
        resolve_already(book.sheets["imports"])
        if len(events):
            book.append_log(pd.DataFrame([{
                "time": ctx.now, "command": "import", "lead_id": None, "column": "*", "old": None,
                "new": columns.message("events_added", book.lang, n=len(events)),
            }]))  # fmt: skip
        from leadkit.steps.score import event_kinds, event_leads

        untied = events.empty or book.leads.empty
        return EventsOutcome(
            added=len(events),
            skipped=int((imports["outcome"] == "rejected").sum()) if len(imports) else 0,
            already=already,
            no_lead=len(events) if untied else int(event_leads(events, book.leads).isna().sum()),
            unknown_event=0 if events.empty else int(
                event_kinds(events, ctx.rules.scoring).isna().sum()
            ),
        )  # fmt: skip

    return step
