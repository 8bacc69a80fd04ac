"""The install scripts' CUDA decision: CUDA where ``nvcc`` and a GPU are, the CPU build when the
CUDA build fails (unless ``LLMAPPS_CUDA=1`` forces it), never CUDA when ``LLMAPPS_CUDA=0``.

Why here: ``make run`` must come up on a machine whose CUDA toolkit is incomplete (``nvcc``
without cuBLAS fails llama.cpp's CMake configure), and the choice is shell, run by make. The
scripts run for real; only the programs they call (``nvcc``, ``nvidia-smi``, ``cmake``, pip's
Python) are stand-ins on ``PATH`` that record their arguments and fail where a CUDA build
would.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _tool(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture()
def fake_bin(tmp_path: Path) -> Path:
    """A folder of stand-in programs: ``nvcc``, ``nvidia-smi -L`` listing a GPU, a ``cmake``
    whose CUDA configure fails like a toolkit without cuBLAS, and a ``python`` whose pip
    fails when asked for a CUDA build. Each logs its call to ``calls.log``."""
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "calls.log"
    _tool(folder, "nvcc", "exit 0\n")
    _tool(folder, "nvidia-smi", 'echo "GPU 0: NVIDIA H200 (UUID: GPU-0)"\n')
    _tool(
        folder,
        "cmake",
        f'echo "cmake $*" >> {log}\n'
        'case "$*" in *GGML_CUDA=on*) echo "links to: CUDA::cublas"; exit 1;; esac\n'
        'if [ "$1" = --build ]; then\n'
        '  mkdir -p "$2/bin" && echo binary > "$2/bin/llama-server"\n'
        "fi\n",
    )
    _tool(
        folder,
        "python",
        f'echo "pip CMAKE_ARGS=[$CMAKE_ARGS] $*" >> {log}\n'
        'case "$CMAKE_ARGS" in *GGML_CUDA=on*) echo "CMake configuration failed"; exit 1;; esac\n',
    )
    return folder


def _run(
    script: str, args: list[str], fake_bin: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"LLMAPPS_CUDA", "CMAKE_ARGS"}}
    environ["PATH"] = f"{fake_bin}:/usr/bin:/bin"
    environ.update(env)
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )


def _calls(fake_bin: Path) -> list[str]:
    log = fake_bin.parent / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def _pip(fake_bin: Path, **env: str) -> subprocess.CompletedProcess[str]:
    python = str(fake_bin / "python")
    return _run("install-llama-cpp-python.sh", [python, "requirements.lock"], fake_bin, **env)


def test_a_failed_cuda_build_falls_back_to_the_cpu(fake_bin: Path) -> None:
    done = _pip(fake_bin)
    assert done.returncode == 0, done.stderr
    calls = _calls(fake_bin)
    assert len(calls) == 2
    assert "-DGGML_CUDA=on" in calls[0]
    assert "GGML_CUDA" not in calls[1]
    warning = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1
    assert "CUDA build failed" in warning[0] and "LLMAPPS_CUDA=0" in warning[0]


def test_forced_cuda_stops_at_a_failed_cuda_build(fake_bin: Path) -> None:
    done = _pip(fake_bin, LLMAPPS_CUDA="1")
    assert done.returncode == 1
    assert len(_calls(fake_bin)) == 1  # no CPU build behind the user's back
    assert "error: llama-cpp-python: the CUDA build failed" in done.stderr


def test_cuda_is_not_tried_without_a_gpu_or_when_forbidden(fake_bin: Path) -> None:
    (fake_bin / "nvidia-smi").write_text("#!/bin/sh\nexit 9\n")  # nvcc, but no GPU listed
    assert _pip(fake_bin).returncode == 0
    (fake_bin / "nvidia-smi").write_text('#!/bin/sh\necho "GPU 0: NVIDIA H200"\n')
    assert _pip(fake_bin, LLMAPPS_CUDA="0").returncode == 0
    calls = _calls(fake_bin)
    assert len(calls) == 2
    assert not any("GGML_CUDA" in call for call in calls)


def test_the_runner_build_falls_back_to_the_cpu_too(fake_bin: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    source = work / "llama_cpp_python-0.3.36" / "vendor" / "llama.cpp"
    source.mkdir(parents=True)
    (source / "CMakeLists.txt").write_text("")
    (work / "llama_cpp_python-0.3.36.tar.gz").write_text("")  # present: nothing downloaded
    dest = tmp_path / "out" / "llama-server"
    done = _run(
        "build-llama-server.sh",
        [str(dest), str(fake_bin / "python")],
        fake_bin,
        LLAMA_SERVER_BUILD_DIR=str(work),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert dest.read_text() == "binary\n"
    configures = [call for call in _calls(fake_bin) if "--build" not in call]
    assert "-DGGML_CUDA=on" in configures[0] and "GGML_CUDA" not in configures[1]
    assert "building for CPU" in done.stdout
    forced = _run(
        "build-llama-server.sh",
        [str(tmp_path / "forced" / "llama-server"), str(fake_bin / "python")],
        fake_bin,
        LLAMA_SERVER_BUILD_DIR=str(work),
        LLMAPPS_CUDA="1",
    )
    assert forced.returncode == 1
    assert "error: llama-server: the CUDA build failed" in forced.stderr
    assert not (tmp_path / "forced").exists()
