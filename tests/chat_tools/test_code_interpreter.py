"""The code interpreter: off by default; when on, no network, no escape, runaway code killed."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest

from llmapps.chat.tools import build_tools
from llmapps.chat.tools.code import run_python
from llmapps.config import Settings


@pytest.fixture
def on(enable) -> Settings:  # type: ignore[no-untyped-def]
    return enable(enable_code_interpreter=True, code_timeout_s=3, code_memory_mb=256)


def test_off_by_default(settings: Settings) -> None:
    assert settings.chat.enable_code_interpreter is False
    assert "python" not in [t.name for t in build_tools(settings)]


def test_runs_code_and_returns_output(on: Settings) -> None:
    (tool,) = build_tools(on, names=["python"])
    out = tool.invoke({"code": "import math\nprint(sum(range(10)), math.factorial(5))"})
    assert out.startswith("[exit code 0,")
    assert "45 120" in out
    result = run_python("open('data.txt', 'w').write('ok'); print(open('data.txt').read())", on)
    assert result.exit_code == 0 and result.stdout.strip() == "ok"  # its own folder is writable
    failing = run_python("raise ValueError('boom')", on)
    assert failing.exit_code == 1 and "ValueError: boom" in failing.stderr


def test_network_is_blocked_even_to_loopback(on: Settings) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    thread = threading.Thread(target=accept)
    thread.start()
    code = (
        "import socket\n"
        f"s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "print('CONNECTED')\n"
    )
    raw = (
        f"import _socket\ns = _socket.socket()\ns.connect(('127.0.0.1', {port}))\n"
        "print('CONNECTED')"
    )
    results = [run_python(code, on), run_python(raw, on)]
    thread.join()
    server.close()
    assert accepted == []
    for result in results:
        assert result.exit_code != 0
        assert "CONNECTED" not in result.stdout


def test_runaway_code_is_killed_by_the_timeout(on: Settings) -> None:
    result = run_python("while True:\n    pass\n", on)
    assert result.timed_out
    assert result.seconds < 10
    assert "timed out (killed)" in result.render()


def test_memory_bomb_is_stopped(on: Settings) -> None:
    result = run_python("x = bytearray(2 * 1024 ** 3)\nprint('ALLOCATED')", on)
    assert result.exit_code != 0
    assert "ALLOCATED" not in result.stdout
    assert "MemoryError" in result.stderr


@pytest.mark.parametrize(
    "code",
    [
        "import subprocess; subprocess.run(['id'])",
        "import os; os.system('id')",
        "import os; os.fork()",
        "import ctypes; ctypes.CDLL(None).getpid()",
    ],
)
def test_processes_and_ctypes_are_refused(on: Settings, code: str) -> None:
    result = run_python(code, on)
    assert result.exit_code != 0
    assert "sandbox:" in result.stderr


def test_writes_outside_its_folder_are_refused(on: Settings, tmp_path: Path) -> None:
    target = tmp_path / "escape.txt"
    result = run_python(f"open({str(target)!r}, 'w').write('x')", on)
    assert result.exit_code != 0
    assert not target.exists()
    result = run_python(f"import os; os.remove({str(tmp_path)!r})", on)
    assert result.exit_code != 0 and tmp_path.exists()


def test_kernel_wall_stops_writes_the_audit_hook_cannot_see(on: Settings, tmp_path: Path) -> None:
    """``dir_fd`` writes pass the audit hook's path check; the read-only mount namespace
    (available when the tests run as root) must still stop them."""
    code = (
        "import os\n"
        f"d = os.open({str(tmp_path)!r}, os.O_RDONLY)\n"
        "fd = os.open('escape.txt', os.O_WRONLY | os.O_CREAT, dir_fd=d)\n"
        "os.write(fd, b'x')\nprint('WROTE')\n"
    )
    result = run_python(code, on)
    if not result.readonly_fs:
        pytest.skip("mount namespaces need root here; only the audit hook and limits apply")
    assert result.exit_code != 0 and "Read-only file system" in result.stderr
    assert not (tmp_path / "escape.txt").exists()
    tamper = (
        "import __main__, os, posixpath\n"
        "__main__._ROOT = '/'\n"
        "os.path.realpath = posixpath.abspath = lambda p: os.getcwd() + '/x'\n"
        f"open({str(tmp_path / 'tampered.txt')!r}, 'w')\n"
    )
    tampered = run_python(tamper, on)
    assert "sandbox: writing" in tampered.stderr  # the hook's state is out of reach
    assert not (tmp_path / "tampered.txt").exists()
    hook_state = run_python("import gc; gc.get_objects()", on)
    assert "sandbox: gc.get_objects is not allowed" in hook_state.stderr


def test_output_is_capped(on: Settings) -> None:
    result = run_python("print('x' * 100000)", on)
    assert result.exit_code == 0
    assert result.stdout.endswith("[output truncated at 8000 characters]")
