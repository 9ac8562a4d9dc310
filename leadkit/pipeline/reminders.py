"""What is due, reminders sent, and the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from leadkit import bookio, clock
from leadkit.bookio import Book
from leadkit.context import Context
from leadkit.errors import RuleError, UsageError
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
from leadkit.pipeline.book import load
from leadkit.steps.followup import (
    KINDS,
    apply_activities,
    due_items,
    kind_label,
)
from leadkit.steps.importer import (
    completeness,
)
from leadkit.steps.pool import find_neglected
from leadkit.steps.report import Report, build_report
from leadkit.steps.report import html as report_html
from leadkit.steps.report import markdown as report_markdown
from leadkit.workspace import NotifyConfig


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
