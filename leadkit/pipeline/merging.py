"""Dedupe over the book: duplicates merged, the review list written and its decisions applied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from leadkit import bookio
from leadkit.bookio import Book
from leadkit.context import Context
from leadkit.errors import InputFileError, RuleError, Where
from leadkit.normalize import is_in
from leadkit.pipeline.book import output_file, update_book, write_review
from leadkit.rules.dedupe import DedupeRules
from leadkit.steps.dedupe import (
    REVIEW_DECISIONS,
    DedupeResult,
    find_duplicates,
    merge,
    read_decisions,
    review_table,
)


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
        write_review(
            ctx, review_file, review_table(outcome.result, rules, ctx.lang), REVIEW_DECISIONS
        )
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
