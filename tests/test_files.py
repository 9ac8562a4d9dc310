"""Replacing a file whole: the old file or the new one, never half, and no temporary left."""

from __future__ import annotations

import os
import stat

import pytest

from leadkit.files import expand_inputs, remove_stale_temps, replacing


def test_the_new_content_replaces_the_old(tmp_path):
    target = tmp_path / "sub" / "state.json"  # the folder is made if missing
    with replacing(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("new", encoding="utf-8")
        assert not target.exists(), "nothing reaches the target before the block ends"
    assert target.read_text(encoding="utf-8") == "new"
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "leads.xlsx"
    target.write_bytes(b"old book")
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_bytes(b"half a bo")
        raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"old book"
    assert [p.name for p in tmp_path.iterdir()] == ["leads.xlsx"]


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "shared" / "team.xlsx"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "leads.xlsx"
    link.symlink_to(real)
    with replacing(link) as tmp:
        assert tmp.parent == real.parent  # beside the real file: the rename stays on its disk
        tmp.write_bytes(b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_mode_owner_and_group_are_kept(tmp_path):
    target = tmp_path / "leads.xlsx"
    target.write_bytes(b"old")
    target.chmod(0o640)
    gid = 100 if os.getuid() == 0 else os.getgid()
    if os.getuid() == 0:
        os.chown(target, 1000, gid)
    before = target.stat()
    with replacing(target) as tmp:
        tmp.write_bytes(b"new")
    after = target.stat()
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    target = tmp_path / "leads.xlsx"
    dead = tmp_path / f".leads.xlsx.{2**22 + 1}.tmp"
    live = tmp_path / f".leads.xlsx.{os.getppid()}.tmp"
    other = tmp_path / f".notes.txt.{2**22 + 1}.tmp"  # another file's: not ours to judge here
    for path in (dead, live, other):
        path.write_bytes(b"half")
    with replacing(target) as tmp:
        tmp.write_bytes(b"new")
    assert not dead.exists() and live.exists() and other.exists()
    assert remove_stale_temps(tmp_path) == [other]


def test_a_pattern_that_matches_nothing_is_set_aside_and_a_missing_file_is_kept(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "b.csv").write_text("x", encoding="utf-8")
    (inbox / "a.csv").write_text("x", encoding="utf-8")
    odd = inbox / "odd[1].csv"  # a real file whose name looks like a pattern is taken as it is
    odd.write_text("x", encoding="utf-8")
    found, unmatched = expand_inputs([
        inbox / "*.xlsx", inbox / "?.csv", odd, inbox / "gone.csv", inbox / "events" / "*.csv",
    ])  # fmt: skip
    # an unexpanded pattern (quoted, or a shell that does not expand) is expanded, sorted
    assert found == [inbox / "a.csv", inbox / "b.csv", odd, inbox / "gone.csv"]
    assert unmatched == [inbox / "*.xlsx", inbox / "events" / "*.csv"]
