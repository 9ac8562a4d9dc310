"""The one place that reads the clock, so `--as-of` makes every command deterministic."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from leadkit.errors import UsageError


def _parse(as_of: str) -> datetime:
    try:
        return datetime.fromisoformat(as_of.strip())
    except ValueError:
        pass
    import pandas as pd  # other forms (2026/3/1 9:00 …); the CLI reads the clock before pandas

    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise UsageError(
            f"--as-of {as_of!r} is not a date or time (e.g. 2026-03-01T09:00)"
        ) from None
    if ts is pd.NaT:
        raise UsageError(f"--as-of {as_of!r} is not a date or time")
    return ts.to_pydatetime()


def now(tz: str, as_of: str | None = None) -> datetime:
    """The moment a command runs, as a naive wall-clock time in the workspace time zone."""
    if as_of is None:
        return datetime.now(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)
    moment = _parse(as_of)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    return moment
