"""Formula neutralising: the one function every text cell leadkit writes into a workbook passes.

A cell whose text starts with `=`, `+`, `-` or `@` (also full-width ＝ ＋ － ＠, a leading tab or
CR, or such a character after leading blanks) is text in the .xlsx leadkit writes, but it runs as
a formula once the sheet is saved as CSV and opened again, or once a person retypes it (OWASP,
"CSV Injection"). Following OWASP, such text gets a leading apostrophe, stored as part of the
text: it survives a CSV export, where Excel's own quote-prefix (a cell style, not a character)
would be lost. Text made only of digits, blanks, signs, brackets, dots and commas (`-5`,
`+86 138 1234 5678`, `(0755) 8888-1234`) is left alone: it cannot call a function or a DDE
server, and an apostrophe would spoil it.

Reading a book back, `restore` takes exactly that apostrophe off again, so leadkit always works on
the user's own text (a rep called `@alice` in routing.yaml matches the Owner cell `'@alice`), and
saving again adds nothing: `neutralise(restore(x)) == x` for every cell leadkit wrote.

Both are whole-column Arrow string kernels (RE2); a column with nothing to do is returned as it came.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PREFIX = "'"

# Written as the characters themselves: RE2 (Arrow's regex engine) rejects Python's \u escapes.
_BLANKS = " \t\r\n\u00a0\u3000"
_TRIGGERS = "=+\\-@\uff1d\uff0b\uff0d\uff20"
RISKY = f"^(?:[\t\r]|[{_BLANKS}]*[{_TRIGGERS}])"
NUMBERLIKE = f"^[{_BLANKS}]*[+\\-]?[0-9{_BLANKS}\\-().,]+$"


def _as_arrow(values: pd.Series) -> pa.Array | None:
    """The column's text cells as an Arrow string array (null where not text), or None when the
    column cannot hold text (numbers, dates)."""
    dtype = values.dtype
    if not pd.api.types.is_object_dtype(dtype):
        return pa.array(values.array) if pd.api.types.is_string_dtype(dtype) else None
    try:
        return pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed cells (numbers beside text): only the text ones can run.
        text = values.map(lambda v: v if isinstance(v, str) else None)
        return pa.array(text.to_numpy(), type=pa.string(), from_pandas=True)


# Every risky cell starts with one of these (a blank or a trigger): a cheap first test, since
# RISKY's Unicode classes make RE2 slow (0.4 s over a 100k Leads sheet; the test is a tenth).
_FIRST = pa.array(list(_BLANKS + _TRIGGERS.replace("\\", "")), type=pa.string())


def _needs(arr: pa.Array) -> pa.Array:
    starts = pc.is_in(pc.utf8_slice_codeunits(arr, 0, 1), value_set=_FIRST)
    if not pc.any(starts).as_py():
        return starts
    # the regexes on those cells only (a column of `+86 …` phones starts so, but few others)
    if isinstance(arr, pa.ChunkedArray):
        arr, starts = arr.combine_chunks(), starts.combine_chunks()
    some = arr.filter(starts)
    risky = pc.match_substring_regex(some, RISKY)
    if pc.any(risky).as_py():
        risky = pc.and_(risky, pc.invert(pc.match_substring_regex(some, NUMBERLIKE)))
    return pc.replace_with_mask(starts, starts, risky)


def _mask(flags: pa.Array, index: pd.Index) -> pd.Series | None:
    if not pc.any(flags).as_py():
        return None
    return pd.Series(pc.fill_null(flags, False).to_numpy(zero_copy_only=False), index=index)


def neutralise(values: pd.Series) -> pd.Series:
    """The column with every text cell that would run as a formula prefixed with an apostrophe.

    Idempotent; non-text cells, plain numbers and phone-like text are left alone.
    """
    arr = _as_arrow(values)
    if arr is None:
        return values
    mask = _mask(_needs(arr), values.index)
    if mask is None:
        return values
    out = values.copy()
    out[mask] = PREFIX + values[mask].astype(str)
    return out


def restore(values: pd.Series) -> pd.Series:
    """The column as the user typed it: the apostrophe `neutralise` added, taken off again."""
    arr = _as_arrow(values)
    if arr is None:
        return values
    quoted = pc.starts_with(arr, PREFIX)
    if not pc.any(quoted).as_py():
        return values
    rest = pc.utf8_slice_codeunits(arr, 1)
    mask = _mask(pc.and_(quoted, _needs(rest)), values.index)
    if mask is None:
        return values
    out = values.copy()
    out[mask] = values[mask].astype(str).str.slice(1)
    return out


def neutralise_names(names: Iterable[object]) -> list[str]:
    """Header cells (column names) through the same function."""
    return neutralise(pd.Series([str(n) for n in names], dtype=object)).tolist()


def restore_names(names: Iterable[object]) -> list[str]:
    """Header cells read back, as the user typed them."""
    return restore(pd.Series([str(n) for n in names], dtype=object)).tolist()


def neutralise_frame(frame: pd.DataFrame, *, keep: Iterable[str] = ()) -> pd.DataFrame:
    """Every text cell and header of a sheet about to be written; columns in `keep` (leadkit's own
    fixed vocabulary) are left as they are."""
    kept = set(keep)
    columns = [
        col if name in kept else neutralise(col)
        for name, (_, col) in zip(frame.columns, frame.items(), strict=True)
    ]
    out = pd.concat(columns, axis=1) if columns else frame.copy()
    out.columns = neutralise_names(frame.columns)
    return out


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A sheet leadkit wrote, read back: cells and headers as the user typed them."""
    columns = [restore(col) for _, col in frame.items()]
    out = pd.concat(columns, axis=1) if columns else frame.copy()
    out.columns = restore_names(frame.columns)
    return out
