"""The lead pipeline, in the order a team runs it:

    init -> import (with matching on arrival; --events for behaviour) -> check -> dedupe
         -> train (from closed leads, when there are enough) -> score
         -> assign -> recycle (and claim, by hand) -> log (by hand) -> due (--notify) -> report

Each function here opens the book (under the lock when it writes), calls one pipeline step (a plain
module of DataFrame functions), and saves atomically with a backup unless it is a dry run. The CLI
calls these; so can any Python program.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from leadkit import bookio, clock
from leadkit.bookio import Book
from leadkit.check import Finding, check_book
from leadkit.context import Context
from leadkit.context import context as context  # the library entry point: pipeline.context(...)
from leadkit.dedupe import (
    REVIEW_DECISIONS,
    DedupeResult,
    DedupeRules,
    find_duplicates,
    merge,
    read_decisions,
    review_table,
)
from leadkit.enrich import (
    AMBIGUOUS,
    EnrichConfig,
    fill_blanks,
    lead_fingerprint,
    prepare_companies,
    review,
)
from leadkit.enrich import REVIEW_DECISIONS as ENRICH_DECISIONS
from leadkit.enrich import match as match_companies
from leadkit.errors import InputFileError, RuleError, UsageError, Where
from leadkit.followup import (
    KINDS,
    apply_activities,
    due_items,
    kind_label,
    lead_keys,
    plan_sheet,
)
from leadkit.headers import SavedMap, recogniser, suggested_map
from leadkit.identity import collapse_already, resolve_already
from leadkit.importer import (
    ImportResult,
    apply_import,
    completeness,
    import_events,
    import_tables,
    looks_like_events,
    plan_headers,
)
from leadkit.inbox import Failed, arrivals, file_done, file_failed
from leadkit.normalize import cell_texts, is_in
from leadkit.notify import (
    Delivery,
    NotifyReport,
    Reminder,
    RobotLog,
    build_reminders,
    run_parallel,
    safe_url,
    send_email,
    send_webhook,
    send_webhooks,
    webhook_secrets,
)
from leadkit.order import RUN_STEPS
from leadkit.pool import Neglect, apply_recycle, find_neglected
from leadkit.pool import claim as claim_lead
from leadkit.report import Report, build_report, write_report
from leadkit.report import html as report_html
from leadkit.report import markdown as report_markdown
from leadkit.review import decided_rows
from leadkit.routing import BY, Assignment, RotationState, apply_assignment
from leadkit.routing import assign as route
from leadkit.rules import ColumnsRules, Rules, Strict, fold_header
from leadkit.score import Scored, apply_scores, explain, score_leads
from leadkit.train import Training, load_model, save_model
from leadkit.train import train as train_model
from leadkit.workspace import NotifyConfig, Workspace, init_workspace

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
    if len(plans) == len(old) and plans.set_axis(old.index).equals(old):
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
    header matcher (leadkit.headers).
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


def _keep_apart(book: Book) -> set[frozenset[str]]:
    decisions = book.sheets["decisions"]
    apart = decisions[decisions["decision"] == "keep_apart"]
    return {
        frozenset((str(a), str(b)))
        for a, b in zip(apart["left_id"], apart["right_id"], strict=True)
    }


def _link_on_arrival(ctx: Context, book: Book, new_ids: set[str]) -> int:
    """New leads that are an existing customer are merged into it (existing records survive)."""
    rules = ctx.rules.dedupe
    if rules.sheet != "leads":
        return 0
    leads = book.leads
    is_new = is_in(leads["lead_id"], new_ids)
    found = find_duplicates(
        leads, rules, keep_apart=_keep_apart(book), only=is_new, priority=is_new.astype(int)
    )
    book.derived["dedupe"] = found.prepared
    labels = ctx.rules.columns.enum_labels("source", ctx.lang)
    book.sheets["leads"], log = merge(
        leads, found, rules, now=ctx.now, command="import", source_labels=labels
    )
    book.append_log(log)
    return sum(len(others) for _, others in found.clusters.merges)


@dataclass
class DedupeOutcome:
    """What `leadkit dedupe` did (or would do, on a dry run)."""

    result: DedupeResult
    rules: DedupeRules
    merged: int
    review_pairs: int
    review_file: Path | None = None
    decisions: int = 0


def dedupe(
    ctx: Context,
    *,
    review_file: Path | None = None,
    apply_review: Path | None = None,
    rules_file: Path | None = None,
) -> DedupeOutcome:
    """Find and merge duplicates; uncertain pairs go to `review_file` for a person."""
    rules = ctx.rules.dedupe if rules_file is None else ctx.rules.load(rules_file, DedupeRules)
    if review_file is not None:
        output_file(ctx, review_file)
    where = rules_file or ctx.rules.folder / "dedupe.yaml"
    decisions: list[tuple[str, str, str]] = []
    if apply_review is not None:
        try:
            decisions = read_decisions(bookio.read_table(apply_review))
        except ValueError as exc:
            raise InputFileError(str(exc), Where(file=apply_review)) from None
    outcome = update_book(ctx, "dedupe", _dedupe_step(ctx, rules, where, decisions))
    if review_file is not None and not ctx.dry_run:
        table = review_table(outcome.result, rules, ctx.lang)
        choices = [zh if ctx.lang == "zh" else en for zh, en in REVIEW_DECISIONS.values()]
        bookio.write_table(
            review_file, "待确认" if ctx.lang == "zh" else "Review", table,
            dropdowns={table.columns[0]: choices},
        )  # fmt: skip
        outcome.review_file = review_file
    return outcome


def _dedupe_step(
    ctx: Context, rules: DedupeRules, where: Path, decisions: list[tuple[str, str, str]]
) -> Callable[[Book], DedupeOutcome]:
    """The dedupe step on an in-memory book, shared by `dedupe` and `run`."""

    def step(book: Book) -> DedupeOutcome:
        if rules.sheet in book.sheets:
            sheet = book.sheets[rules.sheet]
        elif rules.sheet in book.user_sheets:
            sheet = book.user_sheets[rules.sheet]
        else:
            raise RuleError(where, [(None, f"sheet: the book has no sheet {rules.sheet!r}")])
        needed = {rules.id_column, *(f.column for f in rules.fields)}
        absent = sorted(c for c in needed if c not in sheet.columns)
        if absent:
            raise RuleError(
                where, [(None, f"sheet {rules.sheet!r} has no column(s) {', '.join(absent)}")]
            )
        keep_apart = _keep_apart(book) | {
            frozenset((a, b)) for a, b, d in decisions if d == "keep_apart"
        }
        forced = [(a, b) for a, b, d in decisions if d == "merge"]
        found = find_duplicates(
            sheet, rules, keep_apart=keep_apart, forced=forced, reuse=book.derived.get("dedupe")
        )
        labels = ctx.rules.columns.enum_labels("source", ctx.lang)
        merged_sheet, log = merge(sheet, found, rules, now=ctx.now, source_labels=labels)
        if rules.sheet in book.sheets:
            book.sheets[rules.sheet] = merged_sheet
        else:
            book.user_sheets[rules.sheet] = merged_sheet
        book.append_log(log)
        if decisions:
            book.append("decisions", pd.DataFrame(
                [(ctx.now, a, b, d) for a, b, d in decisions],
                columns=["time", "left_id", "right_id", "decision"],
            ))  # fmt: skip
        return DedupeOutcome(
            result=found, rules=rules,
            merged=sum(len(o) for _, o in found.clusters.merges),
            review_pairs=len(found.clusters.review), decisions=len(decisions),
        )  # fmt: skip

    return step


@dataclass
class EnrichOutcome:
    """What `leadkit enrich` filled (or would fill, on a dry run)."""

    companies: int  # rows of the list with a company name or credit code
    looked_up: int  # leads compared with it (merged duplicates are not)
    matched: dict[str, int]  # method -> leads matched surely enough to fill
    confidence: dict[str, tuple[float, float]]  # method -> lowest and highest score of those
    filled: dict[str, int]  # lead column -> cells filled
    leads_filled: int
    # lead_id, company, list_company, method, confidence, list_<column> per fill column, check
    review: pd.DataFrame
    review_file: Path | None = None
    accepted: int = 0  # --apply-review: rows a person accepted, and rejected
    rejected: int = 0
    list_cached: bool = False  # the prepared list came from .leadkit/cache (read before)

    @property
    def cells(self) -> int:
        return sum(self.filled.values())


def enrich(
    ctx: Context,
    list_file: Path | None,
    *,
    review_file: Path | None = None,
    apply_review: Path | None = None,
) -> EnrichOutcome:
    """Fill the leads' blank company cells from a company list (.xlsx/.csv); log every fill.

    With `apply_review`, no list is read: the accepted rows of a review file `enrich --review`
    wrote fill their leads' blanks from the list values the file carries.
    """
    if apply_review is not None:
        if list_file is not None or review_file is not None:
            raise UsageError("--apply-review takes neither --from nor --review")
        return _apply_enrich_review(ctx, apply_review)
    if list_file is None:
        raise UsageError("enrich needs --from LIST (or --apply-review FILE)")
    config: EnrichConfig = ctx.rules.enrich
    where = ctx.rules.folder / "enrich.yaml"
    keys = set(ctx.rules.columns.sheets["leads"].keys)
    unknown = [c for c in (*config.fill, *config.columns) if c not in keys]
    if unknown:
        raise RuleError(where, [(None, f"unknown lead column key(s) {', '.join(unknown)}")])
    if review_file is not None:
        output_file(ctx, review_file)
    stage = stages(ctx, [READING_FILES, READING, "enrich", WRITING])
    stage(READING_FILES)
    companies, cached = _read_companies(ctx, list_file, config)

    def step(book: Book) -> EnrichOutcome:
        stage("enrich")
        return _enrich_step(ctx, book, companies, config)

    outcome = update_book(ctx, "enrich", step, stage=stage, changed=lambda o: o.cells > 0)
    outcome.list_cached = cached
    if review_file is not None and not ctx.dry_run:
        table = _enrich_review_table(ctx, outcome.review)
        choices = [zh if ctx.lang == "zh" else en for zh, en in ENRICH_DECISIONS.values()]
        bookio.write_table(
            review_file, "待确认" if ctx.lang == "zh" else "Review", table,
            dropdowns={table.columns[0]: choices},
        )  # fmt: skip
        outcome.review_file = review_file
    stage("done")
    return outcome


# the review file's fixed columns: key -> (zh, en) header; then 名单<column> per fill column
_ENRICH_REVIEW = {
    "lead_id": ("线索编号", "Lead ID"), "company": ("企业名称", "Company"),
    "list_company": ("名单企业名称", "List Company"), "method": ("匹配方式", "Method"),
    "confidence": ("相似度", "Score"),
}  # fmt: skip
_REVIEW_CHECK = ("校验", "Check")


def _enrich_review_headers(ctx: Context, fill: list[str], lang: str) -> dict[str, str]:
    """Review-file key -> header in `lang` (list_<column> for each fill column)."""
    i = 0 if lang == "zh" else 1
    leads = ctx.rules.columns.sheets["leads"].by_key
    out = {k: v[i] for k, v in _ENRICH_REVIEW.items()}
    for column in fill:
        name = leads[column].header(lang)
        out[f"list_{column}"] = f"名单{name}" if lang == "zh" else f"List {name}"
    out["check"] = _REVIEW_CHECK[i]
    return out


def _enrich_review_table(ctx: Context, unsure: pd.DataFrame) -> pd.DataFrame:
    """The uncertain matches for a person: an empty 决定 column first, as dedupe's file has."""
    fill = [
        c[len("list_") :] for c in unsure.columns if c.startswith("list_") and c != "list_company"
    ]
    headers = _enrich_review_headers(ctx, fill, ctx.lang)
    table = unsure.reindex(columns=list(headers)).rename(columns=headers)
    table.insert(0, "决定" if ctx.lang == "zh" else "Decision", None)
    return table


def _apply_enrich_review(ctx: Context, path: Path) -> EnrichOutcome:
    """Fill the blanks of the leads a person accepted in an enrich review file (refused whole
    when any accepted lead is gone or its company cells changed since the file was written)."""
    config: EnrichConfig = ctx.rules.enrich
    fill = [c for c in config.fill if c in ctx.rules.columns.sheets["leads"].keys]
    frame = bookio.read_table(path)
    # either language's headers (a file handed on to a colleague with the other workspace)
    known = {
        fold_header(h): k
        for lang in ("en", ctx.lang)
        for k, h in _enrich_review_headers(ctx, fill, lang).items()
    }
    frame = frame.rename(columns={c: known.get(fold_header(c), c) for c in frame.columns})
    try:
        decided = decided_rows(frame, ENRICH_DECISIONS, ("lead_id", "check"))
    except ValueError as exc:
        raise InputFileError(str(exc), Where(file=path)) from None
    accepted = [row for row, d in decided if d == "accept"]
    rejected = len(decided) - len(accepted)
    taken = frame.loc[accepted]

    def step(book: Book) -> EnrichOutcome:
        leads = book.leads
        active = leads if "duplicate_of" not in leads else leads[leads["duplicate_of"].isna()]
        at = pd.Index(active["lead_id"].astype("string")).get_indexer(
            taken["lead_id"].astype("string")
        )
        gone = taken["lead_id"][at < 0].tolist()
        rows = active.index[at[at >= 0]]
        now = lead_fingerprint(active.loc[rows].reindex(columns=["company", *fill]))
        changed = taken["lead_id"][at >= 0][now.to_numpy() != taken["check"][at >= 0].to_numpy()]
        stale = [*map(str, gone), *map(str, changed)]
        if stale:
            raise InputFileError(
                f"{len(stale)} accepted lead(s) are gone or changed since the review was written "
                f"({', '.join(stale[:5])}{' …' if len(stale) > 5 else ''}): nothing filled; "
                "run enrich --from LIST --review FILE again",
                Where(file=path),
            )
        values = taken.reindex(columns=[f"list_{c}" for c in fill]).set_axis(fill, axis=1)
        values.index = rows
        used = values.apply(_trimmed) if len(values) else values
        matches = pd.DataFrame(
            {"lead": rows, "company": rows, "method": "review", "confidence": 100.0}
        )
        _, log = fill_blanks(active.reindex(columns=fill), used, matches, fill)
        _write_fills(ctx, book, log)
        return EnrichOutcome(
            companies=0, looked_up=len(decided), matched={"review": len(accepted)} if accepted else {},
            confidence={"review": (100.0, 100.0)} if accepted else {},
            filled={str(c): len(g) for c, g in log.groupby("column", sort=False)},
            leads_filled=log["lead"].nunique(), review=pd.DataFrame(),
            accepted=len(accepted), rejected=rejected,
        )  # fmt: skip

    return update_book(ctx, "enrich", step, changed=lambda o: o.cells > 0)


# Prepared company lists (read, trimmed, company keys and checked codes: prepare_companies) are
# kept in the workspace's .leadkit/cache/enrich/, one Arrow file per list named by a digest of
# the list's bytes, the header aliases of enrich.yaml and the code that makes the keys. A list
# that changed in any byte, or new aliases, or a leadkit whose keys differ, has another digest
# and is read afresh; the modification time is not trusted (a copy or a restore keeps it). The
# newest ENRICH_CACHE_KEEP lists are kept: a team rerunning one daily list rebuilds nothing.
ENRICH_CACHE_KEEP = 2


def _read_companies(ctx: Context, path: Path, config: EnrichConfig) -> tuple[pd.DataFrame, bool]:
    """The prepared list, and whether it came from the cache (this very list prepared before)."""
    folder = ctx.workspace.state_dir / "cache" / "enrich"
    try:
        digest = _list_digest(path, config)
    except OSError as exc:
        raise InputFileError(f"cannot read the list ({exc.strerror})", Where(file=path)) from None
    cached = folder / f"{digest}.arrow"
    companies = _cached_list(cached)
    if companies is not None:
        return companies, True
    companies = prepare_companies(_read_list_file(ctx, path, config))
    if not ctx.dry_run:  # a dry run leaves the workspace as it found it, its state included
        _cache_list(cached, companies)
    return companies, False


def _list_digest(path: Path, config: EnrichConfig) -> str:
    import hashlib
    import json

    from leadkit import __version__
    from leadkit import enrich as enrich_module
    from leadkit import normalize as normalize_module

    h = hashlib.sha256()
    with path.open("rb") as f:
        h.update(hashlib.file_digest(f, "sha256").digest())
    h.update(json.dumps(config.columns, sort_keys=True, ensure_ascii=False).encode())
    h.update(__version__.encode())
    for module in (enrich_module, normalize_module, sys.modules[__name__]):  # keys, cache format
        h.update(Path(module.__file__ or "").read_bytes())
    return h.hexdigest()[:32]


def _cached_list(cached: Path) -> pd.DataFrame | None:
    import pyarrow as pa
    from pyarrow import feather

    try:
        table = feather.read_table(cached, memory_map=True)
        # the few-valued columns were stored as dictionaries (_cache_list): plain strings again
        for i, column in enumerate(table.schema):
            if pa.types.is_dictionary(column.type):
                table = table.set_column(i, column.name, table.column(i).cast(pa.large_string()))
        return table.to_pandas()
    except FileNotFoundError:
        return None
    except (OSError, pa.ArrowException):  # a damaged cache file is rebuilt, never trusted
        cached.unlink(missing_ok=True)
        return None


def _cache_list(cached: Path, companies: pd.DataFrame) -> None:
    """Write the prepared list to the cache: a temp file renamed over it, not fsynced (a cache
    lost to a crash is only rebuilt: a torn file fails to read and is read afresh)."""
    import os

    import pyarrow as pa
    from pyarrow import feather

    table = pa.Table.from_pandas(companies, preserve_index=True)
    # 企业类型, 经营状态, 行业 … repeat a few values over 1M rows: as dictionaries the file is 100
    # MB smaller; a column is judged by its first 10k values (counting a whole 1M-row column's
    # distinct values cost more than the bytes it saves)
    for i, column in enumerate(table.schema):
        if pa.types.is_large_string(column.type) or pa.types.is_string(column.type):
            head = table.column(i).slice(0, 10_000)
            if len(head) == 10_000 and len(head.unique()) < 100:
                table = table.set_column(i, column.name, table.column(i).dictionary_encode())
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    try:
        feather.write_feather(table, tmp, compression="uncompressed")
        os.replace(tmp, cached)
    finally:
        tmp.unlink(missing_ok=True)
    older = sorted(cached.parent.glob("*.arrow"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in older[ENRICH_CACHE_KEEP:]:
        stale.unlink(missing_ok=True)


def _plain_list_csv(path: Path, config: EnrichConfig, limits: Any) -> pd.DataFrame | None:
    """A plain comma-separated UTF-8 list whose first line is its header, parsed by Arrow with only
    the columns enrich.yaml names (1M companies: 0.7 s where the general reader takes 2.7 s:
    it decodes the whole text, measures it, and re-encodes it for the same parser). None for any
    other file, which the general reader then reads (other encodings and delimiters, a title above
    the header, ragged rows, a file past the limits: it also gives their error messages)."""
    import csv

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    from leadkit.limits import check_file_size, default_limits

    if path.suffix.lower() != ".csv":
        return None
    limits = limits or default_limits()
    check_file_size(path, limits)
    with path.open("rb") as f:
        head = f.read(65536)
    head = head.removeprefix(b"\xef\xbb\xbf")
    try:
        first = head.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return None
    headers = next(csv.reader([first]), [])
    at = config.header_keys(headers)
    if not ({"company", "credit_code"} & set(at.values())) or len(set(headers)) < len(headers):
        return None
    if len(headers) > limits.columns:
        return None
    names = [headers[i] for i in at]
    try:
        table = pcsv.read_csv(
            path,
            parse_options=pcsv.ParseOptions(delimiter=",", newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                include_columns=names, column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )  # fmt: skip
    except (pa.ArrowException, KeyError, OSError):
        return None
    if table.column_names != names or table.num_rows + 1 > limits.rows:
        return None
    for column in table.columns:
        longest = pc.max(pc.utf8_length(column)).as_py()
        if longest is not None and longest > limits.cell_chars:
            return None
    table = table.rename_columns(list(at.values()))
    for column in ("company", "credit_code"):  # trimmed as the general path trims them
        if column in table.column_names:
            i = table.column_names.index(column)
            text = pc.utf8_trim_whitespace(table.column(i))
            text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
            table = table.set_column(i, column, text)
    frame = table.to_pandas(
        types_mapper=lambda t: pd.StringDtype() if t == pa.large_string() else None
    )
    return frame.dropna(how="all", subset=[c for c in ("company", "credit_code") if c in frame])


def _read_list_file(ctx: Context, path: Path, config: EnrichConfig) -> pd.DataFrame:
    """The list's rows under lead column keys, blanks as NA; every sheet with a header row."""
    fast = _plain_list_csv(path, config, ctx.workspace.config.limits)
    if fast is not None:
        return fast
    known = {fold_header(a): k for k, aliases in config.columns.items() for a in (k, *aliases)}
    try:
        tables = bookio.read_input_tables(path, known, limits=ctx.workspace.config.limits)
    except InputFileError as exc:
        # the reader points at columns.yaml, the lead book's headers; a list's are in enrich.yaml
        exc.message = exc.message.replace(
            "rules/columns.yaml aliases, or --map", "rules/enrich.yaml columns"
        )
        raise
    frames = []
    for table in tables:
        at = config.header_keys(table.headers)
        if "company" not in at.values() and "credit_code" not in at.values():
            raise InputFileError(
                "no company name or credit code column (see rules/enrich.yaml columns); "
                f"headers: {', '.join(map(str, table.headers))}",
                Where(file=path, sheet=table.sheet),
            )
        frame = table.frame[list(at)].set_axis(list(at.values()), axis=1)
        # only the columns every row is matched on are trimmed here; the others only on the
        # rows that match (_trimmed): trimming all of a 1M-row list's columns cost 1.1 s
        frame = frame.astype("string")
        for column in ("company", "credit_code"):
            if column in frame:
                frame[column] = _trimmed(frame[column])
        frames.append(frame)
    companies = pd.concat(frames, ignore_index=True)
    return companies.dropna(
        how="all", subset=[c for c in ("company", "credit_code") if c in companies]
    )


def _trimmed(values: pd.Series) -> pd.Series:
    return values.str.strip().replace("", pd.NA)


def _enrich_step(
    ctx: Context, book: Book, companies: pd.DataFrame, config: EnrichConfig
) -> EnrichOutcome:
    rules = config.engine
    leads = book.leads
    active = leads if "duplicate_of" not in leads else leads[leads["duplicate_of"].isna()]
    fill = [c for c in config.fill if c in companies]
    # a lead whose every cell the list could fill is filled has nothing to gain: not looked up
    # (a rerun compares only the leads still blank, not the whole book again)
    blank = np.zeros(len(active), dtype=bool)
    for column in fill:
        if column not in active:
            blank[:] = True
            break
        cells = active[column]
        blank |= cells.isna().to_numpy(dtype=bool)
        if not blank.all() and pd.api.types.is_string_dtype(cells.dtype):
            blank |= (cells.astype("string").str.strip() == "").fillna(False).to_numpy(dtype=bool)
    active = active[blank]
    lookup = active[[c for c in ("company", "credit_code") if c in active]]
    matches = match_companies(lookup, companies, rules)
    current = active.reindex(columns=fill)
    used = companies[fill].loc[pd.unique(matches["company"])]
    used = used.apply(_trimmed) if len(used) else used
    _, log = fill_blanks(current, used, matches, fill, rules)
    _write_fills(ctx, book, log)
    unsure = review(matches, rules)
    sure = matches[(matches["confidence"] >= rules.fill_at) & (matches["method"] != AMBIGUOUS)]
    return EnrichOutcome(
        companies=len(companies), looked_up=len(active),
        matched={str(m): len(g) for m, g in sure.groupby("method", sort=False)},
        confidence={
            str(m): (float(g["confidence"].min()), float(g["confidence"].max()))
            for m, g in sure.groupby("method", sort=False)
        },
        filled={str(c): len(g) for c, g in log.groupby("column", sort=False)},
        leads_filled=log["lead"].nunique(),
        review=_review_rows(leads, companies, unsure, config.fill),
    )  # fmt: skip


def _write_fills(ctx: Context, book: Book, log: pd.DataFrame) -> None:
    """Put fill_blanks' fills into the book's Leads sheet, one 操作日志 row per filled cell."""
    leads = book.leads
    for column, rows in log.groupby("column", sort=False):
        if column not in leads:  # a book made before the column existed
            leads[column] = pd.Series(pd.NA, index=leads.index, dtype=object)
        elif not pd.api.types.is_string_dtype(leads[column].dtype):  # all blank: read as floats
            leads[column] = leads[column].astype(object)
        leads.loc[rows["lead"].to_numpy(), column] = rows["new"].to_numpy()
    if len(log):
        book.append_log(pd.DataFrame({
            "time": pd.Timestamp(ctx.now), "command": "enrich",
            "lead_id": leads.loc[log["lead"].to_numpy(), "lead_id"].to_numpy(),
            "column": log["column"].to_numpy(), "old": None,
            "new": cell_texts(log["new"]).to_numpy(),
        }))  # fmt: skip


def _review_rows(
    leads: pd.DataFrame, companies: pd.DataFrame, unsure: pd.DataFrame, fill: list[str]
) -> pd.DataFrame:
    """The uncertain matches: the lead, the list company and what it would fill (list_<column>),
    and the lead's fingerprint for `--apply-review` to see whether the lead changed since."""
    # sorted by lead ID: the order a person reads a list in (the fuzzy pass's is its blocks')
    unsure = unsure.assign(_id=leads.loc[unsure["lead"].to_numpy(), "lead_id"].to_numpy())
    unsure = unsure.sort_values("_id", kind="stable")
    lead, company = unsure["lead"].to_numpy(), unsure["company"].to_numpy()
    # only the columns shown: taking all of a 1M-row list's columns cost more than the rest
    listed = companies[[c for c in ("company", *fill) if c in companies]].loc[company]
    out = pd.DataFrame({
        "lead_id": leads.loc[lead, "lead_id"].to_numpy(),
        "company": leads.loc[lead, "company"].to_numpy(),
        "list_company": listed["company"].to_numpy() if "company" in listed else None,
        "method": unsure["method"].to_numpy(), "confidence": unsure["confidence"].round(1).to_numpy(),
    })  # fmt: skip
    for column in fill:
        if column in listed:
            out[f"list_{column}"] = _trimmed(listed[column].astype("string")).to_numpy()
    out["check"] = lead_fingerprint(leads.loc[lead].reindex(columns=["company", *fill])).to_numpy()
    return out


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
        from leadkit.score import event_kinds, event_leads

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


@dataclass
class ScoreOutcome:
    """What `leadkit score` did."""

    scored: Scored | None  # None when --explain names a merged lead
    model: dict[str, Any] | None
    grade_changes: int
    explanation: list[tuple[str, str, str]] | None = None

    def count(self, source: str) -> int:
        """Leads whose grade came from `source`: rules, override (人工等级) or closed (kept)."""
        return 0 if self.scored is None else int((self.scored.source == source).sum())


def score(ctx: Context) -> ScoreOutcome:
    """Score, grade and tag every active lead; grade changes go to the Log.

    A manager's 人工等级 is kept (and logged when it changes the grade); closed leads keep theirs."""
    return update_book(ctx, "score", _score_step(ctx))


def _score_step(ctx: Context) -> Callable[[Book], ScoreOutcome]:
    """The score step on an in-memory book, shared by `score` and `run`."""
    rules = ctx.rules.scoring
    model = load_model(ctx.workspace.state_dir)

    def step(book: Book) -> ScoreOutcome:
        with_activities(ctx, book, "score")
        scored = score_leads(
            book.leads,
            book.sheets["events"],
            rules,
            now=ctx.now,
            tz=ctx.tz,
            lang=ctx.lang,
            model=model,
        )
        book.sheets["leads"], log = apply_scores(
            book.leads, scored, now=ctx.now, say=ctx.rules.columns.sayer(book.lang)
        )
        book.append_log(log)
        changes = (
            int((log["column"] == "grade").sum() - (log["lead_id"].isna()).sum()) if len(log) else 0
        )
        return ScoreOutcome(scored=scored, model=model, grade_changes=changes)

    return step


def explain_score(ctx: Context, lead_id: str) -> ScoreOutcome:
    """Every rule that fired for one lead, computed as `score` computes it (writes nothing)."""
    rules = ctx.rules.scoring
    model = load_model(ctx.workspace.state_dir)
    book = load(ctx, only={"leads", "events", "activities"})
    book.sheets["leads"] = current_leads(ctx, book)
    try:
        lines, scored = explain(
            lead_id, book.leads, book.sheets["events"], rules,
            now=ctx.now, tz=ctx.tz, lang=ctx.lang, model=model,
        )  # fmt: skip
    except KeyError:
        raise UsageError(f"no lead {lead_id!r} in {ctx.book_path.name}") from None
    return ScoreOutcome(scored=scored, model=model, grade_changes=0, explanation=lines)


def train(ctx: Context) -> Training:
    """Learn the predictive score from the book's closed leads; save it in the workspace."""
    book = load(ctx, only={"leads", "events", "activities"})
    book.sheets["leads"] = current_leads(ctx, book)
    training = train_model(
        book.leads, book.sheets["events"], ctx.rules.scoring, now=ctx.now, tz=ctx.tz
    )
    if not ctx.dry_run:
        save_model(training.model, ctx.workspace.state_dir)
    return training


@dataclass
class AssignOutcome:
    """What `leadkit assign` did."""

    assignment: Assignment
    leads: pd.DataFrame  # the Leads sheet after assignment
    capacity: dict[str, int]


def assign(ctx: Context, by: str) -> AssignOutcome:
    """Route unowned open leads to reps (--by strategy); fairness state kept in the workspace."""
    outcome = update_book(ctx, "assign", _assign_step(ctx, by))
    if not ctx.dry_run:
        ctx.workspace.write_state("routing", outcome.assignment.state.to_json())
    return outcome


def _assign_step(ctx: Context, by: str) -> Callable[[Book], AssignOutcome]:
    """The assign step on an in-memory book, shared by `assign` and `run`; the caller saves the
    rotation state once the book is saved."""
    if by not in BY:
        raise UsageError(f"--by {by!r}: use one of {', '.join(BY)}")
    routing = ctx.rules.routing
    state = RotationState.from_json(ctx.workspace.read_state("routing"))

    def step(book: Book) -> AssignOutcome:
        with_activities(ctx, book, "assign")
        a = route(book.leads, routing, state, by=by, now=ctx.now, log=book.sheets["log"])
        book.sheets["leads"], log = apply_assignment(book.leads, a, now=ctx.now)
        book.append_log(log)
        return AssignOutcome(a, book.sheets["leads"], {r.name: r.capacity for r in routing.team})

    return step


def recycle(ctx: Context) -> Neglect:
    """Return neglected leads to the pool; tag repeat offenders for the manager."""
    return update_book(ctx, "recycle", _recycle_step(ctx))


def _recycle_step(ctx: Context) -> Callable[[Book], Neglect]:
    """The recycle step on an in-memory book, shared by `recycle` and `run`."""
    rules = ctx.rules.pool

    def step(book: Book) -> Neglect:
        with_activities(ctx, book, "recycle")
        say = ctx.rules.columns.sayer(book.lang)
        found = find_neglected(book.leads, rules, now=ctx.now, say=say)
        book.sheets["leads"], log = apply_recycle(book.leads, found, rules, now=ctx.now, say=say)
        book.append_log(log)
        return found

    return step


def claim(ctx: Context, lead_id: str, owner: str) -> pd.Series:
    """A rep takes a lead from the pool, within the daily claim limit."""
    routing, rules = ctx.rules.routing, ctx.rules.pool

    def step(book: Book) -> pd.Series:
        with_activities(ctx, book, "claim")
        book.sheets["leads"], log = claim_lead(
            book.leads, book.sheets["log"], lead_id, owner, routing, rules, now=ctx.now
        )
        book.append_log(log)
        return book.leads[book.leads["lead_id"].astype(str) == lead_id].iloc[0]

    return update_book(ctx, "claim", step)


def log_activity(
    ctx: Context,
    lead_id: str,
    *,
    note: str,
    status: str | None = None,
    next_follow_up: str | None = None,
    channel: str | None = None,
    owner: str | None = None,
    person: str | None = None,
) -> pd.Series:
    """Append a follow-up to the Activities sheet; the lead's dates, status and plan follow."""
    columns = ctx.rules.columns
    status_key = None
    if status is not None:
        status_key = columns.enum_lookup["status"].get(fold_header(status))
        if status_key is None:
            choices = ", ".join(f"{o.zh}/{o.en}" for o in columns.enums["status"])
            raise UsageError(f"--status {status!r} is not a status; use one of {choices}")
    channel_key = None
    if channel is not None:
        channel_key = columns.enum_lookup["preferred_channel"].get(fold_header(channel))
        if channel_key is None:
            raise UsageError(
                f"--channel {channel!r}: use 电话/Phone, 邮件/Email, 面谈/Meeting or 微信/WeChat"
            )
    planned = clock.now(ctx.tz, next_follow_up, option="--next") if next_follow_up else None

    def step(book: Book) -> pd.Series:
        lead = _loggable_lead(ctx, book, lead_id)
        book.append("activities", pd.DataFrame([{
            "date": pd.Timestamp(ctx.now), "lead_id": lead["lead_id"], "channel": channel_key,
            "person": person, "summary": note, "status_after": status_key, "todo": None,
            "owner": owner or lead["owner"], "next_follow_up": planned,
        }]))  # fmt: skip
        applied = apply_activities(
            book.leads, book.sheets["activities"], ctx.rules.followup, now=ctx.now
        )
        book.sheets["leads"] = applied.leads
        book.append_log(applied.log)
        _remember_status_since(book, applied.status_since)
        return applied.leads.loc[lead.name]

    return update_book(ctx, "log", step)


def _loggable_lead(ctx: Context, book: Book, lead_id: str) -> pd.Series:
    """The lead `log` writes about (its ID as typed, spaces and case aside); not a merged row."""
    leads = book.leads
    match = leads[lead_keys(leads["lead_id"]) == lead_id.strip().upper()]
    if match.empty:
        raise UsageError(f"no lead {lead_id!r} in {ctx.book_path.name}")
    lead = match.iloc[0]
    if pd.notna(lead["duplicate_of"]):
        raise UsageError(f"{lead_id} was merged into {lead['duplicate_of']}; log on that lead")
    return lead


def log_feedback(
    ctx: Context,
    lead_id: str,
    *,
    kind: str,
    note: str,
    priority: str | None = None,
    channel: str | None = None,
    owner: str | None = None,
    close_by: str | None = None,
) -> pd.Series:
    """Append a customer's feedback to the 客户反馈 sheet; its 完成时限 is `close_by`, else now
    plus followup.yaml's feedback close_out_days."""
    columns = ctx.rules.columns

    def key_of(enum: str, value: str, option: str) -> str:
        key = columns.enum_lookup[enum].get(fold_header(value))
        if key is None:
            choices = ", ".join(f"{o.zh}/{o.en}" for o in columns.enums[enum])
            raise UsageError(f"{option} {value!r}: use one of {choices}")
        return key

    type_key = key_of("feedback_type", kind, "--feedback")
    priority_key = key_of("priority", priority, "--priority") if priority is not None else None
    now = pd.Timestamp(ctx.now)
    due_at = (
        pd.Timestamp(clock.now(ctx.tz, close_by, option="--close-by"))
        if close_by
        else now + pd.Timedelta(days=ctx.rules.followup.feedback.close_out_days)
    )

    def step(book: Book) -> pd.Series:
        lead = _loggable_lead(ctx, book, lead_id)
        row = pd.DataFrame([{
            "time": now, "lead_id": lead["lead_id"], "channel": channel, "summary": note,
            "type": type_key, "priority": priority_key, "root_cause": None, "resolution": None,
            "owner": owner or lead["owner"], "due": due_at, "confirmation": None,
        }])  # fmt: skip
        book.append("feedback", row)
        return row.iloc[0]

    return update_book(ctx, "log", step)


@dataclass
class DueOutcome:
    """What `leadkit due` found."""

    items: pd.DataFrame
    unknown_activities: pd.DataFrame
    report: NotifyReport | None = None


def due(ctx: Context, *, owner: str | None = None) -> DueOutcome:
    """Each rep's to-dos for today, most urgent first (reads the book, writes nothing)."""
    return _due_of(ctx, load(ctx, only={"leads", "activities", "feedback"}), owner=owner)


def write_due(ctx: Context, items: pd.DataFrame, path: Path) -> None:
    """The to-do list as an .xlsx (`due --out`, `run`'s due step), kinds in the book's words."""
    frame = items.assign(kind=items["kind"].map(lambda k: kind_label(k, ctx.lang)))
    bookio.write_table(path, "待办" if ctx.lang == "zh" else "Due", frame)


def _due_of(ctx: Context, book: Book, *, owner: str | None = None) -> DueOutcome:
    """`due` on a book already in memory (`run` passes the book it has just saved)."""
    applied = apply_activities(
        book.leads, book.sheets["activities"], ctx.rules.followup, now=ctx.now, with_log=False
    )
    say = ctx.rules.columns.sayer(book.lang)
    warn = find_neglected(applied.leads, ctx.rules.pool, now=ctx.now, say=say).warn
    items = due_items(
        applied.leads,
        ctx.rules.followup,
        now=ctx.now,
        recycle_warn=warn,
        status_since=applied.status_since,
        feedback=book.sheets["feedback"],
        activities=book.sheets["activities"],
    )
    if owner is not None:
        items = items[items["owner"] == owner].reset_index(drop=True)
    return DueOutcome(items=items, unknown_activities=applied.unknown)


def _notify_config(ctx: Context, channels: str, *, manager: bool = False) -> NotifyConfig:
    """The notify: settings, checked to hold what `--notify channels` needs."""
    config = ctx.workspace.config.notify
    email = config.email if config else None
    if (
        config is None
        or (channels in ("email", "both") and (email is None or (manager and not email.manager)))
        or (channels in ("webhook", "both") and not config.webhooks)
    ):
        needs = "notify: (with email.manager for e-mail)" if manager else "notify:"
        raise UsageError(
            f"--notify {channels}: configure {needs} in leadkit.yaml (see README, Reminders)"
        )
    return config


def _save_robots(ctx: Context, robots: RobotLog) -> None:
    """The robots' last-minute posts, for the next run's rate (written also under --dry-run:
    the posts were made, and the service counts them)."""
    ctx.workspace.write_state("robots", robots.to_state(ctx.workspace.read_state("robots")))


def item_keys(items: pd.DataFrame) -> pd.Series:
    """What makes a to-do the same one across runs: its lead, its kind, its deadline and
    whether it is escalated.

    A lead whose first contact is about to breach, then breaches, then is overdue past
    escalate_after_hours is three reminders (the last copies the manager); the same overdue item
    seen by the 13:00 and the 14:00 run is one.
    """
    when = pd.to_datetime(items["when"], errors="coerce").dt.strftime("%Y-%m-%dT%H:%M").fillna("-")
    # without the mark an item sent when it breached was never escalated: its key was sent
    escalated = items["escalate"].map({True: "|escalated"}).fillna("").astype(str)
    return items["lead_id"].astype(str) + "|" + items["kind"].astype(str) + "|" + when + escalated


def send_reminders(
    ctx: Context, outcome: DueOutcome, channels: str, *, force: bool = False
) -> NotifyReport:
    """E-mail and/or webhook reminders for each due item not sent before on that channel.

    Items are what `due` lists: due now, overdue, or due within followup.yaml's due_soon_hours
    (the lead time), so an item that becomes due between two runs goes out with the next one,
    and a second run sends nothing new. `--force` sends every item again.
    """
    config = _notify_config(ctx, channels)
    roster = {
        r.name: {"email": r.email, "chat": r.chat, "mobile": r.mobile}
        for r in ctx.rules.routing.team
    }
    labels = {k: kind_label(k, ctx.lang) for k in KINDS}
    items = outcome.items
    keys = item_keys(items) if len(items) else pd.Series(dtype=object)
    state = ctx.workspace.read_state("notified")
    sent: dict[str, dict[str, str]] = state.get("items", {}) if isinstance(state, dict) else {}
    report = NotifyReport()
    stamp = pd.Timestamp(ctx.now).isoformat()
    secrets = webhook_secrets(config.webhooks) if channels in ("webhook", "both") else {}

    jobs: list[tuple[str, pd.DataFrame, Callable[[], list[Delivery]]]] = []

    def deliver(
        channel: str, send: Callable[[list[Reminder]], list[Delivery]], cap: int | None = None
    ) -> None:
        done = sent.get(channel, {})
        new = items if force else items[~keys.isin(list(done))]
        for owner in sorted(set(items["owner"]) - set(new["owner"])):
            report.skipped.append(Delivery(channel, str(owner), True, "already sent"))
        if new.empty:
            return
        # items are most urgent first per rep; those past the cap are still unsent next run
        left = new.groupby("owner").size() - cap if cap else pd.Series(dtype=int)
        new = new.groupby("owner", sort=False).head(cap) if cap else new
        reminders = build_reminders(
            new, roster, lang=ctx.lang, now=pd.Timestamp(ctx.now), labels=labels
        )
        for r in reminders:
            more = int(left.get(r.recipient, 0))
            if more > 0:
                r.markdown += "\n- " + ctx.rules.columns.message(
                    "more_items", ctx.lang, n=more, owner=r.recipient
                )
        jobs.append((channel, new, lambda: send(reminders)))

    if channels in ("email", "both") and config.email is not None:
        email = config.email
        password = email.password()  # read here: a bad one is an error before anything is sent
        deliver("email", lambda rs: send_email(email, rs, password))
    robots = RobotLog.from_state(ctx.workspace.read_state("robots"))
    if channels in ("webhook", "both"):
        deadline = time.monotonic() + config.budget_seconds
        for hook in config.webhooks:
            channel = f"webhook {hook.name or hook.kind + ' ' + safe_url(hook.url)}"
            secret = secrets.get(hook.secret_env or "")
            send = lambda rs, h=hook, s=secret: send_webhook(h, rs, s, deadline, robots)  # noqa: E731
            deliver(channel, send, config.chat_items_per_rep)
    if ctx.dry_run:
        # what would go out, per channel and rep: nothing posted, no robot's minute used up,
        # nothing remembered as sent
        for channel, new, _ in jobs:
            for owner in sorted(set(new["owner"].astype(str))):
                report.unsent.append(Delivery(channel, owner, True, "dry run"))
        return report
    # every robot and the mail server at once: the run waits for the slowest, not the sum
    for (channel, new, _), results in zip(jobs, run_parallel([j for _, _, j in jobs]), strict=True):
        report.add(results)
        delivered = {d.recipient for d in results if d.ok}
        done = sent.setdefault(channel, {})
        for key in keys[new.index][new["owner"].astype(str).isin(delivered)]:
            done[key] = stamp
    if channels in ("webhook", "both"):
        _save_robots(ctx, robots)
    # an item is not due again after two weeks; older entries only grow the file
    horizon = (pd.Timestamp(ctx.now) - pd.Timedelta(days=14)).isoformat()
    kept = {c: {k: t for k, t in d.items() if t >= horizon} for c, d in sent.items()}
    ctx.workspace.write_state("notified", {"items": kept})
    return report


def report(
    ctx: Context,
    *,
    period: str = "month",
    previous: bool = False,
    start: str | None = None,
    end: str | None = None,
    by: list[str] | None = None,
    rfm: bool = False,
) -> Report:
    """The period's metrics, funnel, breakdowns, per-rep table, grade check, trend and forecast.

    `rfm`: also R/F/M and segments of every won customer as of `ctx.now` (report.yaml's `rfm:`)."""
    if period not in ("week", "month", "quarter", "year"):
        raise UsageError(f"--period {period!r}: use week, month, quarter or year")
    columns = set(ctx.rules.columns.sheets["leads"].keys)
    unknown = [b for b in by or [] if b not in columns]
    if unknown:
        raise UsageError(
            f"--by {', '.join(unknown)}: not lead columns (e.g. source, grade, owner, industry, region)"
        )
    bounds = None
    if start or end:
        if not (start and end):
            raise UsageError("give both --from and --to")
        bounds = (
            pd.Timestamp(clock.now(ctx.tz, start, option="--from")),
            pd.Timestamp(clock.now(ctx.tz, end, option="--to")),
        )
        if bounds[1] <= bounds[0]:
            raise UsageError("--to must be after --from")
    return _report_of(
        ctx,
        load(ctx, only={"leads", "activities", "log", "feedback"}),
        period,
        by,
        previous,
        bounds,
        rfm,
    )


def _report_of(
    ctx: Context,
    book: Book,
    period: str,
    by: list[str] | None = None,
    previous: bool = False,
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    rfm: bool = False,
) -> Report:
    """`report` on a book already in memory (`run` passes the book it has just saved)."""
    if rfm and ctx.rules.report.rfm is None:  # a workspace's report.yaml written before RFM
        raise RuleError(
            ctx.rules.folder / "report.yaml",
            [(None, "no rfm: section (scores, high_at, segments); copy it from leadkit's rules/report.yaml")],
        )  # fmt: skip
    applied = apply_activities(
        book.leads, book.sheets["activities"], ctx.rules.followup, now=ctx.now, with_log=False
    )
    # 信息完整度 as the fields stand now: a save recomputes it, but a book filled in by hand in
    # Excel (or a history book that never had the column) would report what an import once said
    leads = applied.leads.assign(completeness=completeness(applied.leads, ctx.rules.columns))
    return build_report(
        leads, book.sheets["activities"], book.sheets["log"], kind=period, now=ctx.now,  # type: ignore[arg-type]
        rules=ctx.rules.report, cadence=ctx.rules.followup.cadence_days, by=by or [],
        channels=ctx.rules.channels, previous=previous,
        start=bounds[0] if bounds else None, end=bounds[1] if bounds else None, tz=ctx.tz,
        working_hours=ctx.rules.routing.working_hours, rfm_rules=ctx.rules.report.rfm if rfm else None,
        feedback=book.sheets["feedback"], feedback_rules=ctx.rules.followup.feedback,
    )  # fmt: skip


def send_report(ctx: Context, rep: Report, channels: str) -> NotifyReport:
    """The report's Markdown to the chat webhooks and/or the manager's e-mail."""
    config = _notify_config(ctx, channels, manager=True)
    text = report_markdown(rep, ctx.lang, ctx.rules.columns)
    message = Reminder(
        "manager",
        config.email.manager if config.email else None,
        None,
        text.splitlines()[0].lstrip("# "),
        text,
        # the same self-contained page `report --out x.html` writes (its bars are table cells,
        # which mail clients draw), inline, not as an attachment
        report_html(rep, ctx.lang, ctx.rules.columns),
    )
    result = NotifyReport()
    deliveries = []
    if channels in ("email", "both") and config.email is not None:
        deliveries += send_email(config.email, [message], config.email.password())
    if channels in ("webhook", "both"):
        robots = RobotLog.from_state(ctx.workspace.read_state("robots"))
        deliveries += send_webhooks(config.webhooks, [message], webhook_secrets(config.webhooks),
                                    config.budget_seconds, robots)  # fmt: skip
        _save_robots(ctx, robots)
    result.add(deliveries)
    return result


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
