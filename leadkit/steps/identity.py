"""Identity of a source row, so that re-importing a file adds nothing and drops nothing.

A row's key covers every cell of the row as written, under its header (folded, so case and
full-width forms do not count): mapped and unmapped columns alike, and no matter how the header
matcher maps them, so a change of rules or maps does not make a file new. What does not count:

- the file's name, the sheet, the row's position and the order of the columns;
- empty cells (so trailing or added empty columns, and blank rows, change nothing);
- spaces around a cell;
- how another writer stores a number or a date: `1`, `1.0` and `1.00` are one number (to 15
  significant digits and 9 decimals, what Excel keeps and fastexcel reads), and a date or time is
  the number Excel stores for it (its serial: 2026-01-29 is 46051), so a sheet re-saved by
  LibreOffice or Excel, or a CSV opened and saved as .xlsx, keeps its keys. Text with a leading
  zero (`0012`) or more than 15 digits (an ID number) is kept exactly as text.

Two rows identical in every cell of one sheet are two rows the user typed: the first keeps the
plain key, the n-th gets `#n` after it, so both are imported the first time and both recognised
on re-import.

Keys are `v2:` and 32 hex digits (two independent 64-bit hashes). Books imported before hold
legacy keys (32 hex digits of the mapped cells only, `legacy_row_keys`); those still match and
are replaced by the new key of the row that matched them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.core.util.hashing import combine_hash_arrays  # what hash_pandas_object combines with

from leadkit.rules.base import fold_header

PREFIX = "v2:"
_HASH_KEYS = ("leadkit-row-v2-a", "leadkit-row-v2-b")
LEGACY_KEY = re.compile(r"[0-9a-f]{32}")
# Cells already canonical: whole numbers without a leading zero (most phone numbers, counts).
_PLAIN_INT = r"^-?[1-9][0-9]{0,14}$|^0$"
# Other numbers that may be written differently by another writer (no leading zero, no `+`).
_NUMBER = r"^-?(?:0|[1-9][0-9]*)?(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,3})?$"
_DATE = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(\.\d+)?)?)?"
)
_DATE_HINT = r"^\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}"
_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug absorbed)


def _number_text(value: float) -> str:
    return format(round(value, 9) + 0.0, ".15g")  # + 0.0: -0 is 0


def _canonical_number(text: str) -> str:
    digits = text.lstrip("-").split("e")[0].split("E")[0].replace(".", "").lstrip("0")
    if len(digits) > 15 or not any(ch.isdigit() for ch in text):
        return text  # beyond what a spreadsheet number holds: text, kept exactly
    return _number_text(float(text))


def _serial_text(micro: int) -> str:
    """The serial of a time `micro` microseconds after Excel's day 0, to 9 decimals, as
    `_number_text` writes a number. Exact integers (not a float's rounding), so a date in Arrow
    (`_dates_vectorised`) and one cell at a time agree; for serials below 131072 (years before
    2258) whole seconds round as the stored double does."""
    sign = "-" if micro < 0 else ""
    nanodays = (abs(micro) * 20 + 864) // 1728  # round(micro * 10 / 864), in integers
    whole, part = divmod(nanodays, 1_000_000_000)
    if part == 0:
        return f"{sign}{whole}" if whole else "0"
    return f"{sign}{whole}.{part:09d}".rstrip("0")


def _canonical_date(text: str) -> str:
    found = _DATE.fullmatch(text)
    if found is None:
        return text
    year, month, day, hour, minute, second, fraction = found.groups()
    try:
        when = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            round(float(fraction) * 1_000_000) if fraction else 0,
        )  # fmt: skip
    except ValueError:
        return text  # 2026-02-30 is text
    return _serial_text((when - _EPOCH) // timedelta(microseconds=1))


_DATE_PARTS = (
    r"^(?P<y>\d{4})[-/.年](?P<mo>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
    r"(?:[ T]+(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2})(?P<f>\.\d{1,6})?)?)?$"
)
_US_PER_DAY = 86_400_000_000
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_DAY_ZERO = 25569  # the serial of 1970-01-01


def _dates_vectorised(cells: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(canonical serial text, done) of date-like cells, in Arrow kernels.

    The serial is an exact integer of nanodays, as `_serial_text` makes it; cells this cannot do
    (no such day, before 1899-12-30, after year 4637) are left to `_canonical_date`.
    """
    parts = pc.extract_regex(cells, _DATE_PARTS)
    field = {name: parts.field(name) for name in ("y", "mo", "d", "h", "mi", "s", "f")}
    day = pc.binary_join_element_wise(
        field["y"], pc.utf8_lpad(field["mo"], 2, "0"), pc.utf8_lpad(field["d"], 2, "0"), "-"
    )
    stamp = pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True)

    def number(name: str, scale: int) -> np.ndarray:
        values = pc.if_else(pc.equal(field[name], ""), "0", field[name])
        return pc.cast(values, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False) * scale

    fraction = pc.utf8_rpad(pc.utf8_slice_codeunits(field["f"], 1), 6, "0")
    fraction = pc.if_else(pc.equal(field["f"], ""), "0", fraction)
    micro = pc.cast(fraction, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    seconds = pc.cast(stamp, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    clock = number("h", 3600) + number("mi", 60) + number("s", 1)
    total = (seconds + clock) * 1_000_000 + micro + _DAY_ZERO * _US_PER_DAY
    nanodays = (total * 20 + 864) // 1728  # round(total * 10 / 864), in integers
    whole, part = np.divmod(nanodays, 1_000_000_000)
    # strptime rolls 2026-02-30 over into March: a day past its month's length is no day
    year, month, mday = number("y", 1), number("mo", 1), number("d", 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    length = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    real = stamp.is_valid().to_numpy(zero_copy_only=False) & (mday >= 1) & (mday <= length)
    done = real & (total >= 0) & (whole < 1_000_000)
    done &= (number("h", 1) < 24) & (number("mi", 1) < 60) & (number("s", 1) < 60)
    decimals = pc.utf8_lpad(pc.cast(pa.array(part), pa.string()), 9, "0")
    decimals = pc.replace_substring_regex(decimals, "0+$", "")
    text = pc.if_else(
        pa.array(part == 0),
        pc.cast(pa.array(whole), pa.string()),
        pc.binary_join_element_wise(pc.cast(pa.array(whole), pa.string()), decimals, "."),
    )
    return text, done


def canonical_cells(cells: pa.Array) -> pa.Array:
    """Each (trimmed) cell text in the form two writers agree on (see the module)."""
    # Only a cell starting with a digit, `-` or `.` can be a number or a date.
    maybe = pc.match_substring_regex(cells, r"^[-.0-9]")
    if not pc.any(maybe).as_py():
        return cells
    some = cells.filter(maybe)
    plain = pc.match_substring_regex(some, _PLAIN_INT)
    number = pc.and_not(pc.match_substring_regex(some, _NUMBER), plain)
    if pc.any(number).as_py():
        texts = some.filter(number).to_pylist()
        some = pc.replace_with_mask(some, number, pa.array([_canonical_number(t) for t in texts]))
    date = pc.match_substring_regex(some, _DATE_HINT)
    if pc.any(date).as_py():
        text, done = _dates_vectorised(some.filter(date))
        if not done.all():
            rest = pa.array(~done)
            by_one = [_canonical_date(t) for t in some.filter(date).filter(rest).to_pylist()]
            text = pc.replace_with_mask(text, rest, pa.array(by_one, type=pa.string()))
        some = pc.replace_with_mask(some, date, text)
    return pc.replace_with_mask(cells, maybe, some)


def _column_names(headers: list[str]) -> list[str]:
    """Each column's folded header; a repeated header is told apart by its occurrence."""
    names, count = [], dict[str, int]()
    for header in headers:
        name = fold_header(header) or header
        count[name] = count.get(name, 0) + 1
        names.append(name if count[name] == 1 else f"{name}#{count[name]}")
    return names


def row_keys(frame: pd.DataFrame, headers: list[str]) -> pd.Series:
    """The key of every row of a source sheet (`frame` columns are positions, cells are text).

    Each column is dictionary-encoded once and only its distinct cells are canonicalised and
    hashed (pandas' `hash_array`, with two hash keys); a row's hash is the sum of its non-empty
    cells' hashes, which makes it independent of the columns' order and of empty columns.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    high = np.zeros(len(frame), dtype=np.uint64)
    low = np.zeros(len(frame), dtype=np.uint64)
    for pos, name in enumerate(_column_names(headers)):
        column = frame[pos]
        text = pc.utf8_trim_whitespace(pa.array(column.astype("str")))
        codes = pc.dictionary_encode(text.cast(pa.string()), null_encoding="encode")
        if isinstance(codes, pa.ChunkedArray):
            codes = codes.combine_chunks()
        distinct = codes.dictionary
        empty = pc.fill_null(pc.equal(distinct, ""), True).to_numpy(zero_copy_only=False)
        canonical = canonical_cells(pc.fill_null(distinct, ""))
        named = pc.binary_join_element_wise(pa.scalar(f"{name}\x1f"), canonical, "")
        cells = named.to_numpy(zero_copy_only=False)
        at = codes.indices.to_numpy(zero_copy_only=False)
        with np.errstate(over="ignore"):
            for total, hash_key in ((high, _HASH_KEYS[0]), (low, _HASH_KEYS[1])):
                hashed = pd.util.hash_array(cells, hash_key=hash_key, categorize=False)
                hashed[empty] = 0
                total += hashed[at]
    digits = np.column_stack([high, low]).astype(">u8").tobytes().hex()
    keys = pd.Series(
        np.frombuffer(digits.encode("ascii"), dtype="S32").astype("U32"),
        index=frame.index,
        dtype=object,
    )
    keys = PREFIX + keys
    repeat = keys.duplicated()
    if repeat.any():
        occurrence = keys.groupby(keys, sort=False).cumcount() + 1
        keys[repeat] = keys[repeat] + "#" + occurrence[repeat].astype(str)
    return keys


def legacy_row_keys(frame: pd.DataFrame, mapped: list[str]) -> pd.Series:
    """The key leadkit gave a row before `row_keys` (up to commit 040ce12), kept to recognise the
    rows of books imported then: two 64-bit hashes of the *mapped* cells only (`key=trimmed text`,
    pandas' `hash_array`, combined across columns in key order). Unmapped columns did not count,
    which made rows differing only there one row; never use it to make new keys.
    """
    if not mapped:
        return pd.Series([], dtype=object)
    encoded = []
    for key in sorted(mapped):
        text = pc.utf8_trim_whitespace(pa.array(frame[key].astype("str").fillna("")))
        codes = pc.dictionary_encode(text.cast(pa.string()))
        if isinstance(codes, pa.ChunkedArray):
            codes = codes.combine_chunks()
        cells = pc.binary_join_element_wise(pa.scalar(f"{key}="), codes.dictionary, "")
        encoded.append((codes.indices.to_numpy(), cells.to_numpy(zero_copy_only=False)))
    high, low = (
        combine_hash_arrays(
            (
                pd.util.hash_array(cells, hash_key=hash_key, categorize=False)[at]
                for at, cells in encoded
            ),
            len(encoded),
        )
        for hash_key in ("leadkit-rowkey-a", "leadkit-rowkey-b")
    )
    digits = np.column_stack([high, low]).astype(">u8").tobytes().hex()
    text = np.frombuffer(digits.encode("ascii"), dtype="S32").astype("U32")
    return pd.Series(text, index=frame.index, dtype=object)


def _places(files: pd.Series, rows: pd.Series) -> pd.Series:
    """Where each row came from, as one comparable text: file name and source row number."""
    numbers = pd.to_numeric(rows, errors="coerce").fillna(-1).astype("int64").astype(str)
    return files.astype(str) + "\x1f" + numbers


class SeenRows:
    """The keys in a book's Imports sheet, and which of them are legacy keys not yet migrated.

    It also says which rows found again are worth an `already` row (`worth_noting`): a source
    row's match is recorded once, and only where it tells something its record does not. The
    same row of the same file found again is its own record (the imported or rejected row names
    its lead); an `already` row per re-import made a daily re-import of a cumulative export grow
    the book by its whole length every day, and every later command read it all.
    """

    def __init__(self, imports: pd.DataFrame) -> None:
        keys = imports["row_key"].dropna().astype(str)
        legacy = keys.str.fullmatch(LEGACY_KEY.pattern)
        self.keys: set[str] = set(keys[~legacy])
        # legacy key -> the Imports sheet row holding it (old books hold each key once)
        self.legacy: dict[str, int] = {k: int(r) for r, k in keys[legacy].items()}
        self.migrated: dict[int, str] = {}  # Imports sheet row -> its row's new key
        self._imports = imports
        self._place: pd.Series | None = None  # key -> where its record's row came from
        self._noted: set[str] = set()  # keys that have an `already` row
        self._new_places: dict[str, str] = {}  # recorded by this import, or migrated

    def match(
        self, keys: pd.Series, legacy: pd.Series | None, file: str | None = None
    ) -> pd.Series:
        """Which rows are already in the book; a legacy key matches once, and is migrated to the
        new key of the first row that matched it. `file` (the source's name) notes where the
        rows not seen yet come from, for `worth_noting`."""
        seen = keys.isin(self.keys) if self.keys else pd.Series(False, index=keys.index)
        if legacy is not None and self.legacy:
            for row in legacy.index[~seen & legacy.isin(self.legacy.keys())]:
                old = legacy[row]
                sheet_row = self.legacy.pop(old, None)
                if sheet_row is not None:
                    self.migrated[sheet_row] = keys[row]
                    record = self._imports.loc[[sheet_row]]
                    self._new_places[keys[row]] = _places(record["file"], record["row"]).iloc[0]
                    seen[row] = True
        fresh = keys[~seen]
        self.keys.update(fresh)
        self.keys.update(self.migrated.values())
        if file is not None and len(fresh):
            where = _places(
                pd.Series(file, index=fresh.index), pd.Series(fresh.index, index=fresh.index)
            )
            self._new_places.update(zip(fresh.tolist(), where.tolist(), strict=True))
        return seen

    def worth_noting(self, keys: pd.Series, file: str) -> pd.Series:
        """Of rows found already in the book (`keys`, indexed by source row), those to record
        as `already`: found somewhere else than the row their record came from (another file,
        another row), and not recorded as found again before."""
        if keys.empty:
            return pd.Series(False, index=keys.index)
        if self._place is None:
            self._build_places()
        assert self._place is not None
        recorded = keys.map(self._place)
        if self._new_places:
            recorded = recorded.fillna(keys.map(self._new_places))
        here = _places(pd.Series(file, index=keys.index), pd.Series(keys.index, index=keys.index))
        note = (recorded != here) & ~keys.isin(self._noted) & ~keys.duplicated()
        self._noted.update(keys[note])
        return note

    def _build_places(self) -> None:
        sheet = self._imports
        keys = sheet["row_key"].astype(str)
        already = (sheet["outcome"] == "already").to_numpy()
        self._noted = set(keys[already])
        records = ~already & sheet["row_key"].notna().to_numpy()
        place = _places(sheet["file"][records], sheet["row"][records])
        place.index = keys[records].to_numpy()
        self._place = place[~place.index.duplicated()]


def collapse_already(imports: pd.DataFrame) -> pd.DataFrame:
    """An Imports sheet without the `already` rows that leadkit no longer writes (#12): a row
    found again at the place its record came from (same file, same row), and a row found again
    more than once (the first is kept). Books written before recorded a row per source row per
    re-import; the rows left are renumbered and each `already` row names its record's row anew.
    Returns the sheet itself when there is nothing to drop."""
    outcome = imports["outcome"]
    already = (outcome == "already").to_numpy()
    if not already.any():
        return imports
    keys = imports["row_key"].astype(str)
    place = _places(imports["file"], imports["row"])
    records = ~already & imports["row_key"].notna().to_numpy()
    first = pd.Series(place[records].to_numpy(), index=keys[records].to_numpy())
    first = first[~first.index.duplicated()]
    again = keys[already]
    same = again.map(first) == place[already]
    repeat = pd.Series(False, index=again.index)
    repeat[~same] = again[~same].duplicated()
    drop = again.index[(same | repeat).to_numpy()]
    if not len(drop):
        return imports
    kept = imports.drop(index=drop)
    kept.index = pd.RangeIndex(2, 2 + len(kept))
    kept.loc[kept["outcome"] == "already", "matched_row"] = np.nan
    resolve_already(kept)
    return kept


def matched_records(imports: pd.DataFrame, keys: pd.Series) -> tuple[pd.Series, pd.Series]:
    """For each of `keys`, the Imports sheet row that first recorded it (imported or rejected)
    and that row's lead_id: what a row found already in the book matched."""
    # Plain arrays and one reindex: `isin` with a set on an Arrow string column converts cell by
    # cell in Python (0.6 s of a 100k re-import).
    records = imports[(imports["outcome"] != "already").to_numpy()]
    rkeys = records["row_key"].to_numpy(dtype=object)
    first = ~pd.Series(rkeys).duplicated().to_numpy()
    index = pd.Index(rkeys[first])
    wanted = keys.to_numpy(dtype=object)
    where = pd.Series(records.index[first], index=index).reindex(wanted).to_numpy()
    lead = pd.Series(records["lead_id"].to_numpy(dtype=object)[first], index=index)
    return (
        pd.Series(where, index=keys.index),
        pd.Series(lead.reindex(wanted).to_numpy(), index=keys.index),
    )


def resolve_already(imports: pd.DataFrame) -> None:
    """Name, on each `already` row of an Imports sheet not yet resolved, the row it matched: the
    first imported or rejected row with its key (`matched_row`, a row number of the sheet) and
    that row's lead (`lead_id`)."""
    outcome = imports["outcome"]
    pending = (outcome == "already") & imports["matched_row"].isna()
    if not pending.any():
        return
    records = imports[outcome != "already"]
    keys = records["row_key"].astype(str)
    first = ~keys.duplicated()
    where = pd.Series(records.index[first], index=keys[first].to_numpy())
    lead = pd.Series(records["lead_id"][first].to_numpy(), index=keys[first].to_numpy())
    wanted = imports.loc[pending, "row_key"].astype(str)
    imports.loc[pending, "matched_row"] = wanted.map(where).astype(float).to_numpy()
    imports.loc[pending, "lead_id"] = wanted.map(lead).to_numpy()
