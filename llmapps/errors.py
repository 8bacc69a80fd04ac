"""The base of every user-facing error in llmapps.

Why one base: the CLI turns any :class:`LlmappsError` into a one-line message and a non-zero
exit, and the HTTP app into a JSON error with ``status_code``, without knowing which part of
the suite raised it. The message itself names the problem and the fix.
"""

from __future__ import annotations


class LlmappsError(Exception):
    """A problem the user can fix; ``str(err)`` is the one line shown to them."""

    status_code: int = 400
    exit_code: int = 1

    def __str__(self) -> str:
        # Known secret values never leave in a message, whoever shows or stores it.
        from llmapps.scrub import scrub

        return scrub(super().__str__())
