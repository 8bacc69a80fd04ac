"""Modelfile parsing, the registry, and the Go template subset (no model generation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmapps.config import get_settings
from llmapps.models.local.discovery import bundled_model_path
from llmapps.serve.errors import BadRequestError, ModelExistsError, ModelNotFoundError
from llmapps.serve.gotemplate import TemplateError, render_template
from llmapps.serve.modelfile import ModelfileError, parse_modelfile
from llmapps.serve.options import parse_keep_alive
from llmapps.serve.registry import Registry, split_name

FULL = '''# a comment
from smollm2
PARAMETER temperature 0.3
parameter top_k 20
PARAMETER top_p 0.8
PARAMETER min_p 0.05
PARAMETER num_ctx 1024
PARAMETER num_predict 64
PARAMETER stop "<|im_end|>"
PARAMETER stop User:
PARAMETER repeat_penalty 1.2
PARAMETER repeat_last_n 32
PARAMETER seed 42
SYSTEM """
You are terse.
Answer in one line.
"""
TEMPLATE """{{ if .System }}S:{{ .System }}{{ end }}U:{{ .Prompt }} A:{{ .Response }}"""
MESSAGE user Hi
Message assistant "Hello!"
LICENSE """MIT
text"""
'''


def test_full_modelfile_parses_case_insensitively() -> None:
    mf = parse_modelfile(FULL)
    assert mf.from_ == "smollm2"
    assert mf.parameters == {
        "temperature": 0.3,
        "top_k": 20,
        "top_p": 0.8,
        "min_p": 0.05,
        "num_ctx": 1024,
        "num_predict": 64,
        "stop": ["<|im_end|>", "User:"],
        "repeat_penalty": 1.2,
        "repeat_last_n": 32,
        "seed": 42,
    }
    assert mf.system == "You are terse.\nAnswer in one line.\n"
    assert mf.template is not None and mf.template.startswith("{{ if .System }}")
    assert mf.messages == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
    assert mf.license == ["MIT\ntext"]
    assert parse_modelfile(mf.render()) == mf  # render round-trips


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM smollm2\nPARAMETER temprature 1", "line 2: unknown PARAMETER 'temprature'"),
        ("FROM smollm2\n\nPARAMETER top_k many", "line 3: PARAMETER top_k needs an integer"),
        ("FROM x\nFROBNICATE y", "line 2: unknown instruction 'FROBNICATE'"),
        ('FROM x\nSYSTEM """never\nclosed', 'line 2: SYSTEM opens """ but it is never closed'),
        ("PARAMETER seed 1", "no FROM instruction"),
        ("FROM a\nFROM b", "line 2: a second FROM"),
        ("FROM a\nMESSAGE robot hi", "line 2: MESSAGE role 'robot'"),
        ("FROM a\nSYSTEM", "line 2: SYSTEM needs a value"),
    ],
)
def test_parse_errors_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(ModelfileError) as err:
        parse_modelfile(text)
    assert expected in str(err.value)
    assert err.value.status_code == 400


def test_names_and_tags() -> None:
    assert split_name("Foo") == ("foo", "latest")
    assert split_name("foo:v1") == ("foo", "v1")
    assert split_name("team/foo:1.0") == ("team/foo", "1.0")
    with pytest.raises(BadRequestError):
        split_name("bad name!")


def test_registry_create_inherit_copy_delete(tmp_path: Path) -> None:
    reg = Registry(get_settings())
    assert reg.get("smollm2").path == bundled_model_path()
    assert reg.get("smollm2:latest").bundled
    base = reg.create("base", FULL)
    assert base.name == "base:latest" and base.path == bundled_model_path()
    child = reg.create("child:v1", "FROM base\nPARAMETER temperature 0.9\nSYSTEM Be loud.")
    assert child.parameters["temperature"] == 0.9
    assert child.parameters["seed"] == 42  # inherited
    assert child.modelfile.system == "Be loud."
    assert child.modelfile.template == base.modelfile.template
    assert child.parent == "base:latest"
    # A GGUF path relative to the Modelfile's folder.
    gguf = tmp_path / "weights.gguf"
    gguf.write_bytes(bundled_model_path().read_bytes())
    local = reg.create("local", "FROM ./weights.gguf", tmp_path)
    assert local.path == gguf.resolve()
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_text("hello")
    with pytest.raises(BadRequestError, match="not a GGUF"):
        reg.create("bad", "FROM ./x.gguf", tmp_path)
    with pytest.raises(ModelNotFoundError, match="FROM nothing"):
        reg.create("bad", "FROM nothing")
    with pytest.raises(BadRequestError, match="ADAPTER"):
        reg.create("bad", "FROM smollm2\nADAPTER ./missing.gguf", tmp_path)
    with pytest.raises(ModelExistsError):
        reg.create("smollm2", "FROM smollm2")
    reg.copy("child:v1", "copy")
    assert reg.get("copy").parameters == child.parameters
    names = [r.name for r in reg.list()]
    assert names[0] == "smollm2:latest"
    assert {"base:latest", "child:v1", "copy:latest", "local:latest"} <= set(names)
    reg.delete("copy")
    with pytest.raises(ModelNotFoundError):
        reg.get("copy")
    with pytest.raises(ModelExistsError):
        reg.delete("smollm2")
    assert gguf.is_file()  # removing a model never touches its weights


def test_bad_template_is_refused_at_create() -> None:
    reg = Registry(get_settings())
    with pytest.raises(TemplateError, match='function "nosuch" not defined'):
        reg.create("t", 'FROM smollm2\nTEMPLATE """{{ nosuch .System }}"""')
    with pytest.raises(TemplateError, match="unexpected EOF"):
        reg.create("t", 'FROM smollm2\nTEMPLATE """{{ if .System }}x"""')
    # What Ollama's library templates use is accepted (index, with, slice, pipes).
    reg.create(
        "t", 'FROM smollm2\nTEMPLATE """{{ with index .Messages 0 }}{{ .Content }}{{ end }}"""'
    )


def test_go_template_subset() -> None:
    tpl = (
        "{{- if .System }}<s>{{ .System }}</s>\n{{ end }}"
        "{{- range $i, $m := .Messages }}"
        '{{ if eq .Role "user" }}U{{ $i }}: {{ .Content }}{{ else }}A: {{ $m.Content }}{{ end }}\n'
        "{{- end }}"
        "{{ if and $.System (gt (len .Messages) 1) }}[many]{{ else if not .System }}[none]"
        "{{ end }}{{/* comment */}}"
    )
    data = {
        "System": "sys",
        "Messages": [{"Role": "user", "Content": "hi"}, {"Role": "assistant", "Content": "yo"}],
    }
    assert render_template(tpl, data) == "<s>sys</s>\nU0: hiA: yo[many]"
    assert render_template(tpl, {"System": "", "Messages": []}) == "[none]"
    assert render_template('{{ .Prompt | printf "%s!" }}', {"Prompt": "hi"}) == "hi!"


def test_keep_alive_durations() -> None:
    assert parse_keep_alive("5m") == 300
    assert parse_keep_alive("30s") == 30
    assert parse_keep_alive("1h30m") == 5400
    assert parse_keep_alive(10) == 10
    assert parse_keep_alive("0") == 0
    assert parse_keep_alive(-1) == -1
    assert parse_keep_alive("-5m") == -1
    assert parse_keep_alive(None, 7) == 7
    with pytest.raises(BadRequestError, match="keep_alive"):
        parse_keep_alive("soon")


def test_legacy_template_renders_turn_by_turn() -> None:
    from llmapps.serve.engine import _render_go_chat

    tpl = (
        "{{ if .System }}<s>{{ .System }}</s>{{ end }}"
        "{{ if .Prompt }}<u>{{ .Prompt }}</u>{{ end }}<a>{{ .Response }}</a>"
    )
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"},
    ]
    # The system prompt goes in the first turn only; the open turn stops where the answer goes.
    assert _render_go_chat(tpl, messages, None) == "<s>S</s><u>u1</u><a>a1</a><u>u2</u><a>"
