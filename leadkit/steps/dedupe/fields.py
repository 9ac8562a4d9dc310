"""Each lead's compared fields prepared once: folded, keyed, with their place and person parts."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadkit.normalize import (
    WORKERS,
    clean_text,
    company_key,
    company_key_and_region,
    drop_own_place,
    mobile_cities,
    normalize_email,
    normalize_phone,
)
from leadkit.rules.base import fold_header
from leadkit.rules.dedupe import AGREE, DERIVED_KEYS, DISAGREE, PARTIAL, DedupeRules, FieldRule

# ---------------------------------------------------------------------------------------------
# Prepare


def _fuzzy_form(values: pd.Series, f: FieldRule) -> pd.Series:
    """Lower-cased text with the field's `normalize` characters dropped (see FieldRule)."""
    text = clean_text(values).str.lower()
    if f.normalize is not None:
        text = text.str.replace(f.normalize, "", regex=True)
    elif f.scorer.startswith("token_"):
        text = text.str.replace(r"\s+", " ", regex=True).str.strip()
    else:
        text = text.str.replace(r"\s+", "", regex=True)
    # a value left empty by normalize is blank, not a match with every other empty one
    return text.where(text.str.len() > 0).astype(object)


SURNAME = ":surname"
PLACED = ":placed"
REGION = ":region"  # prepared region a company name carries (regions_apart)
HAN = ":han"  # prepared Han-only key of a company name with Latin letters in it
GUESS = ":guess"  # prepared phones of a field's guessed_from column  # prepared key of a company field with the record's own place dropped  # prepared key of a person field's surname when written as surname + title


def _titled_surname(text: pd.Series, titles: list[str]) -> pd.Series:
    """The surname of a contact written as surname + title (王先生 -> 王, 欧阳总 -> 欧阳), else None."""
    if not titles:
        return pd.Series(None, index=text.index, dtype=object)
    words = "|".join(re.escape(t) for t in sorted(titles, key=len, reverse=True))
    found = text.astype("str").str.extract(rf"^([\u3400-\u9fff]{{1,2}}?)(?:{words})$")[0]
    return found.where(text.notna())


def _person_levels(
    prepared: dict[str, np.ndarray], f: FieldRule, left: np.ndarray, right: np.ndarray,
    level: np.ndarray, blank: Callable[[str], np.ndarray] | None = None,
) -> None:  # fmt: skip
    """Person field: surname + title against a name, and homophones, over the ratio's levels.

    `blank(key)` says which records have no value under a prepared key (compare's, worked out
    once per record); without it, pd.isna over the pairs' values."""
    from leadkit.steps.headers import pinyin

    if blank is None:
        blank = lambda key: np.asarray(pd.isna(prepared[key]), dtype=bool)  # noqa: E731
    text, surnames = prepared[f.name], prepared[f.name + SURNAME]
    titled_rec = ~blank(f.name + SURNAME)
    ta, tb = titled_rec[left], titled_rec[right]
    sa, sb = surnames[left], surnames[right]
    both = ta & tb
    fits = np.asarray(both & (sa == sb), dtype=bool)
    one_a, one_b = np.flatnonzero(ta & ~tb), np.flatnonzero(tb & ~ta)
    named = ~blank(f.name)
    words = pa.array(np.where(named, text, None), type=pa.string())
    if one_a.size or one_b.size:
        # whether the other side's name begins with the titled side's surname (one or two
        # characters, as _titled_surname takes them): its first one and two characters, once
        # per record, against the surname (a loop over the pairs with one titled side was
        # 0.3 s at 100k leads of 王先生s)
        head1 = pc.utf8_slice_codeunits(words, 0, 1).to_numpy(zero_copy_only=False)
        head2 = pc.utf8_slice_codeunits(words, 0, 2).to_numpy(zero_copy_only=False)
        # (each surname's length in Arrow: a Python loop over every record was 0.05 s at 100k)
        size = pc.utf8_length(pa.array(surnames, type=pa.string(), from_pandas=True))
        size = size.fill_null(0).to_numpy(zero_copy_only=False)

        def starts(rows: np.ndarray, owner: np.ndarray, other: np.ndarray) -> np.ndarray:
            k, s = size[owner[rows]], surnames[owner[rows]]
            first = np.where(k == 1, head1[other[rows]], head2[other[rows]])
            return np.asarray((k > 0) & (first == s), dtype=bool)

        fits[one_a] = starts(one_a, left, right)
        fits[one_b] = starts(one_b, right, left)
    titled = ta | tb
    level[titled & ~fits & (level != AGREE)] = DISAGREE
    level[titled & fits & (level != AGREE)] = PARTIAL
    # the same sounds, character for character: a typing slip, not another person
    # (only names of one length can: most disagreeing pairs are colleagues, and went through
    # a Python loop for nothing)
    length = pc.utf8_length(words).fill_null(-1).to_numpy(zero_copy_only=False)
    check = np.flatnonzero(
        ~titled & (level == DISAGREE) & named[left] & named[right] & (length[left] == length[right])
    )
    if check.size:
        # and only names whose first characters sound alike (read once per distinct name):
        # most pairs left are two colleagues, 王伟 and 李娜
        codes, names = pd.factorize(text[np.r_[left[check], right[check]]])
        spaced = np.array([" " in u for u in names], dtype=bool)
        first = np.array([pinyin(u[:1]) for u in names], dtype=object)
        ca, cb = codes[: check.size], codes[check.size :]
        check = check[spaced[ca] | spaced[cb] | (first[ca] == first[cb])]
    if check.size:
        a, b = text[left[check]], text[right[check]]
        same = [_sound_alike(x, y, pinyin) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
        level[check[np.asarray(same, dtype=bool)]] = PARTIAL


def _sound_alike(x: str, y: str, pinyin: Callable[[str], str]) -> bool:
    """pinyin(x) == pinyin(y), for names of one length: character by character, stopping at the
    first that sounds different (most pairs are two people: a whole name's pinyin worked out
    for each of them was the time). The space-joined readings hold a space only where a name
    does, so without one the two tests agree."""
    if len(x) != len(y):
        return False
    if " " in x or " " in y:
        return pinyin(x) == pinyin(y)
    return all(pinyin(c) == pinyin(d) for c, d in zip(x, y, strict=True))


def _prepare_field(
    f: FieldRule, values: pd.Series, free: set[str], beside: pd.Series | None = None
) -> dict[str, np.ndarray]:
    """One field normalised for comparison (blank or unusable -> None), with its derived keys."""
    out: dict[str, np.ndarray] = {}
    if f.comparator == "phone":
        normal, ok = normalize_phone(values)
        prepared = normal.where(ok)
    elif f.comparator == "email":
        normal, ok = normalize_email(values)
        prepared = normal.where(ok)
        domain = prepared.astype("str").str.replace(r"^.*@", "", regex=True).where(prepared.notna())
        out["email_domain"] = _array(domain.where(~domain.isin(free)))
    elif f.comparator == "company":
        if f.regions_apart:  # the names made half-width and lower-case once for both
            prepared, region = company_key_and_region(values, beside)
            out[f.name + REGION] = _array(region)
        else:
            prepared = company_key(values)
        out["company_key"] = out[f.name] = _array(prepared)  # one array under both names
        # the key without the record's own place, where that differs: compared as well, so that
        # one record's city (and another's blank one) never makes two equal names differ
        placed = drop_own_place(prepared, beside) if beside is not None else prepared
        out[f.name + PLACED] = _array(placed.where(placed != prepared))
        # a name partly in Latin letters (杭州 瀚海 Information Technology Co., Ltd.) beside a
        # Chinese one is compared on its Han characters alone ("" when it has none)
        # (in Arrow, and replaced only where there are letters: most names have none)
        text = pa.array(placed.where(placed.notna(), prepared), type=pa.string())
        latin = (
            pc.match_substring_regex(text, "[a-z]").fill_null(False).to_numpy(zero_copy_only=False)
        )
        han = np.full(len(text), None, dtype=object)
        if latin.any():
            han[latin] = pc.replace_substring_regex(
                text.filter(pa.array(latin)), "[0-9a-z]+", ""
            ).to_numpy(zero_copy_only=False)
        out[f.name + HAN] = han
    elif f.comparator in ("fuzzy", "person"):
        prepared = _by_distinct(values, lambda v: _fuzzy_form(v, f))
        if f.comparator == "person":
            out[f.name + SURNAME] = _array(
                _by_distinct(prepared, lambda v: _titled_surname(v, f.titles))
            )
    elif f.comparator == "normalized":
        prepared = _by_distinct(
            values, lambda v: clean_text(v).map(fold_header, na_action="ignore")
        )
    elif f.comparator == "number":
        prepared = pd.to_numeric(values, errors="coerce")
    elif f.comparator == "date":
        prepared = pd.to_datetime(values, errors="coerce")
    else:
        prepared = _by_distinct(values, clean_text)
    if f.guessed_from is not None:
        # the phones as written: only the few rows of a disagreeing pair are looked up (compare)
        out[f.name + GUESS] = _array(
            beside if beside is not None else pd.Series(None, index=values.index, dtype=object)
        )
    if f.comparator != "company":  # (the company key is there already)
        out[f.name] = (
            _array(prepared) if f.comparator not in ("number", "date") else prepared.to_numpy()
        )
    return out


def _by_distinct(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`fn` (cell by cell, vectorised) run on the column's distinct values and spread back (blank:
    None). Contacts and cities repeat (100k leads hold a few hundred cities and 18k-30k
    contacts): their regexes and Python-per-cell extracts were most of their preparation. A
    column with more than half its values distinct (company names, phones) is done directly:
    factorising it would only add."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) * 2 > len(values):
        return fn(values)
    done = fn(pd.Series(uniques, dtype=object)).astype(object).to_numpy()
    spread = np.append(done, None)[codes]  # code -1 (blank) takes the None at the end
    return pd.Series(spread, index=values.index, dtype=object)


def _guessed(
    places: np.ndarray, phones: np.ndarray, normalized: np.ndarray | None = None
) -> np.ndarray:
    """Where a place is just where the row's mobile number was issued (连云港 beside a 138 1234
    number): the guess import makes for a blank city, so no evidence against a match.

    `normalized`: the same phones as a phone field prepared them (None where unusable), so
    that they are not normalised a second time."""
    if normalized is None:
        normal, ok = normalize_phone(pd.Series(phones, dtype=object))
    else:
        normal = pd.Series(normalized, dtype=object)
        ok = normal.notna()
    mobile = ok & normal.astype("str").str.fullmatch(r"1[3-9][0-9]{9}", na=False)
    guessed = np.zeros(len(places), dtype=bool)
    at = np.flatnonzero(mobile.to_numpy())
    if at.size:
        # a mobile's city is that of its first seven digits (the longest prefix looked up):
        # each distinct one is looked up once (as a plain list: iterating an Arrow-backed index
        # cell by cell was a third of the look-up)
        codes, heads = pd.factorize(normal.iloc[at].astype(str).str[:7])
        city = np.array(mobile_cities(heads.tolist()), dtype=object)[codes]
        # the places (a few dozen distinct) without their 市, worked out once each; a blank
        # one (never asked about) matches no city
        spots, names = pd.factorize(pd.Series(places[at], dtype=object))
        bare = pd.Series(names, dtype=object).astype("str").str.replace(r"市$", "", regex=True)
        place = np.append(bare.to_numpy(dtype=object), np.nan)[spots]
        guessed[at] = city == place
    return guessed


# comparators whose prepared value of a row depends on that row's value alone (dates and numbers
# are parsed with a format pandas infers from the whole column)
ROW_WISE = frozenset({"exact", "normalized", "fuzzy", "person", "phone", "email", "company"})


@dataclass
class Prepared:
    """What `prepare` made of some records, kept so that a later search of the same sheet (run's
    dedupe step after import's matching on arrival) prepares only the rows that changed."""

    rules: DedupeRules
    values: pd.DataFrame  # the field columns the arrays were made from (a copy-on-write view)
    arrays: dict[str, np.ndarray]


def _field_columns(records: pd.DataFrame, rules: DedupeRules) -> list[str]:
    used = [c for f in rules.fields for c in (f.column, f.places, f.guessed_from) if c is not None]
    return list(dict.fromkeys(c for c in used if c in records.columns))


def prepare(
    records: pd.DataFrame, rules: DedupeRules, reuse: Prepared | None = None
) -> dict[str, np.ndarray]:
    """Each field's values normalised once (blank or unusable -> None), plus derived keys.

    Fields are independent and mostly Arrow work (which releases the GIL): they run on all cores.
    With `reuse`, rows whose field values are as they were then take their arrays from it.
    """
    fits = reuse is not None and reuse.rules == rules and len(records) > 0
    if fits and all(f.comparator in ROW_WISE for f in rules.fields):
        return _prepare_reusing(records, rules, reuse)  # type: ignore[arg-type]
    return _prepare_all(records, rules)


def _prepare_reusing(
    records: pd.DataFrame, rules: DedupeRules, reuse: Prepared
) -> dict[str, np.ndarray]:
    columns = _field_columns(records, rules)
    if columns != list(reuse.values.columns) or reuse.values.empty:
        return _prepare_all(records, rules)
    where = reuse.values.index.get_indexer(records.index)
    same = where >= 0
    old = reuse.values.iloc[np.where(same, where, 0)]
    for column in columns:
        a = records[column].to_numpy(dtype=object)
        b = old[column].to_numpy(dtype=object)
        na_a, na_b = pd.isna(a), pd.isna(b)
        # blanks as None first: pd.NA == x is neither True nor False
        equal = np.where(na_a, None, a) == np.where(na_b, None, b)
        same &= np.where(na_a | na_b, na_a & na_b, equal)
    changed = np.flatnonzero(~same)
    if changed.size > len(records) // 2:
        return _prepare_all(records, rules)  # mostly new: no gain
    fresh = _prepare_all(records.iloc[changed], rules) if changed.size else {}
    out: dict[str, np.ndarray] = {}
    for key, kept in reuse.arrays.items():
        arr = kept[np.where(same, where, 0)]  # a new array (fancy indexing copies)
        if changed.size:
            if fresh[key].dtype != arr.dtype:
                return _prepare_all(records, rules)
            arr[changed] = fresh[key]
        out[key] = arr
    return out


def _prepare_all(records: pd.DataFrame, rules: DedupeRules) -> dict[str, np.ndarray]:
    free = {d.lower() for d in rules.free_mail_domains}
    columns = [
        records[f.column] if f.column in records.columns else pd.Series(np.nan, index=records.index)
        for f in rules.fields
    ]
    besides = [f.places or f.guessed_from for f in rules.fields]
    places = [records[c] if c is not None and c in records.columns else None for c in besides]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        done = list(
            pool.map(lambda f, v, p: _prepare_field(f, v, free, p), rules.fields, columns, places)
        )
    out: dict[str, np.ndarray] = {}
    for part in done:
        out.update(part)
    for key in [
        *DERIVED_KEYS,
        *(f.name + k for f in rules.fields if f.comparator == "company" for k in (PLACED, HAN)),
    ]:
        out.setdefault(key, np.full(len(records), None, dtype=object))
    return out


def _array(values: pd.Series) -> np.ndarray:
    """The values as a new object array, blanks as None (in one pass: an object copy, then
    pd.isna over it again, cost a third more on a column of text)."""
    return values.to_numpy(dtype=object, na_value=None, copy=True)
