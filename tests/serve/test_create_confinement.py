"""``/api/create`` and ``/api/pull`` over real HTTP open only files a remote user may name.

Allowed: the bundled model, registry names, uploaded blobs, and files that resolve inside
``<home>/models/gguf`` or ``models.gguf_dirs``. Refusals are 403 with one message whether the
file exists or not; the CLI stays unrestricted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest
from typer.testing import CliRunner

from llmapps.cli import app
from llmapps.serve.create_guard import NOT_ALLOWED

# Enough for the registry (it checks the magic); nothing here loads the weights.
FAKE_GGUF = b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 56
SECRET = "PARAMETER seed 12345 # secret line of a private Modelfile"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the data directory with a real GGUF and a private Modelfile."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "real.gguf").write_bytes(FAKE_GGUF)
    (folder / "Modelfile").write_text(f"FROM smollm2\n{SECRET}\nBROKEN {SECRET}\n")
    return folder


@pytest.fixture
def gguf_dir(isolated_home: Path) -> Path:
    folder = isolated_home / "models" / "gguf"
    folder.mkdir(parents=True)
    (folder / "inside.gguf").write_bytes(FAKE_GGUF)
    return folder


def _create(server: Any, **body: Any) -> httpx.Response:
    return httpx.post(server.url + "/api/create", json={"stream": False, **body}, timeout=30)


def _refused(resp: httpx.Response) -> str:
    assert resp.status_code == 403, resp.text
    message = str(resp.json()["error"])
    assert message == NOT_ALLOWED and "models.gguf_dirs" in message
    return message


def test_outside_path_is_refused_with_one_message(
    server: Any, outside: Path, gguf_dir: Path
) -> None:
    existing, missing = outside / "real.gguf", outside / "missing.gguf"
    answers = {
        _refused(_create(server, model="a", **{"from": str(existing)})),
        _refused(_create(server, model="a", **{"from": str(missing)})),
        _refused(_create(server, model="a", modelfile=f"FROM {existing}\n")),
        _refused(_create(server, model="a", modelfile=f"FROM {missing}\n")),
        _refused(_create(server, model="a", modelfile=f"FROM smollm2\nADAPTER {existing}\n")),
        _refused(
            _create(server, model="a", **{"from": "smollm2", "adapters": {"x": str(missing)}})
        ),
        _refused(_create(server, model="a", path=str(outside / "Modelfile"))),
        _refused(_create(server, model="a", path=str(outside / "nothing"))),
    }
    assert len(answers) == 1  # existing and missing files cannot be told apart
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=server.url).create(model="a", from_=str(existing))
    assert err.value.status_code == 403 and "models.gguf_dirs" in str(err.value)
    pulled = [
        httpx.post(server.url + "/api/pull", json={"model": str(p), "stream": False})
        for p in (existing, missing)
    ]
    assert {_refused(r) for r in pulled} == answers
    names = [m["name"] for m in httpx.get(server.url + "/api/tags").json()["models"]]
    assert names == ["smollm2:latest"]  # nothing was created


def test_symlink_escape_is_refused(server: Any, outside: Path, gguf_dir: Path) -> None:
    (gguf_dir / "link.gguf").symlink_to(outside / "real.gguf")
    (gguf_dir / "linked").symlink_to(outside, target_is_directory=True)
    _refused(_create(server, model="a", **{"from": str(gguf_dir / "link.gguf")}))
    _refused(_create(server, model="a", **{"from": "link.gguf"}))  # relative to models/gguf
    _refused(_create(server, model="a", **{"from": "link"}))  # bare name of the link
    _refused(_create(server, model="a", path=str(gguf_dir / "linked" / "Modelfile")))


def test_dotdot_is_refused(server: Any, outside: Path, gguf_dir: Path) -> None:
    up = gguf_dir / ".." / ".." / ".." / "outside" / "real.gguf"
    assert up.resolve() == (outside / "real.gguf").resolve()
    _refused(_create(server, model="a", **{"from": str(up)}))
    _refused(_create(server, model="a", modelfile="FROM ../../../outside/real.gguf\n"))
    _refused(_create(server, model="a", path="../../../outside/Modelfile"))


def test_inside_paths_are_accepted(server: Any, gguf_dir: Path) -> None:
    assert (
        _create(server, model="abs", **{"from": str(gguf_dir / "inside.gguf")}).status_code == 200
    )
    assert _create(server, model="rel", modelfile="FROM inside.gguf\n").status_code == 200
    (gguf_dir / "Modelfile").write_text("FROM ./inside.gguf\nPARAMETER seed 7\n")
    assert _create(server, model="legacy", path=str(gguf_dir / "Modelfile")).status_code == 200
    assert _create(server, model="child", **{"from": "legacy"}).status_code == 200
    show = httpx.post(server.url + "/api/show", json={"model": "child"}).json()
    assert "seed" in show["parameters"]
    # Inside the folder a missing file may say so: nothing outside is revealed.
    missing = _create(server, model="m", **{"from": str(gguf_dir / "missing.gguf")})
    assert missing.status_code == 400 and "not found" in missing.json()["error"]


def test_extra_gguf_dir_is_accepted(
    start_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "more.gguf").write_bytes(FAKE_GGUF)
    monkeypatch.setenv("LLMAPPS_MODELS__GGUF_DIRS", f'["{extra}"]')
    server = start_server()
    assert _create(server, model="more", **{"from": str(extra / "more.gguf")}).status_code == 200


def test_uploaded_blob_is_accepted(server: Any, tmp_path: Path) -> None:
    weights = tmp_path / "w.gguf"
    weights.write_bytes(FAKE_GGUF)
    cl = ollama.Client(host=server.url)
    digest = cl.create_blob(weights)
    assert digest == "sha256:" + hashlib.sha256(FAKE_GGUF).hexdigest()
    assert cl.create(model="blob", files={"w.gguf": digest}).status == "success"
    # An uploaded adapter passes the folder rule; only its content (not a LoRA) is refused.
    with pytest.raises(ollama.ResponseError) as err:
        cl.create(model="ad", from_="smollm2", adapters={"a.gguf": digest})
    assert err.value.status_code == 400 and "LoRA" in str(err.value)


def test_cli_create_is_unrestricted(outside: Path) -> None:
    modelfile = outside / "Pirate"
    modelfile.write_text("FROM ./real.gguf\nPARAMETER seed 3\n")
    result = CliRunner().invoke(app, ["models", "create", "pirate", "-f", str(modelfile)])
    assert result.exit_code == 0, result.output
    assert "created pirate:latest" in result.output
