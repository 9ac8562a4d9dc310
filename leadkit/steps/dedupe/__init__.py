"""Dedupe: prepare each lead's fields, find candidate pairs, compare them, cluster, merge.

The rules are `leadkit.rules.dedupe`; the review list and decisions live in `merge`."""

from leadkit.steps.dedupe.cluster import (
    Clusters,
    DedupeResult,
    cluster,
    find_duplicates,
    survivor_order,
)
from leadkit.steps.dedupe.compare import BlockingStats, candidate_pairs, compare
from leadkit.steps.dedupe.fields import (
    GUESS,
    HAN,
    PLACED,
    REGION,
    ROW_WISE,
    SURNAME,
    Prepared,
    prepare,
)
from leadkit.steps.dedupe.merge import REVIEW_DECISIONS, merge, read_decisions, review_table

__all__ = [
    "GUESS",
    "HAN",
    "PLACED",
    "REGION",
    "REVIEW_DECISIONS",
    "ROW_WISE",
    "SURNAME",
    "BlockingStats",
    "Clusters",
    "DedupeResult",
    "Prepared",
    "candidate_pairs",
    "cluster",
    "compare",
    "find_duplicates",
    "merge",
    "prepare",
    "read_decisions",
    "review_table",
    "survivor_order",
]
