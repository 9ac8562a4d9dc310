"""Time `leadkit assign --by rules` of N pool leads to 50 reps, beside the book's read+write floor.

python bench/bench_assign.py --sizes 10000 100000 --repeat 3
"""

from __future__ import annotations

import shutil
import subprocess

from common import (
    AS_OF,
    OUT,
    against_floor,
    book_floor,
    imported_workspace,
    leadkit,
    median_run,
    roster_workspace,
    show,
    sizes_and_repeat,
)

REGIONS = ["华东", "华北", "华南", "华中", "西南", "西北", "东北"]
INDUSTRIES = ["软件/IT", "制造业", "医疗健康", "物流", "电子制造", "能源电力", "教育培训"]


def roster(n_reps: int = 50) -> str:
    lines = ["team:"]
    for i in range(n_reps):
        level = "manager" if i < 5 else ("senior" if i < 20 else "junior")
        lines.append(
            f"  - {{name: rep{i:02d}, level: {level}, team: t{i % 5}, regions: [{REGIONS[i % 7]}, {REGIONS[(i + 3) % 7]}], "
            f"industries: [{INDUSTRIES[i % 7]}], capacity: 100000, weight: {1 + i % 2}}}"
        )
    lines += [
        "rules:",
        "  - {when: {grade: [S]}, to: {level: manager}, strategy: load}",
        "  - {when: {budget_at_least: 50}, to: {level: senior}, strategy: fair}",
        "  - {when: {region: [华南, 西南]}, to: {team: t1}, strategy: fair}",
        "  - {when: {region: [华北, 东北]}, to: {team: t2}, strategy: round-robin}",
        "  - {to: {all: true}, strategy: load}",
        "sla_hours: {S: 2, A: 2, B: 4, C: 24}",
        'working_hours: {start: "09:00", end: "18:00", days: [mon, tue, wed, thu, fri]}',
    ]
    return "\n".join(lines) + "\n"


def build_book(n: int):
    master = OUT / f"assign_{n}.xlsx"
    if master.exists():
        return master
    ws = imported_workspace(n, f"assign_build_{n}")
    subprocess.run([leadkit(), "score", "--as-of", AS_OF, "-q"], cwd=ws, check=True)
    shutil.copy(ws / "leads.xlsx", master)
    return master


def main() -> None:
    args = sizes_and_repeat()
    rows = []
    for n in args.sizes:
        master = build_book(n)
        ws = OUT / f"assign_ws_{n}"

        def fresh(ws=ws, master=master):
            roster_workspace(ws, master, roster())

        floor = book_floor(master, args.repeat)
        run = median_run(
            [leadkit(), "assign", "--by", "rules", "--as-of", AS_OF, "-q"], ws, args.repeat,
            before=fresh,
        )  # fmt: skip
        rows.append(against_floor("assign", n, floor, run, reps=50))
    show("bench_assign", "assign", rows)


if __name__ == "__main__":
    main()
