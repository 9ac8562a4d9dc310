from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests_support import looks_like_xlsx

from leadkit import bookio

AS_OF = "--as-of=2026-03-10T09:00"


def test_help_lists_every_command_with_a_line(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for name in ("init", "template", "import", "check", "undo", "demo"):
        assert name in result.stdout


def test_init_makes_a_workspace(cli, tmp_path):
    result = cli("init", tmp_path / "ws", "--lang", "en")
    assert result.exit_code == 0
    assert (tmp_path / "ws" / "leadkit.yaml").exists()
    assert (tmp_path / "ws" / "rules" / "columns.yaml").exists()
    import fastexcel

    assert fastexcel.read_excel(str(tmp_path / "ws" / "leads.xlsx")).sheet_names[0] == "Leads"
    again = cli("init", tmp_path / "ws")
    assert again.exit_code == 2 and "already" in again.stderr


def test_workspace_is_found_from_a_subfolder(cli, workspace, data_dir, monkeypatch):
    sub = workspace / "inbox"
    sub.mkdir()
    monkeypatch.chdir(sub)
    result = cli("import", data_dir / "web_small.csv", AS_OF, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["imported"] == 4
    assert (
        len(
            bookio.load_book(
                workspace / "leads.xlsx",
                __import__("leadkit.rules.loader").rules.loader.Rules().columns,
                "zh",
                "Asia/Shanghai",
            ).leads
        )
        == 4
    )


def test_import_exit_codes_and_warning_line(cli, workspace, data_dir):
    result = cli("import", data_dir / "web_small.csv", AS_OF)
    assert result.exit_code == 0
    assert "2 row(s) rejected" in result.stderr and "导入拒绝" in result.stderr
    assert "imported" in result.stdout
    strict = cli("import", data_dir / "web_small.csv", AS_OF, "--strict")
    assert strict.exit_code == 0, "nothing new was rejected the second time"
    (workspace / "again.csv").write_text("公司名称,联系人,电话\n,,\n无名,,\n", encoding="utf-8")
    strict = cli("import", workspace / "again.csv", AS_OF, "--strict")
    assert strict.exit_code == 1


def test_quiet_prints_nothing_on_success_but_warnings(cli, workspace, data_dir):
    result = cli("import", data_dir / "web_small.csv", AS_OF, "--quiet")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.startswith("leadkit: warning: 2 row(s) rejected")
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_exit_codes(cli, workspace, data_dir):
    assert cli("check", AS_OF).exit_code == 0
    cli("import", data_dir / "web_small.csv", AS_OF, "--quiet")
    result = cli("check", AS_OF, "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert problems == [
        {
            "sheet": "线索",
            "row": 4,
            "column": "联系电话",
            "problem": "not a usable phone number",
            "value": "12345",
            "code": "bad-phone",
        }
    ]


def test_undo_restores_the_previous_book(cli, workspace, data_dir):
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    assert book.read_bytes() != before
    result = cli("undo")
    assert result.exit_code == 0 and "restored" in result.stderr
    assert book.read_bytes() == before


def test_busy_book_exits_3_and_is_untouched(cli, workspace, data_dir):
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    with bookio.book_lock(book, "score"):
        result = cli("import", data_dir / "web_small.csv", AS_OF)
    assert result.exit_code == 3
    assert "busy" in result.stderr
    (workspace / "~$leads.xlsx").write_bytes(b"x")
    result = cli("import", data_dir / "web_small.csv", AS_OF)
    assert result.exit_code == 3 and "Excel/WPS" in result.stderr
    assert book.read_bytes() == before
    assert cli("import", data_dir / "web_small.csv", AS_OF, "--force", "-q").exit_code == 0


def test_bad_rule_file_exits_2_with_file_and_line_and_book_untouched(cli, workspace, data_dir):
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    shutil.copy(data_dir / "bad_rules_columns.yaml", workspace / "rules" / "columns.yaml")
    result = cli("import", data_dir / "web_small.csv", AS_OF)
    assert result.exit_code == 2
    assert "columns.yaml, line 3" in result.stderr and "line 9" in result.stderr
    assert "Traceback" not in result.stderr
    assert book.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("corrupt.xlsx", b"PK\x03\x04garbage", "not a readable spreadsheet"),
        ("noheader.csv", b"a,b\n1,2\n", "no recognisable header"),
        ("undecodable.csv", bytes(range(128, 256)) * 40, "cannot decode"),
        ("notes.pdf", b"%PDF", "unsupported file type"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_book_untouched(cli, workspace, name, content, message):
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    (workspace / name).write_bytes(content)
    result = cli("import", workspace / name, AS_OF)
    assert result.exit_code == 2
    assert message in result.stderr and name in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert book.read_bytes() == before


def test_dry_run_changes_nothing(cli, workspace, data_dir):
    def files() -> dict[str, bytes]:
        # the book and everything leadkit keeps beside it (backups, the last write's record)
        return {
            str(p.relative_to(workspace)): p.read_bytes()
            for p in workspace.rglob("*")
            if p.is_file()
        }

    before = files()
    result = cli("import", data_dir / "web_small.csv", AS_OF, "--dry-run")
    assert result.exit_code == 0 and "dry run" in result.stderr
    assert files() == before


def test_template_never_overwrites(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("template", "t.xlsx", "--lang", "en").exit_code == 0
    assert looks_like_xlsx(tmp_path / "t.xlsx")
    again = cli("template", "t.xlsx")
    assert again.exit_code == 2 and "never overwrites" in again.stderr


def test_bad_as_of_is_a_usage_error(cli, workspace):
    result = cli("check", "--as-of", "someday")
    assert result.exit_code == 2 and "--as-of" in result.stderr


def test_demo_runs_and_reruns(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = cli("demo", "--as-of", "2026-03-01T09:00", "--json")
    assert first.exit_code == 0
    payload = json.loads(first.stdout)
    assert (
        payload["leads"] == 99
        and payload["imports"]["leadkit import inbox/website_form.csv --source 官网表单"][
            "rejected"
        ]
        == 2
    )
    assert cli("demo", "--as-of", "2026-03-01T09:00", "-q").exit_code == 0
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "important.txt").write_text("x")
    refused = cli("demo", "mine")
    assert refused.exit_code == 2 and (tmp_path / "mine" / "important.txt").exists()


@pytest.mark.parametrize("args", [("due", "--out"), ("report", "--out"), ("dedupe", "--review")])
def test_an_output_file_can_never_be_the_book(cli, workspace, data_dir, args):
    cli("import", data_dir / "web_small.csv", "-q")
    before = (workspace / "leads.xlsx").read_bytes()
    result = cli(*args, workspace / "leads.xlsx")
    assert result.exit_code == 2 and "is the lead book" in result.stderr
    assert (workspace / "leads.xlsx").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("log", "{lead}", "--note", "call", "--next", "3000-01-01"), "--next"),
        (("log", "{lead}", "--note", "call", "--as-of", "1677-01-01"), "--as-of"),
        (("report", "--from", "2026-01-01", "--to", "2999-12-31"), "--to"),
        (("check", "--as-of", "9999-12-31"), "--as-of"),
    ],
)
def test_a_date_out_of_range_on_the_command_line_is_a_usage_error(
    cli, workspace, data_dir, args, option
):
    """An option's far date is refused, naming that option, and the book is left as it was."""
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    lead = str(
        bookio.load_book(workspace / "leads.xlsx", _rules(), "zh", "Asia/Shanghai")
        .leads["lead_id"]
        .iloc[0]
    )
    before = (workspace / "leads.xlsx").read_bytes()
    result = cli(*(a.format(lead=lead) for a in args))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and option in result.stderr
    assert (workspace / "leads.xlsx").read_bytes() == before


def _rules():
    from leadkit.rules.loader import Rules

    return Rules().columns


def test_a_far_date_typed_in_a_cell_never_bricks_the_book(cli, workspace, data_dir):
    """A real date cell in year 3026 is kept as text, reported, and every command still runs."""
    import datetime as dt

    import openpyxl

    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    wb = openpyxl.load_workbook(workspace / "leads.xlsx")
    ws = wb["线索"]
    headers = [c.value for c in ws[1]]
    for header in ("获取时间", "下次跟进时间", "分配时间"):
        ws.cell(row=2, column=headers.index(header) + 1, value=dt.datetime(3026, 5, 1, 9, 30))
    wb.save(workspace / "leads.xlsx")
    found = cli("check", AS_OF, "--json")
    assert found.exit_code == 1
    problems = {(p["row"], p["column"]) for p in json.loads(found.stdout)["problems"]}
    assert {(2, "获取时间"), (2, "下次跟进时间")} <= problems
    for command in (("score",), ("assign", "--by", "round-robin"), ("recycle",), ("due",),
                    ("report", "--period", "month"), ("log", "{lead}", "--note", "called")):  # fmt: skip
        lead = str(
            bookio.load_book(workspace / "leads.xlsx", _rules(), "zh", "Asia/Shanghai")
            .leads["lead_id"]
            .iloc[1]
        )
        result = cli(*(a.format(lead=lead) for a in command), AS_OF, "-q")
        assert result.exit_code in (0, 1), (command, result.stderr)
    back = bookio.load_book(workspace / "leads.xlsx", _rules(), "zh", "Asia/Shanghai").leads
    assert str(back.loc[2, "created_at"]).startswith("3026-05-01")


def test_the_readme_demo_block_is_the_demos_output(cli, tmp_path, monkeypatch):
    """The README promises real output: its demo block's commands and summary lines are the demo's."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\$ leadkit demo --as-of 2026-03-01T09:00\n(.*?)```", text, re.S)
    assert block, "README.md has lost its demo block"

    def said(lines: list[str]) -> list[str]:
        # commands and their indented summaries; tables (box drawing) and the README's "…"
        # abbreviations of the later import tables are left out
        return [
            line.rstrip()
            for line in lines
            if line.startswith(("$ ", "  ")) and not line.startswith("  … ")
        ]

    monkeypatch.chdir(tmp_path)
    result = cli("demo", "--as-of", "2026-03-01T09:00")
    assert result.exit_code == 0, result.stderr
    promised = said(block[1].splitlines())
    assert len(promised) > 20 and "$ leadkit run --steps score,assign --by rules" in promised
    assert said(result.stderr.splitlines()) == promised


@pytest.mark.parametrize(
    ("flags", "heard"), [([], b""), (["-W", "default"], b"UserWarning: noise")]
)
def test_library_warnings_are_off_unless_asked_for(flags, heard):
    code = (
        "import warnings\nfrom leadkit.cli import library_warnings_off\n"
        "library_warnings_off()\nwarnings.warn('noise')\n"
    )
    done = subprocess.run(
        [sys.executable, *flags, "-c", code],
        capture_output=True,
        env={**os.environ, "PYTHONWARNINGS": ""},
    )
    assert done.returncode == 0
    assert (heard in done.stderr) if heard else done.stderr == b""


def test_a_command_has_arrow_keep_freed_pages_in_a_fresh_process(workspace, data_dir):
    # a fresh process: what a command sets, nothing an earlier test did
    script = (
        "import pyarrow as pa, sys\n"
        "from leadkit.cli import main\n"
        "sys.argv = ['leadkit', 'check', '-q']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(pa.default_memory_pool().backend_name)\n"
    )
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow has no jemalloc: the default allocator stays")
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=workspace, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "jemalloc"
    # the library alone leaves the process's allocator as it was
    lib = "import pyarrow as pa, leadkit.pipeline\nprint(pa.default_memory_pool().backend_name)\n"
    out = subprocess.run([sys.executable, "-c", lib], capture_output=True, text=True, check=True)
    assert out.stdout.strip() != "jemalloc"
