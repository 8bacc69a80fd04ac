"""Personas: presets of system prompt, model and parameters (the Modelfile idea for chat).

Why two layers: a few personas ship inside the package (``personas.json``, in Chinese and
English) so the assistant is useful at first start; the user's own personas, and their edits
of shipped ones, are rows in SQLite. A user row with a shipped name overrides it, and deleting
that row brings the shipped version back; shipped personas themselves cannot be deleted.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from typing import Any

from llmapps.access import LOCAL, Access
from llmapps.chat.conversations import MEMORY_STRATEGIES, now
from llmapps.chat.schema import chat_db
from llmapps.config import Settings, get_settings
from llmapps.errors import LlmappsError
from llmapps.models.guard import check_spec


class PersonaError(LlmappsError):
    """Bad persona input (empty name, unknown field, invalid value)."""


class PersonaNotFound(PersonaError):
    status_code = 404


@dataclass
class Persona:
    """What a conversation inherits: prompt, model spec, generation parameters, behaviour."""

    name: str
    system_prompt: str = ""
    title: str = ""
    description: str = ""
    language: str = "en"
    model: str | None = None  # model spec; None = the configured default
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    memory: str | None = None  # full | window | summary; None = chat.memory
    window_turns: int | None = None
    kb: str | None = None  # knowledge base attached by default
    kb_only: bool = False  # answer only from the knowledge base
    handoff: str | None = None  # what to say when the knowledge base has no answer
    tools: list[str] = field(default_factory=list)  # tool names; non-empty = agent mode
    shipped: bool = False  # set when loaded, never stored

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def params(self) -> dict[str, Any]:
        """Generation parameters for :func:`llmapps.models.get_chat_model`."""
        return {
            k: v
            for k, v in (
                ("temperature", self.temperature),
                ("top_p", self.top_p),
                ("max_tokens", self.max_tokens),
            )
            if v is not None
        }


_FIELDS = {f.name for f in fields(Persona)} - {"shipped"}


def _validate(data: dict[str, Any]) -> Persona:
    unknown = set(data) - _FIELDS - {"shipped"}
    if unknown:
        raise PersonaError(
            f"unknown persona field(s): {', '.join(sorted(unknown))} "
            f"(use {', '.join(sorted(_FIELDS))})"
        )
    name = str(data.get("name") or "").strip()
    if not name or "/" in name or len(name) > 64:
        raise PersonaError("bad persona name: use 1-64 characters without '/'")
    data = {**data, "name": name}
    if data.get("memory") not in (None, *MEMORY_STRATEGIES):
        raise PersonaError(
            f"unknown memory strategy '{data['memory']}' (use {', '.join(MEMORY_STRATEGIES)})"
        )
    for key, low, high in (("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)):
        value = data.get(key)
        if value is not None and not (low <= float(value) <= high):
            raise PersonaError(f"{key} {value} out of range: use {low}..{high}")
    for key in ("max_tokens", "window_turns"):
        value = data.get(key)
        if value is not None and int(value) < 1:
            raise PersonaError(f"{key} must be a positive number (got {value})")
    try:
        return Persona(**data)
    except TypeError as exc:
        raise PersonaError(f"invalid persona: {exc}") from None


def shipped_personas() -> dict[str, Persona]:
    text = resources.files("llmapps.chat").joinpath("personas.json").read_text(encoding="utf-8")
    out = {}
    for item in json.loads(text):
        persona = _validate(item)
        persona.shipped = True
        out[persona.name] = persona
    return out


class PersonaStore:
    """Shipped personas overlaid with the user's own (SQLite)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.db = chat_db(self.settings)

    def _user(self) -> dict[str, Persona]:
        out = {}
        for row in self.db.query("SELECT name, data FROM chat_personas ORDER BY name"):
            out[row["name"]] = _validate(json.loads(row["data"]))
        return out

    def all(self) -> list[Persona]:
        merged = {**shipped_personas(), **self._user()}
        return list(merged.values())

    def names(self) -> list[str]:
        return [p.name for p in self.all()]

    def get(self, name: str) -> Persona:
        row = self.db.query_one("SELECT data FROM chat_personas WHERE name = ?", (name,))
        if row is not None:
            return _validate(json.loads(row["data"]))
        shipped = shipped_personas()
        if name in shipped:
            return shipped[name]
        raise PersonaNotFound(
            f"persona '{name}' not found (known: {', '.join(self.names())}; "
            "create it with 'llmapps personas create')"
        )

    def create(self, data: dict[str, Any], access: Access = LOCAL) -> Persona:
        check_spec(None if data.get("model") is None else str(data["model"]), self.settings, access)
        persona = _validate({k: v for k, v in data.items() if k != "shipped"})
        exists = self.db.query_one("SELECT 1 FROM chat_personas WHERE name = ?", (persona.name,))
        if exists or persona.name in shipped_personas():
            raise PersonaError(
                f"persona '{persona.name}' already exists: edit it or choose another name"
            )
        self._save(persona, created=True)
        return self.get(persona.name)

    def update(self, name: str, changes: dict[str, Any], access: Access = LOCAL) -> Persona:
        """Edit a persona; editing a shipped one stores the user's copy under the same name."""
        model = changes.get("model")
        check_spec(None if model is None else str(model), self.settings, access)
        current = self.get(name).to_dict()
        current.pop("shipped", None)
        changes = {k: v for k, v in changes.items() if k not in ("shipped", "name")}
        persona = _validate({**current, **changes})
        self._save(persona, created=False)
        return self.get(name)

    def delete(self, name: str) -> None:
        cur = self.db.execute("DELETE FROM chat_personas WHERE name = ?", (name,))
        if cur.rowcount:
            return
        if name in shipped_personas():
            raise PersonaError(
                f"persona '{name}' ships with llmapps and cannot be deleted: edit it instead"
            )
        raise PersonaNotFound(f"persona '{name}' not found (list them with 'llmapps personas')")

    def _save(self, persona: Persona, *, created: bool) -> None:
        data = persona.to_dict()
        data.pop("shipped", None)
        stamp = now()
        self.db.execute(
            "INSERT INTO chat_personas(name, data, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (persona.name, json.dumps(data, ensure_ascii=False), stamp, stamp),
        )
