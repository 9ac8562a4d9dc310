"""leadkit's default dedupe beside splink (DuckDB backend, a generic configuration), same rows.

    pip install -e '.[bench]'      # splink and duckdb: only this script needs them
    python bench/dedupe_vs_splink.py --rows 20000 --generator gen_dupes2

Splink's configuration is the generic one its tutorial shows for people data, nothing tuned to
these books (https://moj-analytical-services.github.io/splink/demos/tutorials/):

- comparisons: contact and company by Jaro-Winkler at splink's default thresholds (0.9, 0.7),
  phone and e-mail exact;
- blocking rules for predictions: same phone, same e-mail, same first 4 characters of company;
- u by random sampling (1e6 pairs), m by EM on two blocking rules (phone, then e-mail) so each
  comparison is estimated on a rule that does not fix it; the prior from the deterministic rules
  (phone or e-mail equal) at splink's default recall of 0.7 ... 1.0;
- predictions and clusters at splink's default threshold, match probability 0.5.

The rows get the cleaning any splink user does first (splink does none): e-mail lower-cased and
phone reduced to its digits. Both tools read the same generated frame. Times are wall and CPU
seconds of the matching alone, after both libraries are imported and leadkit's rules read
(leadkit: `find_duplicates`, its own normalising of every field included; splink: from
registering the table to the clusters in pandas, training included); both use threads
(rapidfuzz's workers, DuckDB's), so CPU can exceed wall. "Imported" covers the modules leadkit
imports on first use (rapidfuzz, the pinyin table's module), as `import splink` does splink's;
the data either loads on first use (leadkit's region and phone-prefix tables, DuckDB's
catalogue) stays inside its clock. Neither side reads or writes a book. The machine is shared:
run it three times and take the medians (`--rounds`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import time

import splink.comparison_library as cl
from dedupe_quality import pairs_of, quality
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

import leadkit.steps.headers  # noqa: F401  (imported by dedupe on first use: see the docstring)
from leadkit.rules.loader import Rules
from leadkit.steps.dedupe import find_duplicates


def splink_pairs(frame) -> tuple[set[tuple[int, int]], float, float]:
    """Pairs splink puts in one cluster, and its (wall, CPU) seconds."""
    data = frame[["company", "contact", "phone", "email"]].copy()
    data["email"] = data["email"].str.strip().str.lower()
    data["phone"] = data["phone"].astype("string").str.replace(r"\D", "", regex=True)
    data = data.replace({"": None})
    data["unique_id"] = range(len(data))
    wall, cpu = time.perf_counter(), time.process_time()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("contact"),
            cl.JaroWinklerAtThresholds("company"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("email"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("email"),
            block_on("substr(company, 1, 4)"),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(data), settings, log_level=30)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone"), block_on("email")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.5)
    table = clusters.as_pandas_dataframe()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    groups = table.groupby("cluster_id")["unique_id"].apply(list).to_dict()
    return pairs_of(groups), wall, cpu


def one_round(rows: int, generator: str) -> dict[str, float]:
    """Both tools once on the same generated rows: their F1s, precisions, recalls and times."""
    import rapidfuzz.process  # noqa: F401  (leadkit imports it on first use: see the docstring)

    frame = importlib.import_module(generator).generate(rows)
    truth = pairs_of(frame.groupby("entity").indices)
    rules = Rules().dedupe  # read before the clock starts, as splink's settings are written
    sheet = frame.assign(lead_id=[f"R{i}" for i in range(len(frame))], duplicate_of=None)
    wall, cpu = time.perf_counter(), time.process_time()
    found = find_duplicates(sheet, rules)
    ours_wall, ours_cpu = time.perf_counter() - wall, time.process_time() - cpu
    ours = quality(frame, found.clusters)
    predicted, splink_wall, splink_cpu = splink_pairs(frame)
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(truth) if truth else 1.0
    return {
        "true_pairs": len(truth),
        "leadkit_f1": ours["f1"], "leadkit_precision": ours["precision"],
        "leadkit_recall": ours["recall"], "leadkit_wall": ours_wall, "leadkit_cpu": ours_cpu,
        "splink_f1": 2 * p * r / (p + r) if p + r else 0.0, "splink_precision": p,
        "splink_recall": r, "splink_wall": splink_wall, "splink_cpu": splink_cpu,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--generator", default="gen_dupes2")
    ap.add_argument(
        "--rounds", type=int, default=1,
        help="rounds, each a fresh process running both tools (first use included); medians",
    )  # fmt: skip
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a round, as JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_round(args.rows, args.generator)))
        return
    runs = []
    for _ in range(args.rounds):
        cmd = [sys.executable, __file__, "--one", "--rows", str(args.rows)]
        out = subprocess.run(
            [*cmd, "--generator", args.generator], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    m = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
    print(
        f"{args.generator}, {args.rows} rows, {m['true_pairs']:.0f} true pairs, {len(runs)} round(s)"
    )
    print(f"{'':8} {'F1':>6} {'prec':>6} {'recall':>6} {'wall s':>7} {'cpu s':>7}")
    for tool in ("leadkit", "splink"):
        print(
            f"{tool:8} {m[tool + '_f1']:6.4f} {m[tool + '_precision']:6.4f}"
            f" {m[tool + '_recall']:6.4f} {m[tool + '_wall']:7.2f} {m[tool + '_cpu']:7.2f}"
        )
    if len(runs) > 1:
        for tool in ("leadkit", "splink"):
            cpus = " ".join(f"{run[tool + '_cpu']:.2f}" for run in runs)
            print(f"{tool} cpu s by round: {cpus}")
    print(
        f"leadkit F1 - splink F1: {m['leadkit_f1'] - m['splink_f1']:+.4f}; splink/leadkit time:"
        f" wall {m['splink_wall'] / m['leadkit_wall']:.1f}x, cpu {m['splink_cpu'] / m['leadkit_cpu']:.1f}x"
    )


if __name__ == "__main__":
    main()
