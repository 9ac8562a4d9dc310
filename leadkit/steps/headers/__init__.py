"""Header matching: which source column is which template column, by alias, similarity and content.

Saved maps per source live in `maps`."""

from leadkit.steps.headers.content import Content, content_of, name_scores, unit_of
from leadkit.steps.headers.maps import SavedMap, choose_map, suggested_map
from leadkit.steps.headers.match import Conflict, HeaderMatch, HeaderPlan, match_headers, recogniser
from leadkit.steps.headers.vocabulary import HOW_RANK, Vocabulary, pinyin, vocabulary

__all__ = [
    "HOW_RANK",
    "Conflict",
    "Content",
    "HeaderMatch",
    "HeaderPlan",
    "SavedMap",
    "Vocabulary",
    "choose_map",
    "content_of",
    "match_headers",
    "name_scores",
    "pinyin",
    "recogniser",
    "suggested_map",
    "unit_of",
    "vocabulary",
]
