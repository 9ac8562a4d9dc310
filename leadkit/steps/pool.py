"""The pool: neglected leads recycled, and claims on pool leads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from leadkit.clock import spans
from leadkit.errors import ExitStatus, LeadkitError
from leadkit.normalize import column_dates, date_cells_to_write
from leadkit.rules.base import CLOSED_STATUSES
from leadkit.rules.columns import Say
from leadkit.rules.pool import PoolRules
from leadkit.rules.routing import RoutingRules
from leadkit.steps.routing import first_contact_due


class ClaimRefused(LeadkitError):
    """A claim the pool rules do not allow."""

    exit_status = ExitStatus.DATA_PROBLEMS


@dataclass
class Neglect:
    """Leads to return to the pool, to hand to the manager, and whose owners to warn."""

    recycle: pd.DataFrame  # row index; lead_id, owner, reason
    escalate: pd.DataFrame  # row index; lead_id, owner, reason
    warn: pd.DataFrame  # row index; lead_id, owner, reason, recycle_on


def _worded(values: pd.Series, say: Say, key: str, name: str) -> pd.Series:
    """Message `key` with each value as its field `name`, worded once per distinct value."""
    wording = {v: say(key, **{name: v}) for v in values.unique()}
    return values.map(wording)


def find_neglected(leads: pd.DataFrame, rules: PoolRules, *, now: datetime, say: Say) -> Neglect:
    """Owned, open leads whose first contact is overdue or whose follow-up has lapsed."""
    now_ts = pd.Timestamp(now)
    owned = leads[
        leads["duplicate_of"].isna()
        & leads["owner"].notna()
        & ~leads["status"].isin(rules.exempt_status)
    ]
    due = column_dates(owned, "first_contact_due") + pd.Timedelta(
        hours=rules.first_contact_grace_hours
    )
    first_at = column_dates(owned, "first_contact_at")
    overdue = first_at.isna() & due.notna() & (now_ts > due)
    touches = pd.concat(
        [column_dates(owned, c) for c in ("last_contact_at", "first_contact_at", "assigned_at")],
        axis=1,
    )
    last_touch = touches.max(axis=1)
    grade = owned["grade"].where(owned["grade"].isin(list(rules.no_follow_up_days)), "C")
    allowed = spans(grade.map(rules.no_follow_up_days), "D")
    lapse_at = last_touch + allowed
    # a lead still waiting for its first contact is judged by that deadline, not by follow-up
    stale = last_touch.notna() & (now_ts > lapse_at) & ~(first_at.isna() & due.notna())
    days = ((now_ts - last_touch) / pd.Timedelta(days=1)).round(1)
    reason = pd.Series("", index=owned.index, dtype=object)
    reason[stale] = _worded(days[stale], say, "no_follow_up", "days")
    # only the overdue leads' deadlines as text: formatting every owned lead's was half of `due`
    since = (due[overdue] - pd.Timedelta(hours=rules.first_contact_grace_hours)).dt.strftime(
        "%Y-%m-%d %H:%M"
    )
    reason[overdue] = _worded(since, say, "first_contact_overdue", "since")
    neglected = overdue | stale
    count = pd.to_numeric(owned["recycle_count"], errors="coerce").fillna(0)
    tagged = owned["tags"].fillna("").astype(str).str.contains(rules.manager_tag, regex=False)
    to_manager = neglected & (count >= rules.max_recycles) & ~tagged
    to_pool = neglected & (count < rules.max_recycles)
    recycle_on = pd.concat(
        [due.where(first_at.isna()), lapse_at.where(~(first_at.isna() & due.notna()))], axis=1
    ).min(axis=1)
    soon = (
        ~neglected
        & recycle_on.notna()
        & (recycle_on - now_ts <= pd.Timedelta(days=rules.warn_days))
    )

    def frame(mask: pd.Series, why: pd.Series) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "lead_id": owned.loc[mask, "lead_id"],
                "owner": owned.loc[mask, "owner"],
                "reason": why[mask],
            }
        )

    warn = frame(soon, pd.Series(say("recycle_soon"), index=owned.index))
    warn["recycle_on"] = recycle_on[soon]
    return Neglect(recycle=frame(to_pool, reason), escalate=frame(to_manager, reason), warn=warn)


def apply_recycle(
    leads: pd.DataFrame, n: Neglect, rules: PoolRules, *, now: datetime, say: Say
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return leads to the pool (owner cleared, recycle_count + 1) and tag the escalated ones."""
    out = leads.copy(deep=False)  # copy-on-write: only columns written are copied
    logs = []
    rows = n.recycle.index
    if len(rows):
        out["owner"] = out["owner"].astype(object)
        out.loc[rows, "owner"] = None
        out["recycle_count"] = pd.to_numeric(out["recycle_count"], errors="coerce")
        out.loc[rows, "recycle_count"] = out.loc[rows, "recycle_count"].fillna(0) + 1
        for column in ("assigned_at", "first_contact_due"):
            out[column] = date_cells_to_write(out[column])
            out.loc[rows, column] = pd.NaT
        if "assigned_by" in out.columns:
            out["assigned_by"] = out["assigned_by"].astype(object)
            out.loc[rows, "assigned_by"] = None
        logs.append(pd.DataFrame({"lead_id": n.recycle["lead_id"], "column": "owner", "old": n.recycle["owner"],
                                  "new": _worded(n.recycle["reason"], say, "to_pool", "reason")}))  # fmt: skip
    rows = n.escalate.index
    if len(rows):
        out["tags"] = out["tags"].astype(object)
        old = out.loc[rows, "tags"]
        new = (old.fillna("").astype(str) + ";" + rules.manager_tag).str.lstrip(";")
        out.loc[rows, "tags"] = new.to_numpy()
        logs.append(
            pd.DataFrame(
                {"lead_id": n.escalate["lead_id"], "column": "tags", "old": old, "new": new}
            )
        )
    if not logs:
        return out, pd.DataFrame()
    log = pd.concat(logs, ignore_index=True)
    log.insert(0, "command", "recycle")
    log.insert(0, "time", pd.Timestamp(now))
    return out, log


def claim(
    leads: pd.DataFrame, log: pd.DataFrame, lead_id: str, owner: str, routing: RoutingRules,
    rules: PoolRules, *, now: datetime,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """A rep takes a pool lead: owner, assigned_at and first-contact deadline set, logged."""
    rep = routing.rep(owner)
    if rep is None:
        raise ClaimRefused(f"{owner!r} is not in the team (routing.yaml)")
    if not rep.available(now.date()):
        raise ClaimRefused(f"{owner} is away or inactive today")
    match = leads.index[leads["lead_id"].astype(str) == lead_id]
    if len(match) == 0:
        raise ClaimRefused(f"no lead {lead_id!r}")
    row = match[0]
    lead = leads.loc[row]
    if pd.notna(lead.get("duplicate_of")):
        raise ClaimRefused(f"{lead_id} was merged into {lead['duplicate_of']}; claim that one")
    if pd.notna(lead.get("owner")):
        raise ClaimRefused(f"{lead_id} belongs to {lead['owner']}, it is not in the pool")
    if lead.get("status") in CLOSED_STATUSES:
        raise ClaimRefused(f"{lead_id} is closed")
    if rules.cooldown and not log.empty:
        recycled = log[
            (log["command"] == "recycle")
            & (log["column"] == "owner")
            & (log["lead_id"].astype(str) == lead_id)
        ]
        if len(recycled) and str(recycled["old"].iloc[-1]) == owner:
            raise ClaimRefused(
                f"{lead_id} was recycled from {owner}; it goes to someone else first"
            )
    today = pd.Timestamp(now).normalize()
    if not log.empty:
        times = pd.to_datetime(log["time"], errors="coerce")
        mine = (
            (log["command"] == "claim")
            & (log["new"] == owner)
            & (times >= today)
            & (times < today + pd.Timedelta(days=1))
        )
        if int(mine.sum()) >= rules.claim_limit_per_day:
            raise ClaimRefused(
                f"{owner} has claimed {int(mine.sum())} lead(s) today, the daily limit (pool.yaml)"
            )
    open_now = int(
        (
            (leads["owner"] == owner)
            & leads["duplicate_of"].isna()
            & ~leads["status"].isin(list(CLOSED_STATUSES))
        ).sum()
    )
    if open_now >= rep.capacity:
        raise ClaimRefused(
            f"{owner} already has {open_now} open leads, the capacity in routing.yaml"
        )
    out = leads.copy(deep=False)  # copy-on-write: only columns written are copied
    out["owner"] = out["owner"].astype(object)
    out.loc[row, "owner"] = owner
    for column in ("assigned_at", "first_contact_due"):
        out[column] = date_cells_to_write(out[column])
    out.loc[row, "assigned_at"] = pd.Timestamp(now)
    if "assigned_by" in out.columns:
        out["assigned_by"] = out["assigned_by"].astype(object)
        out.loc[row, "assigned_by"] = "claimed from the pool"
    grade = pd.Series([lead.get("grade") if isinstance(lead.get("grade"), str) else "C"])
    out.loc[row, "first_contact_due"] = first_contact_due(pd.Timestamp(now), grade, routing).iloc[0]
    entry = pd.DataFrame(
        [
            {
                "time": pd.Timestamp(now),
                "command": "claim",
                "lead_id": lead_id,
                "column": "owner",
                "old": None,
                "new": owner,
            }
        ]
    )
    return out, entry
