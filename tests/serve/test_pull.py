"""``pull`` against loopback stand-ins of the Ollama registry and Hugging Face (real wire
formats): progress in Ollama's shape, verification, resume after a cut, updates, one-line errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmapps.config import get_settings
from llmapps.serve.errors import ModelNotFoundError
from llmapps.serve.pull import DiskFullError, NetworkError, PullError, pull
from llmapps.serve.registry import Registry
from tests.conftest import free_port
from tests.serve.fake_registries import FakeHub, HubServer

TEMPLATE = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n"
)


def make_gguf(path: Path, padding: int = 3_000_000, name: str = "tiny") -> Path:
    """A valid GGUF header (no tensors) of about ``padding`` bytes, built with ``gguf``."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_string("general.name", name)
    writer.add_string("general.padding", "x" * padding)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with HubServer(FakeHub()) as running:
        monkeypatch.setenv("LLMAPPS_MODELS__REGISTRY_URL", running.url)
        monkeypatch.setenv("LLMAPPS_MODELS__HF_URL", running.url)
        yield running


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    return make_gguf(tmp_path / "tiny.gguf")


def publish(hub: FakeHub, gguf_file: Path, tag: str = "0.5b", system: str = "Be brief.") -> bytes:
    params = {"stop": ["<|im_end|>"], "temperature": 0.7, "num_keep": 4}
    return hub.add_model(
        "tiny",
        tag,
        hub.add_blob(path=gguf_file),
        {
            "template": TEMPLATE.encode(),
            "system": system.encode(),
            "params": json.dumps(params).encode(),
            "license": b"Apache 2.0",
        },
    )


def run_pull(name: str, **kwargs: Any) -> tuple[Any, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    record = pull(get_settings(), name, events.append, **kwargs)
    return record, events


def test_pull_from_the_registry_maps_layers_and_reports_like_ollama(
    hub: FakeHub, gguf_file: Path
) -> None:
    publish(hub, gguf_file)
    record, events = run_pull("tiny:0.5b")
    statuses = [e["status"] for e in events]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    model_digest = next(d for d in hub.blobs if hub.blobs[d].path == gguf_file)
    lines = [e for e in events if e.get("digest") == model_digest]
    assert lines[0]["status"] == f"pulling {model_digest[7:19]}"
    assert lines[-1]["completed"] == lines[-1]["total"] == gguf_file.stat().st_size
    assert all(set(e) <= {"status", "digest", "total", "completed"} for e in events)
    # 5 blobs (model, template, system, params, license) + the config blob
    assert len({e["digest"] for e in events if "digest" in e}) == 6

    got = Registry(get_settings()).get("tiny:0.5b")
    assert got.name == record.name == "tiny:0.5b"
    assert got.path.read_bytes() == gguf_file.read_bytes()
    assert got.path.name == f"sha256-{model_digest[7:]}"
    assert got.modelfile.template == TEMPLATE
    assert got.modelfile.system == "Be brief."
    assert got.parameters == {"stop": ["<|im_end|>"], "temperature": 0.7}
    assert got.modelfile.license == ["Apache 2.0"]
    assert not list(got.path.parent.glob("*.partial"))


def test_a_cut_download_resumes_with_range_and_is_never_used_half_done(
    hub: FakeHub, gguf_file: Path
) -> None:
    publish(hub, gguf_file)
    hub.cut_after = 1_000_000
    with pytest.raises(NetworkError, match="run pull again to resume"):
        run_pull("tiny:0.5b")
    blobs = get_settings().home / "models" / "blobs"
    partials = list(blobs.glob("*.partial"))
    assert len(partials) == 1 and partials[0].stat().st_size == 1_000_000
    assert not Registry(get_settings()).exists("tiny:0.5b")

    hub.ranges.clear()
    record, events = run_pull("tiny:0.5b")
    assert "bytes=1000000-" in hub.ranges
    first = next(e for e in events if e.get("total") == gguf_file.stat().st_size)
    assert first["completed"] == 1_000_000  # progress starts where the cut left it
    assert record.path.read_bytes() == gguf_file.read_bytes()
    assert not list(blobs.glob("*.partial"))


def test_a_digest_mismatch_is_refused_and_the_bad_bytes_removed(
    hub: FakeHub, gguf_file: Path
) -> None:
    publish(hub, gguf_file)
    model_digest = next(d for d in hub.blobs if hub.blobs[d].path == gguf_file)
    hub.corrupt.add(model_digest)
    with pytest.raises(PullError, match=r"^digest mismatch for [0-9a-f]{12}: .*pull again"):
        run_pull("tiny:0.5b")
    blobs = get_settings().home / "models" / "blobs"
    assert not list(blobs.glob(f"sha256-{model_digest[7:]}*"))
    assert not Registry(get_settings()).exists("tiny:0.5b")


def test_unknown_model_and_unknown_tag_are_one_line_each(hub: FakeHub, gguf_file: Path) -> None:
    publish(hub, gguf_file, tag="latest")
    with pytest.raises(ModelNotFoundError, match="no such model in the registry"):
        run_pull("nosuch:1b")
    with pytest.raises(ModelNotFoundError, match="exists but has no tag '70b'"):
        run_pull("tiny:70b")


def test_network_down_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAPPS_MODELS__REGISTRY_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NetworkError) as info:
        run_pull("qwen2.5:0.5b")
    assert "cannot reach 127.0.0.1" in str(info.value) and "\n" not in str(info.value)


def test_free_disk_is_checked_before_the_first_byte(
    hub: FakeHub, gguf_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(hub, gguf_file)
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    with pytest.raises(DiskFullError, match=r"not enough disk space: the download needs 3\.0 MB"):
        run_pull("tiny:0.5b")
    assert hub.ranges == []  # no blob was requested


def test_a_present_model_is_updated_only_when_its_digest_changed(
    hub: FakeHub, gguf_file: Path
) -> None:
    publish(hub, gguf_file)
    first, _ = run_pull("tiny:0.5b")
    hub.ranges.clear()
    again, events = run_pull("tiny:0.5b")
    assert again.created_at == first.created_at and hub.ranges == []
    assert events[-1] == {"status": "success"}
    publish(hub, gguf_file, system="Be very brief.")
    updated, _ = run_pull("tiny:0.5b")
    assert updated.modelfile.system == "Be very brief." and updated.digest != first.digest
    assert len(hub.ranges) == 1  # only the changed layer (the new system prompt) was fetched


def test_huggingface_gguf_by_quantisation_tag(hub: FakeHub, tmp_path: Path) -> None:
    q4 = make_gguf(tmp_path / "a.gguf", 200_000, "q4")
    q8 = make_gguf(tmp_path / "b.gguf", 300_000, "q8")
    hub.add_hf_repo(
        "someone",
        "Tiny-GGUF",
        {
            "tiny-q8_0.gguf": hub.add_blob(path=q8),
            "tiny-Q4_K_M.gguf": hub.add_blob(path=q4),
            "mmproj-tiny-f16.gguf": hub.add_blob(b"GGUF mmproj"),
        },
    )
    record, events = run_pull("hf.co/someone/Tiny-GGUF:Q8_0")
    assert record.name == "hf.co/someone/tiny-gguf:q8_0"
    assert record.path.read_bytes() == q8.read_bytes()
    assert record.modelfile.template is None  # the GGUF's own chat template is used
    assert events[-1] == {"status": "success"}
    default, _ = run_pull("hf.co/someone/Tiny-GGUF")
    assert default.path.read_bytes() == q4.read_bytes()  # Q4_K_M is preferred
    with pytest.raises(ModelNotFoundError, match="no GGUF for quantisation 'Q2_K'"):
        run_pull("hf.co/someone/Tiny-GGUF:Q2_K")
    with pytest.raises(ModelNotFoundError, match="no such Hugging Face repository"):
        run_pull("hf.co/someone/missing")
    assert Registry(get_settings()).get("hf.co/someone/Tiny-GGUF:Q8_0").path == record.path


def test_bad_names_are_refused_before_any_request(hub: FakeHub) -> None:
    from llmapps.serve.errors import BadRequestError

    for name in ("https://evil.example/x", "a b", "hf.co/only-user", "x:bad tag"):
        with pytest.raises(BadRequestError):
            run_pull(name)
    assert hub.manifest_hits == 0


def test_an_explicit_registry_host_needs_insecure_for_plain_http(
    hub: FakeHub, gguf_file: Path
) -> None:
    publish(hub, gguf_file)
    host = hub.url.removeprefix("http://")
    with pytest.raises(NetworkError):  # HTTPS is spoken unless insecure is set, as Ollama does
        run_pull(f"{host}/library/tiny:0.5b")
    record, _ = run_pull(f"{host}/library/tiny:0.5b", insecure=True)
    assert record.name == f"{host}/library/tiny:0.5b"


def test_rm_removes_pulled_blobs_no_other_model_uses(hub: FakeHub, gguf_file: Path) -> None:
    publish(hub, gguf_file)
    record, _ = run_pull("tiny:0.5b")
    blobs = get_settings().home / "models" / "blobs"
    assert len(list(blobs.glob("sha256-*"))) == 6
    registry = Registry(get_settings())
    registry.copy("tiny:0.5b", "mine")
    registry.delete("tiny:0.5b")
    assert record.path.is_file()  # the copy still uses them
    registry.delete("mine")
    assert list(blobs.glob("sha256-*")) == []
    assert gguf_file.is_file()


def test_the_proxy_environment_is_honoured(
    hub: FakeHub, gguf_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.serve.fake_registries import ForwardProxy

    publish(hub, gguf_file)
    with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        record, _ = run_pull("tiny:0.5b")
    assert record.path.read_bytes() == gguf_file.read_bytes()
    assert f"{hub.url}/v2/library/tiny/manifests/0.5b" in proxy.seen
    assert any(url.startswith(f"{hub.url}/cdn/sha256:") for url in proxy.seen)


def test_a_size_limit_refuses_before_the_first_byte(hub: FakeHub, gguf_file: Path) -> None:
    publish(hub, gguf_file)
    with pytest.raises(PullError, match=r"over this server's limit .* server\.max_blob_mb"):
        run_pull("tiny:0.5b", max_bytes=1_000_000)
    assert hub.ranges == []
