"""`followup.yaml`: cadence by grade, stage limits, plans per stage, the second channel, feedback."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from leadkit.rules.base import Strict

Grade = Literal["S", "A", "B", "C"]
STATUSES = ("new", "contacted", "qualified", "proposal", "negotiation", "won", "lost")


class FeedbackRules(Strict):
    """`followup.yaml` `feedback:`: when a piece of customer feedback must be closed out."""

    # the seeds: 处理完成后 3 天内回访客户确认; 0 would make every feedback overdue as it is logged
    close_out_days: Annotated[float, Field(gt=0)] = 3
    # 客户确认结果 values that leave the feedback open (a blank one always does)
    still_open: list[str] = Field(default_factory=lambda: ["待确认", "未确认", "pending"])


OpenStage = Literal["new", "contacted", "qualified", "proposal", "negotiation"]
Channel = Literal["phone", "email", "meeting", "wechat"]


class StagePlan(Strict):
    """One stage's plan (the seeds' 客户跟进计划表): what to reach, what to confirm, what should
    come of it, and what to do when it does not."""

    goal: str = Field(min_length=1)
    confirm: list[str] = Field(default_factory=list)  # BANT points to confirm in this stage
    expected: str = ""
    fallback: str = ""


class SecondChannel(Strict):
    """The weekly second channel of a grade's cadence (S: a meeting every week)."""

    channels: list[Channel] = Field(min_length=1)
    every_days: Annotated[float, Field(gt=0)] = 7


class FollowupRules(Strict):
    """`followup.yaml`."""

    # days to the next follow-up: zero or fewer would make every lead due at once, forever
    cadence_days: dict[Grade, Annotated[float, Field(gt=0)]]
    due_soon_hours: float = Field(default=4, ge=0)
    escalate_after_hours: float = Field(default=4, ge=0)
    # days a lead of each grade may stay in an open stage (the seeds' 跟进计划表: S at most 3
    # days, C at most 7 in 初步接洽); a stage or grade left out has no limit
    stage_limit_days: dict[
        Literal["contacted", "qualified", "proposal", "negotiation"],
        dict[Grade, Annotated[float, Field(gt=0)]],
    ] = Field(default_factory=dict)
    feedback: FeedbackRules = Field(default_factory=FeedbackRules)
    second_channel: dict[Grade, SecondChannel] = Field(default_factory=dict)
    plans: dict[OpenStage, StagePlan] = Field(default_factory=dict)
