"""Writing the book: leadkit's sheets from frames, every cell as stored, the user's sheets carried as they were."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadkit.bookio.limits import (
    fit_excel_cells,
)
from leadkit.bookio.neutralise import neutralise, neutralise_frame, neutralise_names, restore_frame
from leadkit.errors import (
    BookError,
    Where,
)
from leadkit.files import replacing
from leadkit.rules.columns import ColumnsRules, SheetSpec

if TYPE_CHECKING:
    pass
from leadkit.bookio.model import Book, UserSheets, _stamp
from leadkit.bookio.read import BLANK_ROWS, _excel_reader

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


def _writable(values: pd.Series, kind: str | None = None) -> pd.Series:
    """A column the writer accepts: in a mixed column each cell keeps its type, and no text is
    longer than an Excel cell holds (the writer would refuse the whole book). `kind` is the
    object column's `infer_dtype`, if the caller has it (a pass over every cell)."""
    return fit_excel_cells(_one_type(values, kind))


def _one_type(values: pd.Series, kind: str | None = None) -> pd.Series:
    if values.dtype != object:
        return values
    kind = kind or pd.api.types.infer_dtype(values, skipna=True)
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
            kind = None
            if values.dtype == object:
                kind = pd.api.types.infer_dtype(values, skipna=True)
                if kind == "string":
                    # text only, as Arrow text once: the guards below and the padding then need
                    # no conversion of their own (three per column were 0.3 s of a 100k import)
                    values = values.astype("str")
            if kind != "empty":  # an empty column has nothing to guard
                # the one door every text cell of a leadkit sheet passes
                values = neutralise(_writable(values, kind))
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
    if values.dtype == object:  # as the reindex pads it (NaN), without its indexer
        return pd.Series(np.concatenate([values.to_numpy(), np.full(blank, np.nan, dtype=object)]))
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
) -> tuple[set[str], dict[str, int]]:
    """leadkit's sheets whose stored part is what writing them now would store: the file is
    leadkit's own last write (the stamp it recorded then), the sheet was written with the same
    rules (its signature), and its cells are those read from it. Second, the sheets that only
    grew since (the Imports log): name -> the number of rows read, which are unchanged."""
    if not written or book.source != book.path or book.stamp is None:
        return set(), {}
    if written.get("stamp") != list(book.stamp) or _stamp(book.path) != book.stamp:
        return set(), {}
    stored = written.get("sheets") or {}
    same: set[str] = set()
    grown: dict[str, int] = {}
    for name, before in book.as_read.items():
        title = columns.sheets[name].title(book.lang)
        fits = name in book.sheets and title in stored and stored[title] == signatures.get(title)
        if not fits:
            continue
        now = book.sheets[name]
        if now.equals(before):  # cells last: the one costly check
            same.add(name)
        elif len(before) and len(now) > len(before) and _starts_with(now, before):
            grown[name] = len(before)
    return same, grown


def _starts_with(frame: pd.DataFrame, head: pd.DataFrame) -> bool:
    """Whether `frame`'s first rows are `head`, cell for cell. A sample of rows first: a sheet
    whose old rows were changed (the leads, scored and assigned) then costs no full comparison."""
    step = max(1, len(head) // 64)
    sample = slice(0, len(head), step)
    return same_cells(frame.iloc[sample], head.iloc[sample]) and same_cells(frame, head)


def same_cells(new: pd.DataFrame, old: pd.DataFrame, *, any_types: bool = False) -> bool:
    """Whether `new`'s first rows are `old`'s cells, column by column (equal frames when of one
    length). A column the two type differently is compared as values: any two types with
    `any_types` (a frame kept for its cells: the floor's pandas/fastexcel read text and dates as
    other dtypes), else only two kinds of text (rows appended to a column of Arrow text make it
    objects; the writer stores both alike). Objects only where the dtypes differ: comparing every
    column as objects cost half a second a save at 100k leads."""
    if list(new.columns) != list(old.columns) or len(new) < len(old):
        return False
    top = new.iloc[: len(old)]
    for i in range(len(old.columns)):
        now, before = top.iloc[:, i].reset_index(drop=True), old.iloc[:, i].reset_index(drop=True)
        if now.dtype != before.dtype:
            text = (
                pd.api.types.is_object_dtype(d) or isinstance(d, pd.StringDtype)
                for d in (now.dtype, before.dtype)
            )
            if not any_types and not all(text):
                return False
            now, before = now.astype(object), before.astype(object)
        if not now.equals(before):
            return False
    return True


def _masked_head(frame: pd.DataFrame, rows: int) -> pd.DataFrame | None:
    """The sheet as written with its first `rows` data rows empty (the writer emits no XML for
    them; `xlsx` puts the stored rows in their place), every column of the type it had; None if
    a column is of a kind where an empty cell could change how the writer stores the others."""
    out: dict[str, pd.Series] = {}
    for i, name in enumerate(frame.columns):
        values = frame.iloc[:, i]
        array = values.array
        if isinstance(array, pd.arrays.ArrowStringArray):
            import pyarrow as pa

            chunks = array._pa_array.slice(rows)  # no copy of the text
            column = pa.chunked_array([pa.nulls(rows, chunks.type), *chunks.chunks], chunks.type)
            out[name] = pd.Series(pd.arrays.ArrowStringArray(column, dtype=values.dtype))
        elif isinstance(values.dtype, np.dtype) and values.dtype.kind in "fM":
            data = values.to_numpy().copy()
            data[:rows] = np.nan if values.dtype.kind == "f" else np.datetime64("NaT")
            out[name] = pd.Series(data)
        elif values.dtype == object and values.isna().all():
            out[name] = values.reset_index(drop=True)
        else:
            return None  # object cells of several types (the writer's row-by-row way), ints…
    return pd.DataFrame(out)


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
    own, grown = _unchanged_own(book, columns, signatures, written)
    appended: dict[str, int] = {}  # title -> data rows carried as stored above the new ones
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
            if name in grown:
                # only rows added below those stored: the old rows are carried as stored XML
                # (the writer is told they are empty) and only the new ones are written
                masked = _masked_head(frame, grown[name])
                if masked is not None:
                    frame, appended[title] = masked, grown[name]
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
        if not carried and not macro_enabled and not own and not appended:
            rx.write_worksheets(entries, str(target), datetime_format="yyyy-mm-dd hh:mm", **opts)
            return signatures
        from leadkit.bookio import xlsx as xlsxpackage

        base = io.BytesIO()
        rx.write_worksheets(entries, base, datetime_format="yyyy-mm-dd hh:mm", **opts)
    except (ValueError, TypeError) as exc:
        raise BookError(f"cannot write the book: {exc}", Where(file=book.path)) from exc
    try:
        xlsxpackage.assemble(
            base, target,
            source=book.source if carried or macro_enabled or own or appended else None,
            titles=carried, macro_enabled=macro_enabled,
            own=[columns.sheets[n].title(book.lang) for n in book.order if n in own],
            appended=appended,
        )  # fmt: skip
    except xlsxpackage.PackageError as exc:  # checked by `carryable`; a part it did not read
        if own or appended:  # leadkit's own sheets did not fit as stored: written from cells
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
    from leadkit.bookio import xlsx as xlsxpackage

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
