"""Attribute and behaviour points of each lead, with decay."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from leadkit.clock import spans
from leadkit.normalize import (
    clean_text,
    lookup,
    map_distinct,
    normalize_email,
    normalize_phone,
    parse_datetime,
    positions,
)
from leadkit.rules.base import fold_header
from leadkit.rules.scoring import CALENDAR, Dimension, Scorer, ScoringRules

# ---------------------------------------------------------------------------------------------
# Attribute points


def _keyword_pattern(words: list[str]) -> str:
    return "|".join(re.escape(w.lower()) for w in sorted(words, key=len, reverse=True))


@dataclass
class DistinctText:
    """Lead texts as codes into their distinct values: the keyword rules search each distinct
    text once (a book's titles, needs and notes repeat; searching 100k cells for each of a dozen
    rules was most of score's time)."""

    codes: np.ndarray  # per lead, its text's position in `values`
    values: pd.Series  # the distinct texts, lower-cased
    index: pd.Index  # the leads'

    def contains(self, pattern: str) -> np.ndarray:
        """Per lead, whether its text matches the regex `pattern`."""
        return self.values.str.contains(pattern, regex=True).to_numpy(dtype=bool)[self.codes]

    def series(self) -> pd.Series:
        """The texts, one per lead."""
        return pd.Series(self.values.to_numpy(dtype=object)[self.codes], index=self.index,
                         dtype="str")  # fmt: skip


def _cleaned_distinct(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct cleaned texts, blank as ""): Arrow text is cleaned once per distinct
    value (clean_text works cell by cell, so the result is the same); other dtypes are cleaned
    whole first (1 and 1.0 factorize as one value but read as different text)."""
    if not (pd.api.types.is_string_dtype(values.dtype) and values.dtype != object):
        values = clean_text(values).fillna("")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = clean_text(pd.Series(uniques, dtype=values.dtype)).fillna("").astype("str")
    # the last slot is the blank cell's (code -1 indexes it)
    return codes, np.array([*texts.to_numpy(dtype=object), ""], dtype=object)


def _distinct_text(
    leads: pd.DataFrame, columns: list[str], cleaned: dict[str, Any] | None = None
) -> DistinctText:
    """The named columns joined with newlines, lower-cased, as distinct texts (`DistinctText`).
    `cleaned`: the columns already cleaned for these same leads (score_leads shares it: need,
    notes and title are searched by a scorer and by the tags)."""
    memo = {} if cleaned is None else cleaned
    parts = []
    for c in columns:
        if c in leads.columns:
            if c not in memo:
                memo[c] = _cleaned_distinct(leads[c])
            parts.append(memo[c])
    n = len(leads)
    if not parts:
        return DistinctText(np.zeros(n, dtype=np.int64), pd.Series([""], dtype="str"), leads.index)
    # one code per distinct combination of the columns' texts, re-factorized after each column
    # so the codes stay below the number of leads
    combo = np.zeros(n, dtype=np.int64)
    for codes, texts in parts:
        combo, _ = pd.factorize(combo * len(texts) + np.where(codes < 0, len(texts) - 1, codes))
    k = int(combo.max()) + 1 if n else 0
    first = np.empty(k, dtype=np.int64)
    first[combo[::-1]] = np.arange(n - 1, -1, -1)  # each combination's first lead
    text: pd.Series | None = None
    for codes, texts in parts:
        piece = pd.Series(texts[codes[first]], dtype="str")
        text = piece if text is None else text + "\n" + piece
    assert text is not None
    return DistinctText(combo, text.str.lower(), leads.index)


def _text_of(
    leads: pd.DataFrame, columns: list[str], cleaned: dict[str, Any] | None = None
) -> pd.Series:
    """The named columns joined, lower-cased, for keyword search (`cleaned` as for
    `_distinct_text`)."""
    return _distinct_text(leads, columns, cleaned).series()


def _numbers(leads: pd.DataFrame, column: str) -> pd.Series:
    if column not in leads.columns:
        return pd.Series(np.nan, index=leads.index)
    return pd.to_numeric(leads[column], errors="coerce").astype(float)


def _timeline_cells(values: pd.Series, tz: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(cleaned text, parsed date, is a date) of each cell; Arrow text is parsed once per
    distinct value (a book's 购买时间 holds a few phrases: parsing 100k cells was most of the
    timeline's time). Both parsers work cell by cell, so the cells are the same."""
    if not (pd.api.types.is_string_dtype(values.dtype) and values.dtype != object):
        return clean_text(values), *parse_datetime(values, tz)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=values.dtype)
    dates, is_date = parse_datetime(distinct, tz)
    text = clean_text(distinct).to_numpy(dtype=object)
    # the last slot is the blank cell's (code -1 indexes it)
    return (
        pd.Series(np.append(text, [None])[codes], index=values.index, dtype="str"),
        pd.Series(np.append(dates.to_numpy(), np.datetime64("NaT"))[codes], index=values.index),
        pd.Series(np.append(is_date.to_numpy(dtype=bool), False)[codes], index=values.index),
    )


def timeline_days(leads: pd.DataFrame, scorer: Scorer, reference: pd.Series, tz: str) -> pd.Series:
    """Days from `reference` to the planned purchase, as a person means it.

    A date is that day; a phrase counts from when the lead said it (created_at): "1个月内" is 30
    days on, 本月 the month's last day, 本季度 the quarter's. NaN where nothing is known, the plan
    says there is none, or the day has passed (a plan that is over gives no urgency).
    """
    column = scorer.column or ""
    values = leads[column] if column in leads.columns else pd.Series(np.nan, index=leads.index)
    text, dates, is_date = _timeline_cells(values, tz)
    anchor = (
        pd.to_datetime(leads["created_at"], errors="coerce") if "created_at" in leads else reference
    )
    anchor = anchor.where(anchor.notna(), reference)
    phrases = {
        fold_header(k): (v.lower() if isinstance(v, str) else v)
        for k, v in (scorer.phrases or {}).items()
    }
    folded = map_distinct(text, fold_header)
    said = folded.map(phrases)
    unmatched = folded.notna() & ~folded.isin(phrases.keys()) & ~is_date
    if unmatched.any() and phrases:
        pattern = "(" + "|".join(re.escape(k) for k in sorted(phrases, key=len, reverse=True)) + ")"
        found = folded[unmatched].str.extract(pattern, expand=False)
        said[unmatched] = found.map(phrases)
    days_phrase = pd.to_numeric(said.where(~said.isin([*CALENDAR, "none"])), errors="coerce")
    # One unit for all: a period's end (…59.999999) does not fit a column of seconds, and
    # pandas 3.0.x refuses to widen the column in place.
    deadline = (anchor + spans(days_phrase, "D")).dt.as_unit("us")
    for name, (freq, ahead) in CALENDAR.items():
        hit = said == name
        if hit.any():
            period = anchor[hit].dt.to_period(freq) + ahead
            deadline[hit] = period.dt.end_time.dt.as_unit("us").to_numpy()
    deadline = deadline.where(~is_date, dates)
    # by calendar day: a date of today is today, not 9 hours ago
    days = (deadline.dt.normalize() - reference.dt.normalize()) / pd.Timedelta(days=1)
    return days.where(days >= 0).astype(float)


def _banded(values: pd.Series, conds: list[pd.Series], points: list[float]) -> pd.Series:
    return pd.Series(np.select(conds, points, 0.0), index=values.index)


def scorer_points(
    leads: pd.DataFrame, scorer: Scorer, reference: pd.Series, tz: str,
    days: pd.Series | None = None, cleaned: dict[str, Any] | None = None,
) -> pd.Series:  # fmt: skip
    """Points one scorer gives each lead (`days`: its timeline_days, when already known;
    `cleaned`: as for `_text_of`)."""
    if scorer.kind == "bands":
        values = _numbers(leads, scorer.column or "")
        bands = scorer.bands or []
        return _banded(values, [values >= b.min for b in bands], [b.points for b in bands])  # type: ignore[union-attr]
    if scorer.kind == "timeline":
        if days is None:
            days = timeline_days(leads, scorer, reference, tz)
        bands = scorer.bands or []
        return _banded(days, [days <= b.within_days for b in bands], [b.points for b in bands])  # type: ignore[union-attr]
    if scorer.kind == "keywords":
        text = _distinct_text(leads, scorer.columns or [], cleaned)
        rules = scorer.rules or []
        conds = [text.contains(_keyword_pattern(r.any)) for r in rules]
        return pd.Series(np.select(conds, [r.points for r in rules], 0.0), index=leads.index)
    filled = (
        clean_text(leads[scorer.column]).notna()
        if scorer.column in leads.columns
        else pd.Series(False, index=leads.index)
    )
    return filled.astype(float) * float(scorer.points or 0)


def part_name(dim: Dimension, i: int) -> str:
    """The column of a dimension's i-th scorer in `attribute_parts`."""
    return f"{dim.key}:{i}"


def attribute_parts(
    leads: pd.DataFrame, rules: ScoringRules, reference: pd.Series, tz: str,
    cleaned: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:  # fmt: skip
    """(points per dimension, points per scorer, days to the planned purchase) for each lead;
    `cleaned` as for `_text_of`."""
    out, parts = {}, {}
    days = pd.Series(np.nan, index=leads.index)
    for dim in rules.attributes:
        mine = []
        for i, scorer in enumerate(dim.scorers):
            if scorer.kind == "timeline":
                days = timeline_days(leads, scorer, reference, tz)
                points = scorer_points(leads, scorer, reference, tz, days=days)
            else:
                points = scorer_points(leads, scorer, reference, tz, cleaned=cleaned)
            parts[part_name(dim, i)] = points
            mine.append(points)
        frame = pd.concat(mine, axis=1)
        total = frame.max(axis=1) if dim.combine == "max" else frame.sum(axis=1)
        out[dim.key] = total.clip(0, dim.max)
    index = leads.index
    return pd.DataFrame(out, index=index), pd.DataFrame(parts, index=index), days


def attribute_points(
    leads: pd.DataFrame, rules: ScoringRules, reference: pd.Series, tz: str
) -> pd.DataFrame:
    """Points per attribute dimension (columns = dimension keys)."""
    return attribute_parts(leads, rules, reference, tz)[0]


# ---------------------------------------------------------------------------------------------
# Behaviour points


def events_by_lead(
    events: pd.DataFrame, leads: pd.DataFrame, rules: ScoringRules, tz: str
) -> pd.DataFrame:
    """Events matched to active leads (by lead_id, else phone, else e-mail; merged -> survivor)."""
    cols = ["lead_id", "time", "event", "points"]
    if events.empty:
        return pd.DataFrame(columns=cols)
    lead_id = event_leads(events, leads)
    kind = event_kinds(events, rules)
    points = kind.map({k: r.points for k, r in rules.behaviour.events.items()})
    when, _ = parse_datetime(events["time"], tz)
    frame = pd.DataFrame({"lead_id": lead_id, "time": when, "event": kind, "points": points})
    return frame.dropna(subset=["lead_id", "time", "points"])


def event_kinds(events: pd.DataFrame, rules: ScoringRules) -> pd.Series:
    """The scoring.yaml event key of each event (NaN for a type it does not list)."""
    by_name = rules.event_lookup()
    return map_distinct(events["event"], lambda e: by_name.get(fold_header(str(e))))


def event_leads(events: pd.DataFrame, leads: pd.DataFrame) -> pd.Series:
    """The lead each event belongs to (lead_id, else phone, else e-mail; merged -> survivor),
    NaN where no lead of the book matches."""
    ids = leads["lead_id"].astype(str).astype(object)
    survivor = (
        leads["duplicate_of"].astype(object).where(leads["duplicate_of"].notna(), ids)
        if "duplicate_of" in leads
        else ids
    )
    lead_id = (
        lookup(ids, survivor, events["lead_id"])
        if "lead_id" in events
        else pd.Series(np.nan, index=events.index, dtype=object)
    )
    for key, normaliser in (("phone", normalize_phone), ("email", normalize_email)):
        if key not in events or key not in leads:
            continue
        # the book's phones and e-mails were normalised on import; the events' may not be
        known = leads[key].notna()
        todo = lead_id.isna() & events[key].notna()
        if todo.any():
            # most events already carry the form the book has; normalise only the rest
            book_keys, owners = leads.loc[known, key], survivor[known]
            lead_id[todo] = lookup(book_keys, owners, events.loc[todo, key]).to_numpy()
            rest = todo & lead_id.isna()
            if rest.any():
                ev_norm, ev_ok = normaliser(events.loc[rest, key])
                lead_id[rest] = lookup(book_keys, owners, ev_norm.where(ev_ok)).to_numpy()
    return lead_id


def behaviour_points(
    matched: pd.DataFrame, leads: pd.DataFrame, rules: ScoringRules, reference: pd.Series
) -> pd.Series:
    """Decayed event points per lead as of each lead's reference time, capped."""
    if matched.empty:
        return pd.Series(0.0, index=leads.index)
    at = positions(leads["lead_id"], matched["lead_id"])
    known = at >= 0
    when = matched["time"].to_numpy(dtype="datetime64[ns]")[known]
    age = (reference.to_numpy(dtype="datetime64[ns]")[at[known]] - when) / np.timedelta64(1, "D")
    points = matched["points"].to_numpy(dtype=float)[known]
    decayed = np.where(age >= 0, points * np.power(0.5, age / rules.behaviour.half_life_days), 0.0)
    total = np.bincount(at[known], weights=decayed, minlength=len(leads))
    cap = rules.behaviour.cap
    per_lead = pd.Series(total, index=leads.index)
    return per_lead.clip(-cap, cap).astype(float)


# the words themselves too: the points say 总监 = 16 whoever it is, the history may know better
CATEGORICAL = ["source", "industry", "region", "title", "purchase_timeline"]


# ---------------------------------------------------------------------------------------------
# Features: each lead as it stood on arrival


def arrival_features(
    leads: pd.DataFrame, matched: pd.DataFrame, rules: ScoringRules, tz: str, *,
    window_days: float, until: pd.Series,
) -> pd.DataFrame:  # fmt: skip
    """The model's inputs for each lead as known on arrival.

    Attributes (urgency included) as of created_at; behaviour from the events up to created_at +
    `window_days`, or `until` (now, or the close) if that comes first. Nothing later counts.
    """
    until = pd.Series(until, index=leads.index) if not isinstance(until, pd.Series) else until
    created = pd.to_datetime(leads.get("created_at"), errors="coerce")
    if not isinstance(created, pd.Series):
        created = pd.Series(pd.NaT, index=leads.index)
    created = created.where(created.notna(), until)
    cutoff = created + pd.Timedelta(days=window_days)
    cutoff = cutoff.where(cutoff <= until, until)
    attrs, _parts, days = attribute_parts(leads, rules, created, tz)
    out = attrs.add_prefix("points_").copy()
    out["behaviour"] = behaviour_points(matched, leads, rules, cutoff).to_numpy()
    seen = np.zeros(len(leads))
    if not matched.empty:
        at = positions(leads["lead_id"], matched["lead_id"])
        known = at >= 0
        when = matched["time"].to_numpy(dtype="datetime64[ns]")[known]
        upto = cutoff.to_numpy(dtype="datetime64[ns]")[at[known]]
        seen = np.bincount(at[known][when <= upto], minlength=len(leads)).astype(float)
    out["events_seen"] = seen
    for column in ("employees", "revenue", "budget"):
        values = pd.to_numeric(leads[column], errors="coerce") if column in leads else np.nan
        out[f"log_{column}"] = np.log1p(pd.Series(values, index=leads.index).clip(lower=0))
    out["days_to_purchase"] = days.clip(upper=730).to_numpy()
    for column in CATEGORICAL:
        values = leads[column] if column in leads else pd.Series(None, index=leads.index)
        text = values.astype(object).where(values.notna(), "(blank)").astype(str).str.strip()
        out[column] = text.str.lower()
    return out


def predict(
    model: dict[str, Any], leads: pd.DataFrame, matched: pd.DataFrame, rules: ScoringRules, *,
    now: datetime, tz: str,
) -> pd.Series:  # fmt: skip
    """Won probability per lead from a saved model, from the lead as it stood on arrival."""
    window = float(model.get("metrics", {}).get("window_days", rules.predictive.window_days))
    until = pd.Series(pd.Timestamp(now), index=leads.index)
    x = arrival_features(leads, matched, rules, tz, window_days=window, until=until)
    for column in model["features"]:
        if column not in x:
            x[column] = np.nan
    proba = model["pipeline"].predict_proba(x[model["features"]])[:, 1]
    return pd.Series(proba, index=leads.index)
