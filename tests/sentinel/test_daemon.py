"""The daemon: two short schedules with one failing, persistence + misfires, SIGTERM."""

from __future__ import annotations

import base64
import itertools
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

from llmapps.config import Settings, get_settings
from llmapps.sentinel import service
from llmapps.sentinel.scheduler import Daemon
from llmapps.sentinel.store import sentinel_db
from llmapps.sentinel.subscriptions import get
from tests.sentinel.conftest import CountingFakeModel
from tests.sentinel.sentinel_emulator import GitHubEmulator, HackerNewsEmulator


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.2)


def reports_of(settings: Settings, sub_id: int) -> list[dict[str, str]]:
    rows = sentinel_db(settings).query(
        "SELECT window_start, window_end FROM sentinel_reports WHERE subscription_id=? ORDER BY id",
        (sub_id,),
    )
    return [dict(r) for r in rows]


def test_two_schedules_one_failing_the_other_keeps_running(
    github: GitHubEmulator, settings: Settings, git_repo: Path, fake_model: CountingFakeModel
) -> None:
    good = service.add_subscription(settings, str(git_repo), every="1s")
    bad = service.add_subscription(settings, "acme/ghost", every="1s")  # 404 every time
    daemon = Daemon(settings, chat_model=fake_model, sync_interval=1)
    daemon.start()
    try:
        wait_for(lambda: len(reports_of(settings, good.id)) >= 3)
        wait_for(lambda: (get(settings, bad.id).last_status or "").startswith("error"))
    finally:
        daemon.stop()
    reports = reports_of(settings, good.id)
    # each run covers exactly the new window: no gap, no overlap
    for before, after in itertools.pairwise(reports):
        assert after["window_start"] == before["window_end"]
    assert "404" in (get(settings, bad.id).last_status or "")
    assert reports_of(settings, bad.id) == []
    stored = {r["id"] for r in sentinel_db(settings).query("SELECT id FROM sentinel_jobs")}
    assert stored == {f"sub-{good.id}", f"sub-{bad.id}"}  # jobs persist beyond the process


def _set_next_run(settings: Settings, job_id: str, when: datetime) -> None:
    """Simulate downtime: the stored job was due at ``when`` while no daemon was running."""
    db = sentinel_db(settings)
    row = db.query_one("SELECT job_state FROM sentinel_jobs WHERE id=?", (job_id,))
    assert row is not None
    state = pickle.loads(base64.b64decode(row["job_state"]))
    state["next_run_time"] = when
    db.execute(
        "UPDATE sentinel_jobs SET job_state=?, next_run_time=? WHERE id=?",
        (base64.b64encode(pickle.dumps(state)).decode(), when.timestamp(), job_id),
    )


def test_missed_runs_are_coalesced_within_the_grace_time(
    hn: HackerNewsEmulator, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_SENTINEL__MISFIRE_GRACE_S", "3600")
    settings = get_settings()
    now = datetime.now(UTC)
    recent = service.add_subscription(settings, str(git_repo), every="hourly")
    # The daily run's time is chosen from the clock, so its latest due time is always about
    # 18 h ago, beyond the grace period, at whatever hour the suite runs (a fixed 08:00 fell
    # inside the grace period between 08:00 and 09:00 UTC).
    daily_at = (now + timedelta(hours=6)).strftime("%H:%M")
    old = service.add_subscription(settings, "hn", every="daily", at=daily_at, tz="UTC")
    first = Daemon(settings, sync_interval=60)
    first.start()
    first.stop()
    # missed three hourly runs, the last 20 minutes ago: run once; missed by 2 days: skip
    _set_next_run(settings, f"sub-{recent.id}", now - timedelta(hours=2, minutes=20))
    _set_next_run(settings, f"sub-{old.id}", now - timedelta(days=2))
    second = Daemon(settings, sync_interval=60)
    outcomes: set[tuple[int, str]] = set()
    second.scheduler.add_listener(
        lambda e: outcomes.add((e.code, e.job_id)), EVENT_JOB_EXECUTED | EVENT_JOB_MISSED
    )
    second.start()
    try:
        # Both stored jobs are handled by the scheduler's first pass: once their outcomes are
        # in, nothing else is due for an hour (no waiting "long enough" to see no second run).
        expected = {(EVENT_JOB_EXECUTED, f"sub-{recent.id}"), (EVENT_JOB_MISSED, f"sub-{old.id}")}
        wait_for(lambda: expected <= outcomes, timeout=15)
    finally:
        second.stop()
    assert len(reports_of(settings, recent.id)) == 1  # coalesced: one run, not three
    assert reports_of(settings, old.id) == []  # beyond misfire_grace_s: skipped
    job = sentinel_db(settings).query_one(
        "SELECT next_run_time FROM sentinel_jobs WHERE id=?", (f"sub-{recent.id}",)
    )
    assert job is not None and job["next_run_time"] > now.timestamp()


def test_sigterm_shuts_the_daemon_down_cleanly(
    settings: Settings, git_repo: Path, isolated_home: Path
) -> None:
    sub = service.add_subscription(settings, str(git_repo), every="1s")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmapps", "sentinel", "daemon"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: len(reports_of(settings, sub.id)) >= 2, timeout=60)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "sentinel daemon stopped" in out
    log = (isolated_home / "logs" / "sentinel.log").read_text()
    assert "sentinel daemon started" in log and "stopped cleanly" in log
    assert f"subscription {sub.id}" in log


def test_editing_a_subscription_reschedules_the_running_daemon(
    settings: Settings, git_repo: Path
) -> None:
    sub = service.add_subscription(settings, str(git_repo), every="1h")
    daemon = Daemon(settings, sync_interval=0.5)
    daemon.start()
    try:
        job = daemon.scheduler.get_job(f"sub-{sub.id}")
        assert job is not None  # hourly: the first run is an hour away
        assert job.next_run_time > datetime.now(UTC) + timedelta(minutes=59)
        assert reports_of(settings, sub.id) == []
        service.edit_subscription(settings, sub.id, every="1s")
        wait_for(lambda: len(reports_of(settings, sub.id)) >= 2, timeout=20)
        service.remove_subscription(settings, sub.id)
        wait_for(lambda: daemon.scheduler.get_job(f"sub-{sub.id}") is None, timeout=10)
    finally:
        daemon.stop()
