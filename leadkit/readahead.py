"""Reading the book's Leads sheet on the second core while the rest of leadkit imports.

A command's context (leadkit.context) starts it before pandas and the pipeline steps are imported:
the spreadsheet parser runs outside the GIL, so the two overlap. `bookio.load_book` takes the sheet
only if the file is still the one that was read (same inode, size and modification time); a save in
between (another leadkit run, Excel) makes it read the file again, so nothing stale is ever used.
This module only schedules the read: what a sheet means, and every error, stays in bookio.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadkit.workspace import LimitsConfig

# fastexcel logs a warning for every all-empty or mixed column it reads (both normal in a lead
# book); set before any reader starts, on whichever thread, so `--quiet` stays silent.
logging.getLogger("fastexcel").setLevel(logging.ERROR)

# A book's columns are typed from every row: a sample would blank a later cell that does not fit
# the sampled type (很多 in 员工数 at row 1500). A mixed column is read as text and parsed per cell.
SCHEMA_SAMPLE_ROWS = None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class ReadAhead:
    """One sheet of an .xlsx book, read in a background thread."""

    def __init__(
        self, path: Path, wanted: Callable[[str], bool], dtypes: dict[str, str] | None = None
    ) -> None:
        import fastexcel  # imported here, in the caller's thread, never inside the worker

        self.path = path
        self._stamp = _stamp(path)
        self._fastexcel = fastexcel
        self._wanted = wanted
        self.dtypes = dtypes  # as `bookio.load_book` would read the sheet; it checks they agree
        self.checked: tuple[LimitsConfig | None] | None = None  # `start` checked the package so
        self._result: tuple[str, Any] | None = None
        self._thread = threading.Thread(target=self._run, name="leadkit-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            reader = self._fastexcel.read_excel(str(self.path))
            title = next((t for t in reader.sheet_names if self._wanted(t)), None)
            if title is not None:
                # to_arrow builds the columns (a quarter of the read); it belongs off the main thread
                self._result = (
                    title,
                    reader.load_sheet(
                        title, schema_sample_rows=SCHEMA_SAMPLE_ROWS, dtypes=self.dtypes
                    ).to_arrow(),
                )
        except Exception:  # any failure: load_book reads the file itself and reports it there
            self._result = None

    def vouches(self, path: Path, limits: LimitsConfig | None) -> bool:
        """Whether `start` already checked this very file against these limits (so `load_book`
        need not unpack-scan it again: 0.05 s of every command on a 100k book)."""
        return (
            self.checked is not None
            and self.checked[0] == limits
            and path == self.path
            and _stamp(path) == self._stamp
        )

    def take(self, path: Path) -> tuple[str, Any] | None:
        """(sheet title, its Arrow table) if `path` is still the file that was read, else None.

        Waits for the read to finish; hands the result over once.
        """
        self._thread.join()
        result, self._result = self._result, None
        if result is None or path != self.path or _stamp(path) != self._stamp:
            return None
        return result


def start(
    path: Path,
    wanted: Callable[[str], bool],
    limits: LimitsConfig | None = None,
    dtypes: dict[str, str] | None = None,
) -> ReadAhead | None:
    """Start reading the first sheet whose title `wanted` accepts, if `path` is an .xlsx file.

    A book past the `limits` is not read ahead: `load_book` then says what is too big.
    """
    if path.suffix.lower() not in {".xlsx", ".xlsm"} or not path.is_file():
        return None
    from leadkit.limits import InputTooLarge, check_package

    try:
        check_package(path, limits, book=True)
    except InputTooLarge:
        return None
    ahead = ReadAhead(path, wanted, dtypes)
    ahead.checked = (limits,)
    return ahead
