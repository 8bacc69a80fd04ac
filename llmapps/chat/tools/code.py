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
- as root, also a mount namespace in which every mount is remounted read-only except a bind
  mount of the run folder (``readonly_fs``), so no write can land anywhere else whatever
  trick the code uses;
- when run as root and ``nobody`` can read the Python installation, the code runs as user
  ``nobody`` (probed once), so file permissions also stop writes outside its folder;
- always: a Python audit hook installed before the code runs (hooks cannot be removed; its
  state lives in a closure that user code cannot reach without ``gc``, which it refuses)
  refuses sockets, starting processes, ``ctypes`` calls, links, and writes/deletes outside
  the run folder.

The audit hook alone is defence in depth, not a sandbox (CPython's own advice; e.g. writes
through ``dir_fd`` escape its path check): the namespaces and limits are the guarantees, and
where the kernel refuses namespaces (``isolated``/``readonly_fs`` false) only the hook and
the limits remain. Output is capped at ``MAX_OUTPUT`` characters per stream.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from llmapps.chat.tools.base import make_tool
from llmapps.config import Settings

MAX_OUTPUT = 8_000
MAX_CODE = 50_000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
NOBODY = 65534

PRELUDE = r"""
def _install():
    # Everything the hook uses is captured here, in its closure: user code can rebind module
    # attributes (os.path.realpath, __main__ globals) but not these references. Reaching the
    # closure needs gc (refused below).
    import os, sys
    getcwd, fsdecode, sep = os.getcwd, os.fsdecode, os.sep
    root = os.path.realpath(getcwd())
    wr_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    blocked = ("socket.", "subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
               "os.forkpty", "os.system", "pty.", "os.kill", "os.killpg", "signal.pthread_kill",
               "os.symlink", "os.link", "gc.", "sys._current_frames", "winreg.", "os.setxattr",
               "os.removexattr", "os.mkfifo", "os.mknod", "os.chroot")
    # ctypes: loading a library is allowed (numpy does it at import); looking up or calling a
    # C function, or reading raw memory, is not.
    path_events = frozenset({"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod",
                             "os.chown", "os.truncate", "shutil.rmtree", "shutil.move",
                             "shutil.copyfile", "os.utime", "sqlite3.connect"})

    def normal(path):
        text = fsdecode(path)
        if not text.startswith(sep):
            text = getcwd() + sep + text
        parts = []
        for part in text.split(sep):
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
            else:
                parts.append(part)
        return sep + sep.join(parts)

    def inside(path):
        try:
            real = normal(path)
        except Exception:
            return False
        return real == root or real.startswith(root + sep)

    def hook(event, args):
        if event.startswith(blocked) or (
            event.startswith(("ctypes.", "_ctypes.")) and event != "ctypes.dlopen"
        ):
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "open" and args and isinstance(args[0], (str, bytes)):
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            if (any(c in mode for c in "wax+") or flags & wr_flags) and not inside(args[0]):
                raise PermissionError(f"sandbox: writing {args[0]!r} outside the run folder")
        elif event in path_events and args and isinstance(args[0], (str, bytes)):
            if not inside(args[0]):
                raise PermissionError(f"sandbox: {event} outside the run folder")

    sys.addaudithook(hook)


_install()
del _install
with open("main.py", encoding="utf-8") as _f:
    _code = _f.read()
del _f
import sys as _sys
_sys.argv = ["main.py"]
exec(compile(_code, "main.py", "exec"), {"__name__": "__main__", "__file__": "main.py"})
"""


@dataclass
class RunResult:
    """Outcome of one run; ``isolated``/``readonly_fs``: which namespaces were in force."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    isolated: bool
    readonly_fs: bool = False

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
            libc = ctypes.CDLL(None, use_errno=True)
            # resolve the symbols now, not after fork
            libc.unshare.argtypes = [ctypes.c_int]
            libc.mount.argtypes = [
                ctypes.c_char_p,
                ctypes.c_char_p,
                ctypes.c_char_p,
                ctypes.c_ulong,
                ctypes.c_void_p,
            ]
            _LIBC = libc
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


@dataclass
class Isolation:
    """What the kernel enforces for a run (probed once per process)."""

    network: bool = False  # a new, empty network namespace
    readonly_fs: bool = False  # a mount namespace where all but the run folder is read-only


def _isolation() -> Isolation:
    """Probe once: which namespaces can a child enter here? (root: network + read-only
    filesystem; a normal user: an unprivileged user+network namespace, if the kernel allows)."""
    global _ISOLATION
    if _ISOLATION is None:
        _ISOLATION = Isolation()
        if _libc() is not None:
            probe_dir = tempfile.mkdtemp(prefix="llmapps-probe-")
            try:
                for level in (Isolation(True, os.geteuid() == 0), Isolation(True, False)):
                    folder = os.fsencode(probe_dir) if level.readonly_fs else None
                    try:
                        probe = subprocess.run(
                            [sys.executable, "-I", "-c", "pass"],
                            preexec_fn=functools.partial(_enter_namespace, folder),
                            capture_output=True,
                            timeout=20,
                        )
                    except (OSError, subprocess.SubprocessError):
                        continue
                    if probe.returncode == 0:
                        _ISOLATION = level
                        break
            finally:
                shutil.rmtree(probe_dir, ignore_errors=True)
    return _ISOLATION


_ISOLATION: Isolation | None = None


def _enter_namespace(folder: bytes | None) -> None:
    """In the child: new network namespace; with ``folder`` (root only) also a mount
    namespace in which every mount is remounted read-only except a bind mount of ``folder``."""
    libc = _LIBC
    if libc is None:
        raise OSError("no libc")
    root = os.geteuid() == 0
    flags = CLONE_NEWNET | (CLONE_NEWNS if root and folder else 0) | (0 if root else CLONE_NEWUSER)
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare failed")
    if not (root and folder):
        return
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate / failed")
    if libc.mount(folder, folder, None, MS_BIND, None) != 0:
        raise OSError(ctypes.get_errno(), "bind mount of the run folder failed")
    with open("/proc/self/mountinfo", "rb") as fh:
        points = [_unescape(line.split()[4]) for line in fh.read().splitlines()]
    for point in points:
        if point != folder:
            # a few pseudo file systems refuse; everything else becomes read-only
            libc.mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
    if libc.mount(None, b"/", None, MS_BIND | MS_REMOUNT | MS_RDONLY, None) != 0:
        raise OSError(ctypes.get_errno(), "read-only remount of / failed")
    os.chdir(folder)  # the cwd still points below the new mount: enter the writable one


def _unescape(field: bytes) -> bytes:
    """mountinfo escapes spaces and friends as ``\\ooo`` octal."""
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), field)


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


def _limits(
    settings: Settings, isolation: Isolation, folder: bytes, as_nobody: bool, nproc: int
) -> None:
    """Runs in the child between fork and exec (keep it to plain system calls)."""
    if isolation.network:
        _enter_namespace(folder if isolation.readonly_fs else None)
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
    isolation = _isolation()
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
                preexec_fn=lambda: _limits(
                    settings, isolation, os.fsencode(folder), as_nobody, nproc
                ),
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
            isolated=isolation.network,
            readonly_fs=isolation.readonly_fs,
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

    return make_tool(
        python,
        "python",
        (
            "Run Python code in a sandbox (no network, no files outside a temporary folder, "
            f"{settings.chat.code_timeout_s:g}s and {settings.chat.code_memory_mb} MB limits) "
            "and return what it prints."
        ),
        CodeArgs,
    )
