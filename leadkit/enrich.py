"""Enrich step: fill a lead's company data from a company list, blanks only.

Matching runs in order of certainty: the unified social credit code (统一社会信用代码, GB 32100,
its check digit validated so a typo never matches a stranger), then the dedupe company key
(normalize.company_key, the same key dedupe uses), then a fuzzy key match blocked by the key's
first two characters so 1M companies are never compared with every lead. Only blank cells are
filled: what a person typed is never overwritten. Plain DataFrame functions; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from leadkit.normalize import company_key

# GB 32100-2015: 31 symbols (no I, O, S, V, Z), weights 3^i mod 31, check = (31 - sum mod 31) mod 31.
CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(CODE_ALPHABET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]

CODE, KEY, FUZZY = "credit_code", "company_key", "fuzzy"


def credit_code_check(body: str) -> str:
    """The check character for the first 17 characters of a credit code."""
    total = sum(_VALUE[c] * w for c, w in zip(body, _WEIGHTS, strict=True))
    return CODE_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(values: pd.Series) -> pd.Series:
    """Upper-cased, spaces dropped; codes that fail the check digit become NA."""
    text = values.astype("string").str.upper().str.replace(r"[\s-]+", "", regex=True)

    def valid(code: object) -> bool:
        if not isinstance(code, str) or len(code) != 18 or any(c not in _VALUE for c in code):
            return False
        return credit_code_check(code[:17]) == code[17]

    ok = text.map(valid, na_action="ignore").fillna(False).astype(bool)
    return text.where(ok)


@dataclass(frozen=True)
class EnrichRules:
    """How sure a match must be: fuzzy scores (0-100) to fill and to send to review."""

    fill_at: float = 92
    review_at: float = 80
    block_chars: int = 2


def match(
    leads: pd.DataFrame, companies: pd.DataFrame, rules: EnrichRules | None = None
) -> pd.DataFrame:
    """One row per matched lead: lead (index label), company (index label), method, confidence.

    A company key shared by two companies is ambiguous and never matched exactly (it goes to the
    fuzzy pass, whose confidence then stays below a clean match).
    """
    rules = rules or EnrichRules()
    found: list[pd.DataFrame] = []
    todo = leads.index
    if "credit_code" in leads and "credit_code" in companies:
        lc = normalize_credit_code(leads["credit_code"]).dropna()
        cc = normalize_credit_code(companies["credit_code"]).dropna()
        cc = cc[~cc.duplicated(keep=False)]
        by_code = pd.Series(cc.index, index=cc.to_numpy())
        hit = lc[lc.isin(by_code.index)]
        if len(hit):
            found.append(_rows(hit.index, by_code.loc[hit.to_numpy()].to_numpy(), CODE, 100.0))
        todo = todo.difference(hit.index)
    if "company" in leads and "company" in companies and len(todo):
        lk = company_key(leads.loc[todo, "company"].astype("string")).dropna()
        ck = company_key(companies["company"].astype("string")).dropna()
        unique = ck[~ck.duplicated(keep=False)]
        by_key = pd.Series(unique.index, index=unique.to_numpy())
        hit = lk[lk.isin(by_key.index)]
        if len(hit):
            found.append(_rows(hit.index, by_key.loc[hit.to_numpy()].to_numpy(), KEY, 100.0))
        rest = lk.drop(hit.index)
        if len(rest):
            found.append(_fuzzy(rest, ck, rules))
    if not found:
        return _rows(pd.Index([]), np.array([]), CODE, 0.0)
    return pd.concat(found, ignore_index=True)


def _rows(lead: pd.Index, company: np.ndarray, method: str, confidence: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"lead": lead.to_numpy(), "company": company, "method": method, "confidence": confidence}
    )


def _fuzzy(lead_keys: pd.Series, company_keys: pd.Series, rules: EnrichRules) -> pd.DataFrame:
    """Best fuzzy company per lead, compared only within the block of the key's first chars."""
    n = rules.block_chars
    blocks = company_keys.groupby(company_keys.str[:n].to_numpy())
    choices = {b: (g.to_numpy(), g.index.to_numpy()) for b, g in blocks}
    lead, company, score = [], [], []
    for label, key in lead_keys.items():
        block = choices.get(key[:n])
        if block is None:
            continue
        best = process.extractOne(key, block[0], scorer=fuzz.ratio, score_cutoff=rules.review_at)
        if best is not None:
            lead.append(label)
            company.append(block[1][best[2]])
            score.append(float(best[1]))
    return pd.DataFrame(
        {"lead": lead, "company": company, "method": FUZZY, "confidence": score},
        columns=["lead", "company", "method", "confidence"],
    )


def fill_blanks(
    leads: pd.DataFrame,
    companies: pd.DataFrame,
    matches: pd.DataFrame,
    columns: list[str],
    rules: EnrichRules | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads with blank cells filled from their matched company, and one log row per fill.

    Matches below rules.fill_at are not used (they are for review). A cell holding anything,
    even text a person typed that disagrees with the list, is left as it is.
    """
    rules = rules or EnrichRules()
    sure = matches[matches["confidence"] >= rules.fill_at]
    out = leads.copy()
    log: list[dict[str, object]] = []
    for column in columns:
        if column not in companies:
            continue
        if column not in out:
            out[column] = pd.Series(pd.NA, index=out.index, dtype=object)
        source = companies.loc[sure["company"].to_numpy(), column].to_numpy()
        current = out.loc[sure["lead"].to_numpy(), column]
        blank = (
            current.isna().to_numpy()
            | (current.astype("string").str.strip() == "").fillna(False).to_numpy()
        )
        given = (
            pd.notna(source)
            & (pd.Series(source, dtype="string").str.strip() != "").fillna(False).to_numpy()
        )
        take = blank & given
        if not take.any():
            continue
        if out[column].dtype != object:
            out[column] = out[column].astype(object)
        targets = sure["lead"].to_numpy()[take]
        out.loc[targets, column] = source[take]
        for label, value, method, conf in zip(
            targets,
            source[take],
            sure["method"].to_numpy()[take],
            sure["confidence"].to_numpy()[take],
            strict=True,
        ):
            log.append(
                {
                    "lead": label,
                    "column": column,
                    "new": value,
                    "method": method,
                    "confidence": conf,
                }
            )
    return out, pd.DataFrame(log, columns=["lead", "column", "new", "method", "confidence"])


def review(matches: pd.DataFrame, rules: EnrichRules | None = None) -> pd.DataFrame:
    """Matches too uncertain to fill: for a person to confirm."""
    rules = rules or EnrichRules()
    return matches[matches["confidence"] < rules.fill_at].reset_index(drop=True)
