"""HTTP endpoints of Sentinel under ``/sentinel`` (the same service functions as CLI and UI).

Every call passes ``access=REMOTE``: the service applies the remote-caller rules (local git
paths confined to ``sentinel.git_roots``, model specs through the guard, webhook URLs shown
redacted and kept when sent back redacted). The handlers only parse and present.

Handlers are plain ``def``: FastAPI runs them in its thread pool, where the service may call
``asyncio.run`` for concurrent fetching and a local model may take its time.

Each handler imports the service when it runs: the service loads LangChain, which a model
server that is never asked for a report should not hold in memory (``bench/serve.py`` counts
the server's resident size against llama-server's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from llmapps.access import REMOTE
from llmapps.config import Settings, get_settings

router = APIRouter(prefix="/sentinel", tags=["sentinel"])


def _settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


class SubscriptionIn(BaseModel):
    target: str = Field(description="owner/repo, a local git path, or hn")
    every: str = "daily"
    at: str | None = None
    tz: str | None = None
    lang: str | None = None
    emails: list[str] = Field(default_factory=list)
    webhooks: list[str] = Field(default_factory=list)
    webhook_format: str | None = None
    model: str | None = None
    releases_only: bool = False
    labels: list[str] = Field(default_factory=list, max_length=50)
    paths: list[str] = Field(default_factory=list, max_length=50)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    include_seen: bool = False
    per_item: bool = False


class SubscriptionPatch(BaseModel):
    every: str | None = None
    at: str | None = None
    tz: str | None = None
    lang: str | None = None
    emails: list[str] | None = None
    webhooks: list[str] | None = None
    webhook_format: str | None = None
    model: str | None = None
    enabled: bool | None = None
    releases_only: bool | None = None
    labels: list[str] | None = Field(default=None, max_length=50)
    paths: list[str] | None = Field(default=None, max_length=50)
    keywords: list[str] | None = Field(default=None, max_length=50)
    include_seen: bool | None = None
    per_item: bool | None = None


class ReportIn(BaseModel):
    target: str
    days: float | None = None
    since: str | None = None
    until: str | None = None
    model: str | None = None
    lang: str | None = None
    per_item: bool | None = None


class HackerNewsIn(BaseModel):
    hours: float | None = None
    daily: bool = False
    model: str | None = None
    lang: str | None = None
    include_seen: bool = False
    per_item: bool = False
    keywords: list[str] = Field(default_factory=list, max_length=50)


@router.get("/subscriptions")
def list_subscriptions(request: Request) -> list[dict[str, Any]]:
    from llmapps.sentinel import service

    subs = service.list_subscriptions(_settings(request))
    return [service.subscription_view(s, REMOTE) for s in subs]


def _for_target(
    run: Callable[..., Any], body: SubscriptionIn | ReportIn, request: Request
) -> dict[str, Any]:
    """Call ``run(settings, target, ...)`` with the body's fields as a remote caller."""
    data = body.model_dump()
    target = data.pop("target")
    return dict(run(_settings(request), target, access=REMOTE, **data).to_dict())


@router.post("/subscriptions", status_code=201)
def add_subscription(body: SubscriptionIn, request: Request) -> dict[str, Any]:
    from llmapps.sentinel import service

    # The answer echoes the caller's own webhook URLs; every later listing redacts them.
    return _for_target(service.add_subscription, body, request)


@router.patch("/subscriptions/{ref:path}")
def edit_subscription(ref: str, body: SubscriptionPatch, request: Request) -> dict[str, Any]:
    from llmapps.sentinel import service

    sub = service.edit_subscription(_settings(request), ref, access=REMOTE, **body.model_dump())
    return service.subscription_view(sub, REMOTE)


@router.delete("/subscriptions/{ref:path}")
def remove_subscription(ref: str, request: Request) -> dict[str, Any]:
    from llmapps.sentinel import service

    return service.subscription_view(service.remove_subscription(_settings(request), ref), REMOTE)


@router.post("/reports", status_code=201)
def create_report(body: ReportIn, request: Request) -> dict[str, Any]:
    from llmapps.sentinel import service

    return _for_target(service.generate_report, body, request)


@router.get("/reports")
def list_reports(request: Request, target: str | None = None) -> list[dict[str, Any]]:
    from llmapps.sentinel import service

    rows = service.history(_settings(request), target)
    return [{k: v for k, v in r.to_dict().items() if k != "markdown"} for r in rows]


@router.get("/reports/{report_id}")
def get_report(report_id: int, request: Request) -> dict[str, Any]:
    from llmapps.sentinel import service

    return service.get_report(_settings(request), report_id).to_dict()


@router.get("/reports/{report_id}/download")
def download_report(report_id: int, request: Request, raw: bool = False) -> FileResponse:
    """The Markdown file, or with ``?raw=true`` the raw activity JSON exported beside it."""
    from llmapps.sentinel import service

    report = service.get_report(_settings(request), report_id)
    path = Path(report.raw_path if raw else report.path)
    media = "application/json" if raw else "text/markdown; charset=utf-8"
    return FileResponse(path, media_type=media, filename=path.name)


@router.post("/hn", status_code=201)
def hacker_news(body: HackerNewsIn, request: Request) -> dict[str, Any]:
    from llmapps.sentinel import service

    return service.hn_report(_settings(request), access=REMOTE, **body.model_dump()).to_dict()


@router.post("/run-now")
def run_now(request: Request, all: bool = False) -> list[dict[str, Any]]:
    from llmapps.sentinel import service

    outcomes = service.run_due(_settings(request), everything=all)
    return [
        {
            "subscription": o.subscription.id,
            "target": o.subscription.target,
            "report": o.report.id if o.report else None,
            "error": o.error,
            "deliveries": [d.to_dict() for d in o.deliveries],
        }
        for o in outcomes
    ]
