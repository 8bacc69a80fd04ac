"""The FastAPI app ``llmapps up`` runs: the Gradio UI at ``/``, ``/v1``, ``/api``, app endpoints.

Why one process: a user starts one thing and gets every application and the private model
server on one port. Each area contributes an ``APIRouter`` from its own package.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmapps import __version__
from llmapps.config import Settings, get_settings
from llmapps.errors import LlmappsError
from llmapps.scrub import install_log_scrubber
from llmapps.serve.edge import error_body
from llmapps.serve.http import api_error

# Modules exposing ``router`` (an APIRouter); included in this order.
ROUTER_MODULES = (
    "llmapps.serve.routes",
    "llmapps.translate.routes",
    "llmapps.sentinel.routes",
    "llmapps.chat.routes",
)


def create_app(settings: Settings | None = None, *, ui: bool = True) -> FastAPI:
    """Build the app; ``ui=False`` leaves out Gradio (for ``llmapps serve`` and API tests)."""
    settings = settings or get_settings()
    install_log_scrubber()  # every log line of the server, ours and the libraries'
    app = FastAPI(title="llmapps", version=__version__)
    app.state.settings = settings
    from llmapps.serve.auth import install as install_api_security

    # Optional API keys for every path but /healthz (browsers log in at /login), plus CORS.
    install_api_security(app, settings, ui=ui)

    # One error mapping for every route: each API answers in its own shape (see api_error).
    app.add_exception_handler(LlmappsError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _api_error)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        app.include_router(module.router)

    if not ui:  # `llmapps serve`: "/" is Ollama's "Ollama is running" probe
        from llmapps.serve.routes import root_router

        app.include_router(root_router)
    if ui:
        import gradio as gr

        from llmapps.web.ui import build_ui, mount_options

        app = gr.mount_gradio_app(
            app,
            build_ui(settings),
            path="/",
            max_file_size=f"{settings.server.max_upload_mb}mb",  # uploads of every tab
            **mount_options(),
        )
        # The page (~270 KB) and /config (~150 KB) shrink to a fifth; streams are unaffected
        # (text/event-stream is never compressed by Starlette's middleware).
        from starlette.middleware.gzip import GZipMiddleware

        app.add_middleware(GZipMiddleware, minimum_size=1024)
    return app


async def _api_error(request: Request, exc: Exception) -> Response:
    return api_error(request.url.path, exc)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's validation errors as one line in the API's shape (not ``{"detail": [...]}``)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"][1:]) or str(
        first["loc"][0] if first["loc"] else "body"
    )
    message = f"'{where}': {first['msg']}"
    return JSONResponse(error_body(request.url.path, message), status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    detail = str(getattr(exc, "detail", "") or "error")
    headers = getattr(exc, "headers", None)
    return JSONResponse(error_body(request.url.path, detail), status_code=status, headers=headers)
