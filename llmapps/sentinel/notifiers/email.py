"""Email delivery over SMTP (SSL, STARTTLS or plain), HTML and text parts, several recipients.

Why both parts: mail clients that render HTML get headings and links; the rest (and filters,
and people who prefer it) get the Markdown itself, which reads fine as plain text.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from markdown_it import MarkdownIt

from llmapps.config import Settings, secret
from llmapps.sentinel.errors import DeliveryError

_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: -apple-system, 'Segoe UI', 'PingFang SC', sans-serif; max-width: 760px;">
{body}
</body></html>
"""


def markdown_to_html(markdown: str) -> str:
    """Markdown -> simple HTML; raw HTML inside the report is escaped, never passed through."""
    return MarkdownIt("commonmark", {"html": False}).render(markdown)


def build_message(sender: str, recipients: list[str], subject: str, markdown: str) -> EmailMessage:
    from html import escape

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="llmapps.sentinel")
    msg.set_content(markdown, subtype="plain", charset="utf-8")
    html = _HTML.format(title=escape(subject), body=markdown_to_html(markdown))
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def send_email(settings: Settings, recipients: list[str], subject: str, markdown: str) -> None:
    """Send one message to all ``recipients``; raises :class:`DeliveryError` with the cause."""
    cfg = settings.sentinel
    if not cfg.smtp_host:
        raise DeliveryError(
            "sentinel.smtp_host is not set: add smtp_host (and smtp_port, smtp_user) under "
            "[sentinel] in llmapps.toml"
        )
    if not recipients:
        raise DeliveryError("no email recipients: add them with --to name@example.com")
    sender = cfg.smtp_from or cfg.smtp_user or "sentinel@localhost"
    msg = build_message(sender, recipients, subject, markdown)
    password = secret("SMTP_PASSWORD")
    security = cfg.smtp_security.lower()
    if security not in ("ssl", "starttls", "none"):
        raise DeliveryError(
            f"unknown sentinel.smtp_security '{cfg.smtp_security}': use ssl, starttls or none"
        )
    # Certificates are always verified; a private CA is trusted through smtp_ca_file.
    context = ssl.create_default_context(cafile=cfg.smtp_ca_file or None)
    try:
        smtp: smtplib.SMTP
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(
                cfg.smtp_host,
                cfg.smtp_port,
                timeout=cfg.smtp_timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout)
        with smtp:
            smtp.ehlo()
            if security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if cfg.smtp_user:
                if not password:
                    raise DeliveryError(
                        "SMTP_PASSWORD is not set: put it in the environment or .env "
                        f"(user {cfg.smtp_user})"
                    )
                smtp.login(cfg.smtp_user, password)
            refused = smtp.send_message(msg, from_addr=sender, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError:
        raise DeliveryError(
            f"SMTP login failed for {cfg.smtp_user} at {cfg.smtp_host}: check SMTP_PASSWORD"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            f"cannot send email via {cfg.smtp_host}:{cfg.smtp_port} ({security}): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if refused:
        raise DeliveryError(f"the SMTP server refused {', '.join(refused)}: check the addresses")
