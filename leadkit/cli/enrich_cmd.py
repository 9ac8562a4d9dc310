from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadkit.cli.common import Cmd, command, ui
from leadkit.progress import bar

METHODS = {"credit_code": "credit code", "company_key": "company name", "fuzzy": "similar name"}


def register(app: typer.Typer) -> None:
    @command(app, "enrich", book="arg")
    def enrich(
        cmd: Cmd,
        from_: Annotated[
            Path,
            typer.Option(
                "--from",
                help="The company list (.xlsx or .csv): name, credit code, legal form, capital, …",
            ),
        ],
        review: Annotated[
            Path | None,
            typer.Option("--review", help="Write uncertain matches (not filled) to this .xlsx."),
        ] = None,
    ) -> int:
        """Fill leads' blank company data (工商信息) from a company list; typed cells are kept."""
        ctx = cmd.context(read_ahead=True)
        dry_run = cmd.dry_run
        from leadkit import pipeline

        with bar(chatty=ui.chatty) as ctx.progress:
            outcome = pipeline.enrich(ctx, from_, review_file=review)
        ui.say(
            f"matched {sum(outcome.matched.values())} of {outcome.looked_up} lead(s) "
            f"against {outcome.companies} companies in {from_.name}"
        )
        table = Table()
        table.add_column("matched by")
        table.add_column("leads", justify="right")
        table.add_column("confidence", justify="right")
        for method, n in outcome.matched.items():
            low, high = outcome.confidence[method]
            shown = f"{low:g}" if low == high else f"{low:g}-{high:g}"
            table.add_row(METHODS.get(method, method), str(n), shown)
        if outcome.matched:
            ui.show(table)
        labels = {c.key: c.header(ctx.lang) for c in ctx.rules.columns.sheets["leads"].columns}
        verb = "would fill" if dry_run else "filled"
        ui.say(
            f"{verb} {outcome.cells} blank cell(s) in {outcome.leads_filled} lead(s)"
            + (
                ": " + ", ".join(f"{labels.get(c, c)} {n}" for c, n in outcome.filled.items())
                if outcome.filled
                else ""
            )
        )
        ui.say(
            f"{len(outcome.review)} uncertain match(es)"
            + (
                f" written to {outcome.review_file}"
                if outcome.review_file
                else " (not filled; use --review FILE to see them)"
                if len(outcome.review)
                else ""
            )
        )
        if dry_run:
            ui.say("dry run: the book was not changed")
        ui.emit_json(
            lambda: {
                "companies": outcome.companies,
                "looked_up": outcome.looked_up,
                "matched": outcome.matched,
                "confidence": {m: list(v) for m, v in outcome.confidence.items()},
                "filled": outcome.filled,
                "cells": outcome.cells,
                "leads_filled": outcome.leads_filled,
                "review": len(outcome.review),
                "review_file": str(outcome.review_file) if outcome.review_file else None,
            }
        )
        return 0
