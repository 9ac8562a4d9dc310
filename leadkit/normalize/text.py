"""Text: half-width, invisible characters, quantities and money, enum values."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadkit.normalize.columns import _factorizable

# --------------------------------------------------------------------------------------------
# Text

# Threads for independent column work: Arrow's string kernels release the GIL.
WORKERS = min(4, os.cpu_count() or 1)

# Patterns given to pandas' .str methods avoid \s, \d and \w: with them pandas runs Python's re
# per cell on non-ASCII (Chinese) text instead of Arrow's vectorised RE2. Character ranges are
# written as the characters themselves (not raw-string \u escapes, which RE2 rejects, again
# sending pandas to Python's re); tests/test_normalize.py checks every pattern compiles in RE2.
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALFWIDTH[0x3000] = 0x20  # ideographic space
_INVISIBLE = {0x200B: None, 0x200C: None, 0x200D: None, 0xFEFF: None, 0x00A0: 0x20}
_HALF_AND_CLEAN = {**_HALFWIDTH, **_INVISIBLE}
_CLEAN = dict(_INVISIBLE)


def as_text(values: pd.Series) -> pd.Series:
    """Any column as strings, with empty and blank cells as missing (NA)."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
        values = values.astype(object)
    text = values.astype("str")
    text = text.where(values.notna())
    text = text.str.strip()
    return text.mask(text == "")


_NEEDS_HALFWIDTH = "[\uff01-\uff5e\u3000\u200b-\u200d\ufeff\u00a0]"
_NEEDS_CLEAN = "[\u200b-\u200d\ufeff\u00a0]"


def _translate(text: pd.Series, table: dict[int, int | None], needs: str) -> pd.Series:
    """`text` (as_text's: trimmed, blanks missing) translated, trimmed again, blank as missing.

    str.translate runs in Python per cell; most cells need nothing, and finding those is
    vectorised. Only the translated cells are trimmed and blanked again: the others are as
    as_text left them (trimming all of 1M names again cost 0.05 s)."""
    todo = text.str.contains(needs, regex=True, na=False)
    if todo.any():
        text = text.copy()
        done = text[todo].str.translate(table).str.strip()
        text[todo] = done.mask(done == "")
    return text


def to_halfwidth(values: pd.Series) -> pd.Series:
    """Full-width letters, digits, punctuation and spaces to their ASCII forms; trimmed."""
    return _translate(as_text(values), _HALF_AND_CLEAN, _NEEDS_HALFWIDTH)


def clean_text(values: pd.Series) -> pd.Series:
    """Free text trimmed, invisible characters dropped, blank as missing; wording untouched."""
    return _translate(as_text(values), _CLEAN, _NEEDS_CLEAN)


def extract(text: pd.Series, pattern: str, numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """Named groups of `pattern` per cell, vectorised in Arrow (pandas' own extract loops in Python).

    Groups in `numeric` come back as floats; a missing match or an empty group is missing.
    """
    arr = pa.array(text.astype("str"))
    found = pc.extract_regex(arr, pattern)
    out: dict[str, object] = {}
    for i, field in enumerate(found.type):
        col = pc.struct_field(found, [i])
        col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        if field.name in numeric:
            out[field.name] = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        else:
            out[field.name] = col.to_numpy(zero_copy_only=False).astype(object)
    return pd.DataFrame(out, index=text.index)


# --------------------------------------------------------------------------------------------
# Numbers with units

_QUANTITY = (
    r"^(?:约|大约|approx\.?)?\s*(?P<a>\d+(?:\.\d+)?)\s*(?:(?:-|~|至|到)\s*(?P<b>\d+(?:\.\d+)?))?"
    r"\s*(?P<unit>亿|万|w|千|k|元)?\s*(?:元|人民币|rmb|cny|人|名|员工)?\s*(?:以上|以下|左右|\+)?$"
)
_UNIT_FACTOR = {"亿": 1e8, "万": 1e4, "w": 1e4, "千": 1e3, "k": 1e3, "元": 1.0}


def parse_quantity(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers written the way people write them: (absolute value, unit factor or NaN if none).

    `10万` -> (100000, 1e4); `1,200` -> (1200, NaN); `50w` -> (500000, 1e4); `¥8万元` -> (80000, 1e4);
    `100-500人` -> (300, NaN): a range counts as its midpoint.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float), pd.Series(np.nan, index=values.index)
    text = (
        to_halfwidth(values)
        .str.lower()
        .str.replace(r"[¥￥,， \t\r\n]|^(?:rmb|cny|人民币)", "", regex=True)
    )
    parts = extract(text, _QUANTITY, numeric=("a", "b"))
    a, b = parts["a"], parts["b"]
    number = ((a + b) / 2).where(b.notna(), a)
    factor = parts["unit"].map(_UNIT_FACTOR).astype(float)
    absolute = number * factor.fillna(1.0)
    return absolute, factor


def parse_money(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Money in the template's unit, 万元 (10k CNY); a bare number is taken as 万元 already."""
    absolute, factor = parse_quantity(values)
    wan = (absolute / 1e4).where(factor.notna(), absolute)
    present = as_text(values).notna() if values.dtype == object else values.notna()
    return wan.round(4), wan.notna() | ~present


def parse_count(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Counts such as employees: `1,200`, `1.2万`, `100-500人` (midpoint); returns (value, ok)."""
    absolute, _ = parse_quantity(values)
    present = as_text(values).notna() if values.dtype == object else values.notna()
    return absolute.round(), absolute.notna() | ~present


# --------------------------------------------------------------------------------------------
# Enums


_BRACKETED = re.compile(r"\s*[(（\[【][^)）\]】]*[)）\]】]\s*")


def map_enum(values: pd.Series, lookup: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """Labels in either language (or an alias) to the option key; returns (key or raw, known).

    Work is per distinct value (an enum column has a handful), spread back with factorize.
    """
    from leadkit.rules.base import fold_header

    codes, uniques = pd.factorize(_factorizable(values), use_na_sentinel=True)
    texts = [str(u).translate(_CLEAN).strip() or None for u in uniques]
    keys = [lookup.get(fold_header(t)) if t else None for t in texts]
    # "展会(数博会)": a listed value with a detail in brackets is that value
    keys = [
        k if k is not None or not t else lookup.get(fold_header(_BRACKETED.sub("", t)))
        for k, t in zip(keys, texts, strict=True)
    ]
    shown = np.array(
        [k if k is not None else t for k, t in zip(keys, texts, strict=True)] + [None], dtype=object
    )
    known_u = np.array(
        [k is not None or t is None for k, t in zip(keys, texts, strict=True)] + [True]
    )
    # code -1 (missing) picks the trailing None / True
    out = pd.Series(shown[codes], index=values.index, dtype=object)
    return out, pd.Series(known_u[codes], index=values.index)
