"""Replacing a file whole: the old file or the new one, never half, and no temporary left."""

from __future__ import annotations

import pytest

from leadkit.files import replacing


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
