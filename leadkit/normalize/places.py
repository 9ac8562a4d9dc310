"""Provinces and cities: short forms, a city's province, the place in a name or number."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from leadkit.normalize.columns import lookup
from leadkit.normalize.contact import _geocode_by_length, _geocode_table
from leadkit.normalize.text import clean_text

# The province-level divisions by their short names (regions.yaml maps each to a 大区). The
# geocoder writes them three ways: "广东省深圳市", "广西南宁市" (no suffix) and
# "新疆维吾尔自治区乌鲁木齐市"; matching the short name first reads all three.
PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
    "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
_MUNICIPALITIES = {"北京", "上海", "天津", "重庆"}
_PROVINCE_TAIL = re.compile(r"^(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)")
# a prefecture's name as people write it: 南宁市 -> 南宁, 塔城地区 -> 塔城, 兴安盟 -> 兴安
_CITY_TAIL = re.compile(r"(?:市|地区|盟)$")
# 延边朝鲜族自治州 is also written 延边
_PREFECTURE_PEOPLE = re.compile(
    r"(?:朝鲜族|哈萨克|柯尔克孜|蒙古|回族|藏族|羌族|彝族|苗族|土家族|布依族|侗族|白族|傣族|景颇族"
    r"|傈僳族|哈尼族|壮族|纳西族)*自治州$"
)


def short_city(name: str) -> str:
    """'南宁市' -> '南宁', '塔城地区' -> '塔城' (a county-level 市 too)."""
    return _CITY_TAIL.sub("", name.strip())


@cache
def _split_place(description: str) -> tuple[str, str | None]:
    """(province, city) of a geocoder place such as 广西南宁市 or 吉林省通化市、梅河口市."""
    from leadkit.rules.base import short_province

    province = next((p for p in sorted(PROVINCES, key=len, reverse=True)
                     if description.startswith(p)), None)  # fmt: skip
    if province is None:
        return short_province(description), None
    rest = _PROVINCE_TAIL.sub("", description[len(province) :])
    if province in _MUNICIPALITIES:
        return province, province
    # "四川省成都市、资阳市、眉山市": a prefix shared by neighbours; the first is named
    city = short_city(rest.split("、")[0]) if rest else None
    return province, city or None


@cache
def _province_by_city() -> dict[str, str]:
    """City -> province, derived from the geocoder's own place names (广东省深圳市 -> 深圳: 广东)."""
    table: dict[str, str] = {}
    for description in sorted(set(_geocode_table().values())):
        province, _ = _split_place(description)
        rest = _PROVINCE_TAIL.sub("", description[len(province) :]) if province else ""
        for part in rest.split("、"):
            city = short_city(part)
            if city and province not in _MUNICIPALITIES:
                table.setdefault(city, province)
                table.setdefault(_PREFECTURE_PEOPLE.sub("", city) or city, province)
    for municipality in _MUNICIPALITIES:
        table[municipality] = municipality
    return table


@cache
def _city_table() -> tuple[pd.Series, pd.Series]:
    table = _province_by_city()
    return pd.Series(list(table), dtype="str"), pd.Series(list(table.values()), dtype=object)


def province_of_city(cities: pd.Series) -> pd.Series:
    """Province for each city name (南宁, 南宁市, 塔城地区), where the geocoder knows the city."""
    short = clean_text(cities).str.replace(r"(?:市|地区|盟)$", "", regex=True)
    return lookup(*_city_table(), short, unique=True)


# Python's \s spelled out (Arrow's regex knows only ASCII spaces as \s): as a pattern string the
# replace runs in Arrow; a compiled pattern made pandas call re.sub once per cell (0.1 s at 100k)
_NAME_LEAD = (
    "^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000（(【\\[]*"
)


def place_in_name(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(province, city) a company's name starts with: 深圳市…, （深圳）…, 广西…, 乌鲁木齐…

    Chinese company names lead with where they are registered; a name that starts with no
    known province or prefecture gives NaN.
    """
    text = clean_text(names).str.replace(_NAME_LEAD, "", regex=True)
    province = pd.Series(np.nan, index=names.index, dtype=object)
    city = pd.Series(np.nan, index=names.index, dtype=object)
    if text.isna().all():
        return province, city
    keys, values = _city_table()
    for length in (4, 3, 2):  # 乌鲁木齐 before 乌鲁
        pending = text.notna() & province.isna()
        if not pending.any():
            break
        head = text[pending].str.slice(0, length)
        found = lookup(keys, values, head, unique=True)
        hit = found.notna()
        province[found.index[hit]] = found[hit]
        city[found.index[hit]] = head[hit]
        by_province = head[~hit].where(head[~hit].isin(PROVINCES))
        province[by_province.dropna().index] = by_province.dropna()
    municipal = province.isin(list(_MUNICIPALITIES))
    city[municipal] = province[municipal]
    return province, city


def phone_location(phones: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(province, city) of normalised mainland phones from libphonenumber's offline prefix table."""
    province = pd.Series(np.nan, index=phones.index, dtype=object)
    city = pd.Series(np.nan, index=phones.index, dtype=object)
    text = phones.astype("str").where(phones.notna())
    mobile = text.str.fullmatch(r"1[3-9][0-9]{9}", na=False)
    landline = text.str.match(r"^0[0-9]{2,3}-", na=False)
    keys = pd.Series(np.nan, index=phones.index, dtype=object)
    keys[mobile] = "86" + text[mobile]
    keys[landline] = "86" + text[landline].str.slice(1).str.replace("-", "", regex=False)
    todo = keys.notna()
    if not todo.any():
        return province, city
    keys = keys.astype("str")
    found = pd.Series(np.nan, index=phones.index, dtype=object)
    for length, (prefixes, places) in _geocode_by_length().items():  # the longest prefix wins
        pending = todo & found.isna()
        if not pending.any():
            break
        wanted = keys[pending].str.slice(0, length)
        found[pending] = lookup(prefixes, places, wanted, unique=True).to_numpy()
    found = found.dropna()
    distinct = {d: _split_place(d) for d in found.unique()}
    province[found.index] = found.map({d: p for d, (p, _) in distinct.items()})
    city[found.index] = found.map({d: c for d, (_, c) in distinct.items()})
    return province, city


def mobile_cities(mobiles: list[str]) -> list[str | None]:
    """City of each normalised mainland mobile (13812345678), by dictionary look-ups: for a few
    numbers (dedupe asks about the pairs whose cities disagree) `phone_location`'s column lookups
    cost more to set up than they save."""
    table = _geocode_table()
    # one plain loop with dict.get and the cities of the places met so far (a generator per
    # number and the cached _split_place call per number were most of 0.05 s for 30k heads);
    # a key of the table may hold any text, so a miss is told by None alone
    get = table.get
    cities: dict[str, str | None] = {}
    out: list[str | None] = []
    for number in mobiles:
        key = "86" + number
        place = get(key[:9])
        if place is None:
            for n in (8, 7, 6, 5, 4):
                place = get(key[:n])
                if place is not None:
                    break
        if place is None:
            out.append(None)
            continue
        if place in cities:
            out.append(cities[place])
        else:
            out.append(cities.setdefault(place, _split_place(place)[1]))
    return out
