"""Review files: a one-sheet workbook leadkit hands a person with an empty decision column.

`dedupe --review` and `enrich --review` both write one (bookio.write_table with a drop-down of the
choices in the book's language) and read it back with `decided_rows`, so a decision typed as
合并, Merge, merge or " 采用 " means the same in either, and a typo is an error naming its row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadkit.rules.base import fold_header

DECISION_HEADERS = ("决定", "decision")


def decision_column(frame: pd.DataFrame) -> str | None:
    """The header of the decision column (决定 / Decision, any case), if the frame has one."""
    return next((c for c in frame.columns if fold_header(c) in DECISION_HEADERS), None)


def decided_rows(
    frame: pd.DataFrame, choices: dict[str, tuple[str, str]], needed: tuple[str, ...]
) -> list[tuple[object, str]]:
    """(row label, choice key) for every row of a review table a person decided.

    `choices` maps each key to its zh and en labels (the drop-down's); the key itself is accepted
    too. Raises ValueError for a file without the decision column or a `needed` column, and for a
    decision that is none of the choices (with the row number as a spreadsheet shows it when the
    frame comes from bookio.read_table).
    """
    column = decision_column(frame)
    missing = [c for c in needed if c not in frame.columns]
    if column is None or missing:
        raise ValueError(
            "not a leadkit review file: it needs the columns 决定/Decision, " + ", ".join(needed)
        )
    lookup: dict[str, str] = {}
    for key, (zh, en) in choices.items():
        for label in (key, zh, en):
            lookup[fold_header(label)] = key
    named = " nor ".join(f"{key.replace('_', ' ')} ({zh})" for key, (zh, _) in choices.items())
    out: list[tuple[object, str]] = []
    for label, raw in frame[column].items():
        if raw is None or (isinstance(raw, float) and np.isnan(raw)) or pd.isna(raw):
            continue
        if not str(raw).strip():
            continue
        decision = lookup.get(fold_header(str(raw)))
        if decision is None:
            raise ValueError(f"row {label}: decision {raw!r} is neither {named}")
        out.append((label, decision))
    return out
