"""One exception family for everything a user can cause, and the exit codes it maps to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from leadkit.problems import Problem


class ExitStatus(IntEnum):
    """Documented exit codes (README, "Exit codes")."""

    OK = 0
    DATA_PROBLEMS = 1
    USAGE = 2
    BOOK_BUSY = 3
    NOT_DELIVERED = 4  # some reminders could not be sent
    INBOX_FAILED = 5  # run: a file in the inbox could not be read (moved to inbox/failed/)


@dataclass(frozen=True)
class Where:
    """A place in a user's file: any part may be unknown."""

    file: Path | str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


class LeadkitError(Exception):
    """A problem the user can fix; carries where it happened and the exit code."""

    exit_status: ExitStatus = ExitStatus.USAGE
    code: Problem = Problem.usage  # the stable code `--json` carries (leadkit.problems)

    def __init__(self, message: str, where: Where | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        if self.where is None or not str(self.where):
            return self.message
        return f"{self.where}: {self.message}"


class UsageError(LeadkitError):
    """Bad options or arguments."""


class RuleError(LeadkitError):
    """A rule or config file is invalid; all its problems are in ``problems``."""

    code = Problem.rule_invalid

    def __init__(self, file: Path | str, problems: list[tuple[int | None, str]]) -> None:
        self.file = file
        self.problems = problems
        lines = [f"{file}{f', line {line}' if line else ''}: {msg}" for line, msg in problems]
        super().__init__("; ".join(lines) if len(lines) == 1 else "\n".join(lines))

    def __str__(self) -> str:
        return self.message


class InputFileError(LeadkitError):
    """A file to read is corrupt, undecodable, or has no recognisable header."""

    code = Problem.unreadable_file


class BookError(LeadkitError):
    """The lead book cannot be read or written as it is."""

    code = Problem.book_unusable


class BookBusyError(LeadkitError):
    """Another leadkit process, or Excel/WPS, holds the book."""

    exit_status = ExitStatus.BOOK_BUSY
    code = Problem.book_busy


class BookWriteError(BookError):
    """The book (or its backup) could not be written: disk full, permission, read-only folder."""

    code = Problem.book_unwritable
