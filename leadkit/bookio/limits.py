"""Bounded input: a file is measured against the `limits:` of leadkit.yaml before it is parsed.

The spreadsheet reader (calamine) holds a whole sheet as a dense grid in memory: one cell at
ZZ200000 costs it 140 million cells, a sheet that inflates to 1 GB costs five times that. So a
package is measured first, cheaply and with bounded memory: its zip entries are inflated in
chunks with a cap (the sizes a zip declares can lie), and the sheets' XML is scanned on the way
for the last row, the right-most column and the longest cell. CSV files are measured by size,
field count and field length. Past a limit, `InputTooLarge` names the file, the sheet and what
was too big; nothing has been parsed, so memory stays small and the book is untouched.

Light on purpose (no pandas): a file is measured before pandas or a reader is loaded.
"""

from __future__ import annotations

import csv
import html
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import methodcaller
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadkit.errors import InputFileError, Where

if TYPE_CHECKING:
    from leadkit.workspace import LimitsConfig

EXCEL_CELL_CHARS = 32_767  # the most characters one Excel cell holds (Excel, LibreOffice, calamine)
ZIP_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".ods"}
CHUNK = 1 << 20
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")


class InputTooLarge(InputFileError):
    """A file is past one of the `limits:` (exit 2); it was not parsed."""


def default_limits() -> LimitsConfig:
    from leadkit.workspace import LimitsConfig

    return LimitsConfig()


def column_letters(n: int) -> str:
    """1 -> A, 27 -> AA, 16384 -> XFD."""
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def column_number(letters: str) -> int:
    """A -> 1, AA -> 27, XFD -> 16384."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n:,.0f} bytes"


@dataclass
class _Longest:
    """The longest piece between two markers in a stream of XML (a cell, a shared string).

    Split and max run in C, so a sheet of a million cells costs no Python loop per cell; only
    a piece longer than `threshold` bytes is decoded to count its characters exactly.
    """

    marker: bytes
    threshold: int
    keep: int  # bytes of one piece kept at most (enough to prove it too long)
    carry: bytearray = field(default_factory=bytearray)
    carried_over: bool = False  # carry is longer than `keep`: its text was cut
    longest_chars: int = 0
    count: int = 0  # pieces seen (for shared strings: the index of the next item)
    long_items: list[int] = field(default_factory=list)  # indexes of pieces over Excel's limit

    def feed(self, chunk: bytes) -> None:
        parts = chunk.split(self.marker)
        if len(parts) == 1:
            self._grow(chunk)
            return
        self._grow(parts[0])
        self._close()
        middle = parts[1:-1]
        if middle:
            big = max(middle, key=len)
            if len(big) > self.threshold:
                for i, piece in enumerate(middle):
                    if len(piece) > self.threshold:
                        self._measure(piece, self.count - 1 + i)
            self.count += len(middle)
        self.carry = bytearray(parts[-1][: self.keep])
        self.carried_over = len(parts[-1]) > self.keep

    def finish(self) -> None:
        self._close()

    def _grow(self, data: bytes) -> None:
        room = self.keep - len(self.carry)
        if len(data) > room:
            self.carried_over = True
        self.carry += data[: max(room, 0)]

    def _close(self) -> None:
        if len(self.carry) > self.threshold or self.carried_over:
            self._measure(bytes(self.carry), self.count - 1, cut=self.carried_over)
        self.count += 1
        self.carry = bytearray()
        self.carried_over = False

    def _measure(self, piece: bytes, index: int, cut: bool = False) -> None:
        text = piece.decode("utf-8", "replace")
        if not text.startswith("<"):  # a cell's attributes, after the `<c ` marker
            text = text.partition(">")[2]
        text = re.sub(r"<[^>]*>", "", text)
        # A cut piece held `keep` bytes or more; no character takes more than ten bytes of XML.
        chars = max(len(html.unescape(text)), len(piece) // 10 + 1) if cut else len(
            html.unescape(text)
        )  # fmt: skip
        self.longest_chars = max(self.longest_chars, chars)
        if chars > EXCEL_CELL_CHARS and index >= 0:
            self.long_items.append(index)


@dataclass
class _SheetScan:
    """Last row, right-most column and longest inline cell of one worksheet's XML stream."""

    limits: LimitsConfig
    last_row: int = 0
    last_column: int = 0
    tail: bytes = b""
    cells: _Longest = field(init=False)

    def __post_init__(self) -> None:
        threshold = min(self.limits.cell_chars, EXCEL_CELL_CHARS)
        self.cells = _Longest(b"<c ", threshold, 10 * self.limits.cell_chars + 4096)
        # Only column references at least this long can pass the column limit.
        letters = len(column_letters(min(self.limits.columns + 1, 16384)))
        self._wide = re.compile(rb'<c r="([A-Z]{%d,3})[0-9]' % letters)

    def feed(self, chunk: bytes) -> None:
        self.cells.feed(chunk)
        window = self.tail + chunk
        at = window.rfind(b"<row ")
        if at >= 0:
            m = re.search(rb'\sr="(\d+)"', window[at : at + 200])
            if m:
                self.last_row = max(self.last_row, int(m[1]))
        # one pass; a real sheet has none or few such references (A..Z never match by default)
        found = self._wide.findall(window)
        if found:
            longest = max(map(len, found))
            best = max(f for f in found if len(f) == longest)
            self.last_column = max(self.last_column, column_number(best.decode()))
        self.tail = window[-256:]


def _sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name -> the sheet's title, from the workbook and its relationships."""
    try:
        book = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError):
        return {}
    targets = {}
    for rel in re.findall(r"<Relationship\b[^>]*>", rels):
        rid, target = re.search(r'Id="([^"]+)"', rel), re.search(r'Target="([^"]+)"', rel)
        if rid and target:
            path = target[1].lstrip("/")
            targets[rid[1]] = path if path.startswith("xl/") else "xl/" + path
    names = {}
    for sheet in re.findall(r"<sheet\b[^>]*>", book):
        name, rid = re.search(r'name="([^"]*)"', sheet), re.search(r'r:id="([^"]+)"', sheet)
        if name and rid and rid[1] in targets:
            names[targets[rid[1]]] = html.unescape(name[1])
    return names


def _stream(path: Path, fh: io.BufferedReader, info: zipfile.ZipInfo, budget: int):
    """The inflated bytes of one entry in chunks, from its compressed data, whatever its header
    says it unpacks to; stops (returns) once `budget` bytes have come out."""
    fh.seek(info.header_offset)
    header = fh.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        return
    name_len, extra_len = _LOCAL_HEADER.unpack(header)[-2:]
    fh.seek(name_len + extra_len, io.SEEK_CUR)
    left = info.compress_size
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    produced = 0
    while left > 0 and produced <= budget:
        raw = fh.read(min(CHUNK, left))
        if not raw:
            return
        left -= len(raw)
        if inflater is None:
            produced += len(raw)
            yield raw
            continue
        data = raw
        while data and produced <= budget:
            try:
                out = inflater.decompress(data, CHUNK)
            except zlib.error:
                return  # corrupt: the reader will say so
            data = inflater.unconsumed_tail
            produced += len(out)
            if out:
                yield out


def check_package(path: Path, limits: LimitsConfig | None = None, *, book: bool = False) -> None:
    """Refuse an .xlsx/.xlsm/.xlsb/.ods package past the limits, before any parser reads it.

    `book` (the lead book itself, read on every command): only what is cheap, the sizes the zip
    declares and each sheet's last row and column; an input file is inflated in full, with a cap.
    """
    limits = limits or default_limits()
    key = "book_unpacked_mb" if book else "unpacked_mb"
    cap = int(getattr(limits, key) * 1e6)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a package (or unreadable): the reader gives the one line for that
    with zf, open(path, "rb") as fh:
        infos = zf.infolist()
        titles = _sheet_names(zf)
        declared = sum(i.file_size for i in infos)
        if declared > cap:
            biggest = max(infos, key=lambda i: i.file_size).filename
            raise InputTooLarge(
                f"unpacks to {_mb(declared)} (limit {_mb(cap)}, `limits: {key}`)",
                Where(file=path, sheet=titles.get(biggest)),
            )
        if path.suffix.lower() not in {".xlsx", ".xlsm"} and book:
            return
        shared = _Longest(b"<si>", min(limits.cell_chars, EXCEL_CELL_CHARS), 10 * limits.cell_chars + 4096)  # fmt: skip
        total = 0
        for info in infos:
            sheet = titles.get(info.filename)
            is_shared = info.filename == "xl/sharedStrings.xml"
            if book and sheet is None:
                continue
            scan = _SheetScan(limits) if sheet is not None else None
            for chunk in _stream(path, fh, info, cap - total):
                total += len(chunk)
                if total > cap:
                    raise InputTooLarge(
                        f"unpacks to more than {_mb(cap)} (limit, `limits: {key}`; "
                        f"the zip declares {_mb(declared)})",
                        Where(file=path, sheet=sheet),
                    )
                if scan is not None:
                    scan.feed(chunk)
                    _check_extent(path, sheet, scan, limits)
                    if book:
                        break  # the book's XML is leadkit's own: its first rows tell enough
                elif is_shared:
                    shared.feed(chunk)
                    _check_cell(path, None, shared.longest_chars, limits)
            if scan is not None:
                scan.cells.finish()
                _check_extent(path, sheet, scan, limits)
                _check_cell(path, sheet, scan.cells.longest_chars, limits)
        shared.finish()
        _check_cell(path, None, shared.longest_chars, limits)


def _check_extent(path: Path, sheet: str | None, scan: _SheetScan, limits: LimitsConfig) -> None:
    where = Where(file=path, sheet=sheet)
    if scan.last_column > limits.columns:
        raise InputTooLarge(
            f"reaches column {column_letters(scan.last_column)} ({scan.last_column:,} columns; "
            f"limit {limits.columns:,}, `limits: columns`)",
            where,
        )
    if scan.last_row > limits.rows:
        raise InputTooLarge(
            f"reaches row {scan.last_row:,} (limit {limits.rows:,}, `limits: rows`)", where
        )
    area = scan.last_row * max(scan.last_column, 1)
    if area > limits.cells:
        raise InputTooLarge(
            f"spans {area:,} cells to {column_letters(max(scan.last_column, 1))}{scan.last_row} "
            f"(limit {limits.cells:,}, `limits: cells`)",
            where,
        )


def _check_cell(path: Path, sheet: str | None, chars: int, limits: LimitsConfig) -> None:
    if chars > limits.cell_chars:
        raise InputTooLarge(
            f"holds a cell of {chars:,} characters (limit {limits.cell_chars:,}, "
            "`limits: cell_chars`)",
            Where(file=path, sheet=sheet),
        )


def check_file_size(path: Path, limits: LimitsConfig | None = None) -> None:
    """Refuse a file (CSV, .xls) larger than the unpacked limit before it is read."""
    limits = limits or default_limits()
    cap = int(limits.unpacked_mb * 1e6)
    size = path.stat().st_size
    if size > cap:
        raise InputTooLarge(
            f"is {_mb(size)} (limit {_mb(cap)}, `limits: unpacked_mb`)", Where(file=path)
        )


def check_csv_text(path: Path, text: str, delimiter: str, limits: LimitsConfig | None) -> None:
    """Refuse a CSV with too many rows, a line of too many fields or a field too long.

    A quick pass over the physical lines (C-speed splits) clears almost every file; only a file
    with a suspicious line is parsed with the csv module, which stops at the first field past
    the limit, so a long line is never held twice.
    """
    limits = limits or default_limits()
    split = text.split("\n")
    lines = len(split)
    # C-speed maps: a generator per line was 0.3 s of a 100k-row CSV. A line can hold more
    # fields than `columns` only if it is longer than that.
    longest = max(map(len, split), default=0)
    widest = (
        max(map(methodcaller("count", delimiter), split), default=0) + 1
        if longest > limits.columns
        else 0
    )
    if lines <= limits.rows and longest <= limits.cell_chars and widest <= limits.columns:
        return
    old = csv.field_size_limit()
    csv.field_size_limit(limits.cell_chars)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for n, row in enumerate(reader, start=1):
            if n > limits.rows:
                raise InputTooLarge(
                    f"has more than {limits.rows:,} rows (limit, `limits: rows`)", Where(file=path)
                )
            if len(row) > limits.columns:
                raise InputTooLarge(
                    f"has {len(row):,} fields (limit {limits.columns:,}, `limits: columns`)",
                    Where(file=path, line=reader.line_num),
                )
    except csv.Error as exc:
        if "field larger than field limit" not in str(exc):
            return  # malformed: the CSV reader gives the one line for that
        raise InputTooLarge(
            f"holds a field of more than {limits.cell_chars:,} characters (limit, "
            "`limits: cell_chars`)",
            Where(file=path, line=reader.line_num),
        ) from None
    finally:
        csv.field_size_limit(old)


# ---------------------------------------------------------------------------------------------
# Text longer than one Excel cell

# A piece of a split text must not start like a formula (a spreadsheet would run it).
_FORMULA_START = "=+-@\t\r＝"


def split_text(text: str, size: int = EXCEL_CELL_CHARS) -> list[str]:
    """`text` in pieces of at most `size` characters that join back to it exactly.

    A cut is moved a little to the left where the next piece would start like a formula.
    """
    pieces, at = [], 0
    while len(text) - at > size:
        cut = at + size
        while cut > at + 1 and text[cut] in _FORMULA_START:
            cut -= 1
        pieces.append(text[at:cut])
        at = cut
    pieces.append(text[at:])
    return pieces


def spill_long_cells(
    frame: Any, label: Callable[[str], str]
) -> tuple[Any, list[tuple[Any, str, int]]]:
    """Cells over Excel's 32,767 characters, split into continuation columns of the same row.

    The cell keeps its first 32,767 characters; the rest follows in new columns named by
    `label(column)` and a number ("备注 (续2)" …), so the full text stays in the book, in order,
    and joins back exactly. Returns (frame, [(row index, column, characters)]) for warnings.
    """
    long: list[tuple[Any, str, int]] = []
    for column in list(frame.columns):
        values = frame[column]
        if not (values.dtype == object or str(values.dtype).startswith("str")):
            continue
        over = _over_limit(values)
        if over is None:
            continue
        frame[column] = values.astype(object)
        for index in frame.index[over.to_numpy(bool)]:
            text = frame.at[index, column]
            pieces = split_text(text)
            frame.at[index, column] = pieces[0]
            for n, piece in enumerate(pieces[1:], start=2):
                extra = label(column).format(n=n)
                if extra not in frame.columns:
                    frame[extra] = None
                frame.at[index, extra] = piece
            long.append((index, column, len(text)))
    return frame, long


def _over_limit(values: Any) -> Any:
    """Which cells of a text column are past Excel's limit, or None when none is (the usual
    case, told from the cells' UTF-8 byte lengths, which Arrow keeps: a cell of at most 32,767
    bytes has at most as many characters, and counting characters decodes every cell)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.dtype == object:
        try:
            text = pa.array(values, type=pa.string(), from_pandas=True)
        except pa.ArrowException:  # numbers or dates among the text (or past 2 GB)
            text = None
    else:
        text = pa.array(values.array)
    if text is not None:
        longest = pc.max(pc.binary_length(text)).as_py()
        if longest is None or longest <= EXCEL_CELL_CHARS:
            return None
    over = _text_lengths(values) > EXCEL_CELL_CHARS
    return over if over.any() else None


def _text_lengths(values: Any) -> Any:
    """Characters per cell of a text column, 0 for blanks and non-text cells."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.dtype == object:
        # an object column's .str.len() calls Python per cell (0.8 s a 100k save); as Arrow
        # text it is one pass in C
        try:
            text = pa.array(values, type=pa.string(), from_pandas=True)
        except pa.ArrowException:  # numbers or dates among the text (or past 2 GB)
            return values.map(lambda v: len(v) if isinstance(v, str) else 0)
        lengths = pc.utf8_length(text).fill_null(0).to_numpy(zero_copy_only=False)
        return pd.Series(lengths, index=values.index)
    return values.str.len().fillna(0)  # Arrow text already: C speed


def _bytes_fit(array: Any) -> bool:
    """Whether no cell of Arrow text is longer in bytes than Excel's limit in characters (UTF-8
    takes one byte or more per character): one C pass, no column of lengths built."""
    import pyarrow.compute as pc

    longest = pc.max(pc.binary_length(array._pa_array)).as_py()
    return longest is None or longest <= EXCEL_CELL_CHARS


def fit_excel_cells(values: Any) -> Any:
    """The writer's last guard: a text past Excel's limit is cut, marked, never a crash.

    Import spills long cells into continuation columns before this (`spill_long_cells`); what
    reaches here is text leadkit itself composed (a reject's description of its row).
    """
    if values.dtype != object and not str(values.dtype).startswith("str"):
        return values
    import pandas as pd

    if isinstance(values.array, pd.arrays.ArrowStringArray) and _bytes_fit(values.array):
        return values  # no cell has more bytes than a cell holds characters (the usual case)
    over = _over_limit(values)
    if over is None:
        return values
    out = values.astype(object).copy()
    for index in out.index[over.to_numpy(bool)]:
        text = out[index]
        kept = EXCEL_CELL_CHARS - 60  # room for the mark
        out[index] = text[:kept] + f" …[{len(text) - kept:,} more characters cut]"
    return out
