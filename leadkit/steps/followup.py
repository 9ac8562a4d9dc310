"""Follow-up: what each lead's activities say, what is due or overdue, the plan sheet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from leadkit.clock import spans
from leadkit.normalize import as_dates, cell_texts
from leadkit.rules.base import CLOSED_STATUSES
from leadkit.rules.followup import STATUSES, FeedbackRules, FollowupRules, StagePlan


def lead_keys(ids: pd.Series) -> pd.Series:
    """Lead IDs as matched between sheets: a hand-typed "lx2026000001 " is LX2026000001."""
    return ids.astype(str).str.strip().str.upper().astype(object)


@dataclass
class Applied:
    """Leads after their activities, the Log rows, and activities naming no known lead."""

    leads: pd.DataFrame
    log: pd.DataFrame
    unknown: pd.DataFrame  # activity rows (sheet row index) whose lead_id is not in the book
    # when each lead entered its current status (leads' index; NaT: no activity says so); not a
    # book column, only `due` reads it
    status_since: pd.Series | None = None


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
    out = leads.copy(deep=False)  # copy-on-write: only columns written are copied
    acts = (
        activities[["date", "lead_id", "status_after", "next_follow_up"]].copy()
        if not activities.empty
        else activities
    )
    if acts.empty:
        return Applied(out, pd.DataFrame(), acts)
    acts["_date"] = as_dates(acts["date"])
    acts = acts[acts["_date"].notna() & acts["lead_id"].notna()]
    # a status typed by hand that is no status (e.g. "打过电话") is not a status change; `check`
    # names the cell
    acts["status_after"] = acts["status_after"].where(acts["status_after"].isin(STATUSES))
    # each activity's lead as a row position: integer work from here on, no string grouping;
    # an ID typed by hand may carry spaces or lower case ("lx2026000001 ")
    ids = lead_keys(out["lead_id"])
    position = pd.Index(ids).get_indexer(lead_keys(acts["lead_id"]))
    unknown = activities.loc[acts.index[position < 0]]
    acts, position = acts[position >= 0], position[position >= 0]
    if acts.empty:
        return Applied(out, pd.DataFrame(), unknown)
    when = acts["_date"].to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((when.view("int64"), position))  # by lead, then time: the last is the latest
    pos_sorted = position[order]
    is_last = np.r_[pos_sorted[1:] != pos_sorted[:-1], True]
    is_first = np.r_[True, pos_sorted[1:] != pos_sorted[:-1]]
    n = len(out)
    first_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    last_at = first_at.copy()
    first_at[pos_sorted[is_first]] = when[order][is_first]
    last_at[pos_sorted[is_last]] = when[order][is_last]
    planned_all = as_dates(acts["next_follow_up"]).to_numpy(dtype="datetime64[ns]")
    planned = first_at.copy()
    planned[pos_sorted[is_last]] = planned_all[order][is_last]
    has_status = acts["status_after"].notna().to_numpy()[order]
    st_pos = pos_sorted[has_status]
    st_last = np.r_[st_pos[1:] != st_pos[:-1], True] if st_pos.size else np.array([], dtype=bool)
    status_new = np.full(n, None, dtype=object)
    status_when = first_at.copy()
    status_new[st_pos[st_last]] = acts["status_after"].to_numpy(dtype=object)[order][has_status][
        st_last
    ]
    status_when[st_pos[st_last]] = when[order][has_status][st_last]
    # a stage is entered at the first of a run of the same status: logging 初步接洽 again does
    # not restart its clock
    st_values = acts["status_after"].to_numpy(dtype=object)[order][has_status]
    st_when = when[order][has_status]
    run_start = np.r_[True, (st_pos[1:] != st_pos[:-1]) | (st_values[1:] != st_values[:-1])]
    start_at = np.maximum.accumulate(np.where(run_start, np.arange(st_pos.size), 0))
    entered = first_at.copy()
    entered[st_pos[st_last]] = st_when[start_at][st_last] if st_pos.size else st_when[:0]

    rows_mask = np.zeros(n, dtype=bool)
    rows_mask[pos_sorted] = True
    rows = pd.Series(rows_mask, index=out.index)
    typed = {}  # text a person typed in a date column (待定): kept on the leads no activity derives
    for column in ("first_contact_at", "last_contact_at", "next_follow_up", "closed_at"):
        if column not in out:
            out[column] = pd.Series(pd.NaT, index=out.index)
            continue
        dates = as_dates(out[column])
        text = out[column].notna() & dates.isna()
        if text.any():
            typed[column] = out[column][text]
        out[column] = dates
    out["status"] = out["status"].astype(object)
    before = out.loc[
        rows, ["first_contact_at", "last_contact_at", "status", "next_follow_up", "closed_at"]
    ].copy()
    idx = out.index[rows_mask]
    lead_first = pd.Series(first_at[rows_mask], index=idx)
    lead_last = pd.Series(last_at[rows_mask], index=idx)
    out.loc[rows, "first_contact_at"] = pd.concat(
        [before["first_contact_at"], lead_first], axis=1
    ).min(axis=1)
    out.loc[rows, "last_contact_at"] = pd.concat(
        [before["last_contact_at"], lead_last], axis=1
    ).max(axis=1)
    new_status = pd.Series(status_new[rows_mask], index=idx)
    status_at = pd.Series(status_when, index=out.index)
    out.loc[rows, "status"] = new_status.where(new_status.notna(), before["status"])
    # a lead someone contacted is no longer untouched
    untouched = rows & (out["status"].isna() | (out["status"] == "new"))
    out.loc[untouched, "status"] = "contacted"
    closing = rows & out["status"].isin(CLOSED_STATUSES) & out["closed_at"].isna()
    out.loc[closing, "closed_at"] = status_at[closing]
    grade = out.loc[rows, "grade"].where(out.loc[rows, "grade"].isin(list(rules.cadence_days)), "C")
    cadence = spans(grade.map(rules.cadence_days), "D")
    next_plan = pd.Series(planned[rows_mask], index=idx)
    next_auto = out.loc[rows, "last_contact_at"] + cadence
    next_follow = next_plan.where(next_plan.notna(), next_auto)
    is_open = ~out.loc[rows, "status"].isin(CLOSED_STATUSES)
    out.loc[rows, "next_follow_up"] = next_follow.where(is_open, pd.NaT)

    for column, text in typed.items():
        keep = text[~rows.reindex(text.index).to_numpy()]
        if len(keep):
            out[column] = out[column].astype(object)
            out.loc[keep.index, column] = keep.to_numpy()
    since = pd.Series(entered, index=out.index)
    # a status the rep did not change (e.g. typed into the Leads sheet) has no known entry time
    since = since.where(out["status"].isin(list(rules.stage_limit_days)) | since.isna())
    if not with_log:
        return Applied(out, pd.DataFrame(), unknown, since)
    after = out.loc[rows, before.columns]
    logs = []
    for column in before.columns:
        changed = ~(
            (before[column] == after[column]) | (before[column].isna() & after[column].isna())
        )
        if changed.any():
            logs.append(pd.DataFrame({
                "lead_id": out.loc[changed[changed].index, "lead_id"], "column": column,
                "old": before.loc[changed, column].pipe(cell_texts), "new": after.loc[changed, column].pipe(cell_texts),
            }))  # fmt: skip
    log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame()
    if not log.empty:
        log.insert(0, "command", command)
        log.insert(0, "time", pd.Timestamp(now))
    return Applied(out, log, unknown, since)


# ---------------------------------------------------------------------------------------------
# Due

KINDS = {
    "first_contact_overdue": (0, "首次跟进已超时", "first contact overdue"),
    "follow_up_overdue": (1, "跟进已逾期", "follow-up overdue"),
    "stage_overdue": (1, "阶段停留超时", "stuck past stage limit"),
    "feedback_overdue": (1, "客户反馈处理逾期", "feedback past its close-out date"),
    "second_channel_missed": (2, "每周面谈/邮件未完成", "weekly second channel missed"),
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
    status_since: pd.Series | None = None,
    feedback: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What each rep must do: one row per (lead, reason), most urgent first.

    Columns: owner, kind, lead_id, company, contact, phone, grade, when, hours_overdue, escalate.
    """
    now_ts = pd.Timestamp(now)
    today = now_ts.normalize()
    mine = leads[
        leads["duplicate_of"].isna()
        & leads["owner"].notna()
        & ~leads["status"].isin(CLOSED_STATUSES)
    ]
    first_due = as_dates(mine["first_contact_due"])
    first_at = as_dates(mine["first_contact_at"])
    follow = as_dates(mine["next_follow_up"])
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
    if status_since is not None and rules.stage_limit_days:
        # when = the day the stage limit ran out: entered + the grade's days in that stage
        grade = mine["grade"].where(mine["grade"].isin(["S", "A", "B", "C"]), "C")
        limit = pd.Series(
            [
                rules.stage_limit_days.get(st, {}).get(g, np.nan)
                for st, g in zip(mine["status"], grade, strict=True)
            ],
            index=mine.index,
            dtype=float,
        )
        ends = as_dates(status_since.reindex(mine.index)) + spans(limit, "D")
        add(ends.notna() & (ends < now_ts), "stage_overdue", ends)
    if recycle_warn is not None and not recycle_warn.empty:
        warn_rows = mine.index.intersection(recycle_warn.index)
        mask = pd.Series(mine.index.isin(warn_rows), index=mine.index)
        add(
            mask,
            "recycle_soon",
            pd.Series(recycle_warn["recycle_on"], index=mine.index).reindex(mine.index),
        )
    if activities is not None:
        missed = second_channel_items(leads, activities, rules, now=now)
        if not missed.empty:
            parts.append(missed)
    if feedback is not None:
        late = feedback_items(feedback, leads, rules.feedback, now=now)
        if not late.empty:
            parts.append(late)
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


def feedback_open(feedback: pd.DataFrame, rules: FeedbackRules) -> pd.Series:
    """Feedback not yet closed out: 客户确认结果 blank or one of `still_open` (case and spaces
    aside; "客户认可" or "已解决" closes it)."""
    result = feedback["confirmation"].astype(object)
    text = result.where(result.notna(), "").astype(str).str.strip()
    still = {s.strip().casefold() for s in rules.still_open}
    return (text == "") | text.str.casefold().isin(still)


def feedback_deadlines(feedback: pd.DataFrame, rules: FeedbackRules) -> pd.Series:
    """Each feedback's 完成时限: the one in the sheet, else 反馈时间 + close_out_days."""
    typed = as_dates(feedback["due"])
    default = as_dates(feedback["time"]) + pd.Timedelta(days=rules.close_out_days)
    return typed.where(typed.notna(), default)


def feedback_items(
    feedback: pd.DataFrame, leads: pd.DataFrame, rules: FeedbackRules, *, now: datetime
) -> pd.DataFrame:
    """Open feedback past its 完成时限, as due items for the lead's owner (the rep answers to the
    customer; 负责人 may be a colleague who is not on the roster), won leads included: feedback
    after a deal is still the rep's to close out."""
    if feedback.empty:
        return pd.DataFrame()
    ends = feedback_deadlines(feedback, rules)
    late = feedback[feedback_open(feedback, rules) & ends.notna() & (ends < pd.Timestamp(now))]
    if late.empty:
        return pd.DataFrame()
    active = leads[leads["duplicate_of"].isna() & leads["owner"].notna()]
    position = pd.Index(lead_keys(active["lead_id"])).get_indexer(lead_keys(late["lead_id"]))
    found = position >= 0
    part = active.iloc[position[found]][
        ["owner", "lead_id", "company", "contact", "phone", "grade"]
    ].reset_index(drop=True)
    part.insert(1, "kind", "feedback_overdue")
    part["when"] = ends[late.index[found]].to_numpy()
    return part


def second_channel_items(
    leads: pd.DataFrame, activities: pd.DataFrame, rules: FollowupRules, *, now: datetime
) -> pd.DataFrame:
    """Open owned leads whose grade's weekly second channel (second_channel in followup.yaml) is
    overdue: no follow-up by one of its channels within every_days of the last one, or of the
    first contact when there was none. A lead not yet contacted is the first contact's business."""
    if not rules.second_channel:
        return pd.DataFrame()
    mine = leads[
        leads["duplicate_of"].isna()
        & leads["owner"].notna()
        & ~leads["status"].isin(CLOSED_STATUSES)
        & leads["grade"].isin(list(rules.second_channel))
    ]
    first = as_dates(mine["first_contact_at"])
    mine, first = mine[first.notna()], first[first.notna()]
    if mine.empty:
        return pd.DataFrame()
    grade = mine["grade"]
    last = pd.Series(pd.NaT, index=mine.index, dtype="datetime64[ns]")
    if not activities.empty:
        acts = activities[["date", "lead_id", "channel"]].assign(_date=as_dates(activities["date"]))
        acts = acts[acts["_date"].notna()]
        position = pd.Index(lead_keys(mine["lead_id"])).get_indexer(lead_keys(acts["lead_id"]))
        acts = acts.assign(_pos=position)[position >= 0]
        wanted = grade.iloc[acts["_pos"].to_numpy()].map(
            {g: set(r.channels) for g, r in rules.second_channel.items()}
        )
        hit = [c in w for c, w in zip(acts["channel"], wanted, strict=True)]
        latest = acts[hit].groupby("_pos")["_date"].max()
        last.iloc[latest.index.to_numpy()] = latest.to_numpy()
    every = spans(grade.map({g: r.every_days for g, r in rules.second_channel.items()}), "D")
    ends = last.where(last.notna(), first) + every
    late = ends < pd.Timestamp(now)
    if not late.any():
        return pd.DataFrame()
    part = mine.loc[late, ["owner", "lead_id", "company", "contact", "phone", "grade"]].copy()
    part.insert(1, "kind", "second_channel_missed")
    part["when"] = ends[late]
    return part


def plan_sheet(
    leads: pd.DataFrame,
    rules: FollowupRules,
    status_since: pd.Series | None = None,
    *,
    channel_labels: dict[str, str] | None = None,
    lang: str = "zh",
) -> pd.DataFrame:
    """The 跟进计划 sheet: for each open lead with an owner, its stage's plan from followup.yaml,
    how often to follow it up, its next follow-up and when its stage limit runs out."""
    mine = leads[
        leads["duplicate_of"].isna()
        & leads["owner"].notna()
        & ~leads["status"].isin(CLOSED_STATUSES)
    ]
    stage = mine["status"].where(mine["status"].isin(list(STATUSES)), "new").fillna("new")
    grade = mine["grade"].where(mine["grade"].isin(["S", "A", "B", "C"]), None)

    words = channel_labels or {}

    def channels(g: object) -> str:
        days = rules.cadence_days[g if g in rules.cadence_days else "C"]  # type: ignore[index]
        text = f"每{days:g}天跟进" if lang == "zh" else f"every {days:g} d"
        second = rules.second_channel.get(g)  # type: ignore[call-overload]
        if second is not None:
            by = "/".join(words.get(c, c) for c in second.channels)
            text += (
                f" + 每{second.every_days:g}天{by}"
                if lang == "zh"
                else f" + {by} every {second.every_days:g} d"
            )
        return text

    # a handful of stages and grades: each text is made once and mapped (per row it was 0.4 s
    # of every save at 100k leads)
    def per_stage(part: Callable[[StagePlan], str | None]) -> pd.Series:
        return stage.map({st: part(p) for st, p in rules.plans.items()})

    grade_key = grade.fillna("-")
    limit = (
        (stage + "|" + grade.fillna("C"))
        .map({f"{st}|{g}": d for st, by in rules.stage_limit_days.items() for g, d in by.items()})
        .astype(float)
    )
    since = (
        as_dates(status_since.reindex(mine.index))
        if status_since is not None
        else pd.Series(pd.NaT, index=mine.index, dtype="datetime64[ns]")
    )
    # a lead nobody has called yet: its first contact is the next thing due
    follow = as_dates(mine["next_follow_up"])
    waiting = as_dates(mine["first_contact_at"]).isna()
    follow = follow.where(follow.notna() | ~waiting, as_dates(mine["first_contact_due"]))
    return pd.DataFrame({
        "lead_id": mine["lead_id"], "company": mine["company"], "grade": grade, "stage": stage,
        "goal": per_stage(lambda p: p.goal),
        "channels": grade_key.map({g: channels(g) for g in ["S", "A", "B", "C", "-"]}),
        "confirm": per_stage(lambda p: "；".join(p.confirm) or None),
        "next_follow_up": follow, "stage_due": since + spans(limit, "D"),
        "owner": mine["owner"],
        "expected": per_stage(lambda p: p.expected or None),
        "fallback": per_stage(lambda p: p.fallback or None),
    }).reset_index(drop=True)  # fmt: skip


def kind_label(kind: str, lang: str) -> str:
    _, zh, en = KINDS[kind]
    return zh if lang == "zh" else en
