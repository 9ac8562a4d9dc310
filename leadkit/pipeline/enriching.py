"""Enrich over the book: company data filled from a list (prepared once and cached), reviews applied."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadkit import bookio
from leadkit.bookio import Book
from leadkit.context import Context
from leadkit.errors import InputFileError, RuleError, UsageError, Where
from leadkit.normalize import cell_texts
from leadkit.pipeline.book import (
    READING,
    READING_FILES,
    WRITING,
    output_file,
    stages,
    update_book,
    write_review,
)
from leadkit.rules.base import fold_header
from leadkit.rules.enrich import EnrichConfig
from leadkit.steps.enrich import AMBIGUOUS, fill_blanks, lead_fingerprint, prepare_companies, review
from leadkit.steps.enrich import REVIEW_DECISIONS as ENRICH_DECISIONS
from leadkit.steps.enrich import match as match_companies
from leadkit.steps.review import decided_rows


@dataclass
class EnrichOutcome:
    """What `leadkit enrich` filled (or would fill, on a dry run)."""

    companies: int  # rows of the list with a company name or credit code
    looked_up: int  # leads compared with it (merged duplicates are not)
    matched: dict[str, int]  # method -> leads matched surely enough to fill
    confidence: dict[str, tuple[float, float]]  # method -> lowest and highest score of those
    filled: dict[str, int]  # lead column -> cells filled
    leads_filled: int
    # lead_id, company, list_company, method, confidence, list_<column> per fill column, check
    review: pd.DataFrame
    review_file: Path | None = None
    accepted: int = 0  # --apply-review: rows a person accepted, and rejected
    rejected: int = 0
    list_cached: bool = False  # the prepared list came from .leadkit/cache (read before)

    @property
    def cells(self) -> int:
        return sum(self.filled.values())


def enrich(
    ctx: Context,
    list_file: Path | None,
    *,
    review_file: Path | None = None,
    apply_review: Path | None = None,
) -> EnrichOutcome:
    """Fill the leads' blank company cells from a company list (.xlsx/.csv); log every fill.

    With `apply_review`, no list is read: the accepted rows of a review file `enrich --review`
    wrote fill their leads' blanks from the list values the file carries.
    """
    if apply_review is not None:
        if list_file is not None or review_file is not None:
            raise UsageError("--apply-review takes neither --from nor --review")
        return _apply_enrich_review(ctx, apply_review)
    if list_file is None:
        raise UsageError("enrich needs --from LIST (or --apply-review FILE)")
    config: EnrichConfig = ctx.rules.enrich
    where = ctx.rules.folder / "enrich.yaml"
    keys = set(ctx.rules.columns.sheets["leads"].keys)
    unknown = [c for c in (*config.fill, *config.columns) if c not in keys]
    if unknown:
        raise RuleError(where, [(None, f"unknown lead column key(s) {', '.join(unknown)}")])
    if review_file is not None:
        output_file(ctx, review_file)
    stage = stages(ctx, [READING_FILES, READING, "enrich", WRITING])
    stage(READING_FILES)
    companies, cached = _read_companies(ctx, list_file, config)

    def step(book: Book) -> EnrichOutcome:
        stage("enrich")
        return _enrich_step(ctx, book, companies, config)

    outcome = update_book(ctx, "enrich", step, stage=stage, changed=lambda o: o.cells > 0)
    outcome.list_cached = cached
    if review_file is not None and not ctx.dry_run:
        write_review(ctx, review_file, _enrich_review_table(ctx, outcome.review), ENRICH_DECISIONS)
        outcome.review_file = review_file
    stage("done")
    return outcome


# the review file's fixed columns: key -> (zh, en) header; then 名单<column> per fill column
_ENRICH_REVIEW = {
    "lead_id": ("线索编号", "Lead ID"), "company": ("企业名称", "Company"),
    "list_company": ("名单企业名称", "List Company"), "method": ("匹配方式", "Method"),
    "confidence": ("相似度", "Score"),
}  # fmt: skip
_REVIEW_CHECK = ("校验", "Check")


def _enrich_review_headers(ctx: Context, fill: list[str], lang: str) -> dict[str, str]:
    """Review-file key -> header in `lang` (list_<column> for each fill column)."""
    i = 0 if lang == "zh" else 1
    leads = ctx.rules.columns.sheets["leads"].by_key
    out = {k: v[i] for k, v in _ENRICH_REVIEW.items()}
    for column in fill:
        name = leads[column].header(lang)
        out[f"list_{column}"] = f"名单{name}" if lang == "zh" else f"List {name}"
    out["check"] = _REVIEW_CHECK[i]
    return out


def _enrich_review_table(ctx: Context, unsure: pd.DataFrame) -> pd.DataFrame:
    """The uncertain matches for a person: an empty 决定 column first, as dedupe's file has."""
    fill = [
        c[len("list_") :] for c in unsure.columns if c.startswith("list_") and c != "list_company"
    ]
    headers = _enrich_review_headers(ctx, fill, ctx.lang)
    table = unsure.reindex(columns=list(headers)).rename(columns=headers)
    table.insert(0, "决定" if ctx.lang == "zh" else "Decision", None)
    return table


def _apply_enrich_review(ctx: Context, path: Path) -> EnrichOutcome:
    """Fill the blanks of the leads a person accepted in an enrich review file (refused whole
    when any accepted lead is gone or its company cells changed since the file was written)."""
    config: EnrichConfig = ctx.rules.enrich
    fill = [c for c in config.fill if c in ctx.rules.columns.sheets["leads"].keys]
    frame = bookio.read_table(path)
    # either language's headers (a file handed on to a colleague with the other workspace)
    known = {
        fold_header(h): k
        for lang in ("en", ctx.lang)
        for k, h in _enrich_review_headers(ctx, fill, lang).items()
    }
    frame = frame.rename(columns={c: known.get(fold_header(c), c) for c in frame.columns})
    try:
        decided = decided_rows(frame, ENRICH_DECISIONS, ("lead_id", "check"))
    except ValueError as exc:
        raise InputFileError(str(exc), Where(file=path)) from None
    accepted = [row for row, d in decided if d == "accept"]
    rejected = len(decided) - len(accepted)
    taken = frame.loc[accepted]

    def step(book: Book) -> EnrichOutcome:
        leads = book.leads
        active = leads if "duplicate_of" not in leads else leads[leads["duplicate_of"].isna()]
        at = pd.Index(active["lead_id"].astype("string")).get_indexer(
            taken["lead_id"].astype("string")
        )
        gone = taken["lead_id"][at < 0].tolist()
        rows = active.index[at[at >= 0]]
        now = lead_fingerprint(active.loc[rows].reindex(columns=["company", *fill]))
        changed = taken["lead_id"][at >= 0][now.to_numpy() != taken["check"][at >= 0].to_numpy()]
        stale = [*map(str, gone), *map(str, changed)]
        if stale:
            raise InputFileError(
                f"{len(stale)} accepted lead(s) are gone or changed since the review was written "
                f"({', '.join(stale[:5])}{' …' if len(stale) > 5 else ''}): nothing filled; "
                "run enrich --from LIST --review FILE again",
                Where(file=path),
            )
        values = taken.reindex(columns=[f"list_{c}" for c in fill]).set_axis(fill, axis=1)
        values.index = rows
        used = values.apply(_trimmed) if len(values) else values
        matches = pd.DataFrame(
            {"lead": rows, "company": rows, "method": "review", "confidence": 100.0}
        )
        _, log = fill_blanks(active.reindex(columns=fill), used, matches, fill)
        _write_fills(ctx, book, log)
        return EnrichOutcome(
            companies=0, looked_up=len(decided), matched={"review": len(accepted)} if accepted else {},
            confidence={"review": (100.0, 100.0)} if accepted else {},
            filled={str(c): len(g) for c, g in log.groupby("column", sort=False)},
            leads_filled=log["lead"].nunique(), review=pd.DataFrame(),
            accepted=len(accepted), rejected=rejected,
        )  # fmt: skip

    return update_book(ctx, "enrich", step, changed=lambda o: o.cells > 0)


# Prepared company lists (read, trimmed, company keys and checked codes: prepare_companies) are
# kept in the workspace's .leadkit/cache/enrich/, one Arrow file per list named by a digest of
# the list's bytes, the header aliases of enrich.yaml and the code that makes the keys. A list
# that changed in any byte, or new aliases, or a leadkit whose keys differ, has another digest
# and is read afresh; the modification time is not trusted (a copy or a restore keeps it). The
# newest ENRICH_CACHE_KEEP lists are kept: a team rerunning one daily list rebuilds nothing.
ENRICH_CACHE_KEEP = 2


def _read_companies(ctx: Context, path: Path, config: EnrichConfig) -> tuple[pd.DataFrame, bool]:
    """The prepared list, and whether it came from the cache (this very list prepared before)."""
    folder = ctx.workspace.state_dir / "cache" / "enrich"
    try:
        digest = _list_digest(path, config)
    except OSError as exc:
        raise InputFileError(f"cannot read the list ({exc.strerror})", Where(file=path)) from None
    cached = folder / f"{digest}.arrow"
    companies = _cached_list(cached)
    if companies is not None:
        return companies, True
    companies = prepare_companies(_read_list_file(ctx, path, config))
    if not ctx.dry_run:  # a dry run leaves the workspace as it found it, its state included
        _cache_list(cached, companies)
    return companies, False


def _list_digest(path: Path, config: EnrichConfig) -> str:
    import hashlib
    import json

    from leadkit import __version__
    from leadkit import normalize as normalize_module
    from leadkit.steps import enrich as enrich_module

    h = hashlib.sha256()
    with path.open("rb") as f:
        h.update(hashlib.file_digest(f, "sha256").digest())
    h.update(json.dumps(config.columns, sort_keys=True, ensure_ascii=False).encode())
    h.update(__version__.encode())
    sources = [Path(m.__file__ or "") for m in (enrich_module, sys.modules[__name__])]
    sources += sorted(Path(normalize_module.__file__ or "").parent.glob("*.py"))  # the key's code
    for source in sources:  # keys, cache format
        h.update(source.read_bytes())
    return h.hexdigest()[:32]


def _cached_list(cached: Path) -> pd.DataFrame | None:
    import pyarrow as pa
    from pyarrow import feather

    try:
        table = feather.read_table(cached, memory_map=True)
        # the few-valued columns were stored as dictionaries (_cache_list): plain strings again
        for i, column in enumerate(table.schema):
            if pa.types.is_dictionary(column.type):
                table = table.set_column(i, column.name, table.column(i).cast(pa.large_string()))
        return table.to_pandas()
    except FileNotFoundError:
        return None
    except (OSError, pa.ArrowException):  # a damaged cache file is rebuilt, never trusted
        cached.unlink(missing_ok=True)
        return None


def _cache_list(cached: Path, companies: pd.DataFrame) -> None:
    """Write the prepared list to the cache: a temp file renamed over it, not fsynced (a cache
    lost to a crash is only rebuilt: a torn file fails to read and is read afresh)."""
    import os

    import pyarrow as pa
    from pyarrow import feather

    table = pa.Table.from_pandas(companies, preserve_index=True)
    # 企业类型, 经营状态, 行业 … repeat a few values over 1M rows: as dictionaries the file is 100
    # MB smaller; a column is judged by its first 10k values (counting a whole 1M-row column's
    # distinct values cost more than the bytes it saves)
    for i, column in enumerate(table.schema):
        if pa.types.is_large_string(column.type) or pa.types.is_string(column.type):
            head = table.column(i).slice(0, 10_000)
            if len(head) == 10_000 and len(head.unique()) < 100:
                table = table.set_column(i, column.name, table.column(i).dictionary_encode())
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    try:
        feather.write_feather(table, tmp, compression="uncompressed")
        os.replace(tmp, cached)
    finally:
        tmp.unlink(missing_ok=True)
    older = sorted(cached.parent.glob("*.arrow"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in older[ENRICH_CACHE_KEEP:]:
        stale.unlink(missing_ok=True)


def _plain_list_csv(path: Path, config: EnrichConfig, limits: Any) -> pd.DataFrame | None:
    """A plain comma-separated UTF-8 list whose first line is its header, parsed by Arrow with only
    the columns enrich.yaml names (1M companies: 0.7 s where the general reader takes 2.7 s:
    it decodes the whole text, measures it, and re-encodes it for the same parser). None for any
    other file, which the general reader then reads (other encodings and delimiters, a title above
    the header, ragged rows, a file past the limits: it also gives their error messages)."""
    import csv

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    from leadkit.bookio.limits import check_file_size, default_limits

    if path.suffix.lower() != ".csv":
        return None
    limits = limits or default_limits()
    check_file_size(path, limits)
    with path.open("rb") as f:
        head = f.read(65536)
    head = head.removeprefix(b"\xef\xbb\xbf")
    try:
        first = head.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return None
    headers = next(csv.reader([first]), [])
    at = config.header_keys(headers)
    if not ({"company", "credit_code"} & set(at.values())) or len(set(headers)) < len(headers):
        return None
    if len(headers) > limits.columns:
        return None
    names = [headers[i] for i in at]
    try:
        table = pcsv.read_csv(
            path,
            # one thread: the same parse in 0.07 s less CPU of a 1M-row list (CPU is what is
            # short on a shared machine; threads add their hand-offs to it)
            read_options=pcsv.ReadOptions(use_threads=False),
            parse_options=pcsv.ParseOptions(delimiter=",", newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                include_columns=names, column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )  # fmt: skip
    except (pa.ArrowException, KeyError, OSError):
        return None
    if table.column_names != names or table.num_rows + 1 > limits.rows:
        return None
    for column in table.columns:
        # no more characters than bytes: characters are counted only where the bytes are over
        # the limit (counting them in all of a 1M-row list's columns cost 0.07 s)
        longest = pc.max(pc.binary_length(column)).as_py()
        if longest is not None and longest > limits.cell_chars:
            longest = pc.max(pc.utf8_length(column)).as_py()
            if longest > limits.cell_chars:
                return None
    table = table.rename_columns(list(at.values()))
    for column in ("company", "credit_code"):  # trimmed as the general path trims them
        if column in table.column_names:
            i = table.column_names.index(column)
            text = pc.utf8_trim_whitespace(table.column(i))
            text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
            table = table.set_column(i, column, text)
    frame = table.to_pandas(
        types_mapper=lambda t: pd.StringDtype() if t == pa.large_string() else None
    )
    return frame.dropna(how="all", subset=[c for c in ("company", "credit_code") if c in frame])


def _read_list_file(ctx: Context, path: Path, config: EnrichConfig) -> pd.DataFrame:
    """The list's rows under lead column keys, blanks as NA; every sheet with a header row."""
    fast = _plain_list_csv(path, config, ctx.workspace.config.limits)
    if fast is not None:
        return fast
    known = {fold_header(a): k for k, aliases in config.columns.items() for a in (k, *aliases)}
    try:
        tables = bookio.read_input_tables(path, known, limits=ctx.workspace.config.limits)
    except InputFileError as exc:
        # the reader points at columns.yaml, the lead book's headers; a list's are in enrich.yaml
        exc.message = exc.message.replace(
            "rules/columns.yaml aliases, or --map", "rules/enrich.yaml columns"
        )
        raise
    frames = []
    for table in tables:
        at = config.header_keys(table.headers)
        if "company" not in at.values() and "credit_code" not in at.values():
            raise InputFileError(
                "no company name or credit code column (see rules/enrich.yaml columns); "
                f"headers: {', '.join(map(str, table.headers))}",
                Where(file=path, sheet=table.sheet),
            )
        frame = table.frame[list(at)].set_axis(list(at.values()), axis=1)
        # only the columns every row is matched on are trimmed here; the others only on the
        # rows that match (_trimmed): trimming all of a 1M-row list's columns cost 1.1 s
        frame = frame.astype("string")
        for column in ("company", "credit_code"):
            if column in frame:
                frame[column] = _trimmed(frame[column])
        frames.append(frame)
    companies = pd.concat(frames, ignore_index=True)
    return companies.dropna(
        how="all", subset=[c for c in ("company", "credit_code") if c in companies]
    )


def _trimmed(values: pd.Series) -> pd.Series:
    return values.str.strip().replace("", pd.NA)


def _enrich_step(
    ctx: Context, book: Book, companies: pd.DataFrame, config: EnrichConfig
) -> EnrichOutcome:
    rules = config.engine
    leads = book.leads
    active = leads if "duplicate_of" not in leads else leads[leads["duplicate_of"].isna()]
    fill = [c for c in config.fill if c in companies]
    # a lead whose every cell the list could fill is filled has nothing to gain: not looked up
    # (a rerun compares only the leads still blank, not the whole book again)
    blank = np.zeros(len(active), dtype=bool)
    for column in fill:
        if column not in active:
            blank[:] = True
            break
        cells = active[column]
        blank |= cells.isna().to_numpy(dtype=bool)
        if not blank.all() and pd.api.types.is_string_dtype(cells.dtype):
            blank |= (cells.astype("string").str.strip() == "").fillna(False).to_numpy(dtype=bool)
    active = active[blank]
    lookup = active[[c for c in ("company", "credit_code") if c in active]]
    matches = match_companies(lookup, companies, rules)
    current = active.reindex(columns=fill)
    used = companies[fill].loc[pd.unique(matches["company"])]
    used = used.apply(_trimmed) if len(used) else used
    _, log = fill_blanks(current, used, matches, fill, rules)
    _write_fills(ctx, book, log)
    unsure = review(matches, rules)
    sure = matches[(matches["confidence"] >= rules.fill_at) & (matches["method"] != AMBIGUOUS)]
    return EnrichOutcome(
        companies=len(companies), looked_up=len(active),
        matched={str(m): len(g) for m, g in sure.groupby("method", sort=False)},
        confidence={
            str(m): (float(g["confidence"].min()), float(g["confidence"].max()))
            for m, g in sure.groupby("method", sort=False)
        },
        filled={str(c): len(g) for c, g in log.groupby("column", sort=False)},
        leads_filled=log["lead"].nunique(),
        review=_review_rows(leads, companies, unsure, config.fill),
    )  # fmt: skip


def _write_fills(ctx: Context, book: Book, log: pd.DataFrame) -> None:
    """Put fill_blanks' fills into the book's Leads sheet, one 操作日志 row per filled cell."""
    leads = book.leads
    for column, rows in log.groupby("column", sort=False):
        if column not in leads:  # a book made before the column existed
            leads[column] = pd.Series(pd.NA, index=leads.index, dtype=object)
        elif not pd.api.types.is_string_dtype(leads[column].dtype):  # all blank: read as floats
            leads[column] = leads[column].astype(object)
        leads.loc[rows["lead"].to_numpy(), column] = rows["new"].to_numpy()
    if len(log):
        book.append_log(pd.DataFrame({
            "time": pd.Timestamp(ctx.now), "command": "enrich",
            "lead_id": leads.loc[log["lead"].to_numpy(), "lead_id"].to_numpy(),
            "column": log["column"].to_numpy(), "old": None,
            "new": cell_texts(log["new"]).to_numpy(),
        }))  # fmt: skip


def _review_rows(
    leads: pd.DataFrame, companies: pd.DataFrame, unsure: pd.DataFrame, fill: list[str]
) -> pd.DataFrame:
    """The uncertain matches: the lead, the list company and what it would fill (list_<column>),
    and the lead's fingerprint for `--apply-review` to see whether the lead changed since."""
    # sorted by lead ID: the order a person reads a list in (the fuzzy pass's is its blocks')
    unsure = unsure.assign(_id=leads.loc[unsure["lead"].to_numpy(), "lead_id"].to_numpy())
    unsure = unsure.sort_values("_id", kind="stable")
    lead, company = unsure["lead"].to_numpy(), unsure["company"].to_numpy()
    # only the columns shown: taking all of a 1M-row list's columns cost more than the rest
    listed = companies[[c for c in ("company", *fill) if c in companies]].loc[company]
    out = pd.DataFrame({
        "lead_id": leads.loc[lead, "lead_id"].to_numpy(),
        "company": leads.loc[lead, "company"].to_numpy(),
        "list_company": listed["company"].to_numpy() if "company" in listed else None,
        "method": unsure["method"].to_numpy(), "confidence": unsure["confidence"].round(1).to_numpy(),
    })  # fmt: skip
    for column in fill:
        if column in listed:
            out[f"list_{column}"] = _trimmed(listed[column].astype("string")).to_numpy()
    out["check"] = lead_fingerprint(leads.loc[lead].reindex(columns=["company", *fill])).to_numpy()
    return out
