from __future__ import annotations

import datetime as dt

import pandas as pd
from tests_support import book_with_a_problem_of_each_kind

from leadkit import bookio
from leadkit.steps.check import check_book


def test_check_reports_each_problem_with_sheet_row_and_column(tmp_path, rules):
    book = book_with_a_problem_of_each_kind(tmp_path / "leads.xlsx", rules.columns)
    findings = check_book(book, rules.columns, dt.datetime(2026, 3, 10))
    got = {(f.sheet, f.row, f.column, f.problem) for f in findings}
    assert ("线索", 2, "线索编号", "lead ID is not unique") in got
    assert ("线索", 3, "线索编号", "lead ID is not unique") in got
    assert ("线索", 4, "线索编号", "lead ID is empty") in got
    assert ("线索", 3, "获取时间", "in the future") in got
    assert ("线索", 5, "获取时间", "not a date") in got
    assert ("线索", 3, "联系电话", "not a usable phone number") in got
    assert ("线索", 4, "联系电话", "not in the normalised form") in got
    assert ("线索", 3, "邮箱", "not a valid e-mail address") in got
    assert ("线索", 4, "客户状态", "not one of the listed values") in got
    assert ("线索", 5, "关闭时间", "set on a lead that is not won or lost") in got
    assert ("跟进记录", 2, "线索编号", "no lead with this ID") in got
    assert ("线索", 3, "关闭时间", "before the lead was created") in got
    assert ("跟进记录", 2, "跟进时间", "no date: the follow-up does not count") in got
    assert len(findings) == 13


def test_owners_off_the_roster_and_hand_typed_slips_are_flagged(tmp_path, rules):
    book = bookio.new_book(tmp_path / "leads.xlsx", "zh", rules.columns)
    book.append("leads", pd.DataFrame({
        "lead_id": ["LX1", "LX2", "LX3"], "created_at": [pd.Timestamp("2026-03-01")] * 3,
        "company": ["甲", "乙", "丙"], "contact": ["a", "b", "c"], "phone": ["13812345678"] * 3,
        "status": ["new"] * 3, "owner": ["李娜", "老周", None],
    }))  # fmt: skip
    book.append("activities", pd.DataFrame({
        "date": [pd.Timestamp("2026-03-02"), "上周"], "lead_id": ["LX1", "LX2"],
        "status_after": ["打过电话", "contacted"],
    }))  # fmt: skip
    findings = check_book(book, rules.columns, dt.datetime(2026, 3, 10), roster=["李娜", "张伟"])
    got = {(f.sheet, f.row, f.column, f.problem, f.value) for f in findings}
    assert got == {
        ("线索", 3, "负责人",
         "not on the team (routing.yaml): no deadline, reminder or recycling", "老周"),
        ("跟进记录", 2, "跟进后状态", "not one of the listed values", "打过电话"),
        ("跟进记录", 3, "跟进时间", "not a date", "上周"),
    }  # fmt: skip
    # without a roster (a library caller that has none) owners are not judged
    assert not any(
        f.column == "负责人" for f in check_book(book, rules.columns, dt.datetime(2026, 3, 10))
    )


def test_clean_book_has_no_findings(tmp_path, rules):
    book = bookio.new_book(tmp_path / "leads.xlsx", "zh", rules.columns)
    book.append("leads", pd.DataFrame({"lead_id": ["LX1"], "created_at": [pd.Timestamp("2026-03-01")],
                                       "phone": ["13812345678"], "status": ["new"], "source": ["website"]}))  # fmt: skip
    assert check_book(book, rules.columns, dt.datetime(2026, 3, 10)) == []


def test_missing_required_header_is_reported(tmp_path, rules):
    book = bookio.new_book(tmp_path / "leads.xlsx", "zh", rules.columns)
    book.missing_headers = {"leads": ["phone", "notes"]}
    findings = check_book(book, rules.columns, dt.datetime(2026, 3, 10))
    assert [(f.row, f.column, f.problem) for f in findings] == [
        (1, "联系电话", "required column is missing")
    ]
