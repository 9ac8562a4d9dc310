"""Shared fixtures: a fresh workspace, a CLI runner, and files written by other writers."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from leadkit import pipeline
from leadkit.cli import app
from leadkit.rules.loader import Rules

# No per-example deadline: on a shared CI machine a 200 ms deadline fails a correct test
# (seen: test_enrich's check-digit property at 224 ms under load); the properties stay as strict.
settings.register_profile("leadkit", deadline=None)
settings.load_profile("leadkit")

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def rules() -> Rules:
    return Rules()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh zh workspace as the current folder."""
    pipeline.init(tmp_path, "zh")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli():
    """Run `leadkit ARGS…` in-process; returns the click Result (stdout and stderr apart)."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return run


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture
def soffice(tmp_path: Path):
    """Convert a file with headless LibreOffice; CI sets LEADKIT_REQUIRE_SOFFICE so it never skips."""
    exe = soffice_path()
    if exe is None:
        if os.environ.get("LEADKIT_REQUIRE_SOFFICE"):
            pytest.fail("LibreOffice (soffice) is required here but not installed")
        pytest.skip("LibreOffice is not installed")
    profile = tmp_path / "lo-profile"

    def convert(src: Path, fmt: str, outdir: Path, infilter: str | None = None) -> Path:
        outdir.mkdir(parents=True, exist_ok=True)
        extra = [f"--infilter={infilter}"] if infilter else []
        subprocess.run(
            [exe, f"-env:UserInstallation=file://{profile}", "--headless", *extra, "--convert-to", fmt,
             "--outdir", str(outdir), str(src)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        # One file per sheet ("<stem>-<sheet>.csv") when a CSV filter asks for every sheet.
        produced = sorted(outdir.glob(src.stem + ".*")) or sorted(outdir.glob(src.stem + "-*"))
        assert produced, f"LibreOffice produced nothing for {src}"
        return produced[0]

    return convert
