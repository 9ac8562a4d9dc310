"""Check step: validate a book against the template, each problem with sheet, row and column."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import pandas as pd

from leadkit.bookio import Book
from leadkit.normalize import is_in, normalize_email, normalize_phone, real_dates
from leadkit.problems import Problem
from leadkit.rules.base import CLOSED_STATUSES
from leadkit.rules.columns import ColumnsRules


@dataclass(frozen=True)
class Finding:
    """One problem in the book."""

    sheet: str
    row: int
    column: str
    problem: str
    value: str = ""
    code: str = ""  # leadkit.problems.Problem: stable, for scripts (`check --json`)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _values(series: pd.Series, mask: pd.Series) -> list[tuple[int, str]]:
    return [(int(i), "" if pd.isna(v) else str(v)) for i, v in series[mask].items()]


def check_book(
    book: Book, columns: ColumnsRules, now: datetime, roster: Collection[str] | None = None
) -> list[Finding]:
    """Every problem in the book's Leads and Activities sheets, in sheet/row order.

    With the team's names (`roster`), an owner who is not on it is flagged: such a lead has no
    first-contact deadline, reminder or recycling, so it can sit unworked unseen."""
    findings: list[Finding] = []
    lang = book.lang
    leads_spec = columns.sheets["leads"]
    title = leads_spec.title(lang)
    leads = book.leads
    header = {c.key: c.header(lang) for c in leads_spec.columns}

    def add(mask: pd.Series, key: str, problem: Problem, series: pd.Series | None = None) -> None:
        source = leads[key] if series is None else series
        for row, value in _values(source, mask):
            findings.append(Finding(title, row, header.get(key, key), problem.text, value, problem))

    for key in book.missing_headers.get("leads", []):
        if leads_spec.by_key[key].required:
            findings.append(
                Finding(
                    title, 1, header[key], Problem.missing_column.text, code=Problem.missing_column
                )
            )

    ids = leads["lead_id"]
    add(ids.isna(), "lead_id", Problem.empty_id)
    add(ids.notna() & ids.duplicated(keep=False), "lead_id", Problem.duplicate_id)

    for col in leads_spec.columns:
        values = leads[col.key]
        present = values.notna()
        if not present.any():
            continue
        if col.type == "enum":
            keys = {o.key for o in columns.enums[col.enum]}
            add(present & ~values.isin(keys), col.key, Problem.unlisted_value)
        elif col.type == "datetime":
            add(present & real_dates(values).isna(), col.key, Problem.unparsed_date)
        elif col.type in ("number", "money", "int"):
            numeric = pd.to_numeric(values, errors="coerce")
            add(present & numeric.isna(), col.key, Problem.not_a_number)
            add(numeric < 0, col.key, Problem.negative_number)
        elif col.type == "phone":
            normal, ok = normalize_phone(values)
            add(present & ~ok, col.key, Problem.bad_phone)
            add(present & ok & (normal != values.astype(str)), col.key, Problem.unnormalised_phone)
        elif col.type == "email":
            normal, ok = normalize_email(values)
            add(present & ~ok, col.key, Problem.bad_email)

    if roster is not None:
        owners = leads["owner"]
        stranger = owners.notna() & ~is_in(owners.astype(str), list(roster))
        add(stranger, "owner", Problem.unknown_owner)

    created = real_dates(leads["created_at"])
    closed = real_dates(leads["closed_at"])
    add(created > pd.Timestamp(now + timedelta(days=1)), "created_at", Problem.future_date)
    add(closed < created, "closed_at", Problem.closed_before_created)
    won_or_lost = leads["status"].isin(list(CLOSED_STATUSES))
    add(
        leads["status"].notna() & ~won_or_lost & closed.notna(),
        "closed_at",
        Problem.closed_but_open,
    )

    activities = book.sheets["activities"]
    if not activities.empty:
        act_title = columns.sheets["activities"].title(lang)
        act_header = columns.sheets["activities"].by_key["lead_id"].header(lang)
        unknown = activities["lead_id"].notna() & ~is_in(activities["lead_id"], ids.dropna())
        for row, value in _values(activities["lead_id"], unknown):
            findings.append(
                Finding(
                    act_title,
                    row,
                    act_header,
                    Problem.unknown_lead.text,
                    value,
                    Problem.unknown_lead,
                )
            )
        act_spec = columns.sheets["activities"]
        date_header = act_spec.by_key["date"].header(lang)
        undated = activities["lead_id"].notna() & real_dates(activities["date"]).isna()
        for row, value in _values(activities["date"], undated):
            problem = Problem.unparsed_date if value else Problem.undated_activity
            findings.append(Finding(act_title, row, date_header, problem.text, value, problem))
        status = activities["status_after"]
        keys = {o.key for o in columns.enums["status"]}
        for row, value in _values(status, status.notna() & ~status.isin(keys)):
            findings.append(Finding(act_title, row, act_spec.by_key["status_after"].header(lang),
                                    Problem.unlisted_value.text, value, Problem.unlisted_value))  # fmt: skip

    findings.sort(key=lambda f: (f.sheet != title, f.row, f.column))
    return findings
