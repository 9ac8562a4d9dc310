"""`dedupe.yaml`: the fields compared, their scorers and weights, survivorship, the review band."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from leadkit.rules.base import Strict

Comparator = Literal[
    "exact", "normalized", "fuzzy", "person", "phone", "email", "company", "number", "date"
]
Scorer = Literal[
    "ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio", "WRatio", "QRatio"
]

AGREE, PARTIAL, DISAGREE, MISSING = 2, 1, 0, -1
BRANCH = re.compile(r"分公司|分部|办事处|分厂|分院|分店|分行|支行|branch", re.IGNORECASE)
DERIVED_KEYS = ("company_key", "email_domain")


class FieldRule(Strict):
    """One field compared between two records."""

    name: str
    column: str
    comparator: Comparator = "exact"
    scorer: Scorer = "ratio"
    agree_at: float = Field(default=100, ge=0, le=100)
    partial_at: float | None = Field(default=None, ge=0, le=100)
    tolerance: float = Field(default=0, ge=0)  # number: |a-b| <= tolerance; date: days
    # fuzzy: a regex of the characters dropped before comparing. Unset: all whitespace for the
    # character scorers; for token scorers (token_*) runs of whitespace become one space, since
    # their tokens are what they compare ("westbrook jake" vs "jake westbrook").
    normalize: str | None = None
    # person: a contact written as surname + title (王先生, 王总) is compatible with a full name of
    # that surname; one written by its sound (喻晶 / 喻静, a pinyin input slip) is partial too
    titles: list[str] = Field(default_factory=list)
    # company: the column holding each record's own place (city); a name that begins with it has
    # it dropped from the key, whether or not a region list knows the place
    places: str | None = None
    # company: two names that carry different regions (杭州方圆云 / 福州市方圆云, 正源（沈阳）/
    # 厦门正源) are two registrations, whatever their keys say
    regions_apart: bool = False
    # exact / normalized: the column of the record's phone. A value that is only where the
    # record's mobile number was issued (import fills a blank city that way, and a mobile is
    # often bought elsewhere) is a guess: it never counts against a match
    guessed_from: str | None = None
    agree: float = 0
    partial: float = 0
    disagree: float = 0

    @model_validator(mode="after")
    def _ordered(self) -> FieldRule:
        if self.partial_at is not None and self.partial_at > self.agree_at:
            raise ValueError("partial_at must not be above agree_at")
        if self.agree < self.partial:
            raise ValueError("agree points must not be below partial points")
        if (self.places is not None or self.regions_apart) and self.comparator != "company":
            raise ValueError("places and regions_apart are for the company comparator")
        if self.guessed_from is not None and self.comparator not in ("exact", "normalized"):
            raise ValueError("guessed_from is for the exact and normalized comparators")
        if self.normalize is not None:
            try:
                re.compile(self.normalize)
            except re.error as exc:
                raise ValueError(f"normalize {self.normalize!r} is not a regex: {exc}") from None
        return self


class SurvivorRule(Strict):
    """One survivorship criterion; exactly one of its keys is set."""

    prefer_filled: str | None = None
    rank: str | None = None
    order: list[str] | None = None
    earliest: str | None = None
    latest: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SurvivorRule:
        kinds = [k for k in ("prefer_filled", "rank", "earliest", "latest") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(
                "each survivor rule has exactly one of prefer_filled, rank, earliest, latest"
            )
        if (self.rank is None) != (self.order is None):
            raise ValueError("rank needs order (and order needs rank)")
        return self


class NoShared(Strict):
    """Evidence from fields taken together (see DedupeRules.no_shared)."""

    fields: list[str] = Field(min_length=1)
    points: float = Field(le=0)


class DedupeRules(Strict):
    """`dedupe.yaml`."""

    sheet: str = "leads"
    id_column: str = "lead_id"
    mark_column: str = "duplicate_of"
    fields: list[FieldRule]
    blocking: list[str]
    max_block: int = Field(default=40, ge=2)
    free_mail_domains: list[str] = Field(default_factory=list)
    match: float
    review: float
    strong: float
    max_cluster: int = Field(default=6, ge=2)
    survivor: list[SurvivorRule] = Field(default_factory=list)
    join: list[str] = Field(default_factory=list)
    sources_into: str | None = None
    status_column: str = "status"
    with_status: list[str] = Field(default_factory=list)
    # fields whose disagreement says "two different people": two records that disagree on one
    # never end up in one cluster, and a record matching both of them goes to a person
    conflict: list[str] = Field(default_factory=list)
    # ... unless it matches one of them better by this much: then it joins that one
    conflict_margin: float = Field(default=0.5, gt=0)
    # points added when every one of these fields is on both records and none agrees: two
    # records that share no phone and no e-mail were most likely written by two people
    no_shared: NoShared | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DedupeRules:
        problems = []
        if not self.review < self.match <= self.strong:
            problems.append("thresholds must satisfy review < match <= strong")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            problems.append("field names must be unique")
        known = set(names) | set(DERIVED_KEYS)
        for name in [*self.conflict, *(self.no_shared.fields if self.no_shared else [])]:
            if name not in names:
                problems.append(f"{name!r} is not one of the fields")
        for rule in self.blocking:
            for term in rule.split("+"):
                base = term.strip().split("[")[0]
                if base not in known:
                    problems.append(f"blocking key {rule!r}: unknown name {base!r}")
                if "[" in term and not re.fullmatch(r"[a-z_]+\[:\d+\]", term.strip()):
                    problems.append(f"blocking key {rule!r}: write a prefix as name[:n]")
        best = sum(max(f.agree, 0) for f in self.fields)
        if best < self.match:
            problems.append(f"no pair can reach match {self.match}: the fields add up to {best}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def by_name(self) -> dict[str, FieldRule]:
        return {f.name: f for f in self.fields}
