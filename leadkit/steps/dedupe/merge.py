"""A cluster merged into its survivor (blanks filled, channels kept), and the review list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadkit.normalize import (
    cell_texts,
)
from leadkit.rules.dedupe import DedupeRules
from leadkit.steps.dedupe.cluster import DedupeResult
from leadkit.steps.review import decided_rows


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
