"""Company enrichment: leads matched to a company list, blanks filled."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from leadkit.normalize import cell_texts, company_key, to_halfwidth
from leadkit.normalize.company import _REGION_WORDS
from leadkit.rules.enrich import EnrichRules

# GB 32100-2015: 31 symbols (no I, O, S, V, Z), weights 3^i mod 31, check = (31 - sum mod 31) mod 31.
CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(CODE_ALPHABET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_TABLE = np.zeros(256, dtype=np.int64)  # byte -> the symbol's value
for _i, _c in enumerate(CODE_ALPHABET):
    _TABLE[ord(_c)] = _i

CODE, KEY, FUZZY = "credit_code", "company_key", "fuzzy"
# columns `prepare_companies` adds to a list: its company key and its checked credit code, made
# once per list (and cached by the pipeline), not on every match
LIST_KEY, LIST_CODE = "_company_key", "_credit_code"
# two list companies fit a lead equally well, even by their full names: never filled, reviewed
AMBIGUOUS = "ambiguous"


def credit_code_check(body: str) -> str:
    """The check character for the first 17 characters of a credit code."""
    total = sum(_VALUE[c] * w for c, w in zip(body, _WEIGHTS, strict=True))
    return CODE_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(values: pd.Series) -> pd.Series:
    """Upper-cased, spaces dropped; codes that fail the check digit become NA.

    Checked as one array (1M codes of a company list in a tenth of a second, not a Python call
    per code).
    """
    text = values.astype("string").str.upper()
    form = f"[{CODE_ALPHABET}]{{18}}"
    shaped = text.str.fullmatch(form).fillna(False).to_numpy(dtype=bool)
    plain = text.to_numpy(dtype=object, na_value=None)
    # spaces and hyphens (9144 0300 …) are dropped only where a code is not already clean: a
    # regex replace over a whole 1M-code list costs 0.6 s
    odd = ~shaped & text.notna().to_numpy(dtype=bool)
    if odd.any():
        fixed = text[odd].str.replace(r"[\s-]+", "", regex=True)
        plain[odd] = fixed.to_numpy(dtype=object, na_value=None)
        shaped[odd] = fixed.str.fullmatch(form).fillna(False).to_numpy(dtype=bool)
    ok = np.zeros(len(text), dtype=bool)
    if shaped.any():
        codes = plain[shaped].astype("S18")  # ASCII, 18 wide: checked above
        digits = _TABLE[codes.view(np.uint8).reshape(-1, 18)]
        total = digits[:, :17].astype(np.int64) @ np.array(_WEIGHTS, dtype=np.int64)
        ok[shaped] = (31 - total % 31) % 31 == digits[:, 17]
    plain[~ok] = None
    return pd.Series(plain, index=values.index, dtype="string")


def company_region(names: pd.Series) -> pd.Series:
    """The region a registered name starts with or brackets (上海…, …（深圳）有限公司), else NA.

    The company key drops it, which dedupe wants (other fields decide there); for enrich the
    name is the only evidence, and 上海博创科技 and 深圳博创科技 are two registered companies.
    Found by Arrow's regex (pandas' extract runs Python's per name: 0.3 s of 100k leads).
    """
    text = pa.array(to_halfwidth(names.astype("string")).array).cast(pa.large_string())
    found = pc.struct_field(pc.extract_regex(text, rf"(?:^|[(\[（])(?P<r>{_REGION_WORDS})"), [0])
    found = pc.if_else(pc.equal(found, "中国"), pa.scalar(None, found.type), found)
    return pd.Series(pd.array(found, dtype="string"), index=names.index)


_REGION_IN_NAME = re.compile(rf"(?:^|[(\[（])({_REGION_WORDS})")


@lru_cache(maxsize=65536)
def _region_of(name: str) -> str | None:
    """`company_region` of one name (for the few fuzzy candidates of a lead)."""
    found = _REGION_IN_NAME.search(unicodedata.normalize("NFKC", name))
    return None if found is None or found[1] == "中国" else found[1]


def _regions_agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (pd.isna(a) | pd.isna(b) | (a == b)).astype(bool)


def _arrow_text(values: pd.Series) -> pa.Array:
    """A string Series as one Arrow array (no Python string per cell)."""
    arr = pa.array(values.astype("string").array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string())


def prepare_companies(companies: pd.DataFrame) -> pd.DataFrame:
    """The list with its match columns: LIST_KEY (company_key of the name, NA where it has none)
    and LIST_CODE (the credit code if its check digit is right, else NA).

    The two are most of what a 1M-company list costs to match (1.7 s of company keys), and depend
    only on the list, so they are what the pipeline caches between runs.
    """
    out = companies.copy()
    if "company" in out:
        out[LIST_KEY] = company_key(out["company"].astype("string"))
    if "credit_code" in out:
        out[LIST_CODE] = canonical_codes(out["credit_code"])
    return out


def canonical_codes(values: pd.Series) -> pd.Series:
    """Credit codes upper-cased, spaces and hyphens dropped; not checked (NA where blank).

    A list's side of the code match needs no check digit: it is looked up only by lead codes
    that passed theirs, and a list code equal to a valid code is valid. In Arrow, a 1M-code list
    in a few hundredths of a second (normalize_credit_code's check costs 0.8 s there).
    """
    text = pa.array(values.astype("string").array).cast(pa.large_string())
    text = pc.utf8_upper(text)
    odd = pc.match_substring_regex(text, r"[\s-]")
    if pc.any(odd).as_py():
        text = pc.if_else(odd, pc.replace_substring_regex(text, r"[\s-]+", ""), text)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
    return pd.Series(text.to_pandas(types_mapper=pd.ArrowDtype).astype("string").array,
                     index=values.index)  # fmt: skip


def _list_keys(companies: pd.DataFrame) -> tuple[pa.Array, np.ndarray]:
    """The list's company keys where it has one, as Arrow, and their positions in the list."""
    if LIST_KEY in companies:
        keys = _arrow_text(companies[LIST_KEY])
    else:
        keys = _arrow_text(company_key(companies["company"].astype("string")))
    at = np.flatnonzero(pc.is_valid(keys).to_numpy(zero_copy_only=False))
    return (keys if len(at) == len(keys) else keys.take(pa.array(at))), at


def _list_codes(companies: pd.DataFrame) -> pd.Series:
    if LIST_CODE in companies:
        return companies[LIST_CODE].astype("string").dropna()
    return canonical_codes(companies["credit_code"]).dropna()


def match(
    leads: pd.DataFrame, companies: pd.DataFrame, rules: EnrichRules | None = None
) -> pd.DataFrame:
    """One row per matched lead: lead (index label), company (index label), method, confidence.

    A company key shared by two companies is ambiguous and never matched exactly: it goes to
    the fuzzy pass, where a tie is decided by the full names (the key drops region names, so
    上海博创科技 and 深圳博创科技 share one), and a tie the full names cannot decide is AMBIGUOUS.
    """
    rules = rules or EnrichRules()
    found: list[pd.DataFrame] = []
    todo = leads.index
    if "credit_code" in leads and "credit_code" in companies:
        lc = normalize_credit_code(leads["credit_code"]).dropna()
        # a book whose leads have no code yet (a first enrich) need not check 1M list codes
        cc = _list_codes(companies) if len(lc) else lc
        # plain hash lookups: pandas' isin on Arrow strings boxes each of 1M codes (10 s); and
        # only the list codes some lead has (Arrow's is_in), not 1M, become Python strings: a
        # code's copies are all among them, so which codes are listed once is unchanged
        listed = _arrow_text(cc)
        near = np.flatnonzero(
            pc.is_in(listed, value_set=_arrow_text(lc)).to_numpy(zero_copy_only=False)
        )
        codes = pd.Index(listed.take(pa.array(near)).to_numpy(zero_copy_only=False))
        once = ~codes.duplicated(keep=False)
        codes, labels = codes[once], cc.index.to_numpy()[near][once]
        at = codes.get_indexer(lc.to_numpy(dtype=object))
        hit = lc[at >= 0]
        if len(hit):
            found.append(_rows(hit.index, labels[at[at >= 0]], CODE, 100.0))
        todo = todo.difference(hit.index)
    if "company" in leads and "company" in companies and len(todo):
        lk = company_key(leads.loc[todo, "company"].astype("string")).dropna()
        # the list's side stays in Arrow, by position: a Python string per list key (1M) and
        # label lookups in the list's 1M-row index were most of this function's time
        keys, at = _list_keys(companies)
        labels = companies.index.to_numpy()
        listed = companies["company"]
        lead_region = company_region(leads.loc[lk.index, "company"])
        # every list company of the lead's key and a region that does not contradict the
        # lead's; exactly one is a match (two are for the fuzzy pass's tie-break)
        shared = np.flatnonzero(
            pc.is_in(keys, value_set=_arrow_text(lk)).to_numpy(zero_copy_only=False)
        )
        pairs = pd.DataFrame({"lead": lk.index, "key": lk.to_numpy()}).merge(
            pd.DataFrame({
                "company": at[shared],  # positions in the list
                "key": keys.take(pa.array(shared)).to_numpy(zero_copy_only=False),
            }),
            on="key",
        )  # fmt: skip
        # regions of the few list companies that share a lead's key, not of the whole list
        paired = pairs["company"].to_numpy()
        once = pd.unique(paired)
        list_region = company_region(listed.iloc[once]).to_numpy(dtype=object, na_value=None)
        pairs = pairs[
            _regions_agree(
                lead_region.loc[pairs["lead"].to_numpy()].to_numpy(dtype=object, na_value=None),
                list_region[pd.Index(once).get_indexer(paired)],
            )
        ]
        single = pairs[~pairs["lead"].duplicated(keep=False)]
        hit = lk.loc[single["lead"].to_numpy()]
        if len(hit):
            found.append(_rows(hit.index, labels[single["company"].to_numpy()], KEY, 100.0))
        rest = lk.drop(hit.index)
        if len(rest):
            found.append(
                _fuzzy(
                    rest, keys, labels[at], leads["company"], listed.iloc[at], lead_region, rules
                )
            )
    if not found:
        return _rows(pd.Index([]), np.array([]), CODE, 0.0)
    return pd.concat(found, ignore_index=True)


def _rows(lead: pd.Index, company: np.ndarray, method: str, confidence: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"lead": lead.to_numpy(), "company": company, "method": method, "confidence": confidence}
    )


def _fuzzy(
    lead_keys: pd.Series,
    company_keys: pa.Array,
    company_labels: np.ndarray,
    lead_names: pd.Series,
    company_names: pd.Series,
    lead_regions: pd.Series,
    rules: EnrichRules,
) -> pd.DataFrame:
    """Best fuzzy company per lead, compared only within the block of the key's first chars;
    a company of another region than the lead's name is no candidate.

    `company_keys`, `company_labels` and `company_names` are aligned by position. Each block's
    leads are scored against its companies in one rapidfuzz cdist call (C++, no Python per
    pair); only the few candidates at the top of a row are looked at in Python. Only the list
    keys of blocks some lead is in become Python strings, and only the candidates' full names.
    """
    n = rules.block_chars
    prefix = pc.utf8_slice_codeunits(company_keys, 0, n)
    wanted = lead_keys.str[:n]
    heads = pc.unique(_arrow_text(wanted))
    # each list key's block as a number (Arrow's index_in), grouped by a stable sort: grouping
    # the list's 1M prefixes as Python strings cost ten times as much
    block = pc.fill_null(pc.index_in(prefix, value_set=heads), -1).to_numpy(zero_copy_only=False)
    inblock = np.flatnonzero(block >= 0)  # positions in the list's keys
    keys = company_keys.take(pa.array(inblock)).to_numpy(zero_copy_only=False)
    order = np.argsort(block[inblock], kind="stable")  # positions in `inblock`, block by block
    ids, starts = np.unique(block[inblock][order], return_index=True)
    blocks = dict(zip(
        (heads.take(pa.array(ids)).to_pylist() if len(ids) else []),
        np.split(order, starts[1:]) if len(ids) else [], strict=True,
    ))  # fmt: skip
    # plain arrays: a pandas lookup per lead (.at, .iloc) was most of this pass's time
    lead_key = lead_keys.to_numpy(dtype=object)
    lead_label = lead_keys.index.to_numpy()
    lead_region = lead_regions.reindex(lead_keys.index).to_numpy(dtype=object, na_value=None)
    lead_name = lead_names.reindex(lead_keys.index).fillna("").to_numpy(dtype=object)
    candidates: list[tuple[int, list[tuple[float, int]]]] = []
    for b, rows in lead_keys.groupby(wanted.to_numpy()).indices.items():
        at = blocks.get(b)
        if at is None:
            continue
        for start in range(0, len(rows), 512):  # bounded memory for a big block
            part = rows[start : start + 512]
            scores = process.cdist(
                lead_key[part], keys[at], scorer=fuzz.ratio,
                score_cutoff=rules.review_at, dtype=np.float32, workers=1,
            )  # fmt: skip
            # only the rows with a candidate at all (most leads of a block have none) are
            # sorted and looked at in Python: a Python loop over every lead was a third of this
            some = np.flatnonzero(scores.max(axis=1) > 0)
            if not some.size:
                continue
            scores = scores[some]
            top = np.argsort(-scores, axis=1, kind="stable")[:, :8]
            best = np.take_along_axis(scores, top, axis=1).tolist()
            where = at[top].tolist()  # positions in the list's keys
            for row, values, places in zip(part[some].tolist(), best, where, strict=True):
                ranked = [(v, c) for v, c in zip(values, places, strict=True) if v > 0]
                candidates.append((row, ranked))
    # the full names of the candidates only (a region check, a tie-break), not of 1M companies
    seen = np.unique(np.array([c for _, ranked in candidates for _, c in ranked], dtype=np.int64))
    names = company_names.iloc[inblock[seen]].fillna("").to_numpy(dtype=object)
    full = dict(zip(seen.tolist(), names, strict=True))
    lead, company, method, score = [], [], [], []
    for row, ranked in candidates:
        own = lead_region[row]
        if own is not None:
            ranked = [r for r in ranked if _region_of(full[r[1]]) in (None, own)]
        if not ranked:
            continue
        tied = [c for v, c in ranked if v == ranked[0][0]]
        pick, how = tied[0], FUZZY
        if len(tied) > 1:
            name = str(lead_name[row])
            by_name = [fuzz.ratio(name, full[t]) for t in tied]
            ranks = sorted(by_name, reverse=True)
            if ranks[0] > ranks[1]:
                pick = tied[by_name.index(ranks[0])]
            else:
                how = AMBIGUOUS
        lead.append(lead_label[row])
        company.append(company_labels[inblock[pick]])
        method.append(how)
        score.append(round(ranked[0][0], 1))  # float32 to what a person reads
    return pd.DataFrame(
        {"lead": lead, "company": company, "method": method, "confidence": score},
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
    sure = matches[(matches["confidence"] >= rules.fill_at) & (matches["method"] != AMBIGUOUS)]
    out = leads.copy()
    parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for column in columns:
        if column not in companies:
            continue
        if column not in out:
            out[column] = pd.Series(pd.NA, index=out.index, dtype=object)
        # as Series of the list's own (Arrow) strings: building a string array from the object
        # values again was most of this function's time at 60k fills
        picked = companies[column].loc[sure["company"].to_numpy()]
        source = picked.to_numpy(dtype=object, na_value=None)
        current = out.loc[sure["lead"].to_numpy(), column]
        blank = current.isna().to_numpy(dtype=bool, copy=True)
        if not blank.all() and pd.api.types.is_string_dtype(current.dtype):
            blank |= (current.astype("string").str.strip() == "").fillna(False).to_numpy(bool)
        text = picked.astype("string")
        given = (text.notna() & (text.str.strip() != "")).fillna(False).to_numpy(dtype=bool)
        take = blank & given
        if not take.any():
            continue
        if out[column].dtype != object:
            out[column] = out[column].astype(object)
        targets = sure["lead"].to_numpy()[take]
        out.loc[targets, column] = source[take]
        parts.append((
            column, targets, source[take],
            sure["method"].to_numpy()[take], sure["confidence"].to_numpy()[take],
        ))  # fmt: skip
    columns_ = ["lead", "column", "new", "method", "confidence"]
    if not parts:
        return out, pd.DataFrame([], columns=columns_)
    # one log row per fill, built as columns (a dict per fill was a third of this function at
    # 60k fills); as lists, so each column's type is found as it was from the rows
    log = {
        "lead": np.concatenate([p[1] for p in parts]).tolist(),
        "column": [p[0] for p in parts for _ in range(len(p[1]))],
        "new": np.concatenate([np.asarray(p[2], dtype=object) for p in parts]).tolist(),
        "method": np.concatenate([np.asarray(p[3], dtype=object) for p in parts]).tolist(),
        "confidence": np.concatenate([p[4] for p in parts]).tolist(),
    }
    return out, pd.DataFrame(log, columns=columns_)


def review(matches: pd.DataFrame, rules: EnrichRules | None = None) -> pd.DataFrame:
    """Matches too uncertain to fill (a low score or a tie): for a person to confirm."""
    rules = rules or EnrichRules()
    unsure = (matches["confidence"] < rules.fill_at) | (matches["method"] == AMBIGUOUS)
    return matches[unsure].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Review files: `enrich --review FILE` writes the uncertain matches with a decision column (the
# reader is the one dedupe's review files use, leadkit.steps.review); `--apply-review FILE` fills the
# accepted ones from the list values the file carries.

REVIEW_DECISIONS = {"accept": ("采用", "Accept"), "reject": ("不采用", "Reject")}


def lead_fingerprint(frame: pd.DataFrame) -> pd.Series:
    """A short hash per lead of the cells a review is about (its company and the fill columns).

    Written beside each row of a review file and compared when it is applied: a lead whose name
    or company cells changed since may no longer be the company the person accepted.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    texts = [cell_texts(frame[c]).fillna("").astype(str) for c in frame.columns]
    joined = texts[0].str.cat(texts[1:], sep="\x1f") if len(texts) > 1 else texts[0]
    return joined.map(lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest()[:12])
