"""The safety around every write, end to end: full disks, read-only books and folders, symlinks,
foreign lock files, verified backups per book, undo and redo."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from tests_support import looks_like_xlsx

from leadkit import bookio
from leadkit.rules.loader import Rules

AS_OF = "--as-of=2026-03-10T09:00"
DEAD_PID = 2**22 + 12345  # above Linux's largest pid: never a running process


@pytest.fixture
def mount_tmpfs(tmp_path):
    """Mount a small tmpfs (we run as root) and unmount it afterwards."""
    mounted: list[Path] = []

    def mount(where: Path, size: str = "256k") -> Path:
        where.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); needs root")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path, leave: int) -> None:
    """Fill the file system of `folder` until only `leave` bytes are free."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    (folder / "filler").write_bytes(b"\0" * max(free - leave, 0))


def leads(path: Path):
    return bookio.load_book(path, Rules().columns, "zh", "Asia/Shanghai")


def one_line_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


# ---------------------------------------------------------------------------------------------
# Disk full


def test_disk_full_during_the_save_leaves_the_book_byte_identical(
    cli, workspace, data_dir, mount_tmpfs
):
    disk = mount_tmpfs(workspace / "small")
    book = disk / "leads.xlsx"
    shutil.copy(workspace / "leads.xlsx", book)
    before = book.read_bytes()
    fill(disk, leave=8192)  # room for the lock, not for a new book
    result = cli("import", data_dir / "web_small.csv", "--book", book, AS_OF)
    one_line_error(result, 2, "no space left on the disk", "leads.xlsx is untouched")
    assert book.read_bytes() == before
    assert temps(disk) == [] and not (disk / ".leads.xlsx.leadkit-lock").exists()
    (disk / "filler").unlink()  # space again: the same command now works
    assert cli("import", data_dir / "web_small.csv", "--book", book, AS_OF, "-q").exit_code == 0
    assert len(leads(book).leads) > 0


def test_disk_full_during_the_backup_leaves_the_book_and_no_half_backup(
    cli, workspace, data_dir, mount_tmpfs
):
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    state = mount_tmpfs(workspace / ".leadkit")
    fill(state, leave=4096)  # less than one copy of the book
    result = cli("import", data_dir / "web_small.csv", AS_OF)
    one_line_error(result, 2, "no space left on the disk")
    assert book.read_bytes() == before
    assert temps(workspace) == []
    backups = state / "backups"
    assert [p for p in backups.rglob("*") if p.is_file()] == []


def test_save_book_turns_a_full_disk_into_one_book_write_error(tmp_path, rules, mount_tmpfs):
    from leadkit.errors import BookWriteError

    disk = mount_tmpfs(tmp_path / "small")
    book = bookio.new_book(disk / "leads.xlsx", "zh", rules.columns)
    fill(disk, leave=4096)
    import datetime as dt

    with pytest.raises(BookWriteError, match="no space left") as caught:
        bookio.save_book(
            book,
            rules.columns,
            state_dir=tmp_path / "st",
            command="t",
            as_of=dt.datetime(2026, 3, 3),
        )
    assert caught.value.where.file is not None and "leads.xlsx" in str(caught.value.where.file)
    assert caught.value.exit_status == 2
    assert not (disk / "leads.xlsx").exists() and temps(disk) == []


# ---------------------------------------------------------------------------------------------
# Backups you can trust


def _only_backup(workspace: Path) -> Path:
    entries = [
        p for p in (workspace / ".leadkit" / "backups").rglob("*.xlsx") if "redo" not in p.parts
    ]
    assert len(entries) == 1, entries
    return entries[0]


def test_undo_refuses_a_backup_cut_short_and_leaves_the_book(cli, workspace, data_dir):
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    book = workspace / "leads.xlsx"
    after = book.read_bytes()
    backup = _only_backup(workspace)
    assert (backup.parent / (backup.name + ".sha256")).read_text().split()[0]
    with open(backup, "r+b") as fh:  # what a full disk left of a copy before backups verified
        fh.truncate(backup.stat().st_size // 2)
    result = cli("undo")
    one_line_error(result, 2, "does not verify", "cut short", "untouched", backup.name)
    assert book.read_bytes() == after
    assert backup.exists()  # kept, for the user to look at or delete


def test_undo_refuses_a_backup_whose_content_changed(cli, workspace, data_dir):
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    backup = _only_backup(workspace)
    shutil.copy(workspace / "leads.xlsx", backup)  # a whole .xlsx, but not the one backed up
    result = cli("undo")
    one_line_error(result, 2, "does not match the checksum")


def test_each_book_of_a_workspace_gets_its_own_content_back(cli, workspace, data_dir):
    """Two books of the same name in one workspace: each undo restores its own book."""
    first = workspace / "leads.xlsx"
    other = workspace / "east" / "leads.xlsx"
    other.parent.mkdir()
    assert cli("template", other).exit_code == 0
    first_before, other_before = first.read_bytes(), other.read_bytes()
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    assert cli("import", data_dir / "web_small.csv", "--book", other, AS_OF, "-q").exit_code == 0
    first_after = first.read_bytes()
    assert cli("undo", "--book", other, "-q").exit_code == 0
    assert other.read_bytes() == other_before and first.read_bytes() == first_after
    assert cli("undo", "-q").exit_code == 0
    assert first.read_bytes() == first_before
    assert cli("undo", "--book", other).exit_code == 2  # its only backup is used up


def test_rotation_counts_each_book_alone(cli, workspace, data_dir):
    cfg = workspace / "leadkit.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("backups: 20", "backups: 2"), "utf-8")
    other = workspace / "east" / "leads.xlsx"
    other.parent.mkdir()
    cli("template", other)
    assert cli("import", data_dir / "web_small.csv", "--book", other, AS_OF, "-q").exit_code == 0
    for _ in range(4):
        assert cli("score", AS_OF, "-q").exit_code == 0
    state = workspace / ".leadkit"
    assert len(list(bookio.book_backups(workspace / "leads.xlsx", state).glob("*.xlsx"))) == 2
    assert len(list(bookio.book_backups(other, state).glob("*.xlsx"))) == 1


def test_backups_of_the_old_shared_folder_stay_undoable(cli, workspace, data_dir):
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    # The layout before backups were per book: one folder, files named <stem>.<stamp>.<command>
    state = workspace / ".leadkit"
    shutil.rmtree(state / "backups")
    (state / "backups").mkdir()
    legacy = state / "backups" / "leads.20260309T090000000000.import.xlsx"
    legacy.write_bytes(before)
    result = cli("undo")
    assert result.exit_code == 0, result.stderr
    assert book.read_bytes() == before
    assert not legacy.exists()
    assert cli("redo", "-q").exit_code == 0  # and the migrated book has a redo list too
    assert book.read_bytes() != before


def test_undo_then_redo_brings_back_a_logged_follow_up(cli, workspace, data_dir):
    book = workspace / "leads.xlsx"
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    lead = str(leads(book).leads["lead_id"].iloc[0])
    before_log = book.read_bytes()
    assert cli("log", lead, "--note", "电话沟通，下周报价", AS_OF, "-q").exit_code == 0
    logged = book.read_bytes()
    assert cli("undo", "-q").exit_code == 0
    assert book.read_bytes() == before_log
    result = cli("redo")
    assert result.exit_code == 0 and "restored leads.xlsx" in result.stderr, result.stderr
    assert book.read_bytes() == logged
    assert "电话沟通，下周报价" in leads(book).sheets["activities"]["summary"].tolist()
    assert cli("undo", "-q").exit_code == 0  # the redo is undoable again
    assert book.read_bytes() == before_log
    # A write after an undo clears the redo list, as in an editor.
    assert cli("log", lead, "--note", "另一条", AS_OF, "-q").exit_code == 0
    one_line_error(cli("redo"), 2, "nothing to redo")
    assert cli("undo", "-q").exit_code == 0 and book.read_bytes() == before_log


def test_redo_is_listed_in_help(cli):
    out = cli("--help").stdout
    assert "redo" in out and out.index("undo") < out.index("redo") < out.index("demo")


# ---------------------------------------------------------------------------------------------
# The file as it was


def test_a_symlinked_book_is_written_through_and_locked_as_one(cli, workspace, data_dir):
    shared = workspace.parent / f"{workspace.name}-shared"
    shared.mkdir()
    real = shared / "team.xlsx"
    shutil.move(workspace / "leads.xlsx", real)
    link = workspace / "leads.xlsx"
    link.symlink_to(real)
    before = real.read_bytes()
    with bookio.book_lock(real, "score"):  # the real name holds the lock ...
        result = cli("import", data_dir / "web_small.csv", AS_OF)  # ... so the link waits
    assert result.exit_code == 3 and "busy" in result.stderr
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    assert link.is_symlink() and link.resolve() == real
    assert real.read_bytes() != before and len(leads(real).leads) > 0
    assert temps(shared) == [] and temps(workspace) == []
    assert cli("undo", "-q").exit_code == 0
    assert link.is_symlink() and real.read_bytes() == before


def test_mode_and_group_are_kept_on_rewrite(cli, workspace, data_dir):
    book = workspace / "leads.xlsx"
    book.chmod(0o664)
    gid = 100 if os.getuid() == 0 else os.getgid()  # "users"; another group needs root
    if os.getuid() == 0:
        os.chown(book, -1, gid)
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    st = book.stat()
    assert stat.S_IMODE(st.st_mode) == 0o664 and st.st_gid == gid
    assert cli("undo", "-q").exit_code == 0
    st = book.stat()
    assert stat.S_IMODE(st.st_mode) == 0o664 and st.st_gid == gid


def test_a_read_only_book_is_refused_unless_forced(cli, workspace, data_dir):
    book = workspace / "leads.xlsx"
    book.chmod(0o444)
    before = book.read_bytes()
    result = cli("import", data_dir / "web_small.csv", AS_OF)
    one_line_error(result, 2, "read-only", "-r--r--r--", "--force")
    assert book.read_bytes() == before
    assert cli("import", data_dir / "web_small.csv", AS_OF, "--force", "-q").exit_code == 0
    assert book.read_bytes() != before and stat.S_IMODE(book.stat().st_mode) == 0o444


def test_a_read_only_folder_is_one_line(cli, workspace, data_dir, mount_tmpfs):
    disk = mount_tmpfs(workspace / "ro")
    book = disk / "leads.xlsx"
    shutil.copy(workspace / "leads.xlsx", book)
    before = book.read_bytes()
    done = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only: {done.stderr!r}")
    result = cli("import", data_dir / "web_small.csv", "--book", book, AS_OF)
    one_line_error(result, 2, "read-only file system")
    assert book.read_bytes() == before


def test_a_libreoffice_lock_file_counts_as_open(cli, workspace, data_dir):
    book = workspace / "leads.xlsx"
    before = book.read_bytes()
    (workspace / ".~lock.leads.xlsx#").write_text(",Wang Wei,pc-7,02.12.2026 09:00,file:///home/w;")
    result = cli("import", data_dir / "web_small.csv", AS_OF)
    one_line_error(result, 3, ".~lock.leads.xlsx#", "--force")
    assert book.read_bytes() == before
    assert cli("import", data_dir / "web_small.csv", AS_OF, "--force", "-q").exit_code == 0


# ---------------------------------------------------------------------------------------------
# Lock files and stale temporaries


def test_a_garbage_lock_file_nobody_holds_is_taken_over(cli, workspace, data_dir):
    lock = workspace / ".leads.xlsx.leadkit-lock"
    for garbage in (b"", b"not a pid", b"12ab\x00\xff", b'{"pid": "x"}'):
        lock.write_bytes(garbage)
        result = cli("score", AS_OF, "-q")
        assert result.exit_code == 0, (garbage, result.stderr)
        assert not lock.exists()


def test_a_garbage_lock_file_a_live_process_holds_is_named(cli, workspace, data_dir):
    lock = workspace / ".leads.xlsx.leadkit-lock"
    lock.write_bytes(b"\x00garbage")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\n"
         f"f = open({str(lock)!r}, 'rb'); fcntl.flock(f, fcntl.LOCK_EX)\n"
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        before = (workspace / "leads.xlsx").read_bytes()
        result = cli("score", AS_OF)
        one_line_error(result, 3, "busy", str(lock), "not a leadkit lock")
        assert (workspace / "leads.xlsx").read_bytes() == before and lock.exists()
    finally:
        holder.kill()
        holder.wait()
    assert cli("score", AS_OF, "-q").exit_code == 0  # its holder gone, the lock is taken over


def test_temporaries_of_dead_processes_are_removed(cli, workspace, data_dir):
    assert cli("import", data_dir / "web_small.csv", AS_OF, "-q").exit_code == 0
    folder = bookio.book_backups(workspace / "leads.xlsx", workspace / ".leadkit")
    dead = [
        workspace / f".leads.xlsx.{DEAD_PID}.tmp",  # a save killed half-way
        workspace / f".leads.xlsx.leadkit-lock.{DEAD_PID}.tmp",
        folder / f".20260309T090000000000.import.xlsx.{DEAD_PID}.tmp",  # a backup killed
    ]
    live = workspace / f".leads.xlsx.{os.getppid()}.tmp"  # a process still running
    for path in [*dead, live]:
        path.write_bytes(b"PK\x03\x04half")
    assert cli("score", AS_OF, "-q").exit_code == 0
    assert [p for p in dead if p.exists()] == []
    assert live.exists()
    assert looks_like_xlsx(workspace / "leads.xlsx")


# ---------------------------------------------------------------------------------------------
# Permission denied (the suite runs as root, for which every folder is writable)

NOBODY = 65534


def _as_nobody(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run leadkit as the unprivileged user `nobody`, dropping root with setpriv."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot run as an unprivileged user")
    if os.getuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    drop = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    probe = subprocess.run(
        [*drop, sys.executable, "-c", "import leadkit.cli, pandas, fastexcel"],
        capture_output=True, text=True, cwd=cwd,
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"leadkit cannot be imported as nobody here: {probe.stderr.strip()[-200:]}")
    env = {**os.environ, "HOME": str(cwd)}
    return subprocess.run(
        [*drop, sys.executable, "-m", "leadkit", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )  # fmt: skip


def test_permission_denied_as_an_unprivileged_user_is_one_line(workspace, data_dir):
    # A shared folder the user may read but not write: the team's book on a colleague's share.
    shared = Path(__import__("tempfile").mkdtemp(prefix="leadkit-eacces-", dir="/tmp"))
    try:
        shutil.copytree(workspace, shared, dirs_exist_ok=True)
        source = shared / "web_small.csv"
        shutil.copy(data_dir / "web_small.csv", source)
        # One write by the folder's owner first, so there is a backup for `undo` to try.
        owner = [sys.executable, "-m", "leadkit", "import", str(source), AS_OF, "-q"]
        assert subprocess.run(owner, cwd=shared, capture_output=True).returncode == 0
        for path in [shared, *shared.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # owned by root: readable, not writable
        book = shared / "leads.xlsx"
        before = book.read_bytes()
        listing = sorted(p.name for p in shared.rglob("*"))
        done = _as_nobody(["import", str(source), AS_OF], shared)
        assert done.returncode == 2, (done.returncode, done.stderr)
        assert "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert "permission denied" in done.stderr and "leads.xlsx" in done.stderr, done.stderr
        assert book.read_bytes() == before
        assert sorted(p.name for p in shared.rglob("*")) == listing  # no temp, lock or backup left
        undone = _as_nobody(["undo"], shared)
        assert undone.returncode == 2, (undone.returncode, undone.stderr)
        assert undone.stderr.count("\n") == 1 and "permission denied" in undone.stderr
        assert book.read_bytes() == before
    finally:
        shutil.rmtree(shared, ignore_errors=True)
