"""Company names: the display form, the dedupe key, the place in the name."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadkit.normalize.columns import _factorizable
from leadkit.normalize.text import extract, to_halfwidth

# --------------------------------------------------------------------------------------------
# Company names

_CJK = "[\u4e00-\u9fff]"
_LEGAL_FORMS = [
    "股份有限公司", "有限责任公司", "有限公司", "集团有限公司", "集团", "总公司", "公司",
    "co.,ltd.", "co., ltd.", "co.,ltd", "co. ltd", "co ltd", "company limited", "limited",
    "ltd.", "ltd", "inc.", "inc", "llc", "corp.", "corporation", "corp", "gmbh", "co.",
]  # fmt: skip
_REGION_WORDS = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|"
    "广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门|"
    "深圳|广州|杭州|南京|苏州|成都|武汉|西安|青岛|厦门|宁波|无锡|大连|沈阳|长沙|郑州|济南|合肥|"
    "福州|昆明|东莞|佛山|天津|中国"
)
# two Han characters and 市 lead a name only as a city (嘉兴市, 绍兴市): no word of a 字号 ends so
_LEADING_REGION = rf"^(?:(?:{_REGION_WORDS})(?:省|市|自治区)?|{_CJK}{{2}}市)"
# 名称（地区）有限公司 is the registered layout for a place: a bracket of two or three Han
# characters (optionally 省/市/县/区) is a region even when it is not a known one (（嘉兴）).
_BRACKETED_REGION = (
    rf"[(\[](?:(?:{_REGION_WORDS})(?:省|市|自治区)?|{_CJK}{{2,3}}(?:省|市|县|区)?)[)\]]"
)
# One pass strips one trailing legal form; longest first so 股份有限公司 is not read as 公司.
_TRAILING_FORM = (
    "(?:" + "|".join(re.escape(f) for f in sorted(_LEGAL_FORMS, key=len, reverse=True)) + ") *$"
)
_KEY_DROP = "[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+"
_BRANCH_HOLD = "\u0001"  # stands in for 分公司 while legal forms are stripped
# what makes a name need the bracket and branch passes (the hold character too: it comes back as
# 分公司); RE2 takes the control character as itself
_SPECIAL = "[(\\[【】\u0001]|分公司"


def company_display(values: pd.Series) -> pd.Series:
    """Company names as shown: trimmed, spaces collapsed, brackets unified.

    Chinese names get full-width brackets （）, the form used on business licences; others ASCII.
    """
    text = to_halfwidth(values).str.replace(r"[ \t\r\n]+", " ", regex=True)
    # to_halfwidth turned （） into (); put them back where the name is Chinese.
    cjk = text.str.contains(_CJK, na=False)
    unified = text.str.replace("【", "(").str.replace("】", ")")
    chinese = unified.str.replace("(", "（").str.replace(")", "）")
    chinese = chinese.str.replace(r" *（ *", "（", regex=True).str.replace(
        r" *） *", "）", regex=True
    )
    return chinese.where(cjk, unified).str.strip()


def company_key(values: pd.Series) -> pd.Series:
    """A matching key for company names, kept apart from the display name.

    Drops legal forms (有限公司, Co., Ltd. …) and region names in brackets or at the start, and
    ignores case, width, spaces and punctuation. Branch markers (分公司) stay, so a branch does not
    match its parent.
    """
    return _key_of(to_halfwidth(values).str.lower())


def company_key_and_region(
    values: pd.Series, places: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """`company_key(values)` and `name_region(values, places)`, the names made half-width and
    lower-case once for both (dedupe's company field wants both: converting 100k names twice
    was a fifth of the field)."""
    text = to_halfwidth(values).str.lower()
    return _key_of(text), _region_of(text, places)


def _key_of(text: pd.Series) -> pd.Series:
    """`company_key` of names already half-width and lower-case (`text` is not changed)."""
    # Brackets (and 【】), 分公司 and the hold character itself are rare in a list: the passes for
    # them run only on the names with one (over all of 1M names they cost 0.5 s). The others
    # state no region in brackets and hold no branch marker.
    cells = _arrow(text)
    special = pc.match_substring_regex(cells, _SPECIAL)
    odd = pc.fill_null(special, False).to_numpy(zero_copy_only=False)
    stated = np.zeros(len(text), dtype=bool)
    if odd.any():
        text = text.copy()
        written = text[odd].str.replace("【", "(").str.replace("】", ")")
        bracketless = written.str.replace(_BRACKETED_REGION, "", regex=True)
        stated[odd] = (bracketless != written).fillna(False).to_numpy(dtype=bool)
        # 分公司 is a branch: it must survive, so a branch never matches its parent company.
        # (set as arrays, by position: a Series is aligned on the index first, which was a
        # fifth of the key at 100k names)
        text[odd] = bracketless.str.replace("分公司", _BRANCH_HOLD, regex=False).array
    text = _strip_forms(text, cells=None if odd.any() else cells)
    if odd.any():
        kept = text[odd].str.replace(_BRANCH_HOLD, "分公司", regex=False)
        unbracketed = kept.str.replace(_BRACKETED_REGION, "", regex=True)
        unbracketed = _drop_bracketed_divisions(unbracketed)
        # a name says its region once: after 名称（地区） its start is the 字号 (泰安创启化工（杭州）)
        stated[odd] |= (unbracketed != kept).fillna(False).to_numpy(dtype=bool)
        text[odd] = unbracketed.array
    if not stated.any():  # a list without brackets: no name stated its region in one
        text = _strip_divisions(text)
    elif not stated.all():
        text = text.where(stated, _strip_divisions(text.where(~stated)).array)
    # replaced only in the names with a character to drop: most keys are Han and digits alone,
    # and finding those is cheaper than rewriting every key
    drop = pc.match_substring_regex(_arrow(text), _KEY_DROP)
    drop = pc.fill_null(drop, False).to_numpy(zero_copy_only=False)
    if drop.any():
        text = text.copy()
        text[drop] = text[drop].str.replace(_KEY_DROP, "", regex=True).array
    return text.mask(text == "")


# longest first, as _TRAILING_FORM's alternation: a name ends with at most one of each length
_FORMS = sorted(_LEGAL_FORMS, key=len, reverse=True)
_FORM_ENDS = pa.array(sorted({f[-1] for f in _FORMS}))
_FORMS_BY_END = tuple(tuple(f for f in _FORMS if f[-1] == e) for e in _FORM_ENDS.to_pylist())
_TRAILING_FORM_RE = re.compile(_TRAILING_FORM)


def _arrow(text: pd.Series) -> pa.Array:
    """A string Series as one Arrow array."""
    if isinstance(text.array, pd.arrays.ArrowStringArray):
        cells = pa.array(text.array)
    else:
        cells = pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.large_string())
    return cells.combine_chunks() if isinstance(cells, pa.ChunkedArray) else cells


def _strip_forms(text: pd.Series, passes: int = 2, cells: pa.Array | None = None) -> pd.Series:
    """`text.str.replace(_TRAILING_FORM, "", regex=True)` `passes` times (集团股份有限公司: two
    forms stacked), found with Arrow's ends_with instead: an end-anchored regex is scanned from
    every position of every name (0.33 s a pass over 1M names). `cells`: `text` as one Arrow
    array, if the caller has it.

    The regex removes the longest form that ends the name but for spaces (no form ends with a
    space, so its spaces are all the trailing ones): the same as the longest form the name ends
    with once its trailing spaces are dropped. A name ending in a newline goes to Python's re,
    as pandas sends it (its `$` also matches before a final newline)."""
    cells = _arrow(text) if cells is None else cells
    size, changed = len(cells), False
    active = np.ones(size, dtype=bool)  # a name no form ended is left as it is by the next pass
    for _ in range(passes):
        trimmed = pc.utf8_rtrim(cells, characters=" ")
        # per last character, only the forms ending in it, on the names ending in it (taken
        # apart where they are few: a take of most of 1M names costs more than the passes)
        last = pc.index_in(pc.utf8_slice_codeunits(trimmed, -1), value_set=_FORM_ENDS)
        last = np.array(pc.fill_null(last, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        last[~active] = -1
        cut = np.zeros(size, dtype=np.int64)
        for i, forms in enumerate(_FORMS_BY_END):
            group = last == i
            rows = np.flatnonzero(group)
            if not rows.size:
                continue
            few = rows.size < size // 8
            names = trimmed.take(pa.array(rows)) if few else trimmed
            found = np.zeros(len(names), dtype=np.int64)
            for form in forms:
                ends = pc.fill_null(pc.ends_with(names, pattern=form), False)
                found[(found == 0) & ends.to_numpy(zero_copy_only=False)] = len(form)
            cut[rows] = found if few else found[rows]
        newline = pc.fill_null(pc.ends_with(cells, pattern="\n"), False)
        newline = newline.to_numpy(zero_copy_only=False) & active & (cut == 0)
        if not cut.any() and not newline.any():
            break
        # what is left, per form length: whole-array slices picked by one `choose` for the
        # lengths most names have, the others replaced row by row
        options, pick = [cells], np.zeros(size, dtype=np.int8)
        for length in np.unique(cut[cut > 0]):
            group = cut == length
            rows = np.flatnonzero(group)
            if rows.size >= size // 8 and len(options) < 100:
                pick[group] = len(options)
                options.append(pc.utf8_slice_codeunits(trimmed, 0, -int(length)))
            else:
                part = pc.utf8_slice_codeunits(trimmed.take(pa.array(rows)), 0, -int(length))
                options[0] = pc.replace_with_mask(options[0], pa.array(group), part)
        if newline.any():  # no form was found for these: as pandas' re does it
            py = cells.filter(pa.array(newline)).to_pylist()
            part = pa.array([_TRAILING_FORM_RE.sub("", s) for s in py], cells.type)
            options[0] = pc.replace_with_mask(options[0], pa.array(newline), part)
        cells = pc.choose(pa.array(pick), *options) if len(options) > 1 else options[0]
        active, changed = (cut > 0) | newline, True
    if not changed:
        return text
    return pd.Series(pd.array(cells, dtype=text.dtype), index=text.index, name=text.name)


@cache
def chinese_divisions() -> pd.DataFrame:
    """China's provinces, prefectures and counties: adcode, level, official name, short name.

    leadkit/data/regions_cn.csv, derived from the adcode table the cpca package ships (MIT);
    tools/make_regions_cn.py regenerates it.
    """
    path = Path(__file__).resolve().parents[1] / "data" / "regions_cn.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@cache
def _division_codes() -> dict[str, tuple[str, ...]]:
    """Each name a region is written with at the start of a company name, with the adcode
    prefixes of the divisions it names (浙江 -> 33, 杭州市 -> 3301, 余杭区 -> 330110; 朝阳区 is in
    two): every official name, and a province's or prefecture's short name alone or with 省/市.
    A county's short name alone is often a word of a 字号 (朝阳, 新华, 长安): only in full."""
    codes: dict[str, set[str]] = {}
    for code, level, name, short in chinese_divisions().itertuples(index=False):
        prefix = code[:2] if level == "province" else code[:4] if level == "prefecture" else code
        written = {name}
        if level != "county":
            written |= {short, short + "市"} | ({short + "省"} if level == "province" else set())
        for form in written:
            codes.setdefault(form, set()).add(prefix)
    codes.setdefault("中国", set()).add("")  # contains every division
    return {name: tuple(sorted(found)) for name, found in codes.items()}


@cache
def _division_names() -> tuple[pa.Array, tuple[tuple[int, pa.Array], ...], pa.Array]:
    """The names of `_division_codes`, their lengths (longest first) each with the first two
    characters of its names, and all names' first two characters."""
    names = set(_division_codes())
    lengths = sorted({len(n) for n in names}, reverse=True)
    by_length = tuple(
        (length, pa.array(sorted({n[:2] for n in names if len(n) == length}))) for length in lengths
    )
    heads = sorted({n[:2] for n in names})
    return pa.array(sorted(names)), by_length, pa.array(heads)


def _within(name: str, outer: tuple[str, ...]) -> bool:
    """Whether a region named `name` lies inside one of the divisions `outer` (adcode prefixes)."""
    return any(
        c.startswith(o) and len(c) > len(o) for c in _division_codes().get(name, ()) for o in outer
    )


# What is left of a name without its region must still be a 字号: at least two characters, and
# not one trade word alone (湖北实业, 海东软件 are names, not 湖北 + 实业, 海东 + 软件; 通信医疗器械
# is a 字号 and its trade).
_TRADE_ONLY = (
    "^(?:实业|科技|贸易|商贸|工贸|发展|投资|控股|集团|工业|建设|建筑|建材|置业|地产|房地产|物业|"
    "物流|运输|电子|文化|传媒|广告|咨询|服务|技术|网络|信息|数据|通信|软件|工程|制造|机械|设备|"
    "仪器|医药|医疗|器械|生物|健康|食品|餐饮|酒店|旅游|国际|商业|农业|能源|环保|化工|材料|纺织|"
    "服装|印刷|包装|汽车|金融|保险|证券|教育|培训|管理|供应链|装饰|设计|智能|家居|人力资源|劳务)$"
)
_TRADE_LONGEST = max(len(word) for word in _TRADE_ONLY[4:-2].split("|"))
_CITY_SHI = f"^{_CJK}{{2}}市"  # 嘉兴市, 绍兴市: no word of a 字号 ends so


_BRACKET = r"\((?P<r>[^()]{4,15})\)"  # （乌鲁木齐）, （延边朝鲜族自治州）: longer than 3


def _drop_bracketed_divisions(text: pd.Series) -> pd.Series:
    """A region in brackets that `_BRACKETED_REGION` (two or three characters) leaves, dropped
    where the division table knows it (a bracket of four characters may also be a 字号's part)."""
    names = _division_names()[0]
    bracketed = text[text.str.contains("(", regex=False).fillna(False).to_numpy(dtype=bool)]
    if bracketed.empty:
        return text
    inside = extract(bracketed, _BRACKET)["r"].dropna()
    if inside.empty:
        return text
    hit = pc.is_in(pa.array(inside.astype(object), type=pa.string()), value_set=names)
    known = inside[hit.to_numpy(zero_copy_only=False)]
    if known.empty:
        return text
    out = text.copy()
    for row, region in known.items():
        out[row] = out[row].replace(f"({region})", "")
    return out


def _strip_divisions(text: pd.Series) -> pd.Series:
    """Regions at the start of company keys dropped, one at a time (浙江省杭州市余杭区 is
    three), the longest name first, where what is left is still a name (`_TRADE_ONLY`).

    Looked up by prefix length in the ~7,000 names with Arrow's `is_in`, on the keys that begin
    like a region (one regex of them all is 20 times slower)."""
    names, lengths, heads = _division_names()
    long_heads = pc.unique(pa.concat_arrays([starts for length, starts in lengths if length > 4]))
    arrow = isinstance(text.array, pd.arrays.ArrowStringArray)
    cells = pa.array(text.array) if arrow else pa.array(text, type=pa.string(), from_pandas=True)
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    # on the cells themselves, not their distinct values: a 1M-name list repeats few names, and
    # dictionary-encoding it cost a quarter of this function
    plain = cells.cast(pa.string())
    maybe = pc.or_(
        pc.is_in(pc.utf8_slice_codeunits(plain, 0, 2), value_set=heads),
        pc.equal(pc.utf8_slice_codeunits(plain, 2, 3), "市"),
    )
    maybe = pc.fill_null(maybe, False)  # a blank begins with no region
    at = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))  # positions in `plain`
    current = plain.take(pa.array(at))
    keys = plain  # its stripped entries replaced pass by pass
    outer: pa.Array | None = None  # per row of `current`: the region just dropped
    for _ in range(3):  # province, prefecture, county
        if not len(current):
            break
        two = pc.utf8_slice_codeunits(current, 0, 2)
        if outer is not None:  # what is left after a region rarely begins like another one
            like = pc.or_(
                pc.is_in(two, value_set=heads),
                pc.equal(pc.utf8_slice_codeunits(current, 2, 3), "市"),
            ).to_numpy(zero_copy_only=False)
            if not like.all():
                keep = np.flatnonzero(like)
                current, at, two = current.take(pa.array(keep)), at[keep], two.take(pa.array(keep))
                outer = outer.take(pa.array(keep))
                if not len(current):
                    break
        cut = np.zeros(len(current), dtype=np.int64)
        # names of five or more characters (自治州, 自治县, 地区 …) begin with few pairs
        long = np.flatnonzero(pc.is_in(two, value_set=long_heads).to_numpy(zero_copy_only=False))
        for length, starts in lengths:
            if length > 4:
                rows = long[cut[long] == 0]
                if not rows.size:
                    continue
                rows = rows[pc.is_in(two.take(pa.array(rows)), value_set=starts).to_numpy(False)]
                heads_of = pc.utf8_slice_codeunits(current.take(pa.array(rows)), 0, length)
            else:
                rows = np.flatnonzero(cut == 0)
                heads_of = pc.utf8_slice_codeunits(current, 0, length)
                if rows.size < len(current):
                    heads_of = heads_of.take(pa.array(rows))
            if rows.size:
                cut[rows[pc.is_in(heads_of, value_set=names).to_numpy(False)]] = length
        idle = np.flatnonzero(cut == 0)  # 嘉兴市: only where no known name begins the key
        if idle.size:
            shi = pc.match_substring_regex(current.take(pa.array(idle)), _CITY_SHI)
            cut[idle[shi.to_numpy(zero_copy_only=False)]] = 3
        if outer is not None:
            # a second region is one inside the first (浙江省杭州市): 南京海东软件 is 海东 of 南京
            hits = np.flatnonzero(cut)
            texts = current.take(pa.array(hits)).to_pylist()
            around = outer.take(pa.array(hits)).to_pylist()
            codes = _division_codes()
            for row, text_, c, first in zip(hits, texts, cut[hits], around, strict=True):
                if not _within(text_[:c], codes.get(first, ())):
                    cut[row] = 0
        kept_rows, kept_rest, kept_region = [], [], []
        for length in np.unique(cut[cut > 0]):  # what is left, sliced per region length
            rows = np.flatnonzero(cut == length)
            taken = current.take(pa.array(rows))
            rest = pc.utf8_slice_codeunits(taken, int(length))
            size = pc.utf8_length(rest).to_numpy(zero_copy_only=False)
            enough = size >= 2
            # a trade word alone is at most _TRADE_LONGEST characters: only those rests are read
            short = np.flatnonzero(enough & (size <= _TRADE_LONGEST))
            if short.size:
                trade = pc.match_substring_regex(rest.take(pa.array(short)), _TRADE_ONLY)
                enough[short[trade.to_numpy(zero_copy_only=False)]] = False
            kept_rows.append(rows[enough])
            kept_rest.append(rest.filter(pa.array(enough)))
            kept_region.append(pc.utf8_slice_codeunits(taken, 0, int(length)).filter(enough))
        if not kept_rows or not sum(len(r) for r in kept_rows):
            break
        rows = np.concatenate(kept_rows)
        outer = pa.concat_arrays(kept_region)
        current, at = pa.concat_arrays(kept_rest), at[rows]
        mask = np.zeros(len(keys), dtype=bool)
        mask[at] = True
        # replace_with_mask takes the values in the mask's order; `at` is a few sorted runs
        order = np.argsort(at, kind="stable")
        keys = pc.replace_with_mask(keys, pa.array(mask), current.take(pa.array(order)))
    if keys is plain:
        return text
    out = keys
    if arrow:
        return pd.Series(pd.array(out, dtype=text.dtype), index=text.index, name=text.name)
    return pd.Series(out.to_numpy(zero_copy_only=False), index=text.index, name=text.name)


def company_place(values: pd.Series) -> pd.Series:
    """The place a company name carries (北京 of 北京鼎盛科技有限公司, 嘉兴 of 嘉迅（嘉兴）有限公司), else NA.

    `company_key` drops it, which is right for matching one company written two ways, but two
    companies of one trade name in two cities are two customers.
    """
    text = to_halfwidth(values.astype("string")).str.replace("【", "(").str.replace("】", ")")
    leading = text.str.extract(rf"^({_REGION_WORDS})", expand=False)
    bracketed = text.str.extract(
        rf"[(\[]({_REGION_WORDS}|{_CJK}{{2,3}}?)(?:省|市|自治区|县|区)?[)\]]", expand=False
    )
    return leading.fillna(bracketed)


def name_region(values: pd.Series, places: pd.Series | None = None) -> pd.Series:
    """The region a company name is registered in, as it says (（嘉兴）, a leading 上海 or 上海市,
    or the record's own city at its start), without 省/市; missing where it names none. A name is
    行政区划 + 字号 + 行业 + 组织形式: one 字号 in two regions is two registrations."""
    return _region_of(to_halfwidth(values).str.lower(), places)


_REGION_SUFFIX = r"(?:省|市|自治区|县|区)?"
_REGION_IN_BRACKET = rf"[(\[](?P<r>(?:{_REGION_WORDS})|{_CJK}{{2,3}}?){_REGION_SUFFIX}[)\]]"
# the group is one of the words (three characters at most) or two Han characters and 市, and the
# suffix after it is optional: what it captures depends on the first three characters alone
_REGION_LEADING = rf"^(?P<r>{_REGION_WORDS}|{_CJK}{{2}}(?:市))"


def _region_of(lowered: pd.Series, places: pd.Series | None = None) -> pd.Series:
    """`name_region` of names already half-width and lower-case (`lowered` is not changed).

    In Arrow: the bracket pattern only on the names with a bracket, the leading one on the first
    three characters (over whole names, and through pandas, the two were 0.1 s at 100k)."""
    cells = pc.replace_substring(pc.replace_substring(_arrow(lowered), "【", "("), "】", ")")
    cells = cells.cast(pa.string())
    region = pc.utf8_slice_codeunits(cells, 0, 3)
    region = pc.struct_field(pc.extract_regex(region, _REGION_LEADING), [0])
    region = pc.replace_substring_regex(region, "市$", "")
    held = pc.fill_null(pc.match_substring_regex(cells, "[(\\[]"), False)
    rows = np.flatnonzero(held.to_numpy(zero_copy_only=False))
    if rows.size:
        bracket = pc.struct_field(
            pc.extract_regex(cells.take(pa.array(rows)), _REGION_IN_BRACKET), [0]
        )
        found = pc.is_valid(bracket).to_numpy(zero_copy_only=False)
        if found.any():
            mask = np.zeros(len(cells), dtype=bool)
            mask[rows[found]] = True
            region = pc.replace_with_mask(region, pa.array(mask), bracket.filter(pa.array(found)))
    region = pd.Series(region.to_numpy(zero_copy_only=False), index=lowered.index, dtype=object)
    text = lowered
    suffix = _REGION_SUFFIX
    if places is not None:
        place = _per_place(
            places.reindex(lowered.index),
            lambda p: to_halfwidth(p).str.replace(rf"{suffix}$", "", regex=True),
        )
        size = place.str.len().fillna(0).astype(int)
        todo = region.isna() & text.notna() & (size >= 2)
        for length in size[todo].unique():  # a few place lengths: vectorised per length
            rows = todo[todo & (size == length)].index
            head = text[rows].str.replace("【", "(").str.replace("】", ")").str[: int(length)]
            own = rows[(head == place[rows]).to_numpy(dtype=bool)]
            region[own] = place[own]
    return region.astype(object).where(region.notna())


def _per_place(places: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`fn` (vectorised, cell by cell) on each distinct place once, spread back as text (a book
    of 100k leads names a few hundred cities: normalising every row's was most of the time)."""
    codes, uniques = pd.factorize(_factorizable(places), use_na_sentinel=True)
    done = fn(pd.Series(uniques, dtype=object)).astype(object).to_numpy()
    spread = np.append(done, np.array([None], dtype=object))[codes]  # code -1 (a blank) is None
    return pd.Series(spread, index=places.index).astype("str")


def drop_own_place(keys: pd.Series, places: pd.Series) -> pd.Series:
    """Company keys with each record's own place (`places`, its city column, aligned) dropped
    from their start: a region no list knows (太原卓远致 in 太原) is still a region, as long as two
    characters of name remain."""
    place = _per_place(
        places.reindex(keys.index),
        lambda p: (
            to_halfwidth(p)
            .str.lower()
            .str.replace(_KEY_DROP, "", regex=True)
            .str.replace(r"(?:省|市|县|区)$", "", regex=True)
        ),
    )
    size = place.str.len().fillna(0).astype(int)
    todo = keys.notna() & (size >= 2)
    if not todo.any():
        return keys
    out = keys.copy()
    for length in size[todo].unique():  # a few place lengths: vectorised per length
        rows = todo & (size == length)
        name, at = keys[rows], place[rows]
        starts = name.str[:length] == at
        cut = length + (name.str[length : length + 1] == "市").astype(int)
        keep = starts & (name.str.len() - cut >= 2)
        for c in cut[keep].unique():
            chosen = keep & (cut == c)
            out[chosen[chosen].index] = name[chosen].str[c:]
    return out
