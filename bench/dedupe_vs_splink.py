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
(leadkit: `find_duplicates`; splink: from registering the table to the clusters in pandas,
training included); both use threads (rapidfuzz's workers, DuckDB's), so CPU can exceed wall.
"""

from __future__ import annotations

import argparse
import importlib
import time

import splink.comparison_library as cl
from dedupe_quality import pairs_of, quality
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--generator", default="gen_dupes2")
    args = ap.parse_args()
    frame = importlib.import_module(args.generator).generate(args.rows)
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
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{args.generator}, {args.rows} rows, {len(truth)} true pairs")
    print(f"{'':8} {'F1':>6} {'prec':>6} {'recall':>6} {'wall s':>7} {'cpu s':>7}")
    print(
        f"{'leadkit':8} {ours['f1']:6.4f} {ours['precision']:6.4f} {ours['recall']:6.4f}"
        f" {ours_wall:7.2f} {ours_cpu:7.2f}"
    )
    print(f"{'splink':8} {f1:6.4f} {p:6.4f} {r:6.4f} {splink_wall:7.2f} {splink_cpu:7.2f}")
    print(
        f"leadkit F1 - splink F1: {ours['f1'] - f1:+.4f}; splink/leadkit time:"
        f" wall {splink_wall / ours_wall:.1f}x, cpu {splink_cpu / ours_cpu:.1f}x"
    )


if __name__ == "__main__":
    main()
