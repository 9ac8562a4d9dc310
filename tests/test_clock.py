"""`--as-of`: ISO forms parse without pandas and agree with it; other forms go through pandas."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadkit import clock
from leadkit.errors import UsageError


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2026-03-01T09:00", dt.datetime(2026, 3, 1, 9, 0)),
        ("2026-03-01 09:05:30", dt.datetime(2026, 3, 1, 9, 5, 30)),
        ("2026-03-01", dt.datetime(2026, 3, 1)),
        (" 2026-03-01T09:00 ", dt.datetime(2026, 3, 1, 9, 0)),
        ("2026-03-01T01:00Z", dt.datetime(2026, 3, 1, 9, 0)),  # UTC -> Asia/Shanghai
        ("2026-03-01T09:00+08:00", dt.datetime(2026, 3, 1, 9, 0)),
        ("2026/3/1 9:05", dt.datetime(2026, 3, 1, 9, 5)),  # not ISO: through pandas
        ("March 1 2026 9am", dt.datetime(2026, 3, 1, 9, 0)),
    ],
)
def test_as_of_forms(as_of, expected):
    assert clock.now("Asia/Shanghai", as_of) == expected


@pytest.mark.parametrize("as_of", ["soon", "2026-13-45", ""])
def test_a_bad_as_of_is_a_usage_error(as_of):
    with pytest.raises(UsageError, match="--as-of"):
        clock.now("Asia/Shanghai", as_of)


def test_without_as_of_it_is_the_wall_clock_in_the_zone():
    before = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
    now = clock.now("Asia/Shanghai")
    assert now.tzinfo is None and now.microsecond == 0
    assert abs((now - before).total_seconds()) < 5


@given(
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.sampled_from(["T", " "]),
    st.sampled_from(["minutes", "seconds", "microseconds"]),
    st.sampled_from([None, -5, 0, 8]),
)
def test_iso_text_means_what_pandas_says(moment, sep, spec, offset):
    if offset is not None:
        moment = moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=offset)))
    text = moment.isoformat(sep=sep, timespec=spec)
    ts = pd.Timestamp(text)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Asia/Shanghai").tz_localize(None)
    assert clock.now("Asia/Shanghai", text) == ts.to_pydatetime()


def test_spans_are_timedeltas_with_nat_for_none_and_say_nothing():
    import warnings

    import numpy as np
    import pandas as pd

    from leadkit.clock import spans

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas 3.0.0's to_timedelta warned on NaN
        got = spans(pd.Series([1.5, np.nan, 0], index=[7, 8, 9]), "D")
    assert got.index.tolist() == [7, 8, 9]
    assert got[7] == pd.Timedelta(hours=36) and got[9] == pd.Timedelta(0)
    assert pd.isna(got[8])
