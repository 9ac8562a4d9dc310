"""`report.yaml` and `channels.yaml`: periods, stages, RFM segments, the SLA and channels."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from leadkit.rules.base import Strict

# pandas only for hints: loading the rules (every command's start-up) must not load it
if TYPE_CHECKING:
    import pandas as pd

Period = Literal["week", "month", "quarter", "year"]
STAGES = ["new", "contacted", "qualified", "proposal", "negotiation", "won"]
RANK = {s: i for i, s in enumerate(STAGES)}


Level = Literal["high", "low"]
RFM_DIMENSIONS = {"recency_days": "r", "frequency": "f", "monetary": "m"}


class Segment(Strict):
    """One RFM segment: the high/low combination of R, F and M it takes, and its names."""

    r: Level
    f: Level
    m: Level
    zh: str
    en: str

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class RfmRules(Strict):
    """`report.yaml`'s `rfm:`: how R, F and M are scored and how scores make segments."""

    scores: int = Field(default=5, ge=2, le=10)
    thresholds: dict[Literal["recency_days", "frequency", "monetary"], list[float]] = Field(
        default_factory=dict
    )
    high_at: int = Field(default=4, ge=2)
    segments: dict[str, Segment]

    @model_validator(mode="after")
    def _consistent(self) -> RfmRules:
        if self.high_at > self.scores:
            raise ValueError(f"high_at {self.high_at} is above the top score ({self.scores})")
        for name, bounds in self.thresholds.items():
            if len(bounds) != self.scores - 1:
                raise ValueError(
                    f"thresholds.{name}: {self.scores} scores need {self.scores - 1} bounds, not {len(bounds)}"
                )
            if any(b <= a for a, b in pairwise(bounds)) or min(bounds) < 0:
                raise ValueError(f"thresholds.{name}: bounds must be ascending and not negative")
        # every customer falls in exactly one segment: each of the 8 combinations once
        seen: dict[tuple[str, str, str], str] = {}
        for key, seg in self.segments.items():
            combo = (seg.r, seg.f, seg.m)
            if combo in seen:
                raise ValueError(
                    f"segments {seen[combo]} and {key} are both r/f/m = {'/'.join(combo)}"
                )
            seen[combo] = key
        if len(seen) != 8:
            missing = [f"{r}/{f}/{m}" for r in ("high", "low") for f in ("high", "low")
                       for m in ("high", "low") if (r, f, m) not in seen]  # fmt: skip
            raise ValueError(f"segments: no segment for r/f/m = {', '.join(missing)}")
        return self

    def segment_of(self, r: str, f: str, m: str) -> str:
        return next(k for k, s in self.segments.items() if (s.r, s.f, s.m) == (r, f, m))


class ReportRules(Strict):
    """`report.yaml`."""

    stage_weights: dict[str, float] = Field(default_factory=dict)
    trend_periods: int = Field(default=6, ge=1, le=60)
    top_lost_reasons: int = Field(default=5, ge=1)
    # optional: a workspace's report.yaml from before RFM has none, and only `report --rfm` asks
    rfm: RfmRules | None = None


class ChannelsRules(Strict):
    """`channels.yaml`: what each channel costs per month."""

    spend: dict[str, dict[str, float]] = Field(default_factory=dict)

    def cost(self, source: str, start: pd.Timestamp, end: pd.Timestamp) -> float | None:
        """Spend of a channel over [start, end): whole months it touches, pro rata by days."""
        # here, not at the top: the CLI loads the rules before it needs pandas
        import pandas as pd

        table = self.spend.get(source)
        if not table:
            return None
        total = 0.0
        month = start.to_period("M")
        while month.start_time < end:
            days_in = month.days_in_month
            lo, hi = (
                max(start, month.start_time),
                min(end, month.end_time + pd.Timedelta(nanoseconds=1)),
            )
            share = (hi - lo) / pd.Timedelta(days=days_in)
            amount = table.get(str(month), table.get("monthly"))
            total += float(amount or 0) * share
            month += 1
        return total
