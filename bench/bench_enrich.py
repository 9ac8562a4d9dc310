"""Time `leadkit enrich` on a 100k-lead book against a 1M-company list, beside two references:

- floor: one read of every sheet of the book (fastexcel) and one write of them (rustpy-xlsxwriter),
  nothing in between (common.BOOK_READ_WRITE);
- leadkit read+write: leadkit's own start-up, load and save of the book with no step in between.

enrich is timed twice per round: cold (a fresh workspace: the list is read and prepared, and the
prepared list cached in .leadkit/cache/enrich/) and warm (a fresh copy of the same book whose
workspace has that cache: a team's daily rerun against the same list). --old TREE times a cold
enrich of another code tree too (e.g. `git archive main`), interleaved, for a before/after.

The list (made once, untimed): bench/gen_companies.py's 1M made-up companies, the first of which
carry the book's own company names (a share given by --known; a few per cent of those with a
character changed, for the fuzzy pass), so the run matches, fills and logs as a real one does.
CPU time (user + system) of the child processes; the three are interleaved round by round, medians
of --repeat rounds. Target (issue 20): enrich <= 3 x floor.

    python bench/bench_enrich.py --leads 100000 --companies 1000000 --repeat 3 [--old /tmp/main]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

import fastexcel
import numpy as np
from bench_run import LEADKIT, LEADKIT_READ_WRITE, cpu
from common import AS_OF, BOOK_READ_WRITE, OUT, imported_workspace, save, table
from gen_companies import generate


def company_list(book: Path, n: int, known: float, path: Path) -> Path:
    """n companies, `known` of the book's distinct company names among them (made once)."""
    if path.exists():
        return path
    sheet = fastexcel.read_excel(book).load_sheet(0, use_columns=["企业名称"]).to_pandas()
    names = sheet["企业名称"].dropna().unique()
    rng = np.random.default_rng(7)
    names = rng.permutation(names)[: int(len(names) * known)]
    typos = rng.random(len(names)) < 0.03  # one character changed: only the fuzzy pass finds it
    names = np.array([s[:1] + "之" + s[2:] if t else s for s, t in zip(names, typos, strict=True)])
    companies = generate(n)
    companies.loc[: len(names) - 1, "company"] = names
    companies.sample(frac=1, random_state=7).to_csv(path, index=False)
    return path


def workspace(base: Path, name: str, cache: Path | None = None) -> Path:
    ws = OUT / name
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(base, ws, ignore=shutil.ignore_patterns(".leadkit"))
    if cache is not None:  # the prepared list a previous run left (untimed)
        shutil.copytree(cache, ws / ".leadkit" / "cache")
    return ws


def cpu_in(cmd: list[str], cwd: Path, tree: str) -> float:
    """cpu() of one command with `tree` first on the child's import path."""
    was = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = tree
    try:
        return cpu([cmd], cwd)
    finally:
        if was is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = was


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--companies", type=int, default=1_000_000)
    ap.add_argument("--known", type=float, default=0.6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old", help="another code tree to time a cold enrich of (before/after)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    base = imported_workspace(args.leads, f"enrich_base_{args.leads}")
    listed = company_list(
        base / "leads.xlsx", args.companies, args.known, OUT / f"companies_{args.companies}.csv"
    )
    floor_cmd = [sys.executable, "-c", BOOK_READ_WRITE, str(base / "leads.xlsx"),
                 str(OUT / "floor_rw.xlsx")]  # fmt: skip
    enrich_cmd = [*LEADKIT, "enrich", "--from", str(listed), "--as-of", AS_OF, "-q"]
    here = str(Path(__file__).resolve().parents[1])
    primed = workspace(base, "enrich_primed")  # one untimed run leaves the prepared list
    cpu_in(enrich_cmd, primed, here)
    cache = primed / ".leadkit" / "cache"
    floors, rws, runs, warms, olds = [], [], [], [], []
    for i in range(args.repeat):
        floors.append(cpu([floor_cmd], OUT))
        rws.append(cpu([[sys.executable, "-c", LEADKIT_READ_WRITE]], workspace(base, "rw_ws")))
        runs.append(cpu_in(enrich_cmd, workspace(base, "enrich_ws"), here))
        warms.append(cpu_in(enrich_cmd, workspace(base, "enrich_ws", cache), here))
        if args.old:
            olds.append(cpu_in(enrich_cmd, workspace(base, "enrich_ws"), args.old))
        print(f"round {i + 1}: floor {floors[-1]:.2f} s, leadkit rw {rws[-1]:.2f} s, "
              f"enrich {runs[-1]:.2f} s, warm {warms[-1]:.2f} s"
              + (f", old {olds[-1]:.2f} s" if olds else ""), file=sys.stderr, flush=True)  # fmt: skip
    floor, rw, run, warm = (statistics.median(x) for x in (floors, rws, runs, warms))
    rows = [{
        "leads": args.leads, "companies": args.companies, "floor_s": floor, "rw_s": rw,
        "enrich_s": run, "enrich_floor": run / floor, "enrich_rw": run / rw,
        "warm_s": warm, "warm_floor": warm / floor,
        "old_s": statistics.median(olds) if olds else None,
    }]  # fmt: skip
    print(table(rows, [
        ("leads", "leads", "d"), ("companies", "companies", "d"), ("floor_s", "floor cpu s", ".2f"),
        ("rw_s", "leadkit rw cpu s", ".2f"), ("enrich_s", "enrich cpu s", ".2f"),
        ("enrich_floor", "enrich/floor", ".2f"), ("enrich_rw", "enrich/rw", ".2f"),
        ("warm_s", "rerun cpu s", ".2f"), ("warm_floor", "rerun/floor", ".2f"),
        *([("old_s", "old enrich cpu s", ".2f")] if olds else []),
    ]))  # fmt: skip
    save("bench_enrich", rows)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
