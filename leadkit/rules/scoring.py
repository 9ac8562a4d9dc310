"""`scoring.yaml`: attribute dimensions, behaviour events with decay, the blend, grade cuts, tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from leadkit.rules.base import Strict, fold_header

# pandas only for hints: loading the rules (every command's start-up) must not load it
if TYPE_CHECKING:
    import pandas as pd

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
