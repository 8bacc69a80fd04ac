"""Schedules in time zones, due runs, and run-now over several subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmapps.cli import app as cli_app
from llmapps.config import Settings
from llmapps.sentinel import service
from llmapps.sentinel.subscriptions import (
    get,
    guess_webhook_format,
    make_trigger,
    mark_run,
)
from llmapps.sentinel.timeutil import parse_time
from tests.sentinel.conftest import CountingFakeModel
from tests.sentinel.sentinel_emulator import GitHubEmulator


def test_schedules_fire_in_their_time_zone() -> None:
    start = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    daily = make_trigger("daily", "08:00", "Asia/Shanghai")
    assert daily.get_next_fire_time(None, start) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    weekly = make_trigger("weekly", "07:30", "Europe/Berlin")
    nxt = weekly.get_next_fire_time(None, start)
    assert nxt is not None and nxt.weekday() == 0 and nxt.astimezone(UTC).hour == 6
    cron = make_trigger("0 18 * * 1-5", None, "America/New_York")
    nxt = cron.get_next_fire_time(None, start)
    assert nxt is not None and nxt.astimezone(UTC) == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    seconds = make_trigger("*/2 * * * * *", None, "UTC")
    nxt = seconds.get_next_fire_time(None, start)
    assert nxt == start
    interval = make_trigger("90s", None, "UTC")
    assert interval.interval == timedelta(seconds=90)  # type: ignore[attr-defined]


def test_webhook_format_is_guessed_from_the_host() -> None:
    assert guess_webhook_format("https://hooks.slack.com/services/T/B/X") == "slack"
    assert guess_webhook_format("https://open.feishu.cn/open-apis/bot/v2/hook/x") == "feishu"
    assert guess_webhook_format("https://open.larksuite.com/open-apis/bot/v2/hook/x") == "feishu"
    assert guess_webhook_format("https://oapi.dingtalk.com/robot/send?access_token=x") == "dingtalk"
    assert guess_webhook_format("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x") == "wecom"
    assert guess_webhook_format("https://example.com/hook") == "json"


def test_due_means_never_run_or_fired_since_the_last_run(
    settings: Settings, git_repo: Path
) -> None:
    sub = service.add_subscription(settings, str(git_repo), every="hourly", at="00:00")
    assert service.is_due(get(settings, sub.id))  # never run
    mark_run(settings, sub.id, window_end=datetime.now(UTC), status="ok")
    stored = get(settings, sub.id)
    ran_at = parse_time(stored.last_run_at)
    assert ran_at is not None
    # judged at fixed instants, so a run just before the hour cannot flip the answer
    assert not service.is_due(stored, ran_at)  # ran just now, next fire in < 1 h
    assert service.is_due(stored, ran_at + timedelta(hours=1, minutes=1))


def test_run_now_runs_every_due_subscription_once(
    github: GitHubEmulator,
    settings: Settings,
    git_repo: Path,
    fake_model: CountingFakeModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime.now(UTC)
    for i in range(3):
        github.repo(f"acme/r{i}").add_commit(f"feat: r{i} work", now - timedelta(hours=2))
        service.add_subscription(settings, f"acme/r{i}", lang="en")
    service.add_subscription(settings, "acme/gone")
    service.add_subscription(settings, str(git_repo))
    outcomes = service.run_due(settings, chat_model=fake_model)
    by_target = {o.subscription.target: o for o in outcomes}
    assert len(outcomes) == 5
    for i in range(3):
        report = by_target[f"acme/r{i}"].report
        assert report is not None and f"feat: r{i} work" in report.markdown
    assert "404" in (by_target["acme/gone"].error or "")
    assert by_target[str(git_repo)].report is not None
    # everything ran: nothing is due any more, and the failing one is retried next time
    again = service.run_due(settings, chat_model=fake_model)
    assert [o.subscription.target for o in again] == ["acme/gone"]

    result = CliRunner().invoke(cli_app, ["sentinel", "run-now"])
    assert result.exit_code == 1 and "acme/gone" in result.output


def test_crontab_weekdays_follow_crontab_numbering() -> None:
    from llmapps.sentinel.subscriptions import crontab_dow

    assert crontab_dow("1-5") == "mon,tue,wed,thu,fri"
    assert crontab_dow("0,6") == "sun,sat"
    assert crontab_dow("7") == "sun"
    assert crontab_dow("mon-fri") == "mon-fri"
    assert crontab_dow("*") == "*"
