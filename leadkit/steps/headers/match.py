"""Source headers matched to template columns, each with how and how sure, conflicts reported."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from leadkit.rules.base import fold_header
from leadkit.rules.columns import ColumnsRules
from leadkit.steps.headers.content import (
    Content,
    _confirms,
    _fit,
    _foreign_unit,
    content_of,
    name_scores,
)
from leadkit.steps.headers.vocabulary import HOW_RANK, vocabulary


@dataclass
class HeaderMatch:
    """One source column: the key it maps to (or None) and why."""

    position: int
    header: str
    key: str | None = None
    how: str = ""  # map, alias, similar, content; "" when left unmapped
    confidence: float = 0.0
    guess: str | None = None  # for an unmapped header: the column it looks most like
    guess_confidence: float = 0.0
    why: str = ""


@dataclass
class Conflict:
    """Two (or more) source columns that wanted one key: which won, and why."""

    key: str
    winner: str
    loser: str
    why: str


@dataclass
class HeaderPlan:
    """The matcher's answer for one sheet."""

    matches: list[HeaderMatch]
    conflicts: list[Conflict] = field(default_factory=list)
    warn_at: float = 0.6

    def names(self) -> dict[int, str]:
        """Column position -> key, or the original header for a column left extra."""
        return {m.position: m.key or m.header for m in self.matches}

    @property
    def unmapped(self) -> list[HeaderMatch]:
        return [m for m in self.matches if m.key is None]

    @property
    def inferred(self) -> list[HeaderMatch]:
        """Mapped by similarity or content rather than by a map or an exact alias."""
        return [m for m in self.matches if m.how in ("similar", "content")]

    @property
    def suspects(self) -> list[HeaderMatch]:
        """Left unmapped although it looks like one of the template's columns."""
        return [
            m
            for m in self.unmapped
            if m.guess is not None and m.guess_confidence >= self.warn_at and m.why != "mapped"
        ]


# ---------------------------------------------------------------------------------------------
# Matching a sheet


@dataclass
class _Claim:
    position: int
    key: str
    how: str
    confidence: float
    fit: float
    own: bool = False  # the header names the column itself, not one of its aliases

    def rank(self) -> tuple[int, float, float, bool, int]:
        return (HOW_RANK[self.how], round(self.confidence, 3), self.fit, self.own, -self.position)


def _describe(claim: _Claim, other: _Claim) -> str:
    if HOW_RANK[claim.how] > HOW_RANK[other.how]:
        return f"{_how_text(claim.how)} beats {_how_text(other.how)}"
    if round(claim.confidence, 3) > round(other.confidence, 3):
        return f"surer ({claim.confidence:.2f} against {other.confidence:.2f})"
    if claim.fit > other.fit:
        return "its cells suit the column better"
    if claim.own and not other.own:
        return "it names the column itself, the other an alias"
    return "both match as well; the first column wins"


def _how_text(how: str) -> str:
    return {
        "map": "the map",
        "alias": "an exact alias",
        "similar": "similarity",
        "content": "content",
    }[how]


def match_headers(
    headers: Sequence[str],
    samples: Sequence[Sequence[object]] | None,
    columns: ColumnsRules,
    *,
    sheet: str = "leads",
    fixed: dict[str, str | None] | None = None,
) -> HeaderPlan:
    """Map each source header to a column key (or leave it extra), with confidence and reasons.

    `samples[i]` are some cells of column i (content evidence); `fixed` is a map's
    folded header -> key (None: keep the column extra, and do not warn about it).
    """
    vocab = vocabulary(columns, sheet)
    matching = vocab.canon.matching
    spec = vocab.sheet
    fixed = fixed or {}
    email_key, phone_key = vocab.by_type("email"), vocab.by_type("phone")
    matches = [HeaderMatch(i, h) for i, h in enumerate(headers)]
    claims: list[_Claim] = []
    moments: list[_Claim] = []  # capture-time claims of dates no name explains
    created = "created_at" if "created_at" in spec.by_key else None
    canon = vocab.canon
    parts_rule = matching.name_parts
    # 名字 beside 姓氏 is the given name: a sheet that splits the name has no one contact column
    folds = {fold_header(canon.text(h)) for h in headers}
    split = any(fold_header(w) in folds for w in parts_rule.family)
    given = {fold_header(w) for w in parts_rule.given} if split else set()
    person_key = next((k for k, kind in matching.content_kinds.items() if kind == "person"), None)
    for i, header in enumerate(headers):
        content = content_of(samples[i]) if samples is not None else Content()
        fold = fold_header(header)
        if fold in fixed:
            key = fixed[fold]
            if key is None:
                matches[i].why = "mapped"  # kept extra by the map: nothing to warn about
            else:
                claims.append(_Claim(i, key, "map", 1.0, 1.0))
            continue
        scores = name_scores(header, vocab)
        exact = fold in vocab.exact
        if person_key in scores and (
            (
                canon.name_part_rx is not None
                and canon.name_part_rx.search(unicodedata.normalize("NFKC", header).casefold())
            )
            or fold_header(canon.text(header)) in given
        ):
            # "First Name", "Name (Last)", 名字 beside 姓氏: one part of the name, no contact
            scores = {k: v for k, v in scores.items() if k != person_key}
            exact = False
            matches[i].why = "one part of a person's name"
        foreign = {k: u for k in scores if (u := _foreign_unit(header, spec.by_key[k]))}
        if foreign and not exact:
            # left for a person (or a map) to say: mapped, its numbers would be read as 万元
            blocked = max(foreign, key=lambda k: scores[k])
            blocked_score = scores[blocked]
            scores = {k: v for k, v in scores.items() if k not in foreign}
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if ranked:
            matches[i].guess, matches[i].guess_confidence = ranked[0]
        if foreign and not exact and blocked_score >= max(matches[i].guess_confidence, 0.0):
            matches[i].guess, matches[i].guess_confidence = blocked, blocked_score
            matches[i].why = f"in {foreign[blocked]}, not the column's unit"
        if (
            not exact
            and len(ranked) > 1
            and ranked[1][1] >= matching.map_at
            and ranked[0][1] - ranked[1][1] < matching.scores.ambiguous_gap
        ):
            matches[i].why = f"could be {ranked[0][0]} or {ranked[1][0]}"
            continue
        if not exact and content.cells and ranked and ranked[0][1] < matching.map_at:
            # close by name, not sure, and the cells are what that column holds ("Caller Name"
            # over people's names, "Phnoe" over numbers): only when no other column near by
            # name would be confirmed by the same cells
            near = [
                k
                for k, sc in ranked
                if sc >= matching.warn_at
                and _confirms(spec.by_key[k], content, matching.content_kinds)
                >= matching.content_share
            ]
            if near == [ranked[0][0]]:
                key = near[0]
                share = _confirms(spec.by_key[key], content, matching.content_kinds)
                claims.append(_Claim(i, key, "content", matching.map_at, share))
                if key == created:
                    moments.append(claims[-1])
                continue
        strong = content.cells and max(content.email, content.phone) >= matching.content_share
        for key, score in ranked:
            col = spec.by_key[key]
            how = "alias" if exact else "similar"
            if score < matching.warn_at:
                continue
            # the cells decide between phone and e-mail: 联系方式 holding addresses is the e-mail
            if strong and col.type == "phone" and content.email >= matching.content_share:
                key, how, col = email_key or key, "content", spec.by_key[email_key or key]
            elif strong and col.type == "email" and content.phone >= matching.content_share:
                key, how, col = phone_key or key, "content", spec.by_key[phone_key or key]
            if (
                # by any name (等级 over 热/温/冷 is a rating, Mailchimp's REGION over state codes
                # no 大区): a column of values none of which leadkit's column takes is not it
                content.cells
                and (
                    (
                        key in matching.cells_must_fit
                        and col.enum is not None
                        and content.values(columns.enum_lookup[col.enum]) < matching.content_share
                    )
                    or (
                        key in matching.cell_values
                        and content.starting(matching.cell_values[key]) < matching.content_share
                    )
                )
            ):
                matches[i].why = matches[i].why or f"its cells are not {key} values"
                continue
            if (
                how == "similar"
                and col.type == "datetime"
                and content.person >= matching.content_share
            ):
                # "Next Contact" over people's names is a person, no moment
                matches[i].why = matches[i].why or f"its cells are names, not {key} dates"
                continue
            if score >= matching.map_at:
                own = fold_header(canon.for_column(canon.text(header), col)) in vocab.own[key]
                claims.append(_Claim(i, key, how, score, _fit(col, content), own))
        best = ranked[0][1] if ranked else 0.0
        if best >= matching.map_at and not exact and content.cells:
            # sure of another column by name, but that one may go to a surer header: then a
            # column of company names is the company ("Customer Name" beside "Customer Contact")
            for key in matching.content_alone:
                if key in spec.by_key and key not in scores:
                    share = content.company_named
                    if share >= matching.content_share:
                        conf = matching.content_confidence * share
                        claims.append(_Claim(i, key, "content", conf, share))
        if best >= matching.map_at or not content.cells:
            continue
        text = canon.text(header)
        if canon.stop is not None and canon.stop.search(text):
            # 电话/微信 over mobiles: one half is the column, and the cells say it is
            for half in canon.parts(header)[1:]:
                key = vocab.exact.get(fold_header(half))
                if key is None or spec.by_key[key].type not in ("phone", "email"):
                    continue
                share = _confirms(spec.by_key[key], content, matching.content_kinds)
                if share >= matching.content_share:
                    claims.append(
                        _Claim(i, key, "content", matching.content_confidence * share, share)
                    )
                    break
            continue
        by_content: list[tuple[str | None, float]] = [
            (email_key, content.email),
            (phone_key, content.mobile),
        ]
        for key in matching.content_alone:
            # a column of names ending in 有限公司/Ltd that no name explains is the company
            if key in spec.by_key and matching.content_kinds.get(key) == "company":
                by_content.append((key, content.company_named))
        if canon.question_rx is not None and canon.question_rx.search(
            unicodedata.normalize("NFKC", header).casefold()
        ):
            # a form's question no name explains ("您希望我们怎样联系您", "How soon are you
            # looking to buy?"): its answers say which of the columns a form asks about it is
            for key in matching.questions.columns:
                col = spec.by_key.get(key)
                if col is None:
                    continue
                if col.enum is not None:
                    share = content.values(columns.enum_lookup[col.enum])
                elif col.type == "timeline":
                    share = content.horizon  # "Within 3 months", not a date of anything
                else:
                    share = _confirms(col, content, matching.content_kinds)
                by_content.append((key, share))
        dated = [c.key for c in spec.columns if c.type == "datetime"]
        timed = canon.time_rx is not None and canon.time_rx.search(text) is not None
        if (
            created is not None
            and timed
            and all(scores.get(k, 0.0) < matching.warn_at for k in dated if k != created)
        ):
            # the one date column no name explains is when the lead came in (来电时间, Scan Date)
            by_content.append((created, content.date))
        for key, share in by_content:
            if key is not None and share >= matching.content_share:
                conf = matching.content_confidence * share
                claims.append(_Claim(i, key, "content", conf, share))
                if key == created:  # only the capture-time rule above claims it by content
                    moments.append(claims[-1])
                if conf > matches[i].guess_confidence:
                    matches[i].guess, matches[i].guess_confidence = key, conf

    if len(moments) > 1:
        # two moments no name explains (a call's 接听时间 and 挂机时间, Start and Submit Date):
        # which one is the lead's arrival is for a person to say
        for claim in moments:
            claims.remove(claim)
            matches[claim.position].why = "one of several dates no name explains"
    taken: dict[str, _Claim] = {}
    placed: set[int] = set()
    blocked: list[tuple[_Claim, _Claim]] = []
    for claim in sorted(claims, key=_Claim.rank, reverse=True):
        if claim.position in placed:
            continue
        holder = taken.get(claim.key)
        if holder is not None:
            blocked.append((claim, holder))
            continue
        taken[claim.key] = claim
        placed.add(claim.position)
        m = matches[claim.position]
        m.key, m.how, m.confidence = claim.key, claim.how, round(claim.confidence, 3)
    conflicts = []
    for loser, winner in blocked:
        if loser.position in placed:
            continue
        placed.add(loser.position)  # one report per loser, about its strongest claim
        m = matches[loser.position]
        m.guess, m.guess_confidence = loser.key, round(loser.confidence, 3)
        m.why = f"{loser.key} went to {headers[winner.position]!r}"
        conflicts.append(
            Conflict(
                key=loser.key,
                winner=headers[winner.position],
                loser=headers[loser.position],
                why=_describe(winner, loser),
            )
        )
    for m in matches:
        m.guess_confidence = round(m.guess_confidence, 3)
    return HeaderPlan(matches, conflicts, warn_at=matching.warn_at)


def recogniser(
    columns: ColumnsRules, fixed: dict[str, str | None] | None = None, sheet: str = "leads"
) -> Callable[[list[str]], float]:
    """Scores a candidate header row (for the row finder): 1 per cell that would map by name,
    ½ per cell that only looks like a column (a phone log's `Call Time` beside `Notes`)."""
    vocab = vocabulary(columns, sheet)
    fixed = fixed or {}
    matching = vocab.canon.matching

    def count(cells: list[str]) -> float:
        hits = 0.0
        for cell in cells:
            fold = fold_header(cell)
            if fold in fixed or fold in vocab.exact:
                hits += 1
                continue
            named = max(name_scores(cell, vocab).values(), default=0) if len(cell) <= 40 else 0
            hits += 1 if named >= matching.map_at else 0.5 if named >= matching.warn_at else 0
        return hits

    return count
