"""leadkit's default dedupe beside splink (DuckDB backend, a generic configuration), same rows.

    pip install -e '.[bench]'
    python bench/dedupe_vs_splink.py --rows 5000 --generator gen_dupes2

Splink's configuration is the generic one its docs show for people data, nothing tuned to these
books: comparisons on company (Jaro-Winkler), contact (Jaro-Winkler), phone and e-mail (exact),
blocking on phone, e-mail or company; u from random sampling, m by EM, default threshold 0.5.
"""

from __future__ import annotations

import argparse
import importlib
import time

import splink.comparison_library as cl
from dedupe_quality import evaluate, pairs_of
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI


def splink_pairs(frame) -> tuple[set[tuple[int, int]], float]:
    data = frame[["company", "contact", "phone", "email"]].copy()
    data["email"] = data["email"].str.lower()
    data["unique_id"] = range(len(data))
    start = time.process_time()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("company"),
            cl.JaroWinklerAtThresholds("contact"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("email"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("email"),
            block_on("company"),
        ],
    )
    linker = Linker(DuckDBAPI().register(data), settings, log_level=30)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.5)
    table = clusters.as_pandas_dataframe()
    elapsed = time.process_time() - start
    return pairs_of(table.groupby("cluster_id")["unique_id"].apply(list).to_dict()), elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000)
    ap.add_argument("--generator", default="gen_dupes2")
    args = ap.parse_args()
    frame = importlib.import_module(args.generator).generate(args.rows)
    truth = pairs_of(frame.groupby("entity").indices)
    start = time.process_time()
    ours = evaluate(frame)
    ours_time = time.process_time() - start
    predicted, splink_time = splink_pairs(frame)
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(truth) if truth else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{'':8} {'F1':>6} {'prec':>6} {'recall':>6} {'cpu s':>7}")
    print(
        f"{'leadkit':8} {ours['f1']:6.3f} {ours['precision']:6.3f} {ours['recall']:6.3f} {ours_time:7.2f}"
    )
    print(f"{'splink':8} {f1:6.3f} {p:6.3f} {r:6.3f} {splink_time:7.2f}")


if __name__ == "__main__":
    main()
