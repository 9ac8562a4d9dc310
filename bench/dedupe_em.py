"""dedupe.yaml's hand weights beside Fellegi-Sunter weights learnt by EM, on the same rows.

    python bench/dedupe_em.py --rows 20000 --generator gen_dupes
    python bench/dedupe_em.py --rows 20000 --generator gen_dupes2

Issue #14 asked whether the weights should be learnt from the book itself, as splink does. This
fits them the way splink does, on leadkit's own comparison levels (the fields, comparators and
levels of dedupe.yaml, nothing else changed): u, the chance of each level for two records that
are not the same customer, from random pairs of the book; m, the chance for two that are, and
the share of matches among candidate pairs, by EM over the blocked candidate pairs with u held
fixed (no labels are used). A level's points are its log2 Bayes factor log2(m / u), scaled so
that dedupe.yaml's match threshold is match probability 0.5; review is probability 0.05 and
strong 0.95 (leadkit's other thresholds sit the same way around match). `no_shared` is dropped:
Fellegi-Sunter already counts a phone and an e-mail that both differ.

It prints the quality of both rule sets (dedupe_quality's numbers) and the learnt weights.
"""

from __future__ import annotations

import argparse
import importlib
import math

import numpy as np
from dedupe_quality import evaluate, quality

from leadkit.rules.dedupe import AGREE, DISAGREE, PARTIAL, DedupeRules
from leadkit.rules.loader import Rules
from leadkit.steps.dedupe import candidate_pairs, cluster, compare, prepare, survivor_order

LEVELS = (AGREE, PARTIAL, DISAGREE)


def _shares(levels: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Share of each of LEVELS among pairs where the field is on both records."""
    w = np.ones(len(levels)) if weights is None else weights
    counts = np.array([w[levels == lv].sum() for lv in LEVELS]) + 1e-3  # no level has chance 0
    return counts / counts.sum()


def fit(
    sheet, rules: DedupeRules, random_pairs: int = 300_000, iterations: int = 50, seed: int = 7
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """(m, u, prior) per field: u from random pairs, m and the prior by EM on candidate pairs."""
    prepared = prepare(sheet, rules)
    n = len(sheet)
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, random_pairs), rng.integers(0, n, random_pairs)
    keep = a != b
    rand = compare(prepared, rules, np.minimum(a, b)[keep], np.maximum(a, b)[keep])
    left, right, _ = candidate_pairs(prepared, rules, n)
    cand = compare(prepared, rules, left, right)
    names = [f.name for f in rules.fields]
    u = {f: _shares(rand[f].to_numpy()) for f in names}
    # splink's starting point: a match agrees on a field 90 % of the time
    m = {f: np.array([0.9, 0.05, 0.05]) for f in names}
    prior = 0.3
    levels = {f: cand[f].to_numpy() for f in names}
    for _ in range(iterations):
        # E: each candidate's chance of being a match under the current m, u and prior
        log_odds = np.full(len(cand), math.log(prior / (1 - prior)))
        for f in names:
            for i, lv in enumerate(LEVELS):
                at = levels[f] == lv
                log_odds[at] += math.log(m[f][i] / u[f][i])
        p = 1 / (1 + np.exp(-np.clip(log_odds, -50, 50)))
        # M: m from the pairs weighted by that chance; u stays as random pairs gave it
        m = {f: _shares(levels[f], p) for f in names}
        prior = float(np.clip(p.mean(), 1e-6, 1 - 1e-6))
    return m, u, prior


def em_scores(levels, rules: DedupeRules, m: dict, u: dict, prior: float) -> np.ndarray:
    """Each pair's log2 match odds as points on dedupe.yaml's scale: probability 0.5 is its
    match threshold and 0.05 its review threshold (so strong, 0.9, is about probability 0.99)."""
    log_odds = np.full(len(levels), math.log2(prior / (1 - prior)))
    for f in rules.fields:
        for i, lv in enumerate(LEVELS):
            log_odds[levels[f.name].to_numpy() == lv] += math.log2(m[f.name][i] / u[f.name][i])
    per_bit = (rules.match - rules.review) / math.log2(0.95 / 0.05)
    return rules.match + per_bit * log_odds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--generator", default="gen_dupes")
    args = ap.parse_args()
    frame = importlib.import_module(args.generator).generate(args.rows)
    rules = Rules().dedupe
    sheet = frame.assign(lead_id=[f"R{i}" for i in range(len(frame))], duplicate_of=None)
    m, u, prior = fit(sheet, rules)
    print(f"{args.generator}, {args.rows} rows; EM: share of matches among candidates {prior:.3f}")
    print(
        f"{'field':8} {'hand agree/partial/disagree':>30} {'EM log2(m/u) agree/partial/disagree':>36}"
    )
    for f in rules.fields:
        bits = [math.log2(m[f.name][i] / u[f.name][i]) for i in range(3)]
        print(
            f"{f.name:8} {f.agree:10.2f}{f.partial:10.2f}{f.disagree:10.2f}"
            f" {bits[0]:12.2f}{bits[1]:12.2f}{bits[2]:12.2f}"
        )
    # the same candidate pairs and clustering, scored by EM's odds instead of the hand points
    prepared = prepare(sheet, rules)
    left, right, _ = candidate_pairs(prepared, rules, len(sheet))
    scored = compare(prepared, rules, left, right)
    scored["score"] = em_scores(scored, rules, m, u, prior)
    rank = survivor_order(sheet, rules, None).to_numpy()
    results = {
        "hand": evaluate(frame, rules),
        "EM": quality(frame, cluster(scored, rules, rank, None)),
    }
    print(f"{'weights':8} {'F1':>7} {'prec':>7} {'recall':>7} {'review %':>9} {'review real':>12}")
    for label, q in results.items():
        print(
            f"{label:8} {q['f1']:7.4f} {q['precision']:7.4f} {q['recall']:7.4f}"
            f" {100 * q['review_share_of_leads']:9.2f} {100 * q['review_true']:11.1f}%"
        )


if __name__ == "__main__":
    main()
