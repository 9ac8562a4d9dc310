"""The README's crontab run as cron runs it: every command silent under -q when all is well.

Each command of the crontab section is run by /bin/sh (which, like cron's, passes a pattern that
matches nothing on as it stands) in a subprocess: the `leadkit` executable next to sys.executable,
this tree on PYTHONPATH, a cron-sized environment, a real SMTP and a real HTTP server on 127.0.0.1
for `due --notify both`. Once on the demo workspace and once on a generated book of 6,500 leads (more
with LEADKIT_QUIET_ROWS) whose columns make the spreadsheet reader fall back to text (and log it, unless quieted).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import leadkit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXE = BIN / "leadkit"
TREE = Path(leadkit.__file__).resolve().parents[1]  # this checkout, or the installed package
SETUP_AS_OF = "--as-of=2026-11-30T09:00"
PASSWORD = "s3cret"

# a morning's inbox as the crontab expects it: new leads, today's behaviour, an hourly web lead
NEW_LEADS = (
    "公司名称,联系人,手机,电子邮箱,所在城市,获取时间\n"
    "杭州晨星智能科技有限公司,周明,13857112345,zhouming@chenxing.cn,杭州市,2026-12-01 10:00\n"
    "苏州恒瑞精密制造有限公司,吴芳,13962154321,wufang@hengrui.com,苏州市,2026-12-01 11:30\n"
)
EVENTS = "手机,时间,行为\n13857112345,2026-12-01 12:00,下载资料\n"
WEB_LEAD = (
    "公司名称,联系人,手机,获取时间\n成都云启数据服务有限公司,陈静,13908012345,2026-12-01 13:00\n"
)


def crontab_commands() -> list[str]:
    """The shell commands of the README's crontab, in order, `cd /srv/sales` taken off."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"### A crontab for a small team\n+```cron\n(.*?)```", text, re.S)
    assert block, "README.md has lost its crontab section"
    commands = []
    for line in block[1].splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        *_when, command = line.split(maxsplit=5)
        first, *rest = command.split(" && ")
        assert first == "cd /srv/sales", line
        commands.extend(rest)
    return commands


def cron_env(home: Path) -> dict[str, str]:
    """What cron gives a job (HOME, a bare PATH, no locale), with this leadkit first on PATH."""
    return {
        "HOME": str(home),
        "LOGNAME": "leadkit",
        "SHELL": "/bin/sh",
        "PATH": f"{BIN}:/usr/bin:/bin",
        "PYTHONPATH": str(TREE),
        "LEADKIT_SMTP_PASSWORD": PASSWORD,
    }


def sh(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["/bin/sh", "-c", command], cwd=cwd, env=env, capture_output=True, timeout=900
    )


def leadkit_run(*args: str, cwd: Path) -> None:
    """A setup step (not under test): must succeed; what it says does not matter."""
    done = subprocess.run(
        [str(EXE), *args], cwd=cwd, env=cron_env(cwd), capture_output=True, timeout=900
    )
    assert done.returncode == 0, done.stderr.decode()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, str, list[str], list[str]]]:
    """(SMTP port, webhook base URL, recipients mailed, webhook paths posted)."""
    mailed: list[str] = []
    posted: list[str] = []

    class Mailbox:
        async def handle_DATA(self, server, session, envelope):
            mailed.extend(envelope.rcpt_tos)
            return "250 OK"

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            posted.append(self.path)
            body = json.dumps({"errcode": 0}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(
        Mailbox(),
        hostname="127.0.0.1",
        port=port,
        authenticator=lambda server, session, envelope, mechanism, data: AuthResult(
            success=isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        ),
        auth_require_tls=False,
    )
    smtp.start()
    web = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        yield port, f"http://127.0.0.1:{web.server_address[1]}", mailed, posted
    finally:
        smtp.stop()
        web.shutdown()
        web.server_close()


def cron_ready(ws: Path, servers: tuple[int, str, list[str], list[str]]) -> None:
    """Notify settings pointing at the local servers, and a morning's files in the inbox."""
    port, url, _, _ = servers
    cfg = yaml.safe_load((ws / "leadkit.yaml").read_text(encoding="utf-8"))
    cfg["notify"] = {
        "email": {
            "host": "127.0.0.1", "port": port, "security": "none", "user": "bot",
            "sender": "leadkit@example.com", "manager": "boss@example.com",
        },
        "webhooks": [{"kind": "wecom", "url": f"{url}/wecom?key=k"}],
    }  # fmt: skip
    (ws / "leadkit.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    inbox = ws / "inbox"
    (inbox / "events").mkdir(parents=True)
    (inbox / "web").mkdir()
    (inbox / "new.csv").write_text(NEW_LEADS, encoding="utf-8")
    (inbox / "events" / "today.csv").write_text(EVENTS, encoding="utf-8")
    (inbox / "web" / "hour.csv").write_text(WEB_LEAD, encoding="utf-8")


def assert_cron_is_silent(ws: Path) -> None:
    env = cron_env(ws)
    assert shutil.which("leadkit", path=env["PATH"]) == str(EXE)
    ran = []
    for command in crontab_commands():
        done = sh(command, ws, env)
        ran.append((command, done.returncode, done.stdout, done.stderr))
    assert [(c, 0, b"", b"") for c, *_ in ran] == ran


def fallback_logged(book: Path) -> bytes:
    """What the spreadsheet reader logs reading `book` when nobody quiets it."""
    probe = (
        "import fastexcel, sys\n"
        "r = fastexcel.read_excel(sys.argv[1])\n"
        "for s in r.sheet_names: r.load_sheet(s, schema_sample_rows=None).to_arrow()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", probe, str(book)], capture_output=True, timeout=300
    ).stderr


def test_the_readme_crontab_is_silent_on_the_demo_workspace(tmp_path, servers):
    ws = tmp_path / "sales"
    leadkit_run("demo", str(ws), "-q", SETUP_AS_OF, cwd=tmp_path)
    inbox = ws / "inbox"
    # the demo's samples are in the book already; its closed history gives `train` to learn from
    leadkit_run("import", "inbox/history.xlsx", "--sheet", "线索", "-q", SETUP_AS_OF, cwd=ws)
    for done in inbox.glob("*.*"):
        if done.suffix in {".csv", ".xlsx"}:
            done.rename(tmp_path / done.name)
    assert b"Could not determine dtype" in fallback_logged(ws / "leads.xlsx")
    cron_ready(ws, servers)
    _, _, mailed, posted = servers
    before = len(mailed), len(posted)
    assert_cron_is_silent(ws)
    assert (len(mailed), len(posted)) > before, "due --notify both sent its reminders"


def test_the_readme_crontab_is_silent_on_a_generated_book(tmp_path, servers):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import gen_history
        import gen_leads
    finally:
        sys.path.remove(str(ROOT / "bench"))
    ws = tmp_path / "sales"
    leadkit_run("init", str(ws), "-q", cwd=tmp_path)
    # LEADKIT_QUIET_ROWS=100000 runs the same check on a bench-sized book (about 25 CPU minutes)
    rows = int(os.environ.get("LEADKIT_QUIET_ROWS", "5000"))
    gen_leads.generate(rows).to_csv(tmp_path / "leads.csv", index=False)
    history, events = gen_history.generate(max(1500, rows * 3 // 10))
    history.to_csv(tmp_path / "history.csv", index=False)
    events.to_csv(tmp_path / "events.csv", index=False)
    for args in (
        [str(tmp_path / "leads.csv")],
        [str(tmp_path / "history.csv")],
        ["--events", str(tmp_path / "events.csv")],
    ):
        leadkit_run("import", *args, "-q", SETUP_AS_OF, cwd=ws)
    assert b"Could not determine dtype" in fallback_logged(ws / "leads.xlsx")
    cron_ready(ws, servers)
    assert_cron_is_silent(ws)


def test_a_real_problem_still_says_its_one_line_under_quiet(tmp_path):
    ws = tmp_path / "sales"
    leadkit_run("init", str(ws), "-q", cwd=tmp_path)
    env = cron_env(ws)
    (ws / "inbox").mkdir()
    (ws / "inbox" / "broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    book = (ws / "leads.xlsx").read_bytes()
    missing = sh("leadkit import inbox/today.csv -q", ws, env)
    assert (missing.returncode, missing.stdout) == (2, b"")
    assert missing.stderr == b"leadkit: error: inbox/today.csv: file not found\n"
    broken = sh("leadkit import inbox/*.csv inbox/*.xlsx -q", ws, env)
    assert (broken.returncode, broken.stdout) == (2, b"")
    [line] = broken.stderr.decode().splitlines()
    assert line.startswith("leadkit: error: inbox/broken.xlsx")
    assert (ws / "leads.xlsx").read_bytes() == book


def test_every_other_command_is_silent_under_quiet_on_the_demo_workspace(tmp_path):
    """What the crontab does not run: each command a person or a script may add, quiet on success."""
    import openpyxl

    ws = tmp_path / "sales"
    leadkit_run("demo", str(ws), "-q", SETUP_AS_OF, cwd=tmp_path)
    sheet = openpyxl.load_workbook(ws / "leads.xlsx", read_only=True)["线索"]
    header, *rows = sheet.iter_rows(values_only=True)
    at = {name: i for i, name in enumerate(header)}
    live = [r for r in rows if r[at["重复于"]] is None and r[at["客户状态"]] == "未接触"]
    owned = next(r[at["线索编号"]] for r in live if r[at["负责人"]])
    env = cron_env(ws)
    leadkit_run("recycle", "--as-of=2026-12-30T09:00", cwd=ws)  # a month on: the neglected go back
    pooled = openpyxl.load_workbook(ws / "leads.xlsx", read_only=True)["线索"]
    pool = next(
        r[at["线索编号"]]
        for r in list(pooled.iter_rows(values_only=True))[1:]
        if r[at["负责人"]] is None and r[at["重复于"]] is None and r[at["客户状态"]] == "未接触"
    )
    was = next(r[at["负责人"]] for r in rows if r[at["线索编号"]] == pool)
    taker = "李娜" if was != "李娜" else "张伟"  # the rep a lead was taken from may not claim it
    later = "--as-of=2026-12-30T10:00"
    commands = [
        f"leadkit claim {pool} --owner {taker} -q {later}",
        f"leadkit run -q {later}",
        f"leadkit log {owned} --note 电话沟通 --status 初步接洽 --next 2027-01-05 -q {later}",
        f"leadkit due -q {later}",
        "leadkit due -q --out due.xlsx " + later,
        "leadkit report --period month -q --out month.xlsx " + later,
        f"leadkit report --period quarter -q {later}",
        "leadkit check --settings -q",
        "leadkit cron -q",
        "leadkit template blank.xlsx -q",
        "leadkit undo -q",
        "leadkit redo -q",
        "leadkit init ../elsewhere -q",
    ]
    ran = [(c, *_outcome(sh(c, ws, env))) for c in commands]
    assert [(c, 0, b"", b"") for c, *_ in ran] == ran
    assert (ws / "due.xlsx").is_file() and (ws / "month.xlsx").is_file()


def _outcome(done: subprocess.CompletedProcess[bytes]) -> tuple[int, bytes, bytes]:
    return done.returncode, done.stdout, done.stderr
