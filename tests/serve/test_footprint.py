"""``llmapps serve`` holds only what the model APIs need until another area is asked for.

Why: resident memory is one of the model server's targets against llama-server
(``bench/serve.py``). LangChain and Gradio together add about 30 MiB to the Python process;
a server that only serves models should not carry them. Chat and Sentinel load them on their
first request, and must still answer then.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from fastapi.testclient import TestClient
from llmapps.cli import app as _cli  # what `llmapps serve` imports before it starts
from llmapps.cli.serve import build_server_app

heavy = ("langchain", "langchain_core", "gradio", "faiss", "pdfplumber")
loaded = lambda: sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
client = TestClient(build_server_app(), base_url="http://127.0.0.1:11434")
steps = {}
for path in ("/api/tags", "/v1/models", "/api/ps", "/sentinel/reports", "/chat/conversations"):
    status = client.get(path).status_code
    steps[path] = [status, loaded()]
print(json.dumps(steps))
"""


def test_model_routes_do_not_load_langchain_and_other_areas_load_on_first_use() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    steps = json.loads(out.stdout.strip().splitlines()[-1])
    for path in ("/api/tags", "/v1/models", "/api/ps"):
        assert steps[path] == [200, []], path
    # the first Sentinel and chat requests load LangChain, and are answered
    assert steps["/sentinel/reports"] == [200, ["langchain_core"]]
    assert steps["/chat/conversations"][0] == 200
    assert "langchain_core" in steps["/chat/conversations"][1]
