"""User-facing errors of the translator: one line naming the problem and the fix."""

from __future__ import annotations

from llmapps.errors import LlmappsError


class TranslateError(LlmappsError):
    """Any translator problem the user can fix (bad file, bad option)."""


class UnsupportedFileError(TranslateError):
    status_code = 415


class EncryptedPdfError(TranslateError):
    status_code = 400


class CorruptFileError(TranslateError):
    status_code = 422


class PdfLimitError(TranslateError):
    """The PDF exceeds a parsing limit (pages, decompressed size, time per page)."""

    status_code = 413


class JobNotFoundError(TranslateError):
    status_code = 404


class JobNotReadyError(TranslateError):
    status_code = 409
