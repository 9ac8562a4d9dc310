"""Every command, two code trees, interleaved: CPU seconds of each child process, median of R runs.

Each run takes a fresh workspace through the pipeline a team would: import the generated CSV,
import it again (nothing new: every row "already imported"), check, dedupe, score, assign --by rules
(the 50-rep bench roster), due, report. Tree A and tree B alternate run by run (A B, B A, A B …) so
the machine's load falls on both alike. CPU time (user + system of the child, from
getrusage(RUSAGE_CHILDREN)) is used rather than wall time, which the shared machine makes noisy.
Each tree's bytecode is compiled first and cached outside it, as an installed leadkit's is.

    python bench/ab_commands.py --a /tmp/base --b . --rows 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench_assign import roster
from common import AS_OF, OUT, leads_csv

STEPS: list[tuple[str, list[str]]] = [
    ("import", ["import", "{csv}", "--as-of", AS_OF, "-q"]),
    ("re-import", ["import", "{csv}", "--as-of", AS_OF, "-q"]),
    ("check", ["check", "-q"]),
    ("dedupe", ["dedupe", "--as-of", AS_OF, "-q"]),
    ("score", ["score", "--as-of", AS_OF, "-q"]),
    ("assign", ["assign", "--by", "rules", "--as-of", AS_OF, "-q"]),
    ("due", ["due", "--as-of", AS_OF, "-q"]),
    ("report", ["report", "--period", "quarter", "--by", "source,grade,owner", "--out", "r.xlsx",
                "--as-of", "2026-11-03T09:00", "-q"]),
]  # fmt: skip


def cpu_of(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """User + system CPU seconds of one child process (exit 0 or 1: check finds data problems)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL).returncode
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc not in (0, 1):
        raise SystemExit(f"{cmd} in {cwd} exited {rc}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def tree_env(root: Path) -> dict[str, str]:
    """The environment a tree's commands run in: its code first on the path, and its bytecode
    cached (in OUT, not in the tree) as an installed leadkit's is. Without the cache every command
    compiles each module it loads from source, which charges a tree for its number of modules
    (88 for `check` now, 38 at 2433261) rather than for what they do; a shell that sets
    PYTHONDONTWRITEBYTECODE would do that silently."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    key = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return {**env, "PYTHONPATH": str(root), "PYTHONPYCACHEPREFIX": str(OUT / "pycache" / key)}


def compile_tree(root: Path) -> None:
    """Compile a tree's modules into its bytecode cache before any timed command (untimed)."""
    cmd = [sys.executable, "-m", "compileall", "-q", str(root / "leadkit")]
    subprocess.run(cmd, env=tree_env(root), check=True, stdout=subprocess.DEVNULL)


def pipeline(root: Path, csv: Path, ws: Path) -> dict[str, float]:
    """One fresh workspace taken through every step with the code at `root`; CPU s per step."""
    shutil.rmtree(ws, ignore_errors=True)
    (ws / "rules").mkdir(parents=True)
    (ws / "leadkit.yaml").write_text("book: leads.xlsx\nrules: rules\n", encoding="utf-8")
    (ws / "rules" / "routing.yaml").write_text(roster(), encoding="utf-8")
    env = tree_env(root)
    out = {}
    for name, args in STEPS:
        cmd = [sys.executable, "-m", "leadkit", *(a.replace("{csv}", str(csv)) for a in args)]
        out[name] = cpu_of(cmd, ws, env)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", type=Path, required=True, help="code tree A (the baseline)")
    ap.add_argument("--b", type=Path, required=True, help="code tree B (the candidate)")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    csv = leads_csv(args.rows)
    runs: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
    for side in ("a", "b"):
        compile_tree(getattr(args, side).resolve())
    for i in range(args.repeat):
        for side in ("a", "b") if i % 2 == 0 else ("b", "a"):
            root = getattr(args, side).resolve()
            runs[side].append(pipeline(root, csv, OUT / f"ab_{side}"))
            print(f"run {i} {side}: " + " ".join(f"{k}={v:.2f}" for k, v in runs[side][-1].items()),
                  flush=True)  # fmt: skip
    print(f"\n{args.rows} rows, median CPU s of {args.repeat} runs (A = {args.a}, B = {args.b})")
    print(f"{'command':<10} {'A s':>8} {'B s':>8} {'B/A':>6}")
    rows = []
    for name, _ in STEPS:
        a = statistics.median(r[name] for r in runs["a"])
        b = statistics.median(r[name] for r in runs["b"])
        rows.append({"command": name, "a": a, "b": b, "ratio": b / a})
        print(f"{name:<10} {a:>8.2f} {b:>8.2f} {b / a:>6.2f}")
    (OUT / f"ab_commands_{args.rows}.json").write_text(
        json.dumps({"rows": args.rows, "runs": runs, "medians": rows}, indent=2), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
