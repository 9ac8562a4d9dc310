"""The chat robots (WeCom, DingTalk, Feishu, Slack): payloads, signatures, retries, rate limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from leadkit.errors import UsageError
from leadkit.workspace import WebhookConfig, env_secret

if TYPE_CHECKING:  # the settings models load with leadkit.yaml, before pandas
    import pandas as pd
from leadkit.notify.messages import LIMITS, Delivery, Reminder, _html, chat_markdown, split_markdown


def webhook_secrets(hooks: list[WebhookConfig]) -> dict[str, str | None]:
    """The signing secrets the webhooks name, from the environment (never from leadkit.yaml).

    A hook that names a secret whose variable is not set is refused: sending unsigned would be
    rejected by a robot that checks signatures, or accepted by one that should not be open."""
    secrets = {h.secret_env: env_secret(h.secret_env) for h in hooks if h.secret_env}
    missing = sorted(name for name, value in secrets.items() if value is None)
    if missing:
        raise UsageError(
            f"environment variable {', '.join(missing)} is not set; the webhook(s) in leadkit.yaml "
            "name it as their signing secret (secret_env)"
        )
    return secrets


def _secret_segment(segment: str) -> bool:
    # Slack (/services/T…/B…/token), Feishu (/hook/uuid), Discord (/webhooks/id/token) and
    # Teams keep the token in the path: a segment with a digit or of 16+ characters is one.
    return any(c.isdigit() for c in segment) or len(segment) >= 16


def safe_url(url: str) -> str:
    """A webhook URL fit to print: no user, query or fragment (where WeCom and DingTalk keep
    the token), and every path segment that may be a token (Slack, Feishu …) shown as `…`."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a URL at all (a bad port): nothing of it is printed
        return "(unparsable URL)"
    path = "/".join("…" if _secret_segment(s) else s for s in parts.path.split("/"))
    return urllib.parse.urlunsplit((parts.scheme, host + port, path, "", ""))


def _scrub(detail: str, url: str) -> str:
    """`detail` without any secret part of `url` (an error message may quote the URL)."""
    parts = urllib.parse.urlsplit(url)
    secrets = [url, parts.query, parts.fragment, parts.netloc.rpartition("@")[0]]
    secrets += [s for s in parts.path.split("/") if _secret_segment(s)]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        detail = detail.replace(secret, "…" if secret != url else safe_url(url))
    return detail


# ---------------------------------------------------------------------------------------------
# Building messages


def build_reminders(items: pd.DataFrame, roster: dict[str, dict[str, Any]], *, lang: str, now: pd.Timestamp,
                    labels: dict[str, str]) -> list[Reminder]:  # fmt: skip
    """One reminder per rep with something to do, plus a digest for the manager."""
    import pandas as pd

    out: list[Reminder] = []
    day = f"{now:%Y-%m-%d}"
    for owner, mine in items.groupby("owner", sort=True):
        info = roster.get(str(owner), {})
        title = (
            f"{day} {owner} 待办 {len(mine)} 项"
            if lang == "zh"
            else f"{day}: {len(mine)} to-do(s) for {owner}"
        )
        md, rows = [f"### {title}"], []
        for kind, group in mine.groupby("kind", sort=False):
            md.append(f"**{labels.get(kind, kind)}** ({len(group)})")
            for r in group.itertuples():
                when = "" if pd.isna(r.when) else f" · {r.when:%m-%d %H:%M}"
                md.append(
                    f"- {r.lead_id} {r.company or ''} {r.contact or ''} {r.phone or ''} [{'-' if pd.isna(r.grade) else r.grade}]{when}"
                )
                rows.append(
                    (
                        labels.get(kind, kind),
                        r.lead_id,
                        r.company,
                        r.contact,
                        r.phone,
                        r.grade,
                        when.strip(" ·"),
                    )
                )
        out.append(Reminder(
            recipient=str(owner), address=info.get("email"), handle=info.get("chat"), title=title,
            markdown="\n".join(md), html=_html(title, rows), escalate=bool(mine["escalate"].any()),
            mobile=info.get("mobile"),
        ))  # fmt: skip
    if out:
        counts = items.groupby(["owner", "kind"]).size().unstack(fill_value=0)
        title = f"{day} 团队跟进汇总" if lang == "zh" else f"{day}: team follow-up digest"
        md = [f"### {title}"]
        rows = []
        for owner, row in counts.iterrows():
            parts = ", ".join(f"{labels.get(k, k)} {int(v)}" for k, v in row.items() if v)
            md.append(f"- {owner}: {parts}")
            rows.append((str(owner), parts))
        escalated = items[items["escalate"]]
        if not escalated.empty:
            md.append(
                "**" + ("超时需关注" if lang == "zh" else "escalated") + f"** ({len(escalated)})"
            )
            md += [
                f"- {r.owner}: {r.lead_id} {r.company or ''} +{r.hours_overdue:g}h"
                for r in escalated.itertuples()
            ]
        out.append(
            Reminder(
                "manager",
                None,
                None,
                title,
                "\n".join(md),
                _html(title, rows),
                bool(len(escalated)),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Webhooks


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robot signature: base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark bot signature: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_requests(
    hook: WebhookConfig, reminders: Reminder | list[Reminder], secret: str | None,
    now_s: float | None = None,
) -> list[tuple[str, dict[str, Any]]]:  # fmt: skip
    """(url, JSON body) for each piece of one run's message to one robot.

    All reps' lists go out together as one message (a 30-rep team is one post, not 31, under
    WeCom's and DingTalk's 20 a minute), split only at the service's size limit (LIMITS)."""
    now_s = time.time() if now_s is None else now_s
    rs = [reminders] if isinstance(reminders, Reminder) else list(reminders)
    # A plain "@name" is only text to every service; each has its own mention syntax, placed
    # after each rep's own list so a piece split off carries the mentions of its reps.
    text = "\n\n".join(
        chat_markdown(r.markdown, hook.kind) + _mention_text(hook.kind, r) for r in rs
    )
    pieces = split_markdown(text, LIMITS[hook.kind])
    # a Slack message is 50 blocks of 3,000 characters with a 40,000-character text, not one
    # section: posting each section alone made a 30-rep team's list 18 posts at Slack's 1 a second
    messages = _slack_messages(pieces) if hook.kind == "slack" else [[p] for p in pieces]
    title = rs[-1].title if rs[-1].recipient == "manager" else rs[0].title
    out = []
    for sections in messages:
        piece = "\n".join(sections)
        url = hook.url
        if hook.kind == "wecom":
            body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": piece}}
        elif hook.kind == "dingtalk":
            body = {"msgtype": "markdown", "markdown": {"title": title, "text": piece}}
            # DingTalk pings only the ids in `at` that also appear as @id in the text
            mobiles = [r.mobile for r in rs if r.mobile and f"@{r.mobile}" in piece]
            ids = [r.handle for r in rs if r.handle and f"@{r.handle}" in piece]
            if mobiles or ids:
                body["at"] = {"atMobiles": mobiles, "atUserIds": ids, "isAtAll": False}
            if secret:
                ts = int(now_s * 1000)
                sep = "&" if "?" in url else "?"
                url = f"{url}{sep}timestamp={ts}&sign={urllib.parse.quote_plus(dingtalk_sign(secret, ts))}"
        elif hook.kind == "feishu":
            body = {
                "msg_type": "interactive",
                "card": {"elements": [{"tag": "markdown", "content": piece}]},
            }
            if secret:
                ts = int(now_s)
                body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
        elif hook.kind == "slack":
            # blocks render the mrkdwn; text is the notification's fallback (a section holds 3,000)
            body = {
                "text": piece,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": p}}
                           for p in sections],
            }  # fmt: skip
        else:
            body = {"title": title, "recipients": [r.recipient for r in rs], "text": piece}
        out.append((url, body))
    mobiles = [r.mobile for r in rs if r.mobile]
    if hook.kind == "wecom" and mobiles:
        # WeCom's markdown message cannot @ by mobile; only a text message's mentioned_mobile_list can
        out.append((hook.url, {
            "msgtype": "text",
            "text": {"content": title, "mentioned_mobile_list": mobiles},
        }))  # fmt: skip
    return out


# Slack's message limits: blocks per message, characters of `text` (Slack API docs, chat.postMessage)
SLACK_BLOCKS, SLACK_TEXT = 50, 40000


def _slack_messages(sections: list[str]) -> list[list[str]]:
    """Sections (each within a section block's 3,000) grouped into as few messages as Slack takes."""
    messages: list[list[str]] = []
    size = 0
    for section in sections:
        if (
            not messages
            or len(messages[-1]) == SLACK_BLOCKS
            or size + 1 + len(section) > SLACK_TEXT
        ):
            messages.append([])
            size = -1
        messages[-1].append(section)
        size += 1 + len(section)
    return messages


def _mention_text(kind: str, r: Reminder) -> str:
    """The mention as each service's robot documents it, appended to the message text."""
    if kind == "wecom":
        return f"\n<@{r.handle}>" if r.handle else ""  # markdown <@userid>
    if kind == "dingtalk":
        ids = [i for i in (r.mobile, r.handle) if i]
        return ("\n" + " ".join(f"@{i}" for i in ids)) if ids else ""
    if kind == "feishu":
        return f"\n<at id={r.handle}></at>" if r.handle else ""  # card markdown element
    if kind == "slack":
        return f"\n<@{r.handle}>" if r.handle else ""
    return f" @{r.handle}" if r.handle else ""


RETRY_WAITS = (0.5, 2.0)  # seconds before the 2nd and 3rd attempt


def post_json(
    url: str, body: dict[str, Any], timeout: float = 10, deadline: float | None = None,
    gate: Callable[[], str] | None = None, posted: Callable[[], None] | None = None,
) -> tuple[bool, str]:  # fmt: skip
    """POST JSON, retried with back-off when the service is down or busy (5xx, 429, no answer).

    A 4xx other than 429 is the request's fault and is not retried. With a `deadline`
    (time.monotonic()), no attempt waits past it: a hung robot cannot hold the run. `gate` is
    asked before every attempt (a retry is a post the robot counts too); a non-empty answer
    is why the attempt may not be made, and the post fails with it; `posted` is told when an
    attempt has its answer."""

    def left() -> float:
        return timeout if deadline is None else min(timeout, deadline - time.monotonic())

    def attempt() -> tuple[bool, str]:
        refused = gate() if gate is not None else ""
        if refused:
            return False, refused
        try:
            return _post_once(url, body, max(left(), 0.1))
        finally:
            if posted is not None:
                posted()

    ok, detail = attempt()
    for wait in RETRY_WAITS:
        if ok or not _transient(detail) or left() <= wait:
            break
        time.sleep(wait)
        ok, detail = attempt()
    return ok, detail


def _transient(detail: str) -> bool:
    if detail.startswith("HTTP "):
        code = int(detail.split()[1])
        return code >= 500 or code == 429
    return not detail.startswith(("service answered", "rate limit"))


def _post_once(url: str, body: dict[str, Any], timeout: float) -> tuple[bool, str]:
    """One POST; success is HTTP 2xx and, where the service answers JSON, errcode/code 0."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        # ValueError, HTTPException (InvalidURL): a malformed URL, whose text may hold the token
        return False, _scrub(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}", url)
    try:
        answer = json.loads(text)
    except ValueError:
        return True, ""
    code = (
        answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        if isinstance(answer, dict)
        else 0
    )
    return (code in (0, None)), (
        ""
        if code in (0, None)
        else _scrub(f"service answered {code}: {answer.get('errmsg') or answer.get('msg')}", url)
    )


# Posts a minute each robot takes (WeCom and DingTalk group robots: 20/min, per their robot docs;
# Feishu custom bots 100/min; Slack incoming webhooks about 1/s).
RATES = {"wecom": 20, "dingtalk": 20, "feishu": 100, "slack": 60, "generic": 600}
# ... and a second, where the service also limits bursts (Feishu 5/s; Slack 1/s, short bursts)
PER_SECOND = {"feishu": 5, "slack": 1}


# The longest one run spends on one robot, all pieces, waits and retries included, when
# leadkit.yaml's notify.budget_seconds does not say; robots are posted to at the same time, so
# this bounds the whole run's sending too.
BUDGET_SECONDS = 120.0


class RobotLog:
    """When each robot was posted to in the last minute, shared by runs (.leadkit/robots.json).

    The services count posts per robot per minute, not per run: `due --notify` followed by
    `report --notify`, or cron every few minutes, share a robot's 20 a minute. Times are the
    real clock (time.time(), not --as-of: the service counts real time); robots are keyed by a
    hash of their URL so the file holds no token. Thread-safe: robots are posted to at once."""

    def __init__(self, posts: dict[str, list[float]] | None = None) -> None:
        self.posts: dict[str, list[float]] = {k: sorted(v) for k, v in (posts or {}).items()}
        self._held: dict[tuple[str, int], float] = {}  # the place each thread holds for its post
        self._lock = threading.Lock()

    @staticmethod
    def key(hook: WebhookConfig) -> str:
        return hashlib.sha256(hook.url.encode("utf-8")).hexdigest()[:16]

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RobotLog:
        """The log as `to_state` wrote it; a malformed entry counts as no posts."""
        posts = state.get("posts", {}) if isinstance(state, dict) else {}
        return cls({str(k): [float(t) for t in v if isinstance(t, (int, float))]
                    for k, v in posts.items() if isinstance(v, list)})  # fmt: skip

    def to_state(self, earlier: dict[str, Any] | None = None) -> dict[str, Any]:
        """The last minute's posts, with those another run wrote meanwhile (`earlier`, the file
        read again just before writing) kept rather than overwritten."""
        cutoff = time.time() - 60
        merged = RobotLog.from_state(earlier or {}).posts
        with self._lock:
            for k, times in self.posts.items():
                merged[k] = sorted(set(merged.get(k, [])) | set(times))
        return {"posts": {k: [t for t in v if t > cutoff] for k, v in merged.items()
                          if any(t > cutoff for t in v)}}  # fmt: skip

    def wait_turn(self, hook: WebhookConfig, deadline: float) -> str:
        """Wait until the robot may take one more post and hold its place; "" then. If that
        wait would pass `deadline` (time.monotonic()), hold nothing and say why."""
        per_minute = hook.per_minute or RATES[hook.kind]
        windows = [(60.0, max(1, int(per_minute)))]
        if hook.kind in PER_SECOND and not hook.per_minute:
            windows.append((1.0, PER_SECOND[hook.kind]))
        key = self.key(hook)
        while True:
            with self._lock:
                now = time.time()
                times = self.posts.setdefault(key, [])
                times.sort()
                wait = 0.0
                for span, most in windows:
                    recent = [t for t in times if t > now - span]
                    if len(recent) >= most:  # the oldest that must age out first
                        wait = max(wait, recent[len(recent) - most] + span - now)
                if wait <= 0:
                    times.append(now)
                    self._held[(key, threading.get_ident())] = now
                    return ""
            if time.monotonic() + wait > deadline:
                return (
                    f"rate limit: the robot's {per_minute:g} posts a minute are used up "
                    f"(this run's and earlier runs'); next post possible in {wait:.0f} s"
                )
            time.sleep(wait)

    def posted(self, hook: WebhookConfig) -> None:
        """The post whose place this thread holds is answered: it counts from now on.

        The robot received it between the place being taken and now; counting from the answer
        keeps the next minute's first post 60 s after the robot's own receipt, whatever the
        network's delay (the bench saw 21 in a minute counting from the send)."""
        key = self.key(hook)
        with self._lock:
            held = self._held.pop((key, threading.get_ident()), None)
            times = self.posts.get(key, [])
            if held is not None and held in times:
                times[times.index(held)] = time.time()


def send_webhook(
    hook: WebhookConfig, reminders: list[Reminder], secret: str | None,
    deadline: float | None = None, robots: RobotLog | None = None,
) -> list[Delivery]:  # fmt: skip
    """One run's message to one robot, its posts within the robot's rate (counting the earlier
    runs' posts in `robots`), given up at `deadline`."""
    deadline = time.monotonic() + BUDGET_SECONDS if deadline is None else deadline
    robots = RobotLog() if robots is None else robots
    label = hook.name or f"{hook.kind}:{safe_url(hook.url)}"
    ok, detail = True, ""
    if reminders:
        requests = webhook_requests(hook, reminders, secret)
        for i, (url, body) in enumerate(requests):
            if i and time.monotonic() >= deadline:
                ok, detail = (
                    False,
                    f"piece {i + 1} of {len(requests)} not sent: time budget used up",
                )
                break
            ok, detail = post_json(
                url, body, deadline=deadline,
                gate=lambda: robots.wait_turn(hook, deadline), posted=lambda: robots.posted(hook),
            )  # fmt: skip
            if not ok:
                if detail.startswith("rate limit") or time.monotonic() >= deadline - 0.2:
                    budget = "" if detail.startswith("rate limit") else " (time budget used up)"
                    detail = f"piece {i + 1} of {len(requests)} not sent: {detail}{budget}"
                break
    return [Delivery(f"webhook {label}", r.recipient, ok, detail) for r in reminders]


def send_webhooks(
    hooks: list[WebhookConfig], reminders: list[Reminder], secrets: dict[str, str | None],
    budget: float = BUDGET_SECONDS, robots: RobotLog | None = None,
) -> list[Delivery]:  # fmt: skip
    """One message per robot per run, holding every reminder; each recipient shares its outcome.

    Robots are posted to in parallel (the run takes as long as the slowest, not the sum), and
    none past `budget` seconds."""
    deadline = time.monotonic() + budget
    robots = RobotLog() if robots is None else robots
    jobs = [lambda h=h: send_webhook(h, reminders, secrets.get(h.secret_env or ""), deadline, robots)
            for h in hooks]  # fmt: skip
    return [d for ds in run_parallel(jobs) for d in ds]


def run_parallel(jobs: list[Any]) -> list[Any]:
    """Each job's result, in order, the jobs run at the same time (each is mostly waiting on I/O)."""
    from concurrent.futures import ThreadPoolExecutor

    if len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]
