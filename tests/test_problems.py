"""One problem vocabulary (#19): every problem check, import and the rule loader report carries
its stable code from leadkit.problems, in the objects and in --json."""

from __future__ import annotations

import datetime as dt
import json

from tests_support import book_with_a_problem_of_each_kind

from leadkit.errors import BookBusyError, InputFileError, LeadkitError, RuleError, UsageError
from leadkit.problems import PROBLEMS, Problem, reason_codes
from leadkit.steps.check import check_book

AS_OF = "--as-of=2026-03-12T09:00"


def test_every_code_has_wording_and_codes_are_kebab_case_and_unique():
    assert set(PROBLEMS) == set(Problem)
    assert len({p.value for p in Problem}) == len(Problem)
    for p in Problem:
        assert p.value == p.value.lower() and " " not in p.value and "_" not in p.value
        assert p.text


def test_check_findings_carry_the_code_of_each_problem(tmp_path, rules):
    book = book_with_a_problem_of_each_kind(
        tmp_path / "leads.xlsx", rules.columns, owners=["张三", None, None, "nobody"]
    )
    findings = check_book(book, rules.columns, dt.datetime(2026, 3, 10), roster=["张三"])
    got = {(f.row, f.column, f.code) for f in findings}
    assert (2, "线索编号", "duplicate-id") in got
    assert (4, "线索编号", "empty-id") in got
    assert (3, "获取时间", "future-date") in got
    assert (5, "获取时间", "unparsed-date") in got
    assert (3, "联系电话", "bad-phone") in got
    assert (4, "联系电话", "unnormalised-phone") in got
    assert (3, "邮箱", "bad-email") in got
    assert (4, "客户状态", "unlisted-value") in got
    assert (5, "关闭时间", "closed-but-open") in got
    assert (3, "关闭时间", "closed-before-created") in got
    assert (2, "线索编号", "unknown-lead") in got  # the Activities sheet's row 2
    assert (2, "跟进时间", "undated-activity") in got
    assert any(f.code == "unknown-owner" and f.value == "nobody" for f in findings)
    # the human wording is the vocabulary's, word for word
    assert all(f.problem == Problem(f.code).text for f in findings)


def test_check_json_gives_each_problem_its_code(cli, workspace, tmp_path):
    sheet = tmp_path / "in.csv"
    sheet.write_text("公司名称,联系人,手机,邮箱\n甲公司,张三,13812345678,bad@\n", encoding="utf-8")
    assert cli("import", sheet, AS_OF, "-q").exit_code == 0  # the bad e-mail is kept as written
    result = cli("check", "--json", AS_OF)
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["code"], p["value"]) for p in problems] == [("bad-email", "bad@")], problems
    assert problems[0]["problem"] == Problem.bad_email.text


def test_import_warnings_and_rejections_carry_codes(cli, workspace, tmp_path):
    sheet = tmp_path / "in.csv"
    sheet.write_text(
        "公司名称,联系人,手机,邮箱,获取时间\n"
        "甲公司,张三,13812345678,bad@,2026-03-01\n"  # imported, bad e-mail warned
        "乙公司,李四,12345,,昨天\n"  # rejected: no usable phone or e-mail; its date warned
        ",,13812345679,,2026-03-01\n",  # rejected: no company and no contact
        encoding="utf-8",
    )
    result = cli("import", sheet, AS_OF, "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    warned = {(w["row"], w["code"]) for w in payload["warnings"]}
    assert (2, "bad-email") in warned and (3, "unparsed-date") in warned, warned
    assert all(w["message"].startswith(Problem(w["code"]).text) for w in payload["warnings"])
    rejects = {r["row"]: r["codes"] for r in payload["rejects"]}
    assert rejects == {3: ["no-phone-or-email"], 4: ["no-company-or-contact"]}, payload["rejects"]


def test_a_reason_cell_with_two_reasons_gives_both_codes():
    both = f"{Problem.no_company_or_contact.text}; {Problem.no_phone_or_email.text}"
    assert reason_codes(both) == ["no-company-or-contact", "no-phone-or-email"]


def test_errors_carry_their_class_code():
    assert RuleError("x.yaml", [(3, "bad")]).code == "rule-invalid"
    assert UsageError("x").code == LeadkitError("x").code == "usage"
    assert InputFileError("x").code == "unreadable-file"
    assert BookBusyError("x").code == "book-busy"


def test_a_rule_error_under_json_gives_its_code_and_each_problem(cli, workspace, data_dir):
    import shutil

    shutil.copy(data_dir / "bad_rules_columns.yaml", workspace / "rules" / "columns.yaml")
    result = cli("check", "--json", AS_OF)
    assert result.exit_code == 2
    assert result.stderr.startswith("leadkit: error: ")  # the line for a person stays
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "rule-invalid"
    lines = {p["line"] for p in error["problems"]}
    assert {3, 9} <= lines and all(p["code"] == "rule-invalid" for p in error["problems"])


def test_an_error_after_the_json_summary_leaves_one_json_document(cli, workspace):
    # the report is printed, then sending it fails (no notify: settings): stdout stays one document
    result = cli("report", "--format", "json", "--notify", "both", AS_OF)
    assert result.exit_code == 2 and "notify" in result.stderr
    assert "period" in json.loads(result.stdout)
