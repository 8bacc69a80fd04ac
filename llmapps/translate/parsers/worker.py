"""Parse a PDF in a child process under limits: pages, inflated size, time per page, memory.

Why a process: a hostile or broken PDF can make pdfminer run for minutes and grow without
bound, and a thread cannot be stopped. The child streams each parsed page back over a pipe
and announces each page before it starts, so the parent can enforce a per-page time budget,
cancel the parse at any moment (job cancelled, server stopping) by killing the child, and keep
only the small unit lists in memory while renders live and die in the child.

Why the child stays warm: starting it costs more CPU (imports, loading the layout model and,
for scans, the OCR models: about 2.5 s) than parsing a short document. So a child serves one
parse at a time and then waits for the next (``translate.parse_idle_s``, 5 minutes by
default); at most ``translate.parse_workers`` children live at once (default 1: on a small
machine a second child only splits the same cores and doubles the memory), and a parse that
finds them all busy waits in line (cancellable). A child is reused only after a parse that
ended cleanly (the document parsed, or the file's own one-line error); one that hit a limit,
was cancelled, crashed, raised something unexpected or grew past :data:`RECYCLE_RSS_MB` is
killed and the next parse starts a fresh one, so a hostile PDF cannot reach the next job.
Children die with their parent (clean exit, SIGTERM or SIGKILL alike).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from llmapps.translate.document import Document
from llmapps.translate.errors import CorruptFileError, PdfLimitError, TranslateError

#: Seconds the child may take to start (imports, layout model) before its first page.
STARTUP_S = 120.0
#: A child whose resident memory after a parse exceeds this is replaced (a big document can
#: leave a large heap behind that the next job would carry).
RECYCLE_RSS_MB = 1024
#: Parses one child serves before it is replaced (bounds slow leaks in the libraries).
MAX_PARSES = 200


class ParseCancelledError(TranslateError):
    """The parse was cancelled (job stopped or server shutting down)."""

    status_code = 409


@dataclass
class ParseLimits:
    """Limits of one parse (``[translate]`` settings), and the worker pool's two settings."""

    max_pages: int = 2000
    max_decompressed_mb: int = 256
    page_time_s: float = 60.0
    memory_mb: int = 4096  # address-space cap of the child; 0 = none
    idle_s: float = 300.0  # a warm child waits this long for the next parse; 0 = one parse each
    workers: int = 1  # most children at once; further parses wait for one


class _Worker:
    """One child process with its request pipe (parent -> child) and message pipe."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        requests: Connection,
        messages: Connection,
        memory_mb: int,
    ) -> None:
        self.proc = proc
        self.requests = requests
        self.messages = messages
        self.memory_mb = memory_mb
        self.parses = 0
        self.idle_since = 0.0
        self.ready = False  # its "ready" message has been read

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for conn in (self.requests, self.messages):
            with contextlib.suppress(OSError):
                conn.close()

    def cpu_seconds(self) -> float:
        """User + system CPU seconds so far (0 once the process is gone)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Linux's PR_SET_PDEATHSIG kills a child when the *thread* that started it ends, and a warm
# child must outlive the job thread that first needed it: children are started by this one
# long-lived thread.
_KEEPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse-keeper")


class WorkerPool:
    """Warm parse children: reused across parses, bounded, expired when idle.

    ``clock`` is injectable and ``background=False`` leaves expiry to :meth:`expire_idle`, so
    tests decide when time has passed.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, background: bool = True
    ) -> None:
        self._clock = clock
        self._background = background
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting = 0
        self._reaper: threading.Thread | None = None
        self.idle_s = 300.0
        self.size = 1
        self.started = 0  # children started so far

    def acquire(self, limits: ParseLimits, *, preload: bool, cancel: Any, name: str) -> _Worker:
        """A child for one parse: a warm one, else a new one while fewer than ``size`` live,
        else the next one freed (waiting is cancellable)."""
        with self._cond:
            self.idle_s, self.size = limits.idle_s, max(1, limits.workers)
            while True:
                if cancel is not None and cancel.is_set():
                    raise ParseCancelledError(f"{name}: parsing cancelled")
                for worker in [w for w in self._idle if not w.alive()]:
                    self._idle.remove(worker)
                    worker.kill()
                for worker in self._idle:
                    if worker.memory_mb == limits.memory_mb:
                        self._idle.remove(worker)
                        self._busy.add(worker)
                        return worker
                if len(self._idle) + len(self._busy) + self._starting < self.size:
                    self._starting += 1
                    break
                if self._idle:  # started under another memory cap: replace it
                    self._idle.pop(0).kill()
                    continue
                if cancel is None:
                    self._cond.wait()  # a release or a start that ends notifies
                    continue
                # Look at ``cancel`` now and then. Not with a timed wait on the condition: under
                # libfaketime (``make test-at``) the monotonic clock is shifted and a timed
                # wait never expires; a sleep does.
                self._cond.release()
                try:
                    time.sleep(0.05)
                finally:
                    self._cond.acquire()
        try:
            worker = _KEEPER.submit(_spawn, limits.memory_mb, preload).result()
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
        with self._cond:
            self._busy.add(worker)
            self.started += 1
        return worker

    def warm_up(self, limits: ParseLimits, *, preload: bool = True) -> int:
        """Have a child started and ready now (imports and layout model loaded), so the next
        parse does not pay for it; returns its process id. Raises :class:`PdfLimitError`
        when the child cannot start."""
        worker = self.acquire(limits, preload=preload, cancel=None, name="parse worker")
        try:
            if not worker.ready and worker.messages.poll(STARTUP_S):
                worker.ready = worker.messages.recv() == ("ready",)
        except (EOFError, OSError):
            worker.ready = False
        finally:
            self.release(worker, worker.ready, parsed=False)
        if not worker.ready:
            raise PdfLimitError(
                f"the PDF parser could not start (exit code {worker.proc.poll()}): "
                "reinstall llmapps or raise translate.parse_memory_mb"
            )
        return worker.pid

    def release(self, worker: _Worker, reusable: bool, *, parsed: bool = True) -> None:
        """Hand ``worker`` back after a parse: kept warm only when ``reusable`` (a clean end)."""
        with self._cond:
            self._busy.discard(worker)
            worker.parses += int(parsed)
            keep = reusable and self.idle_s > 0 and worker.parses < MAX_PARSES and worker.alive()
            if keep:
                worker.idle_since = self._clock()
                self._idle.append(worker)
                self._start_reaper()
            else:
                worker.kill()
            self._cond.notify_all()

    def expire_idle(self, now: float | None = None) -> int:
        """Stop the children idle for ``idle_s`` or longer; returns how many."""
        with self._cond:
            return self._expire(self._clock() if now is None else now)

    def _expire(self, now: float) -> int:
        """Kill the children idle since ``now - idle_s`` or earlier (the lock is held)."""
        old = [w for w in self._idle if now - w.idle_since >= self.idle_s]
        for worker in old:
            self._idle.remove(worker)
            worker.kill()
        return len(old)

    def close(self) -> int:
        """Kill every child, busy or idle (server stopping, process exit); returns how many.
        A busy parse fails at once; a later parse starts a fresh child."""
        with self._cond:
            workers = [*self._idle, *self._busy]
            self._idle.clear()
            for worker in workers:
                worker.kill()
            self._cond.notify_all()
            return len(workers)

    def pids(self) -> dict[str, list[int]]:
        """Process ids of the idle and busy children (tests, diagnostics)."""
        with self._cond:
            return {
                "idle": [w.pid for w in self._idle],
                "busy": sorted(w.pid for w in self._busy),
            }

    def cpu_seconds(self) -> float:
        """CPU seconds of this process's children: finished (reaped) ones and the live parse
        children, read together so a child reaped in between is counted once (the bench)."""
        with self._cond:
            times = os.times()
            live = sum(w.cpu_seconds() for w in (*self._idle, *self._busy))
            return times.children_user + times.children_system + live

    def _start_reaper(self) -> None:
        if self._background and self._reaper is None:
            self._reaper = threading.Thread(target=self._reap, name="parse-reaper", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        with self._cond:
            while self._idle:
                due = min(w.idle_since for w in self._idle) + self.idle_s - self._clock()
                if due > 0:
                    self._cond.wait(min(due, 60.0))
                    continue
                self._expire(self._clock())
            self._reaper = None


#: The process's pool: every isolated parse goes through it.
POOL = WorkerPool()
atexit.register(POOL.close)


def parse_pdf_isolated(
    path: Path,
    *,
    password: str | None = None,
    pages: str | None = None,
    ocr: str = "auto",
    layout_model: bool = True,
    limits: ParseLimits | None = None,
    cancel: threading.Event | None = None,
    pool: WorkerPool | None = None,
) -> Document:
    """:func:`~llmapps.translate.parsers.pdf.parse_pdf` in a child process, under ``limits``.

    Raises :class:`PdfLimitError` (a limit was hit), :class:`ParseCancelledError`, or the
    parser's own one-line errors.
    """
    from llmapps.translate.parsers.pdf import ParseOptions, classify

    limits = limits or ParseLimits()
    pool = pool or POOL
    options = ParseOptions(ocr=ocr, layout_model=layout_model)
    request = (str(path), password, pages, options, limits)
    for attempt in range(2):
        worker = pool.acquire(limits, preload=layout_model, cancel=cancel, name=path.name)
        # A warm child that died while it waited (killed from outside, or still exiting when
        # it was handed out) says nothing of this file: the parse gets one fresh child.
        stale_ok = attempt == 0 and worker.parses > 0
        try:
            doc = _parse_in(worker, pool, path, request, limits, cancel, stale_ok)
        except _StaleWorkerError:
            continue
        classify(doc)
        return doc
    raise AssertionError("unreachable: the second attempt never raises _StaleWorkerError")


class _StaleWorkerError(Exception):
    """A reused child was gone before it read the request."""


def _parse_in(
    worker: _Worker,
    pool: WorkerPool,
    path: Path,
    request: tuple[Any, ...],
    limits: ParseLimits,
    cancel: threading.Event | None,
    stale_ok: bool,
) -> Document:
    """Send ``request`` to ``worker`` and collect the pages it streams back, under the limits;
    the worker goes back to ``pool`` (kept warm only after a clean end)."""
    reusable = False
    heard = False  # a message about this request arrived
    doc = Document(path=path, kind="pdf")
    current = 0
    deadline = time.monotonic() + STARTUP_S

    def died() -> Exception:
        if stale_ok and not heard:
            return _StaleWorkerError()
        return _died(path, worker.proc)

    try:
        try:
            worker.requests.send(request)
        except OSError:
            raise died() from None
        while True:
            if cancel is not None and cancel.is_set():
                raise ParseCancelledError(f"{path.name}: parsing cancelled")
            if worker.messages.poll(0.2):
                try:
                    message = worker.messages.recv()
                except (EOFError, OSError):
                    raise died() from None
                kind = message[0]
                heard = heard or kind != "ready"
                if kind != "ready" and time.monotonic() > deadline:
                    # The step before this message (opening, or page ``current``) ran past
                    # its budget even though it finished: a warm child is quick enough to
                    # answer between two polls, the limit holds all the same.
                    raise _too_slow(path, current, limits)
                if kind == "ready":
                    worker.ready = True
                    deadline = time.monotonic() + STARTUP_S
                elif kind == "start":
                    current = int(message[1])
                    # Opening (size scan, cross-reference table) is not a page: 30 s at least.
                    budget = limits.page_time_s if current else max(limits.page_time_s, 30.0)
                    deadline = time.monotonic() + budget
                elif kind == "count":
                    doc.page_count = int(message[1])
                elif kind == "page":
                    doc.pages.append(message[1])
                elif kind == "error":
                    reusable = bool(message[3])
                    raise _error(message[1], message[2])
                elif kind == "done":
                    reusable = bool(message[1])
                    break
            elif time.monotonic() > deadline:
                raise _too_slow(path, current, limits)
            elif not worker.alive() and not worker.messages.poll(0):
                raise died()
    finally:
        pool.release(worker, reusable)
    return doc


def _spawn(memory_mb: int, preload: bool) -> _Worker:
    """Start ``python -m llmapps.translate.parsers.worker REQ MSG MEMORY PRELOAD``.

    A plain child interpreter (not multiprocessing's spawn) never re-imports the caller's main
    module, so any script, server or test may call this; requests come over their own pipe.
    """
    import llmapps

    # The child imports this very copy of llmapps (a checkout may shadow an installed one).
    root = str(Path(llmapps.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    req_read, req_write = os.pipe()
    msg_read, msg_write = os.pipe()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llmapps.translate.parsers.worker",
                str(req_read),
                str(msg_write),
                str(memory_mb),
                "1" if preload else "0",
            ],
            stdin=subprocess.DEVNULL,
            pass_fds=(req_read, msg_write),
            close_fds=True,
            env=env,
        )
    except BaseException:
        os.close(req_write)
        os.close(msg_read)
        raise
    finally:
        os.close(req_read)
        os.close(msg_write)
    return _Worker(
        proc,
        Connection(req_write, readable=False),
        Connection(msg_read, writable=False),
        memory_mb,
    )


def cancel_all() -> int:
    """Kill every parse child, busy or warm (server shutdown); returns how many there were."""
    return POOL.close()


def _too_slow(path: Path, current: int, limits: ParseLimits) -> PdfLimitError:
    where = f"page {current}" if current else "opening the file"
    return PdfLimitError(
        f"{path.name}: {where} took more than {limits.page_time_s:g} s to parse: "
        "a broken or very complex PDF; skip the page with --pages or raise "
        "translate.page_time_s"
    )


def _died(path: Path, proc: Any) -> TranslateError:
    try:
        code = proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        code = None
    return PdfLimitError(
        f"{path.name}: the PDF parser stopped (exit code {code}), most likely out of memory "
        "on a broken or hostile file: check the file or raise translate.parse_memory_mb"
    )


def _error(kind: str, message: str) -> TranslateError:
    from llmapps.translate import errors

    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, TranslateError):
        return cls(message)
    return CorruptFileError(message)


def _die_with_parent() -> None:
    """Exit as soon as the parent is gone (server stopped or killed): an orphaned parse
    would otherwise run on for minutes."""
    parent = os.getppid()
    try:  # Linux: the kernel kills us the moment the parent goes, even mid C call
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _serve(requests: Connection, messages: Connection, memory_mb: int, preload: bool) -> None:
    """The child: load once, then parse one request at a time until the parent closes the
    request pipe (or a parse ends in a way that rules out reuse)."""
    _die_with_parent()
    if memory_mb > 0:
        import resource

        cap = memory_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from llmapps.translate.parsers import pdf  # noqa: F401  (imports paid once, not per job)

    if preload:
        from llmapps.translate.layout_model import load

        with contextlib.suppress(Exception):  # a page that needs it falls back to the rules
            load()
    messages.send(("ready",))
    while True:
        try:
            request = requests.recv()
        except (EOFError, OSError):
            return
        path, password, pages, options, limits = request
        if not _parse_one(path, password, pages, options, limits, messages):
            return
        _trim()


def _parse_one(
    path: str,
    password: str | None,
    pages: str | None,
    options: Any,
    limits: ParseLimits,
    conn: Connection,
) -> bool:
    """Check, parse page by page, stream the pages back; True when this child may serve the
    next parse (the parse ended cleanly and left the process small)."""
    try:
        from llmapps.translate.parsers.limits import check_decompressed_size
        from llmapps.translate.parsers.pdf import parse_pdf

        file = Path(path)
        conn.send(("start", 0))
        check_decompressed_size(file, limits.max_decompressed_mb * (1 << 20))

        def started(number: int) -> None:
            conn.send(("start", number))

        def parsed(page: Any) -> None:
            conn.send(("page", page))

        doc = parse_pdf(
            file,
            password=password,
            pages=pages,
            options=options,
            max_pages=limits.max_pages,
            on_page=started,
            on_parsed=parsed,
        )
        conn.send(("count", doc.page_count))
        del doc
        reusable = _rss_mb() <= RECYCLE_RSS_MB
        conn.send(("done", reusable))
        return reusable
    except PdfLimitError as exc:
        conn.send(("error", type(exc).__name__, str(exc), False))
    except TranslateError as exc:  # the file's own error (encrypted, corrupt): no harm done
        conn.send(("error", type(exc).__name__, str(exc), True))
        return True
    except MemoryError:
        conn.send(
            (
                "error",
                "PdfLimitError",
                f"{Path(path).name}: parsing needs more than {limits.memory_mb} MB: a broken or "
                "hostile PDF; check the file or raise translate.parse_memory_mb",
                False,
            )
        )
    except Exception as exc:
        conn.send(
            (
                "error",
                "CorruptFileError",
                f"{Path(path).name}: not a readable PDF ({type(exc).__name__}): check the file",
                False,
            )
        )
    return False


def _rss_mb() -> float:
    """Resident memory of this process in MB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def _trim() -> None:
    """Give the last parse's freed memory back to the system while the child waits."""
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)


def main() -> None:
    """``python -m llmapps.translate.parsers.worker REQ_FD MSG_FD MEMORY_MB PRELOAD``."""
    requests = Connection(int(sys.argv[1]), writable=False)
    messages = Connection(int(sys.argv[2]), readable=False)
    try:
        _serve(requests, messages, int(sys.argv[3]), sys.argv[4] == "1")
    finally:
        messages.close()


if __name__ == "__main__":
    main()
