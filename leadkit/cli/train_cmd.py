from __future__ import annotations

import typer
from rich.table import Table

from leadkit.cli.common import AsOf, BookArg, BookOpt, DryRun, Json, Quiet, boundary, pick_book, ui
from leadkit.context import context


def register(app: typer.Typer) -> None:
    @app.command("train")
    @boundary
    def train(
        book: BookArg = None,
        book_opt: BookOpt = None,
        as_of: AsOf = None,
        dry_run: DryRun = False,
        json_out: Json = False,
        quiet: Quiet = False,
    ) -> int:
        """Learn the predictive score from won/lost history; report its quality and better cut-offs."""
        ui.configure(quiet=quiet, json_out=json_out)
        ctx = context(pick_book(book, book_opt), as_of=as_of, dry_run=dry_run, read_ahead=True)
        from leadkit import pipeline

        t = pipeline.train(ctx)
        ui.say(
            f"learnt from {t.won} won and {t.lost} lost leads: cross-validated ROC AUC {t.auc:.3f} ± {t.auc_std:.3f}"
        )
        grades = Table(
            title="do the grades mean anything? (closed leads, scored without the model)",
            title_justify="left",
        )
        for name in ("grade", "closed leads", "won", "won rate"):
            grades.add_column(name, justify="left" if name == "grade" else "right")
        for _, r in t.grades.iterrows():
            grades.add_row(
                str(r["grade"]),
                f"{int(r['leads'])}",
                f"{int(r['won'])}",
                "" if r["won_rate"] != r["won_rate"] else f"{r['won_rate']:.0%}",
            )
        ui.show(grades)
        cuts = Table(
            title="grade cut-offs: in use and what the history suggests", title_justify="left"
        )
        for name in ("grade from", "in use", "suggested", "won rate above", "won rate below"):
            cuts.add_column(name, justify="left" if name == "grade from" else "right")
        for _, r in t.thresholds.iterrows():
            cuts.add_row(
                str(r["boundary"]),
                f"{r['in_use']:g}",
                f"{r['suggested']:g}",
                f"{r['won_rate_above']:.0%}",
                f"{r['won_rate_below']:.0%}",
            )
        ui.show(cuts)
        for w in t.warnings:
            ui.warn(w)
        ui.say(
            "dry run: no model saved"
            if dry_run
            else f"model saved in {ctx.workspace.state_dir / 'model.joblib'}; `leadkit score` uses it"
        )
        ui.emit_json(
            {
                "won": t.won,
                "lost": t.lost,
                "auc": t.auc,
                "auc_std": t.auc_std,
                "grades": t.grades.to_dict(orient="records"),
                "thresholds": t.thresholds.to_dict(orient="records"),
                "warnings": t.warnings,
            }
        )
        return 0
