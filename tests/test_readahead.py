"""The book's Leads sheet read ahead on the second core: used only when the file is unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from leadkit import pipeline, readahead
from leadkit.errors import LeadkitError


def imported(workspace: Path, data_dir: Path) -> Path:
    ctx = pipeline.context(as_of="2026-03-10T09:00", cwd=workspace)
    pipeline.import_files(ctx, [data_dir / "web_small.csv"], source="官网表单")
    return ctx.book_path


def test_the_sheet_read_ahead_is_the_sheet_load_book_reads(workspace, data_dir):
    book = imported(workspace, data_dir)
    ctx = pipeline.context(cwd=workspace, read_ahead=True)
    assert ctx.read_ahead is not None
    taken = pipeline.load(ctx)
    assert ctx.read_ahead is None, "the read-ahead is handed over once"
    plain = pipeline.load(pipeline.context(cwd=workspace))
    pd.testing.assert_frame_equal(taken.leads, plain.leads)
    assert taken.order == plain.order
    ahead = readahead.start(book, lambda title: title == "线索")
    title, loaded = ahead.take(book)
    assert title == "线索"
    assert loaded.num_rows == len(plain.leads)


def test_a_save_after_the_read_ahead_is_never_lost(workspace, data_dir):
    imported(workspace, data_dir)
    early = pipeline.context(cwd=workspace, read_ahead=True)
    early.read_ahead._thread.join()  # the read is over before the other save starts

    def add_one(book):
        extra = book.leads.iloc[:1].assign(lead_id="LX2026999999", company="后来的公司")
        book.append("leads", extra)

    pipeline.update_book(pipeline.context(cwd=workspace), "test", add_one)
    leads = pipeline.load(early).leads
    assert "后来的公司" in set(leads["company"]), (
        "a book changed since the read-ahead is read again"
    )


def test_a_file_changed_in_place_is_read_again(workspace, data_dir):
    book = imported(workspace, data_dir)
    ahead = readahead.start(book, lambda title: True)
    ahead._thread.join()
    stat = book.stat()
    os.utime(book, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # Excel saving in place
    assert ahead.take(book) is None


def test_no_read_ahead_for_what_is_not_an_xlsx_book(tmp_path):
    assert readahead.start(tmp_path / "missing.xlsx", lambda title: True) is None
    csv = tmp_path / "leads.csv"
    csv.write_text("a,b\n1,2\n", encoding="utf-8")
    assert readahead.start(csv, lambda title: True) is None


def test_a_broken_book_still_gets_its_one_line_error(workspace):
    book = workspace / "leads.xlsx"
    book.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LeadkitError) as plain:
        pipeline.load(pipeline.context(cwd=workspace))
    ctx = pipeline.context(cwd=workspace, read_ahead=True)
    assert ctx.read_ahead is not None
    with pytest.raises(LeadkitError, match="not a readable spreadsheet") as ahead:
        pipeline.load(ctx)
    assert str(ahead.value) == str(plain.value)


def test_the_cli_reads_the_clock_and_the_rules_before_importing_pandas():
    """Otherwise there is nothing to overlap the read-ahead with (nor the mail and HTTP clients:
    leadkit.yaml's notify: settings are read without leadkit.notify)."""
    code = (
        "import sys, leadkit.cli, leadkit.context\n"
        "ctx = leadkit.context.context(as_of='2026-03-01T09:00')\n"
        "ctx.rules.columns\n"
        "print(sorted(m for m in ('pandas', 'numpy', 'leadkit.pipeline', 'smtplib')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
