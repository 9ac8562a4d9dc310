"""Dedupe step: find records of the same customer and merge them, losing nothing.

A generic, rule-driven engine (rules/dedupe.yaml): fields with comparators and points, blocking
keys for candidate pairs, thresholds, a clustering guard and survivorship rules. It works on any
sheet's columns; the lead defaults are tuned for Chinese B2B leads.

Pipeline: prepare (normalise each field once) -> candidate pairs (blocking) -> compare
(vectorised, rapidfuzz.process.cpdist for fuzzy fields) -> cluster (union-find with a guard
against chains of weak links) -> merge (survivor keeps its values, fills its blanks from the
others, joins the join-columns; merged rows stay, marked with the survivor's id).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from leadkit.normalize import (
    WORKERS,
    cell_texts,
    clean_text,
    company_key,
    drop_own_place,
    mobile_cities,
    name_region,
    normalize_email,
    normalize_phone,
    real_dates,
)
from leadkit.review import decided_rows
from leadkit.rules import Strict, fold_header

Comparator = Literal[
    "exact", "normalized", "fuzzy", "person", "phone", "email", "company", "number", "date"
]
Scorer = Literal[
    "ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio", "WRatio", "QRatio"
]

AGREE, PARTIAL, DISAGREE, MISSING = 2, 1, 0, -1
BRANCH = re.compile(r"分公司|分部|办事处|分厂|分院|分店|分行|支行|branch", re.IGNORECASE)
DERIVED_KEYS = ("company_key", "email_domain")


class FieldRule(Strict):
    """One field compared between two records."""

    name: str
    column: str
    comparator: Comparator = "exact"
    scorer: Scorer = "ratio"
    agree_at: float = Field(default=100, ge=0, le=100)
    partial_at: float | None = Field(default=None, ge=0, le=100)
    tolerance: float = Field(default=0, ge=0)  # number: |a-b| <= tolerance; date: days
    # fuzzy: a regex of the characters dropped before comparing. Unset: all whitespace for the
    # character scorers; for token scorers (token_*) runs of whitespace become one space, since
    # their tokens are what they compare ("westbrook jake" vs "jake westbrook").
    normalize: str | None = None
    # person: a contact written as surname + title (王先生, 王总) is compatible with a full name of
    # that surname; one written by its sound (喻晶 / 喻静, a pinyin input slip) is partial too
    titles: list[str] = Field(default_factory=list)
    # company: the column holding each record's own place (city); a name that begins with it has
    # it dropped from the key, whether or not a region list knows the place
    places: str | None = None
    # company: two names that carry different regions (杭州方圆云 / 福州市方圆云, 正源（沈阳）/
    # 厦门正源) are two registrations, whatever their keys say
    regions_apart: bool = False
    # exact / normalized: the column of the record's phone. A value that is only where the
    # record's mobile number was issued (import fills a blank city that way, and a mobile is
    # often bought elsewhere) is a guess: it never counts against a match
    guessed_from: str | None = None
    agree: float = 0
    partial: float = 0
    disagree: float = 0

    @model_validator(mode="after")
    def _ordered(self) -> FieldRule:
        if self.partial_at is not None and self.partial_at > self.agree_at:
            raise ValueError("partial_at must not be above agree_at")
        if self.agree < self.partial:
            raise ValueError("agree points must not be below partial points")
        if (self.places is not None or self.regions_apart) and self.comparator != "company":
            raise ValueError("places and regions_apart are for the company comparator")
        if self.guessed_from is not None and self.comparator not in ("exact", "normalized"):
            raise ValueError("guessed_from is for the exact and normalized comparators")
        if self.normalize is not None:
            try:
                re.compile(self.normalize)
            except re.error as exc:
                raise ValueError(f"normalize {self.normalize!r} is not a regex: {exc}") from None
        return self


class SurvivorRule(Strict):
    """One survivorship criterion; exactly one of its keys is set."""

    prefer_filled: str | None = None
    rank: str | None = None
    order: list[str] | None = None
    earliest: str | None = None
    latest: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SurvivorRule:
        kinds = [k for k in ("prefer_filled", "rank", "earliest", "latest") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(
                "each survivor rule has exactly one of prefer_filled, rank, earliest, latest"
            )
        if (self.rank is None) != (self.order is None):
            raise ValueError("rank needs order (and order needs rank)")
        return self


class NoShared(Strict):
    """Evidence from fields taken together (see DedupeRules.no_shared)."""

    fields: list[str] = Field(min_length=1)
    points: float = Field(le=0)


class DedupeRules(Strict):
    """`dedupe.yaml`."""

    sheet: str = "leads"
    id_column: str = "lead_id"
    mark_column: str = "duplicate_of"
    fields: list[FieldRule]
    blocking: list[str]
    max_block: int = Field(default=40, ge=2)
    free_mail_domains: list[str] = Field(default_factory=list)
    match: float
    review: float
    strong: float
    max_cluster: int = Field(default=6, ge=2)
    survivor: list[SurvivorRule] = Field(default_factory=list)
    join: list[str] = Field(default_factory=list)
    sources_into: str | None = None
    status_column: str = "status"
    with_status: list[str] = Field(default_factory=list)
    # fields whose disagreement says "two different people": two records that disagree on one
    # never end up in one cluster, and a record matching both of them goes to a person
    conflict: list[str] = Field(default_factory=list)
    # ... unless it matches one of them better by this much: then it joins that one
    conflict_margin: float = Field(default=0.5, gt=0)
    # points added when every one of these fields is on both records and none agrees: two
    # records that share no phone and no e-mail were most likely written by two people
    no_shared: NoShared | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DedupeRules:
        problems = []
        if not self.review < self.match <= self.strong:
            problems.append("thresholds must satisfy review < match <= strong")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            problems.append("field names must be unique")
        known = set(names) | set(DERIVED_KEYS)
        for name in [*self.conflict, *(self.no_shared.fields if self.no_shared else [])]:
            if name not in names:
                problems.append(f"{name!r} is not one of the fields")
        for rule in self.blocking:
            for term in rule.split("+"):
                base = term.strip().split("[")[0]
                if base not in known:
                    problems.append(f"blocking key {rule!r}: unknown name {base!r}")
                if "[" in term and not re.fullmatch(r"[a-z_]+\[:\d+\]", term.strip()):
                    problems.append(f"blocking key {rule!r}: write a prefix as name[:n]")
        best = sum(max(f.agree, 0) for f in self.fields)
        if best < self.match:
            problems.append(f"no pair can reach match {self.match}: the fields add up to {best}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def by_name(self) -> dict[str, FieldRule]:
        return {f.name: f for f in self.fields}


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
    level: np.ndarray,
) -> None:  # fmt: skip
    """Person field: surname + title against a name, and homophones, over the ratio's levels."""
    from leadkit.headers import pinyin

    a, b = prepared[f.name][left], prepared[f.name][right]
    sa, sb = prepared[f.name + SURNAME][left], prepared[f.name + SURNAME][right]
    ta, tb = ~pd.isna(sa), ~pd.isna(sb)
    both = ta & tb

    def starts(rows: np.ndarray, text: np.ndarray, surname: np.ndarray) -> np.ndarray:
        """Whether each of `rows`' text begins with its surname (one or two characters). Only
        the pairs with one titled side ask: a loop over those beat two whole-array string
        conversions (0.1 s a dedupe at 100k leads)."""
        return np.array(
            [
                isinstance(t, str) and isinstance(s, str) and s != "" and t.startswith(s)
                for t, s in zip(text[rows], surname[rows], strict=True)
            ],
            dtype=bool,
        )

    fits = np.asarray(both & (sa == sb), dtype=bool)
    one_a, one_b = np.flatnonzero(ta & ~tb), np.flatnonzero(tb & ~ta)
    fits[one_a] = starts(one_a, b, sa)
    fits[one_b] = starts(one_b, a, sb)
    titled = ta | tb
    level[titled & ~fits & (level != AGREE)] = DISAGREE
    level[titled & fits & (level != AGREE)] = PARTIAL
    # the same sounds, character for character: a typing slip, not another person
    check = np.flatnonzero(~titled & (level == DISAGREE) & ~pd.isna(a) & ~pd.isna(b))
    if check.size:
        same = [
            len(x) == len(y) and pinyin(x) == pinyin(y)
            for x, y in zip(a[check], b[check], strict=True)
        ]
        level[check[np.asarray(same, dtype=bool)]] = PARTIAL


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
        prepared = company_key(values)
        out["company_key"] = _array(prepared)
        # the key without the record's own place, where that differs: compared as well, so that
        # one record's city (and another's blank one) never makes two equal names differ
        placed = drop_own_place(prepared, beside) if beside is not None else prepared
        out[f.name + PLACED] = _array(placed.where(placed != prepared))
        if f.regions_apart:
            out[f.name + REGION] = _array(name_region(values, beside))
        # a name partly in Latin letters (杭州 瀚海 Information Technology Co., Ltd.) beside a
        # Chinese one is compared on its Han characters alone ("" when it has none)
        # (in Arrow, and replaced only where there are letters: most names have none)
        base = _array(placed.where(placed.notna(), prepared))
        text = pa.array(base, type=pa.string())
        latin = (
            pc.match_substring_regex(text, "[a-z]").fill_null(False).to_numpy(zero_copy_only=False)
        )
        han = np.full(len(base), None, dtype=object)
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
    out[f.name] = (
        _array(prepared) if f.comparator not in ("number", "date") else prepared.to_numpy()
    )
    return out


def _by_distinct(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`fn` (cell by cell, vectorised) run on the column's distinct values and spread back (blank:
    None). Contacts and cities repeat (100k leads hold a few hundred of each): their regexes
    and Python-per-cell extracts were most of their preparation. A column of mostly distinct
    values (names, phones) is done directly: factorising it would only add."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) * 4 > len(values):
        return fn(values)
    done = fn(pd.Series(uniques, dtype=object)).astype(object).to_numpy()
    spread = np.append(done, None)[codes]  # code -1 (blank) takes the None at the end
    return pd.Series(spread, index=values.index, dtype=object)


def _guessed(places: np.ndarray, phones: np.ndarray) -> np.ndarray:
    """Where a place is just where the row's mobile number was issued (连云港 beside a 138 1234
    number): the guess import makes for a blank city, so no evidence against a match."""
    normal, ok = normalize_phone(pd.Series(phones, dtype=object))
    place = pd.Series(places, dtype=object).astype("str").str.replace(r"市$", "", regex=True)
    mobile = ok & normal.astype("str").str.fullmatch(r"1[3-9][0-9]{9}", na=False)
    guessed = np.zeros(len(places), dtype=bool)
    at = np.flatnonzero(mobile.to_numpy())
    if at.size:
        # a mobile's city is that of its first seven digits (the longest prefix looked up):
        # each distinct one is looked up once
        codes, heads = pd.factorize(normal.iloc[at].astype(str).str[:7])
        city = np.array(mobile_cities(list(heads)), dtype=object)[codes]
        guessed[at] = city == place.iloc[at].to_numpy()
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
    arr = values.astype(object).to_numpy(copy=True)
    arr[pd.isna(arr)] = None
    return arr


# ---------------------------------------------------------------------------------------------
# Candidate pairs


@dataclass
class BlockingStats:
    """What blocking did: candidate pairs per key, and key values skipped as too common."""

    pairs: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def _term_codes(values: np.ndarray, cut: int | None) -> np.ndarray:
    """Group codes of one blocking term (-1: no value); `cut` keeps the first characters."""
    if cut is None:
        return pd.factorize(values, use_na_sentinel=True)[0]
    text = pa.array(pd.Series(values, dtype=object).astype("str").where(pd.notna(values)))
    text = pc.utf8_slice_codeunits(text, 0, cut)
    text = pc.if_else(pc.greater(pc.utf8_length(text), 0), text, None)
    return text.dictionary_encode().indices.fill_null(-1).to_numpy().astype(np.int64)


def _block_codes(prepared: dict[str, np.ndarray], rule: str) -> np.ndarray:
    """Group codes of a blocking rule: equal codes <=> equal value on every term; -1 where a
    term has none. Terms combine as integers, not as joined strings (a fifth of the time)."""
    codes: np.ndarray | None = None
    for term in rule.split("+"):
        name, _, cut = term.strip().partition("[:")
        term_codes = _term_codes(prepared[name], int(cut.rstrip("]")) if cut else None)
        if codes is None:
            codes = term_codes
            continue
        both = (codes >= 0) & (term_codes >= 0)
        pair = codes.astype(np.int64) * (int(term_codes.max()) + 1) + term_codes
        codes = pd.factorize(np.where(both, pair, -1))[0]  # keeps first-appearance order
        codes[~both] = -1
    assert codes is not None  # a rule has at least one term (validated)
    return codes


_TRIU: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _pairs_within_groups(codes: np.ndarray, max_block: int) -> tuple[np.ndarray, np.ndarray, int]:
    """All pairs of positions that share a code; groups above max_block are skipped (counted)."""
    valid = codes >= 0
    positions = np.flatnonzero(valid)
    if positions.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, 0
    sub = codes[valid]
    order = np.argsort(sub, kind="stable")
    sorted_pos = positions[order]
    sorted_codes = sub[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, sorted_codes.size])
    skipped = int((sizes > max_block).sum())
    lefts, rights = [], []
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= max_block)]):
        group_starts = starts[sizes == size]
        members = sorted_pos[group_starts[:, None] + np.arange(size)]
        if size not in _TRIU:
            _TRIU[size] = np.triu_indices(size, 1)
        iu, ju = _TRIU[size]
        lefts.append(members[:, iu].ravel())
        rights.append(members[:, ju].ravel())
    if not lefts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, skipped
    return np.concatenate(lefts), np.concatenate(rights), skipped


def candidate_pairs(
    prepared: dict[str, np.ndarray], rules: DedupeRules, n: int
) -> tuple[np.ndarray, np.ndarray, BlockingStats]:
    """Distinct (left < right) position pairs sharing at least one blocking key."""
    stats = BlockingStats()
    all_l, all_r = [], []
    for rule in rules.blocking:
        codes = _block_codes(prepared, rule)
        left, right, skipped = _pairs_within_groups(codes, rules.max_block)
        stats.pairs[rule] = int(left.size)
        stats.skipped[rule] = skipped
        all_l.append(left)
        all_r.append(right)
    left = np.concatenate(all_l) if all_l else np.empty(0, dtype=np.int64)
    right = np.concatenate(all_r) if all_r else np.empty(0, dtype=np.int64)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    combined = np.unique(lo.astype(np.int64) * n + hi)
    return combined // n, combined % n, stats


# ---------------------------------------------------------------------------------------------
# Compare


def _scorer(name: str) -> Any:
    from rapidfuzz import fuzz

    return getattr(fuzz, name)


def _short_names(a: np.ndarray, b: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Positions of 简称 pairs: a key that is the start of the other, which is longer by a trade
    word or more (德兴 / 德兴教育科技), is the same name written short. Partial, never agree
    (德兴 is also the start of 德兴物流). Only pairs the scorer called different are looked at."""
    la = pd.Series(a, dtype=object).str.len().fillna(0).to_numpy()
    lb = pd.Series(b, dtype=object).str.len().fillna(0).to_numpy()
    todo = np.flatnonzero((level == DISAGREE) & (np.minimum(la, lb) >= 2) & (np.abs(la - lb) >= 2))
    if not todo.size:
        return todo
    a_short = la[todo] < lb[todo]
    short = pd.Series(np.where(a_short, a[todo], b[todo]), dtype=object)
    long = pd.Series(np.where(a_short, b[todo], a[todo]), dtype=object)
    size = np.minimum(la[todo], lb[todo])
    hit = np.zeros(todo.size, dtype=bool)
    for length in np.unique(size):  # a few key lengths: one vectorised comparison each
        at = np.flatnonzero(size == length)
        hit[at] = (long.iloc[at].str[: int(length)] == short.iloc[at]).to_numpy()
    return todo[hit]


def _han_only(
    prepared: dict[str, np.ndarray], f: FieldRule, left: np.ndarray, right: np.ndarray,
    missing: np.ndarray, level: np.ndarray,
) -> None:  # fmt: skip
    """A company name with Latin letters beside one without: compared on its Han characters
    (瀚海 of 杭州 瀚海 Information Technology against 瀚海信息技术, a 简称 then); one with no Han
    at all (Acme Co., Ltd. against 艾克美科技) cannot be compared by characters: no evidence."""
    ha, hb = prepared[f.name + HAN][left], prepared[f.name + HAN][right]
    one = np.flatnonzero(~missing & (pd.isna(ha) ^ pd.isna(hb)))
    if not one.size:
        return

    def plain(side: np.ndarray) -> np.ndarray:
        key, placed = prepared[f.name][side], prepared[f.name + PLACED][side]
        return np.where(pd.isna(placed), key, placed)

    xa = np.where(pd.isna(ha[one]), plain(left[one]), ha[one]).astype(object)
    xb = np.where(pd.isna(hb[one]), plain(right[one]), hb[one]).astype(object)
    sims = _scorer_sims(xa, xb, f)
    new = np.full(one.size, DISAGREE, dtype=np.int8)
    new[sims >= f.agree_at] = AGREE
    if f.partial_at is not None:
        new[(sims >= f.partial_at) & (sims < f.agree_at)] = PARTIAL
        new[_short_names(xa, xb, new)] = PARTIAL
    new[(xa == "") | (xb == "")] = MISSING
    level[one] = new


def _scorer_sims(a: np.ndarray, b: np.ndarray, f: FieldRule) -> np.ndarray:
    from rapidfuzz import process

    return process.cpdist(list(a), list(b), scorer=_scorer(f.scorer), workers=-1)


def compare(
    prepared: dict[str, np.ndarray], rules: DedupeRules, left: np.ndarray, right: np.ndarray
) -> pd.DataFrame:
    """Per pair: each field's level (2 agree, 1 partial, 0 disagree, -1 missing) and the score."""
    from rapidfuzz import process

    levels: dict[str, np.ndarray] = {}
    score = np.zeros(left.size)
    for f in rules.fields:
        a, b = prepared[f.name][left], prepared[f.name][right]
        missing = pd.isna(a) | pd.isna(b)
        level = np.full(left.size, DISAGREE, dtype=np.int8)
        if f.comparator in ("fuzzy", "person", "company"):
            fill_a = np.where(missing, "", a).astype(object)
            fill_b = np.where(missing, "", b).astype(object)
            sims = process.cpdist(list(fill_a), list(fill_b), scorer=_scorer(f.scorer), workers=-1)
            if f.comparator == "company":
                # either side may also be read without its own place (太原卓远致 in 太原)
                pa_, pb_ = prepared[f.name + PLACED][left], prepared[f.name + PLACED][right]
                other = np.flatnonzero(~missing & (~pd.isna(pa_) | ~pd.isna(pb_)))
                if other.size:
                    xa = np.where(pd.isna(pa_[other]), a[other], pa_[other])
                    xb = np.where(pd.isna(pb_[other]), b[other], pb_[other])
                    sims[other] = np.maximum(
                        sims[other],
                        process.cpdist(list(xa), list(xb), scorer=_scorer(f.scorer), workers=-1),
                    )
            level[sims >= f.agree_at] = AGREE
            if f.partial_at is not None:
                level[(sims >= f.partial_at) & (sims < f.agree_at)] = PARTIAL
            if f.comparator == "company":
                if f.partial_at is not None:
                    level[_short_names(fill_a, fill_b, level)] = PARTIAL
                    if other.size:
                        level[other[_short_names(xa, xb, level[other])]] = PARTIAL
                _han_only(prepared, f, left, right, missing, level)
                # a branch never matches its parent or another branch
                branch_a = pd.Series(fill_a).str.contains(BRANCH.pattern, regex=True).to_numpy()
                branch_b = pd.Series(fill_b).str.contains(BRANCH.pattern, regex=True).to_numpy()
                level[(branch_a | branch_b) & (fill_a != fill_b)] = DISAGREE
                if f.regions_apart:
                    ra, rb = prepared[f.name + REGION][left], prepared[f.name + REGION][right]
                    level[~pd.isna(ra) & ~pd.isna(rb) & (ra != rb)] = DISAGREE
            if f.comparator == "person":
                _person_levels(prepared, f, left, right, level)
        elif f.comparator == "number":
            with np.errstate(invalid="ignore"):
                level[np.abs(a.astype(float) - b.astype(float)) <= f.tolerance] = AGREE
        elif f.comparator == "date":
            diff = np.abs((pd.to_datetime(a) - pd.to_datetime(b)) / pd.Timedelta(days=1))
            level[np.asarray(diff <= f.tolerance)] = AGREE
        else:
            level[np.asarray(a == b, dtype=bool)] = AGREE
            if f.guessed_from is not None:
                # a guessed place never counts against: looked up for disagreeing pairs only
                differ = np.flatnonzero((level == DISAGREE) & ~missing)
                rows = np.unique(np.r_[left[differ], right[differ]])
                if rows.size:
                    guess = np.zeros(len(prepared[f.name]), dtype=bool)
                    guess[rows] = _guessed(prepared[f.name][rows], prepared[f.name + GUESS][rows])
                    level[differ[guess[left[differ]] | guess[right[differ]]]] = MISSING
            if f.comparator == "email":
                domains_a = prepared["email_domain"][left]
                same_corp = (domains_a == prepared["email_domain"][right]) & ~pd.isna(domains_a)
                level[np.asarray(same_corp, dtype=bool) & (level != AGREE)] = PARTIAL
        level[missing] = MISSING
        levels[f.name] = level
        score += np.select(
            [level == AGREE, level == PARTIAL, level == DISAGREE],
            [f.agree, f.partial, f.disagree],
            0.0,
        )
    if rules.no_shared is not None:
        none_shared = np.ones(left.size, dtype=bool)
        for name in rules.no_shared.fields:
            none_shared &= levels[name] == DISAGREE
        score += np.where(none_shared, rules.no_shared.points, 0.0)
    frame = pd.DataFrame(levels)
    frame.insert(0, "right", right)
    frame.insert(0, "left", left)
    frame["score"] = np.round(score, 6)
    return frame


# ---------------------------------------------------------------------------------------------
# Cluster


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label (the smallest member) of each of n nodes, vectorised."""
    labels = np.arange(n)
    if left.size == 0:
        return labels
    while True:
        lowest = np.minimum(labels[left], labels[right])
        new = labels.copy()
        np.minimum.at(new, left, lowest)
        np.minimum.at(new, right, lowest)
        while True:  # pointer jumping: follow labels to their root
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, labels):
            return labels
        labels = new


def survivor_order(
    records: pd.DataFrame, rules: DedupeRules, priority: pd.Series | None = None
) -> pd.Series:
    """Rank of every record as a survivor (lower survives); ties go to the earlier row."""
    keys: list[pd.Series] = []
    if priority is not None:
        keys.append(priority.astype(float))
    for r in rules.survivor:
        if r.prefer_filled:
            col = records.get(r.prefer_filled)
            keys.append(
                pd.Series(0.0 if col is None else col.isna().astype(float), index=records.index)
            )
        elif r.rank:
            rank = {v: i for i, v in enumerate(r.order or [])}
            col = records.get(r.rank, pd.Series(np.nan, index=records.index))
            keys.append(col.map(rank).astype(float).fillna(len(rank)))
        else:
            column = r.earliest or r.latest
            col = records.get(column, pd.Series(np.nan, index=records.index))
            when = real_dates(col)  # text that looks like a date is not trusted here
            seconds = (when - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
            keys.append((seconds if r.earliest else -seconds).fillna(np.inf))
    keys.append(pd.Series(np.arange(len(records), dtype=float), index=records.index))
    ranking = pd.DataFrame({i: k.to_numpy() for i, k in enumerate(keys)})
    order = ranking.sort_values(list(ranking.columns), kind="stable").index.to_numpy()
    rank = np.empty(len(records), dtype=np.int64)
    rank[order] = np.arange(len(records))
    return pd.Series(rank, index=records.index)


@dataclass
class Clusters:
    """Merges to make, pairs for a person, and why."""

    merges: list[tuple[int, list[int]]]  # (survivor position, other positions)
    review: pd.DataFrame  # scored pairs (left, right, levels…, score, why)


def cluster(
    scored: pd.DataFrame, rules: DedupeRules, rank: np.ndarray, forced: pd.DataFrame | None = None
) -> Clusters:
    """Matched pairs into clusters, each around its survivor, guarded against weak chains.

    A record joins its cluster's survivor only if it matches the survivor directly, or is tied
    to it by strong links alone; a record reached only through a chain of ordinary matches is
    listed for review instead. A cluster above max_cluster is listed for review whole.
    """
    n = len(rank)
    matched = scored[scored["score"] >= rules.match]
    review_parts = [
        scored[(scored["score"] >= rules.review) & (scored["score"] < rules.match)].assign(
            why="uncertain"
        )
    ]
    apart = _conflicts(scored, rules)
    if apart[0].size and not matched.empty:
        matched, unsure = _split_conflicts(matched, apart, n, rules.conflict_margin)
        review_parts.append(unsure)
    if forced is not None and not forced.empty:
        matched = pd.concat([matched, forced], ignore_index=True)
    left = matched["left"].to_numpy(dtype=np.int64)
    right = matched["right"].to_numpy(dtype=np.int64)
    strong = matched["score"].to_numpy() >= rules.strong
    comp = _components(n, left, right)
    strong_comp = _components(n, left[strong], right[strong])
    in_edge = np.zeros(n, dtype=bool)
    in_edge[left] = in_edge[right] = True
    nodes = np.flatnonzero(in_edge)
    merges: list[tuple[int, list[int]]] = []
    if nodes.size:
        order = np.lexsort((rank[nodes], comp[nodes]))
        by_comp, by_node = comp[nodes][order], nodes[order]
        first = np.r_[True, by_comp[1:] != by_comp[:-1]]
        survivor = np.full(n, -1, dtype=np.int64)
        survivor[by_comp[first]] = by_node[first]
        size = np.bincount(comp[nodes], minlength=n)
        big = size[comp] > rules.max_cluster
        direct = np.zeros(n, dtype=bool)
        direct[right[left == survivor[comp[left]]]] = True
        direct[left[right == survivor[comp[right]]]] = True
        other = in_edge & (survivor[comp] != np.arange(n))
        # a record tied by strong links to one that matches the survivor directly is as sure as
        # that one match (the survivor may be a sparse record with one ordinary link to them all)
        anchored = np.zeros(n, dtype=bool)
        anchored[strong_comp[direct]] = True
        anchored[strong_comp[by_node[first]]] = True  # the survivors' own strong ties
        kept = other & ~big & (direct | anchored[strong_comp])
        chained = other & ~big & ~kept
        if big.any():
            inside = big[left]
            review_parts.append(matched[inside].assign(why="cluster too large (> max_cluster)"))
        if chained.any():
            touching = chained[left] | chained[right]
            review_parts.append(matched[touching].assign(why="linked only through weaker matches"))
        members = np.flatnonzero(kept)
        members = members[np.lexsort((rank[members], survivor[comp[members]]))]
        owners = survivor[comp[members]]
        if members.size:
            cuts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            # plain lists sliced per cluster: np.split costs a NumPy call per cluster
            listed, bounds = members.tolist(), [*cuts.tolist(), members.size]
            merges = [
                (owner, listed[a:b])
                for owner, a, b in zip(owners[cuts].tolist(), bounds[:-1], bounds[1:], strict=True)
            ]
    review = pd.concat(review_parts, ignore_index=True)
    review = review.drop_duplicates(subset=["left", "right"]).sort_values("score", ascending=False)
    owner = np.arange(n)  # each record's survivor (itself when not merged)
    if merges:
        owner[members] = owners
    review = _settled_dropped(review, owner, apart, n)
    return Clusters(merges=merges, review=review.reset_index(drop=True))


def _conflicts(scored: pd.DataFrame, rules: DedupeRules) -> tuple[np.ndarray, np.ndarray]:
    """Pairs the rules call two different people: a conflict field disagrees and the pair scores
    below review (a pair that matches despite it is the weights' decision, not a conflict)."""
    if not rules.conflict or scored.empty:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    differ = np.zeros(len(scored), dtype=bool)
    for name in rules.conflict:
        differ |= scored[name].to_numpy() == DISAGREE
    differ &= scored["score"].to_numpy() < rules.review
    return (
        scored["left"].to_numpy(dtype=np.int64)[differ],
        scored["right"].to_numpy(dtype=np.int64)[differ],
    )


def _split_conflicts(
    matched: pd.DataFrame, apart: tuple[np.ndarray, np.ndarray], n: int, margin: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Matches that would put two different people in one cluster, taken out for review.

    A record that matches both of two people joins the one it matches better by `margin` or
    more (its weaker match is dropped); closer (a switchboard record without a contact, which
    could be either) its matches go to a person. A cluster still holding two people after that (a longer
    chain) goes to a person whole. Only clusters with a conflict are looked at (few, small).
    """
    left = matched["left"].to_numpy(dtype=np.int64)
    right = matched["right"].to_numpy(dtype=np.int64)
    comp = _components(n, left, right)
    a, b = apart
    inside = comp[a] == comp[b]
    if not inside.any():
        return matched, matched.iloc[:0].assign(why="")
    bad = np.zeros(n, dtype=bool)
    bad[comp[a[inside]]] = True
    neighbours: dict[int, dict[int, float]] = {}
    looked = bad[comp[left]]
    scores = matched["score"].to_numpy()[looked].tolist()
    for x, y, sc in zip(left[looked].tolist(), right[looked].tolist(), scores, strict=True):
        neighbours.setdefault(x, {})[y] = sc
        neighbours.setdefault(y, {})[x] = sc
    ambiguous = np.zeros(n, dtype=bool)
    worse: set[tuple[int, int]] = set()  # a clearly weaker match of a record to one of two people
    for p, q in zip(a[inside].tolist(), b[inside].tolist(), strict=True):
        to_p, to_q = neighbours.get(p, {}), neighbours.get(q, {})
        for x in to_p.keys() & to_q.keys():
            if abs(to_p[x] - to_q[x]) < margin:
                ambiguous[x] = True
            else:
                loser = q if to_p[x] > to_q[x] else p
                worse.add((min(x, loser), max(x, loser)))
    dropped = np.zeros(len(matched), dtype=bool)
    if worse:
        keys = pd.Series(list(zip(left.tolist(), right.tolist(), strict=True)))
        dropped = keys.isin(worse).to_numpy()
    touching = (ambiguous[left] | ambiguous[right]) & ~dropped
    parts = [matched[touching].assign(why="matches two records that are different people")]
    kept = matched[~touching & ~dropped]
    kl, kr = kept["left"].to_numpy(dtype=np.int64), kept["right"].to_numpy(dtype=np.int64)
    comp = _components(n, kl, kr)
    still = comp[a] == comp[b]
    if still.any():
        held = np.zeros(n, dtype=bool)
        held[comp[a[still]]] = True
        chained = held[comp[kl]]
        parts.append(kept[chained].assign(why="links records that are different people"))
        kept = kept[~chained]
    return kept, pd.concat(parts, ignore_index=True)


def _settled_dropped(
    review: pd.DataFrame,
    owner: np.ndarray,
    apart: tuple[np.ndarray, np.ndarray],
    n: int,
) -> pd.DataFrame:
    """Uncertain pairs a person need not see: both records are in one cluster already, or their
    clusters hold two people the rules call different (a colleague of the merged customer)."""
    if review.empty:
        return review
    rl = owner[review["left"].to_numpy(dtype=np.int64)]
    rr = owner[review["right"].to_numpy(dtype=np.int64)]
    drop = rl == rr
    a, b = owner[apart[0]], owner[apart[1]]
    if a.size:
        known = np.unique(np.minimum(a, b) * n + np.maximum(a, b))
        drop |= np.isin(np.minimum(rl, rr) * n + np.maximum(rl, rr), known)
    return review[~drop | (review["why"].to_numpy() != "uncertain")]


# ---------------------------------------------------------------------------------------------
# Find and merge


@dataclass
class DedupeResult:
    """Everything `leadkit dedupe` found in one sheet."""

    records: pd.DataFrame  # the active (not yet merged) records, positions = row order
    scored: pd.DataFrame
    clusters: Clusters
    blocking: BlockingStats
    prepared: Prepared | None = None  # for a later search of the same sheet to reuse

    def ids(self, positions: list[int] | np.ndarray, rules: DedupeRules) -> list[str]:
        """The ids of records at these positions."""
        if getattr(self, "_ids", None) is None:
            self._ids = self.records[rules.id_column].astype(str).to_numpy()
        return self._ids[np.asarray(positions, dtype=np.int64)].tolist()


def find_duplicates(
    sheet: pd.DataFrame,
    rules: DedupeRules,
    *,
    keep_apart: set[frozenset[str]] | None = None,
    only: pd.Series | None = None,
    priority: pd.Series | None = None,
    forced: list[tuple[str, str]] | None = None,
    reuse: Prepared | None = None,
) -> DedupeResult:
    """Score candidate pairs among the sheet's active records and cluster the matches.

    `only` (a mask over the sheet) keeps pairs with at least one such record (import-time
    matching); `priority` (lower first) goes before the survivorship rules; `forced` pairs of ids
    are merged whatever their score (a person decided); `reuse` is an earlier search's
    `prepared` (the rows unchanged since are not prepared again).
    """
    active_mask = (
        sheet[rules.mark_column].isna()
        if rules.mark_column in sheet.columns
        else pd.Series(True, index=sheet.index)
    )
    records = sheet[active_mask]
    n = len(records)
    prepared = prepare(records, rules, reuse)
    kept = Prepared(rules, records[_field_columns(records, rules)], prepared)
    left, right, stats = candidate_pairs(prepared, rules, max(n, 1))
    if only is not None and left.size:
        wanted = only.reindex(records.index, fill_value=False).to_numpy()
        keep = wanted[left] | wanted[right]
        left, right = left[keep], right[keep]
    ids = records[rules.id_column].astype(str).to_numpy()
    if keep_apart and left.size:
        # pairs as "smaller id|larger id" keys, matched against the decisions in one isin
        a, b = ids[left].astype(str), ids[right].astype(str)
        keys = pd.Series(np.where(a < b, a, b)).str.cat(
            pd.Series(np.where(a < b, b, a)), sep="\x1f"
        )
        decided = {"\x1f".join(sorted(pair)) for pair in keep_apart if len(pair) == 2}
        apart = keys.isin(decided).to_numpy()
        left, right = left[~apart], right[~apart]
    scored = compare(prepared, rules, left, right)
    forced_frame = None
    if forced:
        pos = {v: i for i, v in enumerate(ids)}
        rows = [
            (min(pos[a], pos[b]), max(pos[a], pos[b]))
            for a, b in forced
            if a in pos and b in pos and a != b
        ]
        if rows:
            forced_frame = pd.DataFrame(rows, columns=["left", "right"]).assign(score=rules.strong)
    rank = survivor_order(
        records, rules, None if priority is None else priority.reindex(records.index)
    ).to_numpy()
    return DedupeResult(records, scored, cluster(scored, rules, rank, forced_frame), stats, kept)


def _join_by_cluster(cluster: np.ndarray, values: pd.Series) -> pd.Series:
    """Each cluster's values ;-joined in their order (Arrow's grouped list and join: pandas'
    `agg(";".join)` calls Python once per cluster)."""
    table = pa.table({"c": cluster, "v": pa.array(values.astype("str")).cast(pa.string())})
    grouped = table.group_by("c", use_threads=False).aggregate([("v", "list")])
    joined = pc.binary_join(grouped["v_list"], ";").to_numpy(zero_copy_only=False)
    return pd.Series(joined, index=grouped["c"].to_numpy(), dtype=object)


def merge(
    sheet: pd.DataFrame,
    result: DedupeResult,
    rules: DedupeRules,
    *,
    now: datetime,
    command: str = "dedupe",
    source_labels: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the clusters: the survivor fills its blanks and joins values; others are marked.

    Returns the updated sheet (same rows, same order) and the Log rows (time, command, lead_id,
    column, old, new). Vectorised over clusters: no per-record Python work.
    """
    if not result.clusters.merges:
        return sheet, pd.DataFrame()
    index = result.records.index
    idc, mark = rules.id_column, rules.mark_column
    out = sheet.copy(deep=False)  # copy-on-write: only the columns merged into are copied
    if mark not in out.columns:
        out[mark] = pd.Series(np.nan, index=out.index, dtype=object)
    out[mark] = out[mark].astype(object)

    sizes = np.array([1 + len(o) for _, o in result.clusters.merges])
    positions = np.concatenate([[s, *o] for s, o in result.clusters.merges])
    cluster_of = np.repeat(np.arange(len(sizes)), sizes)
    is_survivor = np.zeros(len(positions), dtype=bool)
    is_survivor[np.r_[0, np.cumsum(sizes)[:-1]]] = True
    rows = index[positions]  # members in survivor order within each cluster
    survivor_rows = rows[is_survivor]
    members = out.loc[rows].reset_index(drop=True)
    members["_cluster"] = cluster_of
    logs: list[pd.DataFrame] = []

    def logged(target_rows: Any, column: str, old: pd.Series, new: pd.Series) -> None:
        logs.append(pd.DataFrame({
            "lead_id": out.loc[target_rows, idc].to_numpy(), "column": column,
            "old": cell_texts(old).to_numpy(), "new": cell_texts(new).to_numpy(),
        }))  # fmt: skip

    joined_columns = [c for c in rules.join if c in out.columns]
    if rules.sources_into and rules.sources_into in out.columns:
        joined_columns.append(rules.sources_into)
    fill_columns = [
        c
        for c in out.columns
        if c not in (idc, mark, *joined_columns) and not str(c).startswith("_")
    ]
    outcome = [c for c in rules.with_status if c in fill_columns]
    if outcome and rules.status_column in members.columns:
        # an outcome (close date, deal, loss reason) is a record's own, not the customer's: it
        # fills the survivor only from a record in the survivor's status
        status = members[rules.status_column].astype(object)
        theirs = pd.Series(status[is_survivor].to_numpy()).reindex(cluster_of).to_numpy()
        same = (status.to_numpy() == theirs) | (pd.isna(status.to_numpy()) & pd.isna(theirs))
        for column in outcome:
            members[column] = members[column].where(same)
    firsts = members.groupby("_cluster", sort=True)[fill_columns].first()
    survivors = out.loc[survivor_rows, fill_columns]
    # which survivor cells a member can fill, for all columns at once; most columns have none
    fillable = survivors.isna().to_numpy() & firsts.notna().to_numpy()
    for at in np.flatnonzero(fillable.any(axis=0)):
        column, filled = fill_columns[at], fillable[:, at]
        old = survivors[column]
        new = pd.Series(firsts[column].to_numpy(), index=survivor_rows)
        if out[column].dtype != object and new.dtype != out[column].dtype:
            out[column] = out[column].astype(object)
        out.loc[survivor_rows[filled], column] = new[filled].to_numpy()
        logged(survivor_rows[filled], column, old[filled], new[filled])

    labels = source_labels or {}
    for column in joined_columns:
        values = members[column].astype(object)
        if column == rules.sources_into and "source" in members.columns:
            # each merged record's channel and detail, as kept on the survivor: 展会: A40
            src = members["source"]
            label = src.map(labels).astype(object).where(src.isin(labels.keys()), src)
            detail = cell_texts(values)
            channel = (label.astype(str) + ": " + detail.astype(str)).where(detail.notna(), label)
            channel = channel.where(src.notna(), detail)
            values = values.where(is_survivor, channel)
        # each ;-joined value split into its pieces, in Arrow (pandas' split + explode run per cell)
        lists = pc.split_pattern(pa.array(cell_texts(values).to_numpy(), type=pa.string()), ";")
        flat = pc.utf8_trim_whitespace(pc.list_flatten(lists))
        keep = pc.greater(pc.utf8_length(flat), 0).to_numpy(zero_copy_only=False)
        owner = cluster_of[pc.list_parent_indices(lists).to_numpy()]
        pieces = pd.DataFrame(
            {"_cluster": owner[keep], "v": pd.Series(flat.filter(keep), dtype="str")}
        ).drop_duplicates()
        joined = _join_by_cluster(pieces["_cluster"].to_numpy(), pieces["v"])
        new = pd.Series(joined.reindex(range(len(sizes))).to_numpy(), index=survivor_rows)
        old = out.loc[survivor_rows, column]
        changed = new.notna().to_numpy() & (new.to_numpy() != cell_texts(old).to_numpy())
        if changed.any():
            out[column] = out[column].astype(object)
            out.loc[survivor_rows[changed], column] = new[changed].to_numpy()
            logged(survivor_rows[changed], column, old[changed], new[changed])

    merged_rows = rows[~is_survivor]
    their_survivor = survivor_rows[cluster_of[~is_survivor]]
    survivor_ids = out.loc[their_survivor, idc].to_numpy()
    out.loc[merged_rows, mark] = survivor_ids
    logged(merged_rows, mark, pd.Series([None] * len(merged_rows)), pd.Series(survivor_ids))
    log = pd.concat(logs, ignore_index=True)
    log.insert(0, "command", command)
    log.insert(0, "time", pd.Timestamp(now))
    return out, log


# ---------------------------------------------------------------------------------------------
# Review files

REVIEW_DECISIONS = {"merge": ("合并", "Merge"), "keep_apart": ("分开", "Keep Apart")}


def review_table(result: DedupeResult, rules: DedupeRules, lang: str) -> pd.DataFrame:
    """Uncertain pairs side by side, with an empty decision column for a person."""
    pairs = result.clusters.review
    records = result.records
    cols: dict[str, Any] = {
        ("决定" if lang == "zh" else "Decision"): [None] * len(pairs),
        ("得分" if lang == "zh" else "Score"): pairs["score"].round(3).to_numpy(),
        ("原因" if lang == "zh" else "Why"): pairs.get(
            "why", pd.Series("", index=pairs.index)
        ).to_numpy(),
        "left_id": records[rules.id_column].iloc[pairs["left"]].to_numpy(),
        "right_id": records[rules.id_column].iloc[pairs["right"]].to_numpy(),
    }
    for f in rules.fields:
        if f.column in records.columns:
            cols[f"left_{f.column}"] = records[f.column].iloc[pairs["left"]].to_numpy()
            cols[f"right_{f.column}"] = records[f.column].iloc[pairs["right"]].to_numpy()
    return pd.DataFrame(cols)


def read_decisions(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(left_id, right_id, merge|keep_apart) for every decided row of a review table."""
    return [
        (str(frame.at[row, "left_id"]), str(frame.at[row, "right_id"]), decision)
        for row, decision in decided_rows(frame, REVIEW_DECISIONS, ("left_id", "right_id"))
    ]
