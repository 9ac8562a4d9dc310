from __future__ import annotations

import typer
from rich.table import Table

from leadkit.cli.common import Cmd, command, ui


def _pct(value: float) -> str:
    return "" if value != value else f"{value:.0%}"


def register(app: typer.Typer) -> None:
    @command(app, "train", book="arg", options=("as_of", "dry_run", "json", "quiet"))
    def train(cmd: Cmd) -> int:
        """Learn the predictive score from won/lost history, measured on the later closes."""
        ctx = cmd.context()
        dry_run = cmd.dry_run
        from leadkit import pipeline
        from leadkit.steps.train import ESTIMATOR_NAMES

        t = pipeline.train(ctx)
        window = ctx.rules.scoring.predictive.window_days
        ui.say(
            f"learnt from {t.won} won and {t.lost} lost leads, each as it stood on arrival "
            f"(behaviour up to {window:g} days after created_at)"
        )
        ui.say(
            f"trained on the {t.train_size} earliest closes (to {t.split_at}), tested on the "
            f"{t.test_size} later ones: "
            + ", ".join(f"{ESTIMATOR_NAMES[k]} {v:.3f}" for k, v in t.candidates.items())
            + f"; the rules' score alone {t.score_auc:.3f}"
        )
        ui.say(
            f"kept {ESTIMATOR_NAMES[t.estimator]}, calibrated: held-out ROC AUC {t.auc:.3f} "
            f"(95% CI {t.auc_low:.3f}-{t.auc_high:.3f})"
        )
        cal = Table(
            title="calibration on the later closes: predicted vs actual won rate",
            title_justify="left",
        )
        for name in ("predicted probability", "leads", "mean predicted", "won rate"):
            cal.add_column(name, justify="right")
        for _, r in t.calibration.iterrows():
            cal.add_row(
                f"{r['low']:.2f}-{r['high']:.2f}",
                f"{int(r['leads'])}",
                _pct(r["predicted"]),
                _pct(r["won_rate"]),
            )
        ui.show(cal)
        grades = Table(
            title="do the grades mean anything?",
            title_justify="left",
        )
        for name in ("grade", "closed leads", "won", "won rate"):
            grades.add_column(name, justify="left" if name == "grade" else "right")
        for _, r in t.grades.iterrows():
            grades.add_row(
                str(r["grade"]), f"{int(r['leads'])}", f"{int(r['won'])}", _pct(r["won_rate"])
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
                _pct(r["won_rate_above"]),
                _pct(r["won_rate_below"]),
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
                "estimator": t.estimator,
                "auc": t.auc,
                "auc_ci": [t.auc_low, t.auc_high],
                "candidates": t.candidates,
                "score_auc": t.score_auc,
                "train_size": t.train_size,
                "test_size": t.test_size,
                "split_at": t.split_at,
                "calibration": t.calibration.to_dict(orient="records"),
                "grades": t.grades.to_dict(orient="records"),
                "thresholds": t.thresholds.to_dict(orient="records"),
                "warnings": t.warnings,
            }
        )
        return 0
