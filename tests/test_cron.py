"""`leadkit cron`'s line works where cron runs it: an empty environment, no PATH."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests_support import inbox_workspace

from leadkit import pipeline
from leadkit.cron import crontab_line

WEBHOOK = """notify:
  webhooks:
    - {kind: dingtalk, url: "http://127.0.0.1:9/robot/send", secret_env: LEADKIT_TEST_DING}
"""


def _command(line: str) -> str:
    return line.split(None, 5)[5]  # after the five schedule fields


def test_crontab_line_runs_with_empty_path(tmp_path: Path, data_dir: Path, cli, monkeypatch):
    folder = inbox_workspace(tmp_path / "sales ws", data_dir)  # a space: the line quotes the path
    monkeypatch.chdir(folder)
    r = cli("cron")
    assert r.exit_code == 0, r.output
    line = r.stdout.strip().splitlines()[-1]
    assert line.startswith("30 8 * * 1-5  cd ")
    done = subprocess.run(
        ["env", "-i", "/bin/sh", "-c", _command(line)], cwd="/", capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""  # -q: cron mails nothing
    assert list((folder / "inbox" / "done").glob("*/web.csv"))
    assert len(pipeline.load(pipeline.context(cwd=folder)).leads) > 0


def test_secrets_come_from_the_env_file(tmp_path: Path, cli, monkeypatch):
    folder = tmp_path / "ws"
    folder.mkdir()
    pipeline.init(folder, "zh")
    config = folder / "leadkit.yaml"
    config.write_text(config.read_text(encoding="utf-8") + WEBHOOK, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.delenv("LEADKIT_TEST_DING", raising=False)
    r = cli("check", "--settings")
    assert r.exit_code == 2
    assert "LEADKIT_TEST_DING" in r.stderr
    monkeypatch.setenv("LEADKIT_TEST_DING", "s3cret")
    r = cli("check", "--settings", "--json")
    assert r.exit_code == 0, r.output
    assert "s3cret" not in r.output
    r = cli("cron")
    comment, line = r.stdout.strip().splitlines()
    assert "LEADKIT_TEST_DING" in comment and "s3cret" not in r.stdout
    # from cron's empty environment the variable arrives through .leadkit/cron.env only
    check = _command(line).replace(" run -q", " check --settings -q")
    env_file = folder / ".leadkit" / "cron.env"
    env_file.parent.mkdir(exist_ok=True)
    env_file.write_text("LEADKIT_TEST_DING=s3cret\n", encoding="utf-8")
    done = subprocess.run(["env", "-i", "/bin/sh", "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    env_file.write_text("OTHER=1\n", encoding="utf-8")
    done = subprocess.run(["env", "-i", "/bin/sh", "-c", check], capture_output=True, text=True)
    assert done.returncode == 2 and "LEADKIT_TEST_DING" in done.stderr


def test_crontab_line_quotes():
    line = crontab_line(Path("/srv/it's"), ["/opt/v env/bin/leadkit"], schedule="0 9 * * *")
    assert line == "0 9 * * *  cd '/srv/it'\"'\"'s' && '/opt/v env/bin/leadkit' run -q"
