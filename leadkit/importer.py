"""Import step: incoming sheets -> normalised, validated lead rows, rejects with reasons.

Identity of a source row (so re-importing a file adds nothing and drops nothing): a hash of all
its cells as written, see `leadkit.identity`. A row already in the book is counted and listed
in the summary with the Imports row it matched; it gets an `already` row of its own only the
first time it turns up somewhere else than where its record came from (`SeenRows.worth_noting`).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from leadkit.bookio import Book, RawTable
from leadkit.headers import HeaderPlan, SavedMap, choose_map, match_headers, vocabulary
from leadkit.identity import (
    SeenRows,
    legacy_row_keys,
    matched_records,
    resolve_already,
    row_keys,
)
from leadkit.limits import spill_long_cells
from leadkit.normalize import (
    WORKERS,
    clean_text,
    company_display,
    is_in,
    keep_unparsed,
    map_distinct,
    map_enum,
    normalize_email,
    normalize_phone,
    parse_count,
    parse_datetime,
    parse_money,
    phone_location,
    place_in_name,
    province_of_city,
)
from leadkit.problems import REASON_SEPARATOR, Problem
from leadkit.rules import ColumnSpec, ColumnsRules, RegionsRules, fold_header, short_province


@dataclass
class FileSummary:
    """What happened to one sheet or CSV."""

    file: str
    sheet: str | None
    encoding: str | None
    read: int = 0
    imported: int = 0
    rejected: int = 0
    already: int = 0
    warnings: int = 0
    unmapped: list[str] = field(default_factory=list)  # headers kept as extra columns
    # mapped by similarity or content (not a map or an exact alias): header, column, how, confidence
    matched: list[dict[str, object]] = field(default_factory=list)
    # unmapped headers that look like a template column: header, column, confidence, why
    suspects: list[dict[str, object]] = field(default_factory=list)
    conflicts: list[dict[str, str]] = field(default_factory=list)  # column, winner, loser, why
    map_file: str | None = None  # the saved map used for this sheet
    no_capture_time: int = 0  # imported leads whose 获取时间 was absent or blank (set to now)
    # rows already in the book: source row, the Imports sheet row that recorded it, its lead_id
    already_rows: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Warning_:
    file: str
    row: int
    column: str
    message: str
    code: str = ""  # leadkit.problems.Problem: stable, for scripts (`import --json`)


@dataclass
class ImportResult:
    """New rows for the Leads, Rejects, Imports and Log sheets, and what to tell the user."""

    leads: pd.DataFrame
    rejects: pd.DataFrame
    imports: pd.DataFrame
    log: pd.DataFrame
    files: list[FileSummary]
    warnings: list[Warning_]
    linked: int = 0  # new leads found to be an existing customer, merged into it
    migrated: dict[int, str] = field(
        default_factory=dict
    )  # Imports row -> its legacy key's new key
    # every row found already in the book: row_key, source row, _summary (its FileSummary)
    again: pd.DataFrame = field(default_factory=pd.DataFrame)
    # whether applying it changed the book; a re-import that finds every row there does not,
    # and the book is then not written (nor backed up) at all
    changed: bool = True

    @property
    def totals(self) -> dict[str, int]:
        keys = ("read", "imported", "rejected", "already", "warnings")
        totals = {k: sum(getattr(f, k) for f in self.files) for k in keys}
        totals["linked"] = self.linked
        return totals


def _describe_rows(raw: pd.DataFrame, headers: list[str]) -> pd.Series:
    """Each raw row as `header=value; header=value` (blank cells left out), for the Rejects sheet."""
    joined = pd.Series("", index=raw.index, dtype=object)
    for pos, header in enumerate(headers):
        cell = raw[pos].astype("str")
        piece = (header + "=" + cell).where(raw[pos].notna(), "")
        joined = joined + "\x1f" + piece.astype(object)
    joined = joined.astype("str").str.replace("\x1f+", "; ", regex=True).str.strip("; ")
    return joined.astype(object)


def _map_headers(
    table: RawTable,
    columns: ColumnsRules,
    fixed: dict[str, str | None],
    sheet: str = "leads",
) -> tuple[dict[int, str], HeaderPlan]:
    """Column position -> key (or the original header for unmapped columns), and why."""
    rows = vocabulary(columns, sheet).canon.matching.sample_rows
    # a sample from the top of each column is content evidence enough, and costs nothing
    head = table.frame.iloc[: rows * 5]
    samples = [head[pos].dropna().head(rows).tolist() for pos in range(len(table.headers))]
    plan = match_headers(table.headers, samples, columns, sheet=sheet, fixed=fixed)
    return plan.names(), plan


def looks_like_events(table: RawTable, columns: ColumnsRules) -> bool:
    """Whether a sheet is behaviour events by its columns: a time, an event and a lead ID, phone
    or e-mail to tie it to a lead, and no company (every lead sheet names one, an event log
    does not)."""
    events = set(_map_headers(table, columns, {}, sheet="events")[0].values())
    if not ({"time", "event"} <= events and events & {"lead_id", "phone", "email"}):
        return False
    return "company" not in set(_map_headers(table, columns, {})[0].values())


def plan_headers(
    table: RawTable, columns: ColumnsRules, fixed: dict[str, str | None]
) -> HeaderPlan:
    """What the header matcher makes of one sheet (its headers and a sample of its cells)."""
    return _map_headers(table, columns, fixed)[1]


def _describe_plan(summary: FileSummary, plan: HeaderPlan) -> None:
    summary.unmapped = [m.header for m in plan.unmapped]
    summary.matched = [
        {"header": m.header, "column": m.key, "how": m.how, "confidence": m.confidence}
        for m in plan.inferred
    ]
    summary.suspects = [
        {"header": m.header, "column": m.guess, "confidence": m.guess_confidence, "why": m.why}
        for m in plan.suspects
    ]
    summary.conflicts = [
        {"column": c.key, "winner": c.winner, "loser": c.loser, "why": c.why}
        for c in plan.conflicts
    ]


def _completeness(leads: pd.DataFrame, columns: ColumnsRules) -> pd.Series:
    def filled(groups: list[str]) -> pd.Series:
        ok = pd.Series(True, index=leads.index)
        for group in groups:
            ok &= leads[group.split("|")].notna().any(axis=1)
        return ok

    out = pd.Series("incomplete", index=leads.index, dtype=object)
    out[filled(columns.completeness.basic)] = "basic"
    out[filled(columns.completeness.complete)] = "complete"
    return out


def completeness(leads: pd.DataFrame, columns: ColumnsRules) -> pd.Series:
    """信息完整度 of each lead by the rule in columns.yaml."""
    present = leads.reindex(columns=columns.sheets["leads"].keys)
    return _completeness(present, columns)


def _next_ids(book: Book, count: int, prefix: str, year: int) -> list[str]:
    stem = f"{prefix}{year}"
    existing = book.leads["lead_id"].dropna().astype(str)
    seqs = existing[existing.str.startswith(stem)].str.slice(len(stem))
    seqs = pd.to_numeric(seqs[seqs.str.fullmatch(r"[0-9]+")], errors="coerce")
    start = int(seqs.max()) + 1 if len(seqs) else 1
    return [f"{stem}{n:06d}" for n in range(start, start + count)]


def _normalise_column(
    col: ColumnSpec, values: pd.Series, columns: ColumnsRules, tz: str
) -> tuple[pd.Series, pd.Series | None, pd.Series | None, Problem | None]:
    """One mapped column: (normalised values, usable (phone, e-mail), cells to warn about, why)."""
    present = values.notna()
    if col.type == "phone":
        value, ok = normalize_phone(values)
        return value, ok, present & ~ok, Problem.bad_phone
    if col.type == "email":
        value, ok = normalize_email(values)
        return value, ok, present & ~ok, Problem.bad_email
    if col.type == "datetime":
        value, bad = keep_unparsed(values, *parse_datetime(values, tz))
        return value, None, bad, Problem.unparsed_date
    if col.type in ("money", "int", "number"):
        parser = parse_count if col.type == "int" else parse_money
        value, bad = keep_unparsed(values, *parser(values))
        return value, None, bad, Problem.not_a_number
    if col.type == "enum":
        keys, known = map_enum(values, columns.enum_lookup[col.enum])
        return keys, None, ~known, Problem.unlisted_value
    if col.type == "timeline":
        parsed, ok = parse_datetime(values, tz)
        return parsed.dt.strftime("%Y-%m-%d").where(ok, clean_text(values)), None, None, None
    if col.key == "company":
        return company_display(values), None, None, None
    return clean_text(values).str.replace(r"[ \t]+", " ", regex=True), None, None, None


def _normalise(
    frame: pd.DataFrame, columns: ColumnsRules, regions: RegionsRules, tz: str
) -> tuple[pd.DataFrame, list[tuple[int, str, Problem]], pd.Series, pd.Series]:
    """Normalise mapped columns; returns (frame, warnings, phone ok, e-mail ok).

    Columns are independent, and their normalisers spend most of their time in Arrow kernels that
    release the GIL, so they run on all cores (a third less wall time on two).
    """
    spec = columns.sheets["leads"]
    out = frame.copy()
    warnings: list[tuple[int, str, Problem]] = []
    phone_ok = pd.Series(False, index=frame.index)
    email_ok = pd.Series(False, index=frame.index)
    tasks = [(col, out[col.key]) for col in spec.columns if col.key in out.columns]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        done = list(pool.map(lambda task: _normalise_column(*task, columns, tz), tasks))
    for (col, _), (value, ok, bad, why) in zip(tasks, done, strict=True):
        out[col.key] = value
        if col.type == "phone":
            phone_ok = ok
        elif col.type == "email":
            email_ok = ok
        if bad is not None and why is not None:
            warnings.extend((int(row), col.key, why) for row in bad[bad].index)
    for key in ("province", "city", "region"):
        if key in out.columns:
            out[key] = clean_text(out[key])
    if "province" in out.columns:
        out["province"] = map_distinct(out["province"], short_province)
    if "city" in out.columns:
        # as the phone's place names it: 南宁市 -> 南宁, 塔城地区 -> 塔城
        out["city"] = out["city"].str.replace(r"(?:市|地区|盟)$", "", regex=True)
    return out, warnings, phone_ok, email_ok


def import_tables(
    book: Book,
    tables: list[RawTable],
    columns: ColumnsRules,
    regions: RegionsRules,
    *,
    now: datetime,
    tz: str,
    id_prefix: str,
    source: str | None = None,
    mapping: dict[str, str | None] | None = None,
    saved_maps: list[SavedMap] | None = None,
) -> ImportResult:
    """Map, normalise and validate incoming rows against the book; the book is not changed.

    `mapping` (a `--map`) applies to every sheet; otherwise a saved map whose headers cover a
    sheet's is used for it (`choose_map`), else the header matcher alone decides.
    """
    one_off = {fold_header(h): k for h, k in (mapping or {}).items()}
    spec = columns.sheets["leads"]
    source_key = None
    if source is not None:
        source_key = columns.enum_lookup["source"].get(fold_header(source), source)

    seen = SeenRows(book.sheets["imports"])
    lead_parts: list[pd.DataFrame] = []
    reject_parts: list[pd.DataFrame] = []
    import_parts: list[pd.DataFrame] = []
    again_parts: list[pd.DataFrame] = []
    summaries: list[FileSummary] = []
    warnings: list[Warning_] = []

    for table in tables:
        label = table.file.name if table.sheet is None else f"{table.file.name}[{table.sheet}]"
        saved = None if mapping else choose_map(table.headers, saved_maps or [], source)
        fixed = saved.fixed if saved is not None else one_off
        names, plan = _map_headers(table, columns, fixed)
        frame = table.frame.rename(columns=names)
        mapped = [k for k in names.values() if k in spec.by_key]
        summary = FileSummary(
            file=str(table.file), sheet=table.sheet, encoding=table.encoding, read=len(frame),
            map_file=str(saved.path) if saved is not None else None,
        )  # fmt: skip
        _describe_plan(summary, plan)
        summaries.append(summary)
        if frame.empty:
            continue
        keys = row_keys(table.frame, table.headers)
        legacy = legacy_row_keys(frame, mapped) if seen.legacy else None
        fresh = ~seen.match(keys, legacy, table.file.name)
        summary.already = int((~fresh).sum())
        if summary.already:
            found = keys[~fresh]
            again_parts.append(pd.DataFrame({
                "row_key": found, "row": found.index, "_summary": len(summaries) - 1,
            }))  # fmt: skip
            noted = found[seen.worth_noting(found, table.file.name)]
            import_parts.append(pd.DataFrame({
                "row_key": noted, "time": now, "file": table.file.name,
                "row": noted.index.astype(float), "outcome": "already", "lead_id": np.nan,
            }))  # fmt: skip
        frame, keys = frame[fresh], keys[fresh]
        if frame.empty:
            continue

        frame, row_warnings, phone_ok, email_ok = _normalise(frame, columns, regions, tz)
        for row, column, problem in row_warnings:
            warnings.append(
                Warning_(label, row, column, f"{problem.text}; kept as written", problem)
            )

        reasons = pd.Series("", index=frame.index, dtype=object)
        no_who = frame.reindex(columns=["company", "contact"]).isna().all(axis=1)
        reasons[no_who] = Problem.no_company_or_contact.text
        no_reach = ~(phone_ok | email_ok)
        reasons[no_reach] = reasons[no_reach].where(
            reasons[no_reach] == "", reasons + REASON_SEPARATOR
        )
        reasons[no_reach] = reasons[no_reach] + Problem.no_phone_or_email.text
        rejected = reasons != ""
        summary.rejected = int(rejected.sum())
        summary.imported = int((~rejected).sum())
        rejected_rows = set(frame.index[rejected])
        if "created_at" in frame.columns:
            summary.no_capture_time = int((frame["created_at"].isna() & ~rejected).sum())
        else:
            summary.no_capture_time = summary.imported
        summary.warnings = sum(1 for r, _, _ in row_warnings if r not in rejected_rows)

        if rejected.any():
            raw = table.frame.loc[frame.index[rejected]]
            data = _describe_rows(raw, table.headers)
            reject_parts.append(pd.DataFrame({
                "time": now, "file": table.file.name, "sheet": table.sheet,
                "row": frame.index[rejected].astype(float), "reason": reasons[rejected],
                "data": data,
            }))  # fmt: skip

        good = frame[~rejected].copy()
        good["_file"] = table.file.name
        good["_row"] = good.index
        good["_key"] = keys[~rejected]
        lead_parts.append(good)
        import_parts.append(pd.DataFrame({
            "row_key": keys[rejected], "time": now, "file": table.file.name,
            "row": frame.index[rejected].astype(float), "outcome": "rejected", "lead_id": np.nan,
        }))  # fmt: skip

    leads = pd.concat(lead_parts, ignore_index=True) if lead_parts else pd.DataFrame()
    if not leads.empty:
        conflicts: list[Warning_] = []
        leads = _complete_new_leads(
            leads, book, columns, regions, now, id_prefix, source_key, conflicts
        )
        warnings.extend(conflicts)
        # counted per file once: a Path per warning per file was 0.5 s of a 100k import
        per_file = Counter(w.file for w in conflicts)
        for summary in summaries:
            summary.warnings += per_file[Path(summary.file).name]
        leads = _spill_long_cells(leads, columns, book.lang, summaries, warnings)
        import_parts.append(pd.DataFrame({
            "row_key": leads["_key"], "time": now, "file": leads["_file"],
            "row": leads["_row"].astype(float), "outcome": "imported", "lead_id": leads["lead_id"],
        }))  # fmt: skip
        # One Log row per file; the Imports sheet has each source row -> lead_id.
        per_file = leads.groupby("_file", sort=False)["lead_id"].agg(["first", "last", "size"])
        log = pd.DataFrame({
            "time": now, "command": "import",
            "lead_id": per_file["first"].where(per_file["size"] == 1,
                                               per_file["first"] + "…" + per_file["last"]),
            "column": "*", "old": np.nan,
            "new": [columns.message("imported_from", book.lang, n=n, file=f)
                    for f, n in per_file["size"].items()],
        }).reset_index(drop=True)  # fmt: skip
        leads = leads.drop(columns=["_file", "_row", "_key"])
    else:
        log = pd.DataFrame()
    rejects = pd.concat(reject_parts, ignore_index=True) if reject_parts else pd.DataFrame()
    imports = pd.concat(import_parts, ignore_index=True) if import_parts else pd.DataFrame()
    result = ImportResult(leads, rejects, imports, log, summaries, warnings)
    result.migrated = seen.migrated
    if again_parts:
        result.again = pd.concat(again_parts, ignore_index=True)
    return result


def _complete_new_leads(
    leads: pd.DataFrame,
    book: Book,
    columns: ColumnsRules,
    regions: RegionsRules,
    now: datetime,
    id_prefix: str,
    source_key: str | None,
    conflicts: list[Warning_],
) -> pd.DataFrame:
    """Fill what the sheet did not say: ids, place, region, defaults, completeness.

    Rows whose sheet, company name and phone name different provinces go to `conflicts`."""
    spec = columns.sheets["leads"]
    for key in spec.keys:
        if key not in leads.columns:
            leads[key] = pd.Series(np.nan, index=leads.index, dtype=object)
        elif key in ("province", "city", "region", "source", "status"):
            leads[key] = leads[key].astype(object)

    taken = book.leads["lead_id"].dropna()  # as a Series: a set of 100k ids is a Python loop
    given = leads["lead_id"].astype("str").where(leads["lead_id"].notna())
    usable = given.notna() & ~is_in(given, taken) & ~given.duplicated()
    leads["lead_id"] = given.where(usable)
    need = leads["lead_id"].isna()
    leads.loc[need, "lead_id"] = _next_ids(book, int(need.sum()), id_prefix, now.year)

    from_city = leads["province"].isna() & leads["city"].notna()
    if from_city.any():
        leads.loc[from_city, "province"] = province_of_city(leads.loc[from_city, "city"])
    # Where the lead is, by trust: what the sheet says, then where the company is registered
    # (its name leads with it), then the phone's prefix (a mobile is where its SIM was bought).
    # When they disagree the import says so; the choice is the person's to check.
    sheet_province = leads["province"].copy()
    name_province, name_city = place_in_name(leads["company"])
    phone_province, phone_city = phone_location(leads["phone"])
    by_name = sheet_province.isna() & name_province.notna()
    leads.loc[by_name, "province"] = name_province[by_name]
    leads.loc[by_name & leads["city"].isna(), "city"] = name_city
    no_place = leads["province"].isna() & leads["city"].isna()
    leads.loc[no_place, "province"] = phone_province[no_place]
    leads.loc[no_place, "city"] = phone_city[no_place]
    said = pd.DataFrame({"the sheet": sheet_province, "the company name": name_province,
                         "the phone": phone_province})  # fmt: skip
    cols = [said[c] for c in said.columns]
    disagree = pd.Series(False, index=leads.index)
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            disagree |= a.notna() & b.notna() & (a != b)
    # Worded once per distinct (sheet, name, phone, kept) places, not per row: on generated or
    # messy sheets most rows disagree, and a message composed per row was 1.2 s of a 100k import
    # (a pandas lookup per row, before that, 60 s of a 20k one).
    mask = disagree.to_numpy()
    if mask.any():
        whos = list(said.columns)
        places = said[mask].assign(_kept=leads["province"][mask]).astype(object)
        codes, combos = pd.MultiIndex.from_frame(places.where(places.notna(), None)).factorize()
        messages = []
        for combo in combos:
            sayers: dict[str, list[str]] = {}
            for who, where in zip(whos, combo[: len(whos)], strict=True):
                if where is not None and where == where:  # not None, not NaN
                    sayers.setdefault(str(where), []).append(str(who))
            words = ", ".join(" and ".join(who) + " " + where for where, who in sayers.items())
            messages.append(f"places disagree ({words}); kept {combo[-1]}")
        worded = np.array(messages, dtype=object)[codes]
        rows = zip(leads["_file"].to_numpy(object)[mask], leads["_row"].to_numpy()[mask], worded,
                   strict=True)  # fmt: skip
        conflicts.extend(
            Warning_(str(f), int(r), "province", m, Problem.places_disagree) for f, r, m in rows
        )
    region = leads["province"].map(regions.by_province, na_action="ignore")
    leads["region"] = leads["region"].where(leads["region"].notna(), region)

    if source_key is not None:
        leads["source"] = leads["source"].where(leads["source"].notna(), source_key)
    leads["source"] = leads["source"].fillna("other")
    created = leads["created_at"]
    leads["created_at"] = created.where(created.notna(), pd.Timestamp(now))
    leads["status"] = leads["status"].fillna("new")
    leads["recycle_count"] = pd.to_numeric(leads["recycle_count"], errors="coerce").fillna(0)
    leads["completeness"] = _completeness(leads, columns)

    return leads


def _spill_long_cells(
    leads: pd.DataFrame,
    columns: ColumnsRules,
    lang: str,
    summaries: list[FileSummary],
    warnings: list[Warning_],
) -> pd.DataFrame:
    """Cells past Excel's 32,767 characters go on in continuation columns; each is warned of."""
    spec = columns.sheets["leads"]

    def label(key: str) -> str:
        name = spec.by_key[key].header(lang) if key in spec.by_key else key
        return name + (" (续{n})" if lang == "zh" else " (cont. {n})")

    leads, long = spill_long_cells(leads, label)
    for index, key, chars in long:
        file, row = leads.at[index, "_file"], int(leads.at[index, "_row"])
        warnings.append(Warning_(file, row, key, (
            f"{chars:,} characters, more than an Excel cell holds (32,767); "
            f"the rest is in column(s) {label(key).format(n=2)} …"
        ), Problem.long_cell))  # fmt: skip
        for summary in summaries:
            if Path(summary.file).name == file:
                summary.warnings += 1
                break
    return leads


def import_events(
    book: Book, tables: list[RawTable], columns: ColumnsRules, *, now: datetime, tz: str
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Rows for the Events sheet (behaviour: page views, downloads …) and their provenance.

    Returns (events, imports rows, rows already imported). Rows without a time or an event, or
    with no lead_id, phone or e-mail to tie them to a lead, are skipped and counted as rejects.
    A row already in the book is counted, and gets an `already` Imports row only as
    `SeenRows.worth_noting` says; a legacy key it matched is migrated to its new key in the
    book's Imports sheet.
    """
    seen = SeenRows(book.sheets["imports"])
    parts, provenance, already = [], [], 0
    for table in tables:
        names, _ = _map_headers(table, columns, {}, sheet="events")
        frame = table.frame.rename(columns=names)
        mapped = [k for k in names.values() if k in columns.sheets["events"].by_key]
        keys = row_keys(table.frame, table.headers)
        legacy = legacy_row_keys(frame, mapped) if seen.legacy else None
        fresh = ~seen.match(keys, legacy, table.file.name)
        already += int((~fresh).sum())
        noted = keys[~fresh][seen.worth_noting(keys[~fresh], table.file.name)]
        provenance.append(pd.DataFrame({
            "row_key": noted, "time": now, "file": table.file.name,
            "row": noted.index.astype(float), "outcome": "already", "lead_id": np.nan,
        }))  # fmt: skip
        frame, keys = frame[fresh], keys[fresh]
        events = pd.DataFrame(index=frame.index)
        events["time"] = parse_datetime(frame["time"], tz)[0] if "time" in frame else pd.NaT
        for key, normaliser in (("phone", normalize_phone), ("email", normalize_email)):
            events[key] = normaliser(frame[key])[0] if key in frame else np.nan
        for key in ("lead_id", "event", "detail"):
            events[key] = clean_text(frame[key]) if key in frame else np.nan
        usable = events["time"].notna() & events["event"].notna()
        usable &= events[["lead_id", "phone", "email"]].notna().any(axis=1)
        parts.append(events[usable])
        provenance.append(pd.DataFrame({
            "row_key": keys, "time": now, "file": table.file.name, "row": frame.index.astype(float),
            "outcome": np.where(usable, "imported", "rejected"), "lead_id": np.nan,
        }))  # fmt: skip
    events = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    imports = pd.concat(provenance, ignore_index=True) if provenance else pd.DataFrame()
    _migrate(book, seen.migrated)
    return events, imports, already


def _migrate(book: Book, migrated: dict[int, str]) -> None:
    """Put the new key in place of each legacy key that matched a row of this import."""
    if migrated:
        sheet = book.sheets["imports"]
        sheet.loc[list(migrated), "row_key"] = list(migrated.values())


def apply_import(book: Book, result: ImportResult) -> None:
    """Add an import's rows to the book's sheets."""
    if not result.leads.empty:
        current = book.leads
        extras = [c for c in result.leads.columns if c not in current.columns]
        for extra in extras:
            current[extra] = np.nan
        book.append("leads", result.leads)
    book.append("rejects", result.rejects)
    _migrate(book, result.migrated)
    book.append("imports", result.imports)
    book.append_log(result.log)
    sheet = book.sheets["imports"]
    resolve_already(sheet)
    if result.again.empty:
        return
    where, lead = matched_records(sheet, result.again["row_key"])
    owner = result.again["_summary"].to_numpy()
    leads = lead.astype(object).where(lead.notna(), None).tolist()
    rows = where.astype("Int64").astype(object).where(where.notna(), None).tolist()
    for at, row, lead_id, matched in zip(
        owner.tolist(), result.again["row"].tolist(), leads, rows, strict=True
    ):
        result.files[at].already_rows.append(
            {"row": int(row), "lead_id": lead_id, "matched_row": matched}
        )
