"""enrich: credit-code check digit, matching order, blanks-only fill."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from leadkit.enrich import (
    CODE_ALPHABET,
    EnrichRules,
    credit_code_check,
    fill_blanks,
    match,
    normalize_credit_code,
    review,
)

# A published code (Huawei Technologies Co., Ltd., Shenzhen) whose check digit is 6.
HUAWEI = "914403001922038216"


def test_known_code_check_digit() -> None:
    assert credit_code_check(HUAWEI[:17]) == HUAWEI[17]


def test_codes_failing_the_check_are_dropped() -> None:
    bad = HUAWEI[:17] + ("0" if HUAWEI[17] != "0" else "1")
    out = normalize_credit_code(
        pd.Series([HUAWEI.lower(), bad, "123", None, " 9144 0300 1922038216"])
    )
    assert out.tolist()[0] == HUAWEI
    assert out.isna().tolist() == [False, True, True, True, False]


@given(st.text(alphabet=CODE_ALPHABET, min_size=17, max_size=17))
def test_any_body_with_its_check_is_valid_and_one_change_breaks_it(body: str) -> None:
    code = body + credit_code_check(body)
    assert normalize_credit_code(pd.Series([code])).iloc[0] == code
    wrong = CODE_ALPHABET[(CODE_ALPHABET.index(code[0]) + 1) % 31] + code[1:]
    assert pd.isna(normalize_credit_code(pd.Series([wrong])).iloc[0])


def _companies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "company": [
                "华为技术有限公司",
                "杭州云栖数据科技有限公司",
                "上海明远国际物流科技有限公司",
            ],
            "credit_code": [HUAWEI, None, None],
            "industry": ["通信设备", "软件", "物流"],
            "legal_form": ["有限责任公司", "有限责任公司", "有限责任公司"],
        },
        index=[10, 11, 12],
    )


def test_match_order_code_then_key_then_fuzzy() -> None:
    leads = pd.DataFrame(
        {
            "company": [
                "某个错写的名字",
                "云栖数据科技（杭州）有限公司",
                "上海明远国际物留科技有限公司",
                "无关公司",
            ],
            "credit_code": [HUAWEI, None, None, None],
        }
    )
    m = match(leads, _companies()).set_index("lead")
    assert m.loc[0, "company"] == 10 and m.loc[0, "method"] == "credit_code"
    assert m.loc[1, "company"] == 11 and m.loc[1, "method"] == "company_key"
    assert m.loc[2, "company"] == 12 and m.loc[2, "method"] == "fuzzy"
    assert 80 <= m.loc[2, "confidence"] < 100
    assert 3 not in m.index


def test_fill_blanks_never_overwrites_and_logs_each_fill() -> None:
    leads = pd.DataFrame(
        {
            "company": ["华为技术有限公司", "杭州云栖数据科技有限公司"],
            "industry": ["手写的行业", None],
        }
    )
    m = match(leads, _companies())
    out, log = fill_blanks(leads, _companies(), m, ["industry", "legal_form"])
    assert out["industry"].tolist() == ["手写的行业", "软件"]
    assert out["legal_form"].tolist() == ["有限责任公司", "有限责任公司"]
    assert sorted(zip(log["lead"], log["column"], strict=True)) == [
        (0, "legal_form"),
        (1, "industry"),
        (1, "legal_form"),
    ]


def test_uncertain_fuzzy_goes_to_review_not_into_the_book() -> None:
    leads = pd.DataFrame({"company": ["上海明远国际物留科技有限公司"], "industry": [None]})
    rules = EnrichRules(fill_at=99, review_at=70)
    m = match(leads, _companies(), rules)
    out, log = fill_blanks(leads, _companies(), m, ["industry"], rules)
    assert pd.isna(out.loc[0, "industry"]) and log.empty
    assert review(m, rules)["company"].tolist() == [12]


def test_ambiguous_key_is_not_an_exact_match() -> None:
    companies = pd.DataFrame(
        {"company": ["北京星河有限公司", "星河股份有限公司"], "industry": ["a", "b"]}
    )
    m = match(pd.DataFrame({"company": ["星河有限公司"]}), companies)
    assert (m["method"] != "company_key").all()
