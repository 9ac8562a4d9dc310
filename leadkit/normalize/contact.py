"""Phones and e-mails into one canonical form, with where a number is from."""

from __future__ import annotations

import contextlib
import os
import re
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadkit.files import replacing
from leadkit.normalize.text import extract, to_halfwidth

# --------------------------------------------------------------------------------------------
# Phones

_MOBILE = r"^(?:\+?86|0086)?(?P<mobile>1[3-9]\d{9})$"
_LANDLINE = (
    r"^(?:(?:\+?86|0086)0?)?(?P<area>0(?:10|2\d|[3-9]\d\d))(?P<number>[2-9]\d{7})"
    r"(?:(?:转|分机|[eE][xX][tT][nN]?|[xX]|#)(?P<ext>[0-9]{1,6}))?$"
)
_EXCEL_FLOAT = r"^[0-9]+(?:\.0+)?$|^[0-9](?:\.[0-9]+)?[eE]\+?[0-9]+$"
_EXTENSION = re.compile(r"\s*(?:转|分机|ext\.?|extn\.?|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)


def _excel_number_to_digits(text: str) -> str:
    try:
        return str(int(Decimal(text)))
    except (InvalidOperation, ValueError, OverflowError):
        return text


@cache
def _parse_other_phone(text: str) -> str | None:
    """A non-mobile number via libphonenumber: CN landlines as 0AA-NNNNNNNN[转EXT], others E.164."""
    import phonenumbers

    ext_match = _EXTENSION.search(text)
    core = text[: ext_match.start()] if ext_match else text
    ext = ext_match.group(1) if ext_match else None
    try:
        number = phonenumbers.parse(core, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if number.country_code == 86:
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        parts = national.split()
        if parts and parts[0].startswith("0"):
            formatted = f"{parts[0]}-{''.join(parts[1:])}"
        else:
            formatted = "".join(parts)
    else:
        formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{formatted}转{ext}" if ext else formatted


def _canonical(values: pd.Series, pattern: str) -> np.ndarray:
    """Cells already in the form a normaliser would give (text matching `pattern`)."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
        return np.zeros(len(values), dtype=bool)
    hit = pc.match_substring_regex(pa.array(values.astype("str")), pattern)
    return hit.fill_null(False).to_numpy(zero_copy_only=False)


def _unless_canonical(
    values: pd.Series, pattern: str, normalise: Any
) -> tuple[pd.Series, pd.Series]:
    """`normalise` applied only to the cells not yet in canonical form: book columns leadkit
    wrote itself are (nearly) all canonical, and a regex check costs a tenth of normalising."""
    done = _canonical(values, pattern)
    if not done.any():
        return normalise(values)
    value = values.astype(object)
    valid = pd.Series(done, index=values.index)
    # a blank cell normalises to NaN, invalid, whatever its kind of missing (None, NA): set so
    # here, not sent through the normaliser (the blanks were all the e-mails a column of its
    # own form had left to do, 0.015 s at 100k)
    blank = ~done & np.asarray(values.isna(), dtype=bool)
    todo = ~done & ~blank
    if blank.any():
        value = value.copy()
        value[blank] = np.nan
    if todo.any():
        rest, ok = normalise(values[todo])
        value = value.copy()
        value[todo] = rest.to_numpy()
        valid[todo] = ok.to_numpy()
    return value, valid


_CANONICAL_PHONE = (
    r"^(?:1[3-9][0-9]{9}|0(?:10|2[0-9]|[3-9][0-9][0-9])-[2-9][0-9]{7}(?:转[0-9]{1,6})?)$"
)


def normalize_phone(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Phones in one form; returns (value, valid).

    Mainland mobiles become 11 digits (from Excel floats, scientific notation, +86/0086/86
    prefixes, spaces or dashes); landlines `010-88886666` with `转801` for an extension; other
    countries E.164. An unusable value is kept as it was (trimmed) and marked invalid.
    """
    return _unless_canonical(values, _CANONICAL_PHONE, _normalize_phone)


def _normalize_phone(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    raw = to_halfwidth(values)
    text = raw.copy()
    floaty = text.str.match(_EXCEL_FLOAT, na=False) & text.str.contains(r"[.eE]", na=False)
    if floaty.any():
        text[floaty] = text[floaty].map(_excel_number_to_digits)
    compact = text.str.replace(r"[ \t\r\n\-().]", "", regex=True)
    mobile = extract(compact, _MOBILE)["mobile"]
    result = mobile.copy()
    # The common landline shape (area code + 8 digits, maybe an extension) by pattern; the library
    # takes the rest. 010/02x have 3-digit area codes, the others 4.
    landline = extract(compact, _LANDLINE)
    is_landline = landline["area"].notna() & mobile.isna()
    if is_landline.any():
        ext = ("转" + landline["ext"][is_landline]).fillna("")
        result[is_landline] = (
            landline["area"][is_landline] + "-" + landline["number"][is_landline] + ext
        )
    rest = result.isna() & text.notna()
    if rest.any():
        parsed = text[rest].map(_parse_other_phone)
        result[rest] = parsed
    valid = result.notna()
    result = result.where(valid, raw)
    return result, valid


@cache
def _geocode_table() -> dict[str, str]:
    """Mainland prefix -> 中文 place, from libphonenumber's offline geocoder.

    Importing the geocoder's data costs ~0.5 s a run, so the mainland part is kept in a per-user
    cache keyed by the library's version; any problem with the cache falls back to the library.
    """
    import pickle

    import phonenumbers

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cached = base / "leadkit" / f"geocode-cn-{phonenumbers.__version__}.pickle"
    try:
        with open(cached, "rb") as fh:
            table = pickle.load(fh)
        if isinstance(table, dict) and table:
            return table
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    from phonenumbers.geodata import GEOCODE_DATA

    table = {k: v["zh"] for k, v in GEOCODE_DATA.items() if k.startswith("86") and "zh" in v}
    with contextlib.suppress(OSError), replacing(cached) as tmp, open(tmp, "wb") as fh:
        pickle.dump(table, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return table


@cache
def _geocode_arrays() -> tuple[pd.Series, pd.Series]:
    """The prefix table as two columns, for Arrow lookups (a dict would become a Series per call)."""
    table = _geocode_table()
    return pd.Series(list(table), dtype="str"), pd.Series(list(table.values()), dtype=object)


@cache
def _geocode_by_length() -> dict[int, tuple[pd.Series, pd.Series]]:
    """The prefix table split by key length, 9 down to 4 (4: every key up to 4 characters).

    A head cut to `length` characters can equal only a key of that length (or a shorter one, if
    the number is shorter: that key is found again at its own length, the same place), so each
    pass of `phone_location` hashes its own part of the table, not all 130k keys six times
    (0.2 s of a 100k import)."""
    prefixes, places = _geocode_arrays()
    lengths = prefixes.str.len().to_numpy()
    parts = {}
    for length in (9, 8, 7, 6, 5, 4):
        keep = lengths <= length if length == 4 else lengths == length
        parts[length] = (
            prefixes[keep].reset_index(drop=True),
            places[keep].reset_index(drop=True),
        )
    return parts


# --------------------------------------------------------------------------------------------
# E-mail

_EMAIL = r"^[a-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}$"


# valid and in final form: lower-case, no blanks, no doubled dots
_CANONICAL_EMAIL = r"^(?:[a-z0-9!#$%&'*+/=?^_`{|}~\-]+\.?)+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}$"


def normalize_email(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """E-mails lower-cased and trimmed (`mailto:` and `<…>` dropped); returns (value, valid)."""
    return _unless_canonical(values, _CANONICAL_EMAIL, _normalize_email)


def _normalize_email(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = to_halfwidth(values)
    cleaned = (
        text.str.casefold()
        .str.replace(r"^mailto:", "", regex=True)
        .str.replace(r"^.*<([^<>]+)>$", r"\1", regex=True)
        .str.replace("。", ".")
        .str.replace(r"[ \t\r\n]+", "", regex=True)
    )
    valid = cleaned.str.fullmatch(_EMAIL, na=False) & ~cleaned.str.contains("..", regex=False)
    return cleaned.where(valid, text), valid
