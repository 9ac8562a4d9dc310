"""The one place that reads the clock, so `--as-of` makes every command deterministic."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from leadkit.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

# Every date leadkit accepts or writes lies in these years: inside Excel's calendar (1900-9999)
# and pandas' nanosecond range (1677-2262), so no date can leave a book a later command can't read.
FIRST_YEAR, LAST_YEAR = 1900, 2200


def _parse(as_of: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(as_of.strip())
    except ValueError:
        pass
    import pandas as pd  # other forms (2026/3/1 9:00 …); the CLI reads the clock before pandas

    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise UsageError(
            f"{option} {as_of!r} is not a date or time (e.g. 2026-03-01T09:00)"
        ) from None
    if ts is pd.NaT:
        raise UsageError(f"{option} {as_of!r} is not a date or time")
    return ts.to_pydatetime()


def now(tz: str, as_of: str | None = None, *, option: str = "--as-of") -> datetime:
    """The moment a command runs (or the time an `option` names), naive, in the workspace zone."""
    if as_of is None:
        return datetime.now(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)
    moment = _parse(as_of, option)
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise UsageError(
            f"{option} {as_of!r} is outside the years leadkit keeps ({FIRST_YEAR}-{LAST_YEAR})"
        )
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    return moment


def spans(amounts: pd.Series, unit: str) -> pd.Series:
    """`amounts` (floats, NaN for none) as timedeltas of `unit`, NaT where there is none."""
    import pandas as pd

    # pandas 3.0.0 casts NaN to int64 inside to_timedelta and warns on stderr (noise under -q)
    amounts = amounts.astype(float)
    return pd.to_timedelta(amounts.fillna(0), unit=unit).where(amounts.notna())
