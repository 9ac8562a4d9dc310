"""Reminders that reach a person: the messages, e-mail over SMTP and the chat robots' webhooks.

Nothing here reads the book; the pipeline hands over the due items."""

from leadkit.notify.email import send_email
from leadkit.notify.messages import (
    LIMITS,
    Delivery,
    NotifyReport,
    Reminder,
    chat_markdown,
    plain_text,
    split_markdown,
)
from leadkit.notify.webhooks import (
    BUDGET_SECONDS,
    PER_SECOND,
    RATES,
    RETRY_WAITS,
    SLACK_BLOCKS,
    SLACK_TEXT,
    RobotLog,
    build_reminders,
    dingtalk_sign,
    feishu_sign,
    post_json,
    run_parallel,
    safe_url,
    send_webhook,
    send_webhooks,
    webhook_requests,
    webhook_secrets,
)

__all__ = [
    "BUDGET_SECONDS",
    "LIMITS",
    "PER_SECOND",
    "RATES",
    "RETRY_WAITS",
    "SLACK_BLOCKS",
    "SLACK_TEXT",
    "Delivery",
    "NotifyReport",
    "Reminder",
    "RobotLog",
    "build_reminders",
    "chat_markdown",
    "dingtalk_sign",
    "feishu_sign",
    "plain_text",
    "post_json",
    "run_parallel",
    "safe_url",
    "send_email",
    "send_webhook",
    "send_webhooks",
    "split_markdown",
    "webhook_requests",
    "webhook_secrets",
]
