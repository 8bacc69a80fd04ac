"""Go's text/template as Ollama runs it: the stock template library byte for byte, Go's
semantics for each construct, and Go's errors at create time."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmapps.serve.gotemplate import TemplateError, parse_template, render_chat, render_template

DATA = Path(__file__).parent / "data" / "ollama_templates"
TEMPLATES = sorted(DATA.glob("*.gotmpl"))

USER = [{"role": "user", "content": "Hello, how are you?"}]
UAU = [
    *USER,
    {"role": "assistant", "content": "I'm doing great. How can I help you today?"},
    {"role": "user", "content": "I'd like to show off how chat templating works!"},
]
CASES = {
    "user": USER,
    "user-assistant-user": UAU,
    "system-user-assistant-user": [
        {"role": "system", "content": "You are a helpful assistant."},
        *UAU,
    ],
}
# Ollama's TestTemplate drops one trailing space from these templates' output before comparing.
TRAILING_SPACE = {"chatqa", "llama2-chat", "mistral-instruct", "openchat", "vicuna"}
FIXTURES = sorted(
    (case.parent.name, case.name) for case in (DATA / "expected").glob("*/*") if case.is_file()
)


def test_the_library_is_all_here() -> None:
    assert len(TEMPLATES) >= 23
    assert len(FIXTURES) >= 20


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_every_stock_template_parses_and_renders(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parse_template(text)
    for messages in CASES.values():
        assert render_chat(text, messages)


@pytest.mark.parametrize(("name", "case"), FIXTURES)
def test_stock_template_renders_byte_for_byte(name: str, case: str) -> None:
    text = (DATA / f"{name}.gotmpl").read_text(encoding="utf-8")
    expected = (DATA / "expected" / name / case).read_bytes().decode("utf-8")
    got = render_chat(text, CASES[case])
    if name in TRAILING_SPACE and got.endswith(" "):
        got = got[:-1]
    assert got == expected


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather",
            "parameters": {
                "type": "object",
                "required": ["location"],
                "properties": {
                    "location": {"type": "string", "description": "The city"},
                    "format": {"type": "string", "enum": ["c", "f"], "description": "Unit"},
                },
            },
        },
    }
]
CALL = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"location": "Paris", "format": "c"}}}
        ],
    },
    {"role": "tool", "content": "sunny"},
]


def test_tools_and_tool_calls_print_as_ollama_does() -> None:
    """Properties range in key order (a Go map); a tool prints as its JSON (Tool.String) with
    Go's field order and omitempty; arguments print as JSON in the order given."""
    text = (DATA / "command-r.gotmpl").read_text(encoding="utf-8")
    out = render_chat(text, CALL, TOOLS)
    assert "def get_weather(format: string, location: string, ) -> List[Dict]:" in out
    assert "        format (string): Unit\n        location (string): The city\n" in out
    assert '"parameters": {"location":"Paris","format":"c"}' in out
    assert out.endswith(
        "<results>\nconsole_output: sunny\n</results><|END_OF_TURN_TOKEN|>"
        "<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>\n"
    )
    deepseek = (DATA / "deepseek.gotmpl").read_text(encoding="utf-8")
    assert (
        '<tools>\n{"name":"get_weather","description":"Get the weather","parameters":'
        '{"type":"object","required":["location"],"properties":{"location":{"type":"string",'
        '"description":"The city"},"format":{"type":"string","description":"Unit",'
        '"enum":["c","f"]}}}}\n</tools>'
    ) in render_chat(deepseek, CALL, TOOLS)
    assert render_chat("{{ .Tools }}|{{ json .Tools }}|{{ range .Messages }}{{ end }}", USER) == (
        "null|null|"
    )


def test_legacy_templates_render_turn_by_turn_and_stop_at_the_response() -> None:
    tpl = "{{ if .System }}S:{{ .System }}\n{{ end }}U:{{ .Prompt }}\nA:{{ .Response }}</s>\n"
    messages = [{"role": "system", "content": "sys"}, *UAU]
    assert render_chat(tpl, messages) == (
        "S:sys\nU:Hello, how are you?\nA:I'm doing great. How can I help you today?</s>\n"
        "U:I'd like to show off how chat templating works!\nA:"
    )
    # Neither .Messages nor .Response: Ollama appends {{ .Response }} (empty at the open turn).
    assert render_chat("<{{ .Prompt }}>", USER) == "<Hello, how are you?>"
    # Consecutive messages of one role are merged with a blank line.
    merged = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    assert render_chat("{{ range .Messages }}[{{ .Content }}]{{ end }}", merged) == "[a\n\nb]"


def go(text: str, data: object = None) -> str:
    return render_template(text, data if data is not None else {})


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        (
            "{{ .A }}|{{ .Missing }}|{{ .L }}|{{ .M }}",
            {"A": "x", "L": [1, "b"], "M": {"b": 1, "a": True}},
            "x|<no value>|[1 b]|map[a:true b:1]",
        ),
        (
            "{{ range $k, $v := .M }}{{ $k }}={{ $v }};{{ end }}",
            {"M": {"z": 1, "a": 2}},
            "a=2;z=1;",
        ),
        ("{{ range $i, $e := .L }}{{ $i }}{{ $e }}{{ else }}none{{ end }}", {"L": []}, "none"),
        ("{{ range 3 }}{{ . }}{{ end }}", {}, "012"),
        (
            "{{ range .L }}{{ if eq . 2 }}{{ continue }}{{ end }}"
            "{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}",
            {"L": [1, 2, 3, 4, 5]},
            "13",
        ),
        ("{{ with .A }}[{{ . }}]{{ else with .B }}<{{ . }}>{{ else }}-{{ end }}", {"B": 0}, "-"),
        ("{{ with .A }}[{{ . }}]{{ else with .B }}<{{ . }}>{{ end }}", {"B": "b"}, "<b>"),
        (
            '{{ define "t" }}({{ . }}{{ $ }}){{ end }}{{ template "t" .A }}{{ block "b" 2 }}'
            "[{{ . }}]{{ end }}",
            {"A": 1},
            "(11)[2]",
        ),
        (
            "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}"
            "{{ if true }}{{ $x = 3 }}{{ end }}{{ $x }}",
            {},
            "213",
        ),
        ("a  {{- /* comment */ -}}  b {{- `raw\\n` -}} c", {}, "abraw\\nc"),
        (
            '{{ len .S }} {{ index .L 1 }} {{ index .M "k" }} {{ slice .L 1 }} {{ slice .S 1 3 }}',
            {"S": "héllo", "L": [1, 2, 3], "M": {"k": "v"}},
            "6 2 v [2 3] \xc3\xa9".encode("latin-1").decode("utf-8"),
        ),
        (
            '{{ print 1 2 "a" "b" 3 }}|{{ println "x" 1 }}|'
            '{{ printf "%5.2f|%-4d|%q|%v|%x" 3.14159 7 "q" .L 255 }}',
            {"L": [1]},
            '1 2ab3|x 1\n| 3.14|7   |"q"|[1]|ff',
        ),
        (
            '{{ and 1 0 }} {{ or 0 "" "z" }} {{ not .A }} {{ eq 1 2 1 }} {{ ne "a" "b" }} '
            '{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1.5 2.5 }} {{ ge "b" "a" }}',
            {},
            "0 z true true true true true false true",
        ),
        (
            '{{ html "<a href=\'x\'>&" }} {{ js "it\'s <b>" }} {{ urlquery "a b&c/d" }}',
            {},
            "&lt;a href=&#39;x&#39;&gt;&amp; it\\'s \\u003Cb\\u003E a+b%26c%2Fd",
        ),
        (
            "{{ 1e6 }} {{ 123456.0 }} {{ 0.000012 }} {{ 0x1F }} {{ 'a' }} {{ -3 }}",
            {},
            "1e+06 123456 1.2e-05 31 97 -3",
        ),
        (
            '{{ "a" | printf "%s-%s" "b" }} {{ .L | len }} {{ (index .L 0).K }}',
            {"L": [{"K": "k"}]},
            "b-a 1 k",
        ),
        (
            "{{ json .M }}",
            {"M": {"b": "<&>", "a": [1, 2.5, None, True]}},
            '{"a":[1,2.5,null,true],"b":"\\u003c\\u0026\\u003e"}',
        ),
        ("{{ if and .Missing .Missing.Deeper }}x{{ else }}y{{ end }}", {}, "y"),
        ('{{ eq .Missing "x" }} {{ ne .Missing 1 }} {{ not .Missing }}', {}, "false true true"),
    ],
)
def test_go_semantics(text: str, data: object, expected: str) -> None:
    assert go(text, data) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ nosuch 1 }}", 'template: :1: function "nosuch" not defined'),
        ("{{ if .A }}x", "template: :1: unexpected EOF"),
        ("{{ end }}", "template: :1: unexpected {{end}}"),
        ("{{ break }}", "template: :1: {{break}} outside {{range}}"),
        ("{{ $x }}", 'template: :1: undefined variable "$x"'),
        ("{{ .A", "template: :1: unclosed action"),
        ('{{ "abc }}', "template: :1: unterminated quoted string"),
        ("{{/* x */ y }}", "template: :1: comment ends before closing delimiter"),
        ("\n{{ .A | 3 }}", "template: :2: non executable command in pipeline stage 2"),
        (
            '{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}',
            'multiple definition of template "a"',
        ),
    ],
)
def test_parse_errors_read_like_go(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(text)
    assert message in str(info.value)
    assert str(info.value).startswith("TEMPLATE: template: ")


@pytest.mark.parametrize(
    ("text", "data", "message"),
    [
        ("{{ index .L 5 }}", {"L": [1]}, "error calling index: "),
        ("{{ .A.B }}", {"A": None}, "nil pointer evaluating interface {}.B"),
        ('{{ lt 1 "a" }}', {}, "error calling lt: incompatible types for comparison"),
        ("{{ .S.X }}", {"S": "str"}, "can't evaluate field X in type string"),
        ("{{ range .B }}{{ end }}", {"B": True}, "range can't iterate over true"),
        ('{{ template "none" }}', {}, 'template "none" not defined'),
        ("{{ len 3 }}", {}, "error calling len: len of type int"),
        ("{{ slice .S 3 1 }}", {"S": "abcd"}, "error calling slice: invalid slice index: 3 > 1"),
        (
            '{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}',
            {},
            "exceeded maximum template depth",
        ),
    ],
)
def test_execution_errors_read_like_go(text: str, data: object, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        go(text, data)
    assert message in str(info.value)
    assert "executing" in str(info.value)


@pytest.mark.model
def test_every_stock_template_creates_and_answers_through_api_chat(server: object) -> None:
    import httpx

    url = str(server.url)  # type: ignore[attr-defined]
    for path in TEMPLATES:
        name = f"stock-{path.stem.replace('.', '-')}"
        created = httpx.post(
            url + "/api/create",
            json={
                "model": name,
                "from": "smollm2",
                "template": path.read_text(encoding="utf-8"),
                "stream": False,
            },
            timeout=60,
        )
        assert created.status_code == 200, (path.stem, created.text)
        answer = httpx.post(
            url + "/api/chat",
            json={
                "model": name,
                "messages": CASES["system-user-assistant-user"],
                "options": {"num_predict": 2, "temperature": 0},
                "stream": False,
            },
            timeout=120,
        )
        assert answer.status_code == 200, (path.stem, answer.text)
        assert answer.json()["done"] is True


def test_request_think_reaches_the_template_as_think_and_is_think_set() -> None:
    """Ollama's `think` request field: .IsThinkSet says whether it was given, .Think its truth."""
    from llmapps.serve.engine import _render_go_chat

    template = (
        "{{ if .IsThinkSet }}{{ if .Think }}[think on]{{ else }}[think off]{{ end }}{{ end }}"
        "{{ range .Messages }}{{ .Content }}{{ end }}"
    )
    messages = [{"role": "user", "content": "hi"}]
    assert _render_go_chat(template, messages, None) == "hi"
    assert _render_go_chat(template, messages, None, True) == "[think on]hi"
    assert _render_go_chat(template, messages, None, "high") == "[think on]hi"
    assert _render_go_chat(template, messages, None, False) == "[think off]hi"
