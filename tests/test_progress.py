"""The progress bar: drawn on a real terminal (a pty), never under -q, --json or into a pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests_support import inbox_workspace

import leadkit
from leadkit import pipeline

AS_OF = "2026-03-02T09:00"
TREE = Path(leadkit.__file__).resolve().parents[1]
BAR = "━"  # rich's bar character


def _workspace(tmp_path: Path, data_dir: Path) -> Path:
    return inbox_workspace(tmp_path / "ws", data_dir)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CI")}
    return {**env, "TERM": "xterm-256color", "COLUMNS": "100", "PYTHONPATH": str(TREE)}


def _on_pty(args: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    """Run leadkit with stderr on a new pseudo-terminal: (exit code, what the terminal got, stdout)."""
    master, slave = os.openpty()
    out = cwd / "stdout.bin"
    with out.open("wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadkit", *args], cwd=cwd, env=_env(),
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=slave,
        )  # fmt: skip
    os.close(slave)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    return proc.wait(timeout=300), screen, out.read_bytes()


def test_bar_on_a_terminal(tmp_path: Path, data_dir: Path):
    folder = _workspace(tmp_path, data_dir)
    rc, screen, _ = _on_pty(["run", "--as-of", AS_OF], folder)
    assert rc == 0, screen
    text = screen.decode("utf-8", "replace")
    assert BAR in text
    for stage in ("reading the files", "reading the book", "import", "score", "writing the book"):
        assert stage in text, stage
    assert "recycle: done" in text  # the summary lines still follow the bar


@pytest.mark.parametrize("flag", ["-q", "--json"])
def test_no_bar_when_quiet_or_json(tmp_path: Path, data_dir: Path, flag: str):
    folder = _workspace(tmp_path, data_dir)
    rc, screen, stdout = _on_pty(["run", "--as-of", AS_OF, flag], folder)
    assert rc == 0, screen
    assert screen == b""
    if flag == "--json":
        assert json.loads(stdout)["steps"][0] == "import"


def test_no_bar_into_a_pipe(tmp_path: Path, data_dir: Path):
    folder = _workspace(tmp_path, data_dir)
    r = subprocess.run(
        [sys.executable, "-m", "leadkit", "run", "--as-of", AS_OF], cwd=folder, env=_env(),
        capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert "import: done" in err
    assert BAR not in err and "\x1b[" not in err and "reading the book" not in err


def test_pipeline_announces_each_stage(tmp_path: Path, data_dir: Path):
    folder = _workspace(tmp_path, data_dir)
    ctx = pipeline.context(cwd=folder, as_of=AS_OF)
    seen: list[tuple[str, int, int]] = []
    ctx.progress = lambda label, done, total: seen.append((label, done, total))
    pipeline.run(ctx, ["import", "score", "due"])
    assert seen == [
        ("reading the files", 0, 6), ("reading the book", 1, 6), ("import", 2, 6),
        ("score", 3, 6), ("writing the book", 4, 6), ("due", 5, 6), ("done", 6, 6),
    ]  # fmt: skip
    # a single command: read, its step, write
    seen.clear()
    pipeline.score(ctx)
    assert [s[0] for s in seen] == ["reading the book", "score", "writing the book", "done"]
