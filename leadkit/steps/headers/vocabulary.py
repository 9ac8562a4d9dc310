"""What each template column is called: aliases, folded forms and readings, per language."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from leadkit.rules.base import fold_header
from leadkit.rules.columns import ColumnSpec, ColumnsRules, Matching, SheetSpec

# How a header got its column, strongest first (also the order claims on one key are settled).
HOW_RANK = {"map": 4, "alias": 3, "similar": 2, "content": 1}


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


def _one_near_sound(header: str, form: str) -> bool:
    """Same length and first character, one other character off, its reading one letter off."""
    if len(header) != len(form) or header[0] != form[0]:
        return False
    off = [(a, b) for a, b in zip(header, form, strict=True) if a != b]
    if len(off) != 1:
        return False
    mine, theirs = (_reading(ch) for ch in off[0])
    return mine != theirs and Levenshtein.distance(mine, theirs) == 1


def _one_left_out(header: str, form: str) -> bool:
    """`form` with one character after its first left out, still 3 or more."""
    return (
        len(header) >= 3
        and len(form) == len(header) + 1
        and header[0] == form[0]
        and any(form[:i] + form[i + 1 :] == header for i in range(1, len(form)))
    )


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
                if folded != folded_whole and len(folded) < 3 and folded.isascii():
                    # fillers left a bare "no" or "id" of "Lead No": a sheet's row number (No.,
                    # #) is no lead's ID; "id" as an alias stays
                    continue
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
        self._near: dict[str, str | None] = {}
        self.lead_prefixes = {
            lab.text for key in canon.matching.about_lead for lab in self.labels.get(key, [])
        }

    @cached_property
    def sounds(self) -> dict[str, str | None]:
        """A Chinese label's sound -> its key (None when two columns' labels sound alike)."""
        sounds: dict[str, str | None] = {}
        for key, forms in self.sound_forms.items():
            for form in forms:
                sound = pinyin(form)
                theirs = sounds.get(sound, key)
                sounds[sound] = key if theirs == key else None
        return sounds

    @cached_property
    def sound_forms(self) -> dict[str, frozenset[str]]:
        """Per key, its Chinese labels before and after the column's fillers: what a homophone
        typo is compared with. Built on the first header that needs it: a sheet of exact aliases
        never pays for it."""
        out: dict[str, frozenset[str]] = {}
        for col in self.sheet.columns:
            forms = {lab.text for lab in self.labels[col.key]}
            for label in (col.zh, *col.aliases):
                whole = fold_header(self.canon.text(label))
                if self.exact.get(whole, col.key) == col.key:
                    forms.add(whole)
            out[col.key] = frozenset(
                f for f in forms if len(f) >= 2 and _CJK.search(f) and not _LATIN.search(f)
            )
        return out

    @cached_property
    def _by_letters(self) -> dict[str, str | None]:
        """A Chinese label's characters in code-point order -> its key (None: two columns')."""
        out: dict[str, str | None] = {}
        for key, forms in self.sound_forms.items():
            for form in forms:
                letters = "".join(sorted(form))
                out[letters] = key if out.get(letters, key) == key else None
        return out

    def shuffled(self, header: str) -> str | None:
        """The one column with a label of `header`'s characters in another order: 系联人 is
        联系人, 采购间时 采购时间 (two keys typed the wrong way round)."""
        return self._by_letters.get("".join(sorted(header)))

    def near_sound(self, header: str) -> str | None:
        """The one column with a label of 3+ characters that `header` is but for one character
        after the first, mistyped to a near sound (所属行亚 for 所属行业: ya for ye) or left out
        (需描述 for 需求描述)."""
        if header not in self._near:
            keys = {
                key
                for key, forms in self.sound_forms.items()
                for form in forms
                if len(form) >= 3 and (_one_near_sound(header, form) or _one_left_out(header, form))
            }
            self._near[header] = keys.pop() if len(keys) == 1 else None
        return self._near[header]

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
    from leadkit.rules.loader import Rules

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
