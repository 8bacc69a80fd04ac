"""Config errors, secret redaction, ``config show/check``, ``models list``, ``logs``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from llmapps.cli import app as cli_app
from llmapps.config import ConfigError, load_settings
from llmapps.models.calllog import attach_call_logger, call_totals, recent_calls
from tests.foundation.conftest import ollama_ndjson, run_async

runner = CliRunner()


def _write(text: str, name: str = "llmapps.toml") -> Path:
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


# --- config errors ---------------------------------------------------------------------------


def test_syntax_error_names_file_and_line() -> None:
    _write('[models]\ndefault = "local:smollm2"\ntimeout = = 3\n')
    with pytest.raises(ConfigError, match=r"^llmapps\.toml:3: TOML syntax error"):
        load_settings()


def test_unknown_key_names_file_line_and_key() -> None:
    _write('log_prompts = false\n\n[models]\ndefault = "local:smollm2"\ndefualt_x = 1\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith("llmapps.toml:5: unknown key 'models.defualt_x'")


def test_unknown_section_and_key_in_the_right_section() -> None:
    _write('[modles]\ndefault = "x"\n')
    with pytest.raises(ConfigError, match=r"^llmapps\.toml:1: unknown key 'modles'"):
        load_settings()
    _write("[server]\nport = 8001\n\n[models]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"^llmapps\.toml:5: unknown key 'models\.port'"):
        load_settings()


def test_wrong_type_names_file_line_and_key() -> None:
    _write('[server]\nhost = "127.0.0.1"\nport = "eighty"\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("llmapps.toml:3: key 'server.port'")
    assert "'eighty'" in message and "\n" not in message


def test_bad_env_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAPPS_MODELS__TIMEOUT", "soon")
    with pytest.raises(ConfigError, match=r"environment \(LLMAPPS_\*\): key 'models.timeout'"):
        load_settings()


def test_config_file_from_env_and_missing_file(monkeypatch: pytest.MonkeyPatch) -> None:
    other = _write('[models]\ndefault = "ollama:qwen2.5:7b"\n', "other.toml")
    monkeypatch.setenv("LLMAPPS_CONFIG", str(other))
    assert load_settings().models.default == "ollama:qwen2.5:7b"
    monkeypatch.setenv("LLMAPPS_CONFIG", "missing.toml")
    with pytest.raises(ConfigError, match=r"missing\.toml: config file not found"):
        load_settings()


def test_secret_in_toml_is_rejected() -> None:
    _write('[models]\ndefault = "openai:gpt-4o-mini"\nOPENAI_API_KEY = "sk-live-123456789"\n')
    with pytest.raises(ConfigError, match="'OPENAI_API_KEY' is a secret") as info:
        load_settings()
    assert "sk-live" not in str(info.value)


def test_cli_bad_config_is_one_line_exit_2() -> None:
    _write("[models]\ntimeout = [\n")
    result = runner.invoke(cli_app, ["config", "show"])
    assert result.exit_code == 2
    assert "llmapps.toml:" in result.output
    assert "TOML syntax error" in result.output
    assert "Traceback" not in result.output


# --- config show -----------------------------------------------------------------------------


def test_config_show_redacts_secrets_and_names_file(monkeypatch: pytest.MonkeyPatch) -> None:
    _write('[models]\ndefault = "fast"\n[models.aliases]\nfast = "ollama:qwen2.5:7b"\n')
    Path(".env").write_text("GITHUB_TOKEN=ghp_supersecrettoken123\n", encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-verysecretvalue9876")
    result = runner.invoke(cli_app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "config file: llmapps.toml" in result.output
    assert 'fast = "ollama:qwen2.5:7b"' in result.output
    assert "n_ctx = 2048" in result.output  # LLMAPPS_MODELS__N_CTX from the environment
    assert "verysecretvalue" not in result.output
    assert "supersecrettoken" not in result.output
    assert 'OPENAI_API_KEY = "sk-…76"' in result.output
    assert "GITHUB_TOKEN" in result.output  # .env secrets are listed, redacted
    as_json = runner.invoke(cli_app, ["config", "show", "--json"])
    data = json.loads(as_json.output)
    assert data["secrets"]["OPENAI_API_KEY"] == "sk-…76"
    assert data["models"]["aliases"] == {"fast": "ollama:qwen2.5:7b"}


# --- config check ----------------------------------------------------------------------------


def test_config_check_names_each_problem(httpserver: HTTPServer) -> None:
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/api/chat").respond_with_data(
        ollama_ndjson(["pong"]), content_type="application/x-ndjson"
    )
    httpserver.expect_request("/api/embed").respond_with_json(
        {"model": "qwen", "embeddings": [[0.6, 0.8]]}
    )
    _write(
        f'[models]\ndefault = "ollama:qwen@{base}"\n[models.aliases]\ngpt = "openai:gpt-4o-mini"\n'
    )
    result = runner.invoke(cli_app, ["config", "check"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("ok") and "default" in line for line in lines)
    assert any("embeddings" in line and "2 dimensions" in line for line in lines)
    gpt = next(line for line in lines if "alias gpt" in line)
    assert gpt.startswith("FAIL") and "OPENAI_API_KEY is not set" in gpt
    assert "1 problem(s) found" in result.output


def test_config_check_passes_on_a_working_setup(httpserver: HTTPServer) -> None:
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/api/chat").respond_with_data(
        ollama_ndjson(["pong"]), content_type="application/x-ndjson"
    )
    httpserver.expect_request("/api/embed").respond_with_json(
        {"model": "q", "embeddings": [[1.0, 0.0, 0.0]]}
    )
    _write(f'[models]\ndefault = "ollama:q@{base}"\n')
    result = runner.invoke(cli_app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "all checks passed" in result.output


# --- models list -----------------------------------------------------------------------------


def test_models_list_shows_every_source(httpserver: HTTPServer, isolated_home: Path) -> None:
    gguf_dir = isolated_home / "models" / "gguf"
    gguf_dir.mkdir(parents=True)
    (gguf_dir / "tiny-test.gguf").write_bytes(b"GGUF" + b"\0" * 16)
    httpserver.expect_request("/api/tags").respond_with_json(
        {
            "models": [
                {"name": "qwen2.5:7b", "model": "qwen2.5:7b", "size": 4_700_000_000},
                {"name": "nomic-embed-text:latest", "model": "nomic-embed-text:latest"},
            ]
        }
    )
    base = httpserver.url_for("").rstrip("/")
    _write(f'[models]\nollama_base_url = "{base}"\n[models.aliases]\nfast = "ollama:qwen2.5:7b"\n')
    result = runner.invoke(cli_app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_source = {(m["source"], m["spec"]) for m in data["models"]}
    assert ("bundled", "local:smollm2") in by_source
    assert ("alias", "fast") in by_source
    assert ("ollama", "ollama:qwen2.5:7b") in by_source
    assert ("gguf", f"local:{gguf_dir / 'tiny-test.gguf'}") in by_source
    assert data["notes"] == []
    table = runner.invoke(cli_app, ["models", "list"])
    assert "ollama:qwen2.5:7b" in table.output and "4.7 GB" in table.output


def test_models_list_unreachable_ollama_is_a_note() -> None:
    from tests.conftest import free_port

    _write(f'[models]\nollama_base_url = "http://127.0.0.1:{free_port()}"\n')
    result = runner.invoke(cli_app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert "local:smollm2" in result.output
    assert "note:" in result.output and "ollama serve" in result.output


# --- call logging ----------------------------------------------------------------------------


def _fake(answer: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    answer,
                    usage_metadata={"input_tokens": 11, "output_tokens": 4, "total_tokens": 15},
                )
            ]
        )
    )


def test_call_log_rows_without_and_with_prompt_text(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    model = attach_call_logger(_fake("secret answer"), app="demo", spec="fake:1", settings=settings)
    assert model.invoke("private question").content == "secret answer"
    row = recent_calls(settings)[0]
    assert (row["app"], row["spec"], row["prompt_tokens"], row["completion_tokens"]) == (
        "demo",
        "fake:1",
        11,
        4,
    )
    assert row["prompt"] is None and row["answer"] is None  # log_prompts is off by default
    assert row["latency_ms"] >= 0 and row["started_at"].endswith("Z")

    monkeypatch.setenv("LLMAPPS_LOG_PROMPTS", "true")
    verbose = load_settings()
    model = attach_call_logger(_fake("open answer"), app="demo", spec="fake:1", settings=verbose)
    assert "".join(c.text for c in model.stream("open question")) == "open answer"
    row = recent_calls(verbose)[0]
    assert "open question" in row["prompt"]
    assert row["answer"] == "open answer"
    assert row["first_token_ms"] is not None


def test_call_log_records_errors_and_async() -> None:

    settings = load_settings()
    failing = GenericFakeChatModel(messages=iter([]))  # raises StopIteration-based error
    model = attach_call_logger(failing, app="demo", spec="fake:err", settings=settings)
    with pytest.raises(Exception):  # noqa: B017 - whatever the model raised
        model.invoke("x")
    assert recent_calls(settings)[0]["error"]

    model = attach_call_logger(_fake("async ok"), app="other", spec="fake:2", settings=settings)
    assert run_async(model.ainvoke("y")).content == "async ok"
    row = recent_calls(settings, app="other")[0]
    assert row["completion_tokens"] == 4
    totals = call_totals(settings)
    assert totals["calls"] == 2 and totals["errors"] == 1


def test_logs_command_lists_calls_and_totals() -> None:
    settings = load_settings()
    for app_name in ("translate", "chat", "chat"):
        attach_call_logger(_fake("ok"), app=app_name, spec="fake:1", settings=settings).invoke("q")
    result = runner.invoke(cli_app, ["logs", "-n", "2", "--app", "chat"])
    assert result.exit_code == 0, result.output
    assert result.output.count("fake:1") == 2
    assert "translate" not in result.output
    assert "totals (app chat): 2 calls, 0 errors, 22 prompt + 8 completion tokens" in result.output
    data = json.loads(runner.invoke(cli_app, ["logs", "-n", "1", "--json"]).output)
    assert len(data["calls"]) == 1
    assert data["totals"]["calls"] == 3 and data["totals"]["prompt_tokens"] == 33


def test_models_list_includes_server_created_models() -> None:
    from llmapps.serve.registry import Registry

    Registry(load_settings()).create("pirate", "FROM smollm2\nSYSTEM You are a pirate.\n")
    result = runner.invoke(cli_app, ["models", "list", "--json", "--no-ollama"])
    assert result.exit_code == 0, result.output
    served = json.loads(result.output)["server_models"]
    assert [m["name"] for m in served] == ["pirate:latest"]
