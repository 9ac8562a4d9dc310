"""README's generated parts: the command table and reference from `--help`, the problem codes.

`python -m leadkit.cli.docs README.md` rewrites each block between its markers; tests/test_docs.py
fails when a block differs from what the live commands print (as sqlite-utils does with cog).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import typer
from typer.main import get_command
from typer.testing import CliRunner

from leadkit.cli import app

BEGIN = "<!-- BEGIN {name}: generated, `python -m leadkit.cli.docs README.md` -->"
END = "<!-- END {name} -->"
WIDTH = "100"  # click caps help at 80 columns; any terminal at least this wide prints the same


def command_names() -> list[str]:
    """The commands in the order `leadkit --help` lists them (pipeline order)."""
    group = get_command(app)
    return list(group.list_commands(typer.Context(group)))  # type: ignore[attr-defined]


def help_text(*args: str) -> str:
    """What `leadkit ARGS --help` prints, trailing spaces off."""
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="leadkit", env={"COLUMNS": WIDTH})
    if result.exit_code != 0:
        raise RuntimeError(f"leadkit {' '.join(args)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.stdout.strip("\n").splitlines())


def _usage(text: str) -> str:
    return text.splitlines()[0].removeprefix("Usage: ").strip()


def _summary(text: str) -> str:
    """The help's first paragraph after the usage line, as one line."""
    paragraph = text.split("\n\n")[1]
    return " ".join(paragraph.split()).replace("|", "\\|")


def commands_table() -> str:
    rows = ["| command | does |", "|---|---|"]
    for name in command_names():
        text = help_text(name)
        anchor = f"leadkit-{name}"
        rows.append(f"| [`{_usage(text)}`](#{anchor}) | {_summary(text)} |")
    return "\n".join(rows)


def command_reference() -> str:
    parts = []
    for name in command_names():
        parts.append(f"### leadkit {name}\n\n```\n{help_text(name)}\n```")
    return "\n\n".join(parts)


def problem_codes() -> str:
    from leadkit.problems import markdown_table

    return markdown_table()


BLOCKS = {
    "commands": commands_table,
    "command-reference": command_reference,
    "problem-codes": problem_codes,
}


def block(text: str, name: str) -> str:
    """The current content of block `name` in `text` (between its markers)."""
    pattern = re.escape(BEGIN.format(name=name)) + r"\n(.*?)\n" + re.escape(END.format(name=name))
    found = re.search(pattern, text, flags=re.S)
    if found is None:
        raise ValueError(f"README has no {name} block ({BEGIN.format(name=name)} … {END})")
    return found.group(1)


def render(text: str) -> str:
    """`text` with every generated block as the live commands print it now."""
    for name, make in BLOCKS.items():
        old = block(text, name)
        start = text.index(BEGIN.format(name=name)) + len(BEGIN.format(name=name)) + 1
        text = text[:start] + make() + text[start + len(old) :]
    return text


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or [Path("README.md")]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
