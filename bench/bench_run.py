"""Time `leadkit run` on a 100k-lead book with a 2k-lead inbox against two references:

- floor: one read of every sheet of the book (fastexcel) and one write of them (rustpy-xlsxwriter),
  nothing in between — the least any one-pass tool pays;
- leadkit read+write: leadkit's own start-up, load and save of the book (lock, backup, typed
  sheets, Excel's cell limits) with no step in between — what one pass of leadkit pays before
  any step works;
- chain: the same work as five commands one after another (import, dedupe, score, assign, recycle),
  each reading and writing the whole book.

CPU time (user + system) of the child processes, from getrusage(RUSAGE_CHILDREN): the machine is
shared, so wall time is noise. The three are interleaved round by round; medians of --repeat rounds.
Targets (issue 18): run <= 1.5 x floor, run <= 1/3 x chain; run/rw says what the steps add to
leadkit's own read and write.

    python bench/bench_run.py --leads 100000 --inbox 2000 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from common import AS_OF, BOOK_READ_WRITE, OUT, imported_workspace, leads_csv, save, table

LEADKIT = [sys.executable, "-m", "leadkit"]  # this interpreter's leadkit, not whatever is on PATH
# leadkit's read+write: the CLI's way in (context, then the pipeline) and
# pipeline.update_book with a step that does nothing
LEADKIT_READ_WRITE = """
from leadkit.context import context
ctx = context()
from leadkit import pipeline
pipeline.update_book(ctx, "bench", lambda book: None)
"""
CHAIN = [["import", "inbox/arrivals.csv"], ["dedupe"], ["score"], ["assign", "--by", "round-robin"],
         ["recycle"]]  # fmt: skip


def cpu(cmds: list[list[str]], cwd: Path) -> float:
    """CPU seconds (user + system) the commands' processes used, run one after another."""
    was = resource.getrusage(resource.RUSAGE_CHILDREN)
    for cmd in cmds:
        rc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL).returncode
        if rc != 0:
            raise SystemExit(f"{cmd} exited {rc}")
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (now.ru_utime - was.ru_utime) + (now.ru_stime - was.ru_stime)


def workspace(base: Path, name: str, arrivals: Path) -> Path:
    """A copy of the imported workspace with the arrivals waiting in its inbox (untimed)."""
    ws = OUT / name
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(base, ws, ignore=shutil.ignore_patterns(".leadkit"))
    with (ws / "leadkit.yaml").open("a", encoding="utf-8") as fh:
        fh.write("inbox: inbox\n")
    (ws / "inbox").mkdir()
    shutil.copy(arrivals, ws / "inbox" / "arrivals.csv")
    if KEEP_RECORD:
        _keep_record(base / "leads.xlsx", ws / "leads.xlsx")
    return ws


KEEP_RECORD = True


def _keep_record(book: Path, copy: Path) -> None:
    """leadkit's record of its last save of the book (the file's stamp, each sheet's signature)
    beside the copy, as a daily run in the book's own folder finds it: the save then carries the
    sheets unchanged since as stored. (The backups are left out; the copy keeps the stamp.)"""
    from leadkit.bookio.safety import book_backups

    record = book_backups(book, book.parent / ".leadkit") / "written.json"
    if record.exists():
        folder = book_backups(copy, copy.parent / ".leadkit")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(record, folder / "written.json")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--inbox", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-record", action="store_true",
                    help="copy the workspace without leadkit's record of its last save")  # fmt: skip
    args = ap.parse_args()
    global KEEP_RECORD
    KEEP_RECORD = not args.no_record
    OUT.mkdir(exist_ok=True)
    base = imported_workspace(args.leads, f"run_base_{args.leads}")
    arrivals = leads_csv(args.inbox)
    floor_cmd = [sys.executable, "-c", BOOK_READ_WRITE, str(base / "leads.xlsx"),
                 str(OUT / "floor_rw.xlsx")]  # fmt: skip
    floors, rws, runs, chains = [], [], [], []
    for i in range(args.repeat):
        floors.append(cpu([floor_cmd], OUT))
        ws = workspace(base, "rw_ws", arrivals)
        rws.append(cpu([[sys.executable, "-c", LEADKIT_READ_WRITE]], ws))
        ws = workspace(base, "run_ws", arrivals)
        runs.append(cpu([[*LEADKIT, "run", "--as-of", AS_OF, "-q"]], ws))
        if any((ws / "inbox").glob("*.csv")):
            raise SystemExit("run left the arrivals in the inbox")
        ws = workspace(base, "chain_ws", arrivals)
        chains.append(cpu([[*LEADKIT, *c, "--as-of", AS_OF, "-q"] for c in CHAIN], ws))
        print(f"round {i + 1}: floor {floors[-1]:.2f} s, leadkit rw {rws[-1]:.2f} s, "
              f"run {runs[-1]:.2f} s, chain {chains[-1]:.2f} s", file=sys.stderr, flush=True)  # fmt: skip
    floor, rw, run, chain = (statistics.median(x) for x in (floors, rws, runs, chains))
    rows = [{
        "leads": args.leads, "inbox": args.inbox, "floor_s": floor, "rw_s": rw, "run_s": run,
        "chain_s": chain, "run_floor": run / floor, "run_rw": run / rw, "run_chain": run / chain,
    }]  # fmt: skip
    print(table(rows, [
        ("leads", "leads", "d"), ("inbox", "inbox", "d"), ("floor_s", "floor cpu s", ".2f"),
        ("rw_s", "leadkit rw cpu s", ".2f"), ("run_s", "run cpu s", ".2f"),
        ("chain_s", "chain cpu s", ".2f"), ("run_floor", "run/floor", ".2f"),
        ("run_rw", "run/rw", ".2f"), ("run_chain", "run/chain", ".2f"),
    ]))  # fmt: skip
    save("bench_run", rows)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # bytecode cached (outside the tree) as an installed leadkit's is, compiled before the clock:
    # a shell's PYTHONDONTWRITEBYTECODE would make every command compile leadkit from source
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    import leadkit

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(leadkit.__file__).parent)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    main()
