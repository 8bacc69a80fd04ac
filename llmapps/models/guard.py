"""Which model specs a remote user (HTTP request or web UI) may name.

Why a guard: a spec is a capability. ``local:/any/path`` makes the server open any file as a
GGUF (and its error tells whether the file exists); ``openai-compatible:m@http://10.0.0.5``
makes the server send requests to any host it can reach (request forgery). A local user of the
CLI may do both; someone who only reaches the server over HTTP may use the configured models,
GGUF files inside the configured folders, and base URLs the config names or allows.

Application service functions call :func:`check_spec` with their caller's
:class:`~llmapps.access.Access` before a spec is used or stored; routes and tabs only pass
``Access.REMOTE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from llmapps.access import Access
from llmapps.config import Settings, get_settings
from llmapps.models.errors import ModelError, SpecError
from llmapps.models.local.discovery import BUNDLED_NAME, gguf_dirs
from llmapps.models.spec import ModelSpec, parse_spec

OPENAI_URL = "https://api.openai.com/v1"  # the openai provider's default base URL (always allowed)


class SpecNotAllowedError(ModelError):
    """A spec sent by a remote user names a file or a host the server does not allow."""

    status_code = 403


def configured_specs(settings: Settings) -> list[str]:
    """Spec strings the operator wrote in the config: always allowed."""
    found = [settings.models.default, *settings.models.aliases.values()]
    for extra in (settings.models.embeddings, settings.translate.model):
        if extra:
            found.append(extra)
    return [s.strip() for s in found if s and s.strip()]


def _configured_parsed(settings: Settings) -> list[ModelSpec]:
    parsed: list[ModelSpec] = []
    for text in configured_specs(settings):
        try:
            parsed.append(parse_spec(text, settings.models.aliases))
        except SpecError:
            continue  # a bad configured spec fails where it is used, not here
    return parsed


def _url_parts(url: str) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path) of an http(s) URL without user info, else None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname.lower(), port, parts.path.rstrip("/")


def url_allowed(url: str, allowed: list[str]) -> bool:
    """True when ``url`` has the scheme, host and port of an allowed URL and lies under its path.

    Compared part by part (not as text) so ``http://ok.host@evil`` or ``http://ok.host.evil``
    never pass as ``http://ok.host``.
    """
    got = _url_parts(url)
    if got is None:
        return False
    for prefix in allowed:
        want = _url_parts(prefix)
        if want is None or got[:3] != want[:3]:
            continue
        if not want[3] or got[3] == want[3] or got[3].startswith(want[3] + "/"):
            return True
    return False


def allowed_base_urls(settings: Settings) -> list[str]:
    """Base URLs named in the config plus ``models.allowed_base_urls``."""
    urls = [settings.models.ollama_base_url, OPENAI_URL]
    if settings.models.openai_base_url:
        urls.append(settings.models.openai_base_url)
    urls += [p.base_url for p in _configured_parsed(settings) if p.base_url]
    urls += settings.models.allowed_base_urls
    return [u for u in urls if u]


def path_in_gguf_dirs(
    path: str | Path, settings: Settings, extra_dirs: Iterable[Path] = ()
) -> bool:
    """True when ``path`` resolves (symlinks and ``..`` followed) to a place inside one of the
    GGUF folders (``<home>/models/gguf`` and ``models.gguf_dirs``) or ``extra_dirs``.

    Why resolve first: ``models/gguf/../../etc/x`` or a symlink inside the folder pointing out
    must not pass as "inside". The one folder rule for everything a remote user may open by path
    (model specs here, ``/api/create`` and ``/api/pull`` in the model server).
    """
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError):
        return False
    for folder in [*gguf_dirs(settings), *extra_dirs]:
        try:
            if resolved.is_relative_to(folder.expanduser().resolve()):
                return True
        except (OSError, RuntimeError):
            continue
    return False


def _registered(name: str, settings: Settings) -> bool:
    """A model of the server's registry (pulled or created there): its files are the
    registry's, so naming it opens nothing a remote user chose."""
    from llmapps.models.local.manifests import find_registry_model

    return find_registry_model(name, settings) is not None


def _local_allowed(name: str, settings: Settings) -> bool:
    """The bundled model, a bare name (looked up only in the GGUF folders), or a path inside
    one of the GGUF folders (:func:`path_in_gguf_dirs`)."""
    if name == BUNDLED_NAME or _registered(name, settings):
        return True
    if not (name.endswith(".gguf") or "/" in name or "\\" in name or name.startswith("~")):
        return True  # resolve_local_model searches only the configured folders for bare names
    return path_in_gguf_dirs(name, settings)


def check_spec_allowed(spec: str | None, settings: Settings | None = None) -> None:
    """Raise :class:`SpecNotAllowedError` (HTTP 403) unless a remote user may use ``spec``.

    ``None`` or empty means the configured default and always passes, as do the configured
    default, aliases and app models. A malformed spec raises :class:`SpecError` (400).
    """
    settings = settings or get_settings()
    raw = (spec or "").strip()
    if not raw or raw in settings.models.aliases or raw in configured_specs(settings):
        return
    try:
        parsed = parse_spec(raw, settings.models.aliases)
    except SpecError:
        if _registered(raw, settings):  # a pulled/created model by its bare name
            return
        raise
    if parsed in _configured_parsed(settings):
        return
    if parsed.provider == "local":
        if not _local_allowed(parsed.model, settings):
            raise SpecNotAllowedError(
                f"local model '{parsed.model}' is outside the GGUF folders: over HTTP use "
                "'local:smollm2', a model name, or a file in the data directory's models/gguf "
                "or a folder listed in models.gguf_dirs"
            )
        return
    if settings.server.allow_any_model_url or not parsed.base_url:
        return
    if not url_allowed(parsed.base_url, allowed_base_urls(settings)):
        raise SpecNotAllowedError(
            f"model URL {parsed.base_url} is not allowed over HTTP: add it to "
            "models.allowed_base_urls in llmapps.toml (or set server.allow_any_model_url)"
        )


def check_spec(spec: str | None, settings: Settings, access: Access) -> None:
    """The remote-caller rule for model specs: :func:`check_spec_allowed` for ``REMOTE``."""
    if access.remote:
        check_spec_allowed(None if spec is None else str(spec), settings)
