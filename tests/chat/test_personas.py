"""Personas: shipped presets (zh + en) and user CRUD in SQLite."""

from __future__ import annotations

import pytest

from llmapps.chat.personas import PersonaError, PersonaNotFound, PersonaStore
from llmapps.config import get_settings


def test_shipped_personas_in_both_languages() -> None:
    store = PersonaStore(get_settings())
    names = store.names()
    for name in ("assistant", "translator", "翻译官", "sales", "销售顾问", "coder", "编程助手"):
        assert name in names
    sales = store.get("销售顾问")
    assert sales.kb_only and sales.handoff and "转" in sales.handoff
    assert store.get("translator").temperature == 0.2
    assert all(p.system_prompt for p in store.all())


def test_create_edit_delete_user_persona() -> None:
    store = PersonaStore(get_settings())
    created = store.create(
        {
            "name": "pirate",
            "system_prompt": "Talk like a pirate.",
            "max_tokens": 64,
            "temperature": 1.1,
            "memory": "full",
        }
    )
    assert created.params() == {"temperature": 1.1, "max_tokens": 64}
    assert not created.shipped
    assert "pirate" in PersonaStore(get_settings()).names()
    edited = store.update("pirate", {"system_prompt": "Arr.", "model": "local:smollm2"})
    assert (edited.system_prompt, edited.model, edited.max_tokens) == ("Arr.", "local:smollm2", 64)
    with pytest.raises(PersonaError, match="already exists"):
        store.create({"name": "pirate"})
    store.delete("pirate")
    with pytest.raises(PersonaNotFound):
        store.get("pirate")


def test_editing_a_shipped_persona_overrides_and_delete_restores() -> None:
    store = PersonaStore(get_settings())
    store.update("coder", {"temperature": 0.9})
    assert store.get("coder").temperature == 0.9
    assert [p.name for p in store.all()].count("coder") == 1
    store.delete("coder")  # removes the user's copy
    assert store.get("coder").temperature == 0.2
    with pytest.raises(PersonaError, match="cannot be deleted"):
        store.delete("coder")


def test_bad_persona_input_is_rejected_with_a_fix() -> None:
    store = PersonaStore(get_settings())
    with pytest.raises(PersonaError, match="unknown persona field"):
        store.create({"name": "x", "colour": "red"})
    with pytest.raises(PersonaError, match="out of range"):
        store.create({"name": "x", "temperature": 5})
    with pytest.raises(PersonaError, match="bad persona name"):
        store.create({"name": " "})
    with pytest.raises(PersonaError, match="memory strategy"):
        store.create({"name": "x", "memory": "everything"})
