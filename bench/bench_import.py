"""Time `leadkit import` (a CSV into a new book) and `leadkit check` beside two floors.

Each measurement is a whole process (wall time and peak RSS), median of --repeat runs, all in the
same run on the same machine. Two floors:
- floor: the CSV read with the fastest reader (pandas' C parser, all text) and its rows written
  with the fastest writer (rustpy-xlsxwriter);
- book floor: the same read, then the very sheets and cells `leadkit import` wrote (40 template
  columns plus the extra ones, the Imports and Rejects sheets) written with the same writer, with
  no leadkit logic in between.

    python bench/bench_import.py --sizes 5000 10000 100000 --repeat 3
"""

from __future__ import annotations

import subprocess
import sys

from common import (
    AS_OF,
    DUMP,
    OUT,
    fresh_workspace,
    leadkit,
    leads_csv,
    median_run,
    save,
    sizes_and_repeat,
    table,
)

FLOOR = """
import sys, pandas as pd, rustpy_xlsxwriter as rx
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
rx.write_worksheet(frame, sys.argv[2], sheet_name="Leads", freeze_row=1)
"""

BOOK_FLOOR = """
import pickle, sys, pandas as pd, rustpy_xlsxwriter as rx
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
with open(sys.argv[2], "rb") as fh:
    sheets = pickle.load(fh)
rx.write_worksheets(sheets, sys.argv[3])
"""


def main() -> None:
    args = sizes_and_repeat()
    py = sys.executable
    rows = []
    for n in args.sizes:
        src = leads_csv(n)
        ws = OUT / f"ws_{n}"
        floor = median_run([py, "-c", FLOOR, str(src), str(OUT / "floor.xlsx")], OUT, args.repeat)
        imp = median_run(
            [leadkit(), "import", str(src), "--as-of", AS_OF, "-q"],
            ws,  # made afresh by `before` for every run
            args.repeat,
            before=lambda ws=ws: fresh_workspace(ws),
        )
        chk = median_run([leadkit(), "check", "--as-of", AS_OF, "-q"], ws, args.repeat)
        dump = OUT / f"book_{n}.pickle"
        subprocess.run([py, "-c", DUMP, str(ws / "leads.xlsx"), str(dump)], check=True)
        book_floor = median_run(
            [py, "-c", BOOK_FLOOR, str(src), str(dump), str(OUT / "floor_book.xlsx")],
            OUT,
            args.repeat,
        )
        rows.append({
            "leads": n, "floor_s": floor["wall"], "book_floor_s": book_floor["wall"],
            "import_s": imp["wall"], "ratio": imp["wall"] / floor["wall"],
            "book_ratio": imp["wall"] / book_floor["wall"], "import_mb": imp["rss_mb"],
            "check_s": chk["wall"], "check_mb": chk["rss_mb"],
        })  # fmt: skip
    print(table(rows, [
        ("leads", "leads", "d"), ("floor_s", "floor s", ".2f"), ("book_floor_s", "book floor s", ".2f"),
        ("import_s", "import s", ".2f"), ("ratio", "ratio", ".2f"), ("book_ratio", "book ratio", ".2f"),
        ("import_mb", "import MB", ".0f"), ("check_s", "check s", ".2f"), ("check_mb", "check MB", ".0f"),
    ]))  # fmt: skip
    save("bench_import", rows)


if __name__ == "__main__":
    main()
