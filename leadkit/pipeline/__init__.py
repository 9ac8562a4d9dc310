"""The library API: one function per command, each loading the book, running its steps, saving once.

The pipeline order is `leadkit.order`; `run`, the CLI's help and the demo all follow it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from leadkit.context import context
from leadkit.pipeline.book import (
    READING,
    READING_FILES,
    WRITING,
    current_leads,
    load,
    output_file,
    refresh_completeness,
    refresh_plans,
    stages,
    update_book,
    with_activities,
)
from leadkit.pipeline.intake import (
    ColumnMap,
    EventsOutcome,
    import_event_files,
    import_files,
    init,
    saved_maps,
    suggest_map,
    write_template,
)
from leadkit.pipeline.merging import DedupeOutcome, dedupe
from leadkit.pipeline.run import WRITING_STEPS, RunOutcome, check, redo, run, undo
from leadkit.pipeline.selling import (
    AssignOutcome,
    ScoreOutcome,
    assign,
    claim,
    explain_score,
    log_activity,
    log_feedback,
    recycle,
    score,
    train,
)
from leadkit.steps.pool import Neglect
from leadkit.steps.train import Training

if TYPE_CHECKING:
    from leadkit.pipeline.enriching import ENRICH_CACHE_KEEP, EnrichOutcome, enrich
    from leadkit.pipeline.reminders import (
        DueOutcome,
        due,
        item_keys,
        report,
        send_reminders,
        send_report,
        write_due,
    )
    from leadkit.steps.report import Report

# Imported when first asked for: `run`, `import`, `score` … never need them, and the reminders
# (mail, chat robots, the report) and enrich cost a tenth of a second of every start-up.
_LATER = {
    **dict.fromkeys(["ENRICH_CACHE_KEEP", "EnrichOutcome", "enrich"], "leadkit.pipeline.enriching"),
    **dict.fromkeys(
        ["DueOutcome", "due", "item_keys", "report", "send_reminders", "send_report", "write_due"],
        "leadkit.pipeline.reminders",
    ),
    "Report": "leadkit.steps.report",
}


def __getattr__(name: str) -> Any:
    if name in ("enriching", "reminders"):  # the submodules themselves (pipeline.enriching)
        return importlib.import_module(f"{__name__}.{name}")
    where = _LATER.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


__all__ = [
    "ENRICH_CACHE_KEEP",
    "READING",
    "READING_FILES",
    "WRITING",
    "WRITING_STEPS",
    "AssignOutcome",
    "ColumnMap",
    "DedupeOutcome",
    "DueOutcome",
    "EnrichOutcome",
    "EventsOutcome",
    "Neglect",
    "Report",
    "RunOutcome",
    "ScoreOutcome",
    "Training",
    "assign",
    "check",
    "claim",
    "context",
    "current_leads",
    "dedupe",
    "due",
    "enrich",
    "explain_score",
    "import_event_files",
    "import_files",
    "init",
    "item_keys",
    "load",
    "log_activity",
    "log_feedback",
    "output_file",
    "recycle",
    "redo",
    "refresh_completeness",
    "refresh_plans",
    "report",
    "run",
    "saved_maps",
    "score",
    "send_reminders",
    "send_report",
    "stages",
    "suggest_map",
    "train",
    "undo",
    "update_book",
    "with_activities",
    "write_due",
    "write_template",
]
