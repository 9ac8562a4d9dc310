"""Reading foreign files (CSV in any encoding, .xlsx/.xls/.xlsm) into raw tables with their header row."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadkit.bookio.limits import (
    ZIP_SUFFIXES,
    check_csv_text,
    check_file_size,
    check_package,
)
from leadkit.errors import (
    InputFileError,
    Where,
)
from leadkit.rules.base import fold_header
from leadkit.rules.columns import ColumnsRules

if TYPE_CHECKING:
    from leadkit.workspace import LimitsConfig
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

    The file is measured against `limits` (leadkit.bookio.limits) before it is parsed.
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
