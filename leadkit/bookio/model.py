"""The lead book in memory (its sheets as frames, the user's sheets carried) and reading it from disk as written."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadkit.bookio.limits import (
    InputTooLarge,
    check_package,
)
from leadkit.bookio.neutralise import restore_frame
from leadkit.errors import (
    BookError,
    Where,
)
from leadkit.normalize import (
    as_text,
    keep_unparsed,
    map_enum,
    parse_count,
    parse_datetime,
    parse_money,
)
from leadkit.rules.base import fold_header
from leadkit.rules.columns import ColumnSpec, ColumnsRules, SheetSpec

if TYPE_CHECKING:
    from leadkit.workspace import LimitsConfig
from leadkit.bookio.read import _excel_reader

# A book's columns are typed from every row: a sample would blank a later cell that does not fit
# the sampled type (很多 in 员工数 at row 1500). A mixed column is read as text and parsed per cell.
SCHEMA_SAMPLE_ROWS = None

LEADKIT_SHEETS = (
    "leads", "activities", "plans", "feedback", "events", "log", "rejects", "imports", "decisions",
)  # fmt: skip


# ============================================================================================
# The lead book


class UserSheets(MutableMapping[str, pd.DataFrame]):
    """The user's own sheets by title. Those of the book on disk are read only if asked for; one
    never asked for, or handed back unchanged, is carried into the next save as it is stored."""

    def __init__(self, source: Path | None = None, titles: list[str] | None = None) -> None:
        self.source = source
        self.stored = list(titles or [])  # sheets of the file on disk, in its order
        self._frames: dict[str, pd.DataFrame] = {}
        self._as_read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, title: str) -> pd.DataFrame:
        if title not in self._frames and title in self.stored and self.source is not None:
            frame = _read_book_sheet(_excel_reader(self.source), title, self.source)
            self._frames[title], self._as_read[title] = frame, frame.copy()
        return self._frames[title]

    def __setitem__(self, title: str, frame: pd.DataFrame) -> None:
        self._frames[title] = frame

    def __delitem__(self, title: str) -> None:
        if title not in self:
            raise KeyError(title)
        self._frames.pop(title, None)
        if title in self.stored:
            self.stored.remove(title)

    def __iter__(self) -> Iterator[str]:
        yield from self.stored
        yield from (t for t in self._frames if t not in self.stored)

    def __len__(self) -> int:
        return len(set(self.stored) | set(self._frames))

    def __contains__(self, title: object) -> bool:
        return title in self.stored or title in self._frames

    def untouched(self, title: str) -> bool:
        """Whether the sheet is the one stored in the file, never given new values."""
        if title not in self.stored:
            return False
        if title not in self._frames:
            return True
        read = self._as_read.get(title)
        return read is not None and self._frames[title].equals(read)


@dataclass
class Book:
    """The lead book in memory: leadkit's sheets by key (columns = template keys, then the user's
    own columns by header), the user's own sheets by title, and the sheet order."""

    path: Path
    lang: str
    sheets: dict[str, pd.DataFrame]
    user_sheets: MutableMapping[str, pd.DataFrame] = field(default_factory=UserSheets)
    order: list[str] = field(default_factory=list)  # sheet keys and user-sheet titles
    missing_headers: dict[str, list[str]] = field(default_factory=dict)
    partial: bool = False  # read with `only`: some sheets left out, never to be saved
    # The file it was read from, and its (size, mtime): user sheets and macros are carried from it.
    source: Path | None = None
    stamp: tuple[int, int] | None = None
    # what one step derived from the sheets that a later step of the same `run` may reuse (the
    # matching on arrival's prepared fields for dedupe); each user checks it still fits
    derived: dict[str, Any] = field(default_factory=dict)
    # leadkit's sheets as they were read (copy-on-write snapshots, no data copied): one still
    # equal at the save is carried from the stored file, not written again (`_unchanged_own`)
    as_read: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def leads(self) -> pd.DataFrame:
        return self.sheets["leads"]

    def append_log(self, entries: pd.DataFrame) -> None:
        """Add rows (time, command, lead_id, column, old, new) to the Log sheet."""
        self.append("log", entries)

    def append(self, sheet: str, rows: pd.DataFrame) -> None:
        """Append rows (columns by key) to one of leadkit's sheets."""
        if rows.empty:
            return
        current = self.sheets[sheet]
        start = (int(current.index.max()) + 1) if len(current) else 2
        rows = rows.reindex(columns=current.columns)
        rows.index = pd.RangeIndex(start, start + len(rows))
        self.sheets[sheet] = rows if current.empty else pd.concat([current, rows])


_WORKING_DTYPES = {"datetime": "datetime64[ns]", "number": float, "money": float, "int": float}


def _empty_column(col: ColumnSpec, index: pd.Index) -> pd.Series:
    """A column with no values, in the working type of its column type."""
    return pd.Series(np.nan, index=index, dtype=_WORKING_DTYPES.get(col.type, object))


def empty_sheet(spec: SheetSpec) -> pd.DataFrame:
    """A leadkit sheet with its template columns and no rows."""
    return pd.DataFrame({c.key: _empty_column(c, pd.RangeIndex(0)) for c in spec.columns})


def new_book(path: Path, lang: str, columns: ColumnsRules) -> Book:
    """An empty book with leadkit's sheets, not yet on disk."""
    sheets = {k: empty_sheet(columns.sheets[k]) for k in LEADKIT_SHEETS}
    return Book(path=path, lang=lang, sheets=sheets, order=list(LEADKIT_SHEETS))


def _coerce_column(values: pd.Series, col: ColumnSpec, columns: ColumnsRules, tz: str) -> pd.Series:
    """A book column read back into its working type; unparseable cells are kept as they were."""
    if values.isna().all():
        return _empty_column(col, values.index)
    if col.type == "datetime":
        return keep_unparsed(values, *parse_datetime(values, tz))[0]
    if col.type in ("number", "money", "int"):
        if pd.api.types.is_numeric_dtype(values.dtype):
            return values.astype(float)
        return keep_unparsed(values, *(parse_count if col.type == "int" else parse_money)(values))[
            0
        ]
    if col.type == "enum":
        keys, _ = map_enum(values, columns.enum_lookup[col.enum])
        return keys.astype(object)
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return values  # text leadkit wrote itself: already clean
    return as_text(values).astype(object)


def _frame_from_sheet(
    raw: pd.DataFrame, spec: SheetSpec, columns: ColumnsRules, tz: str
) -> tuple[pd.DataFrame, list[str]]:
    lookup: dict[str, str] = {}
    for col in spec.columns:
        for label in (col.zh, col.en):
            lookup.setdefault(fold_header(label), col.key)
    renamed: dict[str, str] = {}
    for header in raw.columns:
        key = lookup.get(fold_header(header))
        if key is not None and key not in renamed.values():
            renamed[header] = key
    frame = raw.rename(columns=renamed)
    missing = [c.key for c in spec.columns if c.key not in frame.columns]
    data: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.key in frame.columns:
            data[col.key] = _coerce_column(frame[col.key], col, columns, tz)
        else:
            data[col.key] = _empty_column(col, frame.index)
    for extra in frame.columns:
        if extra not in data:
            data[str(extra)] = frame[extra]
    # Cells leadkit neutralised when it wrote them, back as the user typed them.
    return restore_frame(pd.DataFrame(data, index=frame.index)), missing


_TEXT_OF_BOOL = {"true": True, "false": False}


def _load_columns(reader: Any, title: str, dtypes: dict[str, str]) -> pd.DataFrame:
    """Some columns of a sheet again, each read as the given fastexcel dtype."""
    loaded = reader.load_sheet(
        title, schema_sample_rows=SCHEMA_SAMPLE_ROWS, use_columns=list(dtypes), dtypes=dtypes
    )
    return loaded.to_pandas()


# How fastexcel shows a date cell in a column it reads as text (chrono's NaiveDateTime).
_DATE_AS_TEXT = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?"


def _cells_as_stored(
    reader: Any, title: str, frame: pd.DataFrame, own: Callable[[str], bool]
) -> pd.DataFrame:
    """Give back each cell of the user's columns the type it is stored with.

    fastexcel gives a column one type: a column of text with a number, a date or TRUE in it comes
    back all text (a number cut to nine decimals), and in a column of numbers a text cell such as
    `NA` or `null` comes back empty and TRUE as 1. leadkit's own columns are parsed cell by cell
    anyway (`_coerce_column`); a user's column is written back as read, so a cell of another type
    must be known. One more read of just the user's columns that may hold such cells (a text
    column with text that reads as a number, a date or true; a typed column with empty cells or
    0/1) finds them: a text column read as booleans is empty except at number and TRUE/FALSE
    cells, a typed column read as text shows every non-empty cell. Only a column found mixed is read again, for the exact numbers, or
    (if it holds text shaped like fastexcel's dates) for which of those are date cells.
    """
    probe: dict[str, str] = {}
    for name in frame.columns:
        values = frame[name]
        if own(name) or values.isna().all():
            continue
        if pd.api.types.is_string_dtype(values.dtype):
            # A number, date or TRUE cell shows as a number, a date in chrono's form or "true":
            # a column with no such text holds text cells only and needs no second look.
            if (
                values.isin(list(_TEXT_OF_BOOL)).any()
                or pd.to_numeric(values, errors="coerce").notna().any()
                or values.str.fullmatch(_DATE_AS_TEXT, na=False).any()
            ):
                probe[name] = "boolean"
        elif values.isna().any() or values.isin([0, 1]).any():  # where text or TRUE can hide
            probe[name] = "string"
    if not probe:
        return frame
    seen = _load_columns(reader, title, probe)
    if len(seen) != len(frame):
        return frame  # not the rows the sheet was read with: keep the column-typed read
    seen.index = frame.index
    numbers: dict[str, pd.Series] = {}  # per text column: its number cells
    dated: dict[str, pd.Series] = {}  # per text column: cells that may be date cells
    for name, kind in probe.items():
        values, other = frame[name], seen[name]
        column = values.astype(object).where(values.notna(), None)
        if kind == "boolean":
            hit = other.notna()  # a number or TRUE/FALSE cell
            flags = hit & values.isin(list(_TEXT_OF_BOOL))  # a number never shows as "true"
            if flags.any():
                column = column.where(~flags, other.astype(object))
            if (hit & ~flags).any():
                numbers[name] = hit & ~flags
            looks = values.str.fullmatch(_DATE_AS_TEXT, na=False) & ~hit
            if looks.any():
                dated[name] = looks
            if flags.any():
                frame[name] = column
        else:
            # A typed column: a cell it shows empty but the text read does not is text (NA,
            # null, #N/A …); TRUE/FALSE in a column of numbers shows as "true"/"false".
            lost = values.isna() & other.notna()
            flags = other.isin(list(_TEXT_OF_BOOL)) & (not pd.api.types.is_bool_dtype(values))
            if lost.any() or flags.any():
                column = column.where(~lost, other.astype(object))
                frame[name] = column.where(~flags, other.map(_TEXT_OF_BOOL))
    if numbers:  # the exact value of each number cell (the text read keeps nine decimals)
        exact = _load_columns(reader, title, dict.fromkeys(numbers, "float"))
        exact.index = frame.index
        for name, where in numbers.items():
            column = frame[name].astype(object)
            frame[name] = column.where(~where, exact[name].astype(object))
    if dated:  # a duration read is empty except at date cells
        spans = _load_columns(reader, title, dict.fromkeys(dated, "duration"))
        spans.index = frame.index
        for name, where in dated.items():
            is_date = where & spans[name].notna()
            if is_date.any():
                column = frame[name].astype(object)
                when = pd.to_datetime(frame[name].where(is_date), format="ISO8601")
                frame[name] = column.where(~is_date, when.astype(object))
    return frame


def _read_book_sheet(
    reader: Any,
    title: str,
    path: Path,
    own: Callable[[str], bool] = lambda header: False,
    dtypes: dict[str, str] | None = None,
) -> pd.DataFrame:
    """A sheet of the book as stored, header in row 1; `own` tells leadkit's own columns, whose
    cells are parsed later, from the user's, whose cells keep the type they are stored with.
    `dtypes` (by header) are read as given, not typed from every row (`SheetSpec.text_dtypes`)."""
    try:
        loaded = reader.load_sheet(title, schema_sample_rows=SCHEMA_SAMPLE_ROWS, dtypes=dtypes)
        frame = loaded.to_pandas()
        frame = _cells_as_stored(reader, title, frame, own)
    except Exception as exc:  # fastexcel raises its own hierarchy for malformed sheets
        raise BookError(
            f"cannot read sheet ({str(exc).splitlines()[0][:160]})", Where(file=path, sheet=title)
        ) from None
    frame.columns = ["" if str(c).startswith("__UNNAMED__") else str(c) for c in frame.columns]
    frame = frame.loc[
        :, [bool(c) or not frame.iloc[:, i].isna().all() for i, c in enumerate(frame.columns)]
    ]
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame.dropna(how="all")


def load_book(
    path: Path,
    columns: ColumnsRules,
    lang: str,
    tz: str,
    *,
    only: set[str] | None = None,
    limits: LimitsConfig | None = None,
) -> Book:
    """Read a lead book: leadkit's sheets by key and type; the user's sheets are read on demand.

    `only` (leadkit sheet keys) reads just those sheets, for commands that write nothing; such a
    book is marked partial and `save_book` refuses it, so nothing can be lost that way.
    """
    if not path.exists():
        raise BookError(
            "no lead book here; run `leadkit init` or `leadkit import FILE` first", Where(file=path)
        )
    if path.suffix.lower() not in {".xlsx", ".xlsm"}:
        raise BookError("a lead book must be an .xlsx file", Where(file=path))
    stamp = _stamp(path)
    try:
        check_package(path, limits, book=True)
    except InputTooLarge as exc:
        raise BookError(exc.message, exc.where) from None
    reader = _excel_reader(path)
    titles = {}
    for key in LEADKIT_SHEETS:
        spec = columns.sheets[key]
        titles[fold_header(spec.zh)] = key
        titles[fold_header(spec.en)] = key
    wanted = [t for t in reader.sheet_names if only is None or titles.get(fold_header(t)) in only]
    owned: dict[str, str] = {}  # the first sheet of each key is leadkit's; any other, the user's
    for title in wanted:
        key = titles.get(fold_header(title))
        if key is not None and key not in owned.values():
            owned[title] = key
    raws: dict[str, pd.DataFrame] = {}
    for title in owned:
        spec = columns.sheets[owned[title]]
        template = {fold_header(label) for c in spec.columns for label in (c.zh, c.en)}
        raws[title] = _read_book_sheet(
            reader, title, path, own=lambda h, t=template: fold_header(str(h)) in t,
            dtypes=spec.text_dtypes(),
        )  # fmt: skip
    sheets: dict[str, pd.DataFrame] = {}
    order: list[str] = []
    missing: dict[str, list[str]] = {}
    for title in wanted:
        key = owned.get(title)
        if key is not None:
            frame, absent = _frame_from_sheet(raws[title], columns.sheets[key], columns, tz)
            sheets[key] = _log_from_book(frame, columns) if key == "log" else frame
            if absent:
                missing[key] = absent
        order.append(key or title)
    # The user's own sheets are not read: they are carried into the next save as stored.
    user = UserSheets(path, [t for t in wanted if t not in owned])
    if "leads" not in sheets:
        raise BookError(
            f"no {columns.sheets['leads'].zh!r} / {columns.sheets['leads'].en!r} sheet; "
            "is this a leadkit book?",
            Where(file=path),
        )
    as_read = {key: frame.copy(deep=False) for key, frame in sheets.items()}
    for key in LEADKIT_SHEETS:
        if key not in sheets:
            sheets[key] = empty_sheet(columns.sheets[key])
            order.append(key)
    return Book(
        path=path, lang=lang, sheets=sheets, user_sheets=user, order=order, missing_headers=missing,
        partial=only is not None, source=path, stamp=stamp, as_read=as_read,
    )  # fmt: skip


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _log_from_book(log: pd.DataFrame, columns: ColumnsRules) -> pd.DataFrame:
    """The Log back in keys, whichever language (or older leadkit) wrote it."""
    if log.empty or "column" not in log:
        return log
    out = log.astype({c: object for c in ("column", "old", "new") if c in log})
    by_header = {fold_header(h): c for c in columns.sheets["leads"].columns for h in (c.zh, c.en)}
    for shown in out["column"].dropna().unique():
        col = by_header.get(fold_header(str(shown)))
        if col is None or str(shown) == col.key:
            continue
        rows = out["column"] == shown
        if col.type == "enum":
            lookup = {
                fold_header(label): key
                for key, label in columns.enum_labels(col.enum, "zh").items()
            }
            lookup |= {
                fold_header(label): key
                for key, label in columns.enum_labels(col.enum, "en").items()
            }
            for side in ("old", "new"):
                if side in out:
                    out.loc[rows, side] = out.loc[rows, side].map(
                        lambda v, m=lookup: (
                            m.get(fold_header(str(v)), v) if isinstance(v, str) else v
                        )
                    )
        out.loc[rows, "column"] = col.key
    return out
