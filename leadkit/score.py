"""Score step: a 0-100 score from attributes, behaviour and a learnt prediction; grade, action, tags.

Everything is vectorised over the Leads frame; `explain` re-derives one lead's score rule by rule
from the same functions, so what it prints is what `score` computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from leadkit.normalize import (
    clean_text,
    lookup,
    map_distinct,
    normalize_email,
    normalize_phone,
    parse_datetime,
    positions,
)
from leadkit.rules import Strict, fold_header

# ---------------------------------------------------------------------------------------------
# Rules


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
                if isinstance(value, str) and value.lower() != "none":
                    raise ValueError(f"phrase {phrase!r}: give days as a number, or none")
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


class TagRule(Strict):
    tag: str
    any: list[str] = Field(min_length=1)


class Tags(Strict):
    columns: list[str]
    rules: list[TagRule]


class Predictive(Strict):
    min_per_class: int = Field(default=20, ge=2)
    folds: int = Field(default=5, ge=2, le=20)


class ScoringRules(Strict):
    """`scoring.yaml`."""

    attributes: list[Dimension]
    behaviour: Behaviour
    blend: Blend
    grades: list[Cut]
    actions: list[Cut]
    intent: list[Cut]
    tags: Tags
    predictive: Predictive = Field(default_factory=Predictive)

    @field_validator("grades")
    @classmethod
    def _grades(cls, v: list[Cut]) -> list[Cut]:
        return _ladder(v, {"S", "A", "B", "C"}, "grades")

    @field_validator("actions")
    @classmethod
    def _actions(cls, v: list[Cut]) -> list[Cut]:
        return _ladder(v, {"contact_now", "nurture", "hold"}, "actions")

    @field_validator("intent")
    @classmethod
    def _intent(cls, v: list[Cut]) -> list[Cut]:
        return _ladder(v, {"A", "B", "C"}, "intent")

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
        return self

    def event_lookup(self) -> dict[str, str]:
        table = {}
        for key, rule in self.behaviour.events.items():
            for name in (key, *rule.names):
                table[fold_header(name)] = key
        return table


# ---------------------------------------------------------------------------------------------
# Attribute points


def _keyword_pattern(words: list[str]) -> str:
    return "|".join(re.escape(w.lower()) for w in sorted(words, key=len, reverse=True))


def _text_of(leads: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The named columns joined, lower-cased, for keyword search."""
    parts = [clean_text(leads[c]).fillna("") for c in columns if c in leads.columns]
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
    """Days from `reference` to the planned purchase: a date, or a phrase anchored at capture time.

    NaN where nothing is known or the plan says there is none.
    """
    column = scorer.column or ""
    values = leads[column] if column in leads.columns else pd.Series(np.nan, index=leads.index)
    text = clean_text(values)
    dates, is_date = parse_datetime(values, tz)
    anchor = (
        pd.to_datetime(leads.get("created_at"), errors="coerce")
        if "created_at" in leads
        else reference
    )
    anchor = anchor.where(anchor.notna(), reference)
    phrases = {
        fold_header(k): (None if isinstance(v, str) or v is None else float(v))
        for k, v in (scorer.phrases or {}).items()
    }
    folded = map_distinct(text, fold_header)
    days_phrase = folded.map(phrases).astype(float)
    unmatched = folded.notna() & ~folded.isin(phrases.keys()) & ~is_date
    if unmatched.any() and phrases:
        pattern = "(" + "|".join(re.escape(k) for k in sorted(phrases, key=len, reverse=True)) + ")"
        found = folded[unmatched].str.extract(pattern, expand=False)
        days_phrase[unmatched] = found.map(phrases)
    days_phrase = pd.to_numeric(days_phrase, errors="coerce")
    deadline = anchor + pd.to_timedelta(days_phrase, unit="D")
    deadline = deadline.where(~is_date, dates)
    days = (deadline - reference) / pd.Timedelta(days=1)
    # a plan more than a month overdue is stale: no urgency points; a little late is "now"
    days = days.where(days >= -30).clip(lower=0)
    return days.astype(float)


def scorer_points(leads: pd.DataFrame, scorer: Scorer, reference: pd.Series, tz: str) -> pd.Series:
    """Points one scorer gives each lead."""
    if scorer.kind == "bands":
        values = _numbers(leads, scorer.column or "")
        conds = [values >= b.min for b in scorer.bands]  # type: ignore[union-attr]
        return pd.Series(np.select(conds, [b.points for b in scorer.bands], 0.0), index=leads.index)  # type: ignore[union-attr]
    if scorer.kind == "timeline":
        days = timeline_days(leads, scorer, reference, tz)
        conds = [days <= b.within_days for b in scorer.bands]  # type: ignore[union-attr]
        return pd.Series(np.select(conds, [b.points for b in scorer.bands], 0.0), index=leads.index)  # type: ignore[union-attr]
    if scorer.kind == "keywords":
        text = _text_of(leads, scorer.columns or [])
        conds = [
            text.str.contains(_keyword_pattern(r.any), regex=True).to_numpy() for r in scorer.rules
        ]  # type: ignore[union-attr]
        return pd.Series(np.select(conds, [r.points for r in scorer.rules], 0.0), index=leads.index)  # type: ignore[union-attr]
    filled = (
        clean_text(leads[scorer.column]).notna()
        if scorer.column in leads.columns
        else pd.Series(False, index=leads.index)
    )
    return filled.astype(float) * float(scorer.points or 0)


def attribute_points(
    leads: pd.DataFrame, rules: ScoringRules, reference: pd.Series, tz: str
) -> pd.DataFrame:
    """Points per attribute dimension (columns = dimension keys)."""
    out = {}
    for dim in rules.attributes:
        parts = pd.concat([scorer_points(leads, s, reference, tz) for s in dim.scorers], axis=1)
        total = parts.max(axis=1) if dim.combine == "max" else parts.sum(axis=1)
        out[dim.key] = total.clip(0, dim.max)
    return pd.DataFrame(out, index=leads.index)


# ---------------------------------------------------------------------------------------------
# Behaviour points


def events_by_lead(
    events: pd.DataFrame, leads: pd.DataFrame, rules: ScoringRules, tz: str
) -> pd.DataFrame:
    """Events matched to active leads (by lead_id, else phone, else e-mail; merged -> survivor)."""
    cols = ["lead_id", "time", "event", "points"]
    if events.empty:
        return pd.DataFrame(columns=cols)
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
    by_name = rules.event_lookup()
    kind = map_distinct(events["event"], lambda e: by_name.get(fold_header(str(e))))
    points = kind.map({k: r.points for k, r in rules.behaviour.events.items()})
    when, _ = parse_datetime(events["time"], tz)
    frame = pd.DataFrame({"lead_id": lead_id, "time": when, "event": kind, "points": points})
    return frame.dropna(subset=["lead_id", "time", "points"])


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
    """Scores and their parts for a set of leads (index = the Leads rows)."""

    attributes: pd.DataFrame
    behaviour: pd.Series
    predicted: pd.Series | None
    score: pd.Series
    detail: pd.Series
    grade: pd.Series
    action: pd.Series
    intent: pd.Series
    tags: pd.Series
    weights: dict[str, float] = field(default_factory=dict)


def blend(
    attrs: pd.Series, behaviour: pd.Series, predicted: pd.Series | None, rules: ScoringRules
) -> tuple[pd.Series, pd.Series, dict[str, float]]:
    """(score, predicted adjustment, weights): weights renormalised when there is no model."""
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


def tags_for(leads: pd.DataFrame, rules: ScoringRules) -> pd.Series:
    """Existing tags plus the rule tags whose keywords appear; ;-joined, no repeats."""
    text = _text_of(leads, rules.tags.columns)
    tags = (
        clean_text(leads["tags"]).fillna("")
        if "tags" in leads
        else pd.Series("", index=leads.index)
    )
    tags = tags.astype("str")
    for rule in rules.tags.rules:
        hit = text.str.contains(_keyword_pattern(rule.any), regex=True)
        has = (";" + tags + ";").str.contains(";" + re.escape(rule.tag) + ";", regex=True)
        add = hit & ~has
        tags = tags.where(~add, (tags + ";" + rule.tag).str.lstrip(";"))
    return tags.astype(object).where(tags != "")


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
    """Score the active leads (merged rows, with duplicate_of set, are left out)."""
    active = leads[leads["duplicate_of"].isna()] if "duplicate_of" in leads else leads
    reference = pd.Series(pd.Timestamp(now), index=active.index)
    attrs = attribute_points(active, rules, reference, tz)
    matched = events_by_lead(events, leads, rules, tz)
    behaviour = behaviour_points(matched, active, rules, reference)
    predicted = None
    if model is not None:
        from leadkit.train import predict

        predicted = predict(model, active, attrs, behaviour, rules, reference, tz)
    attr_total = attrs.sum(axis=1)
    score, adjustment, weights = blend(attr_total, behaviour, predicted, rules)
    labels = [d.label(lang) for d in rules.attributes]
    detail = pd.Series("", index=active.index, dtype="str")
    for label, dim in zip(labels, rules.attributes, strict=True):
        detail = detail + label + _fmt_all(attrs[dim.key]) + "/"
    detail = detail + ("行为" if lang == "zh" else "Behaviour ") + _fmt_all(behaviour)
    if predicted is not None:
        magnitude = _fmt_all(adjustment.abs())
        sign = ("+" + magnitude).where(adjustment >= 0, "-" + magnitude)
        detail = detail + "/" + ("预测" if lang == "zh" else "Predicted ") + sign
    return Scored(
        attributes=attrs, behaviour=behaviour, predicted=predicted, score=score,
        detail=detail.astype(object), grade=ladder(score, rules.grades),
        action=ladder(score, rules.actions), intent=ladder(score, rules.intent),
        tags=tags_for(active, rules), weights=weights,
    )  # fmt: skip


def apply_scores(
    leads: pd.DataFrame, scored: Scored, *, now: datetime, command: str = "score"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write the scores into the Leads frame; returns it and the Log rows (grade changes)."""
    out = leads.copy()
    rows = scored.score.index
    for column in ("score_detail", "grade", "next_action", "tags", "intent"):
        out[column] = out[column].astype(object)
    old_grade = out.loc[rows, "grade"]
    out["score"] = pd.to_numeric(out["score"], errors="coerce").astype(float)
    out.loc[rows, "score"] = scored.score.to_numpy()
    out.loc[rows, "score_detail"] = scored.detail.to_numpy()
    out.loc[rows, "grade"] = scored.grade.to_numpy()
    out.loc[rows, "next_action"] = scored.action.to_numpy()
    out.loc[rows, "tags"] = scored.tags.to_numpy()
    no_intent = out.loc[rows, "intent"].isna()
    out.loc[no_intent[no_intent].index, "intent"] = scored.intent[no_intent].to_numpy()
    changed = old_grade.notna() & (old_grade != scored.grade)
    first = old_grade.isna()
    log = pd.DataFrame({
        "time": pd.Timestamp(now), "command": command, "lead_id": out.loc[changed[changed].index, "lead_id"],
        "column": "grade", "old": old_grade[changed], "new": scored.grade[changed],
    })  # fmt: skip
    if first.any():
        summary = pd.DataFrame([{
            "time": pd.Timestamp(now), "command": command, "lead_id": None, "column": "grade",
            "old": None, "new": f"{int(first.sum())} lead(s) graded for the first time",
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

    The lines are computed by the scoring code itself, so they are what `score` computed."""
    row = leads[leads["lead_id"].astype(str) == lead_id]
    if row.empty:
        raise KeyError(lead_id)
    if "duplicate_of" in row and row["duplicate_of"].notna().iloc[0]:
        return [("merged", f"merged into {row['duplicate_of'].iloc[0]}; not scored", "")], None
    reference = pd.Series(pd.Timestamp(now), index=row.index)
    lines: list[tuple[str, str, str]] = []
    for dim in rules.attributes:
        parts = []
        for s in dim.scorers:
            pts = float(scorer_points(row, s, reference, tz).iloc[0])
            what = s.column or "+".join(s.columns or [])
            value = ""
            if s.kind == "timeline":
                days = timeline_days(row, s, reference, tz).iloc[0]
                value = f"{_show(row[s.column].iloc[0])} -> {'no date' if pd.isna(days) else f'{days:.0f} days'}"
            elif s.kind in ("bands", "filled") and s.column in row:
                value = _show(row[s.column].iloc[0])
            elif s.kind == "keywords":
                text = _text_of(row, s.columns or []).iloc[0]
                hit = next((w for r in s.rules or [] for w in r.any if w.lower() in text), None)
                value = f"keyword {hit!r}" if hit else "no keyword"
            parts.append(pts)
            lines.append((dim.label(lang), f"{s.kind} on {what}: {value}", _fmt(pts)))
        total = max(parts) if dim.combine == "max" else sum(parts)
        lines.append(
            (
                dim.label(lang),
                f"= {dim.combine} of the above, at most {dim.max:g}",
                _fmt(min(max(total, 0), dim.max)),
            )
        )
    matched = events_by_lead(events, leads, rules, tz)
    mine = matched[matched["lead_id"] == lead_id]
    for _, ev in mine.iterrows():
        age = (pd.Timestamp(now) - ev["time"]) / pd.Timedelta(days=1)
        if age < 0:
            continue
        decayed = ev["points"] * 0.5 ** (age / rules.behaviour.half_life_days)
        lines.append(
            (
                "行为" if lang == "zh" else "Behaviour",
                f"{ev['event']} on {ev['time']:%Y-%m-%d} ({age:.0f} days ago, {ev['points']:g} points halved every {rules.behaviour.half_life_days:g} days)",
                _fmt(decayed),
            )
        )
    scored = score_leads(row, events, rules, now=now, tz=tz, lang=lang, model=model)
    w = scored.weights
    lines.append(
        (
            "blend",
            f"attributes x {w['attributes']:.2f} + behaviour/{rules.behaviour.cap:g}x100 x {w['behaviour']:.2f}"
            + (
                f" + predicted x {w['predicted']:.2f}"
                if scored.predicted is not None
                else " (no trained model)"
            ),
            "",
        )
    )
    if scored.predicted is not None:
        lines.append(("predicted", f"won probability {scored.predicted.iloc[0]:.2f}", ""))
    lines.append(("score", scored.detail.iloc[0], _fmt(scored.score.iloc[0])))
    lines.append(
        (
            "grade",
            next(f"score >= {c.min:g}" for c in rules.grades if scored.score.iloc[0] >= c.min),
            scored.grade.iloc[0],
        )
    )
    lines.append(
        (
            "action",
            next(f"score >= {c.min:g}" for c in rules.actions if scored.score.iloc[0] >= c.min),
            scored.action.iloc[0],
        )
    )
    tags = scored.tags.iloc[0]
    if isinstance(tags, str):
        lines.append(("tags", "keywords in " + ", ".join(rules.tags.columns), tags))
    return lines, scored
