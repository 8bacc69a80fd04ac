"""Grounded summaries: cited ids checked against the activity, invented ones dropped.

The model side is real where it matters: an OpenAI-compatible server on the loopback
interface, reached through ``-m openai-compatible:…`` (the real model layer), answers with
invented ids, numbers and hashes chosen by a seeded random generator.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from llmapps.config import Settings
from llmapps.sentinel import service
from llmapps.sentinel.activity import ActivityItem
from llmapps.sentinel.grounding import build_catalog, check_answer, cited_ids, looks_like_hash
from llmapps.sentinel.sources.git import fetch_git
from tests.sentinel.conftest import WINDOW_END, WINDOW_START, CountingFakeModel, LoopbackModel
from tests.sentinel.git_history import History, build_history


@pytest.fixture
def history(tmp_path: Path) -> History:
    return build_history(tmp_path / "rocket", WINDOW_START, "git@github.com:acme/rocket.git")


def real_refs(history: History) -> tuple[set[str], list[str]]:
    """The PR/issue numbers and commit hashes that exist in the history's window."""
    activity = fetch_git(str(history.repo), WINDOW_START, WINDOW_END)
    numbers = {i.key for i in activity.items if i.kind == "pr"} | {"17"}  # "(closes #17)"
    return numbers, list(history.shas.values())


def assert_no_invented_refs(md: str, history: History) -> None:
    """Every ``#N`` and every hash-looking token anywhere in the report exists."""
    numbers, shas = real_refs(history)
    for number in re.findall(r"#(\d+)", md):
        assert number in numbers, f"#{number} is not in the activity"
    for token in re.findall(r"(?<![\w/.-])[0-9a-zA-Z]{7,40}(?![\w/-])", md):
        if looks_like_hash(token):
            assert any(s.startswith(token.lower()) for s in shas), f"{token} is invented"
    catalog_ids = {f"PR{n}" for n in numbers} | {f"C{i}" for i in range(1, 8)} | {"R1", "R2"}
    for cite in re.findall(r"\[((?:PR|C|I|R|S)\d+)\]\(", md):
        assert cite in catalog_ids


def random_answer(seed: int) -> str:
    """A confident summary made of invented references (seeded: the same every run)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(8):
        fake_sha = "".join(rng.choice("0123456789abcdef") for _ in range(12))
        number = rng.randint(100, 9999)
        cite = rng.choice(["C", "PR", "I", "R"]) + str(rng.randint(50, 999))
        lines.append(
            rng.choice(
                [
                    f"- {fake_sha} delete docker integration [{cite}].",
                    f"- PR #{number} rewrote the scheduler [{cite}].",
                    f"- Issue #{number} was closed as fixed [PR{number}].",
                    f"- Commit {fake_sha} removed the plugin loader.",
                ]
            )
        )
    lines.append(lines[0])  # and the repeated line small models love
    return "\n".join(lines)


def test_invented_ids_from_a_loopback_model_are_all_dropped(
    history: History, settings: Settings, openai_model: LoopbackModel
) -> None:
    openai_model.answer = random_answer(13)
    report = service.generate_report(
        settings,
        str(history.repo),
        since=WINDOW_START.isoformat(),
        until=WINDOW_END.isoformat(),
        lang="en",
        model=openai_model.spec,
    )
    md = report.markdown
    summary = md.split("## Summary")[1].split("\n## ")[0]
    # nothing the model invented survived; the summary was built from the activity instead
    for line in openai_model.answer.splitlines():
        assert line.strip("- ")[:20] not in summary
    assert "lost 9 of 9 sentences" in summary and "built from the activity itself" in summary
    assert "In this window: 7 commits, 3 merged pull requests, 2 releases" in summary
    assert "Add a plugin loader" in summary  # the biggest change leads its section
    assert_no_invented_refs(md, history)
    raw = json.loads(Path(report.raw_path).read_text())
    check = raw["meta"]["summary_check"]
    assert check["fallback"] is True and check["kept"] == 0 and check["repeated"] == 1
    assert "[PR21] merged PR #21: Add a plugin loader" in openai_model.prompts[0]


def test_grounded_sentences_stay_and_the_report_counts_the_dropped(
    history: History, settings: Settings, openai_model: LoopbackModel
) -> None:
    squash = history.shas["fix: crash on empty input (#22)"][:12]
    openai_model.answer = "\n".join(
        [
            "Here is the summary:",
            "- A plugin loader arrived through a merged pull request [PR21]. It is tested [C3].",
            "- Version 0.7 and 0.8 were tagged [R1][R2].",
            f"- The empty-input crash is fixed [PR22], see {squash} and #22.",
            "- The scheduler was rewritten in 9c0ffee1234ab [C4].",
            "- Version 0.7 and 0.8 were tagged [R1][R2].",
        ]
    )
    report = service.generate_report(
        settings,
        str(history.repo),
        since=WINDOW_START.isoformat(),
        until=WINDOW_END.isoformat(),
        lang="en",
        model=openai_model.spec,
    )
    summary = report.markdown.split("## Summary")[1].split("\n## ")[0]
    assert "A plugin loader arrived through a merged pull request [PR21](" in summary
    assert "It is tested [C3](https://github.com/acme/rocket/commit/" in summary
    assert "[R1](https://github.com/acme/rocket/releases/tag/v0.7)" in summary
    assert "The empty-input crash is fixed" in summary  # its hash prefix and #22 are real
    assert "scheduler" not in summary  # an invented hash drops the sentence
    assert summary.count("were tagged") == 1  # the repeated line is gone
    # the lead-in line is no claim and is not counted
    assert "activity: 1 of 6 sentences" in summary
    assert "repeated lines removed: 1" in summary
    assert_no_invented_refs(report.markdown, history)


def test_check_answer_rules() -> None:
    items = [
        ActivityItem("pr", "21", "Plugin loader", "https://x/pull/21", "a", "2026-11-01T01:00:00Z"),
        ActivityItem("commit", "ab" * 20, "fix: closes #17", None, "a", "2026-11-01T02:00:00Z"),
        ActivityItem("story", "8001", "A database", None, "b", "2026-11-01T03:00:00Z"),
    ]
    catalog = build_catalog(items)
    assert set(catalog.ids) == {"PR21", "C1", "S8001"}
    assert cited_ids("x [PR21, c1] and [S 8001]") == ["PR21", "C1", "S8001"]
    checked = check_answer(
        "- Plugins [PR21]. Issue #17 closed [C1]. Story [S8001].\n"
        "**Changes**\n- Fake [PR22].\n- No citation here.\n- Commit ababababab landed [C1].\n"
        "- 中文句子引用了提交 [C1]。另一句没有引用。",
        catalog,
    )
    assert checked.lines[0] == "Plugins [PR21]. Issue #17 closed [C1]. Story [S8001]."
    assert check_answer("- Loader [#21].\n- Ghost [#5].", catalog).lines == ["Loader [PR21]."]
    assert "Commit ababababab landed [C1]." in checked.lines
    assert "中文句子引用了提交 [C1]。" in checked.lines
    assert checked.dropped == 3 and checked.reasons == {"unknown id": 1, "uncited": 2}
    assert looks_like_hash("2febbeefeeecr") and looks_like_hash("9c0ffee1234ab")
    assert not looks_like_hash("b64decode") and not looks_like_hash("database")


def test_per_item_lines_are_grounded(history: History, settings: Settings) -> None:
    """One line per PR and release: the model's where it cited its item, the data's where not."""
    model = CountingFakeModel(
        responses=[
            "- Summary [PR21].",
            "[PR21] Plugins can now hook into the loader.\n"
            "[PR22] Fixes the crash, see commit deadbeef1234.\n"
            "[PR99] An invented pull request.\n"
            "[R1] Version 0.7 is out.",
        ],
        prompts=[],
    )
    report = service.generate_report(
        settings,
        str(history.repo),
        since=WINDOW_START.isoformat(),
        until=WINDOW_END.isoformat(),
        lang="en",
        chat_model=model,
        per_item=True,
    )
    section = report.markdown.split("## Item by item")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("- ")]
    assert lines == [
        "- [PR21](https://github.com/acme/rocket/pull/21) Plugins can now hook into the loader.",
        "- [PR22](https://github.com/acme/rocket/pull/22) fix: crash on empty input",
        "- [R1](https://github.com/acme/rocket/releases/tag/v0.7) Version 0.7 is out.",
        "- [PR23](https://github.com/acme/rocket/pull/23) Release 0.8",
        "- [R2](https://github.com/acme/rocket/releases/tag/v0.8) v0.8",
    ]
    assert "PR99" not in report.markdown and "deadbeef" not in report.markdown
    assert "[PR21] merged PR #21" in model.prompts[1]  # the per-item call saw numbered items
