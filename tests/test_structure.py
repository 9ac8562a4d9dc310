"""The house's shape, checked: no import cycle, no module too long, every package says what it holds."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import leadkit
from leadkit.order import COMMANDS, PIPELINE, RUN_STEPS, follows

PACKAGE = Path(leadkit.__file__).resolve().parent
LONGEST = 520  # "no module over ~500 lines" (#19)


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under `if TYPE_CHECKING:`; they never run."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    lines.add(inner.lineno)
    return lines


def _imports(name: str, path: Path) -> set[str]:
    """The leadkit modules `name` imports, at import time or inside a function, with the packages
    whose `__init__` each import runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    + ([base] if base else [])
                )
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in MODULES else base)
        for target in targets:
            if target not in MODULES:
                continue
            found.add(target)
            # importing a.b.c runs a.b's __init__ first, unless we are inside a.b already
            parts = target.split(".")
            for i in range(2, len(parts)):
                parent = ".".join(parts[:i])
                if not (name == parent or name.startswith(parent + ".")):
                    found.add(parent)
    found.discard(name)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle() -> None:
    cycle = _cycle()
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    # the check above must be able to fail: two modules that import each other are a cycle
    GRAPH["leadkit.errors"].add("leadkit.clock")
    try:
        assert set(_cycle() or []) == {"leadkit.clock", "leadkit.errors"}
    finally:
        GRAPH["leadkit.errors"].discard("leadkit.clock")


def test_rules_never_import_a_step() -> None:
    wrong = {
        name: sorted(t for t in targets if not t.startswith(("leadkit.rules", "leadkit.errors")))
        for name, targets in GRAPH.items()
        if name.startswith("leadkit.rules")
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_steps_never_reach_the_cli_the_book_file_or_the_pipeline() -> None:
    # a step takes and returns frames; reading and writing the book is the pipeline's job
    wrong = {
        name: sorted(
            t
            for t in targets
            if t.startswith(("leadkit.cli", "leadkit.pipeline", "leadkit.context"))
        )
        for name, targets in GRAPH.items()
        if name.startswith("leadkit.steps")
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_no_module_is_over_about_500_lines() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > LONGEST
    }
    assert long == {}


def test_each_package_says_in_two_lines_what_lives_there() -> None:
    for name, path in MODULES.items():
        if path.name != "__init__.py":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        lines = [line for line in doc.splitlines() if line.strip()]
        assert len(lines) == 2, f"{name}: {doc!r}"


def test_run_s_steps_are_pipeline_steps_in_its_order() -> None:
    assert set(RUN_STEPS) <= set(PIPELINE) and follows(RUN_STEPS)
    assert len(set(COMMANDS)) == len(COMMANDS)


def test_leadkit_help_lists_the_commands_in_the_pipeline_order() -> None:
    from typer.testing import CliRunner

    from leadkit.cli import app

    shown = CliRunner().invoke(app, ["--help"]).stdout
    listed = re.findall(r"^  (\w+)\s{2,}\S", shown, re.M)
    assert listed == list(COMMANDS)


def test_the_demo_follows_the_pipeline_order() -> None:
    # the README's demo block is the demo's own output (test_cli checks that line by line)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\$ leadkit demo --as-of 2026-03-01T09:00\n(.*?)```", readme, re.S)
    assert block
    ran: list[str] = []
    for line in block[1].splitlines():
        if m := re.match(r"\$ leadkit (\w+)(?: --steps ([\w,]+))?", line):
            ran += m[2].split(",") if m[1] == "run" else [m[1]]
    steps = [s for s in ran if s in PIPELINE]
    assert len(steps) >= 8 and follows(steps), ran
    assert not follows([*steps, "import"])  # the check can fail
