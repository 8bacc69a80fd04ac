"""Errors the model layer raises, each phrased as one line with the fix.

Why a small hierarchy: the CLI, the web UI and the HTTP layer all turn these into a one-line
message (and an exit code or HTTP status) without knowing which provider was behind the spec.
"""

from __future__ import annotations

from llmapps.errors import LlmappsError


class ModelError(LlmappsError):
    """Base class: a model could not be used. ``str(err)`` is the user-facing line."""

    status_code = 500


class SpecError(ModelError):
    """A model spec string is malformed or names an unknown provider or alias."""

    status_code = 400


class MissingKeyError(ModelError):
    """A provider needs an API key that is not in the environment or ``.env``."""

    status_code = 401


class AuthError(ModelError):
    """The provider rejected the key."""

    status_code = 401


class UnknownModelError(ModelError):
    """The provider does not know the model (never silently replaced by another one)."""

    status_code = 404


class RequestRejectedError(ModelError):
    """The provider refused this request as invalid (HTTP 4xx other than 401/404/408/429):
    an unsupported option, a bad parameter. Sending it again will not help."""

    status_code = 400


def is_rejection(status: int) -> bool:
    """Whether an HTTP status means "this request is invalid as sent" (not auth, not a missing
    model, not transient): the provider errors that become :class:`RequestRejectedError`."""
    return 400 <= status < 500 and status not in (401, 403, 404, 408, 429)


class UnreachableError(ModelError):
    """The provider's host could not be reached or timed out."""

    status_code = 502


class RateLimitedError(ModelError):
    """The provider kept answering 429 after our retries."""

    status_code = 429
