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
