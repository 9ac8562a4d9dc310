"""Follow-up step: the Activities sheet drives the lead, and `due` says what each rep must do.

Activities are facts a rep recorded (typed into 跟进记录 or added by `leadkit log`); from them a lead
gets its first and last contact, its status and its next follow-up (the rep's date, else the
cadence of its grade).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from leadkit.normalize import parse_datetime
from leadkit.rules import Strict

Grade = Literal["S", "A", "B", "C"]
CLOSED = ("won", "lost")


class FollowupRules(Strict):
    """`followup.yaml`."""

    cadence_days: dict[Grade, float]
    due_soon_hours: float = Field(default=4, ge=0)
    escalate_after_hours: float = Field(default=4, ge=0)


def _dates(values: pd.Series) -> pd.Series:
    """Dates of a column (text a person typed is parsed; what is not a date is missing)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    return parse_datetime(values)[0]


@dataclass
class Applied:
    """Leads after their activities, the Log rows, and activities naming no known lead."""

    leads: pd.DataFrame
    log: pd.DataFrame
    unknown: pd.DataFrame  # activity rows (sheet row index) whose lead_id is not in the book


def apply_activities(
    leads: pd.DataFrame,
    activities: pd.DataFrame,
    rules: FollowupRules,
    *,
    now: datetime,
    command: str = "log",
    with_log: bool = True,
) -> Applied:
    """First/last contact, status, closed date and next follow-up from the Activities sheet.

    `with_log=False` skips the Log rows (for readers such as `due`, which save nothing).
    """
    out = leads.copy()
    known_ids = pd.Index(out["lead_id"].dropna().astype(str).unique())
    acts = activities.copy()
    acts["_date"] = _dates(acts["date"])
    acts = acts[acts["_date"].notna() & acts["lead_id"].notna()]
    acts["lead_id"] = (
        acts["lead_id"].astype(str).astype(object)
    )  # object isin is 4x faster than Arrow's
    unknown = acts[~acts["lead_id"].isin(known_ids)]
    acts = acts[acts["lead_id"].isin(known_ids)]
    if acts.empty:
        return Applied(out, pd.DataFrame(), unknown)
    acts = acts.sort_values("_date", kind="stable")
    grouped = acts.groupby("lead_id", sort=False)
    first = grouped["_date"].min()
    last = grouped["_date"].max()
    latest = grouped.tail(1).set_index("lead_id")
    with_status = acts[acts["status_after"].notna()]
    status = with_status.groupby("lead_id", sort=False).tail(1).set_index("lead_id")
    planned = (
        _dates(latest["next_follow_up"])
        if "next_follow_up" in latest
        else pd.Series(pd.NaT, index=latest.index)
    )

    ids = out["lead_id"].astype(str).astype(object)
    rows = ids.isin(first.index)
    for column in ("first_contact_at", "last_contact_at", "next_follow_up", "closed_at"):
        out[column] = _dates(out[column]) if column in out else pd.Series(pd.NaT, index=out.index)
    for column in ("status",):
        out[column] = out[column].astype(object)
    before = out.loc[
        rows, ["first_contact_at", "last_contact_at", "status", "next_follow_up", "closed_at"]
    ].copy()

    lead_first = ids[rows].map(first)
    lead_last = ids[rows].map(last)
    out.loc[rows, "first_contact_at"] = pd.concat(
        [before["first_contact_at"], lead_first], axis=1
    ).min(axis=1)
    out.loc[rows, "last_contact_at"] = pd.concat(
        [before["last_contact_at"], lead_last], axis=1
    ).max(axis=1)
    new_status = (
        ids[rows].map(status["status_after"])
        if len(status)
        else pd.Series(np.nan, index=ids[rows].index)
    )
    out.loc[rows, "status"] = new_status.where(new_status.notna(), before["status"])
    # a lead someone contacted is no longer untouched
    untouched = rows & (out["status"].isna() | (out["status"] == "new"))
    out.loc[untouched, "status"] = "contacted"
    closing = rows & out["status"].isin(CLOSED) & out["closed_at"].isna()
    out.loc[closing, "closed_at"] = ids[closing].map(status["_date"]) if len(status) else pd.NaT
    grade = out.loc[rows, "grade"].where(out.loc[rows, "grade"].isin(list(rules.cadence_days)), "C")
    cadence = pd.to_timedelta(grade.map(rules.cadence_days).astype(float), unit="D")
    next_plan = ids[rows].map(planned)
    next_auto = out.loc[rows, "last_contact_at"] + cadence
    next_follow = next_plan.where(next_plan.notna(), next_auto)
    is_open = ~out.loc[rows, "status"].isin(CLOSED)
    out.loc[rows, "next_follow_up"] = next_follow.where(is_open, pd.NaT)

    if not with_log:
        return Applied(out, pd.DataFrame(), unknown)
    after = out.loc[rows, before.columns]
    logs = []
    for column in before.columns:
        changed = ~(
            (before[column] == after[column]) | (before[column].isna() & after[column].isna())
        )
        if changed.any():
            logs.append(pd.DataFrame({
                "lead_id": out.loc[changed[changed].index, "lead_id"], "column": column,
                "old": before.loc[changed, column].map(_text), "new": after.loc[changed, column].map(_text),
            }))  # fmt: skip
    log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame()
    if not log.empty:
        log.insert(0, "command", command)
        log.insert(0, "time", pd.Timestamp(now))
    return Applied(out, log, unknown)


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


# ---------------------------------------------------------------------------------------------
# Due

KINDS = {
    "first_contact_overdue": (0, "首次跟进已超时", "first contact overdue"),
    "follow_up_overdue": (1, "跟进已逾期", "follow-up overdue"),
    "first_contact_soon": (2, "首次跟进即将超时", "first contact due soon"),
    "follow_up_today": (3, "今日需跟进", "follow-up due today"),
    "recycle_soon": (4, "即将被回收", "about to be recycled"),
    "untouched_top": (5, "S/A 线索未接触", "S/A lead untouched"),
}


def due_items(
    leads: pd.DataFrame,
    rules: FollowupRules,
    *,
    now: datetime,
    recycle_warn: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What each rep must do: one row per (lead, reason), most urgent first.

    Columns: owner, kind, lead_id, company, contact, phone, grade, when, hours_overdue, escalate.
    """
    now_ts = pd.Timestamp(now)
    today = now_ts.normalize()
    mine = leads[
        leads["duplicate_of"].isna() & leads["owner"].notna() & ~leads["status"].isin(CLOSED)
    ]
    first_due = _dates(mine["first_contact_due"])
    first_at = _dates(mine["first_contact_at"])
    follow = _dates(mine["next_follow_up"])
    waiting = first_at.isna()
    parts = []

    def add(mask: pd.Series, kind: str, when: pd.Series) -> None:
        if mask.any():
            part = mine.loc[
                mask, ["owner", "lead_id", "company", "contact", "phone", "grade"]
            ].copy()
            part.insert(1, "kind", kind)
            part["when"] = when[mask]
            parts.append(part)

    add(waiting & first_due.notna() & (first_due < now_ts), "first_contact_overdue", first_due)
    add(
        waiting
        & first_due.notna()
        & (first_due >= now_ts)
        & (first_due <= now_ts + pd.Timedelta(hours=rules.due_soon_hours)),
        "first_contact_soon",
        first_due,
    )
    add(~waiting & follow.notna() & (follow < today), "follow_up_overdue", follow)
    add(
        ~waiting & follow.notna() & (follow >= today) & (follow < today + pd.Timedelta(days=1)),
        "follow_up_today",
        follow,
    )
    add(
        waiting & mine["grade"].isin(["S", "A"]) & ~(first_due.notna() & (first_due < now_ts)),
        "untouched_top",
        first_due,
    )
    if recycle_warn is not None and not recycle_warn.empty:
        warn_rows = mine.index.intersection(recycle_warn.index)
        mask = pd.Series(mine.index.isin(warn_rows), index=mine.index)
        add(
            mask,
            "recycle_soon",
            pd.Series(recycle_warn["recycle_on"], index=mine.index).reindex(mine.index),
        )
    if not parts:
        return pd.DataFrame(
            columns=[
                "owner",
                "kind",
                "lead_id",
                "company",
                "contact",
                "phone",
                "grade",
                "when",
                "hours_overdue",
                "escalate",
            ]
        )
    items = pd.concat(parts)
    items["hours_overdue"] = (
        ((now_ts - items["when"]) / pd.Timedelta(hours=1)).clip(lower=0).round(1)
    )
    items["escalate"] = (items["kind"] == "first_contact_overdue") & (
        items["hours_overdue"] > rules.escalate_after_hours
    )
    items["_rank"] = items["kind"].map({k: v[0] for k, v in KINDS.items()})
    items = items.sort_values(
        ["owner", "_rank", "hours_overdue", "when"],
        ascending=[True, True, False, True],
        kind="stable",
    )
    return items.drop(columns="_rank").reset_index(drop=True)


def kind_label(kind: str, lang: str) -> str:
    _, zh, en = KINDS[kind]
    return zh if lang == "zh" else en
