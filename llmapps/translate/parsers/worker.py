"""Parse a PDF in a child process under limits: pages, inflated size, time per page, memory.

Why a process: a hostile or broken PDF can make pdfminer run for minutes and grow without
bound, and a thread cannot be stopped. The child streams each parsed page back over a pipe
and announces each page before it starts, so the parent can enforce a per-page time budget,
cancel the parse at any moment (job cancelled, server stopping) by killing the child, and keep
only the small unit lists in memory while renders live and die in the child.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from llmapps.translate.document import Document
from llmapps.translate.errors import CorruptFileError, PdfLimitError, TranslateError

#: Seconds the child may take to start (imports, layout model) before its first page.
STARTUP_S = 120.0

_ACTIVE: set[Any] = set()
_ACTIVE_LOCK = threading.Lock()


class ParseCancelledError(TranslateError):
    """The parse was cancelled (job stopped or server shutting down)."""

    status_code = 409


@dataclass
class ParseLimits:
    """Limits of one parse (``[translate]`` settings)."""

    max_pages: int = 2000
    max_decompressed_mb: int = 256
    page_time_s: float = 60.0
    memory_mb: int = 4096  # address-space cap of the child; 0 = none


def parse_pdf_isolated(
    path: Path,
    *,
    password: str | None = None,
    pages: str | None = None,
    ocr: str = "auto",
    layout_model: bool = True,
    limits: ParseLimits | None = None,
    cancel: threading.Event | None = None,
) -> Document:
    """:func:`~llmapps.translate.parsers.pdf.parse_pdf` in a child process, under ``limits``.

    Raises :class:`PdfLimitError` (a limit was hit), :class:`ParseCancelledError`, or the
    parser's own one-line errors.
    """
    from llmapps.translate.parsers.pdf import ParseOptions, classify

    limits = limits or ParseLimits()
    options = ParseOptions(ocr=ocr, layout_model=layout_model)
    proc, receiver = _start(path, password, pages, options, limits)
    with _ACTIVE_LOCK:
        _ACTIVE.add(proc)
    doc = Document(path=path, kind="pdf")
    current = 0
    deadline = time.monotonic() + STARTUP_S
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise ParseCancelledError(f"{path.name}: parsing cancelled")
            if receiver.poll(0.2):
                try:
                    message = receiver.recv()
                except EOFError:
                    raise _died(path, proc) from None
                kind = message[0]
                if kind == "start":
                    current = int(message[1])
                    # Opening (size scan, cross-reference table) is not a page: 30 s at least.
                    budget = limits.page_time_s if current else max(limits.page_time_s, 30.0)
                    deadline = time.monotonic() + budget
                elif kind == "count":
                    doc.page_count = int(message[1])
                elif kind == "page":
                    doc.pages.append(message[1])
                elif kind == "error":
                    raise _error(message[1], message[2])
                elif kind == "done":
                    break
            elif time.monotonic() > deadline:
                where = f"page {current}" if current else "opening the file"
                raise PdfLimitError(
                    f"{path.name}: {where} took more than {limits.page_time_s:g} s to parse: "
                    "a broken or very complex PDF; skip the page with --pages or raise "
                    "translate.page_time_s"
                )
            elif proc.poll() is not None and not receiver.poll(0):
                raise _died(path, proc)
    finally:
        _stop(proc)
        receiver.close()
    classify(doc)
    return doc


def _start(
    path: Path, password: str | None, pages: str | None, options: Any, limits: ParseLimits
) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``python -m llmapps.translate.parsers.worker`` with a pipe for its messages.

    A plain child interpreter (not multiprocessing's spawn) never re-imports the caller's main
    module, so any script, server or test may call this; the request goes over stdin.
    """
    import llmapps

    # The child imports this very copy of llmapps (a checkout may shadow an installed one).
    root = str(Path(llmapps.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llmapps.translate.parsers.worker", str(write_fd)],
            stdin=subprocess.PIPE,
            pass_fds=(write_fd,),
            close_fds=True,
            env=env,
        )
    finally:
        os.close(write_fd)
    assert proc.stdin is not None
    proc.stdin.write(pickle.dumps((str(path), password, pages, options, limits)))
    proc.stdin.close()
    return proc, Connection(read_fd, writable=False)


def cancel_all() -> int:
    """Kill every running parse (server shutdown); returns how many were running."""
    with _ACTIVE_LOCK:
        procs = list(_ACTIVE)
    for proc in procs:
        _stop(proc)
    return len(procs)


def _stop(proc: Any) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    with _ACTIVE_LOCK:
        _ACTIVE.discard(proc)


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


def _child(
    path: str,
    password: str | None,
    pages: str | None,
    options: Any,
    limits: ParseLimits,
    conn: Any,
) -> None:
    """Entry point of the child: check, parse page by page, stream the pages back."""
    _die_with_parent()
    try:
        if limits.memory_mb > 0:
            import resource

            cap = limits.memory_mb * (1 << 20)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
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
        conn.send(("done",))
    except TranslateError as exc:
        conn.send(("error", type(exc).__name__, str(exc)))
    except MemoryError:
        conn.send(
            (
                "error",
                "PdfLimitError",
                f"{Path(path).name}: parsing needs more than {limits.memory_mb} MB: a broken or "
                "hostile PDF; check the file or raise translate.parse_memory_mb",
            )
        )
    except Exception as exc:
        conn.send(
            (
                "error",
                "CorruptFileError",
                f"{Path(path).name}: not a readable PDF ({type(exc).__name__}): check the file",
            )
        )
    finally:
        conn.close()


def main() -> None:
    """``python -m llmapps.translate.parsers.worker FD``: the request comes on stdin."""
    conn = Connection(int(sys.argv[1]), readable=False)
    path, password, pages, options, limits = pickle.loads(sys.stdin.buffer.read())
    _child(path, password, pages, options, limits, conn)


if __name__ == "__main__":
    main()
