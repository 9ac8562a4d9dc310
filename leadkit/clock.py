"""The one place that reads the clock, so `--as-of` makes every command deterministic."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from leadkit.errors import UsageError


def now(tz: str, as_of: str | None = None) -> datetime:
    """The moment a command runs, as a naive wall-clock time in the workspace time zone."""
    if as_of is None:
        return datetime.now(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise UsageError(
            f"--as-of {as_of!r} is not a date or time (e.g. 2026-03-01T09:00)"
        ) from None
    if ts is pd.NaT:
        raise UsageError(f"--as-of {as_of!r} is not a date or time")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(ZoneInfo(tz)).tz_localize(None)
    return ts.to_pydatetime()
