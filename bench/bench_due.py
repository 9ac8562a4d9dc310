"""Time `leadkit due` on a book of N assigned leads with 5N activities, beside the book's read floor.

`due` writes nothing, so its floor is reading the same book (every sheet) with fastexcel.

    python bench/bench_due.py --sizes 10000 100000 --repeat 3

`--notify`: `due --notify webhook --force` for a 30-rep team (each with a chat id and a mobile)
posting to four robots (WeCom, DingTalk signed, Feishu signed, Slack) served on 127.0.0.1 by this
script, at the robots' default rates; each run beside a read of the same book, interleaved, CPU
seconds (the run's own; the server is this process). Runs follow each other as cron's would, so
the robots' per-minute limits are shared across them: the table says the most posts any robot
took in any 60 s and its limit.

    python bench/bench_due.py --notify --sizes 100000 --repeat 5
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
from bench_assign import build_book as build_assign_book
from bench_assign import roster
from common import (
    AS_OF,
    BOOK_READ_WRITE,
    OUT,
    against_floor,
    book_floor,
    leadkit,
    measure,
    median_run,
    roster_workspace,
    show,
    table,
)

from leadkit import bookio
from leadkit.rules.loader import Rules


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


def robot_server() -> tuple[str, dict[str, list[float]]]:
    """Robots on 127.0.0.1 answering as the services do; when each path was posted to."""
    posts: dict[str, list[float]] = {}

    class Robot(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            posts.setdefault(self.path.split("?")[0], []).append(time.time())
            data = b'{"errcode": 0, "code": 0}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", posts


def most_in_a_minute(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for u in times[i:] if u < t + 60) for i, t in enumerate(times)), default=0)


def notify_bench(n: int, repeat: int) -> dict:
    from leadkit.notify import RATES

    master = build_book(n, reps=30)
    ws = OUT / f"due_notify_ws_{n}"
    # each rep with a chat id and a mobile, so every robot's message carries 30 mentions
    team = re.sub(
        r"\{name: rep(\d\d),", r"{name: rep\1, chat: u\1, mobile: '138000000\1',", roster(30)
    )
    roster_workspace(ws, master, team)
    base, posts = robot_server()
    kinds = {"wecom": "/wecom?key=K", "dingtalk": "/ding?access_token=T", "feishu": "/feishu",
             "slack": "/slack"}  # fmt: skip
    hooks = "".join(f"    - {{kind: {k}, url: '{base}{p}'"
                    + (f", secret_env: BENCH_{k.upper()}_SECRET" if k in ("dingtalk", "feishu") else "")
                    + "}\n" for k, p in kinds.items())  # fmt: skip
    (ws / "leadkit.yaml").write_text(
        f"book: leads.xlsx\nrules: rules\nnotify:\n  webhooks:\n{hooks}", encoding="utf-8"
    )
    os.environ.update(BENCH_DINGTALK_SECRET="SECbench", BENCH_FEISHU_SECRET="bench")
    read = [sys.executable, "-c", BOOK_READ_WRITE, str(master)]
    due = [leadkit(), "due", "--notify", "webhook", "--force", "--as-of", "2026-11-03T09:00", "-q"]
    plain = [leadkit(), "due", "--as-of", "2026-11-03T09:00", "-q"]
    floors, runs, plains = [], [], []
    for _ in range(repeat):  # interleaved: the read, due --notify, due alone
        floors.append(measure(read, OUT))
        runs.append(measure(due, ws))
        plains.append(measure(plain, ws))
    per_run = {k: len(posts.get(p.split("?")[0], [])) // repeat for k, p in kinds.items()}
    return {
        "leads": n,
        "reps": 30,
        "read_cpu_s": statistics.median(r["cpu"] for r in floors),
        "due_cpu_s": statistics.median(r["cpu"] for r in runs),
        "due_wall_s": statistics.median(r["wall"] for r in runs),
        "due_wall_max_s": max(r["wall"] for r in runs),
        "plain_cpu_s": statistics.median(r["cpu"] for r in plains),
        "walls": " ".join(f"{r['wall']:.1f}" for r in runs),
        "posts_per_run": " ".join(f"{k}:{v}" for k, v in per_run.items()),
        "most_in_60s": " ".join(
            f"{k}:{most_in_a_minute(posts.get(p.split('?')[0], []))}/{RATES[k]}"
            for k, p in kinds.items()
        ),
    }


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--notify", action="store_true", help="due --notify webhook, 30 reps, 4 robots")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.notify:
        rows = [notify_bench(n, args.repeat) for n in args.sizes]
        for r in rows:
            r["ratio"] = r["due_cpu_s"] / r["read_cpu_s"]
        print(table(rows, [("leads", "leads", "d"), ("read_cpu_s", "read CPU s", ".2f"),
                           ("due_cpu_s", "due --notify CPU s", ".2f"), ("ratio", "ratio", ".2f"),
                           ("plain_cpu_s", "due alone CPU s", ".2f"),
                           ("due_wall_s", "wall s", ".1f"), ("due_wall_max_s", "wall max s", ".1f")]))  # fmt: skip
        for r in rows:
            print(f"posts per run {r['posts_per_run']}; most posts in any 60 s {r['most_in_60s']}")
            print(f"due --notify wall s, run by run: {r['walls']}")
        (OUT / "bench_due_notify.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
        return
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
