"""Replacing a file whole: written beside it, flushed to disk, then renamed over it; and the
input files a command was given, with their glob patterns expanded."""

from __future__ import annotations

import contextlib
import glob
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TEMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.tmp")


_GLOB_CHARS = frozenset("*?[")


def expand_inputs(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(the files to read, the glob patterns that matched nothing), in the order given.

    A shell passes a pattern that matches nothing as it stands (`inbox/*.xlsx` on a morning
    with no .xlsx, from cron's /bin/sh): such a pattern names no file, so it is no error. One
    the shell did not expand (quoted, Windows) is expanded here. A path that exists is taken as
    it is, even with * ? [ in its name; one without them that does not exist stays, for the
    reader to report as a missing file.
    """
    found: list[Path] = []
    unmatched: list[Path] = []
    for path in paths:
        text = str(path)
        if path.exists() or not _GLOB_CHARS & set(text):
            found.append(path)
            continue
        matches = sorted(glob.glob(text))
        if matches:
            found.extend(Path(m) for m in matches)
        else:
            unmatched.append(path)
    return found, unmatched


def pid_alive(pid: int) -> bool:
    """Whether a process of that id runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def temp_name(target: Path) -> Path:
    """The temporary beside `target` this process writes: `.NAME.PID.tmp`."""
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def remove_stale_temps(folder: Path, name: str = "") -> list[Path]:
    """Delete the `.NAME….PID.tmp` files in `folder` whose process is gone; returns them.

    A save killed half-way (power cut, kill -9) leaves its temporary; the pid in the name says
    whether anyone can still be writing it. `name` narrows to temporaries of that file.
    """
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for path in folder.glob(f".{name}*.tmp"):
            m = _TEMP.fullmatch(path.name)
            if m and not pid_alive(int(m["pid"])):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _keep_owner_and_mode(tmp: Path, was: os.stat_result) -> None:
    os.chmod(tmp, was.st_mode & 0o7777)
    now = tmp.stat()
    if (now.st_uid, now.st_gid) == (was.st_uid, was.st_gid):
        return
    try:
        os.chown(tmp, was.st_uid, was.st_gid)
    except PermissionError:
        # Not root: a user may still hand the file to a group they belong to, as editors do.
        with contextlib.suppress(PermissionError):
            os.chown(tmp, -1, was.st_gid)
    os.chmod(tmp, was.st_mode & 0o7777)  # chown clears set-id bits


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` to write to; renamed over `target` when the block ends.

    If the block raises, the temporary file is deleted and `target` is untouched. A crash leaves
    either the old file or the new one, never half of one. A symlink is written through to the
    file it names (the link stays a link), and the file keeps its mode, owner and group.
    """
    real = target.resolve() if target.is_symlink() else target
    real.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(real.parent, real.name)
    try:
        was: os.stat_result | None = real.stat()
    except FileNotFoundError:
        was = None
    tmp = temp_name(real)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if was is not None:
            _keep_owner_and_mode(tmp, was)
        os.replace(tmp, real)
        _fsync_folder(real.parent)  # the rename itself survives a power cut
    finally:
        tmp.unlink(missing_ok=True)
