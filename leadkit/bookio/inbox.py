"""The inbox folder `run` imports from: which files it takes, and where they go afterwards.

Imported files move to `done/DATE/`, unreadable ones to `failed/` with `NAME.reason.txt`, so the
next run never imports a file twice and a person sees at once what was refused and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from leadkit.bookio.read import CSV_SUFFIXES, EXCEL_SUFFIXES

# not .txt: a note someone drops beside the sheets is not a lead file to refuse
KINDS = (CSV_SUFFIXES - {".txt"}) | EXCEL_SUFFIXES


@dataclass
class Failed:
    """A file of the inbox that could not be read, and why (the error's one line)."""

    path: Path
    reason: str


def arrivals(folder: Path) -> list[Path]:
    """The files waiting in the inbox, by name: readable kinds only, never the done/failed
    folders, hidden files or the owner files Excel/WPS (`~$x.xlsx`) and LibreOffice leave."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in KINDS and not p.name.startswith((".", "~$"))
    )


def _free(target: Path) -> Path:
    """`target`, or `name-2.ext`, `name-3.ext`… if a file of that name is already filed there."""
    n, free = 1, target
    while free.exists():
        n += 1
        free = target.with_name(f"{target.stem}-{n}{target.suffix}")
    return free


def file_done(folder: Path, files: list[Path], day: date) -> list[Path]:
    """Move imported files to `done/DATE/`; returns where each went."""
    done = folder / "done" / day.isoformat()
    moved = []
    for path in files:
        done.mkdir(parents=True, exist_ok=True)
        target = _free(done / path.name)
        os.replace(path, target)
        moved.append(target)
    return moved


def file_failed(folder: Path, failures: list[Failed]) -> list[Path]:
    """Move unreadable files to `failed/`, each with `NAME.reason.txt` saying why."""
    failed = folder / "failed"
    moved = []
    for one in failures:
        failed.mkdir(parents=True, exist_ok=True)
        target = _free(failed / one.path.name)
        os.replace(one.path, target)
        target.with_name(target.name + ".reason.txt").write_text(
            one.reason + "\n", encoding="utf-8"
        )
        moved.append(target)
    return moved
