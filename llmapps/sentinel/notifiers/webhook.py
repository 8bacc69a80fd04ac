"""Chat webhooks: generic JSON, Slack, Feishu/Lark, DingTalk and WeCom payloads.

Why per-format payloads: each platform accepts a different JSON body and signals failure
differently (DingTalk/WeCom ``errcode``, Feishu ``code``, Slack plain ``ok``); a 200 with an
error code is a failed delivery, not a success.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from llmapps.scrub import scrub
from llmapps.sentinel.errors import DeliveryError

WECOM_LIMIT = 4000  # bytes: WeCom rejects markdown content over 4096 bytes
DINGTALK_LIMIT = 18000


def _truncate_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 20].decode("utf-8", errors="ignore") + "\n…(truncated)"


def slack_mrkdwn(markdown: str) -> str:
    """Markdown -> Slack mrkdwn: ``[t](u)`` -> ``<u|t>``, headings bold, ``**b**`` -> ``*b*``."""
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"<\2|\1>", markdown)
    text = re.sub(r"^#{1,6}\s+(.+)$", r"*\1*", text, flags=re.MULTILINE)
    return re.sub(r"\*\*([^*]+)\*\*", r"*\1*", text)


def payload(fmt: str, title: str, markdown: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for ``fmt`` (json | slack | feishu | dingtalk | wecom)."""
    if fmt == "slack":
        return {
            "text": title,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": slack_mrkdwn(markdown)[:2900]},
                },
            ],
        }
    if fmt == "feishu":
        return {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {"title": {"tag": "plain_text", "content": title}},
                "elements": [{"tag": "markdown", "content": markdown}],
            },
        }
    if fmt == "dingtalk":
        return {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": _truncate_bytes(markdown, DINGTALK_LIMIT)},
        }
    if fmt == "wecom":
        return {
            "msgtype": "markdown",
            "markdown": {"content": _truncate_bytes(markdown, WECOM_LIMIT)},
        }
    return {"title": title, "markdown": markdown, **meta}


def redact_webhook(url: str) -> str:
    """``https://hooks.example.com/…#1a2b3c``: scheme and host, then a short digest as a hint.

    Webhook URLs carry tokens (paths, ``access_token=``, user info); a digest (not the URL's
    last characters) tells two hooks on one host apart without revealing any part of the secret.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        parts, host, port = urlsplit(""), "", ""
    digest = hashlib.sha256(url.encode()).hexdigest()[:6]
    base = f"{parts.scheme}://{host}{port}" if parts.scheme and host else ""
    return f"{base}/…#{digest}"


def post_webhook(
    url: str, fmt: str, title: str, markdown: str, meta: dict[str, Any], timeout: float = 20.0
) -> None:
    """POST once; raises :class:`DeliveryError` on HTTP errors and platform error codes."""
    body = payload(fmt, title, markdown, meta)
    where = redact_webhook(url)
    try:
        resp = httpx.post(url, json=body, timeout=timeout, trust_env=False)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {where} unreachable ({type(exc).__name__})") from None
    if resp.status_code >= 300:
        raise DeliveryError(
            f"webhook {where} answered {resp.status_code}: {scrub(resp.text)[:200]}"
        )
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        code = data.get("errcode", data.get("code", data.get("StatusCode", 0)))
        if code not in (0, None, "0"):
            message = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
            raise DeliveryError(f"webhook {where} ({fmt}) returned error {code}: {message}")
