"""Points into a 100-point score, a grade and the action to take; scores written to the leads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from leadkit.normalize import (
    clean_text,
    is_in,
    map_distinct,
)
from leadkit.rules.base import CLOSED_STATUSES
from leadkit.rules.columns import Say
from leadkit.rules.scoring import Cut, ScoringRules
from leadkit.steps.score.points import (
    _distinct_text,
    _keyword_pattern,
    attribute_parts,
    behaviour_points,
    events_by_lead,
)

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
    leads: pd.DataFrame, rules: ScoringRules, cleaned: dict[str, Any] | None = None
) -> pd.Series:
    """Existing tags plus the rule tags whose keywords appear; ;-joined, no repeats (`cleaned` as
    for `_distinct_text`)."""
    text = _distinct_text(leads, rules.tags.columns, cleaned)
    tags = (
        clean_text(leads["tags"]).fillna("")
        if "tags" in leads
        else pd.Series("", index=leads.index)
    )
    tags = tags.astype("str")
    for rule in rules.tags.rules:
        hit = text.contains(_keyword_pattern(rule.any))
        # only the rows whose text has the keywords are looked at: most have none, and joining
        # and searching every lead's tags for each rule was most of the time
        rows = leads.index[hit]
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
    cleaned: dict[str, Any] = {}  # text columns cleaned once for the scorers and the tags
    attrs, parts, days = attribute_parts(active, rules, reference, tz, cleaned)
    matched = events_by_lead(events, leads, rules, tz)
    behaviour = behaviour_points(matched, active, rules, reference)
    predicted, base_rate = None, 0.5
    if model is not None:
        from leadkit.steps.score.points import predict

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
