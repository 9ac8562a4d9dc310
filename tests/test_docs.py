"""README's command table, command reference and problem codes are generated (leadkit.cli.docs)
from the live `--help` and leadkit.problems; these tests fail when the README has drifted."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadkit.cli import docs

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.skipif(not README.is_file(), reason="an installed package without README")


@pytest.mark.parametrize("name", list(docs.BLOCKS))
def test_the_readme_block_is_what_the_commands_print(name):
    text = README.read_text(encoding="utf-8")
    assert docs.block(text, name) == docs.BLOCKS[name](), (
        f"README's {name} block differs from the live output: run `python -m leadkit.cli.docs README.md`"
    )


def test_every_command_and_option_is_in_the_reference():
    reference = docs.block(README.read_text(encoding="utf-8"), "command-reference")
    for name in docs.command_names():
        assert f"### leadkit {name}\n" in reference
    for option in ("--notify <email|webhook|both>", "--period <week|month|quarter|year>",
                   "--by <region|industry|grade|round-robin|load|rules>", "--steps <str>"):  # fmt: skip
        assert option in reference


def test_a_drifted_block_is_caught_and_rewritten():
    text = README.read_text(encoding="utf-8")
    live = docs.block(text, "commands")
    drifted = text.replace(live, live.replace("Create a workspace", "Make a workspace"), 1)
    assert docs.block(drifted, "commands") != docs.commands_table()
    assert docs.render(drifted) == text


def test_the_two_set_up_commands_stay_at_the_top():
    head = README.read_text(encoding="utf-8").split("<!-- BEGIN commands")[0]
    assert head.startswith(
        "# leadkit\n\n```sh\npython3 -m venv .venv && . .venv/bin/activate && pip install . && leadkit demo\n```\n\n"
        "```sh\npython3 -m venv .venv && . .venv/bin/activate && pip install '.[test]' && pytest\n```\n"
    )
