"""Reminders end to end: a real SMTP server and a real HTTP server on 127.0.0.1, started here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from leadkit.notify import LIMITS, Reminder, split_markdown, webhook_requests
from leadkit.workspace import WebhookConfig

DING_SECRET = "SECdingtalk-test-secret"
FEISHU_SECRET = "feishu-test-secret"


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_policy))
        )
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"bot"
        and auth_data.password == b"s3cret"
    )
    return AuthResult(success=ok)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


class Received(list):
    """(path, JSON body, Content-Type) per request, and when the server read each one."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []


@pytest.fixture
def web():
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.times.append(time.monotonic())
            received.append((self.path, json.loads(body), self.headers.get("Content-Type")))
            if self.path.startswith("/flaky") and sum(p == self.path for p, _, _ in received) == 1:
                self.send_response(500)
                self.end_headers()
                return
            if self.path.startswith("/slow"):
                time.sleep(1.5)  # a robot slow to answer
            if self.path.startswith("/fail"):
                self.send_response(500)
                self.end_headers()
                return
            answer = {
                "/wecom": {"errcode": 0},
                "/ding": {"errcode": 0},
                "/feishu": {"code": 0},
            }.get(self.path.split("?")[0], {})
            data = json.dumps(answer).encode() if answer else b"ok"
            try:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except BrokenPipeError:  # the client gave up on a slow answer, as it should
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def configure(workspace, notify: dict) -> None:
    cfg = yaml.safe_load((workspace / "leadkit.yaml").read_text(encoding="utf-8"))
    cfg["notify"] = notify
    (workspace / "leadkit.yaml").write_text(
        yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8"
    )


def mail_ready(workspace, controller, monkeypatch):
    """The workspace mails through the test's SMTP server, as user bot with its password set."""
    configure(workspace, {"email": {"host": "127.0.0.1", "port": controller.port, "security": "none", "user": "bot",
                                    "sender": "leadkit@example.com", "manager": "boss@example.com"}})  # fmt: skip
    monkeypatch.setenv("LEADKIT_SMTP_PASSWORD", "s3cret")


def prepare_book(cli, data_dir):
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-09T09:00", "-q")
    cli("assign", "--by", "round-robin", "--as-of", "2026-03-09T09:00", "-q")


DUE_AT = "2026-03-12T09:00"  # first contacts due Wednesday 15:00 are overdue by 9 working... 18 clock hours


def test_email_per_rep_and_manager_digest_with_escalation(
    workspace, cli, data_dir, smtp, monkeypatch
):
    controller, inbox = smtp
    mail_ready(workspace, controller, monkeypatch)
    prepare_book(cli, data_dir)
    result = cli("due", "--notify", "email", "--as-of", DUE_AT)
    assert result.exit_code == 0, result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    by_to = {msg["To"]: (rcpts, msg) for rcpts, msg in inbox.messages}
    assert "boss@example.com" in by_to  # the digest
    reps = [to for to in by_to if to != "boss@example.com"]
    assert len(reps) == 4 and all(to.endswith("@example.com") for to in reps)
    rcpts, msg = by_to[reps[0]]
    assert (
        msg["Cc"] == "boss@example.com" and "boss@example.com" in rcpts
    )  # overdue > 4 h: escalated
    plain = msg.get_body(("plain",)).get_content()
    assert plain.startswith("2026-03-12") and "###" not in plain and "**" not in plain
    assert msg["Date"] and msg["Message-ID"].endswith("@example.com>")
    assert len({m["Message-ID"] for _, m in inbox.messages}) == len(inbox.messages)
    assert "<table" in msg.get_body(("html",)).get_content()
    assert "首次跟进已超时" in msg.get_body(("plain",)).get_content()
    # the same items are not sent twice; --force sends them again
    again = cli("due", "--notify", "email", "--as-of", "2026-03-12T11:00")
    assert "0 sent, 4 with nothing new" in again.stderr and len(inbox.messages) == 5
    cli("due", "--notify", "email", "--as-of", "2026-03-12T11:00", "--force", "-q")
    assert len(inbox.messages) == 10


def test_an_item_due_between_runs_goes_out_with_the_next_run_once(
    workspace, cli, data_dir, smtp, monkeypatch, tmp_path
):
    controller, inbox = smtp
    mail_ready(workspace, controller, monkeypatch)
    prepare_book(cli, data_dir)
    assert cli("due", "--notify", "email", "--as-of", "2026-03-12T10:00", "-q").exit_code == 0
    first_run = len(inbox.messages)
    # an A lead arrives and is assigned at 10:33: 2 working hours, due 12:33
    hot = tmp_path / "hot.csv"
    hot.write_text(
        "公司名称,姓名,手机号,线索等级\n新来科技有限公司,新人,13700001111,A\n", encoding="utf-8"
    )
    cli("import", hot, "--as-of", "2026-03-12T10:33", "-q")
    cli("assign", "--by", "load", "--as-of", "2026-03-12T10:33", "-q")
    result = cli("due", "--notify", "email", "--as-of", "2026-03-12T11:00", "--json")
    sent = json.loads(result.stdout)["notify"]["sent"]
    new = inbox.messages[first_run:]
    # the rep who got it, and the manager's digest of what is new; nothing else
    assert len(sent) == 2 and len(new) == 2
    rep_msg = next(m for _, m in new if m["To"] != "boss@example.com")
    text = rep_msg.get_body(("plain",)).get_content()
    assert "新来科技有限公司" in text and "首次跟进即将超时" in text and "03-12 12:33" in text
    assert "某某贸易" not in text, "items sent at 10:00 are not sent again"
    # a second run at the same time sends nothing new
    again = cli("due", "--notify", "email", "--as-of", "2026-03-12T11:00", "--json")
    assert json.loads(again.stdout)["notify"]["sent"] == [] and len(inbox.messages) == first_run + 2


def test_wrong_password_fails_clearly_with_exit_4(workspace, cli, data_dir, smtp, monkeypatch):
    controller, inbox = smtp
    configure(workspace, {"email": {"host": "127.0.0.1", "port": controller.port, "security": "none", "user": "bot",
                                    "sender": "leadkit@example.com", "timeout": 3}})  # fmt: skip
    monkeypatch.setenv("LEADKIT_SMTP_PASSWORD", "wrong")
    prepare_book(cli, data_dir)
    result = cli("due", "--notify", "email", "--as-of", DUE_AT)
    assert result.exit_code == 4
    assert "not delivered" in result.stderr and "wrong" not in result.stderr
    assert inbox.messages == []


def test_webhooks_with_signatures_and_partial_failure(workspace, cli, data_dir, web, monkeypatch):
    base, received = web
    monkeypatch.setenv("DING_SECRET", DING_SECRET)
    monkeypatch.setenv("FEISHU_SECRET", FEISHU_SECRET)
    configure(workspace, {"webhooks": [
        {"kind": "wecom", "url": f"{base}/wecom?key=TOPSECRETKEY"},
        {"kind": "dingtalk", "url": f"{base}/ding?access_token=TOKEN", "secret_env": "DING_SECRET"},
        {"kind": "feishu", "url": f"{base}/feishu", "secret_env": "FEISHU_SECRET"},
        {"kind": "slack", "url": f"{base}/slack"},
        {"kind": "generic", "url": f"{base}/fail", "name": "ops-bot"},
    ]})  # fmt: skip
    prepare_book(cli, data_dir)
    result = cli("due", "--notify", "webhook", "--as-of", DUE_AT)
    assert result.exit_code == 4  # the generic hook failed ...
    assert "ops-bot" in result.stderr and "HTTP 500" in result.stderr
    assert "TOPSECRETKEY" not in result.stderr and "TOKEN" not in result.stderr
    paths = [p.split("?")[0] for p, _, _ in received]
    assert (
        paths.count("/wecom") == 1 and paths.count("/slack") == 1
    )  # ... the others were not stopped, one message per robot for all reps
    wecom = next(b for p, b, _ in received if p.startswith("/wecom"))
    assert wecom["msgtype"] == "markdown" and wecom["markdown"]["content"].startswith(
        "### 2026-03-12"
    )
    ding_path, ding, _ = next(r for r in received if r[0].startswith("/ding"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding_path).query)
    ts = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"][0] == expected and query["access_token"] == ["TOKEN"]
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"]
    feishu = next(b for p, b, _ in received if p.startswith("/feishu"))
    expected = base64.b64encode(
        hmac.new(f"{feishu['timestamp']}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert feishu["sign"] == expected and feishu["card"]["elements"][0]["tag"] == "markdown"
    # a rerun sends only what failed before
    before = len(received)
    cli("due", "--notify", "webhook", "--as-of", "2026-03-12T10:00", "-q")
    assert {p.split("?")[0] for p, _, _ in received[before:]} == {"/fail"}


def test_long_reminders_are_split_within_each_service_limit():
    text = "\n".join(
        f"- LX2026{i:06d} 上海智联科技有限公司 王伟 13812345678 [A] · 03-10 09:00"
        for i in range(400)
    )
    r = Reminder("李娜", None, "lina", "title", text, "")
    for kind in ("wecom", "dingtalk"):
        requests = webhook_requests(
            WebhookConfig(kind=kind, url="http://127.0.0.1/x"), r, None, now_s=0
        )
        assert len(requests) > 1
        for _, body in requests:
            content = json.dumps(body, ensure_ascii=False)
            assert len(content.encode()) < LIMITS[kind] + 300
    # Slack: one message of up to 50 section blocks (3,000 characters each), the whole text
    # (at most 40,000 characters) as the notification's fallback
    [(_, slack)] = webhook_requests(
        WebhookConfig(kind="slack", url="http://127.0.0.1/x"), r, None, now_s=0
    )
    blocks = [b["text"]["text"] for b in slack["blocks"]]
    assert 1 < len(blocks) <= 50 and all(len(b) <= 3000 for b in blocks)
    assert slack["text"] == "\n".join(blocks) and slack["text"].startswith("• LX2026000000")
    assert len(slack["text"]) <= 40000 and slack["text"].endswith("<@lina>")
    # longer than one message takes: split into messages, none past either limit
    big = Reminder("李娜", None, "lina", "title", "\n".join([text] * 3), "")
    messages = [b for _, b in webhook_requests(
        WebhookConfig(kind="slack", url="http://127.0.0.1/x"), big, None, now_s=0)]  # fmt: skip
    assert len(messages) > 1
    assert all(len(m["text"]) <= 40000 and len(m["blocks"]) <= 50 for m in messages)
    whole = "\n".join([text] * 3).replace("- LX", "• LX") + "\n<@lina>"  # Slack's bullets
    assert "\n".join(m["text"] for m in messages) == whole
    pieces = split_markdown(text, 4000)
    assert "\n".join(pieces) == text
    assert all(len(p.encode()) <= 4000 for p in pieces)


def test_notify_without_configuration_is_a_usage_error(workspace, cli, data_dir):
    prepare_book(cli, data_dir)
    result = cli("due", "--notify", "email", "--as-of", DUE_AT)
    assert result.exit_code == 2 and "leadkit.yaml" in result.stderr
    configure(workspace, {"email": {"host": "127.0.0.1", "sender": "crm@example.cn"}})
    result = cli("due", "--notify", "both", "--as-of", DUE_AT)
    assert result.exit_code == 2 and "--notify both" in result.stderr  # no webhooks
    # the report goes to the manager: an e-mail setting without one is not enough
    result = cli("report", "--period", "month", "--as-of", DUE_AT, "--notify", "email")
    assert result.exit_code == 2 and "email.manager" in result.stderr


def test_report_notify_posts_the_markdown(workspace, cli, data_dir, web):
    base, received = web
    configure(workspace, {"webhooks": [{"kind": "wecom", "url": f"{base}/wecom?key=K"}]})
    prepare_book(cli, data_dir)
    result = cli("report", "--period", "month", "--as-of", DUE_AT, "--notify", "webhook", "-q")
    assert result.exit_code == 0, result.stderr
    [(_, body, _)] = received
    assert body["markdown"]["content"].startswith("### leadkit 报告 2026-03")
    assert "新增线索: **4**" in body["markdown"]["content"]


def test_a_non_ascii_smtp_password_is_one_line_naming_the_variable(
    workspace, cli, data_dir, smtp, monkeypatch
):
    controller, inbox = smtp
    configure(workspace, {"email": {"host": "127.0.0.1", "port": controller.port, "security": "none", "user": "bot",
                                    "sender": "leadkit@example.com", "timeout": 3}})  # fmt: skip
    monkeypatch.setenv("LEADKIT_SMTP_PASSWORD", "密码s3cret")
    prepare_book(cli, data_dir)
    result = cli("due", "--notify", "email", "--as-of", DUE_AT)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert "LEADKIT_SMTP_PASSWORD" in result.stderr and "ASCII" in result.stderr
    assert "密码" not in result.stderr and "s3cret" not in result.stderr
    assert inbox.messages == []


def test_a_named_secret_whose_variable_is_missing_is_an_error(
    workspace, cli, data_dir, web, monkeypatch
):
    base, received = web
    monkeypatch.delenv("DING_SECRET", raising=False)
    configure(workspace, {"webhooks": [
        {"kind": "dingtalk", "url": f"{base}/ding?access_token=TOKEN", "secret_env": "DING_SECRET"},
    ]})  # fmt: skip
    prepare_book(cli, data_dir)
    result = cli("due", "--notify", "webhook", "--as-of", DUE_AT)
    assert result.exit_code == 2 and "DING_SECRET is not set" in result.stderr
    assert received == [], "nothing is sent unsigned"


def test_a_500_is_answered_by_a_retry(web):
    from leadkit.notify import post_json

    base, received = web
    ok, detail = post_json(f"{base}/flaky", {"text": "hi"})
    assert (ok, detail) == (True, "") and [p for p, _, _ in received] == ["/flaky", "/flaky"]
    ok, detail = post_json(f"{base}/fail", {"text": "hi"})
    assert (ok, detail) == (False, "HTTP 500")
    assert sum(p == "/fail" for p, _, _ in received) == 3  # three attempts, then given up


def test_each_service_gets_its_own_mention_syntax():
    # documented formats: WeCom markdown <@userid> + text mentioned_mobile_list; DingTalk at.atMobiles /
    # at.atUserIds with @id in the text; Feishu card markdown <at id=…></at>; Slack <@U…>
    r = Reminder(
        "李娜", None, "U024BE7LH", "title", "- LX2026000001 上海智联", "", mobile="13812345678"
    )
    hook = lambda kind: WebhookConfig(kind=kind, url="http://127.0.0.1/x")  # noqa: E731
    wecom = [b for _, b in webhook_requests(hook("wecom"), r, None, now_s=0)]
    assert wecom[0]["markdown"]["content"].endswith("<@U024BE7LH>")
    assert wecom[-1] == {
        "msgtype": "text",
        "text": {"content": "title", "mentioned_mobile_list": ["13812345678"]},
    }
    ((_, ding),) = webhook_requests(hook("dingtalk"), r, None, now_s=0)
    assert ding["at"] == {
        "atMobiles": ["13812345678"],
        "atUserIds": ["U024BE7LH"],
        "isAtAll": False,
    }
    assert "@13812345678" in ding["markdown"]["text"] and "@U024BE7LH" in ding["markdown"]["text"]
    ((_, feishu),) = webhook_requests(hook("feishu"), r, None, now_s=0)
    assert feishu["card"]["elements"][0]["content"].endswith("<at id=U024BE7LH></at>")
    ((_, slack),) = webhook_requests(hook("slack"), r, None, now_s=0)
    assert slack["text"].endswith("<@U024BE7LH>")
    assert "@U024BE7LH" not in slack["text"].replace("<@U024BE7LH>", "")


def test_all_reps_go_to_one_robot_in_one_message_with_each_mention():
    reps = [
        Reminder(
            f"rep{i}",
            None,
            f"user{i}",
            f"t{i}",
            f"### rep{i}\n- LX{i}",
            "",
            mobile=f"1381234{i:04d}",
        )
        for i in range(30)
    ]
    requests = webhook_requests(
        WebhookConfig(kind="dingtalk", url="http://127.0.0.1/x"), reps, None, now_s=0
    )
    assert len(requests) == 1
    ((_, body),) = requests
    assert body["at"]["atUserIds"] == [f"user{i}" for i in range(30)]
    assert body["at"]["atMobiles"] == [f"1381234{i:04d}" for i in range(30)]
    assert all(f"@user{i}" in body["markdown"]["text"] for i in range(30))
    wecom = webhook_requests(
        WebhookConfig(kind="wecom", url="http://127.0.0.1/x"), reps, None, now_s=0
    )
    assert [b["msgtype"] for _, b in wecom] == ["markdown", "text"]
    assert len(wecom[1][1]["text"]["mentioned_mobile_list"]) == 30


def give_reps_mobiles(workspace) -> dict[str, tuple[str, str]]:
    """Each rep's (chat id, mobile) in the workspace's roster, as a team would fill them in."""
    path = workspace / "rules" / "routing.yaml"
    routing = yaml.safe_load(path.read_text(encoding="utf-8"))
    for i, rep in enumerate(routing["team"]):
        rep["mobile"] = f"1380000{i:04d}"
    path.write_text(yaml.safe_dump(routing, allow_unicode=True), encoding="utf-8")
    return {rep["name"]: (rep["chat"], rep["mobile"]) for rep in routing["team"]}


def test_due_mentions_each_rep_in_each_services_format_one_post_per_robot(
    workspace, cli, data_dir, web, monkeypatch
):
    base, received = web
    monkeypatch.setenv("DING_SECRET", DING_SECRET)
    monkeypatch.setenv("FEISHU_SECRET", FEISHU_SECRET)
    # WeCom at 120 a minute here (0.5 s apart) so the test is quick; its default is 20 (3 s)
    configure(workspace, {"webhooks": [
        {"kind": "wecom", "url": f"{base}/wecom?key=K", "per_minute": 120},
        {"kind": "dingtalk", "url": f"{base}/ding?access_token=T", "secret_env": "DING_SECRET"},
        {"kind": "feishu", "url": f"{base}/feishu", "secret_env": "FEISHU_SECRET"},
        {"kind": "slack", "url": f"{base}/slack"},
    ]})  # fmt: skip
    roster = give_reps_mobiles(workspace)
    prepare_book(cli, data_dir)
    owners = sorted(
        {i["owner"] for i in json.loads(cli("due", "--as-of", DUE_AT, "--json").stdout)["items"]}
    )
    assert len(owners) == 4
    chats = [roster[o][0] for o in owners]
    mobiles = [roster[o][1] for o in owners]
    result = cli("due", "--notify", "webhook", "--as-of", DUE_AT, "--json")
    assert result.exit_code == 0, result.stderr
    by_path: dict[str, list] = {}
    for (path, body, ctype), at in zip(received, received.times, strict=True):
        by_path.setdefault(path.split("?")[0], []).append((path, body, ctype, at))
    # one message per robot for the whole team (WeCom: its markdown, then the text that @s by mobile)
    assert {p: len(v) for p, v in by_path.items()} == {
        "/wecom": 2,
        "/ding": 1,
        "/feishu": 1,
        "/slack": 1,
    }
    assert all(ctype == "application/json; charset=utf-8" for _, _, ctype in received)

    (_, md, _, _), (_, text, _, _) = by_path["/wecom"]
    assert md["msgtype"] == "markdown" and set(md) == {"msgtype", "markdown"}
    assert all(f"<@{c}>" in md["markdown"]["content"] for c in chats)
    assert set(text) == {"msgtype", "text"} and text["msgtype"] == "text"
    assert text["text"]["mentioned_mobile_list"] == mobiles
    assert text["text"]["content"] == "2026-03-12 团队跟进汇总"  # the run's title
    assert len(md["markdown"]["content"].encode()) <= 4096  # WeCom's markdown content limit
    # the posts are in the robots' log for the next run's rate, under a hash: no token in it
    robots = (workspace / ".leadkit" / "robots.json").read_text(encoding="utf-8")
    assert "key=K" not in robots and "access_token" not in robots and base not in robots
    assert sorted(len(v) for v in json.loads(robots)["posts"].values()) == [1, 1, 1, 2]

    [(ding_path, ding, _, _)] = by_path["/ding"]
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"].startswith("2026-03-12")
    assert set(ding) == {"msgtype", "markdown", "at"} and set(ding["markdown"]) == {"title", "text"}
    assert ding["at"] == {"atMobiles": mobiles, "atUserIds": chats, "isAtAll": False}
    # DingTalk only pings an id that is also written @id in the text
    assert all(f"@{m}" in ding["markdown"]["text"] and f"@{c}" in ding["markdown"]["text"]
               for m, c in zip(mobiles, chats, strict=True))  # fmt: skip
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding_path).query)
    ts = query["timestamp"][0]
    sign = hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(sign).decode()] and query["access_token"] == ["T"]
    assert abs(int(ts) / 1000 - time.time()) < 60  # DingTalk refuses a timestamp an hour off

    [(_, feishu, _, _)] = by_path["/feishu"]
    assert feishu["msg_type"] == "interactive" and set(feishu) == {
        "timestamp",
        "sign",
        "msg_type",
        "card",
    }
    [element] = feishu["card"]["elements"]
    assert element["tag"] == "markdown" and all(
        f"<at id={c}></at>" in element["content"] for c in chats
    )
    sign = hmac.new(
        f"{feishu['timestamp']}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256
    ).digest()
    assert feishu["sign"] == base64.b64encode(sign).decode()
    # Feishu: the timestamp is seconds, a string, within an hour of the real clock (not --as-of)
    assert isinstance(feishu["timestamp"], str) and abs(int(feishu["timestamp"]) - time.time()) < 60

    [(_, slack, _, _)] = by_path["/slack"]
    assert set(slack) == {"text", "blocks"}
    assert all(f"<@{c}>" in slack["text"] for c in chats)
    [block] = slack["blocks"]
    assert block["type"] == "section" and block["text"] == {"type": "mrkdwn", "text": slack["text"]}
    assert (
        slack["text"].startswith("*2026-03-12 ")
        and "**" not in slack["text"]
        and "###" not in slack["text"]
    )
    sent = json.loads(result.stdout)["notify"]["sent"]
    assert len(sent) == 4 * 5  # 4 reps and the manager, each on 4 robots
    # a second run sends nothing new to any robot
    before = len(received)
    again = cli("due", "--notify", "webhook", "--as-of", DUE_AT, "--json")
    assert json.loads(again.stdout)["notify"]["sent"] == [] and len(received) == before


def test_due_posts_to_every_robot_at_once(workspace, cli, data_dir, web):
    base, received = web
    configure(workspace, {"webhooks": [
        {"kind": "slack", "url": f"{base}/slow-a", "name": "a"},
        {"kind": "slack", "url": f"{base}/slow-b", "name": "b"},
        {"kind": "slack", "url": f"{base}/slow-c", "name": "c"},
    ]})  # fmt: skip
    prepare_book(cli, data_dir)
    result = cli("due", "--notify", "webhook", "--as-of", DUE_AT, "-q")
    assert result.exit_code == 0, result.stderr
    assert sorted(p for p, _, _ in received) == ["/slow-a", "/slow-b", "/slow-c"]
    # each robot takes 1.5 s to answer: one after another, the last would arrive 3 s after the first
    assert max(received.times) - min(received.times) < 1.0


def test_a_slow_robot_is_given_up_at_the_time_budget(web):
    from leadkit.notify import send_webhooks

    base, received = web
    reps = [Reminder(f"rep{i}", None, None, "t", "x" * 2500, "") for i in range(40)]
    start = time.monotonic()
    # three Slack messages (40,000 characters each at most), 1.5 s each to answer, within 2 s in all
    [d0, *_] = send_webhooks(
        [WebhookConfig(kind="slack", url=f"{base}/slow", per_minute=600)], reps, {}, budget=2
    )
    assert time.monotonic() - start < 3.2
    assert not d0.ok and "time budget" in d0.detail and len(received) == 2


def test_report_by_email_is_its_html_page_inline_and_aligned_text(
    workspace, cli, data_dir, smtp, monkeypatch
):
    controller, inbox = smtp
    mail_ready(workspace, controller, monkeypatch)
    prepare_book(cli, data_dir)
    result = cli("report", "--period", "month", "--as-of", DUE_AT, "--notify", "email", "-q")
    assert result.exit_code == 0, result.stderr
    [(rcpts, msg)] = inbox.messages
    assert rcpts == ["boss@example.com"] and msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert not any(p.get_content_disposition() == "attachment" for p in msg.iter_parts())
    page = msg.get_body(("html",)).get_content()
    out = workspace / "r.html"
    cli("report", "--period", "month", "--as-of", DUE_AT, "--out", out, "-q")
    assert page.strip() == out.read_text(encoding="utf-8").strip()  # the page --out writes
    assert 'class="bar"' in page and "<script" not in page and "src=" not in page
    text = msg.get_body(("plain",)).get_content()
    assert text.startswith("leadkit 报告 2026-03") and "新增线索: 4" in text
    assert "|" not in text and "**" not in text and "---" not in text
    # the funnel as aligned columns: every row's second column starts where its header's does
    from leadkit.notify.messages import _width

    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("阶段"))
    header, first = lines[at], lines[at + 1]
    second = header.split()[1]
    assert _width(header[: header.index(second)]) == _width(first[: first.index(first.split()[1])])


def test_chat_text_has_no_tables_and_each_services_markup():
    from leadkit.notify import chat_markdown, plain_text

    md = "### 报告\n\n- 新增: **4**\n\n| 来源 | 新增 | 转化率 |\n|---|---:|---:|\n| 官网 | 3 | 33.3% |\n| 展会 | 1 | 0.0% |"
    for kind in ("wecom", "dingtalk", "feishu", "slack"):
        text = chat_markdown(md, kind)
        assert "|" not in text and "- 官网: 新增 3 · 转化率 33.3%" in text.replace("• ", "- ")
    assert chat_markdown(md, "wecom").startswith("### 报告")  # WeCom and DingTalk draw headings
    assert chat_markdown(md, "feishu").startswith("**报告**")
    assert chat_markdown(md, "slack").splitlines()[:3] == ["*报告*", "", "• 新增: *4*"]
    assert plain_text(md).splitlines()[-3:] == [
        "来源  新增  转化率",
        "官网  3     33.3%",
        "展会  1     0.0%",
    ]


def test_a_chat_message_shows_each_reps_most_urgent_items_the_rest_next_run(
    workspace, cli, data_dir, web
):
    base, received = web
    configure(
        workspace,
        {"chat_items_per_rep": 1, "webhooks": [{"kind": "dingtalk", "url": f"{base}/ding"}]},
    )
    prepare_book(cli, data_dir)
    assert cli("due", "--notify", "webhook", "--as-of", DUE_AT, "-q").exit_code == 0
    [(_, first, _)] = received
    text = first["markdown"]["text"]
    assert (
        text.count("**首次跟进已超时** (1)") == 4 and "[nan]" not in text
    )  # overdue first, 1 per rep
    assert text.count("…另有 1 项: leadkit due --owner") == 4
    assert cli("due", "--notify", "webhook", "--as-of", DUE_AT, "-q").exit_code == 0
    [_, (_, second, _)] = received
    assert (
        "首次跟进已超时" not in second["markdown"]["text"]
        and "另有" not in second["markdown"]["text"]
    )
    assert (
        cli("due", "--notify", "webhook", "--as-of", DUE_AT, "-q").exit_code == 0
        and len(received) == 2
    )


# ---------------------------------------------------------------------------------------------
# Signing, computed here from the vendors' documented recipes, not with leadkit's functions


def test_dingtalk_and_feishu_signatures_follow_the_documented_recipe():
    # DingTalk: timestamp in ms; sign = urlEncode(base64(HmacSHA256(key=secret,
    # msg=timestamp + "\n" + secret))), both as query parameters of the robot URL
    now_s = 1767225600.123
    r = Reminder("李娜", None, "lina", "title", "- LX2026000001", "")
    hook = WebhookConfig(kind="dingtalk", url="http://127.0.0.1/ding?access_token=T")
    [(url, _)] = webhook_requests(hook, r, DING_SECRET, now_s=now_s)
    digest = hmac.new(DING_SECRET.encode(), b"1767225600123\n" + DING_SECRET.encode(), "sha256")
    sign = base64.b64encode(digest.digest()).decode()
    assert url == (
        "http://127.0.0.1/ding?access_token=T&timestamp=1767225600123&sign="
        + urllib.parse.quote(sign, safe="")  # '+', '/' and '=' of the base64 escaped
    )
    # Feishu: timestamp in s (a string in the body); sign = base64(HmacSHA256(key=timestamp +
    # "\n" + secret, msg="")), in the body beside msg_type
    hook = WebhookConfig(kind="feishu", url="http://127.0.0.1/feishu")
    [(url, body)] = webhook_requests(hook, r, FEISHU_SECRET, now_s=now_s)
    key = f"1767225600\n{FEISHU_SECRET}".encode()
    assert url == "http://127.0.0.1/feishu" and body["timestamp"] == "1767225600"
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", "sha256").digest()).decode()
    # without a secret nothing of the signature is sent
    [(url, body)] = webhook_requests(hook, r, None, now_s=now_s)
    assert set(body) == {"msg_type", "card"}


# ---------------------------------------------------------------------------------------------
# The robots' rate, held across runs


def test_two_runs_together_stay_within_a_robots_20_a_minute(web, tmp_path):
    """Two runs, each with 12 pieces for one WeCom robot (default 20 a minute), one after the
    other: the second sends 8 and gives up the rest rather than post a 21st within the minute."""
    from leadkit.notify import RobotLog, send_webhooks
    from leadkit.workspace import Workspace, WorkspaceConfig

    base, received = web
    ws = Workspace(tmp_path, WorkspaceConfig(), True)
    hook = WebhookConfig(kind="wecom", url=f"{base}/wecom?key=K")
    # 12 reps whose lists fill one 4,000-byte WeCom piece each
    reps = [Reminder(f"rep{i}", None, None, "t", "\n".join(["- " + "汉" * 300] * 4), "")
            for i in range(12)]  # fmt: skip
    runs = []
    for _ in range(2):
        robots = RobotLog.from_state(ws.read_state("robots"))  # as each run reads it
        runs.append(send_webhooks([hook], reps, {}, budget=2, robots=robots))
        ws.write_state("robots", robots.to_state(ws.read_state("robots")))
    assert len(webhook_requests(hook, reps, None, now_s=0)) == 12
    assert all(d.ok for d in runs[0]) and not any(d.ok for d in runs[1])
    assert "piece 9 of 12 not sent: rate limit" in runs[1][0].detail
    assert "20 posts a minute are used up" in runs[1][0].detail
    assert len(received) == 20 and max(received.times) - min(received.times) < 60
    [times] = json.loads((tmp_path / ".leadkit" / "robots.json").read_text())["posts"].values()
    assert len(times) == 20


def test_a_robot_used_up_by_an_earlier_run_is_waited_for_until_a_post_ages_out(web):
    from leadkit.notify import RobotLog, send_webhook

    base, received = web
    hook = WebhookConfig(kind="wecom", url=f"{base}/wecom?key=K", per_minute=3)
    # an earlier run posted 3 times, 58.8 s ago: the robot takes the next post in ~1.2 s
    robots = RobotLog({RobotLog.key(hook): [time.time() - 58.8] * 3})
    start = time.monotonic()
    [d] = send_webhook(hook, [Reminder("rep", None, None, "t", "- x", "")], None,
                       deadline=start + 10, robots=robots)  # fmt: skip
    assert d.ok and len(received) == 1
    assert 1.0 <= received.times[0] - start < 3


def test_due_and_report_runs_share_a_robots_rate(workspace, cli, data_dir, web):
    base, received = web
    # 3 a minute and a 3 s budget so the test is quick; the vendors' 20 work the same way
    configure(workspace, {"budget_seconds": 3, "webhooks": [
        {"kind": "wecom", "url": f"{base}/wecom?key=K", "per_minute": 3},
    ]})  # fmt: skip
    give_reps_mobiles(workspace)
    prepare_book(cli, data_dir)
    assert cli("due", "--notify", "webhook", "--as-of", DUE_AT, "-q").exit_code == 0
    assert len(received) == 2  # the markdown, then the text that @s by mobile
    result = cli("report", "--period", "month", "--as-of", DUE_AT, "--notify", "webhook", "-q")
    assert result.exit_code == 0 and len(received) == 3
    start = time.monotonic()
    result = cli("due", "--notify", "webhook", "--as-of", DUE_AT, "--force")
    assert result.exit_code == 4 and len(received) == 3, "a 4th post within the minute"
    assert "rate limit: the robot's 3 posts a minute are used up" in result.stderr
    assert time.monotonic() - start < 3, "a wait past the budget is not waited"
    # what was not sent is not marked sent: the next run (without --force) sends it
    notified = json.loads((workspace / ".leadkit" / "notified.json").read_text())["items"]
    assert len(notified) == 1


# ---------------------------------------------------------------------------------------------
# One lead through a day of runs


def hot_lead(cli, tmp_path, at: str = "2026-03-12T10:33") -> None:
    """The book's only lead: an A lead arriving and assigned at `at` (2 working hours to call)."""
    hot = tmp_path / "hot.csv"
    hot.write_text(
        "公司名称,姓名,手机号,线索等级\n新来科技有限公司,新人,13700001111,A\n", encoding="utf-8"
    )
    cli("import", hot, "--as-of", at, "-q")
    cli("assign", "--by", "load", "--as-of", at, "-q")


def test_a_500_once_then_200_delivers_the_item_once(workspace, cli, web, tmp_path):
    base, received = web
    configure(
        workspace, {"webhooks": [{"kind": "dingtalk", "url": f"{base}/flaky?access_token=T"}]}
    )
    hot_lead(cli, tmp_path)
    result = cli("due", "--notify", "webhook", "--as-of", "2026-03-12T13:00", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    # breached at 12:33, and its owner warned that it goes back to the pool
    assert [i["kind"] for i in report["items"]] == ["first_contact_overdue", "recycle_soon"]
    # the robot answered 500, then 200 to the same body: one message delivered, each item once
    (_, first, _), (_, second, _) = received
    assert first == second
    text = second["markdown"]["text"]
    assert text.count("**首次跟进已超时** (1)") == 1 and text.count("**即将被回收** (1)") == 1
    assert len(report["notify"]["sent"]) == 2 and report["notify"]["failed"] == []  # rep, digest
    [sent] = json.loads((workspace / ".leadkit" / "notified.json").read_text())["items"].values()
    assert sorted(sent)[0] == "LX2026000001|first_contact_overdue|2026-03-12T12:33"
    assert len(sent) == 2
    # later the same day: nothing new, nothing posted
    again = cli("due", "--notify", "webhook", "--as-of", "2026-03-12T13:40", "--json")
    assert json.loads(again.stdout)["notify"]["sent"] == [] and len(received) == 2


def test_an_item_due_at_11_is_sent_at_11_then_once_breached_then_escalated(
    workspace, cli, smtp, monkeypatch, tmp_path
):
    controller, inbox = smtp
    mail_ready(workspace, controller, monkeypatch)
    # the about-to-breach lead time, 1 h 45 min: the 12:33 deadline is "soon" from 10:48
    path = workspace / "rules" / "followup.yaml"
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**rules, "due_soon_hours": 1.75}), encoding="utf-8")
    hot_lead(cli, tmp_path)

    def run(at: str) -> list:
        before = len(inbox.messages)
        result = cli("due", "--notify", "email", "--as-of", f"2026-03-12T{at}", "-q")
        assert result.exit_code == 0, result.stderr
        return [msg for _, msg in inbox.messages[before:]]

    def rep_text(messages) -> str:
        [rep] = [m for m in messages if m["To"] != "boss@example.com"]
        return rep.get_body(("plain",)).get_content()

    at_1040 = run("10:40")  # untouched A lead, not yet about to breach
    assert "S/A 线索未接触" in rep_text(at_1040) and "即将超时" not in rep_text(at_1040)
    at_1100 = run("11:00")
    text = rep_text(at_1100)
    assert "首次跟进即将超时" in text and "03-12 12:33" in text and "未接触" not in text
    assert run("11:00") == [] and run("12:00") == []
    at_1300 = run("13:00")  # breached 27 minutes ago: the rep, not yet the manager
    [rep] = [m for m in at_1300 if m["To"] != "boss@example.com"]
    assert "首次跟进已超时" in rep_text(at_1300) and rep["Cc"] is None
    assert run("14:00") == [] and run("16:30") == []
    at_1700 = run("17:00")  # 4.45 h over escalate_after_hours 4: once more, the manager copied
    [rep] = [m for m in at_1700 if m["To"] != "boss@example.com"]
    assert rep["Cc"] == "boss@example.com" and "首次跟进已超时" in rep_text(at_1700)
    [digest] = [m for m in at_1700 if m["To"] == "boss@example.com"]
    assert "超时需关注 (1)" in digest.get_body(("plain",)).get_content()
    assert run("17:30") == []


def test_a_dry_run_names_what_would_go_out_and_sends_nothing(
    workspace, cli, data_dir, web, smtp, monkeypatch
):
    base, received = web
    controller, mailed = smtp
    mail_ready(workspace, controller, monkeypatch)
    cfg = yaml.safe_load((workspace / "leadkit.yaml").read_text(encoding="utf-8"))
    configure(
        workspace, {**cfg["notify"], "webhooks": [{"kind": "wecom", "url": f"{base}/wecom?key=k"}]}
    )
    prepare_book(cli, data_dir)
    state = workspace / ".leadkit"
    before = sorted(p.name for p in state.iterdir())
    result = cli(
        "due", "--notify", "both", "--dry-run", "--out", "due.xlsx", "--as-of", DUE_AT, "--json"
    )
    assert result.exit_code == 0, result.stderr
    unsent = json.loads(result.stdout)["notify"]["unsent"]
    owners = {d["recipient"] for d in unsent}
    channels = sorted({d["channel"] for d in unsent})
    assert len(channels) == 2 and channels[0] == "email" and channels[1].startswith("webhook wecom")
    assert len(owners) >= 2 and all(d["detail"] == "dry run" for d in unsent)
    assert (received, mailed.messages) == ([], [])
    assert sorted(p.name for p in state.iterdir()) == before  # no robots.json, nothing remembered
    assert not (workspace / "due.xlsx").exists()
    # the real run then sends what the dry run named
    sent = cli("due", "--notify", "both", "--as-of", DUE_AT, "--json")
    assert {d["recipient"] for d in json.loads(sent.stdout)["notify"]["sent"]} >= owners


def test_overdue_feedback_is_reminded_to_the_leads_owner(
    workspace, cli, data_dir, smtp, monkeypatch
):
    controller, inbox = smtp
    mail_ready(workspace, controller, monkeypatch)
    prepare_book(cli, data_dir)
    cli("log", "LX2026000002", "--feedback", "服务类", "--priority", "高", "--note", "响应不及时",
        "--as-of", "2026-03-09T10:00", "-q")  # fmt: skip
    owner = json.loads(cli("due", "--as-of", "2026-03-12T11:00", "--json").stdout)["items"]
    owner = next(i["owner"] for i in owner if i["kind"] == "feedback_overdue")
    assert cli("due", "--notify", "email", "--as-of", "2026-03-12T11:00", "-q").exit_code == 0
    texts = {m["To"]: m.get_body(("plain",)).get_content() for _, m in inbox.messages}
    mine = next(t for to, t in texts.items() if to != "boss@example.com" and owner in t)
    assert "客户反馈处理逾期" in mine and "LX2026000002" in mine and "03-12 10:00" in mine
    assert "客户反馈处理逾期 1" in texts["boss@example.com"]
