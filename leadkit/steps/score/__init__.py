"""Scoring: attribute and behaviour points, the blend with the predictive model, grades and tags.

`explain` tells one lead's score line by line."""

from leadkit.steps.score.explain import explain
from leadkit.steps.score.grades import (
    Scored,
    apply_scores,
    blend,
    combine,
    intent_from_parts,
    ladder,
    score_leads,
    tags_for,
)
from leadkit.steps.score.points import (
    CATEGORICAL,
    arrival_features,
    attribute_parts,
    attribute_points,
    behaviour_points,
    event_kinds,
    event_leads,
    events_by_lead,
    part_name,
    predict,
    scorer_points,
    timeline_days,
)

__all__ = [
    "CATEGORICAL",
    "Scored",
    "apply_scores",
    "arrival_features",
    "attribute_parts",
    "attribute_points",
    "behaviour_points",
    "blend",
    "combine",
    "event_kinds",
    "event_leads",
    "events_by_lead",
    "explain",
    "intent_from_parts",
    "ladder",
    "part_name",
    "predict",
    "score_leads",
    "scorer_points",
    "tags_for",
    "timeline_days",
]
