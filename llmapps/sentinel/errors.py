"""Sentinel's user-facing errors: each message is one line naming the problem and the fix."""

from __future__ import annotations

from llmapps.errors import LlmappsError


class SentinelError(LlmappsError):
    """Base of every sentinel error."""


class SourceError(SentinelError):
    """A source (GitHub, Hacker News, git) could not be read."""

    status_code = 502


class GitHubAuthError(SourceError):
    """GitHub rejected the token (401)."""

    status_code = 401


class RepoNotFoundError(SourceError):
    """The repository does not exist or is not visible with the token (404)."""

    status_code = 404


class RateLimitError(SourceError):
    """GitHub's rate limit is exhausted for longer than we are willing to wait."""

    status_code = 429


class SubscriptionError(SentinelError):
    """A subscription argument is wrong (target, schedule, time zone, email, webhook)."""


class NotFoundError(SentinelError):
    """A subscription or report id that does not exist."""

    status_code = 404


class DeliveryError(SentinelError):
    """A report could not be delivered (it is recorded and retried later)."""

    status_code = 502


class ForbiddenError(SentinelError):
    """An HTTP caller asked for something only a local user may do (a git path outside
    ``sentinel.git_roots``)."""

    status_code = 403
