"""Candidate pairs by blocking, and each pair's field similarities and score."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadkit.rules.dedupe import AGREE, BRANCH, DISAGREE, MISSING, PARTIAL, DedupeRules, FieldRule
from leadkit.steps.dedupe.fields import GUESS, HAN, PLACED, REGION, _guessed, _person_levels

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
    try:  # prepared keys are text or None: straight into Arrow (through pandas cost 2x)
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # anything else, as its text
        text = pa.array(pd.Series(values, dtype=object).astype("str").where(pd.notna(values)))
    text = pc.utf8_slice_codeunits(text, 0, cut)
    text = pc.if_else(pc.greater(pc.utf8_length(text), 0), text, None)
    return text.dictionary_encode().indices.fill_null(-1).to_numpy().astype(np.int64)


def _block_codes(
    prepared: dict[str, np.ndarray], rule: str, terms: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    """Group codes of a blocking rule: equal codes <=> equal value on every term; -1 where a
    term has none. Terms combine as integers, not as joined strings (a fifth of the time).
    `terms` keeps each term's codes for the next rule that uses it (contact is in two)."""
    codes: np.ndarray | None = None
    terms = {} if terms is None else terms
    for term in rule.split("+"):
        term = term.strip()
        if term not in terms:
            name, _, cut = term.partition("[:")
            terms[term] = _term_codes(prepared[name], int(cut.rstrip("]")) if cut else None)
        term_codes = terms[term]
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


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array, as np.unique gives them. A sort and a
    neighbour test: NumPy 2.3+ finds them by hashing first, 17x slower on 400k pair keys."""
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


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
    terms: dict[str, np.ndarray] = {}
    for rule in rules.blocking:
        codes = _block_codes(prepared, rule, terms)
        left, right, skipped = _pairs_within_groups(codes, rules.max_block)
        stats.pairs[rule] = int(left.size)
        stats.skipped[rule] = skipped
        all_l.append(left)
        all_r.append(right)
    left = np.concatenate(all_l) if all_l else np.empty(0, dtype=np.int64)
    right = np.concatenate(all_r) if all_r else np.empty(0, dtype=np.int64)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    combined = distinct(lo.astype(np.int64) * n + hi)
    return combined // n, combined % n, stats


# ---------------------------------------------------------------------------------------------
# Compare


def _scorer(name: str) -> Any:
    from rapidfuzz import fuzz

    return getattr(fuzz, name)


def _short_names(a: np.ndarray, b: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Positions of 简称 pairs: a key that is the start of the other, which is longer by a trade
    word or more (德兴 / 德兴教育科技), is the same name written short. Partial, never agree
    (德兴 is also the start of 德兴物流). Only pairs the scorer called different are looked at
    (their lengths too: measuring every pair's was most of the time at 100k leads)."""
    todo = np.flatnonzero(level == DISAGREE)
    if not todo.size:
        return todo
    ta, tb = a[todo].tolist(), b[todo].tolist()
    la = np.fromiter((len(x) if isinstance(x, str) else 0 for x in ta), np.int64, len(ta))
    lb = np.fromiter((len(x) if isinstance(x, str) else 0 for x in tb), np.int64, len(tb))
    near = np.flatnonzero((np.minimum(la, lb) >= 2) & (np.abs(la - lb) >= 2))
    # the shorter a prefix of the longer (both text here: lengths of 2 and more)
    hit = np.fromiter(
        (
            (y.startswith(x) if len(x) < len(y) else x.startswith(y))
            for x, y in zip([ta[i] for i in near], [tb[i] for i in near], strict=True)
        ),
        bool,
        near.size,
    )
    return todo[near[hit]]


class _Blank:
    """Which records have no value under a prepared key: worked out once per key over the
    records and read per pair by position (pd.isna over both sides of every pair, a dozen times,
    was a fifth of compare at 100k leads)."""

    def __init__(self, prepared: dict[str, np.ndarray]) -> None:
        self.prepared = prepared
        self.known: dict[str, np.ndarray] = {}

    def __call__(self, key: str) -> np.ndarray:
        if key not in self.known:
            self.known[key] = np.asarray(pd.isna(self.prepared[key]), dtype=bool)
        return self.known[key]


def _branches(values: np.ndarray, blank: np.ndarray) -> np.ndarray:
    """Which records' company key names a branch (分公司, 办事处 …), blanks never."""
    # in Arrow (RE2): pandas ran Python's re per key of the object column (0.016 s at 100k);
    # the pattern is literals alone, as pandas was given it (case-sensitive: keys are lower-case)
    text = pa.array(np.where(blank, np.array(None, dtype=object), values), type=pa.string(),
                    from_pandas=True)  # fmt: skip
    found = pc.match_substring_regex(text, BRANCH.pattern)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def _han_only(
    prepared: dict[str, np.ndarray], f: FieldRule, left: np.ndarray, right: np.ndarray,
    missing: np.ndarray, level: np.ndarray, blank: _Blank,
) -> None:  # fmt: skip
    """A company name with Latin letters beside one without: compared on its Han characters
    (瀚海 of 杭州 瀚海 Information Technology against 瀚海信息技术, a 简称 then); one with no Han
    at all (Acme Co., Ltd. against 艾克美科技) cannot be compared by characters: no evidence."""
    no_han = blank(f.name + HAN)
    one = np.flatnonzero(~missing & (no_han[left] ^ no_han[right]))
    if not one.size:
        return
    ha, hb = prepared[f.name + HAN][left[one]], prepared[f.name + HAN][right[one]]

    def plain(side: np.ndarray) -> np.ndarray:
        key, placed = prepared[f.name][side], prepared[f.name + PLACED][side]
        return np.where(pd.isna(placed), key, placed)

    xa = np.where(pd.isna(ha), plain(left[one]), ha).astype(object)
    xb = np.where(pd.isna(hb), plain(right[one]), hb).astype(object)
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


def _sims(a: np.ndarray, b: np.ndarray, scorer: str) -> np.ndarray:
    """The scorer's similarity of each pair of texts. `ratio` scores two equal texts 100 (blanks
    too): only the pairs that differ are scored, most of a company key's block being one name."""
    from rapidfuzz import process

    if scorer != "ratio":
        return process.cpdist(list(a), list(b), scorer=_scorer(scorer), workers=-1)
    sims = np.full(a.size, 100.0, dtype=np.float32)
    differ = np.flatnonzero(a != b)
    if differ.size:
        sims[differ] = process.cpdist(
            a[differ].tolist(), b[differ].tolist(), scorer=_scorer(scorer), workers=-1
        )
    return sims


def compare(
    prepared: dict[str, np.ndarray], rules: DedupeRules, left: np.ndarray, right: np.ndarray
) -> pd.DataFrame:
    """Per pair: each field's level (2 agree, 1 partial, 0 disagree, -1 missing) and the score.

    What depends on one record alone (blank or not, a branch's name) is worked out once per
    record and read per pair: at 100k leads there are up to three pairs per record."""
    from rapidfuzz import process

    blank = _Blank(prepared)
    levels: dict[str, np.ndarray] = {}
    score = np.zeros(left.size)
    for f in rules.fields:
        a, b = prepared[f.name][left], prepared[f.name][right]
        missing = blank(f.name)[left] | blank(f.name)[right]
        level = np.full(left.size, DISAGREE, dtype=np.int8)
        if f.comparator in ("fuzzy", "person", "company"):
            fill_a = np.where(missing, "", a).astype(object)
            fill_b = np.where(missing, "", b).astype(object)
            sims = _sims(fill_a, fill_b, f.scorer)
            if f.comparator == "company":
                # either side may also be read without its own place (太原卓远致 in 太原)
                unplaced = blank(f.name + PLACED)
                other = np.flatnonzero(~missing & ~(unplaced[left] & unplaced[right]))
                if other.size:
                    pa_ = prepared[f.name + PLACED][left[other]]
                    pb_ = prepared[f.name + PLACED][right[other]]
                    xa = np.where(unplaced[left[other]], a[other], pa_)
                    xb = np.where(unplaced[right[other]], b[other], pb_)
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
                _han_only(prepared, f, left, right, missing, level, blank)
                # a branch never matches its parent or another branch (a blank side is never
                # one; the pair is missing then anyway)
                branch = _branches(prepared[f.name], blank(f.name))
                # (texts compared only on the few pairs that concern: an object comparison
                # over every pair costs more than finding them)
                near = np.flatnonzero(branch[left] | branch[right])
                level[near[fill_a[near] != fill_b[near]]] = DISAGREE
                if f.regions_apart:
                    placed = ~blank(f.name + REGION)
                    both = np.flatnonzero(placed[left] & placed[right])
                    region = prepared[f.name + REGION]
                    level[both[region[left[both]] != region[right[both]]]] = DISAGREE
            if f.comparator == "person":
                _person_levels(prepared, f, left, right, level, blank)
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
                seen = np.zeros(len(prepared[f.name]), dtype=bool)
                seen[left[differ]] = seen[right[differ]] = True
                rows = np.flatnonzero(seen)  # the records of those pairs, in order
                if rows.size:
                    guess = np.zeros(len(prepared[f.name]), dtype=bool)
                    # the phone field of the same column has normalised these phones already
                    phone = next(
                        (g.name for g in rules.fields
                         if g.comparator == "phone" and g.column == f.guessed_from),
                        None,
                    )  # fmt: skip
                    guess[rows] = _guessed(
                        prepared[f.name][rows],
                        prepared[f.name + GUESS][rows],
                        None if phone is None else prepared[phone][rows],
                    )
                    level[differ[guess[left[differ]] | guess[right[differ]]]] = MISSING
            if f.comparator == "email":
                domains_a = prepared["email_domain"][left]
                corp = ~blank("email_domain")[left]
                same_corp = (domains_a == prepared["email_domain"][right]) & corp
                level[np.asarray(same_corp, dtype=bool) & (level != AGREE)] = PARTIAL
        level[missing] = MISSING
        levels[f.name] = level
        # each level's points by table look-up (index level + 1: missing, disagree, partial, agree)
        points = np.array([0.0, f.disagree, f.partial, f.agree])
        score += points[level + 1]
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
