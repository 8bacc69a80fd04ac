"""Reports: grouping with links, empty windows without a model, versions, files, map-reduce."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.config import Settings
from llmapps.sentinel import service
from llmapps.sentinel.activity import Activity, ActivityItem
from llmapps.sentinel.reports import classify, make_report
from tests.sentinel.conftest import WINDOW_END, WINDOW_START, CountingFakeModel
from tests.sentinel.sentinel_emulator import GitHubEmulator


class ExplodingModel(FakeListChatModel):
    """A chat model that fails the test if it is ever called."""

    def _call(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the model must not be called for an empty window")


def test_git_report_groups_items_with_links(
    git_repo: Path, settings: Settings, fake_model: CountingFakeModel
) -> None:
    report = service.generate_report(
        settings,
        str(git_repo),
        since=WINDOW_START.isoformat(),
        until=WINDOW_END.isoformat(),
        lang="en",
        chat_model=fake_model,
    )
    md = report.markdown
    assert report.item_count == 3
    assert "## Summary" in md and "Summary bullet one about the export command [C1](" in md
    assert "activity: 0 of 2 sentences" in md
    assert "## New features" in md and "feat: add export command" in md
    assert "## Fixes" in md and "fix: crash on empty input" in md
    assert "## Improvements" in md and "docs: explain the config file" in md
    assert "later work" not in md and "initial import" not in md
    # every commit is linked to the web view of the origin remote
    commit_lines = [line for line in md.splitlines() if line.startswith("- [`")]
    assert len(commit_lines) == 3
    assert all("](https://github.com/acme/localrepo/commit/" in line for line in commit_lines)
    # the model saw the activity as data
    assert "feat: add export command" in fake_model.prompts[0]
    assert len(fake_model.prompts) == 1
    raw = json.loads(Path(report.raw_path).read_text())
    assert {i["title"] for i in raw["items"]} == {
        "feat: add export command",
        "fix: crash on empty input",
        "docs: explain the config file",
    }
    assert Path(report.path).read_text() == md
    assert Path(report.path).parent == Path(report.raw_path).parent


def test_rerun_same_window_is_a_new_version(
    git_repo: Path, settings: Settings, fake_model: CountingFakeModel
) -> None:
    args = {
        "since": WINDOW_START.isoformat(),
        "until": WINDOW_END.isoformat(),
        "chat_model": fake_model,
    }
    first = service.generate_report(settings, str(git_repo), **args)  # type: ignore[arg-type]
    second = service.generate_report(settings, str(git_repo), **args)  # type: ignore[arg-type]
    assert (first.version, second.version) == (1, 2)
    assert first.path != second.path and Path(first.path).exists() and Path(second.path).exists()
    assert [r.id for r in service.history(settings, str(git_repo))] == [second.id, first.id]


def test_empty_window_is_honest_and_calls_no_model(
    github: GitHubEmulator, settings: Settings
) -> None:
    github.repo("acme/quiet").add_commit("feat: long ago", WINDOW_START - timedelta(days=40))
    for lang, phrase in (("en", "Nothing happened"), ("zh", "本期无动态")):
        report = service.generate_report(
            settings,
            "acme/quiet",
            since=WINDOW_START.isoformat(),
            until=WINDOW_END.isoformat(),
            lang=lang,
            chat_model=ExplodingModel(responses=["x"]),
        )
        assert phrase in report.markdown
        assert report.item_count == 0 and report.model is None


def test_github_report_sections_and_chinese_headings(
    github: GitHubEmulator, settings: Settings, fake_model: CountingFakeModel
) -> None:
    repo = github.repo("acme/rocket")
    t = WINDOW_START + timedelta(hours=1)
    repo.add_pr(101, "feat: plugin API", merged=t, updated=t)
    repo.add_pr(102, "fix: memory leak", merged=t, updated=t, labels=("bug",))
    repo.add_pr(103, "refactor!: drop Python 3.8", merged=t, updated=t)
    repo.add_pr(104, "Speed up the parser", merged=t, updated=t)
    repo.add_issue(201, "Roadmap discussion", created=t, comments=42)
    repo.add_release("v3.0.0", "Rocket 3", t)
    report = service.generate_report(
        settings,
        "acme/rocket",
        since=WINDOW_START.isoformat(),
        until=WINDOW_END.isoformat(),
        lang="zh",
        chat_model=fake_model,
    )
    md = report.markdown
    sections = {
        "新功能": "[#101](https://github.com/acme/rocket/pull/101)",
        "问题修复": "[#102](https://github.com/acme/rocket/pull/102)",
        "破坏性变更": "[#103](https://github.com/acme/rocket/pull/103)",
        "改进": "[#104](https://github.com/acme/rocket/pull/104)",
        "值得关注的讨论": "[#201](https://github.com/acme/rocket/issues/201)",
        "版本发布": "[v3.0.0](https://github.com/acme/rocket/releases/tag/v3.0.0)",
    }
    for heading, link in sections.items():
        assert f"## {heading}" in md
        assert link in md.split(f"## {heading}")[1].split("## ")[0]
    assert "42 条评论" in md
    assert "项目进展报告" in report.title
    assert "简体中文" in fake_model.prompts[0]


class CitingModel(CountingFakeModel):
    """Answers like a model that cites: each map call cites the first item of its chunk and
    invents one id; the reduce call repeats the partial bullets it was given and invents one."""

    def _call(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> str:
        prompt = "\n".join(str(m.content) for m in messages)
        self.prompts.append(prompt)
        if "Partial summaries" in prompt:
            partial = prompt.split("activity:\n", 1)[1].split("\n\nCombine")[0]
            bullets = [line for line in partial.splitlines() if line.startswith("- ")]
            return "\n".join([*bullets[:4], "- A rewrite of the core landed [PR77]."])
        first = re.search(r"^\[(C\d+)\]", prompt, re.MULTILINE)
        assert first is not None
        cite = first.group(1)
        return f"- Change {cite} landed [{cite}].\n- Invented 2febbeefeeecr [C999]."


def test_large_window_is_map_reduced_and_keeps_citations(settings: Settings) -> None:
    items = [
        ActivityItem(
            "commit",
            f"{i:040x}",
            f"feat: change number {i} " + "x" * 80,
            None,
            "a",
            (WINDOW_START + timedelta(minutes=i)).isoformat(),
        )
        for i in range(60)
    ]
    activity = Activity("/tmp/big", "git", WINDOW_START, WINDOW_END, items)
    model = CitingModel(responses=["unused"], prompts=[])
    report = make_report(
        settings,
        activity,
        report_type="git",
        lang="en",
        title="big",
        model_factory=lambda: model,
        model_name="fake",
        token_budget=400,
    )
    # 60 lines of ~30 tokens under a 400-token budget: several map calls + one reduce
    assert len(model.prompts) >= 5
    assert all("part" in p for p in model.prompts[:-1])
    reduce_prompt = model.prompts[-1]
    assert "Partial summaries" in reduce_prompt
    assert all(len(p) < 400 * 4 + 2500 for p in model.prompts)  # each call fits the budget
    # the citations survived the map step; the invented ones never reached the reduce step
    assert "Change C1 landed [C1]" in reduce_prompt and "C999" not in reduce_prompt
    md = report.markdown
    summary = md.split("## Summary")[1].split("## ")[0]
    assert "Change C1 landed [C1]" in summary and "PR77" not in summary
    assert "activity: 1 of 5 sentences" in summary
    raw = json.loads(Path(report.raw_path).read_text())
    assert raw["meta"]["summary_check"]["dropped"] == 1
    assert raw["items"][0]["extra"]["_cite"] == "C1"
    assert md.count("feat: change number") == 60  # every item still listed


def test_classify_rules() -> None:
    def item(title: str, labels: tuple[str, ...] = (), kind: str = "pr") -> ActivityItem:
        return ActivityItem(
            kind, "1", title, None, None, "2026-01-01T00:00:00Z", labels=list(labels)
        )

    assert classify(item("feat(api)!: remove v1")) == "breaking"
    assert classify(item("Add dark mode")) == "features"
    assert classify(item("Handle nulls", ("bug",))) == "fixes"
    assert classify(item("Tidy up")) == "improvements"
    assert classify(item("Question", kind="issue_opened")) == "discussions"


def test_budget_fits_the_embedded_model_context(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from llmapps.config import get_settings
    from llmapps.sentinel.reports import effective_budget

    monkeypatch.setenv("LLMAPPS_MODELS__N_CTX", "2048")
    monkeypatch.setenv("LLMAPPS_SENTINEL__REPORT_MAX_TOKENS", "256")
    settings = get_settings()
    assert effective_budget(settings, "local:smollm2") == int((2048 - 256 - 400) * 0.75)
    assert effective_budget(settings, "openai:gpt-4o-mini") == 3000


def test_activity_is_recorded_once_per_item(
    github: GitHubEmulator, settings: Settings, fake_model: CountingFakeModel
) -> None:
    from llmapps.sentinel.activity import stored_activity

    t = WINDOW_START + timedelta(hours=1)
    github.repo("acme/rocket").add_pr(5, "feat: x", merged=t, updated=t)
    for _ in range(2):
        service.generate_report(
            settings,
            "acme/rocket",
            since=WINDOW_START.isoformat(),
            until=WINDOW_END.isoformat(),
            chat_model=fake_model,
        )
    items = stored_activity(settings, "acme/rocket", WINDOW_START, WINDOW_END)
    assert [(i.kind, i.key, i.title) for i in items] == [("pr", "5", "feat: x")]
