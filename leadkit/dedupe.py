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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from leadkit.normalize import clean_text, company_key, normalize_email, normalize_phone
from leadkit.rules import Strict, fold_header

Comparator = Literal["exact", "normalized", "fuzzy", "phone", "email", "company", "number", "date"]
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
    agree: float = 0
    partial: float = 0
    disagree: float = 0

    @model_validator(mode="after")
    def _ordered(self) -> FieldRule:
        if self.partial_at is not None and self.partial_at > self.agree_at:
            raise ValueError("partial_at must not be above agree_at")
        if self.agree < self.partial:
            raise ValueError("agree points must not be below partial points")
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

    @model_validator(mode="after")
    def _consistent(self) -> DedupeRules:
        problems = []
        if not self.review < self.match <= self.strong:
            problems.append("thresholds must satisfy review < match <= strong")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            problems.append("field names must be unique")
        known = set(names) | set(DERIVED_KEYS)
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


def _fuzzy_form(values: pd.Series) -> pd.Series:
    text = clean_text(values)
    return text.str.lower().str.replace(r"[ \t\r\n]+", "", regex=True).astype(object)


def prepare(records: pd.DataFrame, rules: DedupeRules) -> dict[str, np.ndarray]:
    """Each field's values normalised once (blank or unusable -> None), plus derived keys."""
    out: dict[str, np.ndarray] = {}
    free = {d.lower() for d in rules.free_mail_domains}
    for f in rules.fields:
        values = (
            records[f.column]
            if f.column in records.columns
            else pd.Series(np.nan, index=records.index)
        )
        if f.comparator == "phone":
            normal, ok = normalize_phone(values)
            prepared = normal.where(ok)
        elif f.comparator == "email":
            normal, ok = normalize_email(values)
            prepared = normal.where(ok)
            domain = (
                prepared.astype("str").str.replace(r"^.*@", "", regex=True).where(prepared.notna())
            )
            out["email_domain"] = _array(domain.where(~domain.isin(free)))
        elif f.comparator == "company":
            prepared = company_key(values)
            out["company_key"] = _array(prepared)
        elif f.comparator in ("fuzzy",):
            prepared = _fuzzy_form(values)
        elif f.comparator == "normalized":
            prepared = clean_text(values).map(fold_header, na_action="ignore")
        elif f.comparator == "number":
            prepared = pd.to_numeric(values, errors="coerce")
        elif f.comparator == "date":
            prepared = pd.to_datetime(values, errors="coerce")
        else:
            prepared = clean_text(values)
        out[f.name] = (
            _array(prepared) if f.comparator not in ("number", "date") else prepared.to_numpy()
        )
    for key in DERIVED_KEYS:
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


def _block_key(prepared: dict[str, np.ndarray], rule: str) -> pd.Series:
    parts = []
    for term in rule.split("+"):
        term = term.strip()
        name, _, cut = term.partition("[:")
        values = pd.Series(prepared[name], dtype=object)
        if cut:
            values = values.astype("str").str.slice(0, int(cut.rstrip("]"))).where(values.notna())
            values = values.where(values.str.len() > 0)
        parts.append(values)
    key = parts[0].astype(object)
    for p in parts[1:]:
        key = (key + "\x1f" + p).where(key.notna() & p.notna())
    return key


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
        key = _block_key(prepared, rule)
        codes, _ = pd.factorize(key, use_na_sentinel=True)
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
        if f.comparator in ("fuzzy", "company"):
            fill_a = np.where(missing, "", a).astype(object)
            fill_b = np.where(missing, "", b).astype(object)
            sims = process.cpdist(list(fill_a), list(fill_b), scorer=_scorer(f.scorer), workers=-1)
            level[sims >= f.agree_at] = AGREE
            if f.partial_at is not None:
                level[(sims >= f.partial_at) & (sims < f.agree_at)] = PARTIAL
            if f.comparator == "company":
                # a branch never matches its parent or another branch
                branch_a = pd.Series(fill_a).str.contains(BRANCH.pattern, regex=True).to_numpy()
                branch_b = pd.Series(fill_b).str.contains(BRANCH.pattern, regex=True).to_numpy()
                level[(branch_a | branch_b) & (fill_a != fill_b)] = DISAGREE
        elif f.comparator == "number":
            with np.errstate(invalid="ignore"):
                level[np.abs(a.astype(float) - b.astype(float)) <= f.tolerance] = AGREE
        elif f.comparator == "date":
            diff = np.abs((pd.to_datetime(a) - pd.to_datetime(b)) / pd.Timedelta(days=1))
            level[np.asarray(diff <= f.tolerance)] = AGREE
        else:
            level[np.asarray(a == b, dtype=bool)] = AGREE
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
    frame = pd.DataFrame(levels)
    frame.insert(0, "right", right)
    frame.insert(0, "left", left)
    frame["score"] = np.round(score, 6)
    return frame


# ---------------------------------------------------------------------------------------------
# Cluster


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(x, x) != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self, members: set[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for m in sorted(members):
            out.setdefault(self.find(m), []).append(m)
        return out


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
            when = pd.to_datetime(
                col.where(col.map(lambda v: isinstance(v, datetime))), errors="coerce"
            )
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
    """Matched pairs into clusters, each around its survivor, guarded against weak chains."""
    matched = scored[scored["score"] >= rules.match]
    if forced is not None and not forced.empty:
        matched = pd.concat([matched, forced], ignore_index=True)
    strong = matched[matched["score"] >= rules.strong]
    review_parts = [
        scored[(scored["score"] >= rules.review) & (scored["score"] < rules.match)].assign(
            why="uncertain"
        )
    ]

    every, links = _UnionFind(), _UnionFind()
    for a, b in zip(matched["left"].to_numpy(), matched["right"].to_numpy(), strict=True):
        every.union(int(a), int(b))
    for a, b in zip(strong["left"].to_numpy(), strong["right"].to_numpy(), strict=True):
        links.union(int(a), int(b))
    direct = set(
        zip(matched["left"].to_numpy().tolist(), matched["right"].to_numpy().tolist(), strict=True)
    )

    merges: list[tuple[int, list[int]]] = []
    members_all = set(matched["left"].tolist()) | set(matched["right"].tolist())
    for members in every.groups(members_all).values():
        if len(members) > rules.max_cluster:
            inside = matched["left"].isin(members) & matched["right"].isin(members)
            review_parts.append(
                matched[inside].assign(why=f"cluster of {len(members)} (> max_cluster)")
            )
            continue
        survivor = min(members, key=lambda m: rank[m])
        kept, chained = [], []
        for m in members:
            if m == survivor:
                continue
            pair = (min(m, survivor), max(m, survivor))
            if pair in direct or links.find(m) == links.find(survivor):
                kept.append(m)
            else:
                chained.append(m)
        if kept:
            merges.append((survivor, sorted(kept, key=lambda m: rank[m])))
        if chained:
            inside = matched["left"].isin(chained) | matched["right"].isin(chained)
            review_parts.append(matched[inside].assign(why="linked only through weaker matches"))
    review = pd.concat(review_parts, ignore_index=True) if review_parts else scored.iloc[:0]
    review = review.drop_duplicates(subset=["left", "right"]).sort_values("score", ascending=False)
    return Clusters(merges=merges, review=review.reset_index(drop=True))


# ---------------------------------------------------------------------------------------------
# Find and merge


@dataclass
class DedupeResult:
    """Everything `leadkit dedupe` found in one sheet."""

    records: pd.DataFrame  # the active (not yet merged) records, positions = row order
    scored: pd.DataFrame
    clusters: Clusters
    blocking: BlockingStats

    def ids(self, positions: list[int] | np.ndarray, rules: DedupeRules) -> list[str]:
        return self.records[rules.id_column].iloc[list(positions)].astype(str).tolist()


def find_duplicates(
    sheet: pd.DataFrame,
    rules: DedupeRules,
    *,
    keep_apart: set[frozenset[str]] | None = None,
    only: pd.Series | None = None,
    priority: pd.Series | None = None,
    forced: list[tuple[str, str]] | None = None,
) -> DedupeResult:
    """Score candidate pairs among the sheet's active records and cluster the matches.

    `only` (a mask over the sheet) keeps pairs with at least one such record (import-time
    matching); `priority` (lower first) goes before the survivorship rules; `forced` pairs of ids
    are merged whatever their score (a person decided).
    """
    active_mask = (
        sheet[rules.mark_column].isna()
        if rules.mark_column in sheet.columns
        else pd.Series(True, index=sheet.index)
    )
    records = sheet[active_mask]
    n = len(records)
    prepared = prepare(records, rules)
    left, right, stats = candidate_pairs(prepared, rules, max(n, 1))
    if only is not None and left.size:
        wanted = only.reindex(records.index, fill_value=False).to_numpy()
        keep = wanted[left] | wanted[right]
        left, right = left[keep], right[keep]
    ids = records[rules.id_column].astype(str).to_numpy()
    if keep_apart and left.size:
        apart = np.array(
            [frozenset((ids[a], ids[b])) in keep_apart for a, b in zip(left, right, strict=True)],
            dtype=bool,
        )
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
    return DedupeResult(records, scored, cluster(scored, rules, rank, forced_frame), stats)


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

    Returns the updated sheet (same rows, same order) and the Log rows.
    """
    if not result.clusters.merges:
        return sheet, pd.DataFrame()
    records = result.records
    index = records.index
    idc, mark = rules.id_column, rules.mark_column
    out = sheet.copy()
    if mark not in out.columns:
        out[mark] = pd.Series(np.nan, index=out.index, dtype=object)
    out[mark] = out[mark].astype(object)

    rows = []
    for cluster_no, (survivor, others) in enumerate(result.clusters.merges):
        for order, pos in enumerate([survivor, *others]):
            rows.append((cluster_no, order, index[pos], index[survivor]))
    plan = pd.DataFrame(rows, columns=["cluster", "order", "row", "survivor_row"])
    members = out.loc[plan["row"]].reset_index(drop=True)
    members["_cluster"] = plan["cluster"].to_numpy()  # rows in survivor order within a cluster

    log: list[dict[str, Any]] = []
    survivor_rows = plan.loc[plan["order"] == 0, "row"].to_numpy()
    fill_columns = [
        c for c in out.columns
        if c not in (idc, mark, *rules.join, rules.sources_into or "") and not str(c).startswith("_")
    ]  # fmt: skip
    firsts = members.groupby("_cluster", sort=True)[fill_columns].first()
    for column in fill_columns:
        old = out.loc[survivor_rows, column]
        new = pd.Series(firsts[column].to_numpy(), index=survivor_rows)
        filled = old.isna().to_numpy() & new.notna().to_numpy()
        if filled.any():
            if out[column].dtype != object and not pd.api.types.is_dtype_equal(
                out[column].dtype, new.dtype
            ):
                out[column] = out[column].astype(object)
            out.loc[survivor_rows[filled], column] = new[filled].to_numpy()
            for r in survivor_rows[filled]:
                log.append(
                    {
                        "lead_id": out.at[r, idc],
                        "column": column,
                        "old": None,
                        "new": _text(out.at[r, column]),
                    }
                )

    labels = source_labels or {}

    def channel(row: pd.Series) -> str | None:
        """A merged record's channel and detail, as kept on the survivor: 展会: A40."""
        src, detail = row.get("source"), row.get(rules.sources_into)
        if src is None or pd.isna(src):
            return _text(detail)
        label = labels.get(src, src)
        return f"{label}: {detail}" if _text(detail) else str(label)

    joined_columns = [c for c in rules.join if c in out.columns]
    if rules.sources_into and rules.sources_into in out.columns:
        joined_columns.append(rules.sources_into)
    for surv_row, group in plan.groupby("survivor_row", sort=False)["row"]:
        others = [r for r in group.tolist() if r != surv_row]
        for column in joined_columns:
            if column == rules.sources_into:
                values = [out.at[surv_row, column], *(channel(out.loc[r]) for r in others)]
            else:
                values = [out.at[surv_row, column], *(out.at[r, column] for r in others)]
            new = _join_unique(pd.Series(values, dtype=object))
            old = _text(out.at[surv_row, column])
            if new and new != old:
                if out[column].dtype != object:
                    out[column] = out[column].astype(object)
                out.at[surv_row, column] = new
                log.append(
                    {"lead_id": out.at[surv_row, idc], "column": column, "old": old, "new": new}
                )

    merged = plan[plan["order"] > 0]
    out.loc[merged["row"].to_numpy(), mark] = out.loc[
        merged["survivor_row"].to_numpy(), idc
    ].to_numpy()
    for row, surv in zip(merged["row"], merged["survivor_row"], strict=True):
        log.append(
            {"lead_id": out.at[row, idc], "column": mark, "old": None, "new": out.at[surv, idc]}
        )
    log_frame = pd.DataFrame(log)
    log_frame.insert(0, "command", command)
    log_frame.insert(0, "time", pd.Timestamp(now))
    return out, log_frame


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _join_unique(values: pd.Series) -> str | None:
    seen: list[str] = []
    for v in values.dropna():
        for part in str(v).split(";"):
            part = part.strip()
            if part and part not in seen:
                seen.append(part)
    return ";".join(seen) if seen else None


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
    decision_col = next((c for c in frame.columns if fold_header(c) in ("决定", "decision")), None)
    if decision_col is None or "left_id" not in frame.columns or "right_id" not in frame.columns:
        raise ValueError(
            "not a leadkit review file: it needs the columns 决定/Decision, left_id, right_id"
        )
    lookup = {fold_header(k): k for k in REVIEW_DECISIONS}
    for key, (zh, en) in REVIEW_DECISIONS.items():
        lookup[fold_header(zh)] = key
        lookup[fold_header(en)] = key
    out = []
    for _, row in frame.iterrows():
        raw = row[decision_col]
        if raw is None or (isinstance(raw, float) and np.isnan(raw)) or not str(raw).strip():
            continue
        decision = lookup.get(fold_header(str(raw)))
        if decision is None:
            raise ValueError(
                f"row {_ + 2}: decision {raw!r} is neither merge (合并) nor keep apart (分开)"
            )
        out.append((str(row["left_id"]), str(row["right_id"]), decision))
    return out
