from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadkit.cli.common import Cmd, command, ui
from leadkit.progress import bar

SHOWN = 30


def register(app: typer.Typer) -> None:
    @command(app, "dedupe", book="arg")
    def dedupe(
        cmd: Cmd,
        review: Annotated[
            Path | None,
            typer.Option(
                "--review", help="Write uncertain pairs to this .xlsx, with a decision column."
            ),
        ] = None,
        apply_review: Annotated[
            Path | None,
            typer.Option(
                "--apply-review",
                help="Apply the decisions (合并 merge / 分开 keep apart) of a review file.",
            ),
        ] = None,
        rules_file: Annotated[
            Path | None,
            typer.Option(
                "--rules", help="Another dedupe rule file (e.g. for a customer-list sheet)."
            ),
        ] = None,
    ) -> int:
        """Find the same customer entered twice and merge it; merged rows are kept and marked."""
        ctx = cmd.context()
        dry_run = cmd.dry_run
        from leadkit import pipeline

        with bar(chatty=ui.chatty) as ctx.progress:
            outcome = pipeline.dedupe(
                ctx, review_file=review, apply_review=apply_review, rules_file=rules_file
            )
        result, rules = outcome.result, outcome.rules
        idc = rules.id_column
        records = result.records
        table = Table(
            title=f"{'would merge' if dry_run else 'merged'}: {outcome.merged} record(s) into {len(result.clusters.merges)} survivor(s)",
            title_justify="left",
        )
        table.add_column("survivor")
        table.add_column("merged")
        show = [c for c in ("company", "contact", "phone") if c in records.columns]
        for c in show:
            table.add_column(c)
        for survivor, others in result.clusters.merges[:SHOWN]:
            row = records.iloc[survivor]
            table.add_row(
                str(row[idc]),
                ", ".join(result.ids(others, rules)),
                *(str(row[c]) if row[c] == row[c] else "" for c in show),
            )
        if result.clusters.merges:
            ui.show(table)
        if len(result.clusters.merges) > SHOWN:
            ui.say(f"… and {len(result.clusters.merges) - SHOWN} more (--json lists them all)")
        ui.say(
            f"{outcome.review_pairs} uncertain pair(s)"
            + (
                f" written to {outcome.review_file}"
                if outcome.review_file
                else " (use --review FILE to decide them)"
            )
        )
        skipped = {k: v for k, v in result.blocking.skipped.items() if v}
        if skipped:
            ui.say(
                "over-common key values ignored: "
                + ", ".join(f"{k}: {v}" for k, v in skipped.items())
            )
        if outcome.decisions:
            ui.say(f"applied {outcome.decisions} decision(s) from {apply_review}")
        if dry_run:
            ui.say("dry run: the book was not changed")
        ui.emit_json(
            lambda: {
                "merged": outcome.merged,
                "clusters": [
                    {"survivor": result.ids([s], rules)[0], "merged": result.ids(o, rules)}
                    for s, o in result.clusters.merges
                ],
                "review_pairs": outcome.review_pairs,
                "review_file": str(outcome.review_file) if outcome.review_file else None,
                "candidate_pairs": result.blocking.pairs,
                "skipped_blocks": result.blocking.skipped,
            }
        )
        return 0
