"""Time `leadkit report --period quarter --by source,grade,owner --out r.xlsx` on N leads with 5N
activities, beside the floor: the book read with fastexcel plus the report's own sheets written
with rustpy-xlsxwriter (the report file is read back beforehand, untimed).

    python bench/bench_report.py --sizes 10000 100000 --repeat 3
"""

from __future__ import annotations

import argparse

from bench_assign import roster
from bench_due import build_book
from common import OUT, leadkit, median_run, output_floor, roster_workspace, save, table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    rows = []
    for n in args.sizes:
        master = build_book(n)
        ws = OUT / f"report_ws_{n}"
        roster_workspace(ws, master, roster())
        cmd = [leadkit(), "report", "--period", "quarter", "--by", "source,grade,owner", "--out", "r.xlsx",
               "--as-of", "2026-11-03T09:00", "-q"]  # fmt: skip
        run = median_run(cmd, ws, args.repeat)
        floor = output_floor(master, ws / "r.xlsx", args.repeat)
        rows.append({"leads": n, "activities": 5 * n, "floor_s": floor["wall"], "report_s": run["wall"],
                     "ratio": run["wall"] / floor["wall"], "report_mb": run["rss_mb"]})  # fmt: skip
    print(table(rows, [
        ("leads", "leads", "d"), ("activities", "activities", "d"), ("floor_s", "floor s", ".2f"),
        ("report_s", "report s", ".2f"), ("ratio", "ratio", ".2f"), ("report_mb", "report MB", ".0f"),
    ]))  # fmt: skip
    save("bench_report", rows)


if __name__ == "__main__":
    main()
