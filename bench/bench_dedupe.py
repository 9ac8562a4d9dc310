"""Time `leadkit dedupe` on labelled books of 10k, 30k and 100k leads beside the book's floor.

Floor: the same book read with fastexcel and written back with rustpy-xlsxwriter, nothing in
between (whole process). Output floor: the book read the same way, then the book `dedupe` wrote
(with its Log rows for every merge) written with the same writer. Also prints the pair quality.

    python bench/bench_dedupe.py --sizes 10000 30000 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import pandas as pd
from common import (
    AS_OF,
    BOOK_READ_WRITE,
    OUT,
    fresh_workspace,
    leadkit,
    median_run,
    output_floor,
    save,
    table,
)
from dedupe_quality import evaluate
from gen_dupes import generate

from leadkit import bookio
from leadkit.rules import Rules


def build_book(frame: pd.DataFrame, path) -> None:
    """A lead book holding the labelled rows, written through leadkit's own book I/O."""
    columns = Rules().columns
    book = bookio.new_book(path, "zh", columns)
    leads = frame.drop(columns=["entity", "kind"]).assign(
        lead_id=[f"LX2026{i:06d}" for i in range(1, len(frame) + 1)],
        created_at=pd.Timestamp("2026-01-01") + pd.to_timedelta(range(len(frame)), unit="min"),
        status="new", source="website",
    )  # fmt: skip
    book.append("leads", leads)
    bookio.save_book(
        book,
        columns,
        state_dir=path.parent / ".leadkit",
        command="bench",
        as_of=dt.datetime(2026, 11, 1),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    rows = []
    for n in args.sizes:
        frame = generate(n)
        master = OUT / f"dupes_{n}.xlsx"
        build_book(frame, master)
        ws = OUT / f"dedupe_ws_{n}"
        floor = median_run(
            [sys.executable, "-c", BOOK_READ_WRITE, str(master), str(OUT / "floor_rw.xlsx")],
            OUT,
            args.repeat,
        )
        run = median_run(
            [leadkit(), "dedupe", "--as-of", AS_OF, "-q"], ws, args.repeat,
            before=lambda ws=ws, master=master: fresh_workspace(ws, master),
        )  # fmt: skip
        out_floor = output_floor(master, ws / "leads.xlsx", args.repeat)
        quality = evaluate(frame)
        rows.append({
            "leads": n, "floor_s": floor["wall"], "out_floor_s": out_floor["wall"], "dedupe_s": run["wall"],
            "ratio": run["wall"] / floor["wall"], "out_ratio": run["wall"] / out_floor["wall"],
            "dedupe_mb": run["rss_mb"], "precision": quality["precision"], "recall": quality["recall"], "f1": quality["f1"],
        })  # fmt: skip
    print(table(rows, [
        ("leads", "leads", "d"), ("floor_s", "floor s", ".2f"), ("out_floor_s", "out floor s", ".2f"),
        ("dedupe_s", "dedupe s", ".2f"), ("ratio", "ratio", ".2f"), ("out_ratio", "out ratio", ".2f"), ("dedupe_mb", "dedupe MB", ".0f"), ("precision", "precision", ".4f"),
        ("recall", "recall", ".4f"), ("f1", "F1", ".4f"),
    ]))  # fmt: skip
    save("bench_dedupe", rows)


if __name__ == "__main__":
    main()
