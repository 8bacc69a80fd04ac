"""The remote-caller rules live in the service functions: a caller only says who it is.

Each service refuses for ``Access.REMOTE`` what the guard forbids (a GGUF outside the model
folders, an unlisted base URL, a git path outside ``sentinel.git_roots``) and allows it for
the local CLI user, so a new route or tab cannot forget a check.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from llmapps.access import LOCAL, REMOTE
from llmapps.chat.service import get_service
from llmapps.config import get_settings
from llmapps.models.ask import stream_answer
from llmapps.models.guard import SpecNotAllowedError
from llmapps.sentinel import service as sentinel
from llmapps.sentinel.errors import SentinelError
from llmapps.translate.service import check_request

FILE_SPEC = "local:/etc/passwd"
URL_SPEC = "openai-compatible:m@http://10.9.8.7/v1"


@pytest.mark.parametrize("spec", [FILE_SPEC, URL_SPEC])
def test_model_specs_are_checked_by_the_services(spec: str) -> None:
    settings = get_settings()
    chat = get_service(settings)
    with pytest.raises(SpecNotAllowedError):
        chat.new_conversation(model=spec, access=REMOTE)
    conv = chat.new_conversation(title="t")
    with pytest.raises(SpecNotAllowedError):
        chat.configure(conv.id, model=spec, access=REMOTE)
    with pytest.raises(SpecNotAllowedError):
        chat.send(conv.id, "hi", model=spec, access=REMOTE)
    with pytest.raises(SpecNotAllowedError):
        chat.personas.create({"name": "p1", "system": "x", "model": spec}, REMOTE)
    with pytest.raises(SpecNotAllowedError):
        check_request(spec, None, settings, REMOTE)
    with pytest.raises(SpecNotAllowedError):
        next(stream_answer("hi", spec=spec, settings=settings, access=REMOTE))
    with pytest.raises(SpecNotAllowedError):
        sentinel.hn_report(settings, model=spec, access=REMOTE)
    with pytest.raises(SpecNotAllowedError):
        sentinel.add_subscription(settings, "acme/x", model=spec, access=REMOTE)
    # the local user may name them (nothing is loaded or contacted here)
    assert chat.configure(conv.id, model=spec, access=LOCAL).model == spec
    check_request(spec, None, settings, LOCAL)
    assert sentinel.add_subscription(settings, "acme/x", model=spec).model == spec


def test_git_paths_and_webhooks_follow_the_caller(tmp_path: Path) -> None:
    settings = get_settings()
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    with pytest.raises(SentinelError, match=r"sentinel\.git_roots"):
        sentinel.add_subscription(settings, str(repo), access=REMOTE)
    hook = "https://hooks.example/services/T000/B000/secret-token-value"
    sub = sentinel.add_subscription(settings, str(repo), webhooks=[hook])  # local: allowed
    shown = sentinel.subscription_view(sub, REMOTE)["webhooks"][0]["url"]
    assert "secret-token-value" not in shown
    assert sentinel.subscription_view(sub, LOCAL)["webhooks"][0]["url"] == hook
    # a remote edit that sends the redacted URL back keeps the stored one
    edited = sentinel.edit_subscription(settings, sub.id, webhooks=[shown], access=REMOTE)
    assert edited.webhooks[0]["url"] == hook
