from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from leadkit.cli.common import Cmd, command, ui
from leadkit.errors import ExitStatus
from leadkit.files import expand_inputs
from leadkit.progress import bar

if TYPE_CHECKING:
    from leadkit.steps.importer import ImportResult


def summary_table(result: ImportResult) -> Table:
    """Read / imported / rejected / already imported / warnings, per file and in total."""
    table = Table(title="import", title_justify="left")
    for name in (
        "file",
        "encoding",
        "read",
        "imported",
        "rejected",
        "already imported",
        "warnings",
    ):
        table.add_column(name, justify="left" if name in ("file", "encoding") else "right")
    for f in result.files:
        label = Path(f.file).name + (f" [{f.sheet}]" if f.sheet else "")
        table.add_row(
            label,
            f.encoding or "xlsx/xls",
            *(str(v) for v in (f.read, f.imported, f.rejected, f.already, f.warnings)),
        )
    t = result.totals
    table.add_row(
        "total",
        "",
        *(str(t[k]) for k in ("read", "imported", "rejected", "already", "warnings")),
        style="bold",
    )
    return table


def header_report(
    result: ImportResult, labels: dict[str, str], root: Path | None = None
) -> tuple[list[str], list[str]]:
    """(lines for a person, warnings) about how each sheet's headers were read."""
    said, warned = [], []
    for f in result.files:
        name = Path(f.file).name + (f" [{f.sheet}]" if f.sheet else "")
        if f.map_file:
            shown = Path(f.map_file)
            if root is not None and shown.is_relative_to(root):
                shown = shown.relative_to(root)
            said.append(f"{name}: headers mapped by the saved map {shown}")
        if f.matched:
            pairs = "; ".join(
                f"{m['header']!r} → {labels.get(str(m['column']), m['column'])} "
                f"({m['column']}, {m['how']} {float(m['confidence']):.2f})"  # type: ignore[arg-type]
                for m in f.matched
            )
            said.append(f"{name}: mapped by similarity or content: {pairs}")
        for c in f.conflicts:
            said.append(
                f"{name}: {c['winner']!r} and {c['loser']!r} both looked like {c['column']}; "
                f"{c['winner']!r} won ({c['why']})"
            )
        if f.unmapped:
            said.append(f"{name}: kept as extra columns: {', '.join(f.unmapped)}")
        for m in f.suspects:
            col = str(m["column"])
            warned.append(
                f"{name}: header {m['header']!r} looks like {labels.get(col, col)} ({col}, "
                f"{float(m['confidence']):.2f}) but was left unmapped"  # type: ignore[arg-type]
                + (f": {m['why']}" if m["why"] else "")
                + "; confirm it with --suggest-map and --map"
            )
        if f.no_capture_time:
            warned.append(
                f"{name}: {f.no_capture_time} lead(s) have no {labels.get('created_at')} "
                "(created_at) in the sheet; the import time stands in for it"
            )
    return said, warned


def already_lines(result: ImportResult, imports_sheet: str, cap: int = 5) -> list[str]:
    """The first `cap` rows found already in the book, each with the row it matched."""
    rows = [(f, r) for f in result.files for r in f.already_rows]
    lines = []
    for f, r in rows[:cap]:
        name = Path(f.file).name + (f" [{f.sheet}]" if f.sheet else "")
        lead = f"lead {r['lead_id']}" if r["lead_id"] else "a rejected row"
        lines.append(
            f"  {name} row {r['row']}: already imported as {lead} ({imports_sheet} row {r['matched_row']})"
        )
    if len(rows) > cap:
        lines.append(f"  … {len(rows) - cap} more rows already imported (--json lists them all)")
    return lines


def result_json(result: ImportResult) -> dict[str, object]:
    from leadkit.problems import reason_codes

    rejects = result.rejects
    return {
        "totals": result.totals,
        "files": [vars(f) for f in result.files],
        "lead_ids": result.leads["lead_id"].tolist() if not result.leads.empty else [],
        "warnings": [vars(w) for w in result.warnings],
        # each rejected row with its 拒绝原因 and their stable codes
        "rejects": []
        if rejects.empty
        else [
            {"file": f, "sheet": s, "row": int(r), "reason": why, "codes": reason_codes(why)}
            for f, s, r, why in zip(
                rejects["file"], rejects["sheet"], rejects["row"], rejects["reason"], strict=True
            )
        ],
    }


def register(app: typer.Typer) -> None:
    @command(app, "import", book="opt")
    def import_(
        cmd: Cmd,
        files: Annotated[
            list[Path],
            typer.Argument(
                help="Sheets to import: .xlsx, .xls or .csv; a glob pattern that matches nothing is skipped."
            ),
        ],
        source: Annotated[
            str | None,
            typer.Option(
                "--source", help="Channel for rows that name none, e.g. 展会 or trade_show."
            ),
        ] = None,
        map_file: Annotated[
            Path | None,
            typer.Option(
                "--map", help="YAML with a one-off header mapping (columns: {header: key})."
            ),
        ] = None,
        sheet: Annotated[
            str | None, typer.Option("--sheet", help="Only this sheet of a workbook.")
        ] = None,
        strict: Annotated[
            bool,
            typer.Option(
                "--strict",
                help="Exit 1 when any row is rejected or a header that looks like a template column was left unmapped.",
            ),
        ] = False,
        suggest: Annotated[
            bool,
            typer.Option(
                "--suggest-map",
                help="Print (stdout) the --map YAML the header matcher would use, to check and save; imports nothing.",
            ),
        ] = False,
        events: Annotated[
            bool,
            typer.Option(
                "--events",
                help="The files hold behaviour events (page views, downloads …) for the Events sheet.",
            ),
        ] = False,
    ) -> int:
        """Append leads from .xlsx/.xls/.csv files to the book, normalised; bad rows kept as rejects.

        Rows already in the book are listed with the row they matched; nothing new: not written.
        """
        files, unmatched = expand_inputs(files)
        # the workspace and its rules are still checked when there is nothing to import
        ctx = cmd.context()
        dry_run = cmd.dry_run
        for pattern in unmatched:
            ui.say(f"{pattern}: no file matches; skipped")
        if not files:
            ui.say("nothing to import: the book was not changed")
            none = ("read", "imported", "rejected", "already", "warnings", "linked")
            ui.emit_json({
                "totals": dict.fromkeys(none, 0), "files": [], "lead_ids": [], "warnings": [],
                "rejects": [],
                "unmatched": list(map(str, unmatched)),
            })  # fmt: skip
            return ExitStatus.OK
        from leadkit import pipeline

        if events:
            with bar(chatty=ui.chatty) as ctx.progress:
                added = pipeline.import_event_files(ctx, files, sheet=sheet)
            ui.say(
                f"{added.added} event(s) added to the Events sheet ({added.untied} untied); {added.already} already there; {added.skipped} skipped"
            )
            ui.emit_json(
                {**vars(added), "untied": added.untied, "unmatched": list(map(str, unmatched))}
            )
            if added.skipped:
                ui.warn(
                    f"{added.skipped} event row(s) skipped (no time, event, or lead_id/phone/e-mail)"
                )
            if added.no_lead:
                ui.warn(
                    f"{added.no_lead} event(s) added match no lead in the book by lead_id, phone or e-mail; they count once such a lead is imported"
                )
            if added.unknown_event:
                ui.warn(
                    f"{added.unknown_event} event(s) added name an event type rules/scoring.yaml does not list (behaviour.events); they score nothing until it does"
                )
            if strict and (added.skipped or added.untied):
                return ExitStatus.DATA_PROBLEMS
            return ExitStatus.OK
        if suggest:
            sys.stdout.write(pipeline.suggest_map(ctx, files, map_file=map_file, sheet=sheet))
            return ExitStatus.OK
        with bar(chatty=ui.chatty) as ctx.progress:
            result = pipeline.import_files(
                ctx, files, source=source, map_file=map_file, sheet=sheet
            )
        ui.show(summary_table(result))
        leads = ctx.rules.columns.sheets["leads"]
        said, header_warnings = header_report(
            result, {c.key: c.header(ctx.lang) for c in leads.columns}, ctx.workspace.root
        )
        for line in said:
            ui.say(line)
        for w in result.warnings[:5]:
            ui.say(f"  {w.file} row {w.row}, {w.column}: {w.message}")
        if len(result.warnings) > 5:
            ui.say(f"  … {len(result.warnings) - 5} more warnings (--json lists them all)")
        for line in already_lines(result, ctx.rules.columns.sheets["imports"].title(ctx.lang)):
            ui.say(line)
        if result.linked:
            ui.say(
                f"{result.linked} new lead(s) were customers already in the book: linked to them (重复于/duplicate_of)"
            )
        ui.emit_json(lambda: {**result_json(result), "unmatched": list(map(str, unmatched))})
        rejected = result.totals["rejected"]
        for message in header_warnings:
            ui.warn(message)
        if dry_run:
            ui.say("dry run: the book was not changed")
        if rejected:
            sheet_name = ctx.rules.columns.sheets["rejects"].title(ctx.lang)
            ui.warn(
                f"{rejected} row(s) rejected; reasons are in sheet {sheet_name!r} of {ctx.book_path}"
            )
            if strict:
                return ExitStatus.DATA_PROBLEMS
        if strict and any(f.suspects for f in result.files):
            return ExitStatus.DATA_PROBLEMS
        return ExitStatus.OK
