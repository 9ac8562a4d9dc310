"""Typed choices and the one error format (#19): a typo in any option value, a date option that is
not a date, an unknown option or command is exit 2 with one line `leadkit: error: …`, which
names the option; never typer's boxed screen, never a silent success."""

from __future__ import annotations

import subprocess
import sys

import pytest

AS_OF = "--as-of=2026-03-12T09:00"


def _one_error_line(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("leadkit: error: "), lines
    assert "╭" not in result.stderr and "Usage:" not in result.stderr
    return lines[0].removeprefix("leadkit: error: ")


@pytest.mark.parametrize(
    ("args", "option", "choices"),
    [
        (("report", "--notify", "emial"), "--notify", "'email', 'webhook', 'both'"),
        (("report", "--period", "decade"), "--period", "'week', 'month', 'quarter', 'year'"),
        (("report", "--format", "xml"), "--format", "'table', 'json', 'md'"),
        (("assign", "--by", "magic"), "--by", "'region', 'industry', 'grade', 'round-robin'"),
        (("run", "--by", "magic"), "--by", "'rules'"),
        (("run", "--notify", "sms"), "--notify", "'email', 'webhook', 'both'"),
        (("due", "--notify", "emial"), "--notify", "'email', 'webhook', 'both'"),
        (("init", "x", "--lang", "fr"), "--lang", "'zh', 'en'"),
        (("template", "t.xlsx", "--lang", "fr"), "--lang", "'zh', 'en'"),
    ],
)
def test_a_typo_in_a_choice_is_a_usage_error_naming_the_option(
    cli, workspace, args, option, choices
):
    before = (workspace / "leads.xlsx").read_bytes()
    clock = () if args[0] in ("init", "template") else (AS_OF,)  # the two without a clock
    line = _one_error_line(cli(*args, *clock))
    assert line.startswith(f"{option}: '{args[-1]}' is not one of "), line
    assert choices in line
    assert (workspace / "leads.xlsx").read_bytes() == before


def test_run_steps_names_the_unknown_step(cli, workspace):
    line = _one_error_line(cli("run", "--steps", "score,nosuch", AS_OF))
    assert line == (
        "--steps: unknown step(s) nosuch; use import, dedupe, score, assign, recycle, due, report"
    )


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("check", "--as-of", "someday"), "--as-of"),
        (("log", "LX1", "--note", "x", "--next", "someday"), "--next"),
        (
            ("log", "LX1", "--note", "x", "--feedback", "价格类", "--close-by", "someday"),
            "--close-by",
        ),
        (("report", "--from", "someday", "--to", "2026-03-01"), "--from"),
        (("report", "--from", "2026-01-01", "--to", "someday"), "--to"),
        (("report", "--from", "2026-01-01", "--to", "3000-01-01"), "--to"),
        (("log", "LX1", "--note", "x", "--next", "1066-10-14"), "--next"),
    ],
)
def test_each_date_option_names_itself(cli, workspace, args, option):
    line = _one_error_line(cli(*args))
    assert line.startswith(f"{option} "), line
    others = {"--as-of", "--next", "--close-by", "--from", "--to"} - {option}
    assert not any(other in line for other in others), line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("report", "--nosuch"), "No such option: --nosuch"),
        (("claim", "LX1"), "Missing option '--owner'"),
        (("nosuch",), "No such command 'nosuch'"),
        (("assign", "a.xlsx", "b.xlsx"), "unexpected extra argument"),
    ],
)
def test_the_parsers_own_errors_are_one_line_in_the_same_format(cli, workspace, args, says):
    line = _one_error_line(cli(*args))
    assert says in line and "-h'" in line, line


def test_the_installed_command_prints_the_same_line(workspace):
    """Through the console script too (not only the test runner): one line, exit 2."""
    done = subprocess.run(
        [sys.executable, "-m", "leadkit", "report", "--notify", "emial"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        "leadkit: error: --notify: 'emial' is not one of 'email', 'webhook', 'both'\n"
    )
    assert done.stdout == ""


def test_a_good_choice_still_works(cli, workspace):
    assert cli("report", "--period", "quarter", "--format", "json", AS_OF).exit_code == 0


def test_the_cli_choices_are_the_steps_own():
    """The typed choices are written out for the parser; they must stay the steps' lists."""
    from typing import get_args

    from leadkit import workspace
    from leadkit.cli.common import AssignBy, Channels, Period
    from leadkit.rules import report, routing

    assert [m.value for m in AssignBy] == list(routing.BY)
    assert [m.value for m in Period] == list(get_args(report.Period))
    assert [m.value for m in Channels] == list(get_args(workspace.Channels))
