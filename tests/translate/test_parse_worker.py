"""The warm parse worker (issue 9, layout speed): one child process serves parse after parse,
keeps every guarantee of a fresh one (limits, cancellation, no reuse after a hostile file), waits
in line when busy, expires when idle, and never outlives its parent.

Time is the pool's injected clock, so expiry is decided by the test, not by waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest

from llmapps.translate.errors import CorruptFileError, EncryptedPdfError, PdfLimitError
from llmapps.translate.parsers.worker import (
    ParseCancelledError,
    ParseLimits,
    WorkerPool,
    parse_pdf_isolated,
)
from tests.translate import layout_pdfs as L
from tests.translate.test_pdf_limits import _alive


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pool(clock: Clock) -> Iterator[WorkerPool]:
    pool = WorkerPool(clock, background=False)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def tally(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return L.tally_form(tmp_path_factory.mktemp("tally") / "tally.pdf")


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    """True once ``pid`` has exited (the kernel delivers a death signal asynchronously)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_one_child_serves_parse_after_parse(pool: WorkerPool, tally: Path) -> None:
    first = parse_pdf_isolated(tally, pool=pool)
    pids = pool.pids()
    assert pids["busy"] == [] and len(pids["idle"]) == 1
    second = parse_pdf_isolated(tally, pool=pool)
    assert pool.pids()["idle"] == pids["idle"] and pool.started == 1
    assert [b.text for b in first.blocks] == [b.text for b in second.blocks]
    assert "1,204" in [b.text for b in second.blocks]


def test_idle_child_expires_and_a_fresh_one_follows(
    pool: WorkerPool, clock: Clock, tally: Path
) -> None:
    limits = ParseLimits(idle_s=300)
    parse_pdf_isolated(tally, limits=limits, pool=pool)
    [pid] = pool.pids()["idle"]
    clock.now += 299
    assert pool.expire_idle() == 0 and _alive(pid)
    clock.now += 1
    assert pool.expire_idle() == 1 and not _alive(pid)
    doc = parse_pdf_isolated(tally, limits=limits, pool=pool)
    assert doc.blocks and pool.started == 2 and pool.pids()["idle"] != [pid]


def test_idle_zero_means_one_parse_per_child(pool: WorkerPool, tally: Path) -> None:
    parse_pdf_isolated(tally, limits=ParseLimits(idle_s=0), pool=pool)
    assert pool.pids() == {"idle": [], "busy": []}


def test_a_child_that_hit_a_limit_is_never_reused(pool: WorkerPool, tally: Path) -> None:
    parse_pdf_isolated(tally, pool=pool)
    [warm] = pool.pids()["idle"]
    with pytest.raises(PdfLimitError, match=r"took more than 0\.001 s"):
        parse_pdf_isolated(tally, limits=ParseLimits(page_time_s=0.001), pool=pool)
    assert not _alive(warm) and pool.pids()["idle"] == []
    # The page-count cap is a limit too.
    two = L.rotated_page(tally.parent / "two.pdf")
    parse_pdf_isolated(tally, pool=pool)
    [warm] = pool.pids()["idle"]
    with pytest.raises(PdfLimitError, match="exceed the limit of 1"):
        parse_pdf_isolated(two, limits=ParseLimits(max_pages=1), pool=pool)
    assert not _alive(warm) and pool.pids()["idle"] == []
    doc = parse_pdf_isolated(tally, pool=pool)  # the next job gets a fresh child
    assert "1,204" in [b.text for b in doc.blocks] and pool.started == 3


@pytest.mark.parametrize("settled", [True, False])
def test_a_crashed_child_is_replaced(pool: WorkerPool, tally: Path, settled: bool) -> None:
    """Killed while idle: found dead when handed out, or (still exiting) when it does not read
    the request; either way the parse gets a fresh child and succeeds."""
    parse_pdf_isolated(tally, pool=pool)
    [warm] = pool.pids()["idle"]
    os.kill(warm, signal.SIGKILL)
    if settled:
        assert _wait_gone(warm)
    doc = parse_pdf_isolated(tally, pool=pool)
    assert doc.blocks and pool.started == 2 and warm not in pool.pids()["idle"]


def test_the_files_own_errors_keep_the_child(
    pool: WorkerPool, tally: Path, simple_pdf: Path, tmp_path: Path
) -> None:
    writer = pypdf.PdfWriter(clone_from=str(simple_pdf))
    writer.encrypt("s3cret")
    locked = tmp_path / "locked.pdf"
    writer.write(locked)
    with pytest.raises(EncryptedPdfError, match="--password"):
        parse_pdf_isolated(locked, pool=pool)
    [warm] = pool.pids()["idle"]
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    with pytest.raises(CorruptFileError):
        parse_pdf_isolated(broken, pool=pool)
    assert pool.pids()["idle"] == [warm]
    doc = parse_pdf_isolated(locked, password="s3cret", pool=pool)
    assert len(doc.pages) == 3 and pool.pids()["idle"] == [warm] and pool.started == 1


def test_another_memory_cap_gets_another_child(pool: WorkerPool, tally: Path) -> None:
    parse_pdf_isolated(tally, limits=ParseLimits(memory_mb=4096), pool=pool)
    [warm] = pool.pids()["idle"]
    parse_pdf_isolated(tally, limits=ParseLimits(memory_mb=3072), pool=pool)
    assert not _alive(warm) and len(pool.pids()["idle"]) == 1 and pool.started == 2


def test_a_busy_child_makes_the_next_parse_wait(pool: WorkerPool, tally: Path) -> None:
    limits = ParseLimits(workers=1)
    parse_pdf_isolated(tally, limits=limits, pool=pool)
    held = pool.acquire(limits, preload=True, cancel=None, name="held")  # another job's parse
    results: list[object] = []
    waiting = threading.Thread(
        target=lambda: results.append(parse_pdf_isolated(tally, limits=limits, pool=pool))
    )
    waiting.start()
    # While the only child is busy the waiting parse cannot have run: no second child exists.
    assert pool.pids() == {"idle": [], "busy": [held.pid]} and results == []
    pool.release(held, reusable=True)
    waiting.join(timeout=120)
    assert len(results) == 1 and pool.started == 1 and pool.pids()["idle"] == [held.pid]


def test_a_waiting_parse_can_be_cancelled(pool: WorkerPool, tally: Path) -> None:
    limits = ParseLimits(workers=1)
    held = pool.acquire(limits, preload=False, cancel=None, name="held")
    cancel = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            parse_pdf_isolated(tally, limits=limits, pool=pool, cancel=cancel)
        except BaseException as exc:
            errors.append(exc)

    waiting = threading.Thread(target=run)
    waiting.start()
    cancel.set()
    waiting.join(timeout=30)
    assert len(errors) == 1 and isinstance(errors[0], ParseCancelledError)
    assert pool.started == 1 and pool.pids()["busy"] == [held.pid]
    pool.release(held, reusable=False)


def test_two_workers_serve_two_parses_at_once(pool: WorkerPool, tally: Path) -> None:
    limits = ParseLimits(workers=2)
    held = pool.acquire(limits, preload=False, cancel=None, name="held")
    doc = parse_pdf_isolated(tally, limits=limits, pool=pool)  # does not wait for ``held``
    assert doc.blocks and pool.started == 2
    pool.release(held, reusable=True)
    assert len(pool.pids()["idle"]) == 2


def test_cancel_kills_a_warm_child_at_once(pool: WorkerPool, tally: Path, tmp_path: Path) -> None:
    bomb = L.inflation_bomb(tmp_path / "bomb.pdf", megabytes=300)
    limits = ParseLimits(max_decompressed_mb=4000, page_time_s=600)
    parse_pdf_isolated(tally, limits=limits, pool=pool)
    [warm] = pool.pids()["idle"]
    cancel = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:  # the bomb's 300 MB stream keeps the child busy for minutes
            parse_pdf_isolated(bomb, limits=limits, pool=pool, cancel=cancel)
        except BaseException as exc:
            errors.append(exc)

    job = threading.Thread(target=run)
    job.start()
    deadline = time.monotonic() + 60
    while pool.pids()["busy"] != [warm] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.pids()["busy"] == [warm]
    cancel.set()
    job.join(timeout=10)
    assert not job.is_alive() and isinstance(errors[0], ParseCancelledError)
    assert not _alive(warm) and pool.pids() == {"idle": [], "busy": []}
    doc = parse_pdf_isolated(tally, limits=limits, pool=pool)
    assert "1,204" in [b.text for b in doc.blocks] and pool.started == 2


SCRIPT = """
import sys, threading
from collections.abc import Iterator
from pathlib import Path
from llmapps.translate.parsers.worker import POOL, parse_pdf_isolated
from tests.translate.test_pdf_limits import _alive

def job():
    parse_pdf_isolated(Path(sys.argv[1]))

# Each job in its own thread, as the server runs them: the child outlives the first job's thread.
for _ in range(2):
    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
[pid] = POOL.pids()["idle"]
assert _alive(pid) and POOL.started == 1
print(pid, flush=True)
if sys.argv[2] == "wait":
    sys.stdin.read()
"""


def _script(tally: Path, mode: str) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tally), mode],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), "the script did not report its warm child"
    return proc, int(line)


def test_clean_exit_leaves_no_child(tally: Path) -> None:
    proc, pid = _script(tally, "exit")
    assert proc.wait(timeout=60) == 0
    assert not _alive(pid)  # killed by the exit hook before the process ended


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_parent_takes_its_child_along(tally: Path, sig: signal.Signals) -> None:
    proc, pid = _script(tally, "wait")
    try:
        assert _alive(pid)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        assert _wait_gone(pid), "the warm parse child outlived its parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_warm_up_starts_the_child_the_next_parse_uses(pool: WorkerPool, tally: Path) -> None:
    pid = pool.warm_up(ParseLimits())
    assert pool.pids() == {"idle": [pid], "busy": []}
    assert pool.warm_up(ParseLimits()) == pid  # already warm: nothing new started
    doc = parse_pdf_isolated(tally, pool=pool)
    assert doc.blocks and pool.pids()["idle"] == [pid] and pool.started == 1
