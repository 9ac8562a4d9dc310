"""An import's plan and summary: which columns map where, and each row's normalised values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import pandas as pd

from leadkit.bookio import Book, RawTable
from leadkit.normalize import (
    WORKERS,
    clean_text,
    company_display,
    keep_unparsed,
    map_distinct,
    map_enum,
    normalize_email,
    normalize_phone,
    parse_count,
    parse_datetime,
    parse_money,
)
from leadkit.problems import Problem
from leadkit.rules.base import short_province
from leadkit.rules.columns import ColumnSpec, ColumnsRules, RegionsRules
from leadkit.steps.headers import HeaderPlan, match_headers, vocabulary


@dataclass
class FileSummary:
    """What happened to one sheet or CSV."""

    file: str
    sheet: str | None
    encoding: str | None
    read: int = 0
    imported: int = 0
    rejected: int = 0
    already: int = 0
    warnings: int = 0
    unmapped: list[str] = field(default_factory=list)  # headers kept as extra columns
    # mapped by similarity or content (not a map or an exact alias): header, column, how, confidence
    matched: list[dict[str, object]] = field(default_factory=list)
    # unmapped headers that look like a template column: header, column, confidence, why
    suspects: list[dict[str, object]] = field(default_factory=list)
    conflicts: list[dict[str, str]] = field(default_factory=list)  # column, winner, loser, why
    map_file: str | None = None  # the saved map used for this sheet
    no_capture_time: int = 0  # imported leads whose 获取时间 was absent or blank (set to now)
    # rows already in the book: source row, the Imports sheet row that recorded it, its lead_id
    already_rows: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Warning_:
    file: str
    row: int
    column: str
    message: str
    code: str = ""  # leadkit.problems.Problem: stable, for scripts (`import --json`)


@dataclass
class _Batch:
    """Warnings of one kind as columns: a file, row and message per warning."""

    files: np.ndarray
    rows: np.ndarray
    column: str
    messages: np.ndarray
    code: str

    def at(self, i: int) -> Warning_:
        return Warning_(str(self.files[i]), int(self.rows[i]), self.column, self.messages[i],
                        self.code)  # fmt: skip


class Warnings(Sequence[Warning_]):
    """An import's warnings, in order. A large batch of one kind (the places check warns of most
    rows of a messy sheet) is kept as columns and made into `Warning_`s only as they are read:
    78k objects were 0.2 s of a 100k import, and a person is shown five of them."""

    def __init__(self, items: Iterable[Warning_] = ()) -> None:
        self._parts: list[list[Warning_] | _Batch] = [list(items)]

    def append(self, warning: Warning_) -> None:
        last = self._parts[-1]
        if isinstance(last, list):
            last.append(warning)
        else:
            self._parts.append([warning])

    def extend(self, warnings: Iterable[Warning_]) -> None:
        if isinstance(warnings, Warnings):
            self._parts.extend(warnings._parts)
        else:
            for warning in warnings:
                self.append(warning)

    def add_batch(self, batch: _Batch) -> None:
        self._parts.append(batch)

    def per_file(self) -> Counter[str]:
        """How many warnings name each file."""
        counts: Counter[str] = Counter()
        for part in self._parts:
            if isinstance(part, list):
                counts.update(w.file for w in part)
            else:
                files, n = np.unique(part.files.astype(str), return_counts=True)
                counts.update(dict(zip(files.tolist(), n.tolist(), strict=True)))
        return counts

    def __len__(self) -> int:
        return sum(len(p) if isinstance(p, list) else len(p.rows) for p in self._parts)

    def __iter__(self) -> Iterator[Warning_]:
        for part in self._parts:
            if isinstance(part, list):
                yield from part
            else:
                yield from (part.at(i) for i in range(len(part.rows)))

    @overload
    def __getitem__(self, index: int) -> Warning_: ...
    @overload
    def __getitem__(self, index: slice) -> list[Warning_]: ...
    def __getitem__(self, index: int | slice) -> Warning_ | list[Warning_]:
        if isinstance(index, slice):
            return [self._one(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._one(index)

    def _one(self, index: int) -> Warning_:
        for part in self._parts:
            size = len(part) if isinstance(part, list) else len(part.rows)
            if index < size:
                return part[index] if isinstance(part, list) else part.at(index)
            index -= size
        raise IndexError(index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Warnings | list):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass
class ImportResult:
    """New rows for the Leads, Rejects, Imports and Log sheets, and what to tell the user."""

    leads: pd.DataFrame
    rejects: pd.DataFrame
    imports: pd.DataFrame
    log: pd.DataFrame
    files: list[FileSummary]
    warnings: Warnings
    linked: int = 0  # new leads found to be an existing customer, merged into it
    migrated: dict[int, str] = field(
        default_factory=dict
    )  # Imports row -> its legacy key's new key
    # every row found already in the book: row_key, source row, _summary (its FileSummary)
    again: pd.DataFrame = field(default_factory=pd.DataFrame)
    # whether applying it changed the book; a re-import that finds every row there does not,
    # and the book is then not written (nor backed up) at all
    changed: bool = True

    @property
    def totals(self) -> dict[str, int]:
        keys = ("read", "imported", "rejected", "already", "warnings")
        totals = {k: sum(getattr(f, k) for f in self.files) for k in keys}
        totals["linked"] = self.linked
        return totals


def _describe_rows(raw: pd.DataFrame, headers: list[str]) -> pd.Series:
    """Each raw row as `header=value; header=value` (blank cells left out), for the Rejects sheet."""
    joined = pd.Series("", index=raw.index, dtype=object)
    for pos, header in enumerate(headers):
        cell = raw[pos].astype("str")
        piece = (header + "=" + cell).where(raw[pos].notna(), "")
        joined = joined + "\x1f" + piece.astype(object)
    joined = joined.astype("str").str.replace("\x1f+", "; ", regex=True).str.strip("; ")
    return joined.astype(object)


def _map_headers(
    table: RawTable,
    columns: ColumnsRules,
    fixed: dict[str, str | None],
    sheet: str = "leads",
) -> tuple[dict[int, str], HeaderPlan]:
    """Column position -> key (or the original header for unmapped columns), and why."""
    rows = vocabulary(columns, sheet).canon.matching.sample_rows
    # a sample from the top of each column is content evidence enough, and costs nothing
    head = table.frame.iloc[: rows * 5]
    samples = [head[pos].dropna().head(rows).tolist() for pos in range(len(table.headers))]
    plan = match_headers(table.headers, samples, columns, sheet=sheet, fixed=fixed)
    return plan.names(), plan


def looks_like_events(table: RawTable, columns: ColumnsRules) -> bool:
    """Whether a sheet is behaviour events by its columns: a time, an event and a lead ID, phone
    or e-mail to tie it to a lead, and no company (every lead sheet names one, an event log
    does not)."""
    events = set(_map_headers(table, columns, {}, sheet="events")[0].values())
    if not ({"time", "event"} <= events and events & {"lead_id", "phone", "email"}):
        return False
    return "company" not in set(_map_headers(table, columns, {})[0].values())


def plan_headers(
    table: RawTable, columns: ColumnsRules, fixed: dict[str, str | None]
) -> HeaderPlan:
    """What the header matcher makes of one sheet (its headers and a sample of its cells)."""
    return _map_headers(table, columns, fixed)[1]


def _describe_plan(summary: FileSummary, plan: HeaderPlan) -> None:
    summary.unmapped = [m.header for m in plan.unmapped]
    summary.matched = [
        {"header": m.header, "column": m.key, "how": m.how, "confidence": m.confidence}
        for m in plan.inferred
    ]
    summary.suspects = [
        {"header": m.header, "column": m.guess, "confidence": m.guess_confidence, "why": m.why}
        for m in plan.suspects
    ]
    summary.conflicts = [
        {"column": c.key, "winner": c.winner, "loser": c.loser, "why": c.why}
        for c in plan.conflicts
    ]


def _completeness(leads: pd.DataFrame, columns: ColumnsRules) -> pd.Series:
    def filled(groups: list[str]) -> pd.Series:
        ok = pd.Series(True, index=leads.index)
        for group in groups:
            ok &= leads[group.split("|")].notna().any(axis=1)
        return ok

    out = pd.Series("incomplete", index=leads.index, dtype=object)
    out[filled(columns.completeness.basic)] = "basic"
    out[filled(columns.completeness.complete)] = "complete"
    return out


def completeness(leads: pd.DataFrame, columns: ColumnsRules) -> pd.Series:
    """信息完整度 of each lead by the rule in columns.yaml."""
    present = leads.reindex(columns=columns.sheets["leads"].keys)
    return _completeness(present, columns)


def _next_ids(book: Book, count: int, prefix: str, year: int) -> list[str]:
    stem = f"{prefix}{year}"
    existing = book.leads["lead_id"].dropna().astype(str)
    seqs = existing[existing.str.startswith(stem)].str.slice(len(stem))
    seqs = pd.to_numeric(seqs[seqs.str.fullmatch(r"[0-9]+")], errors="coerce")
    start = int(seqs.max()) + 1 if len(seqs) else 1
    return [f"{stem}{n:06d}" for n in range(start, start + count)]


def _normalise_column(
    col: ColumnSpec, values: pd.Series, columns: ColumnsRules, tz: str
) -> tuple[pd.Series, pd.Series | None, pd.Series | None, Problem | None]:
    """One mapped column: (normalised values, usable (phone, e-mail), cells to warn about, why)."""
    present = values.notna()
    if col.type == "phone":
        value, ok = normalize_phone(values)
        return value, ok, present & ~ok, Problem.bad_phone
    if col.type == "email":
        value, ok = normalize_email(values)
        return value, ok, present & ~ok, Problem.bad_email
    if col.type == "datetime":
        value, bad = keep_unparsed(values, *parse_datetime(values, tz))
        return value, None, bad, Problem.unparsed_date
    if col.type in ("money", "int", "number"):
        parser = parse_count if col.type == "int" else parse_money
        value, bad = keep_unparsed(values, *parser(values))
        return value, None, bad, Problem.not_a_number
    if col.type == "enum":
        keys, known = map_enum(values, columns.enum_lookup[col.enum])
        return keys, None, ~known, Problem.unlisted_value
    if col.type == "timeline":
        parsed, ok = parse_datetime(values, tz)
        return parsed.dt.strftime("%Y-%m-%d").where(ok, clean_text(values)), None, None, None
    if col.key == "company":
        return company_display(values), None, None, None
    return clean_text(values).str.replace(r"[ \t]+", " ", regex=True), None, None, None


def _normalise(
    frame: pd.DataFrame, columns: ColumnsRules, regions: RegionsRules, tz: str
) -> tuple[pd.DataFrame, list[tuple[int, str, Problem]], pd.Series, pd.Series]:
    """Normalise mapped columns; returns (frame, warnings, phone ok, e-mail ok).

    Columns are independent, and their normalisers spend most of their time in Arrow kernels that
    release the GIL, so they run on all cores (a third less wall time on two).
    """
    spec = columns.sheets["leads"]
    out = frame.copy()
    warnings: list[tuple[int, str, Problem]] = []
    phone_ok = pd.Series(False, index=frame.index)
    email_ok = pd.Series(False, index=frame.index)
    tasks = [(col, out[col.key]) for col in spec.columns if col.key in out.columns]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        done = list(pool.map(lambda task: _normalise_column(*task, columns, tz), tasks))
    for (col, _), (value, ok, bad, why) in zip(tasks, done, strict=True):
        out[col.key] = value
        if col.type == "phone":
            phone_ok = ok
        elif col.type == "email":
            email_ok = ok
        if bad is not None and why is not None:
            warnings.extend((int(row), col.key, why) for row in bad[bad].index)
    for key in ("province", "city", "region"):
        if key in out.columns:
            out[key] = clean_text(out[key])
    if "province" in out.columns:
        out["province"] = map_distinct(out["province"], short_province)
    if "city" in out.columns:
        # as the phone's place names it: 南宁市 -> 南宁, 塔城地区 -> 塔城
        out["city"] = out["city"].str.replace(r"(?:市|地区|盟)$", "", regex=True)
    return out, warnings, phone_ok, email_ok
