from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from leadkit.cli.common import Cmd, command, ui
from leadkit.progress import bar


def register(app: typer.Typer) -> None:
    @command(app, "score", book="arg")
    def score(
        cmd: Cmd,
        explain: Annotated[
            str | None,
            typer.Option(
                "--explain", help="Print every rule that fired for this lead ID (writes nothing)."
            ),
        ] = None,
    ) -> int:
        """Score every lead on the seeds' 100 points, moved by behaviour and the model; grade S/A/B/C."""
        ctx = cmd.context()
        dry_run = cmd.dry_run
        from leadkit import pipeline

        labels = ctx.rules.columns
        if explain is not None:
            outcome = pipeline.explain_score(ctx, explain)
            sc = outcome.scored
            heading = (
                f"{explain}: merged, not scored"
                if sc is None
                else f"{explain}: score {sc.score.iloc[0]:g}, grade {sc.grade.iloc[0]}"
            )
            table = Table(title=heading, title_justify="left")
            for name in ("part", "rule", "points / result"):
                table.add_column(name)
            names = {
                "grade": labels.enum_labels("grade", ctx.lang),
                "action": labels.enum_labels("next_action", ctx.lang),
            }
            for part, rule, points in outcome.explanation or []:
                table.add_row(part, rule, names.get(part, {}).get(points, points))
            ui.show(table)
            ui.emit_json(
                {
                    "lead_id": explain,
                    "rules": [
                        {"part": p, "rule": r, "result": v} for p, r, v in outcome.explanation or []
                    ],
                }
            )
            return 0
        with bar(chatty=ui.chatty) as ctx.progress:
            outcome = pipeline.score(ctx)
        scored = outcome.scored
        assert scored is not None  # None only for --explain of a merged lead
        how = scored.how
        if outcome.model is not None:
            m = outcome.model["metrics"]
            kind = m.get("estimator", "logistic")
            ui.say(
                f"using the model trained {outcome.model['trained_at'][:10]} ({kind.replace('_', ' ')}, "
                f"held-out ROC AUC {m['auc']:.2f} on {m['won']} won / {m['lost']} lost)"
            )
        else:
            ui.say(
                "no trained model: the score is attributes and behaviour only (run `leadkit train`)"
            )
        if how["base"] == "attributes":
            b = ctx.rules.scoring.score.behaviour
            ui.say(
                f"grades read the 100 attribute points, moved by behaviour (at most +{b.up:g}/-{b.down:g})"
                + (
                    f" and the model (at most +{how['predicted']['up']:g}/-{how['predicted']['down']:g})"
                    if how["predicted"]
                    else ""
                )
            )
        kept, frozen = outcome.count("override"), outcome.count("closed")
        override_header = labels.sheets["leads"].by_key["grade_override"].header(ctx.lang)
        if kept or frozen:
            ui.say(
                f"{kept} lead(s) keep a manager's grade ({override_header}); "
                f"{frozen} closed lead(s) keep the grade they closed with"
            )
        if scored.ignored_overrides:
            ui.warn(
                f"{scored.ignored_overrides} {override_header} "
                "value(s) are not S/A/B/C and were ignored (`leadkit check` lists them)"
            )
        grade_names = labels.enum_labels("grade", ctx.lang)
        action_names = labels.enum_labels("next_action", ctx.lang)
        table = Table(
            title=f"{'would score' if dry_run else 'scored'} {len(scored.score)} lead(s)",
            title_justify="left",
        )
        for name in ("grade", "leads", "mean score", "next action"):
            table.add_column(name, justify="left" if name in ("grade", "next action") else "right")
        counts = scored.grade.value_counts()
        for cut in ctx.rules.scoring.grades:
            g = cut.grade
            mask = scored.grade == g
            action = scored.action[mask].mode()
            table.add_row(
                grade_names.get(str(g), str(g)),
                str(int(counts.get(g, 0))),
                f"{scored.score[mask].mean():.1f}" if mask.any() else "",
                action_names.get(action.iloc[0], action.iloc[0]) if len(action) else "",
            )
        ui.show(table)
        ui.say(f"{outcome.grade_changes} grade change(s) since the last run (in the Log sheet)")
        if dry_run:
            ui.say("dry run: the book was not changed")
        ui.emit_json(
            {
                "scored": len(scored.score),
                "grades": {k: int(v) for k, v in counts.items()},
                "grade_changes": outcome.grade_changes,
                "model": outcome.model["metrics"] if outcome.model else None,
                "how": scored.how,
                "overridden": kept,
                "closed_kept": frozen,
            }
        )
        return 0
