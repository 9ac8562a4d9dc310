"""Reminders built from due items, as plain text, HTML tables and chat Markdown."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the settings models load with leadkit.yaml, before pandas
    pass

# The most a service takes in one message (bytes of UTF-8 for the CN services); longer text is split.
LIMITS = {"wecom": 4000, "dingtalk": 18000, "feishu": 18000, "slack": 3000, "generic": 60000}


@dataclass
class Reminder:
    """One rep's reminder (or the manager's digest)."""

    recipient: str  # rep name, or "manager"
    address: str | None  # e-mail address
    handle: (
        str | None
    )  # the rep's user id on the chat service (DingTalk userId, Feishu open_id, Slack U…)
    title: str
    markdown: str
    html: str
    escalate: bool = False
    mobile: str | None = None  # WeCom and DingTalk robots can also @ a member by mobile


@dataclass
class Delivery:
    channel: str
    recipient: str
    ok: bool
    detail: str = ""


@dataclass
class NotifyReport:
    sent: list[Delivery] = field(default_factory=list)
    skipped: list[Delivery] = field(default_factory=list)  # already sent today
    failed: list[Delivery] = field(default_factory=list)
    unsent: list[Delivery] = field(default_factory=list)  # --dry-run: what would have gone out

    def add(self, deliveries: list[Delivery]) -> None:
        """Deliveries, sorted into sent and failed."""
        for d in deliveries:
            (self.sent if d.ok else self.failed).append(d)


def _html(title: str, rows: list[tuple[Any, ...]]) -> str:
    cells = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if v is None or v != v else str(v))}</td>" for v in row)
        + "</tr>"
        for row in rows
    )
    return f"<html><body><h3>{html.escape(title)}</h3><table border='1' cellpadding='4'>{cells}</table></body></html>"


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _tables(markdown: str, render: Any) -> str:
    """`markdown` with each pipe table replaced by render(header, rows) -> lines."""
    out: list[str] = []
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        rule = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if line.lstrip().startswith("|") and re.fullmatch(
            r"\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*\|?", rule
        ):
            header, rows, i = _cells(line), [], i + 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            out += render(header, rows)
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _width(text: str) -> int:
    # a CJK character takes two columns in a monospaced mail client
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(_width(r[j]) if j < len(r) else 0 for r in [header, *rows]) for j in range(len(header))
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=False)
        ).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _as_list(header: list[str], rows: list[list[str]]) -> list[str]:
    # a robot that shows a pipe table as its pipes gets one line per row: "- 官网: 新增 3 · 成交 1"
    return [f"- {r[0]}: " + " · ".join(f"{h} {v}" for h, v in zip(header[1:], r[1:], strict=False))
            for r in rows]  # fmt: skip


def plain_text(markdown: str) -> str:
    """The text as a person reads it in a text-only mail client: no `###` or `**` marks, tables
    as aligned columns rather than pipes."""
    text = _tables(markdown, _aligned)
    lines = [re.sub(r"^#{1,6}\s*", "", line) for line in text.split("\n")]
    return "\n".join(line.replace("**", "") for line in lines)


def chat_markdown(markdown: str, kind: str) -> str:
    """The text in the markup each robot renders.

    None of the four robots draws a pipe table (WeCom and DingTalk robot markdown, a Feishu card's
    markdown element and Slack mrkdwn have no tables), so tables become one line per row. Slack
    mrkdwn has no headings and bolds with one `*`; a Feishu card's markdown has no `#` headings."""
    if kind == "generic":
        return markdown
    text = _tables(markdown, _as_list)
    if kind == "slack":
        text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
        text = re.sub(r"^#{1,6}\s*(.+)$", r"*\1*", text, flags=re.M)
        text = re.sub(r"^- ", "• ", text, flags=re.M)
    elif kind == "feishu":
        text = re.sub(r"^#{1,6}\s*(.+)$", r"**\1**", text, flags=re.M)
    return text


def split_markdown(text: str, limit: int) -> list[str]:
    """Text in pieces of at most `limit` UTF-8 bytes, cut at line ends (a long line is cut too)."""
    pieces, current = [], ""
    for line in text.split("\n"):
        while len(line.encode("utf-8")) > limit:
            cut = limit
            while len(line[:cut].encode("utf-8")) > limit:
                cut -= 1
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode("utf-8")) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces
