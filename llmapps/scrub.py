"""One scrubber of known secret values, for every error text, log line and stored record.

Why by value rather than by pattern: an upstream that echoes ``Authorization: Bearer sk-…`` in
its error body, a webhook URL with a token in a traceback, a password quoted by an SMTP server:
the secret arrives inside text we do not control. We know the secrets themselves (they come
only from the environment or ``.env``), so every occurrence of one is replaced wherever text
leaves the process or is stored: :class:`llmapps.errors.LlmappsError` messages, log records
(:func:`install_log_scrubber`) and rows written by the call log and Sentinel's deliveries.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

REPLACEMENT = "[redacted]"
MIN_LENGTH = 8  # shorter values would scrub ordinary words and numbers
# Environment names whose values are secrets even when not listed in config.SECRET_NAMES.
_SUFFIXES = ("_API_KEY", "_API_KEYS", "_TOKEN", "_PASSWORD", "_SECRET", "_ACCESS_KEY")

_lock = threading.Lock()
_cache: tuple[Any, tuple[str, ...]] = (None, ())


def _is_secret_name(name: str, listed: tuple[str, ...]) -> bool:
    upper = name.upper()
    return upper in listed or upper.endswith(_SUFFIXES)


_dotenv_cache: tuple[Any, dict[str, str]] = (None, {})


def _dotenv_values() -> dict[str, str]:
    """``.env`` as config reads it, parsed again only when the file changes."""
    from llmapps.config import _dotenv, _dotenv_path

    global _dotenv_cache
    path = _dotenv_path()
    try:
        stat = path.stat()
        stamp: Any = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return {}
    if _dotenv_cache[0] != stamp:
        try:
            _dotenv_cache = (stamp, _dotenv())
        except Exception:  # an unreadable .env must not break logging
            return {}
    return _dotenv_cache[1]


def known_secrets() -> tuple[str, ...]:
    """Secret values set in the environment or ``.env``, longest first (cached per change)."""
    from llmapps.config import SECRET_NAMES

    global _cache
    dotenv = _dotenv_values()
    env = {**dotenv, **os.environ}
    items = tuple(sorted((k, v) for k, v in env.items() if _is_secret_name(k, SECRET_NAMES) and v))
    with _lock:
        if _cache[0] == items:
            return _cache[1]
    values: set[str] = set()
    for _name, value in items:
        for part in value.split(","):  # LLMAPPS_API_KEYS is a comma list
            part = part.strip()
            if len(part) >= MIN_LENGTH:
                values.add(part)
    ordered = tuple(sorted(values, key=len, reverse=True))
    with _lock:
        _cache = (items, ordered)
    return ordered


def scrub(text: str) -> str:
    """``text`` with every known secret value replaced by ``[redacted]``."""
    if not text:
        return text
    for value in known_secrets():
        if value in text:
            text = text.replace(value, REPLACEMENT)
    return text


def scrub_optional(text: str | None) -> str | None:
    return None if text is None else scrub(text)


_installed = False
_previous_factory = logging.getLogRecordFactory()


def _scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _previous_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to the handler to report
        return record
    clean = scrub(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        cleaned = scrub(text)
        if cleaned != text:  # the formatter uses exc_text instead of formatting again
            record.exc_text = cleaned
    return record


def install_log_scrubber() -> None:
    """Scrub every log record of every logger from now on (idempotent).

    A record factory rather than a handler filter: filters on a logger miss records propagated
    from its children, and handlers are added later by libraries (uvicorn) and by us.
    """
    global _installed, _previous_factory
    if _installed:
        return
    _previous_factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(_scrubbing_factory)
    _installed = True
