"""Score step: the seeds' 100-point attribute score, moved within caps by behaviour and the learnt
prediction; grade, action, intent, tags; a manager's grade and a closed lead's grade are kept.

Everything is vectorised over the Leads frame; `explain` picks one lead out of the very `Scored`
that `score_leads` computes for the whole book, so what it prints is what `score` wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from leadkit.clock import spans
from leadkit.normalize import (
    clean_text,
    is_in,
    lookup,
    map_distinct,
    normalize_email,
    normalize_phone,
    parse_datetime,
    positions,
)
from leadkit.rules import CLOSED_STATUSES, Say, Strict, fold_header

# ---------------------------------------------------------------------------------------------
# Rules

# A timeline phrase may name the end of a calendar period (counted from when the lead said it):
# 本月 is the month's last day, not 30 days on. Value: (pandas period, periods ahead).
CALENDAR = {
    "month_end": ("M", 0), "next_month_end": ("M", 1), "quarter_end": ("Q", 0),
    "next_quarter_end": ("Q", 1), "year_end": ("Y", 0), "next_year_end": ("Y", 1),
}  # fmt: skip


class Band(Strict):
    min: float
    points: float = Field(ge=0)


class DayBand(Strict):
    within_days: float = Field(ge=0)
    points: float = Field(ge=0)


class KeywordRule(Strict):
    any: list[str] = Field(min_length=1)
    points: float = Field(ge=0)


class Scorer(Strict):
    """One way a dimension earns points."""

    kind: Literal["bands", "timeline", "keywords", "filled"]
    column: str | None = None
    columns: list[str] | None = None
    bands: list[Band] | list[DayBand] | None = None
    phrases: dict[str, float | str | None] | None = None
    rules: list[KeywordRule] | None = None
    points: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _complete(self) -> Scorer:
        need = {
            "bands": ("column", "bands"), "timeline": ("column", "bands"),
            "keywords": ("columns", "rules"), "filled": ("column", "points"),
        }[self.kind]  # fmt: skip
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.kind} scorer needs {', '.join(missing)}")
        if self.kind == "bands":
            mins = [b.min for b in self.bands]  # type: ignore[union-attr]
            if (
                any(not isinstance(b, Band) for b in self.bands)
                or mins != sorted(mins, reverse=True)
                or len(set(mins)) != len(mins)
            ):
                raise ValueError(
                    "bands must be {min, points}, from the highest min down, without repeats"
                )
        if self.kind == "timeline":
            days = [b.within_days for b in self.bands]  # type: ignore[union-attr]
            if (
                any(not isinstance(b, DayBand) for b in self.bands)
                or days != sorted(days)
                or len(set(days)) != len(days)
            ):
                raise ValueError(
                    "timeline bands must be {within_days, points}, from the shortest up, without repeats"
                )
            for phrase, value in (self.phrases or {}).items():
                if isinstance(value, str) and value.lower() not in ("none", *CALENDAR):
                    raise ValueError(
                        f"phrase {phrase!r}: give days as a number, none, or one of {', '.join(CALENDAR)}"
                    )
        return self

    def best(self) -> float:
        if self.kind in ("bands", "timeline"):
            return max(b.points for b in self.bands)  # type: ignore[union-attr]
        if self.kind == "keywords":
            return max(r.points for r in self.rules)  # type: ignore[union-attr]
        return float(self.points or 0)


class Dimension(Strict):
    key: str
    zh: str
    en: str
    max: float = Field(gt=0)
    combine: Literal["max", "sum"] = "max"
    scorers: list[Scorer] = Field(min_length=1)

    @model_validator(mode="after")
    def _within_max(self) -> Dimension:
        for i, s in enumerate(self.scorers):
            if s.best() > self.max:
                raise ValueError(
                    f"scorer {i + 1} can give {s.best():g} points, more than the dimension's max {self.max:g}"
                )
        return self

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class EventRule(Strict):
    points: float
    names: list[str] = Field(default_factory=list)


class Behaviour(Strict):
    half_life_days: float = Field(gt=0)
    cap: float = Field(gt=0)
    events: dict[str, EventRule]


class Adjustment(Strict):
    """How far one part may move the attribute score: `per_point` x its value, within -down..+up."""

    per_point: float = Field(gt=0)
    up: float = Field(ge=0, le=100)
    down: float = Field(ge=0, le=100)

    def apply(self, value: pd.Series) -> pd.Series:
        # to a tenth, as 评分明细 shows it, so the parts shown add up to the score
        return (value * self.per_point).clip(-self.down, self.up).round(1)


class ScoreMode(Strict):
    """What the grade reads: the attribute points moved by capped adjustments, or the old blend."""

    base: Literal["attributes", "blend"] = "attributes"
    behaviour: Adjustment
    predicted: Adjustment


class Blend(Strict):
    attributes: float = Field(ge=0, le=1)
    behaviour: float = Field(ge=0, le=1)
    predicted: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> Blend:
        total = self.attributes + self.behaviour + self.predicted
        if abs(total - 1) > 1e-6:
            raise ValueError(f"the weights must add up to 1 (they add up to {total:g})")
        if self.attributes + self.behaviour == 0:
            raise ValueError("attributes and behaviour cannot both weigh 0")
        return self


class Cut(Strict):
    """One band of a ladder: a label from `min` up."""

    grade: str | None = None
    action: str | None = None
    intent: str | None = None
    min: float = Field(ge=0, le=100)

    @property
    def label(self) -> str:
        return str(self.grade or self.action or self.intent)


def _ladder(cuts: list[Cut], allowed: set[str], what: str) -> list[Cut]:
    mins = [c.min for c in cuts]
    if not cuts or mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        raise ValueError(f"{what} must go from the highest min down, without overlaps")
    if mins[-1] != 0:
        raise ValueError(f"the last of {what} must start at 0, so every score has one")
    unknown = [c.label for c in cuts if c.label not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)} (use {', '.join(sorted(allowed))})")
    return cuts


class IntentLevel(Strict):
    intent: Literal["A", "B", "C"]
    parts: int = Field(ge=0)


class Intent(Strict):
    """意向等级 from the seeds' three parts: each part is met at `parts[dimension]` points or more."""

    parts: dict[str, float]
    levels: list[IntentLevel]

    @model_validator(mode="after")
    def _ordered(self) -> Intent:
        need = [lv.parts for lv in self.levels]
        if not need or need != sorted(need, reverse=True) or len(set(need)) != len(need):
            raise ValueError("intent levels must go from the most parts down, without repeats")
        if need[-1] != 0:
            raise ValueError("the last intent level must need 0 parts, so every lead has one")
        if need[0] > len(self.parts):
            raise ValueError(f"a level needs {need[0]} parts, but only {len(self.parts)} are named")
        labels = [lv.intent for lv in self.levels]
        if len(set(labels)) != len(labels):
            raise ValueError("each intent level appears once")
        return self


class TagRule(Strict):
    tag: str
    any: list[str] = Field(min_length=1)


class Tags(Strict):
    columns: list[str]
    rules: list[TagRule]


ESTIMATORS = ("naive_bayes", "logistic", "gradient_boosting")


class Predictive(Strict):
    min_per_class: int = Field(default=20, ge=2)
    folds: int = Field(default=5, ge=2, le=20)
    window_days: float = Field(default=7, ge=0)
    validation_share: float = Field(default=0.25, gt=0.05, lt=0.7)
    estimators: list[Literal["naive_bayes", "logistic", "gradient_boosting"]] = Field(
        default_factory=lambda: list(ESTIMATORS), min_length=1
    )
    bootstrap: int = Field(default=1000, ge=100, le=20000)
    calibration_bins: int = Field(default=5, ge=2, le=20)


class ScoringRules(Strict):
    """`scoring.yaml`."""

    attributes: list[Dimension]
    behaviour: Behaviour
    score: ScoreMode = Field(
        default_factory=lambda: ScoreMode(
            behaviour=Adjustment(per_point=0.5, up=10, down=10),
            predicted=Adjustment(per_point=0.25, up=10, down=10),
        )
    )
    blend: Blend
    grades: list[Cut]
    actions: list[Cut]
    intent: Intent
    tags: Tags
    predictive: Predictive = Field(default_factory=Predictive)

    @field_validator("intent", mode="before")
    @classmethod
    def _intent_parts(cls, v: Any) -> Any:
        if isinstance(v, list):
            raise ValueError(
                "intent now comes from three parts (parts: {urgency: 12, budget: 20, decision: 10} and "
                "levels: [{intent: A, parts: 3}, ...]); copy the intent section of the packaged scoring.yaml"
            )
        return v

    @field_validator("grades")
    @classmethod
    def _grades(cls, v: list[Cut]) -> list[Cut]:
        return _ladder(v, {"S", "A", "B", "C"}, "grades")

    @field_validator("actions")
    @classmethod
    def _actions(cls, v: list[Cut]) -> list[Cut]:
        return _ladder(v, {"contact_now", "nurture", "hold"}, "actions")

    @model_validator(mode="after")
    def _hundred(self) -> ScoringRules:
        total = sum(d.max for d in self.attributes)
        if abs(total - 100) > 1e-6:
            raise ValueError(
                f"the attribute dimensions' maxima must add up to 100 (they add up to {total:g})"
            )
        keys = [d.key for d in self.attributes]
        if len(set(keys)) != len(keys):
            raise ValueError("attribute keys must be unique")
        maxima = {d.key: d.max for d in self.attributes}
        for key, points in self.intent.parts.items():
            if key not in maxima:
                raise ValueError(f"intent part {key!r} is not an attribute ({', '.join(keys)})")
            if not 0 < points <= maxima[key]:
                raise ValueError(
                    f"intent part {key!r} needs {points:g} points; give 0 < points <= {maxima[key]:g}"
                )
        return self

    def event_lookup(self) -> dict[str, str]:
        table = {}
        for key, rule in self.behaviour.events.items():
            for name in (key, *rule.names):
                table[fold_header(name)] = key
        return table

    def action_of_grade(self, grade: str) -> str:
        """The action at the bottom of a grade's band (for a grade a manager set)."""
        low = next(c.min for c in self.grades if c.grade == grade)
        return next(c.label for c in self.actions if low >= c.min)


# ---------------------------------------------------------------------------------------------
# Attribute points


def _keyword_pattern(words: list[str]) -> str:
    return "|".join(re.escape(w.lower()) for w in sorted(words, key=len, reverse=True))


def _text_of(
    leads: pd.DataFrame, columns: list[str], cleaned: dict[str, pd.Series] | None = None
) -> pd.Series:
    """The named columns joined, lower-cased, for keyword search. `cleaned`: the columns already
    cleaned for these same leads (score_leads shares it: need, notes and title are searched by a
    scorer and by the tags, and cleaning 100k cells again cost a tenth of a second each)."""
    memo = {} if cleaned is None else cleaned
    parts = []
    for c in columns:
        if c in leads.columns:
            if c not in memo:
                memo[c] = clean_text(leads[c]).fillna("")
            parts.append(memo[c])
    if not parts:
        return pd.Series("", index=leads.index, dtype="str")
    text = parts[0]
    for p in parts[1:]:
        text = text + "\n" + p
    return text.astype("str").str.lower()


def _numbers(leads: pd.DataFrame, column: str) -> pd.Series:
    if column not in leads.columns:
        return pd.Series(np.nan, index=leads.index)
    return pd.to_numeric(leads[column], errors="coerce").astype(float)


def timeline_days(leads: pd.DataFrame, scorer: Scorer, reference: pd.Series, tz: str) -> pd.Series:
    """Days from `reference` to the planned purchase, as a person means it.

    A date is that day; a phrase counts from when the lead said it (created_at): "1个月内" is 30
    days on, 本月 the month's last day, 本季度 the quarter's. NaN where nothing is known, the plan
    says there is none, or the day has passed (a plan that is over gives no urgency).
    """
    column = scorer.column or ""
    values = leads[column] if column in leads.columns else pd.Series(np.nan, index=leads.index)
    text = clean_text(values)
    dates, is_date = parse_datetime(values, tz)
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
    days: pd.Series | None = None, cleaned: dict[str, pd.Series] | None = None,
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
        text = _text_of(leads, scorer.columns or [], cleaned)
        rules = scorer.rules or []
        conds = [text.str.contains(_keyword_pattern(r.any), regex=True) for r in rules]
        return _banded(text, conds, [r.points for r in rules])
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
    cleaned: dict[str, pd.Series] | None = None,
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


# ---------------------------------------------------------------------------------------------
# Blend, grade, action, tags


def ladder(scores: pd.Series, cuts: list[Cut]) -> pd.Series:
    """The label of the band each score falls in (bands from the highest min down)."""
    conds = [scores >= c.min for c in cuts]
    return pd.Series(
        np.select(conds, [c.label for c in cuts], cuts[-1].label), index=scores.index, dtype=object
    )


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _show(value: Any) -> str:
    """A cell as a person would read it in an explanation."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "(blank)"
    if isinstance(value, float):
        return _fmt(value)
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return str(value)


def _fmt_all(values: pd.Series) -> pd.Series:
    """`_fmt` for a whole column (scores take few distinct values: each is formatted once)."""
    return map_distinct(values.astype(float).round(1), _fmt).astype("str")


@dataclass
class Scored:
    """Scores and their parts for the active leads (index = the Leads rows)."""

    attributes: pd.DataFrame  # points per dimension
    parts: pd.DataFrame  # points per scorer (columns: part_name)
    timeline: pd.Series  # days to the planned purchase (NaN: none known, or already past)
    events: pd.DataFrame  # the Events rows tied to the book's leads (events_by_lead)
    behaviour: pd.Series  # behaviour points: decayed, capped at +-cap
    behaviour_adj: pd.Series  # points behaviour moved the score by
    predicted: pd.Series | None  # won probability from the trained model
    predicted_adj: pd.Series | None  # points the model moved the score by
    computed: pd.Series  # the score the rules give now
    score: pd.Series  # what the book gets: `computed`, or a closed lead's kept score
    detail: pd.Series
    grade: pd.Series
    action: pd.Series
    intent: pd.Series  # from the three parts (written only where the sheet has none)
    intent_parts: pd.Series  # how many of the three parts are met
    tags: pd.Series
    source: pd.Series  # rules | override (a manager's 人工等级) | closed (kept as it closed)
    log_note: pd.Series  # what the Log says beside a grade a manager set
    how: dict[str, Any] = field(default_factory=dict)
    ignored_overrides: int = 0  # 人工等级 cells that are not a grade

    def take(self, index: pd.Index) -> Scored:
        """The same scores for some of the leads."""
        values: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name != "events" and isinstance(v, pd.Series | pd.DataFrame):
                v = v.loc[index]
            values[f.name] = v
        return Scored(**values)


def blend(
    attrs: pd.Series, behaviour: pd.Series, predicted: pd.Series | None, rules: ScoringRules
) -> tuple[pd.Series, pd.Series, dict[str, float]]:
    """(score, predicted adjustment, weights) of the `blend` mode: weights renormalised when there
    is no model."""
    w = rules.blend
    cap = rules.behaviour.cap
    behaviour_scaled = behaviour / cap * 100
    base_total = w.attributes + w.behaviour
    base = (w.attributes * attrs + w.behaviour * behaviour_scaled) / base_total
    if predicted is None:
        weights = {
            "attributes": w.attributes / base_total,
            "behaviour": w.behaviour / base_total,
            "predicted": 0.0,
        }
        score = base
    else:
        weights = {"attributes": w.attributes, "behaviour": w.behaviour, "predicted": w.predicted}
        score = (
            w.attributes * attrs + w.behaviour * behaviour_scaled + w.predicted * predicted * 100
        )
    score = score.clip(0, 100).round(1)
    adjustment = score - base.clip(0, 100).round(1)
    return score, adjustment, weights


def combine(
    attrs: pd.Series, behaviour: pd.Series, predicted: pd.Series | None,
    base_rate: float, rules: ScoringRules,
) -> tuple[pd.Series, pd.Series, pd.Series | None, dict[str, Any]]:  # fmt: skip
    """(score, behaviour adjustment, model adjustment, how): the score the grade reads.

    Default (`score.base: attributes`): the seeds' 100 attribute points, plus behaviour points x
    per_point and (won probability - the history's win rate) x 100 x per_point, each within its
    caps, the sum kept within 0-100. `blend` is the weighted blend of the three parts instead.
    """
    mode = rules.score
    if mode.base == "blend":
        score, p_adj, weights = blend(attrs, behaviour, predicted, rules)
        b_adj = pd.Series(0.0, index=attrs.index)
        return (
            score,
            b_adj,
            (p_adj if predicted is not None else None),
            {"base": "blend", **weights},
        )
    b_adj = mode.behaviour.apply(behaviour)
    p_adj = None if predicted is None else mode.predicted.apply((predicted - base_rate) * 100)
    total = attrs + b_adj + (0.0 if p_adj is None else p_adj)
    how = {
        "base": "attributes",
        "behaviour": mode.behaviour.model_dump(),
        "predicted": mode.predicted.model_dump() if predicted is not None else None,
        "base_rate": base_rate if predicted is not None else None,
    }
    return total.clip(0, 100).round(1), b_adj, p_adj, how


def intent_from_parts(attrs: pd.DataFrame, rules: ScoringRules) -> tuple[pd.Series, pd.Series]:
    """(意向等级, parts met): urgency of need, budget fit and a clear decision chain, per the seeds."""
    met = pd.Series(0, index=attrs.index)
    for key, points in rules.intent.parts.items():
        met = met + (attrs[key] >= points - 1e-9).astype(int)
    levels = rules.intent.levels
    label = np.select(
        [met >= lv.parts for lv in levels], [lv.intent for lv in levels], levels[-1].intent
    )
    return pd.Series(label, index=attrs.index, dtype=object), met


def tags_for(
    leads: pd.DataFrame, rules: ScoringRules, cleaned: dict[str, pd.Series] | None = None
) -> pd.Series:
    """Existing tags plus the rule tags whose keywords appear; ;-joined, no repeats (`cleaned` as
    for `_text_of`)."""
    text = _text_of(leads, rules.tags.columns, cleaned)
    tags = (
        clean_text(leads["tags"]).fillna("")
        if "tags" in leads
        else pd.Series("", index=leads.index)
    )
    tags = tags.astype("str")
    for rule in rules.tags.rules:
        hit = text.str.contains(_keyword_pattern(rule.any), regex=True)
        # only the rows whose text has the keywords are looked at: most have none, and joining
        # and searching every lead's tags for each rule was most of the time
        rows = hit.index[hit.to_numpy(dtype=bool)]
        if not len(rows):
            continue
        has = (";" + tags[rows] + ";").str.contains(";" + re.escape(rule.tag) + ";", regex=True)
        add = rows[~has.to_numpy(dtype=bool)]
        tags[add] = (tags[add] + ";" + rule.tag).str.lstrip(";")
    return tags.astype(object).where(tags != "")


def _signed(values: pd.Series) -> pd.Series:
    """+4 / -2.5 / 0, for the adjustments in 评分明细."""
    rounded = values.astype(float).round(1)
    magnitude = _fmt_all(rounded.abs())
    sign = np.where(rounded > 0, "+", np.where(rounded < 0, "-", ""))
    return sign + magnitude


def _column(leads: pd.DataFrame, key: str) -> pd.Series:
    return leads[key] if key in leads else pd.Series(None, index=leads.index, dtype=object)


def score_leads(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    rules: ScoringRules,
    *,
    now: datetime,
    tz: str,
    lang: str,
    model: Any | None = None,
) -> Scored:
    """Score the active leads (merged rows, with duplicate_of set, are left out).

    A valid 人工等级 (grade_override) replaces the grade (and the action follows it); a closed lead
    (won/lost) that has a grade keeps its grade, score, detail and action."""
    active = leads[leads["duplicate_of"].isna()] if "duplicate_of" in leads else leads
    reference = pd.Series(pd.Timestamp(now), index=active.index)
    cleaned: dict[str, pd.Series] = {}  # text columns cleaned once for the scorers and the tags
    attrs, parts, days = attribute_parts(active, rules, reference, tz, cleaned)
    matched = events_by_lead(events, leads, rules, tz)
    behaviour = behaviour_points(matched, active, rules, reference)
    predicted, base_rate = None, 0.5
    if model is not None:
        from leadkit.train import predict

        predicted = predict(model, active, matched, rules, now=now, tz=tz)
        base_rate = float(model.get("metrics", {}).get("base_rate", 0.5))
    attr_total = attrs.sum(axis=1)
    computed, b_adj, p_adj, how = combine(attr_total, behaviour, predicted, base_rate, rules)
    zh = lang == "zh"
    detail = pd.Series("", index=active.index, dtype="str")
    for dim in rules.attributes:
        detail = detail + dim.label(lang) + _fmt_all(attrs[dim.key]) + "/"
    if how["base"] == "blend":
        detail = detail + ("行为" if zh else "Behaviour ") + _fmt_all(behaviour)
    else:
        detail = detail + ("行为" if zh else "Behaviour ") + _signed(b_adj)
    if p_adj is not None:
        detail = detail + "/" + ("预测" if zh else "Predicted ") + _signed(p_adj)
    grade = ladder(computed, rules.grades)
    action = ladder(computed, rules.actions)
    intent, intent_parts = intent_from_parts(attrs, rules)
    source = pd.Series("rules", index=active.index, dtype=object)

    # a manager's grade (人工等级) wins over the rules, and says so in the detail and the Log
    grades = [c.label for c in rules.grades]
    override = _column(active, "grade_override")
    override = override.where(override.notna(), None)
    valid = override.isin(grades)
    ignored = int((override.notna() & ~valid).sum())
    reason = clean_text(_column(active, "override_reason"))
    log_note = pd.Series(None, index=active.index, dtype=object)
    if valid.any():
        chosen = override[valid].astype(str)
        grade[valid] = chosen
        action[valid] = chosen.map({g: rules.action_of_grade(g) for g in grades})
        detail[valid] = detail[valid] + "/" + ("人工" if zh else "Manual ") + chosen
        source[valid] = "override"
        header = "人工等级" if zh else "grade override"
        why = reason[valid].fillna("")
        log_note[valid] = header + np.where(why != "", (":" if not zh else "：") + why, "")

    # a closed lead keeps the grade it was worked and closed under
    score = computed.copy()
    old_grade = _column(active, "grade")
    closed = is_in(_column(active, "status"), list(CLOSED_STATUSES)) & old_grade.isin(grades)
    if closed.any():
        old_score = pd.to_numeric(_column(active, "score"), errors="coerce")
        score[closed] = old_score[closed].where(old_score[closed].notna(), computed[closed])
        grade[closed] = old_grade[closed]
        old_action = _column(active, "next_action")
        action[closed] = old_action[closed].where(old_action[closed].notna(), action[closed])
        old_detail = _column(active, "score_detail")
        detail[closed] = old_detail[closed].where(old_detail[closed].notna(), detail[closed])
        source[closed] = "closed"
        log_note[closed] = None
    return Scored(
        attributes=attrs, parts=parts, timeline=days, events=matched, behaviour=behaviour,
        behaviour_adj=b_adj, predicted=predicted, predicted_adj=p_adj, computed=computed,
        score=score, detail=detail.astype(object), grade=grade, action=action, intent=intent,
        intent_parts=intent_parts, tags=tags_for(active, rules, cleaned), source=source, log_note=log_note,
        how=how, ignored_overrides=ignored,
    )  # fmt: skip


def apply_scores(
    leads: pd.DataFrame, scored: Scored, *, now: datetime, say: Say, command: str = "score"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write the scores into the Leads frame; returns it and the Log rows (grade changes).

    Closed leads that kept their grade are left as they are."""
    out = leads.copy(deep=False)  # copy-on-write: only columns written are copied
    live = scored.source != "closed"
    rows = scored.score.index[live.to_numpy()]
    for column in ("score_detail", "grade", "next_action", "tags", "intent"):
        out[column] = out[column].astype(object)
    old_grade = out.loc[rows, "grade"]
    new_grade = scored.grade[live]
    out["score"] = pd.to_numeric(out["score"], errors="coerce").astype(float)
    out.loc[rows, "score"] = scored.score[live].to_numpy()
    out.loc[rows, "score_detail"] = scored.detail[live].to_numpy()
    out.loc[rows, "grade"] = new_grade.to_numpy()
    out.loc[rows, "next_action"] = scored.action[live].to_numpy()
    out.loc[rows, "tags"] = scored.tags[live].to_numpy()
    no_intent = out.loc[rows, "intent"].isna()
    out.loc[no_intent[no_intent].index, "intent"] = scored.intent[live][no_intent].to_numpy()
    changed = old_grade.notna() & (old_grade != new_grade)
    first = old_grade.isna()
    note = scored.log_note[live][changed]
    shown = new_grade[changed].astype(object)
    # Both sides as text: an object column plus a str one is refused by pandas 3.0.x.
    shown = shown.where(note.isna(), shown.astype(str) + " (" + note.astype(str) + ")")
    log = pd.DataFrame({
        "time": pd.Timestamp(now), "command": command, "lead_id": out.loc[changed[changed].index, "lead_id"],
        "column": "grade", "old": old_grade[changed], "new": shown,
    })  # fmt: skip
    if first.any():
        summary = pd.DataFrame([{
            "time": pd.Timestamp(now), "command": command, "lead_id": None, "column": "grade",
            "old": None, "new": say("graded_first", n=int(first.sum())),
        }])  # fmt: skip
        log = pd.concat([log, summary], ignore_index=True) if not log.empty else summary
    return out, log.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Explain


def explain(
    lead_id: str,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    rules: ScoringRules,
    *,
    now: datetime,
    tz: str,
    lang: str,
    model: Any | None = None,
) -> tuple[list[tuple[str, str, str]], Scored | None]:
    """Every rule that fired for one lead: (part, rule, points) lines and its score (None if merged).

    The book is scored whole, by the same `score_leads` call `score` makes, and this lead's row is
    read out of it: events tied through a merged record count exactly as they do in `score`."""
    row = leads[leads["lead_id"].astype(str) == lead_id]
    if row.empty:
        raise KeyError(lead_id)
    row = row.iloc[:1]
    if "duplicate_of" in row and row["duplicate_of"].notna().iloc[0]:
        return [("merged", f"merged into {row['duplicate_of'].iloc[0]}; not scored", "")], None
    one = score_leads(leads, events, rules, now=now, tz=tz, lang=lang, model=model).take(row.index)
    zh = lang == "zh"
    lines: list[tuple[str, str, str]] = []
    for dim in rules.attributes:
        for i, s in enumerate(dim.scorers):
            pts = float(one.parts[part_name(dim, i)].iloc[0])
            what = s.column or "+".join(s.columns or [])
            value = ""
            if s.kind == "timeline":
                days = one.timeline.iloc[0]
                cell = _show(row[s.column].iloc[0]) if s.column in row else "(blank)"
                value = f"{cell} -> {'no date ahead' if pd.isna(days) else f'{days:.0f} days'}"
            elif s.kind in ("bands", "filled"):
                value = _show(row[s.column].iloc[0]) if s.column in row else "(blank)"
            elif s.kind == "keywords":
                text = _text_of(row, s.columns or []).iloc[0]
                hit = next((w for r in s.rules or [] for w in r.any if w.lower() in text), None)
                value = f"keyword {hit!r}" if hit else "no keyword"
            lines.append((dim.label(lang), f"{s.kind} on {what}: {value}", _fmt(pts)))
        lines.append((
            dim.label(lang), f"= {dim.combine} of the above, at most {dim.max:g}",
            _fmt(float(one.attributes[dim.key].iloc[0])),
        ))  # fmt: skip
    attr_total = float(one.attributes.iloc[0].sum())
    lines.append(
        ("attributes", "= the dimensions added up (the seeds' 100 points)", _fmt(attr_total))
    )
    part = "行为" if zh else "Behaviour"
    mine = one.events[one.events["lead_id"] == lead_id]
    half_life = rules.behaviour.half_life_days
    for _, ev in mine.iterrows():
        age = (pd.Timestamp(now) - ev["time"]) / pd.Timedelta(days=1)
        if age < 0:
            continue
        decayed = ev["points"] * 0.5 ** (age / half_life)
        lines.append((
            part,
            f"{ev['event']} on {ev['time']:%Y-%m-%d} ({age:.0f} days ago, {ev['points']:g} points halved every {half_life:g} days)",
            _fmt(decayed),
        ))  # fmt: skip
    cap = rules.behaviour.cap
    behaviour = float(one.behaviour.iloc[0])
    how = one.how
    if how["base"] == "blend":
        w = how
        lines.append((part, f"= the above added up, within -{cap:g}..+{cap:g}", _fmt(behaviour)))
        lines.append((
            "blend",
            f"attributes x {w['attributes']:.2f} + behaviour/{cap:g}x100 x {w['behaviour']:.2f}"
            + (f" + predicted x {w['predicted']:.2f}" if one.predicted is not None else " (no trained model)"),
            "",
        ))  # fmt: skip
        if one.predicted is not None:
            lines.append(("predicted", f"won probability {one.predicted.iloc[0]:.2f}", ""))
    else:
        b = rules.score.behaviour
        lines.append((
            part, f"= the above added up ({behaviour:.1f}, within -{cap:g}..+{cap:g}) x {b.per_point:g}, "
            f"moving the score at most +{b.up:g} / -{b.down:g}",
            _signed(one.behaviour_adj).iloc[0],
        ))  # fmt: skip
        if one.predicted is not None and one.predicted_adj is not None:
            pm = rules.score.predicted
            p, rate = float(one.predicted.iloc[0]), float(how["base_rate"])
            lines.append((
                "预测" if zh else "Predicted",
                f"won probability {p:.2f} against the history's {rate:.2f}: ({p:.2f} - {rate:.2f}) x 100 x {pm.per_point:g}, "
                f"at most +{pm.up:g} / -{pm.down:g}",
                _signed(one.predicted_adj).iloc[0],
            ))  # fmt: skip
        else:
            lines.append(("预测" if zh else "Predicted", "no trained model (`leadkit train`)", ""))
    computed = float(one.computed.iloc[0])
    lines.append(("score", one.detail.iloc[0] if one.source.iloc[0] != "closed" else
                  "= the parts above, within 0-100", _fmt(float(one.score.iloc[0]) if one.source.iloc[0] != "closed" else computed)))  # fmt: skip
    rules_grade = next(c for c in rules.grades if computed >= c.min)
    rules_action = next(c for c in rules.actions if computed >= c.min)
    source = one.source.iloc[0]
    if source == "closed":
        status = str(row["status"].iloc[0])
        lines.append((
            "grade", f"closed ({status}): keeps the grade, score {_show(one.score.iloc[0])} and detail it closed with "
            f"({one.detail.iloc[0]}); the rules would now give {rules_grade.label}",
            one.grade.iloc[0],
        ))  # fmt: skip
        lines.append(("action", "kept as it closed", one.action.iloc[0]))
    elif source == "override":
        why = row["override_reason"].iloc[0] if "override_reason" in row else None
        lines.append((
            "grade", f"{'人工等级' if zh else 'grade override'} set by a manager"
            + (f" ({why})" if isinstance(why, str) and why else "")
            + f"; the rules give {rules_grade.label} (score >= {rules_grade.min:g})",
            one.grade.iloc[0],
        ))  # fmt: skip
        lines.append(
            (
                "action",
                f"the action where grade {one.grade.iloc[0]}'s band starts",
                one.action.iloc[0],
            )
        )
    else:
        lines.append(("grade", f"score >= {rules_grade.min:g}", one.grade.iloc[0]))
        lines.append(("action", f"score >= {rules_action.min:g}", one.action.iloc[0]))
    met = []
    for key, points in rules.intent.parts.items():
        dim = next(d for d in rules.attributes if d.key == key)
        have = float(one.attributes[key].iloc[0])
        met.append(
            f"{dim.label(lang)} {_fmt(have)} {'>=' if have >= points - 1e-9 else '<'} {points:g}"
        )
    sheet_intent = row["intent"].iloc[0] if "intent" in row else None
    kept = (
        f"; the sheet's {sheet_intent} is kept"
        if isinstance(sheet_intent, str) and sheet_intent
        else ""
    )
    lines.append((
        "intent", f"{int(one.intent_parts.iloc[0])} of the parts met ({', '.join(met)}){kept}",
        one.intent.iloc[0],
    ))  # fmt: skip
    tags = one.tags.iloc[0]
    if isinstance(tags, str):
        lines.append(("tags", "keywords in " + ", ".join(rules.tags.columns), tags))
    return lines, one
