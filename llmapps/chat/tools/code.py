"""The Python code interpreter tool (off unless ``chat.enable_code_interpreter = true``).

Each run is a fresh ``python -I`` subprocess in an empty temporary folder. What is enforced:

- limits (``resource.setrlimit`` in the child before exec): CPU seconds, address space
  (``chat.code_memory_mb``), file size (16 MB), open files, no core dumps, and
  ``RLIMIT_NPROC`` (16 for ``nobody``; the user's current count + 16 otherwise; the kernel
  does not limit root, where the audit hook below refuses forks) so fork bombs stop quickly;
- a wall-clock timeout (``chat.code_timeout_s``): the whole process group is killed;
- a new, empty network namespace (only a down loopback, so no connection to anything,
  127.0.0.1 included): ``unshare(CLONE_NEWNET)`` as root, an unprivileged user+network
  namespace otherwise; probed once, and reported in each result (``isolated``);
- when run as root and ``nobody`` can read the Python installation, the code runs as user
  ``nobody`` (probed once), so file permissions also stop writes outside its folder;
- always: a Python audit hook installed before the code runs (hooks cannot be removed) refuses
  sockets, starting processes, ``ctypes`` and writes/deletes outside the run folder.

The audit hook alone is defence in depth, not a sandbox (CPython's own advice): the namespace
and the limits are the guarantees. Output is capped at ``MAX_OUTPUT`` characters per stream.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from llmapps.config import Settings

MAX_OUTPUT = 8_000
MAX_CODE = 50_000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
NOBODY = 65534

PRELUDE = r"""
import os as _os, sys as _sys
_ROOT = _os.path.realpath(_os.getcwd())
_BLOCKED_PREFIXES = ("socket.", "subprocess.", "os.exec", "os.posix_spawn", "os.spawn",
                     "os.fork", "os.forkpty", "os.system", "pty.", "os.kill",
                     "signal.pthread_kill", "winreg.")
# ctypes: loading a library is allowed (numpy does it at import); looking up or calling a C
# function, or reading raw memory, is not.
_CTYPES_ALLOWED = {"ctypes.dlopen"}
_PATH_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
                "os.symlink", "os.link", "os.truncate", "shutil.rmtree", "shutil.move",
                "shutil.copyfile", "os.utime"}

def _inside(path):
    try:
        real = _os.path.realpath(_os.fsdecode(path))
    except Exception:
        return False
    return real == _ROOT or real.startswith(_ROOT + _os.sep)

def _hook(event, args):
    if event.startswith(_BLOCKED_PREFIXES) or (
        event.startswith(("ctypes.", "_ctypes.")) and event not in _CTYPES_ALLOWED
    ):
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        writing = any(c in mode for c in "wax+") or flags & (_os.O_WRONLY | _os.O_RDWR)
        if writing and not _inside(args[0]):
            raise PermissionError(f"sandbox: writing {args[0]!r} outside the run folder")
    elif event in _PATH_EVENTS and args and isinstance(args[0], (str, bytes, int)):
        if not isinstance(args[0], int) and not _inside(args[0]):
            raise PermissionError(f"sandbox: {event} outside the run folder")

_sys.addaudithook(_hook)
del _hook
_code = open("main.py", encoding="utf-8").read()
_sys.argv = ["main.py"]
_globals = {"__name__": "__main__", "__file__": "main.py", "__builtins__": __builtins__}
exec(compile(_code, "main.py", "exec"), _globals)
"""


@dataclass
class RunResult:
    """Outcome of one run; ``isolated`` says whether a network namespace was in force."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    isolated: bool

    def render(self) -> str:
        status = "timed out (killed)" if self.timed_out else f"exit code {self.exit_code}"
        parts = [f"[{status}, {self.seconds:.2f}s]"]
        if self.stdout:
            parts.append(f"stdout:\n{self.stdout}")
        if self.stderr:
            parts.append(f"stderr:\n{self.stderr}")
        return "\n".join(parts)


def _libc() -> ctypes.CDLL | None:
    """libc, loaded in the parent: ``dlopen`` in a child forked from a threaded process can
    deadlock on the loader lock, so the child only calls an already-resolved function."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(None, use_errno=True)
            _ = _LIBC.unshare  # resolve the symbol now, not after fork
        except (OSError, AttributeError):
            return None
    return _LIBC


_LIBC: ctypes.CDLL | None = None


def _user_processes() -> int:
    """How many processes this user runs now (RLIMIT_NPROC counts them all)."""
    uid = str(os.getuid())
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            for line in status.read_text().splitlines():
                if line.startswith("Uid:"):
                    count += line.split()[1] == uid
                    break
        except OSError:
            continue
    return count


def _network_namespace_works() -> bool:
    """Probe once: can a child enter a new network namespace here?"""
    global _NS_OK
    if _NS_OK is None:
        if _libc() is None:
            _NS_OK = False
            return False
        try:
            probe = subprocess.run(
                [sys.executable, "-I", "-c", "pass"],
                preexec_fn=_enter_namespace,
                capture_output=True,
                timeout=20,
            )
            _NS_OK = probe.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _NS_OK = False
    return _NS_OK


_NS_OK: bool | None = None


def _enter_namespace() -> None:
    libc = _LIBC
    if libc is None:
        raise OSError("no libc")
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWNET | CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare failed")


def _drop_to_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _nobody_works() -> bool:
    """Probe once: as root, can ``nobody`` run this Python (its files must be readable)?"""
    global _NOBODY_OK
    if _NOBODY_OK is None:
        _NOBODY_OK = False
        if os.geteuid() == 0:
            try:
                probe = subprocess.run(
                    [sys.executable, "-I", "-c", "import json"],
                    preexec_fn=_drop_to_nobody,
                    capture_output=True,
                    timeout=20,
                    cwd="/",
                )
                _NOBODY_OK = probe.returncode == 0
            except (OSError, subprocess.SubprocessError):
                _NOBODY_OK = False
    return _NOBODY_OK


_NOBODY_OK: bool | None = None


def _limits(settings: Settings, isolate: bool, as_nobody: bool, nproc: int) -> None:
    """Runs in the child between fork and exec (keep it to plain system calls)."""
    if isolate:
        _enter_namespace()
    cpu = int(settings.chat.code_timeout_s) + 1
    memory = settings.chat.code_memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    if as_nobody:
        _drop_to_nobody()


def run_python(code: str, settings: Settings) -> RunResult:
    """Run ``code`` under the limits above and return its (capped) output."""
    if len(code) > MAX_CODE:
        return RunResult(None, "", f"code longer than {MAX_CODE} characters", False, 0.0, False)
    isolate = _network_namespace_works()
    as_nobody = _nobody_works()
    # nobody (or root, whom the kernel does not limit) gets 16 processes; a normal user keeps
    # what it runs now plus 16, since the limit counts every process of the user.
    nproc = 16 if as_nobody or os.geteuid() == 0 else _user_processes() + 16
    folder = Path(tempfile.mkdtemp(prefix="llmapps-code-"))
    try:
        (folder / "main.py").write_text(code, encoding="utf-8")
        out_path, err_path = folder / ".stdout", folder / ".stderr"
        if as_nobody:
            for path in (folder, folder / "main.py"):
                os.chown(path, NOBODY, NOBODY)
        os.chmod(folder, 0o700)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(folder),
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
        }
        start = time.monotonic()
        timed_out = False
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-c", PRELUDE],
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                preexec_fn=lambda: _limits(settings, isolate, as_nobody, nproc),
                start_new_session=True,
                close_fds=True,
            )
            try:
                proc.wait(timeout=settings.chat.code_timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        seconds = time.monotonic() - start
        return RunResult(
            exit_code=proc.returncode,
            stdout=_read_capped(out_path),
            stderr=_read_capped(err_path),
            timed_out=timed_out,
            seconds=seconds,
            isolated=isolate,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read_capped(path: Path) -> str:
    with path.open("rb") as fh:
        data = fh.read(MAX_OUTPUT * 4 + 1)
    text = data.decode("utf-8", errors="replace")
    if len(text) > MAX_OUTPUT:
        text = text[:MAX_OUTPUT] + f"\n[output truncated at {MAX_OUTPUT} characters]"
    return text


class CodeArgs(BaseModel):
    code: str = Field(description="Python 3 source; print() what you want to see")


def code_tool(settings: Settings) -> BaseTool:
    def python(code: str) -> str:
        return run_python(code, settings).render()

    return StructuredTool.from_function(
        func=python,
        name="python",
        description=(
            "Run Python code in a sandbox (no network, no files outside a temporary folder, "
            f"{settings.chat.code_timeout_s:g}s and {settings.chat.code_memory_mb} MB limits) "
            "and return what it prints."
        ),
        args_schema=CodeArgs,
        handle_tool_error=True,
    )
