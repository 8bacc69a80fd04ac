"""Delivery: a real SMTP server (aiosmtpd) and a webhook receiver for every format."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from llmapps.config import Settings, get_settings
from llmapps.sentinel import service
from llmapps.sentinel.notifiers import deliver, list_deliveries, retry_failed
from llmapps.sentinel.notifiers.email import send_email
from llmapps.sentinel.reports import Report, get_report
from tests.sentinel.conftest import WINDOW_END, WINDOW_START, CountingFakeModel

REPORT_MD = (
    "# acme/rocket: activity report\n\n## Fixes\n\n"
    "- [#7](https://github.com/acme/rocket/pull/7) fix: a <b>bold</b> bug\n"
)


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int, security: str, **extra: str) -> None:
    """Point sentinel's SMTP settings at a loopback server (``extra``: more sentinel keys)."""
    keys = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": security, **extra}
    for key, value in keys.items():
        monkeypatch.setenv(f"LLMAPPS_SENTINEL__{key}", value)


@pytest.fixture
def smtp_settings(smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> Settings:
    use_smtp(
        monkeypatch,
        smtp_server.port,
        "none",
        SMTP_FROM="sentinel@example.com",
        DELIVERY_BACKOFF_S="0.01",
    )
    return get_settings()


def test_email_reaches_every_recipient_with_both_parts(
    smtp_server: Any, smtp_settings: Settings
) -> None:
    send_email(smtp_settings, ["a@example.com", "b@example.org"], "Rocket 周报", REPORT_MD)
    collector = smtp_server.collector
    assert collector.envelopes == [["a@example.com", "b@example.org"]]
    msg = collector.messages[0]
    assert msg["Subject"] == "Rocket 周报"
    assert msg["From"] == "sentinel@example.com"
    assert msg.is_multipart()
    parts = {p.get_content_type(): p for p in msg.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "## Fixes" in text
    assert '<a href="https://github.com/acme/rocket/pull/7">#7</a>' in html
    assert "<h2>Fixes</h2>" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html  # no raw HTML


def test_smtp_login_uses_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink
    from aiosmtpd.smtp import AuthResult

    from tests.sentinel.conftest import free_port

    seen: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        seen.append((auth.login, auth.password))
        return AuthResult(success=auth.password == b"s3cret", handled=False)

    port = free_port()
    controller = Controller(
        Sink(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        use_smtp(monkeypatch, port, "none", SMTP_USER="robot")
        monkeypatch.setenv("SMTP_PASSWORD", "wrong")
        from llmapps.sentinel.errors import DeliveryError

        with pytest.raises(DeliveryError, match=r"SMTP login failed.*SMTP_PASSWORD"):
            send_email(get_settings(), ["x@example.com"], "s", "body")
        monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
        send_email(get_settings(), ["x@example.com"], "s", "body")
        assert seen[-1] == (b"robot", b"s3cret")
    finally:
        controller.stop()


def _store_report(settings: Settings) -> Report:
    from llmapps.sentinel.activity import Activity
    from llmapps.sentinel.reports import store_report

    activity = Activity("acme/rocket", "github", WINDOW_START, WINDOW_END, [])
    return store_report(
        settings,
        activity,
        report_type="github",
        lang="en",
        title="acme/rocket: activity report",
        markdown=REPORT_MD,
        model_name=None,
        subscription_id=None,
    )


@pytest.mark.parametrize("fmt", ["json", "slack", "feishu", "dingtalk", "wecom"])
def test_webhook_payload_formats(fmt: str, httpserver: HTTPServer, smtp_settings: Settings) -> None:
    received: list[dict[str, Any]] = []
    ok = {
        "json": {"ok": True},
        "slack": "ok",
        "feishu": {"code": 0, "msg": "success"},
        "dingtalk": {"errcode": 0, "errmsg": "ok"},
        "wecom": {"errcode": 0, "errmsg": "ok"},
    }

    def handler(request: Request) -> Response:
        received.append(json.loads(request.data))
        body = ok[fmt]
        return Response(body if isinstance(body, str) else json.dumps(body), status=200)

    httpserver.expect_request(f"/hook/{fmt}", method="POST").respond_with_handler(handler)
    report = _store_report(smtp_settings)
    [delivery] = deliver(
        smtp_settings, report, [], [{"url": httpserver.url_for(f"/hook/{fmt}"), "format": fmt}]
    )
    assert delivery.status == "sent" and delivery.attempts == 1
    body = received[0]
    if fmt == "json":
        assert body["title"] == report.title and body["markdown"] == REPORT_MD
        assert body["report_id"] == report.id and body["target"] == "acme/rocket"
    elif fmt == "slack":
        assert body["text"] == report.title
        assert "<https://github.com/acme/rocket/pull/7|#7>" in body["blocks"][1]["text"]["text"]
    elif fmt == "feishu":
        assert body["msg_type"] == "interactive"
        assert body["card"]["header"]["title"]["content"] == report.title
        assert body["card"]["elements"][0] == {"tag": "markdown", "content": REPORT_MD}
    elif fmt == "dingtalk":
        assert body == {
            "msgtype": "markdown",
            "markdown": {"title": report.title, "text": REPORT_MD},
        }
    else:
        assert body == {"msgtype": "markdown", "markdown": {"content": REPORT_MD}}


def test_failed_delivery_is_recorded_and_retried(
    httpserver: HTTPServer, smtp_settings: Settings
) -> None:
    state = {"up": False}

    def handler(request: Request) -> Response:
        if not state["up"]:
            return Response(
                json.dumps({"errcode": 310000, "errmsg": "keywords not in content"}), status=200
            )
        return Response(json.dumps({"errcode": 0, "errmsg": "ok"}), status=200)

    httpserver.expect_request("/robot/send", method="POST").respond_with_handler(handler)
    report = _store_report(smtp_settings)
    hook = {"url": httpserver.url_for("/robot/send") + "?access_token=SECRET", "format": "dingtalk"}
    [delivery] = deliver(smtp_settings, report, [], [hook])
    assert delivery.status == "failed" and delivery.attempts == 3
    assert "310000" in (delivery.last_error or "")
    assert "SECRET" not in json.dumps(delivery.to_dict())  # tokens in URLs are not shown
    assert [d.id for d in list_deliveries(smtp_settings, "failed")] == [delivery.id]
    state["up"] = True
    [retried] = retry_failed(smtp_settings)
    assert retried.id == delivery.id and retried.status == "sent" and retried.attempts == 4
    assert list_deliveries(smtp_settings, "failed") == []


def test_scheduled_run_delivers_to_email_and_webhook(
    git_repo: Any,
    httpserver: HTTPServer,
    smtp_server: Any,
    smtp_settings: Settings,
    fake_model: CountingFakeModel,
) -> None:
    posts: list[dict[str, Any]] = []

    def handler(request: Request) -> Response:
        posts.append(json.loads(request.data))
        return Response("ok")

    httpserver.expect_request("/slack", method="POST").respond_with_handler(handler)
    sub = service.add_subscription(
        smtp_settings,
        str(git_repo),
        every="daily",
        lang="en",
        emails=["pm@example.com", "dev@example.com"],
        webhooks=[httpserver.url_for("/slack")],
        webhook_format="slack",
    )
    # pretend the last run ended at the window start: the run covers exactly the new window
    from llmapps.sentinel.subscriptions import mark_run

    mark_run(smtp_settings, sub.id, window_end=WINDOW_START, status="ok")
    outcome = service.run_subscription(smtp_settings, sub.id, chat_model=fake_model, now=WINDOW_END)
    assert outcome.error is None and outcome.report is not None
    assert outcome.report.item_count == 3
    assert [d.status for d in outcome.deliveries] == ["sent", "sent"]
    msg = smtp_server.collector.messages[0]
    assert (
        msg["Subject"].strip()
        == outcome.report.title
        == "localrepo (git): activity report 2026-11-01 → 2026-11-02"
    )
    assert smtp_server.collector.envelopes == [["pm@example.com", "dev@example.com"]]
    assert posts[0]["text"] == outcome.report.title
    stored = get_report(smtp_settings, outcome.report.id)
    assert stored.subscription_id == sub.id
    # the next run starts where this one ended
    again = service.run_subscription(
        smtp_settings, sub.id, chat_model=fake_model, now=WINDOW_END + (WINDOW_END - WINDOW_START)
    )
    assert again.report is not None and again.report.window_start == stored.window_end
    assert again.report.item_count == 1  # only "feat: later work"


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_email_over_tls_verifies_the_server_certificate(
    security: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Implicit TLS (SMTPS) and STARTTLS against aiosmtpd with a certificate made here."""
    import ssl
    import subprocess

    from aiosmtpd.controller import Controller

    from llmapps.sentinel.errors import DeliveryError
    from tests.sentinel.conftest import free_port

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    received: list[list[str]] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(list(envelope.rcpt_tos))
            return "250 OK"

    port = free_port()
    if security == "ssl":
        controller = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=server_ctx)
    else:
        controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=port,
            tls_context=server_ctx,
            require_starttls=True,
        )
    controller.start()
    try:
        use_smtp(monkeypatch, port, security)
        with pytest.raises(DeliveryError, match="cannot send email"):  # unknown CA: refused
            send_email(get_settings(), ["a@example.com"], "s", "body")
        monkeypatch.setenv("LLMAPPS_SENTINEL__SMTP_CA_FILE", str(cert))
        send_email(get_settings(), ["a@example.com", "b@example.com"], "s", "body")
        assert received == [["a@example.com", "b@example.com"]]
    finally:
        controller.stop()
