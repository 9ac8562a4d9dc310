"""Helpers for tests that need more than a fixture."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path


def soffice_convert_csv_to_xlsx(csv: Path, outdir: Path, soffice) -> Path:
    """Have LibreOffice open a UTF-8 CSV and save it as .xlsx (a file another writer made)."""
    outdir.mkdir(parents=True, exist_ok=True)
    staged = outdir / "src" / csv.name
    staged.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(csv, staged)
    # 44 = comma, 34 = double quote, 76 = UTF-8
    return soffice(staged, "xlsx:Calc MS Excel 2007 XML", outdir, infilter="CSV:44,34,76")


def looks_like_xlsx(path: Path) -> bool:
    """True when the file is a zip with a workbook part (a cheap integrity check)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def inbox_workspace(folder: Path, data_dir: Path) -> Path:
    """A new workspace at `folder` whose leadkit.yaml names an inbox holding web_small.csv."""
    from leadkit import pipeline

    folder.mkdir()
    pipeline.init(folder, "zh")
    config = folder / "leadkit.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "inbox: inbox\n", encoding="utf-8")
    (folder / "inbox").mkdir()
    shutil.copy(data_dir / "web_small.csv", folder / "inbox" / "web.csv")
    return folder


def book_with_a_problem_of_each_kind(path: Path, columns, owners: list | None = None):
    """A lead book (not saved) whose leads and follow-ups hold one of each problem `check` finds:
    duplicate and empty IDs, future and unparsed dates, bad phones and e-mails, an unknown status,
    close dates out of place, a follow-up of no lead; `owners` adds an owner column."""
    import pandas as pd

    from leadkit import bookio

    book = bookio.new_book(path, "zh", columns)
    leads = pd.DataFrame({
        "lead_id": ["LX1", "LX1", None, "LX4"],
        "created_at": [pd.Timestamp("2026-03-01"), pd.Timestamp("2027-01-01"), pd.Timestamp("2026-03-01"), "昨天"],
        "company": ["甲", "乙", "丙", "丁"], "contact": ["a", "b", "c", "d"],
        "phone": ["13812345678", "12345", "+86 13812345678", None],
        "email": [None, "bad@", None, "ok@x.cn"],
        "status": ["new", "won", "奇怪", "new"],
        "closed_at": [None, pd.Timestamp("2026-12-01"), None, pd.Timestamp("2026-03-02")],
    })  # fmt: skip
    if owners is not None:
        leads["owner"] = owners
    book.append("leads", leads)
    book.append("activities", pd.DataFrame({"lead_id": ["LX9"], "summary": ["called"]}))
    return book
