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
            Path | None,
            typer.Option(
                "--from",
                help="The company list (.xlsx or .csv): name, credit code, legal form, capital, …",
            ),
        ] = None,
        review: Annotated[
            Path | None,
            typer.Option(
                "--review",
                help="Write uncertain matches (not filled) to this .xlsx, with a decision column.",
            ),
        ] = None,
        apply_review: Annotated[
            Path | None,
            typer.Option(
                "--apply-review",
                help="Fill the blanks of the matches accepted (采用) in a review file.",
            ),
        ] = None,
    ) -> int:
        """Fill leads' blank company data (工商信息) from a company list; typed cells are kept; --apply-review: fill the uncertain matches a person accepted."""
        ctx = cmd.context()
        dry_run = cmd.dry_run
        from leadkit import pipeline

        with bar(chatty=ui.chatty) as ctx.progress:
            outcome = pipeline.enrich(ctx, from_, review_file=review, apply_review=apply_review)
        if apply_review is not None:
            ui.say(
                f"{outcome.accepted} match(es) accepted, {outcome.rejected} rejected "
                f"in {apply_review.name}"
            )
        else:
            ui.say(
                f"matched {sum(outcome.matched.values())} of {outcome.looked_up} lead(s) "
                f"against {outcome.companies} companies in {from_.name if from_ else ''}"
            )
        table = Table()
        table.add_column("matched by")
        table.add_column("leads", justify="right")
        table.add_column("confidence", justify="right")
        for method, n in outcome.matched.items():
            low, high = outcome.confidence[method]
            shown = f"{low:g}" if low == high else f"{low:g}-{high:g}"
            table.add_row(METHODS.get(method, method), str(n), shown)
        if outcome.matched and apply_review is None:
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
        if apply_review is None:
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
                "list_cached": outcome.list_cached,
                "accepted": outcome.accepted,
                "rejected": outcome.rejected,
            }
        )
        return 0
