"""`pool.yaml`: when a neglected lead goes back to the pool, and who may claim it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from leadkit.rules.base import CLOSED_STATUSES, Strict

Grade = Literal["S", "A", "B", "C"]


class PoolRules(Strict):
    """`pool.yaml`."""

    first_contact_grace_hours: float = Field(ge=0)
    no_follow_up_days: dict[Grade, float]
    exempt_status: list[str] = Field(default_factory=lambda: list(CLOSED_STATUSES))
    max_recycles: int = Field(default=3, ge=1)
    manager_tag: str = "需经理处理"
    warn_days: float = Field(default=2, ge=0)
    cooldown: bool = True
    claim_limit_per_day: int = Field(default=5, ge=0)
