"""Import: source tables into the book's leads, each row normalised, identified and kept or rejected.

Events files (behaviour) import through `events`."""

from leadkit.steps.importer.events import import_events
from leadkit.steps.importer.leads import apply_import, import_tables
from leadkit.steps.importer.plan import (
    FileSummary,
    ImportResult,
    Warning_,
    completeness,
    looks_like_events,
    plan_headers,
)

__all__ = [
    "FileSummary",
    "ImportResult",
    "Warning_",
    "apply_import",
    "completeness",
    "import_events",
    "import_tables",
    "looks_like_events",
    "plan_headers",
]
