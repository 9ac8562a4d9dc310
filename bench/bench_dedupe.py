"""Time `leadkit dedupe` on labelled books of 10k, 30k and 100k leads beside the book's floor.

Floor: the same book read with fastexcel and written back with rustpy-xlsxwriter, nothing in
between (whole process). Output floor: the book read the same way, then the book `dedupe` wrote
(with its Log rows for every merge) written with the same writer. Also prints the pair quality.
Wall seconds as before, and CPU seconds (user + system of the child, the measure on a shared
machine) of the floor and of `dedupe`, with `dedupe`'s CPU per 1k leads: flat when it grows
linearly.

    python bench/bench_dedupe.py --sizes 10000 30000 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys

import numpy as np
import pandas as pd
from common import (
    AS_OF,
    BOOK_READ_WRITE,
    OUT,
    fresh_workspace,
    leadkit,
    measure,
    output_floor,
    save,
    table,
)
from dedupe_quality import evaluate
from gen_dupes import generate

from leadkit import bookio
from leadkit.rules.loader import Rules

PROVINCE = {"上海": "上海", "北京": "北京", "深圳": "广东", "广州": "广东", "杭州": "浙江",
            "苏州": "江苏", "南京": "江苏", "成都": "四川", "武汉": "湖北", "西安": "陕西"}  # fmt: skip
REGION = {"上海": "华东", "北京": "华北", "广东": "华南", "浙江": "华东", "江苏": "华东",
          "四川": "西南", "湖北": "华中", "陕西": "西北"}  # fmt: skip


def widen(frame: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """The other columns an imported book has filled (industry, place, size, title, need, budget,
    plan, notes …), in the shares `bench/gen_leads.py` + `import` give them."""
    rng = np.random.default_rng(seed)
    n = len(frame)

    def pick(options: list, share: float = 1.0) -> np.ndarray:
        values = np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]
        values[rng.random(n) >= share] = None
        return values

    province = frame["city"].map(PROVINCE)
    return frame.assign(
        industry=pick(["软件/IT", "制造业", "医疗健康", "物流", "电子制造", "能源电力", "教育培训"], 0.88),
        province=province, region=province.map(REGION),
        employees=np.where(rng.random(n) < 0.83, rng.choice([20, 50, 120, 300, 800, 2000], n), np.nan),
        title=pick(["总经理", "采购经理", "IT总监", "技术负责人", "运营主管", "CEO", "工程师"], 0.89),
        need=pick(["想了解报价，计划本季度上线", "和竞品对比中", "预算有限，价格敏感",
                   "涉及多个部门审批", "先了解一下"], 0.83),
        budget=np.where(rng.random(n) < 0.7, rng.choice([5, 8, 10, 20, 30, 50, 100], n), np.nan),
        purchase_timeline=pick(["1个月内", "本季度", "3个月", "半年内", "暂无计划"], 0.86),
        completeness=pick(["complete", "basic"]), recycle_count=0.0,
        notes=pick(["展会当天聊过，对集成感兴趣", "官网留言", "老客户介绍", "要求发资料"], 0.75),
    )  # fmt: skip


def build_book(frame: pd.DataFrame, path, *, wide: bool = False) -> None:
    """A lead book holding the labelled rows, written through leadkit's own book I/O."""
    columns = Rules().columns
    book = bookio.new_book(path, "zh", columns)
    frame = widen(frame) if wide else frame
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


def medians(cmd: list[str], cwd, repeat: int, before=None) -> dict:
    """Median wall and CPU seconds over `repeat` whole-process runs, and the largest peak RSS."""
    runs = [measure(cmd, cwd, before) for _ in range(repeat)]
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--shapes", nargs="+", default=["labelled", "full"], choices=["labelled", "full"],
        help="labelled: only the columns dedupe reads are filled; full: also the others a book has",
    )  # fmt: skip
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    rows = []
    for n in args.sizes:
        frame = generate(n)
        for shape in args.shapes:
            master = OUT / f"dupes_{shape}_{n}.xlsx"
            build_book(frame, master, wide=shape == "full")
            ws = OUT / f"dedupe_ws_{shape}_{n}"
            floor_cmd = [
                sys.executable,
                "-c",
                BOOK_READ_WRITE,
                str(master),
                str(OUT / "floor_rw.xlsx"),
            ]
            floor = medians(floor_cmd, OUT, args.repeat)
            run = medians(
                [leadkit(), "dedupe", "--as-of", AS_OF, "-q"], ws, args.repeat,
                before=lambda ws=ws, master=master: fresh_workspace(ws, master),
            )  # fmt: skip
            out_floor = output_floor(master, ws / "leads.xlsx", args.repeat)
            rows.append({
                "leads": n, "book": shape, "floor_s": floor["wall"], "out_floor_s": out_floor["wall"],
                "dedupe_s": run["wall"], "ratio": run["wall"] / floor["wall"],
                "out_ratio": run["wall"] / out_floor["wall"], "dedupe_mb": run["rss_mb"],
                "floor_cpu": floor["cpu"], "dedupe_cpu": run["cpu"],
                "cpu_per_1k": run["cpu"] / n * 1000,
            })  # fmt: skip
        quality = evaluate(frame)
        for row in rows[-len(args.shapes) :]:
            row.update(precision=quality["precision"], recall=quality["recall"], f1=quality["f1"])
    print(table(rows, [
        ("leads", "leads", "d"), ("book", "book", "s"), ("floor_s", "floor s", ".2f"), ("out_floor_s", "out floor s", ".2f"),
        ("dedupe_s", "dedupe s", ".2f"), ("ratio", "ratio", ".2f"), ("out_ratio", "out ratio", ".2f"), ("dedupe_mb", "dedupe MB", ".0f"),
        ("floor_cpu", "floor cpu s", ".2f"), ("dedupe_cpu", "dedupe cpu s", ".2f"), ("cpu_per_1k", "cpu s/1k", ".3f"), ("precision", "precision", ".4f"),
        ("recall", "recall", ".4f"), ("f1", "F1", ".4f"),
    ]))  # fmt: skip
    save("bench_dedupe", rows)


if __name__ == "__main__":
    main()
