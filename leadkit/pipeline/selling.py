"""Score, train, assign, recycle, claim and log over the book."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from leadkit import clock
from leadkit.bookio import Book
from leadkit.context import Context
from leadkit.errors import UsageError
from leadkit.pipeline.book import (
    _remember_status_since,
    current_leads,
    load,
    update_book,
    with_activities,
)
from leadkit.rules.base import fold_header
from leadkit.rules.routing import BY
from leadkit.steps.followup import (
    apply_activities,
    lead_keys,
)
from leadkit.steps.pool import Neglect, apply_recycle, find_neglected
from leadkit.steps.pool import claim as claim_lead
from leadkit.steps.routing import Assignment, RotationState, apply_assignment
from leadkit.steps.routing import assign as route
from leadkit.steps.score import Scored, apply_scores, explain, score_leads
from leadkit.steps.train import Training, load_model, save_model
from leadkit.steps.train import train as train_model


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
