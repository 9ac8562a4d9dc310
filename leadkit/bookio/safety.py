"""The book's safety: one lock per real file, verified backups per book, save, undo and redo."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadkit.errors import (
    BookBusyError,
    BookError,
    BookWriteError,
    UsageError,
    Where,
)
from leadkit.files import remove_stale_temps, replacing, temp_name
from leadkit.rules.columns import ColumnsRules

if TYPE_CHECKING:
    pass
from leadkit.bookio.model import Book, _stamp
from leadkit.bookio.write import _write_workbook

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
