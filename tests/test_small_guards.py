"""Small guards of #13: rule files that would pass silently, a webhook token in a failure line,
and events that are stored while tied to nothing."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from leadkit.notify import safe_url

AS_OF = "--as-of=2026-03-12T09:00"


@pytest.mark.parametrize("cadence", ["{S: -1, A: 2, B: 7, C: 7}", "{S: 1, A: 0, B: 7, C: 7}"])
def test_a_cadence_of_zero_or_fewer_days_is_a_rule_error(cli, workspace, cadence):
    path = workspace / "rules" / "followup.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("cadence_days: {S: 1, A: 2, B: 7, C: 7}", f"cadence_days: {cadence}")
    )
    assert f"cadence_days: {cadence}" in path.read_text()
    result = cli("due", AS_OF)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "followup.yaml, line 4: cadence_days." in line and "greater than 0" in line


@pytest.mark.parametrize("name", ["report.yaml", "channels.yaml"])
def test_an_empty_report_or_channels_file_is_a_rule_error(cli, workspace, name):
    (workspace / "rules" / name).write_text("# emptied by mistake\n", encoding="utf-8")
    result = cli("report", "--period", "month", AS_OF)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert f"{name}: the file is empty" in line and "delete the file" in line


def test_a_deleted_report_file_falls_back_to_the_defaults(cli, workspace):
    (workspace / "rules" / "report.yaml").unlink()
    assert cli("report", "--period", "month", AS_OF, "-q").exit_code == 0


SLACK_TOKEN = "xq3RTbZ9aPLm2WvKd8sYfE4n"


@pytest.fixture
def refusing_server():
    """A real HTTP server on 127.0.0.1 that refuses every webhook with 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_a_slack_token_is_never_printed_in_a_failure_line(
    cli, workspace, data_dir, refusing_server
):
    cfg = yaml.safe_load((workspace / "leadkit.yaml").read_text(encoding="utf-8"))
    cfg["notify"] = {"webhooks": [
        {"kind": "slack", "url": f"{refusing_server}/services/T04AB12CD/B05XY34ZW/{SLACK_TOKEN}"},
        {"kind": "feishu", "url": f"{refusing_server}/open-apis/bot/v2/hook/0f8c2a4e-1b3d-4c5e-9f7a-2b4c6d8e0f1a"},
        {"kind": "slack", "url": f"https://user:{SLACK_TOKEN}@hooks.slack.com:notaport/services/T1/B2/{SLACK_TOKEN}"},
    ]}  # fmt: skip
    (workspace / "leadkit.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    cli("import", data_dir / "web_small.csv", "--as-of", "2026-03-09T09:00", "-q")
    cli("assign", "--by", "round-robin", "--as-of", "2026-03-09T09:00", "-q")
    result = cli("due", "--notify", "webhook", AS_OF, "--json")
    assert result.exit_code == 4
    shown = result.stdout + result.stderr
    assert "HTTP 404" in shown and f"{refusing_server}/services/…/…/…" in shown
    assert "/open-apis/bot/…/hook/…" in shown
    for secret in (SLACK_TOKEN, "T04AB12CD", "B05XY34ZW", "0f8c2a4e", "user:"):
        assert secret not in shown, secret
    assert "Traceback" not in shown


def test_safe_url_keeps_what_says_where_and_hides_what_lets_one_post():
    assert safe_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K") == (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    )
    assert safe_url(f"https://hooks.slack.com/services/T0/B0/{SLACK_TOKEN}") == (
        "https://hooks.slack.com/services/…/…/…"
    )
    assert safe_url("https://discord.com/api/webhooks/123/abcdefghijklmnopqrstuvwxyz") == (
        "https://discord.com/api/webhooks/…/…"
    )


def test_events_tied_to_no_lead_or_of_an_unknown_type_are_counted_as_untied(
    cli, workspace, tmp_path
):
    leads = tmp_path / "leads.csv"
    leads.write_text("公司名称,联系人,手机\n甲公司,王,13812345678\n", encoding="utf-8")
    assert cli("import", leads, AS_OF, "-q").exit_code == 0
    events = tmp_path / "events.csv"
    events.write_text(
        "时间,手机号,行为\n"
        "2026-03-10 10:00,13812345678,浏览页面\n"  # tied: a known lead, a known event
        "2026-03-10 11:00,13900000000,下载资料\n"  # no lead has this phone (yet)
        "2026-03-10 12:00,13812345678,变魔术\n"  # an event scoring.yaml does not list
        "2026-03-10 13:00,,浏览页面\n",  # nothing to tie it by: skipped
        encoding="utf-8",
    )
    result = cli("import", events, "--events", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert (
        "3 event(s) added to the Events sheet (2 untied); 0 already there; 1 skipped"
        in result.stderr
    )
    assert "1 event(s) added match no lead in the book" in result.stderr
    assert "1 event(s) added name an event type rules/scoring.yaml does not list" in result.stderr
    again = tmp_path / "events2.csv"
    again.write_text("时间,手机号,行为\n2026-03-11 10:00,13900000001,变魔术\n", encoding="utf-8")
    result = cli("import", again, "--events", AS_OF, "--json", "--strict")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert (out["added"], out["no_lead"], out["unknown_event"], out["untied"]) == (1, 1, 1, 2)
