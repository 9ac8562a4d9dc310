"""`routing.yaml`: reps, routing rules, working hours and response deadlines."""

from __future__ import annotations

from datetime import date, time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from leadkit.rules.base import Strict

Level = Literal["manager", "senior", "junior"]
Strategy = Literal["fair", "round-robin", "load"]
BY = ("region", "industry", "grade", "round-robin", "load", "rules")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
GRADE_ORDER = {"S": 0, "A": 1, "B": 2, "C": 3}


class Rep(Strict):
    """A member of the sales team."""

    name: str = Field(min_length=1)
    email: str | None = None
    # the rep's user id on the chat service: DingTalk userId, Feishu open_id, Slack U…
    chat: str | None = None
    mobile: str | None = None  # for WeCom/DingTalk robots' @ by mobile
    level: Level = "junior"
    team: str | None = None
    regions: list[str] = Field(default_factory=list)
    provinces: list[str] = Field(default_factory=list)
    industries: list[str] = Field(default_factory=list)
    capacity: int = Field(default=50, ge=0)
    weight: float = Field(default=1.0, gt=0)
    active: bool = True
    away_from: date | None = None
    away_to: date | None = None

    @model_validator(mode="after")
    def _away(self) -> Rep:
        if (self.away_from is None) != (self.away_to is None):
            raise ValueError("give both away_from and away_to")
        if self.away_from and self.away_to and self.away_to < self.away_from:
            raise ValueError("away_to is before away_from")
        return self

    def available(self, on: date) -> bool:
        if not self.active:
            return False
        return not (self.away_from and self.away_to and self.away_from <= on <= self.away_to)


class Target(Strict):
    reps: list[str] | None = None
    level: Level | None = None
    team: str | None = None
    all: bool = False

    @model_validator(mode="after")
    def _one(self) -> Target:
        given = [k for k in ("reps", "level", "team") if getattr(self, k)] + (
            ["all"] if self.all else []
        )
        if len(given) != 1:
            raise ValueError("`to` names exactly one of reps, level, team or all")
        return self


class Rule(Strict):
    name: str | None = None
    when: dict[str, list[str] | float] = Field(default_factory=dict)
    to: Target
    strategy: Strategy = "fair"

    @field_validator("when")
    @classmethod
    def _conditions(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, value in v.items():
            numeric = key.endswith("_at_least")
            if numeric and isinstance(value, list):
                raise ValueError(f"{key} takes a number")
            if not numeric and not isinstance(value, list):
                raise ValueError(f"{key} takes a list of values, e.g. [华东, 华北]")
        return v


class WorkingHours(Strict):
    start: time
    end: time
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("working hours end before they start")
        return self


class RoutingRules(Strict):
    """`routing.yaml`."""

    team: list[Rep] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    sla_hours: dict[Literal["S", "A", "B", "C"], float]
    working_hours: WorkingHours | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RoutingRules:
        names = [r.name for r in self.team]
        if len(set(names)) != len(names):
            raise ValueError("rep names must be unique")
        teams = {r.team for r in self.team}
        for i, rule in enumerate(self.rules):
            unknown = [n for n in rule.to.reps or [] if n not in names]
            if unknown:
                raise ValueError(f"rule {i + 1}: unknown rep(s) {', '.join(unknown)}")
            if rule.to.team and rule.to.team not in teams:
                raise ValueError(f"rule {i + 1}: no rep is in team {rule.to.team!r}")
        missing = [g for g in ("S", "A", "B", "C") if g not in self.sla_hours]
        if missing:
            raise ValueError(f"sla_hours needs every grade (missing {', '.join(missing)})")
        return self

    def rep(self, name: str) -> Rep | None:
        return next((r for r in self.team if r.name == name), None)
