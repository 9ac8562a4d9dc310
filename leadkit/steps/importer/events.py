"""Events files (visits, downloads, e-mail clicks) into the book's behaviour sheet."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from leadkit.bookio import Book, RawTable
from leadkit.normalize import (
    clean_text,
    normalize_email,
    normalize_phone,
    parse_datetime,
)
from leadkit.rules.columns import ColumnsRules
from leadkit.steps.identity import (
    SeenRows,
    legacy_row_keys,
    row_keys,
)
from leadkit.steps.importer.leads import _migrate
from leadkit.steps.importer.plan import _map_headers


def import_events(
    book: Book, tables: list[RawTable], columns: ColumnsRules, *, now: datetime, tz: str
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Rows for the Events sheet (behaviour: page views, downloads …) and their provenance.

    Returns (events, imports rows, rows already imported). Rows without a time or an event, or
    with no lead_id, phone or e-mail to tie them to a lead, are skipped and counted as rejects.
    A row already in the book is counted, and gets an `already` Imports row only as
    `SeenRows.worth_noting` says; a legacy key it matched is migrated to its new key in the
    book's Imports sheet.
    """
    seen = SeenRows(book.sheets["imports"])
    parts, provenance, already = [], [], 0
    for table in tables:
        names, _ = _map_headers(table, columns, {}, sheet="events")
        frame = table.frame.rename(columns=names)
        mapped = [k for k in names.values() if k in columns.sheets["events"].by_key]
        keys = row_keys(table.frame, table.headers)
        legacy = legacy_row_keys(frame, mapped) if seen.legacy else None
        fresh = ~seen.match(keys, legacy, table.file.name)
        already += int((~fresh).sum())
        noted = keys[~fresh][seen.worth_noting(keys[~fresh], table.file.name)]
        provenance.append(pd.DataFrame({
            "row_key": noted, "time": now, "file": table.file.name,
            "row": noted.index.astype(float), "outcome": "already", "lead_id": np.nan,
        }))  # fmt: skip
        frame, keys = frame[fresh], keys[fresh]
        events = pd.DataFrame(index=frame.index)
        events["time"] = parse_datetime(frame["time"], tz)[0] if "time" in frame else pd.NaT
        for key, normaliser in (("phone", normalize_phone), ("email", normalize_email)):
            events[key] = normaliser(frame[key])[0] if key in frame else np.nan
        for key in ("lead_id", "event", "detail"):
            events[key] = clean_text(frame[key]) if key in frame else np.nan
        usable = events["time"].notna() & events["event"].notna()
        usable &= events[["lead_id", "phone", "email"]].notna().any(axis=1)
        parts.append(events[usable])
        provenance.append(pd.DataFrame({
            "row_key": keys, "time": now, "file": table.file.name, "row": frame.index.astype(float),
            "outcome": np.where(usable, "imported", "rejected"), "lead_id": np.nan,
        }))  # fmt: skip
    events = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    imports = pd.concat(provenance, ignore_index=True) if provenance else pd.DataFrame()
    _migrate(book, seen.migrated)
    return events, imports, already
