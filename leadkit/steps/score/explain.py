"""One lead's score explained line by line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from leadkit.rules.scoring import ScoringRules
from leadkit.steps.score.grades import Scored, _fmt, _show, _signed, score_leads
from leadkit.steps.score.points import _text_of, part_name

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
