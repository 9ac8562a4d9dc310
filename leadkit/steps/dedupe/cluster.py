"""Pairs into clusters: conflicts split apart, the survivor chosen, settled decisions kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadkit.normalize import (
    real_dates,
)
from leadkit.rules.dedupe import DISAGREE, DedupeRules
from leadkit.steps.dedupe.compare import BlockingStats, candidate_pairs, compare, distinct
from leadkit.steps.dedupe.fields import Prepared, _field_columns, prepare

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
        known = distinct(np.minimum(a, b) * n + np.maximum(a, b))
        # membership by binary search in the sorted keys (np.isin hashes both sides again)
        keys = np.minimum(rl, rr) * n + np.maximum(rl, rr)
        at = np.minimum(np.searchsorted(known, keys), known.size - 1)
        drop |= known[at] == keys
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
