from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from leadkit.cli.common import Cmd, command, ui
from leadkit.cli.import_cmd import header_report, summary_table
from leadkit.errors import UsageError


def register(app: typer.Typer) -> None:
    @command(app, "demo", options=("as_of", "json", "quiet"))
    def demo_(
        cmd: Cmd,
        folder: Annotated[
            Path, typer.Argument(help="A fresh folder for the demo workspace.")
        ] = Path("leadkit-demo"),
    ) -> int:
        """Run the pipeline on the bundled samples in a fresh workspace folder."""
        from leadkit import demo
        from leadkit.steps.followup import kind_label

        if folder.exists() and any(folder.iterdir()):
            if not (folder / demo.MARKER).exists():
                raise UsageError(f"{folder} exists and is not a leadkit demo; pick an empty folder")
            shutil.rmtree(folder)
        outcome = demo.run(folder, as_of=cmd.as_of)
        ui.say(f"demo workspace: {outcome.workspace}")
        labels = outcome.column_labels
        for step, result in outcome.imports:
            ui.say(f"$ {step}")
            ui.show(summary_table(result))
            said, warned = header_report(result, labels, outcome.workspace)
            for line in said + warned:
                ui.say(f"  {line}")
        for step, result in outcome.imports:
            if result.linked:
                ui.say(
                    f"  {step.split()[2]}: {result.linked} lead(s) linked on arrival to a customer already in the book"
                )
        if outcome.events is not None:
            ui.say("$ leadkit import --events inbox/events.csv")
            ui.say(
                f"  {outcome.events.added} behaviour event(s) added ({outcome.events.untied} untied); {outcome.events.skipped} skipped"
            )
        if outcome.dedupe is not None:
            ui.say("$ leadkit dedupe --review dedupe_review.xlsx")
            ui.say(
                f"  merged {outcome.dedupe.merged} more, {outcome.dedupe.review_pairs} uncertain pair(s) for a person in dedupe_review.xlsx"
            )
        if outcome.enrich is not None:
            e = outcome.enrich
            ui.say("$ leadkit enrich --from inbox/companies.csv --review enrich_review.xlsx")
            ui.say(
                f"  matched {sum(e.matched.values())} of {e.looked_up} lead(s) against {e.companies} companies; "
                f"filled {e.cells} blank cell(s) in {e.leads_filled} lead(s); "
                f"{len(e.review)} uncertain match(es) for a person in enrich_review.xlsx"
            )
        if outcome.enrich_review is not None:
            r = outcome.enrich_review
            ui.say(
                "$ leadkit enrich --apply-review enrich_review.xlsx   (a person decided: 采用 / 不采用)"
            )
            ui.say(
                f"  {r.accepted} accepted, {r.rejected} rejected; "
                f"filled {r.cells} blank cell(s) in {r.leads_filled} lead(s)"
            )
        if outcome.training is not None:
            t = outcome.training
            ui.say("$ leadkit train inbox/history.xlsx")
            ui.say(
                f"  learnt from {t.won} won / {t.lost} lost closed leads as they arrived; "
                f"kept {t.estimator.replace('_', ' ')}: ROC AUC {t.auc:.3f} (95% CI {t.auc_low:.3f}-{t.auc_high:.3f}) "
                f"on the {t.test_size} latest closes"
            )
        if outcome.score is not None and outcome.score.scored is not None:
            # the daily part is one `run`: one read, one save, one backup for both steps
            ui.say("$ leadkit run --steps score,assign --by rules")
            ui.say("  score:")
            counts = outcome.score.scored.grade.value_counts()
            ui.say(
                "    "
                + ", ".join(f"{g}: {int(counts.get(g, 0))}" for g in ("S", "A", "B", "C"))
                + " (using the trained model)"
            )
        if outcome.assign is not None:
            given = outcome.assign.assignment.owners.value_counts()
            ui.say("  assign:")
            ui.say(
                "    "
                + ", ".join(f"{rep}: {int(n)}" for rep, n in given.items())
                + f"; {len(outcome.assign.assignment.pool)} left in the pool"
            )
        if outcome.due is not None:
            ui.say("$ leadkit log LEAD --note … --status 需求明确   (one rep calls back)")
            if outcome.feedback is not None:
                ui.say("$ leadkit log LEAD --feedback 价格类 --priority 高 --close-by … --note …")
                ui.say(f"  客户反馈: close out by {outcome.feedback['due']:%Y-%m-%d %H:%M}")
        if outcome.recycle is not None:
            ui.say("$ leadkit recycle --as-of (three days later)")
            ui.say(
                f"  {len(outcome.recycle.recycle)} lead(s) back to the pool (first contact overdue), {len(outcome.recycle.warn)} owner warning(s)"
            )
        if outcome.due is not None:
            items = outcome.due.items
            ui.say("$ leadkit due --as-of (three days later)")
            counts = items.groupby("kind").size()
            ui.say(
                "  "
                + ", ".join(f"{kind_label(k, 'zh')}: {int(v)}" for k, v in counts.items())
                + f" across {items['owner'].nunique()} rep(s)"
            )
        if outcome.plans is not None and len(outcome.plans):
            stages = outcome.plans["stage"].value_counts()
            labels = outcome.status_labels
            ui.say(
                f"  跟进计划 sheet: {len(outcome.plans)} open lead(s) with an owner, each with its stage's plan ("
                + ", ".join(f"{labels.get(k, k)} {int(v)}" for k, v in stages.items())
                + ")"
            )
        if outcome.report is not None and not outcome.report.feedback_trend.empty:
            rep = outcome.report
            trend = rep.feedback_trend
            total = rep.feedback.set_index("feedback_type").loc["total"]
            ui.say("$ leadkit report --period month --out report.xlsx   (three days later)")
            ui.say(
                f"  客户反馈 {rep.period}: {int(total['received'])} received, {int(total['unresolved'])} open; "
                f"反馈趋势 by type over {len(trend)} months ({trend['period'].iloc[0]} to {trend['period'].iloc[-1]}), "
                "charts in report.xlsx"
            )
        if outcome.history_report is not None:
            m = outcome.history_report.metrics
            ui.say(
                "$ leadkit report inbox/history.xlsx --period year --as-of 2025-12-31 --rfm --out report_2025.xlsx"
            )
            ui.say(
                f"  2025: {m['won']} won / {m['lost']} lost (win rate {m['win_rate_of_closed']:.0%}), deals {m['deal_amount_total']:,.0f} 万元, "
                f"median cycle {m['sales_cycle_days_median']:.0f} days; charts in report_2025.xlsx"
            )
            rfm = outcome.history_report.rfm
            if rfm is not None:  # the segments a team calls back first, as report.yaml names them
                named = rfm.labels("zh")
                counts = rfm.segments[rfm.segments["customers"] > 0]
                ui.say(
                    f"  RFM: {len(rfm.customers)} won customers; "
                    + ", ".join(
                        f"{named[k]} {n}"
                        for k, n in zip(counts["segment"], counts["customers"], strict=True)
                    )
                )
        ui.say("$ leadkit check")
        ui.say(
            f"  {len(outcome.problems)} problem(s) in the book (rows kept as written, for a person to fix)"
        )
        ui.show(outcome.overview)
        ui.show(outcome.grade_examples)
        ui.say(f"open {outcome.book} in Excel, WPS or LibreOffice to see the result")
        ui.emit_json(outcome.as_json())
        return 0
