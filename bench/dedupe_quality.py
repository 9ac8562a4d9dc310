"""Precision, recall and F1 of the pairs the default dedupe rules merge, on a labelled book.

    python bench/dedupe_quality.py --rows 20000
    python bench/dedupe_quality.py --rows 20000 --generator gen_dupes2

A predicted pair is two records that end up with the same survivor; a true pair is two records
of the same entity. Also prints, per kind of duplicate, how many were found, the merged pairs
that were wrong, and the review list per kind and per reason as (real duplicates, not
duplicates), so it says what still fails.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
from collections import Counter

import pandas as pd

from leadkit.rules.dedupe import DedupeRules
from leadkit.rules.loader import Rules
from leadkit.steps.dedupe import Clusters, find_duplicates


def pairs_of(groups: dict[object, list[int]]) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for members in groups.values():
        for a, b in itertools.combinations(sorted(members), 2):
            out.add((a, b))
    return out


def evaluate(frame: pd.DataFrame, rules: DedupeRules | None = None) -> dict[str, object]:
    """The quality of `rules` (default: the shipped dedupe.yaml) on a labelled frame."""
    rules = rules or Rules().dedupe
    sheet = frame.assign(lead_id=[f"R{i}" for i in range(len(frame))], duplicate_of=None)
    return quality(frame, find_duplicates(sheet, rules).clusters)


def quality(frame: pd.DataFrame, clusters: Clusters) -> dict[str, object]:
    """`evaluate`'s numbers of the clusters found in a labelled frame (positions = rows)."""
    predicted_groups = {s: [s, *others] for s, others in clusters.merges}
    predicted = pairs_of(predicted_groups)
    truth = pairs_of(frame.groupby("entity").indices)
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    missed = truth - predicted
    kinds = Counter()
    for a, b in missed:
        kinds[
            frame["kind"].iloc[a] if frame["kind"].iloc[a] != "original" else frame["kind"].iloc[b]
        ] += 1
    wrong_kinds = Counter()
    for a, b in predicted - truth:  # a merge with a colleague counts against "colleague"
        ka, kb = frame["kind"].iloc[a], frame["kind"].iloc[b]
        wrong_kinds[kb if ka == "original" else ka] += 1
    wrong = sorted(predicted - truth)[:5]
    # a review list is worth reading when most of its pairs are real duplicates
    entity = frame["entity"].to_numpy()
    review = clusters.review
    review_true = (
        float((entity[review["left"].to_numpy()] == entity[review["right"].to_numpy()]).mean())
        if len(review)
        else 1.0
    )
    # the review list per kind of its non-original record: (real duplicates, not duplicates)
    review_kinds: dict[str, list[int]] = {}
    for a, b in zip(review["left"].to_numpy(), review["right"].to_numpy(), strict=True):
        ka, kb = frame["kind"].iloc[a], frame["kind"].iloc[b]
        counts = review_kinds.setdefault(kb if ka == "original" else ka, [0, 0])
        counts[0 if entity[a] == entity[b] else 1] += 1
    return {
        "rows": len(frame), "true_pairs": len(truth), "predicted_pairs": len(predicted),
        "precision": precision, "recall": recall, "f1": f1, "review_pairs": len(review),
        "review_share_of_leads": len(set(review["left"]) | set(review["right"])) / len(frame),
        "review_true": review_true,
        "missed_by_kind": dict(kinds.most_common()),
        "rows_by_kind": dict(Counter(frame["kind"]).most_common()),
        "wrong_by_kind": dict(wrong_kinds.most_common()),
        "review_by_kind": {k: tuple(v) for k, v in sorted(review_kinds.items(), key=lambda kv: -sum(kv[1]))},
        "review_why": {
            why: (int(same.sum()), int((~same).sum()))
            for why, same in pd.Series(
                entity[review["left"].to_numpy()] == entity[review["right"].to_numpy()]
            ).groupby(review["why"].to_numpy())
        } if len(review) else {},
        "wrong_examples": [(frame["company"].iloc[a], frame["company"].iloc[b]) for a, b in wrong],
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--generator", default="gen_dupes", help="module with generate(rows)")
    args = ap.parse_args()
    generate = importlib.import_module(args.generator).generate
    report = evaluate(generate(args.rows))
    for key, value in report.items():
        print(f"{key:>16}: {value:.4f}" if isinstance(value, float) else f"{key:>16}: {value}")


if __name__ == "__main__":
    main()
