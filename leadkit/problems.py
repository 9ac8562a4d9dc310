"""The one problem vocabulary: a stable code and its human wording for every problem leadkit reports.

`check`'s findings, import's warnings and rejection reasons (拒绝原因), rule and usage errors all
carry one of these codes (in `--json` as `code`), as frictionless's errors do; the wording is
for a person and may be improved, the code is for scripts and never changes. README's "Problem
codes" table is generated from `PROBLEMS` (tests/test_docs.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Problem(StrEnum):
    """A problem's stable code (the value is what `--json` carries)."""

    missing_column = "missing-column"
    empty_id = "empty-id"
    duplicate_id = "duplicate-id"
    unlisted_value = "unlisted-value"
    unparsed_date = "unparsed-date"
    not_a_number = "not-a-number"
    negative_number = "negative-number"
    bad_phone = "bad-phone"
    unnormalised_phone = "unnormalised-phone"
    bad_email = "bad-email"
    unknown_owner = "unknown-owner"
    future_date = "future-date"
    closed_before_created = "closed-before-created"
    closed_but_open = "closed-but-open"
    unknown_lead = "unknown-lead"
    undated_activity = "undated-activity"
    no_company_or_contact = "no-company-or-contact"
    no_phone_or_email = "no-phone-or-email"
    places_disagree = "places-disagree"
    long_cell = "long-cell"
    rule_invalid = "rule-invalid"
    usage = "usage"
    unreadable_file = "unreadable-file"
    book_unusable = "book-unusable"
    book_busy = "book-busy"
    book_unwritable = "book-unwritable"

    @property
    def text(self) -> str:
        """The human wording (English; the problem's own message may say more)."""
        return PROBLEMS[self].text


@dataclass(frozen=True)
class ProblemInfo:
    text: str
    reported_by: str


PROBLEMS: dict[Problem, ProblemInfo] = {
    Problem.missing_column: ProblemInfo("required column is missing", "check"),
    Problem.empty_id: ProblemInfo("lead ID is empty", "check"),
    Problem.duplicate_id: ProblemInfo("lead ID is not unique", "check"),
    Problem.unlisted_value: ProblemInfo("not one of the listed values", "check, import warning"),
    Problem.unparsed_date: ProblemInfo("not a date", "check, import warning"),
    Problem.not_a_number: ProblemInfo("not a number", "check, import warning"),
    Problem.negative_number: ProblemInfo("negative", "check"),
    Problem.bad_phone: ProblemInfo("not a usable phone number", "check, import warning"),
    Problem.unnormalised_phone: ProblemInfo("not in the normalised form", "check"),
    Problem.bad_email: ProblemInfo("not a valid e-mail address", "check, import warning"),
    Problem.unknown_owner: ProblemInfo(
        "not on the team (routing.yaml): no deadline, reminder or recycling", "check"
    ),
    Problem.future_date: ProblemInfo("in the future", "check"),
    Problem.closed_before_created: ProblemInfo("before the lead was created", "check"),
    Problem.closed_but_open: ProblemInfo("set on a lead that is not won or lost", "check"),
    Problem.unknown_lead: ProblemInfo("no lead with this ID", "check"),
    Problem.undated_activity: ProblemInfo("no date: the follow-up does not count", "check"),
    Problem.no_company_or_contact: ProblemInfo("no company and no contact", "import rejection"),
    Problem.no_phone_or_email: ProblemInfo("no usable phone or e-mail", "import rejection"),
    Problem.places_disagree: ProblemInfo(
        "the columns' places disagree; one is kept", "import warning"
    ),
    Problem.long_cell: ProblemInfo(
        "more than an Excel cell holds; the rest is in continuation columns", "import warning"
    ),
    Problem.rule_invalid: ProblemInfo(
        "a rule or settings file is invalid (each problem with its line)", "error (exit 2)"
    ),
    Problem.usage: ProblemInfo("a bad command, option or option value", "error (exit 2)"),
    Problem.unreadable_file: ProblemInfo(
        "an input file is corrupt, undecodable, without a header or past a limit",
        "error (exit 2)",
    ),
    Problem.book_unusable: ProblemInfo("the lead book cannot be used as it is", "error (exit 2)"),
    Problem.book_busy: ProblemInfo("another run or a spreadsheet holds the book", "error (exit 3)"),
    Problem.book_unwritable: ProblemInfo(
        "the book or its backup could not be written", "error (exit 2)"
    ),
}

REASON_SEPARATOR = "; "  # a rejected row's reasons, in one 拒绝原因 cell


def reason_codes(reason: str) -> list[Problem]:
    """The codes of a rejection reason cell ("no company and no contact; no usable …")."""
    by_text = {info.text: code for code, info in PROBLEMS.items()}
    return [by_text[part] for part in reason.split(REASON_SEPARATOR) if part in by_text]


def markdown_table() -> str:
    """README's table of codes (generated; tests/test_docs.py keeps it in step)."""
    lines = ["| code | reported by | means |", "|---|---|---|"]
    lines += [
        f"| `{code.value}` | {info.reported_by} | {info.text} |" for code, info in PROBLEMS.items()
    ]
    return "\n".join(lines)
