"""Settings: ``llmapps.toml`` + ``LLMAPPS_*`` environment variables + ``.env``.

Why one module: every part of llmapps (model layer, server, applications) reads the same
validated settings, and a bad file must fail in one place with one clear line that names the
file, the line and the key. Secrets never live in the TOML file: they are read only from the
process environment or a ``.env`` file and are never written back.

Precedence (lowest to highest): built-in defaults, the TOML file, ``LLMAPPS_*`` variables.
``LLMAPPS_SECTION__KEY=value`` sets ``[section] key``; ``LLMAPPS_KEY`` sets a top-level key.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmapps.errors import LlmappsError

CONFIG_FILENAME = "llmapps.toml"

# Names that are secrets: read from the environment/.env only, always redacted.
SECRET_NAMES = (
    "OPENAI_API_KEY",
    "OPENAI_COMPATIBLE_API_KEY",
    "OLLAMA_API_KEY",
    "GITHUB_TOKEN",
    "SMTP_PASSWORD",
    "LLMAPPS_API_KEYS",
    "WEATHER_API_KEY",
    "DASHSCOPE_API_KEY",
    "DEEPSEEK_API_KEY",
    "ZHIPUAI_API_KEY",
)
_SECRET_PATTERN = re.compile(r"(key|token|password|secret)", re.IGNORECASE)


class ConfigError(LlmappsError):
    """A configuration problem, phrased as one line that names the problem and the fix."""

    exit_code = 2


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelsConfig(_Section):
    """The model layer: default spec, aliases, network behaviour, the embedded runner."""

    # "auto": the largest pulled model that fits in memory, else the bundled local:smollm2
    default: str = "auto"
    embeddings: str | None = None  # spec for embeddings; None means "same as default"
    aliases: dict[str, str] = Field(default_factory=dict)
    timeout: float = 120.0  # seconds per request to a remote provider
    max_retries: int = 3  # retries on 429 / 5xx / connection errors
    retry_wait: float = 1.0  # first backoff in seconds (doubles each retry; Retry-After wins)
    retry_max_wait: float = 30.0  # cap on one backoff wait
    keep_alive: float = 300.0  # seconds an idle local model stays loaded
    n_ctx: int = 4096  # context window for local GGUF models
    n_threads: int | None = None  # llama.cpp threads; None: physical cores (LLMAPPS_NUM_THREADS)
    n_threads_batch: int | None = None  # prompt-processing threads; None: same as n_threads
    n_gpu_layers: int | None = None  # layers offloaded to a GPU: -1 all, 0 none, None llama.cpp's
    main_gpu: int = 0  # the GPU that holds the model when one GPU is used
    gguf_dirs: list[str] = Field(default_factory=list)  # extra folders searched for *.gguf
    ollama_base_url: str = "http://127.0.0.1:11434"
    # Where `llmapps pull NAME` fetches from: Ollama's registry (or an in-house mirror of it)
    # and Hugging Face (for hf.co/<user>/<repo> names).
    registry_url: str = "https://registry.ollama.ai"
    hf_url: str = "https://huggingface.co"
    openai_base_url: str | None = None  # e.g. an Azure/OpenAI proxy; secrets stay in env
    # Base URLs (prefixes: scheme://host[:port][/path]) that model specs sent over HTTP or the
    # web UI may name, besides the URLs already in this section (the CLI is not restricted).
    allowed_base_urls: list[str] = Field(default_factory=list)


class ServerConfig(_Section):
    """``llmapps up`` / ``llmapps serve``: binding, auth, CORS, limits."""

    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = Field(default_factory=list)  # origins browsers may call from
    # Host names (besides loopback and `host`) requests may name: DNS rebinding protection.
    allowed_hosts: list[str] = Field(default_factory=list)
    require_api_key: bool = False  # when true, keys come from LLMAPPS_API_KEYS (comma list)
    max_upload_mb: int = 50
    max_loaded_models: int = 2
    parallel: int = 4  # slots per loaded model: requests decoded together in one batch
    parallel_per_model: int | None = None  # old name of `parallel` (wins when set)
    queue_size: int = 16
    max_ctx: int = 32768  # largest num_ctx a request may ask for (the model's own limit too)
    # Memory all loaded models may take: bytes, "12GB", "512MiB" or "75%" of RAM (default).
    max_memory: int | str | None = None
    # The runner: path of llama.cpp's `llama-server` (default: the one `make install` built
    # into the venv), or "inprocess" for llama-cpp-python in this process (one request at a time).
    runner: str | None = None
    default_keep_alive: str = "5m"
    max_body_mb: float = 10.0  # JSON request bodies of /v1 and /api (413 above it)
    max_blob_mb: int = 20480  # GGUF uploads to /api/blobs (Ollama's `create` with files)
    max_stored_responses: int = 10000  # /v1/responses kept for previous_response_id (oldest go)
    # Host-RAM prompt cache of each runner (llama-server --cache-ram), capped at the size of the
    # runner's own KV cache and counted in its memory estimate; 0 turns it off.
    prompt_cache_mb: int = 1024
    # Let model specs sent over HTTP or the web UI name any base URL (request forgery risk).
    allow_any_model_url: bool = False


class TranslateConfig(_Section):
    """Translator defaults."""

    target: str = "zh"
    workers: int = 2
    requests_per_second: float = 0.0  # 0 = unlimited
    batch_chars: int = 1800
    formats: list[str] = Field(default_factory=lambda: ["pdf", "md"])
    model: str | None = None  # model spec for translations; None means models.default
    batch_items: int = 8  # most blocks per model call
    max_tokens: int | None = 2048  # answer budget per call
    retries: int = 3  # attempts per call (exponential backoff between them)
    retry_wait_s: float = 1.0
    bilingual_layout: str = "side"  # side | alternate
    font_path: str | None = None  # a TTF/TTC to embed instead of the packaged CJK font
    ocr: str = "auto"  # auto (pages without a text layer) | always | never
    layout_model: bool = True  # regions from the layout model; false: geometric rules only
    # PDF parsing limits (each job parses in a child process that is killed past them).
    max_pages: int = 2000
    max_decompressed_mb: int = 256  # one stream, or all non-image streams together
    page_time_s: float = 60.0  # per page
    parse_memory_mb: int = 4096  # address space of the parsing process; 0 = no cap
    parse_idle_s: float = 300.0  # a warm parsing process waits this long for the next job
    parse_workers: int = 1  # most parsing processes at once; further jobs wait for one


class SentinelConfig(_Section):
    """Sentinel defaults. Tokens and passwords come from the environment only."""

    github_api_url: str = "https://api.github.com"
    hackernews_api_url: str = "https://hacker-news.firebaseio.com/v0"
    concurrency: int = 8
    language: str = "zh"
    timezone: str = "UTC"
    report_token_budget: int = 3000
    smtp_host: str | None = None
    smtp_port: int = 465
    smtp_security: str = "ssl"  # ssl | starttls | none
    smtp_user: str | None = None
    smtp_from: str | None = None
    smtp_timeout: float = 30.0
    smtp_ca_file: str | None = None  # CA bundle for a private mail server's certificate
    rate_limit_max_wait: float = 60.0  # seconds a GitHub rate limit is waited out, else error
    report_max_tokens: int = 512  # generation limit per model call in a report
    hn_stories: int = 30  # stories per Hacker News list snapshot
    hn_lists: list[str] = Field(default_factory=lambda: ["top"])  # top | best | new
    delivery_attempts: int = 3  # immediate tries per delivery before it is queued for retry
    delivery_backoff_s: float = 1.0
    misfire_grace_s: int = 3600  # a run missed (daemon down) by less than this still runs once
    # Folders under which local git repositories may be watched over HTTP (empty = none;
    # the CLI, run by a local user, is not restricted).
    git_roots: list[str] = Field(default_factory=list)


class ChatConfig(_Section):
    """Chat defaults, including tool switches (dangerous tools are off by default)."""

    memory: str = "window"  # full | window | summary
    window_turns: int = 8
    persona: str = "assistant"  # default persona of new conversations
    context_tokens: int = 8192  # context window assumed for remote models (local: models.n_ctx)
    answer_tokens: int = 512  # tokens kept free for the answer when the model sets no max_tokens
    kb_top_k: int = 4  # knowledge-base chunks given to the model per turn
    kb_threshold: float = 0.2
    enable_web_fetch: bool = False
    enable_code_interpreter: bool = False
    code_timeout_s: float = 10.0
    code_memory_mb: int = 256
    weather_api_url: str | None = None
    tools_dir: str | None = None
    agent_max_steps: int = 6
    kb_chunk_chars: int = 600  # chunk size in characters (Chinese and English alike)
    kb_chunk_overlap: int = 100  # characters of trailing sentences repeated in the next chunk
    # Embed chunks for hybrid retrieval. None = auto: on, except when the embeddings model is the
    # bundled SmolLM2, whose vectors are slow to make and add little over BM25.
    kb_vectors: bool | None = None
    kb_vector_trust: float = 0.2  # weight of a vector-only match vs the threshold (0..1)
    sandbox_dir: str | None = None  # file tools' folder; default <home>/sandbox
    fetch_allow_private: bool = False  # let fetch_url reach loopback/private addresses
    fetch_max_chars: int = 8000  # page text returned by fetch_url


class Settings(_Section):
    """Every setting llmapps reads. ``home`` is the data directory."""

    home: Path = Field(default_factory=lambda: Path("~/.local/share/llmapps").expanduser())
    log_prompts: bool = False
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    translate: TranslateConfig = Field(default_factory=TranslateConfig)
    sentinel: SentinelConfig = Field(default_factory=SentinelConfig)
    chat: ChatConfig = Field(default_factory=ChatConfig)
    # Where the settings came from, for `config show`; not a user setting.
    source_file: Path | None = Field(default=None, exclude=True)

    @property
    def db_path(self) -> Path:
        return self.home / "llmapps.db"

    def data_path(self, *parts: str) -> Path:
        """A path under the data directory; its parent folders are created, the path itself not."""
        path = self.home.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def redacted(self) -> dict[str, Any]:
        """Effective settings plus the secrets that are set, with secret values hidden."""
        data = json.loads(self.model_dump_json())
        data["secrets"] = {
            name: redact(value) for name in SECRET_NAMES if (value := secret(name)) is not None
        }
        return _redact_tree(data)


def redact(value: str) -> str:
    """Hide a secret but keep enough to recognise which one it is."""
    if len(value) <= 8:
        return "****"
    return f"{value[:3]}…{value[-2:]}"


def _redact_tree(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _redact_tree(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact_tree(v, key) for v in node]
    if isinstance(node, str) and key and _SECRET_PATTERN.search(key) and key != "secrets":
        return redact(node) if "…" not in node and node != "****" else node
    return node


def _dotenv_path() -> Path:
    return Path(os.environ.get("LLMAPPS_DOTENV", ".env"))


def _dotenv() -> dict[str, str]:
    path = _dotenv_path()
    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def secret(name: str) -> str | None:
    """A secret from the process environment, else from ``.env``; never from the TOML file."""
    value = os.environ.get(name)
    if value:
        return value
    value = _dotenv().get(name)
    return value or None


def config_path() -> Path | None:
    """The config file in force: ``$LLMAPPS_CONFIG``, else ``./llmapps.toml`` if present."""
    explicit = os.environ.get("LLMAPPS_CONFIG") or _dotenv().get("LLMAPPS_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (check LLMAPPS_CONFIG)")
        return path
    local = Path(CONFIG_FILENAME)
    return local if local.is_file() else None


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([\"']?[A-Za-z0-9_\-.]+[\"']?)\s*=")


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Line number of a dotted key path in TOML text (for error messages), else None.

    Tracks the current ``[table]`` so a key is found in its own section, not in a later one
    with the same leaf name; a bad or unknown table points at its header.
    """
    keys = [str(p) for p in loc if not isinstance(p, int)]
    if not keys:
        return None
    wanted = ".".join(keys)
    current = ""
    parent_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header.group(1).replace('"', "").replace("'", "").replace(" ", "")
            if current == wanted:
                return number
            if current == ".".join(keys[:-1]):
                parent_line = number
            continue
        assign = _ASSIGN.match(line)
        if assign:
            key = assign.group(1).replace('"', "").replace("'", "")
            if (f"{current}.{key}" if current else key) == wanted:
                return number
    return parent_line


def _env_overrides() -> dict[str, Any]:
    """``LLMAPPS_A__B=v`` -> ``{"a": {"b": v}}``; values parsed as TOML scalars when possible."""
    env = {**_dotenv(), **os.environ}
    result: dict[str, Any] = {}
    reserved = {"LLMAPPS_CONFIG", "LLMAPPS_API_KEYS", "LLMAPPS_DOTENV"}
    for name, raw in env.items():
        if not name.startswith("LLMAPPS_") or name in reserved:
            continue
        path = name[len("LLMAPPS_") :].lower().split("__")
        if path == ["model"]:  # shortcut: LLMAPPS_MODEL sets the default model spec
            path = ["models", "default"]
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = result
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return result


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _describe(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown key '{key}' (remove it or check the spelling)"
    msg = str(err["msg"])
    return f"key '{key}': {msg[:1].lower() + msg[1:]} (got {err.get('input')!r})"


def load_settings(path: Path | None = None) -> Settings:
    """Read, merge and validate settings; raise :class:`ConfigError` with file:line on error."""
    file = path if path is not None else config_path()
    text = ""
    data: dict[str, Any] = {}
    if file is not None:
        text = file.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"at line (\d+)", str(exc))
            at = f":{match.group(1)}" if match else ""
            raise ConfigError(f"{file}{at}: TOML syntax error: {exc}") from None
        for name in SECRET_NAMES:
            if _find_key(data, name.lower()) or _find_key(data, name):
                raise ConfigError(
                    f"{file}: '{name}' is a secret; remove it from the file and set it in the "
                    "environment or .env"
                )
    env = _env_overrides()
    merged = _merge(data, env)
    home = os.environ.get("LLMAPPS_HOME") or _dotenv().get("LLMAPPS_HOME")
    if home:
        merged["home"] = home
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        in_file = _get(data, loc) is not _MISSING or err["type"] == "extra_forbidden"
        where = str(file) if file is not None and in_file else "environment (LLMAPPS_*)"
        line = _line_of(text, loc) if file is not None and in_file else None
        where += f":{line}" if line else ""
        raise ConfigError(f"{where}: {_describe(dict(err))}") from None
    settings.home = Path(settings.home).expanduser()
    settings.source_file = file
    return settings


_MISSING = object()


def _get(data: dict[str, Any], loc: tuple[Any, ...]) -> Any:
    node: Any = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def _find_key(node: Any, key: str) -> bool:
    if isinstance(node, dict):
        return any(k == key or _find_key(v, key) for k, v in node.items())
    return False


@lru_cache(maxsize=1)
def _cached_settings(_key: str) -> Settings:
    return load_settings()


def get_settings() -> Settings:
    """Process-wide settings, re-read when the config file, env or home changes."""
    file = config_path()
    stamp = file.stat().st_mtime_ns if file else 0
    env_key = json.dumps(sorted((k, v) for k, v in os.environ.items() if k.startswith("LLMAPPS_")))
    return _cached_settings(f"{file}:{stamp}:{env_key}")
