"""Book I/O, all of it: reading sheets and CSVs, loading and saving the lead book, and the
safety around every write (lock, backup, atomic replace, undo).

Reader: fastexcel (calamine, Rust; .xlsx and .xls, Arrow into pandas). Writer: rustpy-xlsxwriter
(rust_xlsxwriter). Both sit behind `read_sheets` / `_write_workbook`, so either can be swapped.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import shutil
import socket
import stat
import time
import zipfile
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadkit.errors import (
    BookBusyError,
    BookError,
    BookWriteError,
    InputFileError,
    UsageError,
    Where,
)
from leadkit.files import remove_stale_temps, replacing, temp_name
from leadkit.limits import (
    ZIP_SUFFIXES,
    InputTooLarge,
    check_csv_text,
    check_file_size,
    check_package,
    fit_excel_cells,
)
from leadkit.neutralise import neutralise, neutralise_frame, neutralise_names, restore_frame
from leadkit.normalize import (
    as_text,
    keep_unparsed,
    map_enum,
    parse_count,
    parse_datetime,
    parse_money,
)
from leadkit.rules import ColumnSpec, ColumnsRules, SheetSpec, fold_header

if TYPE_CHECKING:
    from leadkit.workspace import LimitsConfig

# fastexcel logs a warning for every all-empty or mixed column it reads (both normal in a lead
# book); silenced so `--quiet` stays silent.
logging.getLogger("fastexcel").setLevel(logging.ERROR)

# A book's columns are typed from every row: a sample would blank a later cell that does not fit
# the sampled type (很多 in 员工数 at row 1500). A mixed column is read as text and parsed per cell.
SCHEMA_SAMPLE_ROWS = None

LEADKIT_SHEETS = (
    "leads", "activities", "plans", "feedback", "events", "log", "rejects", "imports", "decisions",
)  # fmt: skip
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
BLANK_ROWS = 1000  # dropdowns and highlights reach this far below the data, for rows typed by hand
MAX_HEADER_SCAN = 30


# ============================================================================================
# Reading any table a user hands us


@dataclass
class RawTable:
    """One sheet or CSV as text cells, header row found, rows numbered as the user sees them."""

    file: Path
    sheet: str | None
    headers: list[str]
    frame: pd.DataFrame  # columns are positions 0..n-1, all text; index = 1-based row number
    encoding: str | None = None
    delimiter: str | None = None


def _decode_csv(path: Path) -> tuple[str, str]:
    """Text of a CSV in whatever encoding Chinese Excel, WPS or a web form saved it in."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None:
        with contextlib.suppress(UnicodeDecodeError, LookupError):
            return data.decode(best.encoding), best.encoding
    raise InputFileError(
        "cannot decode this CSV (tried UTF-8, GB18030, UTF-16 and detection); "
        "save it again as UTF-8 or GBK",
        Where(file=path),
    )


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in ",\t;|"}
        return max(counts, key=lambda d: counts[d])


def _has_blank_line(text: str) -> bool:
    return text.startswith(("\n", "\r")) or any(m in text for m in ("\n\n", "\r\r", "\n\r"))


def _read_csv(path: Path, limits: LimitsConfig | None = None) -> tuple[pd.DataFrame, str, str]:
    check_file_size(path, limits)
    text, encoding = _decode_csv(path)
    delimiter = _sniff_delimiter(text[:65536])
    check_csv_text(path, text, delimiter, limits)
    options = {"sep": delimiter, "header": None, "dtype": str, "keep_default_na": False}
    # Arrow's parser is four times faster (two cores), but it drops blank lines, whose row numbers
    # count, and refuses ragged rows that pandas' C parser pads: those files go to the C parser,
    # which also gives the error message for a malformed file.
    if not _has_blank_line(text):
        with contextlib.suppress(pd.errors.ParserError, ValueError):
            frame = pd.read_csv(io.BytesIO(text.encode("utf-8")), engine="pyarrow", **options)
            return frame, encoding, delimiter
    try:
        frame = _read_csv_c(text, options)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputFileError(f"not a readable CSV: {exc}", Where(file=path)) from None
    return frame, encoding, delimiter


def _read_csv_c(text: str, options: dict[str, Any]) -> pd.DataFrame:
    """pandas' C parser, also for empty lines and a short title line above the header.

    The C parser takes its column count from the first line: an empty one leaves it no columns
    and a title line makes every wider row an error. Empty leading lines are parsed away and put
    back as blank rows (row numbers stay those of the file); a wider row names the columns first.
    """
    body = text.lstrip("\r\n")
    skipped = len(re.findall(r"\r\n|\r|\n", text[: len(text) - len(body)]))
    try:
        frame = pd.read_csv(io.StringIO(body), skip_blank_lines=False, engine="c", **options)
    except pd.errors.ParserError:
        rows = csv.reader(io.StringIO(body), delimiter=options["sep"])
        widest = max((len(row) for row in rows), default=0)
        frame = pd.read_csv(
            io.StringIO(body), skip_blank_lines=False, engine="c", names=range(widest), **options
        )
    if skipped:
        blank = pd.DataFrame("", index=range(skipped), columns=frame.columns, dtype="str")
        frame = pd.concat([blank, frame], ignore_index=True)
    return frame


def _excel_reader(path: Path) -> Any:
    import fastexcel

    if not path.exists():
        raise InputFileError("file not found", Where(file=path))
    try:
        return fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own hierarchy for every malformed file
        raise InputFileError(
            f"not a readable spreadsheet ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})",
            Where(file=path),
        ) from None


def _read_excel_text(reader: Any, sheet: str, path: Path) -> pd.DataFrame:
    try:
        loaded = reader.load_sheet(sheet, header_row=None, dtypes="string")
    except Exception as exc:  # see _excel_reader
        raise InputFileError(
            f"cannot read sheet ({str(exc).splitlines()[0][:160]})", Where(file=path, sheet=sheet)
        ) from None
    frame = loaded.to_pandas()
    frame.columns = range(frame.shape[1])
    return frame


def _find_header_row(
    frame: pd.DataFrame,
    known: dict[str, str],
    recognise: Callable[[list[str]], float] | None = None,
) -> int | None:
    """The first row, among the first few, in which at least two cells are known headers.

    `recognise` counts the cells that the header matcher would map (so a sheet whose headers
    are no exact aliases, such as an English partner sheet, is still found); by default a cell
    counts when it is a known header.
    """
    best, best_hits = None, 1
    for i in range(min(MAX_HEADER_SCAN, len(frame))):
        cells = [c for c in frame.iloc[i].tolist() if isinstance(c, str) and c.strip()]
        if recognise is not None:
            hits = recognise(cells)
        else:
            hits = sum(1 for c in cells if fold_header(c) in known)
        if hits > best_hits:
            best, best_hits = i, hits
            if hits >= 3:
                break
    return best


def _table_from(frame: pd.DataFrame, header_at: int, path: Path, sheet: str | None) -> RawTable:
    header_cells = frame.iloc[header_at].tolist()
    body = frame.iloc[header_at + 1 :]
    # Row numbers as the user sees them in Excel (1-based, header included).
    body.index = pd.RangeIndex(header_at + 2, header_at + 2 + len(body))
    headers = []
    keep = []
    for pos, cell in enumerate(header_cells):
        name = str(cell).strip() if isinstance(cell, str) and cell.strip() else ""
        column_empty = body[pos].isna().all() if not body.empty else True
        if not name and column_empty:
            continue
        headers.append(name or f"column {pos + 1}")
        keep.append(pos)
    body = body[keep]
    body.columns = range(len(keep))
    body = body.replace("", np.nan)
    body = body.dropna(how="all")
    return RawTable(file=path, sheet=sheet, headers=headers, frame=body)


def read_input_tables(
    path: Path,
    known_headers: dict[str, str],
    sheet: str | None = None,
    recognise: Callable[[list[str]], float] | None = None,
    limits: LimitsConfig | None = None,
) -> list[RawTable]:
    """Every sheet of `path` with a recognisable header row (or the named sheet), as text.

    The file is measured against `limits` (leadkit.limits) before it is parsed.
    """
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputFileError("file not found", Where(file=path))
    if suffix in CSV_SUFFIXES:
        frame, encoding, delimiter = _read_csv(path, limits)
        at = _find_header_row(frame, known_headers, recognise)
        if at is None:
            raise InputFileError(
                "no recognisable header row (see rules/columns.yaml aliases, or --map)",
                Where(file=path),
            )
        table = _table_from(frame, at, path, None)
        table.encoding, table.delimiter = encoding, delimiter
        return [table]
    if suffix not in EXCEL_SUFFIXES:
        raise InputFileError(
            f"unsupported file type {suffix or '(none)'}; use .xlsx, .xls or .csv", Where(file=path)
        )
    if suffix in ZIP_SUFFIXES:
        check_package(path, limits)
    else:
        check_file_size(path, limits)
    reader = _excel_reader(path)
    names = reader.sheet_names
    if sheet is not None:
        if sheet not in names:
            raise InputFileError(
                f"no sheet named {sheet!r} (sheets: {', '.join(names)})", Where(file=path)
            )
        names = [sheet]
    tables = []
    for name in names:
        frame = _read_excel_text(reader, name, path)
        at = _find_header_row(frame, known_headers, recognise)
        if at is not None:
            tables.append(_table_from(frame, at, path, name))
    if not tables:
        where = Where(file=path, sheet=sheet) if sheet else Where(file=path)
        raise InputFileError(
            "no sheet with a recognisable header row (see rules/columns.yaml aliases, or --map)",
            where,
        )
    return tables


def header_lookup(columns: ColumnsRules, sheet: str = "leads") -> dict[str, str]:
    """Folded header/alias -> column key for one of leadkit's sheets."""
    spec = columns.sheets[sheet]
    table: dict[str, str] = {}
    for col in spec.columns:
        for label in (col.zh, col.en, col.key):
            table.setdefault(fold_header(label), col.key)
    for col in spec.columns:
        for label in col.aliases:
            table.setdefault(fold_header(label), col.key)
    return table


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


# ---------------------------------------------------------------------------------------------
# Writing


def _stored_cell(value: Any) -> Any:
    """One cell of a mixed column as the writer stores it: text, number, TRUE/FALSE or date.

    Numbers go as floats: the writer gives Python ints in a column that also holds dates the
    date format (a float with `float_format` keeps General), and Excel stores every number so.
    """
    if isinstance(value, str | bool | np.bool_ | pd.Timestamp | datetime | date):
        return value
    if isinstance(value, np.datetime64):
        # A date that came through NumPy (a merge, a concat) is still a date, not its repr.
        return pd.Timestamp(value) if not np.isnat(value) else None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return str(value)


def _writable(values: pd.Series) -> pd.Series:
    """A column the writer accepts: in a mixed column each cell keeps its type, and no text is
    longer than an Excel cell holds (the writer would refuse the whole book)."""
    return fit_excel_cells(_one_type(values))


def _one_type(values: pd.Series) -> pd.Series:
    if values.dtype != object:
        return values
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return values
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(values, errors="coerce")
    if kind in ("datetime", "datetime64", "date"):
        return pd.to_datetime(values, errors="coerce")
    cells = values.map(_stored_cell, na_action="ignore")
    return cells.where(cells.notna(), None)  # NaT in a column of text and dates breaks the writer


def _writer_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the writer takes it. A column of cells of several types makes it write the
    sheet row by row, and there an empty cell of a date column (NaT) is an error: those columns
    then go as objects, empty cells None. Sheets without such a column are left as they are."""
    mixed = any(
        frame[c].dtype == object
        and pd.api.types.infer_dtype(frame[c], skipna=True) not in ("string", "empty")
        for c in frame.columns
    )
    if not mixed:
        return frame
    out = {}
    for i, name in enumerate(frame.columns):
        values = frame.iloc[:, i]
        if pd.api.types.is_datetime64_any_dtype(values.dtype) and values.isna().any():
            values = values.astype(object).where(values.notna(), None)
        out[name] = values
    return pd.DataFrame(out)


def _dates_beside_numbers(frame: pd.DataFrame) -> bool:
    """Whether a column mixes dates and numbers (the writer then needs `float_format`)."""
    for name in frame.columns:
        values = frame[name]
        if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "mixed":
            kinds = {type(v) for v in values.dropna()}
            if any(issubclass(k, date) for k in kinds) and float in kinds:
                return True
    return False


def _log_for_book(log: pd.DataFrame, columns: ColumnsRules, lang: str) -> pd.DataFrame:
    """The Log in the book's words: 字段 as the column's header, an enum's old/new as its label.

    Inside leadkit the Log speaks in keys (the report reads status changes from it); the book a
    person reads says 客户状态 未接触 → 初步接洽, not status new → contacted.
    """
    if log.empty or "column" not in log:
        return log
    out = log.astype({c: object for c in ("column", "old", "new") if c in log})
    leads = columns.sheets["leads"].by_key
    for key in out["column"].dropna().unique():
        col = leads.get(key)
        if col is None:
            continue
        rows = out["column"] == key
        if col.type == "enum":
            labels = columns.enum_labels(col.enum, lang)
            for side in ("old", "new"):
                if side in out:
                    out.loc[rows, side] = out.loc[rows, side].map(lambda v, m=labels: m.get(v, v))
        out.loc[rows, "column"] = col.header(lang)
    return out


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


def _sheet_for_writing(
    frame: pd.DataFrame, spec: SheetSpec, columns: ColumnsRules, lang: str, blank: int = 0
) -> pd.DataFrame:
    """A leadkit sheet as written: headers in `lang`, enum labels, text neutralised and cut to
    Excel's limit, and `blank` empty rows below the data."""
    out: dict[str, pd.Series] = {}
    for key in frame.columns:
        col = spec.by_key.get(key)
        values = frame[key]
        if col is not None and col.type == "enum":
            labels = columns.enum_labels(col.enum, lang)
            codes, uniques = pd.factorize(values)  # few distinct keys: label each once
            # Labels are leadkit's vocabulary (and must match the dropdown); other cells are not.
            unknown = neutralise(pd.Series(uniques, dtype=object)).tolist()
            cells = [labels.get(u, v) for u, v in zip(uniques, unknown, strict=True)]
            if all(isinstance(c, str) for c in cells):
                # Text only (the usual case): Arrow text, each distinct label measured once and
                # no per-row pass (neither here nor in the writer's conversion).
                fitted = fit_excel_cells(pd.Series(cells, dtype=object))
                shown = pd.array([*fitted, None], dtype="str")
                values = pd.Series(shown.take(codes), index=values.index)
            else:
                mixed = np.array([*cells, np.nan], dtype=object)
                values = _writable(pd.Series(mixed[codes], index=values.index, dtype=object))
        if (
            col is not None
            and col.type == "datetime"
            and pd.api.types.is_datetime64_any_dtype(values.dtype)
        ):
            values = values.dt.floor("s")
        if col is None or col.type != "enum":
            # the one door every text cell of a leadkit sheet passes
            values = neutralise(_writable(values))
        header = col.header(lang) if col is not None else neutralise_names([key])[0]
        while header in out:
            header += " "
        out[header] = _padded(values, blank)
    return pd.DataFrame(out)


def _padded(values: pd.Series, blank: int) -> pd.Series:
    """The column with `blank` empty cells below it, from position 0, built without a reindex
    (whose take copies every text column of a 100k sheet once more)."""
    array = values.array
    if isinstance(array, pd.arrays.ArrowStringArray):
        import pyarrow as pa

        chunks = array._pa_array  # the new column shares the text's buffers (no copy)
        column = pa.chunked_array([*chunks.chunks, pa.nulls(blank, chunks.type)], chunks.type)
        return pd.Series(pd.arrays.ArrowStringArray(column, dtype=values.dtype))
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fM":
        tail = np.full(blank, np.nan if values.dtype.kind == "f" else np.datetime64("NaT"))
        return pd.Series(np.concatenate([values.to_numpy(), tail.astype(values.dtype)]))
    return values.reset_index(drop=True).reindex(pd.RangeIndex(len(values) + blank))


def _signatures(book: Book, columns: ColumnsRules, as_of_serial: float) -> dict[str, str]:
    """Per leadkit sheet (by title): a digest of all but its cells that decides what the writer
    stores for it (rules, language, headers, versions; the date for an overdue highlight)."""
    import rustpy_xlsxwriter as rx

    from leadkit import __version__

    rules = columns.model_dump(mode="json")
    common = [__version__, rx.__version__, rules, book.lang, BLANK_ROWS]
    out: dict[str, str] = {}
    for name in book.order:
        if name not in book.sheets:
            continue
        spec = columns.sheets[name]
        overdue = any(c.type == "datetime" and c.highlight_overdue for c in spec.columns)
        headers = [str(c) for c in book.sheets[name].columns]
        payload = [*common, name, headers, as_of_serial if overdue else None]
        text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
        out[spec.title(book.lang)] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return out


def _unchanged_own(
    book: Book, columns: ColumnsRules, signatures: dict[str, str], written: dict[str, Any] | None
) -> set[str]:
    """leadkit's sheets whose stored part is what writing them now would store: the file is
    leadkit's own last write (the stamp it recorded then), the sheet was written with the same
    rules (its signature), and its cells are those read from it."""
    if not written or book.source != book.path or book.stamp is None:
        return set()
    if written.get("stamp") != list(book.stamp) or _stamp(book.path) != book.stamp:
        return set()
    stored = written.get("sheets") or {}
    same = set()
    for name, before in book.as_read.items():
        title = columns.sheets[name].title(book.lang)
        fits = name in book.sheets and title in stored and stored[title] == signatures.get(title)
        if fits and book.sheets[name].equals(before):  # cells last: the one costly check
            same.add(name)
    return same


def _write_workbook(
    book: Book,
    columns: ColumnsRules,
    target: Path,
    as_of: datetime,
    written: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Write the book to `target`; returns its sheets' signatures (`_signatures`).

    `written` is what the last save recorded (`_written_record`): leadkit's sheets unchanged
    since then are carried from the stored file as they are.
    """
    import rustpy_xlsxwriter as rx

    header_fmt = rx.Format().set_bold().set_background_color("#DDEBF7").set_border("thin")
    date_fmt = rx.Format().set_num_format("yyyy-mm-dd hh:mm")
    overdue_fmt = rx.Format().set_background_color("#FFC7CE").set_font_color("#9C0006")
    grade_colours = {"S": "#F8CBAD", "A": "#FFE699", "B": "#C6E0B4", "C": "#D9D9D9"}
    as_of_serial = (pd.Timestamp(as_of) - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)

    carried = _carried_sheets(book)
    signatures = _signatures(book, columns, as_of_serial)
    own = _unchanged_own(book, columns, signatures, written)
    entries: list[tuple[str, pd.DataFrame]] = []
    opts: dict[str, dict[str, Any]] = {
        k: {} for k in ("freeze_panes", "column_widths", "column_formats", "header_format",
                        "data_validations", "conditional_formats")
    }  # fmt: skip
    for name in book.order:
        if name in book.sheets:
            spec = columns.sheets[name]
            title = spec.title(book.lang)
            rows = book.sheets[name]
            # a sheet carried as stored: a placeholder with its columns and formats, so that the
            # writer registers the styles it did when it wrote the sheet
            rows = rows.iloc[:0] if name in own else rows
            if name == "log":
                rows = _log_for_book(rows, columns, book.lang)
            blank = 1 if name in own else BLANK_ROWS
            frame = _writer_safe(_sheet_for_writing(rows, spec, columns, book.lang, blank))
            entries.append((title, frame))
            opts["freeze_panes"][title] = {"row": 1, "col": 0}
            opts["header_format"][title] = header_fmt
            widths, formats, validations, conditionals = {}, {}, {}, {}
            for col in spec.columns:
                header = col.header(book.lang)
                widths[header] = col.width
                if col.type == "datetime":
                    formats[header] = date_fmt
                    if col.highlight_overdue:
                        # "between" and not "<": an empty cell counts as 0 and would be marked
                        conditionals[header] = {
                            "type": "cell", "criteria": "between", "min": 1.0,
                            "max": float(as_of_serial), "format": overdue_fmt,
                        }  # fmt: skip
                if col.type == "enum":
                    labels = list(columns.enum_labels(col.enum, book.lang).values())
                    validations[header] = {
                        "type": "list", "values": labels, "error_style": "warning",
                    }  # fmt: skip
                    if col.enum == "grade":
                        conditionals[header] = [
                            {"type": "text", "criteria": "begins_with", "value": g,
                             "format": rx.Format().set_background_color(c)}
                            for g, c in grade_colours.items()
                        ]  # fmt: skip
            for extra in frame.columns:
                widths.setdefault(extra, 14)
            opts["column_widths"][title] = widths
            opts["column_formats"][title] = formats
            opts["data_validations"][title] = validations
            opts["conditional_formats"][title] = conditionals
        elif name in carried:
            entries.append((name, pd.DataFrame()))  # a placeholder the stored sheet replaces
        else:
            entries.append((name, _user_sheet_for_writing(book.user_sheets[name])))
    macro_enabled = book.path.suffix.lower() == ".xlsm"
    if any(_dates_beside_numbers(frame) for _, frame in entries):
        opts["float_format"] = "General"  # else numbers below a date cell take its format
    try:
        if not carried and not macro_enabled and not own:
            rx.write_worksheets(entries, str(target), datetime_format="yyyy-mm-dd hh:mm", **opts)
            return signatures
        from leadkit import xlsxpackage

        base = io.BytesIO()
        rx.write_worksheets(entries, base, datetime_format="yyyy-mm-dd hh:mm", **opts)
    except (ValueError, TypeError) as exc:
        raise BookError(f"cannot write the book: {exc}", Where(file=book.path)) from exc
    try:
        xlsxpackage.assemble(
            base, target, source=book.source if carried or macro_enabled or own else None,
            titles=carried, macro_enabled=macro_enabled,
            own=[columns.sheets[n].title(book.lang) for n in book.order if n in own],
        )  # fmt: skip
    except xlsxpackage.PackageError as exc:  # checked by `carryable`; a part it did not read
        if own:  # leadkit's own sheets did not fit as stored: written from their cells instead
            return _write_workbook(book, columns, target, as_of)
        raise BookError(f"cannot carry your own sheets: {exc}", Where(file=book.source)) from exc
    return signatures


def _carried_sheets(book: Book) -> list[str]:
    """The user's sheets to copy from the stored file as they are (not written from values)."""
    sheets = book.user_sheets
    if book.source is None or not isinstance(sheets, UserSheets) or not sheets.stored:
        return []
    if sheets.source != book.source or not book.source.exists():
        return []
    from leadkit import xlsxpackage

    if _stamp(book.source) != book.stamp:
        raise BookError(
            "the book was changed by another program while leadkit worked on it; run again",
            Where(file=book.source),
        )
    wanted = [t for t in book.order if t not in book.sheets and sheets.untouched(t)]
    carried = set(xlsxpackage.carryable(book.source, wanted))
    return [t for t in wanted if t in carried]


def _user_sheet_for_writing(frame: pd.DataFrame) -> pd.DataFrame:
    """A user sheet leadkit has new values for, or cannot carry: headers made unique, as the
    writer needs (a title line above a table gives several blank ones)."""
    headers: list[str] = []
    for header in (str(c) for c in frame.columns):
        while header in headers:
            header += " "
        headers.append(header)
    out = frame.reset_index(drop=True)
    out.columns = headers
    return _writer_safe(pd.DataFrame({h: _writable(out.iloc[:, i]) for i, h in enumerate(headers)}))


def write_table(
    path: Path, title: str, frame: pd.DataFrame, *, dropdowns: dict[str, list[str]] | None = None
) -> None:
    """A one-sheet workbook leadkit hands to a person (a review list, a report), written atomically."""
    import rustpy_xlsxwriter as rx

    header_fmt = rx.Format().set_bold().set_background_color("#DDEBF7").set_border("thin")
    data = frame.reset_index(drop=True)
    data = pd.DataFrame({c: _writable(data[c]) for c in data.columns})
    keep = [c for c in data.columns if c in (dropdowns or {})]  # chosen from leadkit's own list
    data = neutralise_frame(data, keep=keep)
    data = _writer_safe(data.reindex(pd.RangeIndex(len(data) + (BLANK_ROWS if dropdowns else 0))))
    validations = {c: {"type": "list", "values": v} for c, v in (dropdowns or {}).items()}
    with replacing(path) as tmp:
        rx.write_worksheets(
            [(title, data)], str(tmp), freeze_panes={title: {"row": 1, "col": 0}},
            header_format={title: header_fmt}, column_width={title: 16},
            data_validations={title: validations}, datetime_format="yyyy-mm-dd hh:mm",
        )  # fmt: skip


def read_table(path: Path) -> pd.DataFrame:
    """The first sheet of a workbook leadkit wrote for a person, header in row 1."""
    reader = _excel_reader(path)
    frame = reader.load_sheet(reader.sheet_names[0], dtypes="string").to_pandas()
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return restore_frame(frame.dropna(how="all"))


# ---------------------------------------------------------------------------------------------
# Safety: lock, backup, atomic replace, undo
#
# Backups live per book, keyed by the book's real path: .leadkit/backups/<stem>-<hash>/, newest
# last by name (<stamp>.<command><suffix>), each beside a `sha256sum` line that `undo` checks
# before it restores anything. `undo` moves the state it replaces to redo/ in the same folder;
# `redo` moves it back; any other write clears redo/ (as editors do).

_LEGACY_BACKUP = re.compile(
    r"(?P<stem>.+)\.(?P<stamp>\d{8}T\d{12})\.(?P<command>[^.]+)(?P<ext>\.\w+)"
)
_BACKUP = re.compile(r"(?P<stamp>\d{8}T\d{12})\.(?P<command>[^.]+)(?P<ext>\.\w+)")
_OS_ERROR = re.compile(r"os error (\d+)")
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV}


def backups_dir(state_dir: Path) -> Path:
    return state_dir / "backups"


def _real(book: Path) -> Path:
    return book.resolve()


def _lock_path(book: Path) -> Path:
    real = _real(book)
    return real.with_name(f".{real.name}.leadkit-lock")


def _owner_files(book: Path) -> list[Path]:
    """Excel/WPS (`~$leads.xlsx`) and LibreOffice (`.~lock.leads.xlsx#`) files saying it is open."""
    names = {book, _real(book)}
    return [p.with_name(n) for p in names for n in (f"~${p.name}", f".~lock.{p.name}#")]


def _write_problem(exc: OSError, file: Path) -> BookError:
    """The one translation of an OS failure while writing into a line for the user."""
    code = exc.errno
    if code is None and (m := _OS_ERROR.search(str(exc))):  # rust_xlsxwriter: "…(os error 28)"
        code = int(m[1])
    failed = Path(exc.filename) if exc.filename else None
    # The book, unless it was another folder (the backups') that could not be written.
    where = Where(
        file=file if failed is None or failed.parent == _real(file).parent else failed.parent
    )
    if code in (errno.ENOSPC, errno.EDQUOT):
        why = "no space left on the disk"
    elif code == errno.EROFS:
        why = "the folder is on a read-only file system"
    elif code in (errno.EACCES, errno.EPERM):
        why = "permission denied"
    else:
        why = exc.strerror or str(exc)
    return BookWriteError(f"cannot write: {why}; {file.name} is untouched", where)


@contextlib.contextmanager
def writing(book: Path) -> Iterator[None]:
    """Turn an OS failure (disk full, permission, read-only folder) into one `BookWriteError`."""
    try:
        yield
    except OSError as exc:
        raise _write_problem(exc, book) from None


def _refuse_read_only(book: Path) -> None:
    try:
        mode = _real(book).stat().st_mode
    except FileNotFoundError:
        return
    if not mode & 0o222:
        raise BookError(
            f"{book.name} is read-only ({stat.filemode(mode)}); make it writable "
            f"(chmod u+w) or pass --force to write it anyway",
            Where(file=book),
        )


def _describe_lock(lock: Path, fd: int) -> tuple[dict[str, Any], bool]:
    """What a lock file says about its holder, and whether its content made sense."""
    try:
        held = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        int(held["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}, False
    return held if isinstance(held, dict) else {}, isinstance(held, dict)


def _take_lock(book: Path, lock: Path, command: str) -> int:
    """Create the lock file, already holding an flock on it; returns its descriptor.

    The content is written to a temporary which is then linked to the lock's name, so the lock
    never exists half-written, and the flock says whether a live process still holds it.
    """
    info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command}
    info["since"] = time.time()
    remove_stale_temps(lock.parent, lock.name)
    for _ in range(5):
        tmp = temp_name(lock)
        fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_RDWR, 0o644)
        try:
            os.write(fd, json.dumps(info).encode("utf-8"))
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            try:
                os.link(tmp, lock)
                return fd
            except FileExistsError:
                pass
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise
                # A USB stick (FAT) or some network shares: create it in place instead.
                with contextlib.suppress(FileExistsError):
                    lfd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
                    os.write(lfd, json.dumps(info).encode("utf-8"))
                    fcntl.flock(lfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.close(fd)
                    return lfd
        finally:
            tmp.unlink(missing_ok=True)
        os.close(fd)
        _clear_dead_lock(book, lock)
    raise BookBusyError(f"{book.name} is busy: could not take {lock.name}", Where(file=book))


def _clear_dead_lock(book: Path, lock: Path) -> None:
    """Remove a lock nobody holds any more; refuse (exit 3) with its holder if somebody does."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return  # released meanwhile: try again
    try:
        held, readable = _describe_lock(lock, fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alive = False
        except BlockingIOError:
            alive = True
        other_host = readable and held.get("host") != socket.gethostname()
        if alive or other_host:
            who = (
                f"`leadkit {held.get('command', '?')}` (pid {held.get('pid')} on "
                f"{held.get('host', '?')}) is writing it"
                if readable
                else f"a running process holds {lock.name} (its content is not a leadkit lock)"
            )
            raise BookBusyError(
                f"{book.name} is busy: {who}; if that is wrong, delete {lock} and run again",
                Where(file=book),
            )
        # Nobody holds it: left by a process that died, or garbage. Remove it only if it is
        # still the file we examined, not one another process has just put in its place.
        with contextlib.suppress(FileNotFoundError):
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                lock.unlink()
    finally:
        os.close(fd)


@contextlib.contextmanager
def book_lock(book: Path, command: str, force: bool = False) -> Iterator[None]:
    """Hold the book for one writer; refuse (exit 3) if leadkit, Excel, WPS or LibreOffice holds it.

    The lock belongs to the real file, so a book reached through a symlink takes the same lock.
    A read-only book is refused (exit 2) unless `force`.
    """
    for owner in _owner_files(book):
        if owner.exists() and not force:
            raise BookBusyError(
                f"{book.name} is open in Excel/WPS/LibreOffice ({owner.name} exists); "
                "close it, or pass --force if that file is stale",
                Where(file=book),
            )
    if not force:
        _refuse_read_only(book)
    lock = _lock_path(book)
    with writing(book):
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = _take_lock(book, lock, command)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                lock.unlink()
        os.close(fd)


def book_backups(book: Path, state_dir: Path) -> Path:
    """The folder of this book's backups; those of the old shared folder are moved into it."""
    real = _real(book)
    key = hashlib.sha256(str(real).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    root = backups_dir(state_dir)
    folder = root / f"{real.stem}-{key}"
    if root.is_dir():
        # Until 0.x every book's backups sat in backups/ itself, named <stem>.<stamp>.<command>:
        # a book of that stem takes them over (the old layout cannot tell two such books apart).
        for path in root.iterdir():
            m = _LEGACY_BACKUP.fullmatch(path.name)
            if m and path.is_file() and m["stem"] in (book.stem, real.stem):
                folder.mkdir(parents=True, exist_ok=True)
                os.replace(path, folder / f"{m['stamp']}.{m['command']}{m['ext']}")
    return folder


def _entries(folder: Path) -> list[Path]:
    """Backups in `folder`, oldest first (stamps sort as names)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _BACKUP.fullmatch(p.name) and p.is_file())


def _digest_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _sidecar(entry: Path) -> Path:
    return entry.with_name(entry.name + ".sha256")


def _damage(entry: Path, expected: str | None, *, zipped: bool = True) -> str | None:
    """Why a stored copy cannot be trusted, or None if it verifies."""
    if zipped:
        try:
            with zipfile.ZipFile(entry) as zf:
                if expected is None and zf.testzip() is not None:  # no checksum: check the CRCs
                    return "a part of it is damaged"
        except (zipfile.BadZipFile, EOFError):
            return "it is not a whole .xlsx (cut short, e.g. by a full disk)"
    if expected is not None and _digest_file(entry) != expected:
        return "its content does not match the checksum recorded when it was made"
    return None


def _recorded(entry: Path) -> str | None:
    try:
        return _sidecar(entry).read_text(encoding="ascii").split()[0]
    except (FileNotFoundError, IndexError):
        return None


def _store(book: Path, folder: Path, command: str) -> Path:
    """A verified copy of the book in `folder`: temporary, fsynced, checked, then renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder)
    target = folder / f"{datetime.now().strftime('%Y%m%dT%H%M%S%f')}.{command}{book.suffix}"
    with replacing(target) as tmp:
        with open(book, "rb") as src, open(tmp, "wb") as dst:
            digest = hashlib.sha256()
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
            size = src.tell()
        expected = digest.hexdigest()
        if tmp.stat().st_size != size:
            problem: str | None = "it is not the book's size"
        else:
            problem = _damage(tmp, expected, zipped=zipfile.is_zipfile(book))
        if problem is not None:
            raise BookWriteError(
                f"the backup did not verify ({problem}); {book.name} is untouched",
                Where(file=target),
            )
        with replacing(_sidecar(target)) as side:
            side.write_text(f"{expected}  {target.name}\n", encoding="ascii")
    return target


def _drop(entry: Path) -> None:
    entry.unlink(missing_ok=True)
    _sidecar(entry).unlink(missing_ok=True)


def _rotate(folder: Path, keep: int) -> None:
    entries = _entries(folder)
    for old in entries[: max(len(entries) - keep, 0)]:
        _drop(old)
    kept = {p.name for p in entries[-keep:]}
    for side in folder.glob("*.sha256"):  # a copy that never made it past its rename
        if side.name.removesuffix(".sha256") not in kept:
            side.unlink(missing_ok=True)


def _backup(book: Path, state_dir: Path, command: str, keep: int) -> Path | None:
    if not book.exists():
        return None
    folder = book_backups(book, state_dir)
    target = _store(book, folder, command)
    _rotate(folder, keep)
    return target


def _forget_redo(book: Path, state_dir: Path) -> None:
    """A new write after an undo: the undone states are no longer a way forward."""
    redo = book_backups(book, state_dir) / "redo"
    for entry in _entries(redo):
        _drop(entry)


def save_book(
    book: Book,
    columns: ColumnsRules,
    *,
    state_dir: Path,
    command: str,
    as_of: datetime,
    keep_backups: int = 20,
) -> Path | None:
    """Write the book atomically after backing up the current file; returns the backup path.

    The caller holds `book_lock`. The new file is written beside the book and renamed over it,
    so a crash leaves either the old book or the new one, never half of one.
    """
    if book.partial:
        raise BookError("internal: a book read in part cannot be saved", Where(file=book.path))
    record = _written_record(book.path, state_dir)
    with writing(book.path):
        written = record.read() if record is not None else None
        with replacing(book.path) as tmp:
            signatures = _write_workbook(book, columns, tmp, as_of, written)
            backup = _backup(book.path, state_dir, command, keep_backups)
        _forget_redo(book.path, state_dir)
    if book.source == book.path:  # its own sheets are in the new file: a later save carries them
        book.stamp = _stamp(book.path)
        book.as_read = {k: f.copy(deep=False) for k, f in book.sheets.items()}
    if record is not None:
        record.write(_stamp(book.path), signatures)
    return backup


@dataclass
class _WrittenRecord:
    """What leadkit's last save of a book stored (the file's stamp, each sheet's signature), in
    the book's backup folder: the next save carries a sheet unchanged since then as stored."""

    path: Path

    def read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write(self, stamp: tuple[int, int], signatures: dict[str, str]) -> None:
        # Only a shortcut for the next save: if it cannot be kept, that save writes every sheet.
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with replacing(self.path) as tmp:
                tmp.write_text(
                    json.dumps({"stamp": list(stamp), "sheets": signatures}), encoding="utf-8"
                )


def _written_record(book: Path, state_dir: Path) -> _WrittenRecord | None:
    return _WrittenRecord(book_backups(book, state_dir) / "written.json")


def _restore(entry: Path, book: Path) -> None:
    """Put a stored copy in the book's place, refusing one that does not verify."""
    problem = _damage(entry, _recorded(entry), zipped=entry.suffix.lower() in {".xlsx", ".xlsm"})
    if problem is not None:
        raise BookError(
            f"backup {entry.name} does not verify ({problem}): not restored, {book.name} is "
            f"untouched; delete {entry} to go further back",
            Where(file=book),
        )
    with replacing(book) as tmp:
        shutil.copyfile(entry, tmp)


def _step(book: Path, state_dir: Path, keep: int, *, back: bool) -> Path:
    folder = book_backups(book, state_dir)
    source, dest = (folder, folder / "redo") if back else (folder / "redo", folder)
    entries = _entries(source)
    if not entries:
        if back:
            raise UsageError(f"nothing to undo: no backup of {book.name} in {folder}")
        raise UsageError(
            f"nothing to redo for {book.name} (only an undo can be redone, and any other write "
            "after it clears the redo list)"
        )
    latest = entries[-1]
    command = _BACKUP.fullmatch(latest.name)["command"]  # type: ignore[index]
    with writing(book):
        # The state being replaced, to step back to it (none if the book was deleted).
        kept = _store(book, dest, command) if book.exists() else None
        try:
            _restore(latest, book)
        except BaseException:
            if kept is not None:
                _drop(kept)
            raise
        _drop(latest)
        _rotate(dest, keep)
    return latest


def undo_last(book: Path, state_dir: Path, keep: int = 20) -> Path:
    """Put back the book as it was before the last leadkit write; returns the backup used.

    The restored backup leaves the list, so a second undo goes one write further back; the state
    it replaces goes to the redo list.
    """
    return _step(book, state_dir, keep, back=True)


def redo_last(book: Path, state_dir: Path, keep: int = 20) -> Path:
    """Bring back the state the last undo replaced; returns the copy used."""
    return _step(book, state_dir, keep, back=False)
