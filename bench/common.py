"""Shared by the bench scripts: whole-process timing with peak RSS, medians, floors and tables."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
AS_OF = "2026-11-01T09:00"

_MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024}))
"""

# The floor for reading and writing a book: fastexcel reads every sheet of it, rustpy-xlsxwriter
# writes the same sheets back, nothing in between.
BOOK_READ_WRITE = """
import sys, fastexcel, rustpy_xlsxwriter as rx
reader = fastexcel.read_excel(sys.argv[1])
sheets = [(n, reader.load_sheet(n).to_pandas()) for n in reader.sheet_names]
if len(sys.argv) > 2:
    rx.write_worksheets(sheets, sys.argv[2])
"""


# The output floor: the input book read as above, then the sheets and cells the command wrote
# (dumped beforehand) written with the same writer. The command's own output grows the book (Log
# rows for every change, new columns filled), and writing that is I/O any tool would pay.
DUMP = """
import logging, pickle, sys, fastexcel
logging.getLogger("fastexcel").setLevel(logging.ERROR)
reader = fastexcel.read_excel(sys.argv[1])
sheets = [(name, reader.load_sheet(name).to_pandas()) for name in reader.sheet_names]
with open(sys.argv[2], "wb") as fh:
    pickle.dump(sheets, fh)
"""
_READ_THEN_WRITE = """
import pickle, sys, fastexcel, rustpy_xlsxwriter as rx
reader = fastexcel.read_excel(sys.argv[1])
sheets = [(n, reader.load_sheet(n).to_pandas()) for n in reader.sheet_names]
with open(sys.argv[2], "rb") as fh:
    written = pickle.load(fh)
rx.write_worksheets(written, sys.argv[3])
"""


def book_floor(book: Path, repeat: int, *, write: bool = True) -> dict:
    """Median of reading every sheet of `book` (fastexcel) and, with `write`, writing them back."""
    out = [str(OUT / "floor_rw.xlsx")] if write else []
    return median_run([sys.executable, "-c", BOOK_READ_WRITE, str(book), *out], OUT, repeat)


def leads_csv(n: int) -> Path:
    """The generated incoming-leads CSV of `n` rows (made once, by gen_leads.py)."""
    src = OUT / f"leads_{n}.csv"
    if not src.exists():
        OUT.mkdir(exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "gen_leads.py"), str(n), str(src)], check=True)
    return src


def imported_workspace(n: int, name: str) -> Path:
    """A fresh workspace `name` whose book holds the `n` generated leads, imported (untimed)."""
    ws = OUT / name
    fresh_workspace(ws)
    subprocess.run(
        [leadkit(), "import", str(leads_csv(n)), "--as-of", AS_OF, "-q"], cwd=ws, check=True
    )
    return ws


def output_floor(book_in: Path, book_out: Path, repeat: int) -> dict:
    """Median of: read `book_in` (fastexcel) and write the sheets of `book_out` (rustpy-xlsxwriter)."""
    dump = OUT / f"{book_out.parent.name}_out.pickle"
    subprocess.run([sys.executable, "-c", DUMP, str(book_out), str(dump)], check=True)
    return median_run(
        [
            sys.executable,
            "-c",
            _READ_THEN_WRITE,
            str(book_in),
            str(dump),
            str(OUT / "floor_out.xlsx"),
        ],
        OUT,
        repeat,
    )


def leadkit() -> str:
    return shutil.which("leadkit") or "leadkit"


def measure(cmd: list[str], cwd: Path, before: Callable[[], None] | None = None) -> dict:
    """One whole-process run: wall seconds and peak RSS (MB); exit codes 0 and 1 are fine."""
    if before:
        before()
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], cwd=cwd, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] not in (0, 1):
        raise SystemExit(f"{cmd} exited {result['rc']}")
    return result


def median_run(
    cmd: list[str], cwd: Path, repeat: int, before: Callable[[], None] | None = None
) -> dict:
    """Median wall time and the largest peak RSS over `repeat` runs."""
    runs = [measure(cmd, cwd, before) for _ in range(repeat)]
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
    }


def fresh_workspace(folder: Path, book: Path | None = None) -> None:
    """An empty workspace folder; with `book`, a copy of it as the workspace's book."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "leadkit.yaml").write_text("book: leads.xlsx\n", encoding="utf-8")
    if book is not None:
        shutil.copy(book, folder / "leads.xlsx")


def roster_workspace(folder: Path, book: Path, routing_yaml: str) -> None:
    """A workspace holding a copy of `book` and its own routing.yaml (the 50-rep bench roster)."""
    fresh_workspace(folder, book)
    (folder / "rules").mkdir()
    (folder / "leadkit.yaml").write_text("book: leads.xlsx\nrules: rules\n", encoding="utf-8")
    (folder / "rules" / "routing.yaml").write_text(routing_yaml, encoding="utf-8")


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Rows as a fixed-width table: (key, heading, format) per column."""
    heads = [f"{h:>{max(len(h), 8)}}" for _, h, _ in columns]
    lines = [" ".join(heads)]
    for r in rows:
        cells = [f"{format(r[k], f):>{max(len(h), 8)}}" for k, h, f in columns]
        lines.append(" ".join(cells))
    return "\n".join(lines)


def save(name: str, rows: list[dict]) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")


def sizes_and_repeat(sizes: tuple[int, ...] = (10_000, 100_000)) -> argparse.Namespace:
    """The bench scripts' common options: --sizes N… and --repeat R."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=list(sizes))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    return args


def against_floor(command: str, n: int, floor: dict, run: dict, **extra: int) -> dict:
    """One result row: the command's median beside its floor, their ratio and its peak RSS."""
    return {
        "leads": n, **extra, "floor_s": floor["wall"], f"{command}_s": run["wall"],
        "ratio": run["wall"] / floor["wall"], f"{command}_mb": run["rss_mb"],
    }  # fmt: skip


def show(name: str, command: str, rows: list[dict], *, floor: str = "floor s") -> None:
    """Print `against_floor` rows as a table and save them to bench/out/NAME.json."""
    extra = [(k, k, "d") for k in rows[0] if k not in ("leads", "floor_s", "ratio")
             and not k.startswith(f"{command}_")] if rows else []  # fmt: skip
    print(table(rows, [
        ("leads", "leads", "d"), *extra, ("floor_s", floor, ".2f"),
        (f"{command}_s", f"{command} s", ".2f"), ("ratio", "ratio", ".2f"),
        (f"{command}_mb", f"{command} MB", ".0f"),
    ]))  # fmt: skip
    save(name, rows)
