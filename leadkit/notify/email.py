"""Reminders by e-mail over SMTP (STARTTLS or SSL)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from leadkit.workspace import EmailConfig

if TYPE_CHECKING:  # the settings models load with leadkit.yaml, before pandas
    pass
from leadkit.notify.messages import Delivery, Reminder, plain_text

# ---------------------------------------------------------------------------------------------
# E-mail


def send_email(
    config: EmailConfig, reminders: list[Reminder], password: str | None
) -> list[Delivery]:
    """One message per reminder over one SMTP connection; a refused recipient does not stop others."""
    results: list[Delivery] = []
    wanted = [r for r in reminders if (r.address if r.recipient != "manager" else config.manager)]
    for r in reminders:
        if r not in wanted:
            results.append(
                Delivery(
                    "email",
                    r.recipient,
                    False,
                    "no e-mail address in routing.yaml / notify.email.manager",
                )
            )
    if not wanted:
        return results
    try:
        if config.security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host,
                config.port,
                timeout=config.timeout,
                context=ssl.create_default_context(),
            )
        else:
            server = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            if config.security == "starttls":
                server.starttls(context=ssl.create_default_context())
        with server:
            if config.user:
                server.login(config.user, password or "")
            for r in wanted:
                msg = EmailMessage()
                msg["Subject"] = r.title
                msg["From"] = config.sender
                to = r.address if r.recipient != "manager" else config.manager
                msg["To"] = to
                if r.escalate and config.manager and r.recipient != "manager":
                    msg["Cc"] = config.manager
                # mail clients thread, sort and de-duplicate by these; some spam filters
                # score a message without them
                msg["Date"] = formatdate(localtime=True)
                msg["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or None)
                msg.set_content(plain_text(r.markdown))
                msg.add_alternative(r.html, subtype="html")
                try:
                    server.send_message(msg)
                    results.append(Delivery("email", r.recipient, True))
                except smtplib.SMTPException as exc:
                    results.append(
                        Delivery("email", r.recipient, False, f"{type(exc).__name__}: {exc}")
                    )
    except (OSError, smtplib.SMTPException) as exc:
        done = {d.recipient for d in results}
        results += [Delivery("email", r.recipient, False, f"{config.host}:{config.port}: {type(exc).__name__}: {exc}")
                    for r in wanted if r.recipient not in done]  # fmt: skip
    return results
