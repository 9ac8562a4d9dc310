"""`columns.yaml` (sheets, columns, enums, header matching, messages) and `regions.yaml`."""

from __future__ import annotations

import copy
import re
import string
from collections.abc import Callable
from functools import cache, cached_property, partial
from typing import Any, Literal

from pydantic import Field, model_validator

from leadkit.rules.base import (
    ColumnType,
    Strict,
    default_rules_dir,
    fold_header,
    load_yaml_model,
    read_yaml,
    short_province,
)


class EnumOption(Strict):
    key: str
    zh: str
    en: str
    aliases: list[str] = Field(default_factory=list)


class ColumnSpec(Strict):
    key: str
    zh: str
    en: str
    type: ColumnType = "text"
    enum: str | None = None
    width: float = 12
    required: bool = False  # `check` reports the column missing from a book
    highlight_overdue: bool = False
    aliases: list[str] = Field(default_factory=list)

    def header(self, lang: str) -> str:
        """The header users see in a book of this language."""
        return self.zh if lang == "zh" else self.en

    @model_validator(mode="after")
    def _enum_named(self) -> ColumnSpec:
        if (self.type == "enum") != (self.enum is not None):
            raise ValueError("a column has `enum:` exactly when its type is enum")
        return self


class SheetSpec(Strict):
    zh: str
    en: str
    columns: list[ColumnSpec]

    def title(self, lang: str) -> str:
        """The sheet name in a book of this language."""
        return self.zh if lang == "zh" else self.en

    @cached_property
    def by_key(self) -> dict[str, ColumnSpec]:
        return {c.key: c for c in self.columns}

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def text_dtypes(self) -> dict[str, str]:
        """fastexcel dtypes for the sheet's text columns, by header in either language.

        Read as text, they need no type guess over every row (a fifth of reading the Leads
        sheet), and a number or date a person typed there is its text (13812345678, not the
        13812345678.0 a column typed as numbers gave).
        """
        return {
            label: "string"
            for c in self.columns
            if c.type in ("text", "enum", "phone", "email", "timeline")
            for label in (c.zh, c.en)
        }


class Completeness(Strict):
    complete: list[str]
    basic: list[str]


class MatchScores(Strict):
    """Confidence of each kind of name evidence (see the comment above `matching:`)."""

    equal: float = Field(gt=0, le=1)  # equal once decorations and fillers are gone
    covered: float = Field(gt=0, le=1)  # every English word is one of the column's words
    contains: float = Field(gt=0, le=1)  # one holds the other and more ("原负责人")
    head: float = Field(gt=0, le=1)  # the header ends with a label ("年营业额"): this …
    head_share: float = Field(ge=0, le=1)  # … plus this times the share of it the label is
    ambiguous_gap: float = Field(ge=0, le=1)  # two columns closer than this: neither


class NameParts(Strict):
    """`matching: name_parts:` headers that hold one part of a person's name."""

    # anywhere in the header, brackets included: "First Name", "Name (Last)"
    words: list[str] = Field(default_factory=list)
    # a sheet with one of these (姓, 姓氏) splits the name: its `given` (名, 名字) is no contact
    family: list[str] = Field(default_factory=list)
    given: list[str] = Field(default_factory=list)


class Questions(Strict):
    """`matching.questions`: a header asking the lead something (您, "How soon …?") whose
    answers are all one of these columns' values (微信, "Within 3 months") is that column."""

    words: list[str] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)


class Matching(Strict):
    """`columns.yaml` `matching:`: how an incoming header that is no exact alias is recognised."""

    map_at: float = Field(gt=0, le=1)  # a header at least this sure maps to its column
    warn_at: float = Field(gt=0, le=1)  # an unmapped header this close to a column is warned about
    sample_rows: int = Field(ge=1)  # cells per column read for content evidence
    content_share: float = Field(gt=0, le=1)  # share of sampled cells that must agree
    content_confidence: float = Field(gt=0, le=1)  # a content-only match: this times the share
    scores: MatchScores
    decorations: list[str] = Field(default_factory=list)  # regexes removed before comparing
    same_words: list[list[str]] = Field(default_factory=list)  # [canonical, variant, …]
    fillers: dict[str, list[str]] = Field(default_factory=dict)  # "*", a type or a key -> words
    stop_words: list[str] = Field(default_factory=list)
    # "*" fillers a column keeps: a "Lead Title" is the record's name, not the lead's job title
    kept: dict[str, list[str]] = Field(default_factory=dict)
    # column key -> the kind of cells that confirm a name that is close but not sure
    # ("Caller Name" over people's names is the contact); phone, e-mail, date and number
    # columns are confirmed by their type
    content_kinds: dict[str, Literal["company", "person"]] = Field(default_factory=dict)
    # of those, the keys whose cells alone map a header no name explains (a column of
    # 有限公司/Ltd names under 采购商 is the company)
    content_alone: list[str] = Field(default_factory=list)
    # words that make a header a moment ("Registered On", 回访时间): a date column no name
    # explains is the capture time, and a date column's label matches with or without one
    time_words: list[str] = Field(default_factory=list)
    # one part of a person's name is not the contact
    name_parts: NameParts = Field(default_factory=lambda: NameParts())
    # enum columns a header maps to by similarity only when its cells are the column's values
    # (a marketplace's 买家等级 of L1…L4 is no lead grade)
    cells_must_fit: list[str] = Field(default_factory=list)
    # columns whose labels before another column's label say the header is about the lead
    # itself (联系人所有者 is the lead's owner, 公司电话 its phone), not about someone else
    about_lead: list[str] = Field(default_factory=list)
    # a form's question to the lead, and the columns its answers alone may map it to
    questions: Questions = Field(default_factory=lambda: Questions())
    # columns a header does not take by its head word and one free word before it (国标行业 is an
    # industry, but a Badge ID is no lead ID and an Event Name no contact)
    head_not: list[str] = Field(default_factory=list)
    # text columns that, like cells_must_fit's enums, map by similarity only when their cells
    # begin with one of these values (所在区域 over 朝阳区 is a district, no 大区)
    cell_values: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sane(self) -> Matching:
        problems = []
        if self.warn_at > self.map_at:
            problems.append("warn_at must not be above map_at")
        for i, pattern in enumerate(self.decorations):
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"decorations[{i}]: not a regular expression ({exc})")
        for i, group in enumerate(self.same_words):
            if len(group) < 2:
                problems.append(f"same_words[{i}]: name a word and at least one variant")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# The messages leadkit writes into the book's Log and its reminders (`messages:` in columns.yaml),
# and the fields each may use.
MESSAGE_FIELDS: dict[str, set[str]] = {
    "imported_from": {"n", "file"},
    "events_added": {"n"},
    "graded_first": {"n"},
    "to_pool": {"reason"},
    "no_follow_up": {"days"},
    "first_contact_overdue": {"since"},
    "recycle_soon": set(),
    "more_items": {"n", "owner"},  # a chat reminder's line for the items it leaves to the next run
}

# say(key, **fields) -> the message in the book's language
Say = Callable[..., str]


class Message(Strict):
    zh: str
    en: str


class ColumnsRules(Strict):
    """`columns.yaml`: the book's sheets, columns, enums and the completeness rule."""

    enums: dict[str, list[EnumOption]]
    sheets: dict[str, SheetSpec]
    completeness: Completeness
    # absent in a workspace made before header matching: the packaged block is used
    matching: Matching | None = None
    # absent in a workspace made before Log messages were in the book's language: packaged ones
    messages: dict[str, Message] | None = None

    @model_validator(mode="before")
    @classmethod
    def _record_already_imported(cls, data: Any) -> Any:
        """A workspace made before rows already imported were recorded (#12) has no outcome and
        no column for them in its Imports sheet: they are added as the packaged file has them."""
        if not isinstance(data, dict):
            return data
        outcome = (data.get("enums") or {}).get("import_outcome")
        if isinstance(outcome, list) and not any(
            isinstance(o, dict) and o.get("key") == "already" for o in outcome
        ):
            outcome.append({"key": "already", "zh": "已在册", "en": "Already Imported"})
        imports = (data.get("sheets") or {}).get("imports")
        columns = imports.get("columns") if isinstance(imports, dict) else None
        if isinstance(columns, list) and not any(
            isinstance(c, dict) and c.get("key") == "matched_row" for c in columns
        ):
            columns.append(
                {"key": "matched_row", "zh": "对应记录行", "en": "Matched Row", "type": "int",
                 "width": 10}
            )  # fmt: skip
        # A workspace made before the 跟进计划 and 客户反馈 sheets (#20) gets them, and their
        # enums, as the packaged file has them.
        sheets, enums = data.get("sheets"), data.get("enums")
        if (
            isinstance(sheets, dict)
            and isinstance(enums, dict)
            and not (
                {"plans", "feedback"} <= sheets.keys()
                and {"feedback_type", "priority"} <= enums.keys()
            )
        ):
            packaged = _packaged_columns_yaml()
            for name in ("plans", "feedback"):
                sheets.setdefault(name, copy.deepcopy(packaged["sheets"][name]))
            for name in ("feedback_type", "priority"):
                enums.setdefault(name, copy.deepcopy(packaged["enums"][name]))
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ColumnsRules:
        problems = []
        for name in ("leads", "activities", "plans", "feedback", "events", "log", "rejects",
                     "imports", "decisions"):  # fmt: skip
            if name not in self.sheets:
                problems.append(f"sheets: the {name!r} sheet is missing")
        for sname, sheet in self.sheets.items():
            for col in sheet.columns:
                if col.enum is not None and col.enum not in self.enums:
                    problems.append(
                        f"sheets.{sname}: column {col.key!r} names unknown enum {col.enum!r}"
                    )
        leads = self.sheets.get("leads")
        if leads is not None:
            for group in (*self.completeness.complete, *self.completeness.basic):
                for key in group.split("|"):
                    if key not in leads.by_key:
                        problems.append(f"completeness: unknown lead column {key!r}")
        if self.matching is not None:
            known = {
                "*",
                *ColumnType.__args__,
                *(c.key for s in self.sheets.values() for c in s.columns),
            }
            for name in self.matching.fillers:
                if name not in known:
                    problems.append(
                        f"matching.fillers: {name!r} is no column key, column type or '*'"
                    )
            for part in ("kept", "content_kinds", "cells_must_fit", "about_lead", "head_not",
                         "cell_values"):  # fmt: skip
                for name in getattr(self.matching, part):
                    if name not in known - {"*", *ColumnType.__args__}:
                        problems.append(f"matching.{part}: {name!r} is no column key")
            for name in self.matching.questions.columns:
                if name not in known - {"*", *ColumnType.__args__}:
                    problems.append(f"matching.questions.columns: {name!r} is no column key")
            for name in self.matching.content_alone:
                if self.matching.content_kinds.get(name) != "company":
                    problems.append(
                        f"matching.content_alone: {name!r} is no company column of content_kinds"
                    )
        for key, msg in (self.messages or {}).items():
            if key not in MESSAGE_FIELDS:
                problems.append(f"messages: {key!r} is no message leadkit writes")
                continue
            for lang in ("zh", "en"):
                try:
                    used = {f for _, f, _, _ in string.Formatter().parse(getattr(msg, lang)) if f}
                except ValueError as exc:
                    problems.append(f"messages.{key}.{lang}: {exc}")
                    continue
                if used - MESSAGE_FIELDS[key]:
                    problems.append(
                        f"messages.{key}.{lang}: unknown field(s) {sorted(used - MESSAGE_FIELDS[key])}"
                        f"; it may use {sorted(MESSAGE_FIELDS[key])}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def enum_lookup(self) -> dict[str, dict[str, str]]:
        """Per enum: folded label/alias/key -> option key."""
        out: dict[str, dict[str, str]] = {}
        for name, options in self.enums.items():
            table: dict[str, str] = {}
            for opt in options:
                for label in (opt.key, opt.zh, opt.en, *opt.aliases):
                    table.setdefault(fold_header(label), opt.key)
            out[name] = table
        return out

    def enum_labels(self, name: str, lang: str) -> dict[str, str]:
        """Option key -> label in the book's language."""
        return {o.key: (o.zh if lang == "zh" else o.en) for o in self.enums[name]}

    def message(self, key: str, lang: str, **fields: object) -> str:
        """A Log message in the book's language (packaged wording where the workspace has none)."""
        msg = (self.messages or {}).get(key) or _packaged_messages()[key]
        return (msg.zh if lang == "zh" else msg.en).format(**fields)

    def sayer(self, lang: str) -> Say:
        """`message` bound to one language, for steps that write Log rows."""
        return partial(self.message, lang=lang)


@cache
def _packaged_columns_yaml() -> dict[str, Any]:
    data, _ = read_yaml(default_rules_dir() / "columns.yaml")
    return data


@cache
def _packaged_messages() -> dict[str, Message]:
    return load_yaml_model(default_rules_dir() / "columns.yaml", ColumnsRules).messages or {}


class RegionsRules(Strict):
    """`regions.yaml`: 大区 by province."""

    regions: dict[str, list[str]]

    @cached_property
    def by_province(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for region, provinces in self.regions.items():
            for p in provinces:
                out[short_province(p)] = region
        return out
