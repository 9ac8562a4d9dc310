"""Time `leadkit score` on a book of N leads with 3N events, beside the book's read+write floor.

python bench/bench_score.py --sizes 10000 100000 --repeat 3
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from common import (
    AS_OF,
    OUT,
    against_floor,
    book_floor,
    fresh_workspace,
    imported_workspace,
    leadkit,
    median_run,
    show,
    sizes_and_repeat,
)

from leadkit import bookio
from leadkit.rules.loader import Rules

EVENTS = [
    "浏览页面",
    "查看价格",
    "下载资料",
    "参加直播",
    "咨询",
    "打开邮件",
    "点击邮件",
    "退订",
    "预约演示",
]


def build_book(n: int) -> Path:
    """Import the generated CSV (untimed) and add 3n behaviour events tied by lead ID or phone."""
    master = OUT / f"score_{n}.xlsx"
    if master.exists():
        return master
    ws = imported_workspace(n, f"score_build_{n}")
    columns = Rules().columns
    book = bookio.load_book(ws / "leads.xlsx", columns, "zh", "Asia/Shanghai")
    rng = np.random.default_rng(5)
    ids = book.leads["lead_id"].to_numpy()
    phones = book.leads["phone"].to_numpy()
    pick = rng.integers(0, len(ids), 3 * n)
    by_phone = rng.random(3 * n) < 0.3
    events = pd.DataFrame({
        "time": pd.Timestamp("2026-08-01") + pd.to_timedelta(rng.integers(0, 90 * 86400, 3 * n), unit="s"),
        "lead_id": np.where(by_phone, None, ids[pick]), "phone": np.where(by_phone, phones[pick], None),
        "email": None, "event": np.asarray(EVENTS, dtype=object)[rng.integers(0, len(EVENTS), 3 * n)],
        "detail": "/",
    })  # fmt: skip
    book.append("events", events)
    bookio.save_book(
        book, columns, state_dir=ws / ".leadkit", command="bench", as_of=dt.datetime(2026, 11, 1)
    )
    (ws / "leads.xlsx").replace(master)
    return master


def main() -> None:
    args = sizes_and_repeat()
    rows = []
    for n in args.sizes:
        master = build_book(n)
        ws = OUT / f"score_ws_{n}"
        floor = book_floor(master, args.repeat)
        run = median_run(
            [leadkit(), "score", "--as-of", AS_OF, "-q"], ws, args.repeat,
            before=lambda ws=ws, master=master: fresh_workspace(ws, master),
        )  # fmt: skip
        rows.append(against_floor("score", n, floor, run, events=3 * n))
    show("bench_score", "score", rows)


if __name__ == "__main__":
    main()
