"""Which column of leadkit's sheet an incoming header means, and how sure that is.

Pure functions over header texts and a sample of each column's cells; the rules (thresholds,
decorations, fillers, stop words) are `columns.yaml`'s `matching:` block. Runs once per sheet
on its headers and at most `sample_rows` cells per column, so its cost does not grow with the
sheet.

A header maps, in this order of precedence: by a map (`--map` or a saved map), by an exact
header or alias (what `fold_header` makes equal), by similarity of its canonical form to a
column's labels, or by its cells alone (mobiles, e-mail addresses, dates). Each source column
takes at most one key and each key at most one source column; a key wanted by two source
columns goes to the stronger claim and the other is reported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz

from leadkit.rules import ColumnSpec, ColumnsRules, Matching, MatchScores, SheetSpec, fold_header

# How a header got its column, strongest first (also the order claims on one key are settled).
HOW_RANK = {"map": 4, "alias": 3, "similar": 2, "content": 1}


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
# Canonical forms


@cache
def _t2s() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


_LATIN = re.compile(r"[a-z0-9#]")
_CJK = re.compile(r"[\u3400-\u9fff]")


@cache
def _readings() -> dict[str, str]:
    """pypinyin's character table as stored: code point (decimal text) -> its readings.

    Read from the file itself: importing pypinyin loads its phrase dictionary too, 1-2 s on this
    machine at every import, and a header's typo needs no more than each character's sound.
    """
    import importlib.util
    import json

    spec = importlib.util.find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        raise RuntimeError("pypinyin is not installed")
    table = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
    raw: dict[str, str] = json.loads(table.read_text(encoding="utf-8"))
    return raw


@cache
def _reading(ch: str) -> str:
    """A character's first (commonest) reading, toneless; worked out only for characters asked
    about (all 41k of the table took 0.4 s of each import and dedupe)."""
    readings = _readings().get(str(ord(ch)))
    if readings is None:
        return ch
    first = unicodedata.normalize("NFKD", readings.split(",")[0])
    return "".join(c for c in first if not unicodedata.combining(c))


@cache
def pinyin(text: str) -> str:
    """Toneless pinyin of a header: a pinyin input method's typo (备住, 电子油箱) sounds the same."""
    return " ".join(_reading(ch) for ch in text)


def _word_pattern(word: str) -> str:
    """A word inside a header: Latin words whole (not `no` inside `phone`), CJK anywhere."""
    escaped = re.escape(word)
    if _LATIN.search(word):
        return rf"(?<![a-z0-9]){escaped}(?![a-z0-9])"
    return escaped


def _words_regex(words: Sequence[str]) -> re.Pattern[str] | None:
    words = sorted({w.casefold() for w in words if w.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(_word_pattern(w) for w in words))


class _Canon:
    """The rules of `matching:` compiled once per ColumnsRules."""

    def __init__(self, matching: Matching) -> None:
        self.matching = matching
        self.decorations = [re.compile(p, re.IGNORECASE) for p in matching.decorations]
        self.same: list[tuple[re.Pattern[str], str]] = []
        for canonical, *variants in matching.same_words:
            rx = _words_regex(variants)
            if rx is not None:
                self.same.append((rx, f" {canonical.casefold()} "))
        self.fillers = {k: v for k, v in matching.fillers.items()}
        self.stop = _words_regex(matching.stop_words)
        self.time_rx = _words_regex(matching.time_words)
        self.name_part_rx = _words_regex(matching.name_parts.words)
        self.question_rx = _words_regex(matching.questions.words)
        self._filler_rx: dict[tuple[str, ...], re.Pattern[str] | None] = {}

    @cache  # noqa: B019 - one _Canon per rules object, kept for the process
    def text(self, header: str) -> str:
        """Lower-case, Simplified, undecorated, same words made one: words spaced."""
        s = unicodedata.normalize("NFKC", str(header)).casefold()
        s = _t2s()(s)
        # a dash between words only separates them ("Person - Job title", "Lead - Labels")
        s = re.sub(r"(?<!\S)[-–—·•]+(?!\S)", " ", re.sub(r"\s+", " ", s))
        for rx in self.decorations:
            s = rx.sub(" ", s)
        for rx, canonical in self.same:
            s = rx.sub(canonical, s)
        return re.sub(r"\s+", " ", s).strip()

    def kept(self, col: ColumnSpec) -> set[str]:
        """Words the column keeps: neither fillers nor stop words for it (预计 of 预计采购)."""
        return {w.casefold() for w in self.matching.kept.get(col.key, [])}

    def filler_rx(self, col: ColumnSpec) -> re.Pattern[str] | None:
        names = ("*", col.type, col.key)
        if names not in self._filler_rx:
            kept = {w.casefold() for w in self.matching.kept.get(col.key, [])}
            words = [w for n in names for w in self.fillers.get(n, []) if w.casefold() not in kept]
            self._filler_rx[names] = _words_regex(words)
        return self._filler_rx[names]

    def for_column(self, text: str, col: ColumnSpec) -> str:
        rx = self.filler_rx(col)
        return re.sub(r"\s+", " ", rx.sub(" ", text)).strip() if rx is not None else text

    def without_star(self, text: str, col: ColumnSpec) -> str:
        """The text without the fillers of every column ("*"), those the column keeps aside."""
        names = ("*",)
        key = ("*", col.key)
        if key not in self._filler_rx:
            kept = {w.casefold() for w in self.matching.kept.get(col.key, [])}
            words = [w for n in names for w in self.fillers.get(n, []) if w.casefold() not in kept]
            self._filler_rx[key] = _words_regex(words)
        rx = self._filler_rx[key]
        return re.sub(r"\s+", " ", rx.sub(" ", text)).strip() if rx is not None else text

    def timeless(self, text: str) -> str:
        """The text without a time word at its end ("Next Follow-up Time" -> next follow-up)."""
        if self.time_rx is None:
            return text
        found = list(self.time_rx.finditer(text))
        if not found or text[found[-1].end() :].strip():
            return text
        return text[: found[-1].start()].strip()

    def parts(self, header: str) -> list[str]:
        """The header whole and, for "公司名称 Company" or "电话/手机", each half on its own."""
        text = self.text(header)
        pieces = [p.strip() for p in re.split(r"[/|]", text) if p.strip()]
        cjk_latin = re.fullmatch(r"([^a-z]*[\u3400-\u9fff][^a-z]*?)\s+([a-z][a-z0-9 .#&'-]*)", text)
        if cjk_latin:
            pieces += [cjk_latin.group(1).strip(), cjk_latin.group(2).strip()]
        # and the other way round: "Remark 备注", "Expected Purchase 预计采购"
        latin_cjk = re.fullmatch(r"([a-z][a-z0-9 .#&'-]*?)\s+([\u3400-\u9fff][^a-z]*)", text)
        if latin_cjk:
            pieces += [latin_cjk.group(1).strip(), latin_cjk.group(2).strip()]
        out = [text] + [p for p in pieces if p != text]
        return list(dict.fromkeys(out))


@dataclass
class _Label:
    column: ColumnSpec
    text: str  # canonical, this column's fillers left out, folded
    words: tuple[str, ...]  # the same, as words


class Vocabulary:
    """A sheet's columns with their labels in canonical form, built once per rules object."""

    def __init__(self, sheet: SheetSpec, canon: _Canon) -> None:
        self.sheet = sheet
        self.canon = canon
        self.exact: dict[str, str] = {}
        self.labels: dict[str, list[_Label]] = {}
        for col in sheet.columns:
            for label in (col.zh, col.en, col.key):
                self.exact.setdefault(fold_header(label), col.key)
        for col in sheet.columns:
            for label in col.aliases:
                self.exact.setdefault(fold_header(label), col.key)
        for col in sheet.columns:
            seen: dict[str, _Label] = {}
            for label in (col.zh, col.en, col.key.replace("_", " "), *col.aliases):
                undecorated = canon.text(label)
                folded_whole = fold_header(undecorated)
                theirs = self.exact.get(folded_whole, col.key)
                if folded_whole != fold_header(label) and theirs != col.key:
                    # "备注(如展会号、推荐人等)" undecorated is 备注, another column's header
                    continue
                text = canon.for_column(undecorated, col)
                folded = fold_header(text)
                if folded and folded not in seen:
                    seen[folded] = _Label(col, folded, tuple(text.split()))
            self.labels[col.key] = list(seen.values())
        # the column's own headers (not an alias): of two equal claims, the one naming it wins
        self.own: dict[str, set[str]] = {
            col.key: {
                fold_header(canon.for_column(canon.text(label), col))
                for label in (col.zh, col.en, col.key.replace("_", " "))
            }
            for col in sheet.columns
        }
        every_label = {lab.text for labels in self.labels.values() for lab in labels}
        self.every_label = every_label
        # every Latin word of any column's labels (a free word before a head word is none)
        self.every_token = frozenset(
            t
            for labels in self.labels.values()
            for lab in labels
            for t in lab.words
            if _LATIN.match(t)
        )
        # a date column's labels with their time word optional (下次跟进时间 ~ 下次回访), unless
        # that leaves another column's label (来电时间 without 时间 is the phone's 来电)
        timeless: dict[str, str | None] = {}
        for col in sheet.columns:
            if col.type not in ("datetime", "timeline"):
                continue
            for lab in self.labels[col.key]:
                form = fold_header(canon.timeless(" ".join(lab.words)))
                if len(form) < 2 or (form != lab.text and form in every_label):
                    continue
                theirs = timeless.get(form, col.key)
                timeless[form] = col.key if theirs == col.key else None
        self.timeless = timeless
        # 联系人所有者, 公司电话: the lead's own person or company, then a column's label
        self.lead_prefixes = {
            lab.text for key in canon.matching.about_lead for lab in self.labels.get(key, [])
        }

    @cached_property
    def sounds(self) -> dict[str, str | None]:
        """A Chinese label's sound, before and after the column's fillers -> its key (None when
        two columns' labels sound alike, so a homophone never decides between them). Built on
        the first header that needs it: a sheet of exact aliases never pays for it."""
        sounds: dict[str, str | None] = {}
        for col in self.sheet.columns:
            forms = {lab.text for lab in self.labels[col.key]}
            for label in (col.zh, *col.aliases):
                whole = fold_header(self.canon.text(label))
                if self.exact.get(whole, col.key) == col.key:
                    forms.add(whole)
            for form in forms:
                if len(form) >= 2 and _CJK.search(form) and not _LATIN.search(form):
                    sound = pinyin(form)
                    theirs = sounds.get(sound, col.key)
                    sounds[sound] = col.key if theirs == col.key else None
        return sounds

    @cached_property
    def tokens(self) -> dict[str, frozenset[str]]:
        """Per key, every Latin word its labels use."""
        return {
            key: frozenset(t for lab in labels for t in lab.words if _LATIN.match(t))
            for key, labels in self.labels.items()
        }

    def by_type(self, kind: str) -> str | None:
        return next((c.key for c in self.sheet.columns if c.type == kind), None)


@cache
def _packaged_matching() -> Matching:
    from leadkit.rules import Rules

    packaged = Rules().columns.matching
    if packaged is None:  # pragma: no cover - the shipped columns.yaml has the block
        raise RuntimeError("leadkit's packaged columns.yaml has no matching: block")
    return packaged


_VOCABS: dict[tuple[int, str], tuple[ColumnsRules, Vocabulary]] = {}


def vocabulary(columns: ColumnsRules, sheet: str = "leads") -> Vocabulary:
    """The compiled vocabulary of one of leadkit's sheets (cached per rules object)."""
    cached = _VOCABS.get((id(columns), sheet))
    if cached is not None and cached[0] is columns:
        return cached[1]
    matching = columns.matching or _packaged_matching()
    vocab = Vocabulary(columns.sheets[sheet], _Canon(matching))
    _VOCABS[(id(columns), sheet)] = (columns, vocab)
    return vocab


# ---------------------------------------------------------------------------------------------
# Name similarity


def _similarity(text: str, label: _Label, tokens: frozenset[str], scores: MatchScores) -> float:
    """How much a header (canonical, this column's fillers gone) reads like one label."""
    h = fold_header(text)
    if not h:
        return 0.0
    if h == label.text:
        return scores.equal
    score = fuzz.ratio(h, label.text) / 100
    if h[0] != label.text[0]:
        # a typo rarely changes the first letter; "country" and "account" share only letters
        score *= 0.8
    words = tuple(text.split())
    latin = all(_LATIN.match(w) for w in words)
    if latin and len(label.words) < len(words) and words[-len(label.words) :] == label.words:
        # the head word is a label: "Scan Date" is a date, "Lead Owner" an owner
        score = max(score, scores.head + scores.head_share * len(label.words) / len(words))
    elif not latin and len(label.text) >= 2 and h.endswith(label.text):
        # 年营业额 is a 营业额, 潜在客户来源 a 来源: surer the more of the header the label is
        score = max(score, scores.head + scores.head_share * len(label.text) / len(h))
    elif latin and (_holds(words, label.words) or _holds(label.words, words)):
        score = min(score, scores.contains) if score > scores.contains else scores.contains
    elif not latin and len(label.text) >= 2 and (label.text in h or h in label.text):
        # one holds the other and something more ("联系人员", "需求类型"): looks like, no more
        score = min(score, scores.contains) if score > scores.contains else scores.contains
    covered = latin and len(words) > 1
    if covered and all(
        # every English word is one of the column's words (allowing a typo): "Mobile Phone"
        w in tokens or any(fuzz.ratio(w, t) >= 85 for t in tokens if len(t) > 3)
        for w in words
    ):
        score = max(score, scores.covered)
    return score


def _cjk_same(text: str, key: str, vocab: Vocabulary) -> bool:
    """A Chinese header that sounds like one of the column's labels (备住 is 备注, 公司明称 公司名称),
    or is two of its words in a row (备注说明; 员工规模: 员工 as in 员工数, then 规模)."""
    h = fold_header(text)
    if len(h) < 2 or not _CJK.search(h) or _LATIN.search(h):
        return False
    if vocab.sounds.get(pinyin(h)) == key:
        return True
    labels = {lab.text for lab in vocab.labels[key]}
    for i in range(2, len(h) - 1):
        head, tail = h[:i], h[i:]
        if tail in labels and (head in labels or any(t.startswith(head) for t in labels)):
            return True
    return False


def _about_lead(text: str, col: ColumnSpec, vocab: Vocabulary) -> bool:
    """The header is the lead's own person or company, then one of the column's labels
    (联系人所有者: the contact's owner is the lead's owner); never for those columns themselves
    (Account Name is no contact)."""
    if col.key in vocab.canon.matching.about_lead or not vocab.lead_prefixes:
        return False
    h = fold_header(text)
    for lab in vocab.labels[col.key]:
        n = len(lab.text)
        if n >= 2 and len(h) > n and h.endswith(lab.text) and h[:-n] in vocab.lead_prefixes:
            return True
    return False


def _free_head(text: str, col: ColumnSpec, vocab: Vocabulary) -> bool:
    """The header is one of the column's labels with a free word before it: 国标行业, 推广渠道,
    项目需求, "Internal Notes", "Our Owner". Free: short, no label or alias of any column, and
    no word the column keeps aside (a "Lead Title" is the lead's name). Never for `head_not`'s
    columns (a Badge ID is no lead ID, an Event Name no contact)."""
    matching = vocab.canon.matching
    if col.key in matching.head_not:
        return False
    words = tuple(text.split())
    latin = all(_LATIN.match(w) for w in words)
    kept = {w.casefold() for w in matching.kept.get(col.key, [])}
    h = fold_header(text)
    for lab in vocab.labels[col.key]:
        if latin and _LATIN.match(lab.text):
            n = len(lab.words)
            if not 0 < len(words) - n <= 2 or words[-n:] != lab.words:
                continue
            modifier = words[:-n]
            if any(w in vocab.every_token or w in kept for w in modifier):
                continue
            free = " ".join(modifier)
        elif not latin and _CJK.search(lab.text) and not _LATIN.search(h):
            n = len(lab.text)
            if n < 2 or not 2 <= len(h) - n <= 3 or not h.endswith(lab.text):
                continue
            free = h[:-n]
        else:
            continue
        folded = fold_header(free)
        if folded and folded not in vocab.exact and folded not in vocab.every_label:
            return True
    return False


def _holds(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """`part` appears in `words` as whole words, in order ("stage" does not hold "tag")."""
    n = len(part)
    return 0 < n < len(words) and any(words[i : i + n] == part for i in range(len(words) - n + 1))


def name_scores(header: str, vocab: Vocabulary) -> dict[str, float]:
    """Per key, how sure it is that `header` means that column by its name alone (0…1)."""
    fold = fold_header(header)
    if fold in vocab.exact:
        return {vocab.exact[fold]: 1.0}
    canon = vocab.canon
    scores = canon.matching.scores
    out: dict[str, float] = {}
    per_part: list[dict[str, float]] = []
    # a stop word anywhere is about the whole header: "Country/Region" is a country
    whole_stops = set(canon.stop.findall(canon.text(header))) if canon.stop is not None else set()
    for part in canon.parts(header):
        best: dict[str, float] = {}
        undecorated = vocab.exact.get(fold_header(part))
        if undecorated is not None and all(w in part for w in whole_stops):
            # "3、客户名称", "邮箱(选填)": an alias once undecorated
            best[undecorated] = scores.equal
        for col in vocab.sheet.columns:
            text = canon.for_column(part, col)
            if not text:
                # 买家姓名: nothing but fillers for the column, yet without the fillers of every
                # column ("*": 买家) it is one of the column's exact aliases (姓名)
                bare = vocab.exact.get(fold_header(canon.without_star(part, col)))
                if bare == col.key and not whole_stops and scores.covered > best.get(col.key, 0):
                    best[col.key] = scores.covered
                continue
            stops = set(canon.stop.findall(text)) if canon.stop is not None else set()
            stops |= {w for w in whole_stops if w in canon.for_column(canon.text(header), col)}
            stops -= canon.kept(col)
            score = max(
                (
                    _similarity(text, lab, vocab.tokens[col.key], scores)
                    for lab in vocab.labels[col.key]
                    # "公司地址", "成立日期": about something the label is not
                    if not any(w not in lab.text for w in stops)
                ),
                default=0.0,
            )
            if not stops and score < scores.covered and _cjk_same(text, col.key, vocab):
                score = scores.covered
            if not stops and score < scores.covered and _about_lead(text, col, vocab):
                score = scores.covered
            if not stops and score < scores.covered and _free_head(text, col, vocab):
                score = scores.covered
            if not stops and col.type in ("datetime", "timeline") and score < scores.covered:
                # "Next Follow-up Time" is sure; 下次回访 or a bare "Closed" (yes/no?) only
                # near, for date cells to confirm
                bare = canon.timeless(text)
                if vocab.timeless.get(fold_header(bare)) == col.key:
                    score = max(score, scores.covered if bare != text else scores.contains)
            if score > best.get(col.key, 0.0):
                best[col.key] = score
        per_part.append(best)
        for key, score in best.items():
            out[key] = max(out.get(key, 0.0), score)
    # "姓名/职位": halves that each surely mean another column are one column of two things
    sure = {max(p, key=p.get) for p in per_part[1:] if p and max(p.values()) >= scores.equal}
    if len(sure) > 1:
        return {k: min(v, scores.contains) for k, v in out.items()}
    return out


# ---------------------------------------------------------------------------------------------
# Content evidence

_PHONE_CHARS = re.compile(r"[\s\-()（）.]")
_MOBILE = re.compile(r"^(?:\+?86|0086)?1[3-9]\d{9}$")
_OTHER_PHONE = re.compile(r"^(?:0\d{9,11}|\+\d{8,15}|400\d{7}|800\d{7})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_DATE = re.compile(
    r"^\d{4}\s*[-/.年]\s*\d{1,2}(?:\s*[-/.月]\s*\d{1,2}\s*日?)?"
    r"(?:[ t]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$",
    re.IGNORECASE,
)


_COMPANY = re.compile(
    r"(?:有限公司|有限责任公司|股份公司|公司|集团|厂|研究院|研究所|医院|大学|学院|中心|商行|事务所)"
    r"|\b(?:ltd|limited|inc|co|corp|corporation|company|gmbh|llc|plc|ab|ag|sa|pvt|group|"
    r"systems|technologies|trading|holdings)\b\.?",
    re.IGNORECASE,
)
_CJK_NAME = re.compile(
    r"^[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    r"任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
    r"莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪"
    r"梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简"
    r"车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄"
    r"丛仲虞敖巩明佘池查麻苑迟邝][\u4e00-\u9fff]{1,2}(?:先生|女士|小姐|总|经理|老师)?$"
)
# a whole name: a first name alone ("Jun" under First Name) is only a part of the contact
_LATIN_NAME = re.compile(
    r"^(?:(?i:mr|ms|mrs|miss|dr)\.?\s+[A-Z][a-z'-]+"
    r"|[A-Z][a-z'-]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'-]+){1,2})$"
)
_NUMBER = re.compile(
    r"^[<>≥≤约~]?\s*\d[\d,.]*\s*(?:[-~至到]\s*\d[\d,.]*)?\s*"
    r"(?:[wk万千亿]|万元|亿元|元|人|usd|rmb|cny|\$)?\s*(?:usd|rmb|cny|元)?\s*(?:以上|以下|左右)?$",
    re.IGNORECASE,
)
_TIMELINE = re.compile(
    r"(?:\d+\s*(?:个)?月内|半年|一年|年内|年底|本月|下月|本季度|下季度|季度|\bq[1-4]\b|"
    r"\d+\s*(?:-\s*\d+\s*)?(?:months?|weeks?|days?|years?)\b|\d{4}\s*年\s*\d{1,2}\s*月)",
    re.IGNORECASE,
)


class Content:
    """What a sample of one column's cells look like: shares of the non-blank cells.

    Each share is worked out when first asked for: the kinds that only confirm a close name
    (people, companies, numbers, timelines) are never computed for a sheet of exact aliases.
    """

    def __init__(self, texts: Sequence[str] = ()) -> None:
        self.texts = list(texts)
        self.cells = len(self.texts)

    def _share(self, test: Callable[[str], object]) -> float:
        return sum(1 for t in self.texts if test(t)) / self.cells if self.cells else 0.0

    @cached_property
    def _digits(self) -> list[str]:
        return [_PHONE_CHARS.sub("", t) for t in self.texts]

    @cached_property
    def mobile(self) -> float:
        return sum(1 for d in self._digits if _MOBILE.match(d)) / self.cells if self.cells else 0.0

    @cached_property
    def phone(self) -> float:
        """Mobiles, landlines, international numbers."""
        ok = sum(1 for d in self._digits if _MOBILE.match(d) or _OTHER_PHONE.match(d))
        return ok / self.cells if self.cells else 0.0

    @cached_property
    def email(self) -> float:
        return self._share(_EMAIL.match)

    @cached_property
    def date(self) -> float:
        return self._share(_DATE.match)

    @cached_property
    def company(self) -> float:
        """Names ending like a company's (有限公司, Ltd, Inc)."""
        return self._share(_is_company)

    @cached_property
    def company_named(self) -> float:
        """Names that end like a company's: what content alone may map (not 智能工厂-表单)."""
        return self._share(_ends_company)

    @cached_property
    def person(self) -> float:
        """A person's name: a common surname and one or two characters, or "Tom Baker"."""
        return self._share(_is_person)

    @cached_property
    def number(self) -> float:
        """A count or an amount, with a unit or a range ("10-30万", "100-499人")."""
        return self._share(_NUMBER.match)

    def values(self, lookup: dict[str, str]) -> float:
        """The share of cells that are one of an enum's values (a label, key or alias)."""
        return self._share(
            lambda t: (
                fold_header(t) in lookup or fold_header(re.sub(r"[(（\[【].*$", "", t)) in lookup
            )
        )

    def starting(self, values: Sequence[str]) -> float:
        """The share of cells that begin with one of `values` (华东区 with 华东), case aside."""
        starts = tuple(unicodedata.normalize("NFKC", v).casefold() for v in values)
        return self._share(lambda t: unicodedata.normalize("NFKC", t).casefold().startswith(starts))

    @cached_property
    def horizon(self) -> float:
        """A time to come in words ("3个月内", "Q3", "within 6 months"), no bare date."""
        return self._share(_TIMELINE.search)

    @cached_property
    def timeline(self) -> float:
        """A date or a time to come ("3个月内", "Q3 2024", "3-6 months")."""
        return self._share(lambda t: _DATE.match(t) or _TIMELINE.search(t))


def _is_company(text: str) -> bool:
    return len(text) <= 80 and _COMPANY.search(text) is not None


def _ends_company(text: str) -> bool:
    if len(text) > 80:
        return False
    end = len(text.rstrip(" .)）"))
    return any(m.end() >= end for m in _COMPANY.finditer(text))


def _is_person(text: str) -> bool:
    if len(text) > 30 or _is_company(text):
        return False
    if _CJK.search(text):
        # Traditional names (陳家豪) by their Simplified surname
        return len(text) <= 6 and _CJK_NAME.match(_t2s()(text)) is not None
    return _LATIN_NAME.match(text) is not None


def content_of(cells: Sequence[object]) -> Content:
    """Shares of mobiles, phone numbers, e-mail addresses, dates … among non-blank cells."""
    return Content(
        [str(c).strip() for c in cells if c is not None and not pd.isna(c) and str(c).strip()]
    )


_BRACKETED = re.compile(r"[(（\[【]\s*([^)）\]】]*?)\s*[)）\]】]|/\s*([^/]+?)\s*$")
_CURRENCY = r"(?:[¥￥$€]|人民币|rmb|cny|usd|us\$|美元|美金|eur|欧元|hkd|港币|港元|twd|ntd|新台币|台币|jpy|日元|元)"
_SCALE = r"(?:[千万亿]|百万|千万|k|m|mn|million|thousand|10k)"
_MONEY_UNIT = re.compile(
    rf"^(?:{_CURRENCY}{_SCALE}?{_CURRENCY}?|{_SCALE}{_CURRENCY}?)$",
    re.IGNORECASE,
)


def unit_of(header: str) -> str | None:
    """A money unit written in a header ("(亿元)", "(USD)", "/万"), folded; None when none is."""
    text = unicodedata.normalize("NFKC", str(header)).casefold()
    for m in _BRACKETED.finditer(text):
        unit = re.sub(r"\s+", "", m.group(1) or m.group(2) or "")
        if unit and _MONEY_UNIT.match(unit):
            return unit
    return None


def _foreign_unit(header: str, col: ColumnSpec) -> str | None:
    """The header's money unit when it is not the column's own (its zh/en headers say 万元):
    a bare 40000 under "Budget (USD)" would be read as 40000万元."""
    if col.type != "money":
        return None
    unit = unit_of(header)
    own = {
        unit_of(col.zh),
        unit_of(col.en),
        "万",
        "万元",
        "万人民币",
        "10k",
        "10kcny",
        "10krmb",
        "w",
    }
    return unit if unit is not None and unit not in own else None


def _confirms(col: ColumnSpec, content: Content, kinds: dict[str, str]) -> float:
    """The share of cells that look like what the column holds (0 when no kind of cell says)."""
    kind = kinds.get(col.key)
    if kind == "company":
        return content.company
    if kind == "person":
        return content.person
    if col.type == "phone":
        return content.phone
    if col.type == "email":
        return content.email
    if col.type == "datetime":
        return content.date
    if col.type == "timeline":
        return content.timeline
    if col.type in ("int", "money"):
        return content.number
    return 0.0


def _fit(col: ColumnSpec, content: Content) -> float:
    """How well the cells suit a column's type (a tie-break between two claims on one key)."""
    if col.type == "phone":
        return content.mobile + content.phone
    if col.type == "email":
        return content.email
    if col.type in ("datetime", "timeline"):
        return content.date
    return 0.0


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
                how == "similar"
                and content.cells
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
        created = "created_at" if "created_at" in spec.by_key else None
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
                if conf > matches[i].guess_confidence:
                    matches[i].guess, matches[i].guess_confidence = key, conf

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


# ---------------------------------------------------------------------------------------------
# Saved maps


@dataclass
class SavedMap:
    """A map a person confirmed (`rules/maps/NAME.yaml`): header -> key, or None to keep extra."""

    path: Path
    columns: dict[str, str | None]

    @cached_property
    def fixed(self) -> dict[str, str | None]:
        return {fold_header(h): k for h, k in self.columns.items()}


def choose_map(
    headers: Sequence[str], maps: Sequence[SavedMap], source: str | None = None
) -> SavedMap | None:
    """The saved map for a sheet: the one named after `--source`, else one naming all its headers.

    Among maps that name every header of the sheet, the one with the fewest other headers wins
    (then the first by file name), so a map made for this very header set beats a broader one.
    """
    if source is not None:
        named = [m for m in maps if fold_header(m.path.stem) == fold_header(source)]
        if named:
            return named[0]
    folded = {fold_header(h) for h in headers}
    covering = [m for m in maps if folded <= set(m.fixed)]
    if not covering:
        return None
    return min(covering, key=lambda m: (len(m.fixed) - len(folded), str(m.path)))


def suggested_map(plans: Sequence[tuple[str, HeaderPlan]], columns: ColumnsRules) -> str:
    """A `--map` YAML of the matcher's choices, every header named, with comments to edit by."""
    spec = columns.sheets["leads"]
    lines = [
        "# leadkit import map: incoming header -> column key (~ keeps the column as an extra one).",
        "# Check each line, then pass it with --map FILE, or save it as rules/maps/NAME.yaml: a",
        "# saved map is used by itself for every sheet whose headers it names (or, named after a",
        "# channel, for `--source NAME`).",
        "columns:",
    ]
    seen: set[str] = set()
    for label, plan in plans:
        lines.append(f"  # {label}")
        for m in plan.matches:
            fold = fold_header(m.header)
            if fold in seen:
                continue
            seen.add(fold)
            header = _yaml_key(m.header)
            if m.key is not None:
                col = spec.by_key.get(m.key)
                shown = f"{col.zh} / {col.en}" if col is not None else m.key
                lines.append(
                    f"  {header}: {m.key}  # {shown}; {_how_text(m.how)}, {m.confidence:.2f}"
                )
            else:
                hint = ""
                if m.guess is not None and m.guess_confidence >= plan.warn_at:
                    hint = f"; looks like {m.guess} ({m.guess_confidence:.2f})"
                    if m.why:
                        hint += f", {m.why}"
                lines.append(f"  {header}: ~  # kept as an extra column{hint}")
    return "\n".join(lines) + "\n"


def _yaml_key(header: str) -> str:
    import json

    # JSON strings are YAML strings: safe for any header ("Phone #", "1、姓名", "a: b")
    return json.dumps(header, ensure_ascii=False)
