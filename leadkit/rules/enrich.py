"""`enrich.yaml`: which company columns enrich fills, from which list columns, and how sure it must be."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, model_validator

from leadkit.rules.base import Strict, fold_header


@dataclass(frozen=True)
class EnrichRules:
    """How sure a match must be: fuzzy scores (0-100) to fill and to send to review."""

    fill_at: float = 92
    review_at: float = 80
    block_chars: int = 2


class EnrichConfig(Strict):
    """`rules/enrich.yaml`: thresholds, the lead columns a match fills, the list's header aliases."""

    fill_at: float = Field(92, ge=0, le=100)
    review_at: float = Field(80, ge=0, le=100)
    block_chars: int = Field(2, ge=1)
    fill: list[str] = Field(default_factory=list)
    columns: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sane(self) -> EnrichConfig:
        if self.review_at > self.fill_at:
            raise ValueError("review_at must not be above fill_at (review is for the less sure)")
        if "company" not in self.columns and "credit_code" not in self.columns:
            raise ValueError("columns: name the list's company or credit_code headers")
        return self

    @property
    def engine(self) -> EnrichRules:
        return EnrichRules(
            fill_at=self.fill_at, review_at=self.review_at, block_chars=self.block_chars
        )

    def header_keys(self, headers: list[str]) -> dict[int, str]:
        """Position -> column key for the list's headers this file names (first one wins)."""
        known = {
            fold_header(label): key
            for key, aliases in self.columns.items()
            for label in (key, *aliases)
        }
        out: dict[int, str] = {}
        for i, header in enumerate(headers):
            key = known.get(fold_header(str(header)))
            if key is not None and key not in out.values():
                out[i] = key
        return out
