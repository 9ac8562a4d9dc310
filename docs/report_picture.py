"""Redraw docs/report.png, the README's picture of one report sheet, from the bundled samples.

The picture is what a manager gets, not a mock-up: `leadkit report` writes the demo's 2025 report
from samples/history.xlsx, LibreOffice prints it to PDF as it would to paper (one page per sheet),
and pdftoppm (poppler-utils) turns the chosen sheet's page into a PNG, cut to the table and chart.

    python docs/report_picture.py                    # the 漏斗 sheet -> docs/report.png
    python docs/report_picture.py --sheet 销售       # another sheet
    python docs/report_picture.py --lang en          # an English workspace's report (Funnel)

A Chinese report needs a CJK font for LibreOffice (fonts-noto-cjk or fonts-wqy-microhei); without
one every Chinese character prints as a box, so the script refuses rather than draw that.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DPI = 110
# the printed table and chart fill the top of a landscape page; the rest of it is white
CROP_INCHES = (11.69, 3.4)


def cjk_font() -> bool:
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(fonts.stdout.strip())


def leadkit(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "leadkit", *args], cwd=cwd, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lang", choices=["zh", "en"], default="zh", help="the workspace's language"
    )
    parser.add_argument(
        "--sheet", help="the report sheet to draw (default: the funnel, 漏斗/Funnel)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "report.png")
    options = parser.parse_args()
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftoppm") is None:
        print("needs LibreOffice (soffice) and poppler-utils (pdftoppm)", file=sys.stderr)
        return 2
    if options.lang == "zh" and not cjk_font():
        print("no CJK font: install fonts-noto-cjk (or use --lang en)", file=sys.stderr)
        return 2
    sheet = options.sheet or ("漏斗" if options.lang == "zh" else "Funnel")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        leadkit("init", str(ws), "--lang", options.lang, "-q", cwd=ROOT)
        report = ws / "report_2025.xlsx"
        history = ROOT / "samples" / "history.xlsx"
        leadkit("report", str(history), "--period", "year", "--as-of", "2025-12-31T18:00",
                "--by", "source,owner", "--out", str(report), "-q", cwd=ws)  # fmt: skip
        import openpyxl

        sheets = openpyxl.load_workbook(report, read_only=True).sheetnames
        if sheet not in sheets:
            print(f"no sheet {sheet!r}; the report has {', '.join(sheets)}", file=sys.stderr)
            return 2
        page = sheets.index(sheet) + 1  # one printed page per sheet
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{tmp}/lo-profile", "--headless",
             "--convert-to", "pdf", "--outdir", tmp, str(report)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        width, height = (round(x * DPI) for x in CROP_INCHES)
        stem = Path(tmp) / "page"
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile",
             "-x", "0", "-y", "0", "-W", str(width), "-H", str(height), str(Path(tmp) / "report_2025.pdf"),
             str(stem)],
            check=True, cwd=tmp,
        )  # fmt: skip
        shutil.copyfile(stem.with_suffix(".png"), options.out)
    print(f"wrote {options.out} (sheet {sheet}, page {page} of {len(sheets)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
