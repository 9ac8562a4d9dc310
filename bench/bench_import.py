"""Time `leadkit import` (CSV into a new book) and `leadkit check` beside the I/O floor.

Each measurement is a whole process (wall time and peak RSS), median of --repeat runs. The floor is
the same rows read with the fastest reader (pandas' C CSV parser, all text) and written with the
fastest writer (rustpy-xlsxwriter), measured in the same run on the same machine.

    python bench/bench_import.py --sizes 10000 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

FLOOR = """
import sys, pandas as pd, rustpy_xlsxwriter as rx
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
rx.write_worksheet(frame, sys.argv[2], sheet_name="Leads", freeze_row=1)
"""

MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t
print(json.dumps({"rc": rc, "wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measure(cmd: list[str], cwd: Path, before=None) -> dict:
    if before:
        before()
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], cwd=cwd, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] not in (0, 1):
        raise SystemExit(f"{cmd} exited {result['rc']}")
    return result


def median_of(runs: list[dict]) -> dict:
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    leadkit = shutil.which("leadkit") or "leadkit"
    OUT.mkdir(exist_ok=True)
    rows = []
    for n in args.sizes:
        src = OUT / f"leads_{n}.csv"
        if not src.exists():
            subprocess.run(
                [sys.executable, str(HERE / "gen_leads.py"), str(n), str(src)], check=True
            )
        ws = OUT / f"ws_{n}"

        def fresh(ws=ws):
            shutil.rmtree(ws, ignore_errors=True)
            ws.mkdir()
            (ws / "leadkit.yaml").write_text("book: leads.xlsx\n", encoding="utf-8")

        floor = median_of(
            [
                measure([sys.executable, "-c", FLOOR, str(src), str(OUT / "floor.xlsx")], OUT)
                for _ in range(args.repeat)
            ]
        )
        imp = median_of(
            [
                measure(
                    [leadkit, "import", str(src), "--as-of", "2026-11-01T09:00", "-q"], ws, fresh
                )
                for _ in range(args.repeat)
            ]
        )
        chk = median_of(
            [
                measure([leadkit, "check", "--as-of", "2026-11-01T09:00", "-q"], ws)
                for _ in range(args.repeat)
            ]
        )
        rows.append({"leads": n, "floor_s": floor["wall"], "import_s": imp["wall"], "ratio": imp["wall"] / floor["wall"],
                     "import_rss_mb": imp["rss_mb"], "check_s": chk["wall"], "check_rss_mb": chk["rss_mb"]})  # fmt: skip
    print(
        f"{'leads':>8} {'floor s':>8} {'import s':>9} {'ratio':>6} {'import MB':>10} {'check s':>8} {'check MB':>9}"
    )
    for r in rows:
        print(
            f"{r['leads']:>8} {r['floor_s']:>8.2f} {r['import_s']:>9.2f} {r['ratio']:>6.2f} {r['import_rss_mb']:>10.0f} {r['check_s']:>8.2f} {r['check_rss_mb']:>9.0f}"
        )
    (OUT / "bench_import.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
