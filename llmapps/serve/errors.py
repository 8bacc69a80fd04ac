"""Errors of the private model server, each one line naming the problem and the fix.

Why a hierarchy with ``kind``: the OpenAI API answers ``{"error": {"type": ...}}`` and the
Ollama API ``{"error": "..."}``; both shells turn the same exception into their own shape and
the right HTTP status, and the CLI shows the same line.
"""

from __future__ import annotations

from llmapps.errors import LlmappsError


class ServeError(LlmappsError):
    """Base of the server's user-facing errors."""

    status_code = 400
    kind = "invalid_request_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class BadRequestError(ServeError):
    """Malformed JSON, a missing or wrongly typed field, an unknown option."""


class ModelfileError(BadRequestError):
    """A Modelfile line cannot be parsed; the message starts with ``line N:``."""


class ContextOverflowError(BadRequestError):
    """The prompt does not fit the model's context window (and truncation was not asked)."""

    code = "context_length_exceeded"


class ModelNotFoundError(ServeError):
    """No model of that name in the registry."""

    status_code = 404
    code = "model_not_found"


class ModelExistsError(ServeError):
    """Creating or copying onto a name that is reserved."""

    status_code = 409


class UnauthorizedError(ServeError):
    """Missing or wrong API key."""

    status_code = 401
    kind = "authentication_error"
    code = "invalid_api_key"


class PayloadTooLargeError(ServeError):
    """The request body is over the configured limit."""

    status_code = 413
    code = "request_too_large"


class BusyError(ServeError):
    """The model's queue is full; the client should retry after ``retry_after`` seconds."""

    status_code = 503
    kind = "server_error"
    code = "server_busy"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OfflineError(ServeError):
    """Pulling from a remote registry: not possible on an offline, private server."""

    status_code = 400
    code = "offline"


class ClientGoneError(ServeError):
    """The client disconnected while its request waited or ran (nginx's 499: nobody reads it)."""

    status_code = 499
    code = "client_disconnected"
