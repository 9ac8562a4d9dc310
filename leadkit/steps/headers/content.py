"""Evidence for a header: name similarity, and what the column's cells look like."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import cached_property

import pandas as pd
from rapidfuzz import fuzz

from leadkit.rules.base import fold_header
from leadkit.rules.columns import ColumnSpec, MatchScores
from leadkit.steps.headers.vocabulary import _CJK, _LATIN, Vocabulary, _Label, _t2s, pinyin

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
    if vocab.shuffled(h) == key:
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
            if (
                not stops
                and score < scores.covered
                and vocab.near_sound(fold_header(part)) == col.key
            ):
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
