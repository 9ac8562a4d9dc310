"""Time `leadkit due` on a book of N assigned leads with 5N activities, beside the book's read floor.

`due` writes nothing, so its floor is reading the same book (every sheet) with fastexcel.

    python bench/bench_due.py --sizes 10000 100000 --repeat 3
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import numpy as np
import pandas as pd
from bench_assign import build_book as build_assign_book
from bench_assign import roster
from common import (
    AS_OF,
    OUT,
    against_floor,
    book_floor,
    leadkit,
    median_run,
    roster_workspace,
    show,
    sizes_and_repeat,
)

from leadkit import bookio
from leadkit.rules import Rules


def build_book(n: int, reps: int = 50):
    master = OUT / (f"due_{n}.xlsx" if reps == 50 else f"due_{n}_{reps}reps.xlsx")
    if master.exists():
        return master
    ws = OUT / f"due_build_{n}_{reps}"
    roster_workspace(ws, build_assign_book(n), roster(reps))
    subprocess.run(
        [leadkit(), "assign", "--by", "rules", "--as-of", AS_OF, "-q"], cwd=ws, check=True
    )
    columns = Rules().columns
    book = bookio.load_book(ws / "leads.xlsx", columns, "zh", "Asia/Shanghai")
    rng = np.random.default_rng(11)
    ids = book.leads["lead_id"].to_numpy()
    owners = book.leads["owner"].to_numpy()
    pick = rng.integers(0, len(ids), 5 * n)
    when = pd.Timestamp("2026-11-01 09:00") - pd.to_timedelta(
        rng.integers(0, 60 * 86400, 5 * n), unit="s"
    )
    acts = pd.DataFrame({
        "date": when, "lead_id": ids[pick], "channel": rng.choice(["phone", "wechat", "email"], 5 * n),
        "person": None, "summary": "跟进", "status_after": rng.choice([None, "contacted", "qualified", "proposal"], 5 * n),
        "todo": None, "owner": owners[pick], "next_follow_up": None,
    })  # fmt: skip
    book.append("activities", acts)
    bookio.save_book(
        book, columns, state_dir=ws / ".leadkit", command="bench", as_of=dt.datetime(2026, 11, 1)
    )
    shutil.copy(ws / "leads.xlsx", master)
    return master


def main() -> None:
    args = sizes_and_repeat()
    rows = []
    for n in args.sizes:
        master = build_book(n)
        ws = OUT / f"due_ws_{n}"
        roster_workspace(ws, master, roster())
        floor = book_floor(master, args.repeat, write=False)
        run = median_run([leadkit(), "due", "--as-of", "2026-11-03T09:00", "-q"], ws, args.repeat)
        rows.append(against_floor("due", n, floor, run, activities=5 * n))
    show("bench_due", "due", rows, floor="read floor s")


if __name__ == "__main__":
    main()
