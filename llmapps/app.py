"""The FastAPI app ``llmapps up`` runs: the Gradio UI at ``/``, ``/v1``, ``/api``, app endpoints.

Why one process: a user starts one thing and gets every application and the private model
server on one port. Each area contributes an ``APIRouter`` from its own package.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from llmapps import __version__
from llmapps.config import Settings, get_settings
from llmapps.errors import LlmappsError

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
    app = FastAPI(title="llmapps", version=__version__)
    app.state.settings = settings
    from llmapps.serve.auth import install as install_api_security

    # Optional API keys for every path but /healthz (browsers log in at /login), plus CORS.
    install_api_security(app, settings, ui=ui)

    @app.exception_handler(LlmappsError)
    async def _user_error(_request: Request, exc: LlmappsError) -> JSONResponse:
        return JSONResponse({"error": {"message": str(exc)}}, status_code=exc.status_code)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        app.include_router(module.router)

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
