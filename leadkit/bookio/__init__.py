"""Book I/O in one place: reading foreign files and the book, the book model, writing it back.

And keeping it safe: limits on input, formula neutralising, the lock, backups, undo and redo."""

from leadkit.bookio.model import (
    LEADKIT_SHEETS,
    SCHEMA_SAMPLE_ROWS,
    Book,
    UserSheets,
    empty_sheet,
    load_book,
    new_book,
)
from leadkit.bookio.read import (
    BLANK_ROWS,
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    MAX_HEADER_SCAN,
    RawTable,
    header_lookup,
    read_input_tables,
)
from leadkit.bookio.safety import (
    backups_dir,
    book_backups,
    book_lock,
    redo_last,
    save_book,
    undo_last,
    writing,
)
from leadkit.bookio.write import read_table, write_table

__all__ = [
    "BLANK_ROWS",
    "CSV_SUFFIXES",
    "EXCEL_SUFFIXES",
    "LEADKIT_SHEETS",
    "MAX_HEADER_SCAN",
    "SCHEMA_SAMPLE_ROWS",
    "Book",
    "RawTable",
    "UserSheets",
    "backups_dir",
    "book_backups",
    "book_lock",
    "empty_sheet",
    "header_lookup",
    "load_book",
    "new_book",
    "read_input_tables",
    "read_table",
    "redo_last",
    "save_book",
    "undo_last",
    "write_table",
    "writing",
]
