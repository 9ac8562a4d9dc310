"""Assignment: the rule that matches, the rep it picks (round-robin, load), the response deadline."""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from leadkit.clock import spans
from leadkit.normalize import as_dates, company_key, date_cells_to_write
from leadkit.rules.base import CLOSED_STATUSES
from leadkit.rules.routing import DAYS, GRADE_ORDER, Rep, RoutingRules, Rule, Strategy, WorkingHours

# ---------------------------------------------------------------------------------------------
# Deadlines


def add_working_hours(start: pd.Timestamp, hours: float, wh: WorkingHours | None) -> pd.Timestamp:
    """`start` plus `hours`, counting only working time when working hours are set."""
    if wh is None:
        return start + pd.Timedelta(hours=hours)
    open_days = {DAYS.index(d) for d in wh.days}
    left = pd.Timedelta(hours=hours)
    current = pd.Timestamp(start)
    for _ in range(3660):  # ten years of days: a bound, never reached with any open day
        day_start = current.normalize() + pd.Timedelta(hours=wh.start.hour, minutes=wh.start.minute)
        day_end = current.normalize() + pd.Timedelta(hours=wh.end.hour, minutes=wh.end.minute)
        if current.weekday() in open_days and current < day_end:
            begin = max(current, day_start)
            if left <= day_end - begin:
                return begin + left
            left -= day_end - begin
        current = current.normalize() + pd.Timedelta(days=1)
    raise ValueError("working hours never open")


def first_contact_due(assigned: pd.Timestamp, grades: pd.Series, rules: RoutingRules) -> pd.Series:
    """Deadline per lead: assigned time plus its grade's SLA (in working time if set)."""
    hours = grades.where(grades.isin(list(rules.sla_hours)), "C").map(rules.sla_hours).astype(float)
    if rules.working_hours is None:
        return pd.Timestamp(assigned) + spans(hours, "h")
    table = {
        h: add_working_hours(pd.Timestamp(assigned), h, rules.working_hours) for h in hours.unique()
    }
    return hours.map(table).astype("datetime64[ns]")


def working_hours_between(start: pd.Series, end: pd.Series, wh: WorkingHours | None) -> pd.Series:
    """Hours from `start` to `end` as the SLA counts them: working time only when it is set.

    Vectorised: working time since a fixed day is (open days before t) x (hours a day) plus
    the part of t's own day, so the difference of two such counts is the time between them.
    """
    if wh is None:
        return (end - start) / pd.Timedelta(hours=1)
    mask = "".join("1" if d in wh.days else "0" for d in DAYS)
    open_from = wh.start.hour * 60 + wh.start.minute
    day_minutes = wh.end.hour * 60 + wh.end.minute - open_from

    def since_epoch(t: pd.Series) -> np.ndarray:
        ok = t.notna().to_numpy()
        values = t.to_numpy(dtype="datetime64[ns]")
        days = np.where(ok, values, np.datetime64("2000-01-03")).astype("datetime64[D]")
        before = np.busday_count(np.datetime64("2000-01-03"), days, weekmask=mask)
        seconds = (values - days.astype("datetime64[ns]")).astype("timedelta64[s]").astype(float)
        minute = seconds / 60
        inside = np.clip(minute - open_from, 0, day_minutes)
        inside = np.where(np.is_busday(days, weekmask=mask), inside, 0.0)
        return np.where(ok, before * day_minutes + inside, np.nan)

    return pd.Series((since_epoch(end) - since_epoch(start)) / 60, index=start.index)


# ---------------------------------------------------------------------------------------------
# Fair picking


@dataclass
class RotationState:
    """Per rep: leads given by leadkit and the sequence number of the last one."""

    given: dict[str, float] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)
    seq: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RotationState:
        data = data or {}
        return cls(
            given=dict(data.get("given", {})),
            last=dict(data.get("last", {})),
            seq=int(data.get("seq", 0)),
        )

    def to_json(self) -> dict[str, Any]:
        return {"given": self.given, "last": self.last, "seq": self.seq}

    def join(self, team: list[Rep]) -> None:
        """A rep new to the roster starts level with the least-served rep, not at zero."""
        known = [self.given[r.name] / r.weight for r in team if r.name in self.given]
        floor = min(known) if known else 0.0
        for r in team:
            if r.name not in self.given:
                self.given[r.name] = floor * r.weight
                self.last.setdefault(r.name, -1)


class Picker:
    """Chooses one rep per lead, fairly.

    fair: fewest leads given relative to weight; load: fewest open leads relative to capacity x
    weight; round-robin: the least recently served. Ties go to the least recently served, and
    among reps never served to a hash that changes every pick, so roster order never decides.
    The counters are plain lists: `record` runs once per lead, and a list item costs a fraction
    of a numpy scalar update.
    """

    def __init__(self, team: list[Rep], state: RotationState, open_count: dict[str, int]) -> None:
        self.team = team
        self.index = {r.name: i for i, r in enumerate(team)}
        self.weight = [float(r.weight) for r in team]
        self.capacity = [float(r.capacity) for r in team]
        self.given = [float(state.given.get(r.name, 0.0)) for r in team]
        self.last = [int(state.last.get(r.name, -1)) for r in team]
        self.open = [float(open_count.get(r.name, 0)) for r in team]
        # what each strategy compares, kept current by record()
        self.fair = [g / w for g, w in zip(self.given, self.weight, strict=True)]
        self.load = [self._load(i) for i in range(len(team))]
        self.version = [0] * len(team)  # bumped by record(): tells a Queue its entry is old
        self.seq = state.seq
        self.state = state

    def _load(self, i: int) -> float:
        return self.open[i] / max(self.capacity[i] * self.weight[i], 1e-9)

    def full(self) -> np.ndarray:
        return np.array([o >= c for o, c in zip(self.open, self.capacity, strict=True)], dtype=bool)

    def _measure(self, strategy: Strategy) -> list:
        if strategy == "round-robin":
            return self.last
        return self.load if strategy == "load" else self.fair

    def pick(self, candidates: np.ndarray, strategy: Strategy) -> int:
        measure = self._measure(strategy)
        primary = np.array([measure[i] for i in candidates], dtype=float)
        tied = candidates[primary <= primary.min() + 1e-12]
        if tied.size > 1:
            lasts = np.array([self.last[i] for i in tied])
            tied = tied[lasts == lasts.min()]
        if tied.size > 1:
            names = [self.team[i].name for i in tied]
            salt = [hashlib.sha1(f"{n}:{self.seq}".encode()).hexdigest() for n in names]
            return int(tied[int(np.argmin(salt))])
        return int(tied[0])

    def record(self, i: int) -> None:
        self.seq += 1
        self.given[i] += 1
        self.last[i] = self.seq
        self.open[i] += 1
        self.fair[i] = self.given[i] / self.weight[i]
        self.load[i] = self._load(i)
        self.version[i] += 1

    def key(self, i: int, strategy: Strategy) -> tuple[float, int]:
        """What `pick` orders reps by: the strategy's measure, then the least recently served."""
        return (float(self._measure(strategy)[i]), self.last[i])

    def save(self) -> None:
        """Write the counters back into the rotation state."""
        for i, r in enumerate(self.team):
            self.state.given[r.name] = float(self.given[i])
            self.state.last[r.name] = int(self.last[i])
        self.state.seq = self.seq

    def open_counts(self) -> dict[str, int]:
        return {r.name: int(self.open[i]) for i, r in enumerate(self.team)}


class Queue:
    """The reps of one routing group in a heap, so picking among them costs a heap pop.

    Counters only grow, so an entry made before its rep was last picked sorts too early: it is
    refreshed when it reaches the top (lazy update). A rep that may be tied with another (never
    served, or sharing a starting `last`) goes to `Picker.pick`, which breaks such ties by a hash;
    full reps leave the queue for good.
    """

    def __init__(self, picker: Picker, reps: np.ndarray, strategy: Strategy) -> None:
        self.picker, self.strategy = picker, strategy
        self.heap = [(*picker.key(int(i), strategy), int(i), picker.version[int(i)]) for i in reps]
        heapq.heapify(self.heap)
        # A pick gives its rep a new, unique `last`, so only starting values can be tied
        lasts = [picker.last[i] for i in reps]
        self.tied = {-1} | {v for v in lasts if lasts.count(v) > 1}

    def _top(self, full: np.ndarray) -> tuple[float, int, int, int] | None:
        """The best rep that is not full, its entry up to date; None when the queue is empty."""
        p = self.picker
        while self.heap:
            entry = self.heap[0]
            i = entry[2]
            if full[i]:
                heapq.heappop(self.heap)
            elif entry[3] != p.version[i]:
                heapq.heapreplace(self.heap, (*p.key(i, self.strategy), i, p.version[i]))
            else:
                return entry
        return None

    def pick(self, full: np.ndarray, previous: int, base: np.ndarray) -> int:
        """The rep `Picker.pick` would choose from `base` (minus full reps and `previous`), or -1."""
        entry = self._top(full)
        aside = None
        if entry is not None and entry[2] == previous:
            aside = heapq.heappop(self.heap)
            entry = self._top(full)
        if entry is not None and entry[1] in self.tied:  # the picker breaks such ties by a hash
            candidates = base[~full[base] & (base != previous)]
            entry = None
            chosen = self.picker.pick(candidates, self.strategy) if candidates.size else -1
        else:
            chosen = -1 if entry is None else entry[2]
        if aside is not None:
            heapq.heappush(self.heap, aside)
        return chosen


# ---------------------------------------------------------------------------------------------
# Assign


_NOBODY = np.array([], dtype=np.int64)


@dataclass
class Assignment:
    """What `leadkit assign` decided."""

    owners: pd.Series  # lead row -> rep name (only the leads assigned now)
    due: pd.Series
    why: pd.Series  # lead row -> how the rep was chosen
    pool: pd.DataFrame  # leads that fit nobody (lead_id, reason)
    state: RotationState
    open_after: dict[str, int]


def matching_rule(leads: pd.DataFrame, rules: RoutingRules) -> np.ndarray:
    """Per row, the index of the first routing rule whose conditions all hold; -1 for none."""
    chosen = pd.Series(-1, index=leads.index)
    for i in range(len(rules.rules) - 1, -1, -1):
        ok = pd.Series(True, index=leads.index)
        for key, wanted in rules.rules[i].when.items():
            if key.endswith("_at_least"):
                column = key.removesuffix("_at_least")
                values = (
                    pd.to_numeric(leads[column], errors="coerce")
                    if column in leads
                    else pd.Series(np.nan, index=leads.index)
                )
                ok &= (values >= float(wanted)).fillna(False)  # type: ignore[arg-type]
            else:
                values = leads[key] if key in leads else pd.Series(None, index=leads.index)
                if key == "grade":
                    values = values.where(
                        values.isin(list(GRADE_ORDER)), "C"
                    )  # ungraded leads are routed as C
                ok &= values.isin(list(wanted))  # type: ignore[arg-type]
        chosen[ok.to_numpy()] = i
    return chosen.to_numpy(dtype=np.int64)


def _targets(rule: Rule, team: list[Rep]) -> list[Rep]:
    t = rule.to
    if t.all:
        return team
    if t.reps:
        return [r for r in team if r.name in t.reps]
    if t.level:
        return [r for r in team if r.level == t.level]
    return [r for r in team if r.team == t.team]


def _eligible(by: str, lead: dict[str, Any], team: list[Rep]) -> list[Rep]:
    if by == "region":
        return [
            r
            for r in team
            if lead.get("region") in r.regions or lead.get("province") in r.provinces
        ]
    if by == "industry":
        return [r for r in team if lead.get("industry") in r.industries]
    if by == "grade":
        grade = lead.get("grade") if lead.get("grade") in GRADE_ORDER else "C"
        level = {"S": "manager", "A": "senior"}.get(grade, "junior")
        return [r for r in team if r.level == level]
    return list(team)


def _previous_owners(log: pd.DataFrame) -> dict[str, str]:
    """Lead -> the rep it was last recycled from (for the cool-down)."""
    if log.empty:
        return {}
    recycled = log[(log["command"] == "recycle") & (log["column"] == "owner") & log["old"].notna()]
    return dict(zip(recycled["lead_id"].astype(str), recycled["old"].astype(str), strict=True))


def _returning_owners(leads: pd.DataFrame, todo: pd.DataFrame) -> dict[Any, str]:
    """Unowned leads whose customer is already someone's: a merged record or the same company."""
    owned = leads[leads["owner"].notna()]
    if owned.empty:
        return {}
    out: dict[Any, str] = {}
    by_survivor = owned[owned["duplicate_of"].notna()].groupby("duplicate_of")["owner"].first()
    ids = todo["lead_id"].astype(str)
    hit = ids.map(by_survivor)
    for row, owner in hit.dropna().items():
        out[row] = owner
    keys_owned = company_key(owned["company"]) if "company" in owned else pd.Series(dtype=object)
    table = pd.Series(owned["owner"].to_numpy(), index=keys_owned.to_numpy())
    table = table[table.index.notna() & ~table.index.duplicated()]
    keys = (
        company_key(todo["company"]) if "company" in todo else pd.Series(np.nan, index=todo.index)
    )
    for row, owner in keys.map(table).dropna().items():
        out.setdefault(row, owner)
    return out


def assign(
    leads: pd.DataFrame,
    rules: RoutingRules,
    state: RotationState,
    *,
    by: str,
    now: datetime,
    log: pd.DataFrame | None = None,
) -> Assignment:
    """Owners for the unowned, open, active leads; highest grade and score first."""
    live = leads["duplicate_of"].isna().to_numpy()
    status, owner = leads["status"][live], leads["owner"][live]
    is_open = ~status.isin(CLOSED_STATUSES)
    open_count = owner[is_open & owner.notna()].value_counts().to_dict()
    unowned = live.copy()
    unowned[live] = (is_open & owner.isna()).to_numpy()
    # Only the columns routing reads are taken and sorted: the whole 50-column frame cost a
    # tenth of a second each to copy and to reorder at 100k leads.
    read = {"lead_id", "company", "grade", "region", "province", "industry"}
    read |= {k.removesuffix("_at_least") for rule in rules.rules for k in rule.when}
    todo = leads.loc[unowned, [c for c in leads.columns if c in read]]
    order = (
        pd.DataFrame({
            "_g": leads["grade"][unowned].map(GRADE_ORDER).fillna(3).to_numpy(),
            "_s": -pd.to_numeric(leads["score"][unowned], errors="coerce").fillna(-1).to_numpy(),
            "_c": as_dates(leads["created_at"][unowned]).to_numpy(),
        })
        .sort_values(["_g", "_s", "_c"], kind="stable")
        .index.to_numpy()
    )  # fmt: skip
    todo = todo.iloc[order]
    state.join(rules.team)
    today = now.date()
    picker = Picker(rules.team, state, open_count)
    by_name = picker.index

    def rep_at(names: pd.Series) -> np.ndarray:
        """Roster position of each named rep, -1 for none (or a name not on the roster)."""
        return names.map(by_name).fillna(-1).to_numpy(dtype=np.int64)

    # Everything the loop asks of a lead, as arrays: the loop itself touches only integers.
    lead_ids = todo["lead_id"].astype(str).to_numpy(dtype=object)
    returning = rep_at(pd.Series(_returning_owners(leads, todo), dtype=object).reindex(todo.index))
    cooldown = _previous_owners(log if log is not None else pd.DataFrame())
    previous = rep_at(pd.Series(lead_ids, dtype=object).map(cooldown))
    available_mask = np.array([r.available(today) for r in rules.team])
    strategy: Strategy = (
        "round-robin" if by == "round-robin" else ("load" if by == "load" else "fair")
    )
    if by == "rules":
        group = matching_rule(todo, rules)
        bases = [
            np.array(
                [by_name[r.name] for r in _targets(rule, rules.team)
                 if available_mask[by_name[r.name]]],
                dtype=np.int64,
            )
            for rule in rules.rules
        ]  # fmt: skip
        hows = [rule.strategy for rule in rules.rules]
        # 分配方式: the rule and the strategy that chose the rep
        reasons = [
            f"rule: {rule.name or i + 1} ({rule.strategy})" for i, rule in enumerate(rules.rules)
        ]
        named = [len(_targets(rule, rules.team)) for rule in rules.rules]
        covers = [f"rule {rule.name or i + 1!r}" for i, rule in enumerate(rules.rules)]
    else:
        # leads that look the same to routing share one list of eligible reps
        looked_at = {"region": ["region", "province"], "industry": ["industry"], "grade": ["grade"]}
        keys = todo.reindex(columns=looked_at.get(by, [])).astype(object)
        if keys.columns.size:
            group = keys.groupby(list(keys.columns), dropna=False, sort=False).ngroup().to_numpy()
            first = pd.Series(np.arange(len(keys))).groupby(group).first().to_numpy()
            samples = keys.iloc[first]
            samples = samples.where(samples.notna(), None).to_dict("records")
        else:
            group, samples = np.zeros(len(todo), dtype=np.int64), [{}]
        bases = [
            np.array([by_name[r.name] for r in _eligible(by, lead, rules.team)], dtype=np.int64)
            for lead in samples
        ]
        hows = [strategy] * len(bases)
        reasons = [f"by {by} ({strategy})"] * len(bases)
        named = [len(b) for b in bases]
        covers = [
            f"{by} " + "/".join(str(v) for v in sample.values() if v is not None) if sample else by
            for sample in samples
        ]
    owners: dict[Any, str] = {}
    why: dict[Any, str] = {}
    pool: list[tuple[str, str]] = []
    full = picker.full() | ~available_mask
    full_changes = 0  # how often `full` changed: with the group and the cool-down rep, the key
    said: dict[tuple[int, int, int], str] = {}  # of a pool reason (most of a big pool shares one)
    queues: dict[int, Queue] = {}
    rows = todo.index.tolist()
    # Python lists for the loop: indexing a numpy array yields a numpy scalar per lead, whose
    # comparisons cost several times a Python int's
    previous_at, returning_at, group_at = previous.tolist(), returning.tolist(), group.tolist()
    for i in range(len(todo)):
        prev, owner = previous_at[i], returning_at[i]
        chosen, reason = -1, ""
        base = _NOBODY
        if owner >= 0 and not full[owner] and owner != prev:
            chosen, reason = owner, "returning customer"
        else:
            g = group_at[i]
            if g < 0:
                pool.append((lead_ids[i], "no routing rule matches"))
                continue
            base, reason = bases[g], reasons[g]
            if g not in queues:
                queues[g] = Queue(picker, base, hows[g])
            chosen = queues[g].pick(full, prev, base)
        if chosen < 0:
            key = (group_at[i], prev, full_changes)
            if key not in said:
                said[key] = _pool_reason(base, full, available_mask, prev,
                                         named[group_at[i]], covers[group_at[i]])  # fmt: skip
            pool.append((lead_ids[i], said[key]))
            continue
        owners[rows[i]] = rules.team[chosen].name
        why[rows[i]] = reason
        picker.record(chosen)
        if picker.open[chosen] >= picker.capacity[chosen]:
            full[chosen] = True
            full_changes += 1
    picker.save()
    open_count = picker.open_counts()
    owner_series = pd.Series(owners, dtype=object)
    grades = todo.loc[owner_series.index, "grade"] if len(owner_series) else pd.Series(dtype=object)
    due = (
        first_contact_due(pd.Timestamp(now), grades, rules)
        if len(owner_series)
        else pd.Series(dtype="datetime64[ns]")
    )
    return Assignment(
        owners=owner_series, due=due, why=pd.Series(why, dtype=object),
        pool=pd.DataFrame(pool, columns=["lead_id", "reason"]), state=state, open_after=open_count,
    )  # fmt: skip


def _pool_reason(
    base: np.ndarray, full: np.ndarray, available: np.ndarray, prev: int, named: int, covers: str
) -> str:
    """Why no rep took a lead, in the words a manager can act on."""
    if named == 0:
        return f"no rep on the team covers it ({covers}); add one in routing.yaml"
    if base.size == 0 or not available[base].any():
        return f"every rep for it is away or inactive today ({covers})"
    if prev >= 0 and (base == prev).any() and bool(np.all(full[base] | (base == prev))):
        return "only the rep it was recycled from could take it (cool-down)"
    return f"every rep for it is at capacity ({covers})"


def apply_assignment(
    leads: pd.DataFrame, a: Assignment, *, now: datetime, command: str = "assign"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write owners, assigned_at and first_contact_due; returns the frame and the Log rows."""
    out = leads.copy(deep=False)  # copy-on-write: only columns written are copied
    if a.owners.empty:
        return out, pd.DataFrame()
    rows = a.owners.index
    out["owner"] = out["owner"].astype(object)
    out.loc[rows, "owner"] = a.owners.to_numpy()
    for column in ("assigned_at", "first_contact_due"):
        out[column] = date_cells_to_write(out[column])
    out.loc[rows, "assigned_at"] = pd.Timestamp(now)
    out.loc[rows, "first_contact_due"] = a.due.reindex(rows).to_numpy()
    if "assigned_by" in out.columns:
        out["assigned_by"] = out["assigned_by"].astype(object)
        out.loc[rows, "assigned_by"] = a.why.reindex(rows).to_numpy()
    log = pd.DataFrame({
        "time": pd.Timestamp(now), "command": command, "lead_id": out.loc[rows, "lead_id"].to_numpy(),
        "column": "owner", "old": None, "new": a.owners.to_numpy(),
    })  # fmt: skip
    return out, log
