"""Whole-column helpers over Arrow: distinct values mapped once, lookups, cell texts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _factorizable(values: pd.Series) -> pd.Series:
    """Arrow text and floats as they are (they factorize natively); anything else as objects."""
    if pd.api.types.is_float_dtype(values.dtype) or (
        pd.api.types.is_string_dtype(values.dtype) and values.dtype != object
    ):
        return values
    return values.astype(object)


def map_distinct(values: pd.Series, fn: Any) -> pd.Series:
    """`fn` applied once per distinct value, then spread back (for Python-only transforms)."""
    codes, uniques = pd.factorize(_factorizable(values), use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)  # filled one by one: fn may return tuples
    for i, u in enumerate(uniques):
        mapped[i] = fn(u)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def is_in(values: pd.Series, pool: Any) -> pd.Series:
    """`values.isin(pool)` for text, by Arrow's hash set (pandas loops in Python for Arrow text)."""
    wanted = pool if isinstance(pool, pd.Series) else pd.Series(list(pool), dtype=object)
    hit = pc.is_in(pa.array(values.astype("str")), value_set=pa.array(wanted.astype("str")))
    return pd.Series(hit.fill_null(False).to_numpy(zero_copy_only=False), index=values.index)


def positions(keys: pd.Series, wanted: pd.Series, *, unique: bool = False) -> np.ndarray:
    """Row position of the first key equal to each `wanted` text, -1 where none (Arrow hash join).

    `unique` says the keys are known to be distinct and present, which saves checking.
    """
    text = keys.astype("str")
    first = (
        np.ones(len(keys), dtype=bool) if unique else (keys.notna() & ~text.duplicated()).to_numpy()
    )
    at = pc.index_in(pa.array(wanted.astype("str")), value_set=pa.array(text).filter(first))
    at = at.to_numpy(zero_copy_only=False)
    found = ~np.isnan(at)
    out = np.full(len(wanted), -1, dtype=np.int64)
    out[found] = np.flatnonzero(first)[at[found].astype(np.int64)]
    return out


def lookup(
    keys: pd.Series, values: pd.Series, wanted: pd.Series, *, unique: bool = False
) -> pd.Series:
    """`values` at the first row whose key equals each `wanted` text (NaN where none).

    `Series.map(dict)` would call Python once per cell.
    """
    at = positions(keys, wanted, unique=unique)
    found = np.append(values.to_numpy(dtype=object), np.nan)[at]  # -1 takes the NaN
    return pd.Series(found, index=wanted.index, dtype=object)


def cell_text(value: Any) -> str | None:
    """One cell as text for the Log and joined values: blank -> None, 12.0 -> "12", dates to minutes."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cell_texts(values: pd.Series) -> pd.Series:
    """`cell_text` for a column (vectorised where the column is plain text already)."""
    if values.dtype == object:  # (is_string_dtype is true of every object column: look inside)
        plain = pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    else:
        plain = pd.api.types.is_string_dtype(values.dtype)
    out = values.astype("str") if plain else values.map(cell_text)
    out = out.astype(object)
    return out.where(values.notna() & out.notna(), None)
