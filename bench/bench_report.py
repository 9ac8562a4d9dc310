"""Time `leadkit report --period quarter --by source,grade,owner --out r.xlsx` on N leads with 5N
activities, beside the floor: the book read with fastexcel plus the report's own sheets written
with rustpy-xlsxwriter (the report file is read back beforehand, untimed).

    python bench/bench_report.py --sizes 10000 100000 --repeat 3
"""

from __future__ import annotations

from bench_assign import roster
from bench_due import build_book
from common import (
    OUT,
    against_floor,
    leadkit,
    median_run,
    output_floor,
    roster_workspace,
    show,
    sizes_and_repeat,
)


def main() -> None:
    args = sizes_and_repeat()
    rows = []
    for n in args.sizes:
        master = build_book(n)
        ws = OUT / f"report_ws_{n}"
        roster_workspace(ws, master, roster())
        cmd = [leadkit(), "report", "--period", "quarter", "--by", "source,grade,owner", "--out", "r.xlsx",
               "--as-of", "2026-11-03T09:00", "-q"]  # fmt: skip
        run = median_run(cmd, ws, args.repeat)
        floor = output_floor(master, ws / "r.xlsx", args.repeat)
        rows.append(against_floor("report", n, floor, run, activities=5 * n))
    show("bench_report", "report", rows)


if __name__ == "__main__":
    main()
