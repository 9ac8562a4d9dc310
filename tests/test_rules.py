from __future__ import annotations

import shutil

import pytest

from leadkit.errors import RuleError
from leadkit.rules.base import default_rules_dir, fold_header, load_yaml_model
from leadkit.rules.columns import ColumnsRules
from leadkit.rules.loader import Rules
from leadkit.workspace import WorkspaceConfig


def test_packaged_rules_load(rules):
    assert rules.columns.sheets["leads"].keys[0] == "lead_id"
    assert rules.regions.by_province["广东"] == "华南"


def test_every_problem_in_a_rule_file_is_reported_with_its_line(data_dir):
    with pytest.raises(RuleError) as exc:
        load_yaml_model(data_dir / "bad_rules_columns.yaml", ColumnsRules)
    problems = dict((msg.split(":")[0], line) for line, msg in exc.value.problems)
    assert problems["enums.source.0.colour"] == 3
    assert problems["sheets.leads.columns.0.type"] == 9
    assert len(exc.value.problems) >= 2
    assert "bad_rules_columns.yaml, line 3" in str(exc.value)


def test_yaml_syntax_error_has_a_line(tmp_path):
    bad = tmp_path / "columns.yaml"
    bad.write_text("enums:\n  source: [a, b\nsheets: {}\n", encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        load_yaml_model(bad, ColumnsRules)
    assert exc.value.problems[0][0] in (2, 3)
    assert "YAML syntax" in str(exc.value)


def test_semantic_problem_is_reported(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder)
    text = (
        (folder / "columns.yaml")
        .read_text(encoding="utf-8")
        .replace("basic: [company,", "basic: [companyx,")
    )
    (folder / "columns.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RuleError, match="unknown lead column 'companyx'"):
        _ = Rules(folder).columns


def test_workspace_config_is_validated():
    with pytest.raises(ValueError, match="unknown time zone"):
        WorkspaceConfig(timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("公司名称", " 公司 名称 "),
        ("Company Name", "company_name"),
        ("ＥＭＡＩＬ", "email"),
        ("邮箱：", "邮箱*"),
    ],
)
def test_header_folding(a, b):
    assert fold_header(a) == fold_header(b)


def test_log_messages_may_use_only_their_own_fields(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder)
    text = (folder / "columns.yaml").read_text(encoding="utf-8")
    text = text.replace('en: "pool: {reason}"', 'en: "pool: {why}"')
    text = text.replace(
        "  recycle_soon:", "  recycled_later: {zh: 稍后, en: later}\n  recycle_soon:"
    )
    (folder / "columns.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        _ = Rules(folder).columns
    # both problems together
    assert "messages.to_pool.en: unknown field(s) ['why']" in str(exc.value)
    assert "'recycled_later' is no message leadkit writes" in str(exc.value)


def test_a_workspace_without_messages_uses_the_packaged_wording(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder)
    text = (folder / "columns.yaml").read_text(encoding="utf-8")
    start = text.index("\nmessages:")
    end = text.index("\n# Recognising")
    (folder / "columns.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    columns = Rules(folder).columns
    assert columns.messages is None
    assert columns.message("events_added", "zh", n=2) == "行为记录新增 2 条"
