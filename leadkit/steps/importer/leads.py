"""Source rows into new leads: identified, completed, long cells spilled, rejected with a reason."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from leadkit.bookio import Book, RawTable
from leadkit.bookio.limits import spill_long_cells
from leadkit.normalize import (
    is_in,
    phone_location,
    place_in_name,
    province_of_city,
)
from leadkit.problems import REASON_SEPARATOR, Problem
from leadkit.rules.base import fold_header
from leadkit.rules.columns import ColumnsRules, RegionsRules
from leadkit.steps.headers import SavedMap, choose_map
from leadkit.steps.identity import (
    SeenRows,
    legacy_row_keys,
    matched_records,
    resolve_already,
    row_keys,
)
from leadkit.steps.importer.plan import (
    FileSummary,
    ImportResult,
    Warning_,
    Warnings,
    _Batch,
    _completeness,
    _describe_plan,
    _describe_rows,
    _map_headers,
    _next_ids,
    _normalise,
)


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
    warnings = Warnings()

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
        conflicts = Warnings()
        leads = _complete_new_leads(
            leads, book, columns, regions, now, id_prefix, source_key, conflicts
        )
        warnings.extend(conflicts)
        # counted per file once: a Path per warning per file was 0.5 s of a 100k import
        per_file = conflicts.per_file()
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
    conflicts: Warnings,
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
        places = said[mask].assign(_kept=leads["province"][mask])
        codes, combos = _factorize_rows(places)
        messages = []
        for combo in combos:
            sayers: dict[str, list[str]] = {}
            for who, where in zip(whos, combo[: len(whos)], strict=True):
                if where is not None and where == where:  # not None, not NaN
                    sayers.setdefault(str(where), []).append(str(who))
            words = ", ".join(" and ".join(who) + " " + where for where, who in sayers.items())
            messages.append(f"places disagree ({words}); kept {combo[-1]}")
        worded = np.array(messages, dtype=object)[codes]
        conflicts.add_batch(_Batch(
            leads["_file"].to_numpy(object)[mask], leads["_row"].to_numpy()[mask], "province",
            worded, Problem.places_disagree,
        ))  # fmt: skip
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


def _factorize_rows(frame: pd.DataFrame) -> tuple[np.ndarray, list[tuple[object, ...]]]:
    """(code per row, the distinct rows as tuples, None for a blank cell) of a frame of a few
    distinct values per column: each column factorised alone and the codes combined (a
    MultiIndex of the rows cost 0.1 s for 78k rows)."""
    combined = np.zeros(len(frame), dtype=np.int64)
    uniques = []
    for name in frame.columns:
        codes, values = pd.factorize(frame[name].to_numpy(dtype=object))
        uniques.append([*values.tolist(), None])  # code -1 (blank) is the last
        combined = combined * (len(values) + 1) + np.where(codes < 0, len(values), codes)
    distinct, at = np.unique(combined, return_inverse=True)
    combos = []
    for code in distinct.tolist():
        cells = []
        for values in reversed(uniques):
            code, i = divmod(code, len(values))
            cells.append(values[i])
        combos.append(tuple(reversed(cells)))
    return at.reshape(-1), combos


def _spill_long_cells(
    leads: pd.DataFrame,
    columns: ColumnsRules,
    lang: str,
    summaries: list[FileSummary],
    warnings: Warnings,
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
