"""`leadkit demo`: the pipeline on the bundled samples, in a fresh workspace."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.table import Table

from leadkit import pipeline
from leadkit.rules.base import packaged_dir
from leadkit.steps.check import Finding
from leadkit.steps.importer import ImportResult
from leadkit.steps.report import write_excel

MARKER = ".leadkit-demo"

# (file, --source, --map) in the order a team would receive them
SAMPLES = [
    ("website_form.csv", "官网表单", None),
    ("trade_show.xlsx", "展会", "trade_show_map.yaml"),
    ("partner_referral.xlsx", "合作伙伴推荐", None),
]


@dataclass
class DemoOutcome:
    workspace: Path
    book: Path
    imports: list[tuple[str, ImportResult]] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    leads: pd.DataFrame | None = None
    source_labels: dict[str, str] = field(default_factory=dict)
    column_labels: dict[str, str] = field(default_factory=dict)  # key -> header shown
    action_labels: dict[str, str] = field(default_factory=dict)
    status_labels: dict[str, str] = field(default_factory=dict)
    dedupe: pipeline.DedupeOutcome | None = None
    enrich: pipeline.EnrichOutcome | None = None
    enrich_review: pipeline.EnrichOutcome | None = None  # enrich --apply-review, one accepted
    events: pipeline.EventsOutcome | None = None
    training: pipeline.Training | None = None
    score: pipeline.ScoreOutcome | None = None
    assign: pipeline.AssignOutcome | None = None
    recycle: pipeline.Neglect | None = None
    due: pipeline.DueOutcome | None = None
    report: pipeline.Report | None = None
    history_report: pipeline.Report | None = None
    feedback: pd.Series | None = None  # the 客户反馈 row `log --feedback` added
    plans: pd.DataFrame | None = None  # the book's 跟进计划 sheet

    @property
    def overview(self) -> Table:
        """Leads by source and completeness: what the team now has in one book."""
        table = Table(title="leads in the book", title_justify="left")
        leads = self.leads if self.leads is not None else pd.DataFrame()
        table.add_column("source")
        levels = ["complete", "basic", "incomplete"]
        for level in levels:
            table.add_column(level, justify="right")
        table.add_column("total", justify="right")
        table.add_column("merged into another", justify="right")
        sources = (
            leads["source"].map(lambda k: self.source_labels.get(k, k)) if not leads.empty else None
        )
        counts = pd.crosstab(sources, leads["completeness"]) if not leads.empty else pd.DataFrame()
        merged = leads["duplicate_of"].notna().groupby(sources).sum() if not leads.empty else {}
        for source, row in counts.iterrows():
            values = [int(row.get(level, 0)) for level in levels]
            table.add_row(
                str(source), *map(str, values), str(sum(values)), str(int(merged.get(source, 0)))
            )
        total_merged = int(leads["duplicate_of"].notna().sum()) if not leads.empty else 0
        table.add_row("total", "", "", "", str(len(leads)), str(total_merged), style="bold")
        return table

    @property
    def grade_examples(self) -> Table:
        """The best-scored lead of each grade, with the parts its score is made of."""
        table = Table(title="the best-scored lead of each grade", title_justify="left")
        for name in ("grade", "lead", "score", "评分明细 (score detail)", "next action"):
            table.add_column(name, justify="right" if name == "score" else "left", no_wrap=True)
        leads = self.leads if self.leads is not None else pd.DataFrame()
        if leads.empty or self.score is None or self.score.scored is None:
            return table
        active = leads[leads["duplicate_of"].isna()].sort_values("score", ascending=False)
        rank = {"S": 0, "A": 1, "B": 2, "C": 3}
        best = active.groupby("grade", sort=False).head(1)
        for _, lead in best.sort_values("grade", key=lambda g: g.map(rank)).iterrows():
            table.add_row(
                str(lead["grade"]), str(lead["lead_id"]), f"{lead['score']:g}",
                str(lead["score_detail"]),
                self.action_labels.get(lead["next_action"], str(lead["next_action"])),
            )  # fmt: skip
        return table

    def as_json(self) -> dict[str, object]:
        return {
            "workspace": str(self.workspace),
            "book": str(self.book),
            "imports": {step: r.totals for step, r in self.imports},
            "linked_on_import": sum(r.linked for _, r in self.imports),
            "dedupe_merged": self.dedupe.merged if self.dedupe else 0,
            "dedupe_review_pairs": self.dedupe.review_pairs if self.dedupe else 0,
            "enrich_matched": self.enrich.matched if self.enrich else {},
            "enrich_filled": self.enrich.cells if self.enrich else 0,
            "enrich_review_filled": self.enrich_review.cells if self.enrich_review else 0,
            "events_added": self.events.added if self.events else 0,
            "model_auc": round(self.training.auc, 3) if self.training else None,
            "grades": {k: int(v) for k, v in self.score.scored.grade.value_counts().items()}
            if self.score
            else {},
            "assigned": {k: int(v) for k, v in self.assign.assignment.owners.value_counts().items()}
            if self.assign
            else {},
            "recycled": len(self.recycle.recycle) if self.recycle else 0,
            "due_items": len(self.due.items) if self.due else 0,
            "feedback": 0 if self.feedback is None else 1,
            "plans": 0 if self.plans is None else len(self.plans),
            "report_2025": self.history_report.metrics if self.history_report else None,
            "rfm_2025": dict(
                zip(
                    rfm.segments["segment"],
                    rfm.segments["customers"].astype(int).tolist(),
                    strict=True,
                )
            )
            if self.history_report and (rfm := self.history_report.rfm) is not None
            else None,
            "problems": len(self.problems),
            "leads": 0 if self.leads is None else len(self.leads),
        }


def run(folder: Path, as_of: str | None = None) -> DemoOutcome:
    """Init a workspace in `folder`, import the samples, check the book."""
    ws = pipeline.init(folder, "zh")
    (folder / MARKER).write_text("made by `leadkit demo`; safe to delete\n", encoding="utf-8")
    samples = packaged_dir("samples")
    inbox = folder / "inbox"
    inbox.mkdir()
    for name in (
        "website_form.csv",
        "trade_show.xlsx",
        "partner_referral.xlsx",
        "trade_show_map.yaml",
        "roster.yaml",
        "events.csv",
        "history.xlsx",
        "companies.csv",
    ):
        shutil.copy2(samples / name, inbox / name)
    ctx = pipeline.context(as_of=as_of, cwd=folder)
    outcome = DemoOutcome(
        workspace=ws.root, book=ctx.book_path,
        source_labels=ctx.rules.columns.enum_labels("source", ctx.lang),
        column_labels={c.key: c.header(ctx.lang) for c in ctx.rules.columns.sheets["leads"].columns},
        action_labels=ctx.rules.columns.enum_labels("next_action", ctx.lang),
        status_labels=ctx.rules.columns.enum_labels("status", ctx.lang),
    )  # fmt: skip
    for name, source, map_name in SAMPLES:
        step = f"leadkit import inbox/{name} --source {source}" + (
            f" --map inbox/{map_name}" if map_name else ""
        )
        result = pipeline.import_files(
            ctx, [inbox / name], source=source, map_file=inbox / map_name if map_name else None
        )
        outcome.imports.append((step, result))
    # the website's behaviour events come in with the leads (import is one step of the pipeline)
    outcome.events = pipeline.import_event_files(ctx, [inbox / "events.csv"])
    outcome.dedupe = pipeline.dedupe(ctx, review_file=folder / "dedupe_review.xlsx")
    # the team's company list fills 工商信息 before scoring, which reads the industry
    outcome.enrich = pipeline.enrich(
        ctx, inbox / "companies.csv", review_file=folder / "enrich_review.xlsx"
    )
    if len(outcome.enrich.review):
        # a person looks the uncertain matches over: the first is the same company, the rest not
        _decide(
            folder / "enrich_review.xlsx", ["采用"] + ["不采用"] * (len(outcome.enrich.review) - 1)
        )
        outcome.enrich_review = pipeline.enrich(
            ctx, None, apply_review=folder / "enrich_review.xlsx"
        )
    outcome.training = pipeline.train(
        pipeline.context(inbox / "history.xlsx", as_of=as_of, cwd=folder)
    )
    # the team's daily part, as cron runs it: `leadkit run` (one read, one save for both steps)
    daily = pipeline.run(ctx, ["score", "assign"], by="rules")
    outcome.score, outcome.assign = daily.steps["score"], daily.steps["assign"]
    # three working days later nobody has called: the neglected leads go back to the pool
    first = outcome.assign.assignment.owners.index[:1]
    if len(first):
        lead_id = str(pipeline.load(ctx).leads.loc[first[0], "lead_id"])
        pipeline.log_activity(
            ctx, lead_id, note="电话沟通：需求明确，下周演示", status="qualified", channel="电话"
        )
        # the customer pushes back on price; the rep promises an answer within two days
        outcome.feedback = pipeline.log_feedback(
            ctx, lead_id, kind="价格类", priority="高", note="竞品报价低15%，希望给出对比",
            channel="电话", close_by=str(pd.Timestamp(ctx.now) + pd.Timedelta(days=2)),
        )  # fmt: skip
    later = pipeline.context(as_of=str(pd.Timestamp(ctx.now) + pd.Timedelta(days=3)), cwd=folder)
    outcome.recycle = pipeline.recycle(later)
    outcome.due = pipeline.due(later)
    # the month's numbers for the manager, and last year's from the history book
    outcome.report = pipeline.report(later, period="month", by=["source", "grade", "owner"])
    write_excel(outcome.report, folder / "report.xlsx", ctx.lang, ctx.rules.columns)
    history = pipeline.context(inbox / "history.xlsx", as_of="2025-12-31T18:00", cwd=folder)
    # with RFM: the year's won customers by segment, for the calls back for repeat business
    outcome.history_report = pipeline.report(
        history, period="year", by=["source", "grade", "owner"], rfm=True
    )
    write_excel(outcome.history_report, folder / "report_2025.xlsx", ctx.lang, ctx.rules.columns)
    outcome.problems = pipeline.check(ctx)
    book = pipeline.load(ctx)
    outcome.leads, outcome.plans = book.leads, book.sheets["plans"]
    return outcome


def _decide(review_file: Path, decisions: list[str]) -> None:
    """Type decisions into a review file's 决定 column, row by row, as a person would."""
    import openpyxl

    wb = openpyxl.load_workbook(review_file)
    for row, decision in enumerate(decisions, start=2):
        wb.active.cell(row, 1, decision)
    wb.save(review_file)
