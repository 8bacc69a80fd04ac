"""First-token latency of a chat turn (memory + retrieval + SQLite) vs a bare model call.

Why: the chat turn adds work before the model sees the prompt (store the user message, load
history, count tokens and trim to the context, search the knowledge base, build the prompt)
and after each token (events, final save). This measures what that costs, side by side in one
process, interleaved A/B so machine noise hits both alike:

- A: ``model.stream([system, question])`` until the first chunk (the bare model call);
- B: ``ChatService.send(...)`` on a conversation with 8 earlier turns, window memory and an
  attached BM25 knowledge base of ``--chunks`` chunks, until the first ``token`` event.

Both run the embedded model with the same prompt size class and ``max_tokens`` small. The
prompt of B is longer (history + sources), so part of the difference is the model's prompt
processing, reported separately by running A with B's exact messages (A'). llama.cpp reuses
the cached prefix of the previous prompt, so A runs before each A' and each B.

Usage: ``.venv/bin/python bench/chat_turn.py [--rounds 5] [--chunks 2000]`` (about a minute).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--max-tokens", type=int, default=4)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="llmapps-bench-chat-"))
    os.environ["LLMAPPS_HOME"] = str(home)
    os.environ["LLMAPPS_CHAT__KB_VECTORS"] = "false"
    os.environ.setdefault("LLMAPPS_MODELS__N_CTX", "2048")
    # always answer from the KB (no refusal) and keep the prompt modest for two shared cores
    os.environ["LLMAPPS_CHAT__KB_THRESHOLD"] = "0"
    os.environ["LLMAPPS_CHAT__KB_TOP_K"] = "2"
    os.environ["LLMAPPS_CHAT__WINDOW_TURNS"] = "4"

    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.messages import HumanMessage, SystemMessage

    from llmapps.chat.kb import add_paths, create_kb
    from llmapps.chat.memory import build_messages
    from llmapps.chat.service import ChatService
    from llmapps.config import get_settings
    from llmapps.models import get_chat_model

    settings = get_settings()
    params = {"max_tokens": args.max_tokens, "temperature": 0.0, "seed": 7}
    model = get_chat_model(settings=settings, **params)

    # a knowledge base of about --chunks chunks (one paragraph per chunk)
    docs = home / "docs"
    docs.mkdir()
    topics = ["refund", "shipping", "warranty", "battery", "screen", "account", "invoice"]
    per_file = 200
    for f in range(max(1, args.chunks // per_file)):
        parts = []
        for i in range(per_file):
            topic = topics[(f * per_file + i) % len(topics)]
            parts.append(
                f"# Section {f}-{i}\n\nThe {topic} policy number {f}-{i} says customers may "
                f"ask about {topic} questions within {i % 30 + 1} days of purchase. " * 2
            )
        (docs / f"doc{f}.md").write_text("\n\n".join(parts), encoding="utf-8")
    create_kb("bench", settings=settings)
    started = time.perf_counter()
    report = add_paths("bench", [docs], settings=settings)
    ingest_s = time.perf_counter() - started

    service = ChatService(settings, model_factory=lambda spec, p: model)
    conv = service.new_conversation(kb="bench", memory="window")
    for i in range(8):
        service.store.add_message(conv.id, "user", f"Earlier question {i} about the warranty?")
        service.store.add_message(conv.id, "assistant", f"Earlier answer {i}: two years.")
    question = "How many days do I have to ask for a refund?"
    system = service.personas.get("assistant").system_prompt

    def bare(messages: list, on: object = model) -> float:
        t0 = time.perf_counter()
        for _chunk in on.stream(messages):  # type: ignore[attr-defined]
            break
        return time.perf_counter() - t0

    def turn(svc: ChatService = service) -> float:
        t0 = time.perf_counter()
        first = 0.0
        for event in svc.send(conv.id, question):
            if event.kind == "token" and not first:
                first = time.perf_counter() - t0
            if event.kind == "error":
                raise SystemExit(f"turn failed: {event.data['message']}")
        # keep the conversation the same size for every round
        svc.store.delete_messages_after(conv.id, svc.store.messages(conv.id)[15].id)
        return first

    # B's exact prompt, to separate prompt-processing time from turn overhead
    hits = service._retrieve("bench", question)
    from llmapps.chat.service import _sources_block

    full = build_messages(
        model=model,
        settings=settings,
        system=system,
        history=service.store.messages(conv.id),
        question=question,
        strategy="window",
        window_turns=settings.chat.window_turns,
        sources=_sources_block(hits),
    ).messages
    short = [SystemMessage(system), HumanMessage(question)]

    bare(short)  # load the model once
    a, a_full, b = [], [], []
    for _ in range(args.rounds):
        # llama.cpp reuses the KV cache of the previous prompt's common prefix: run the short
        # prompt before A' and before B so both start from the same cache state
        a.append(bare(short))
        a_full.append(bare(full))
        a.append(bare(short))
        b.append(turn())

    # the turn's own cost without any model work: a fake model answering instantly
    fake = FakeListChatModel(responses=["ok"])
    fake_service = ChatService(settings, model_factory=lambda spec, p: fake)
    fa, fb = [], []
    for _ in range(20):
        fa.append(bare(short, fake))
        fb.append(turn(fake_service))

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:8.1f} ms"

    print(
        f"knowledge base: {report.chunks} chunks, ingested in {ingest_s:.2f} s "
        f"({report.chunks / ingest_s:.0f} chunks/s, BM25 only)"
    )
    print(f"rounds: {args.rounds}, max_tokens {args.max_tokens}, n_ctx {model.n_ctx}")  # type: ignore[attr-defined]
    print(f"A  bare model call, short prompt      first token p50 {ms(a)}")
    print(f"A' bare model call, the turn's prompt first token p50 {ms(a_full)}")
    print(f"B  chat turn (memory+retrieval+store) first token p50 {ms(b)}")
    print(f"overhead ratio B/A  = {statistics.median(b) / statistics.median(a):.2f}")
    print(
        f"overhead ratio B/A' = {statistics.median(b) / statistics.median(a_full):.2f} "
        "(same prompt: the cost of the turn itself)"
    )
    print(
        "per round (s): A' "
        + " ".join(f"{v:.2f}" for v in a_full)
        + " | B "
        + " ".join(f"{v:.2f}" for v in b)
    )
    print(
        f"fake model: bare {ms(fa)}, turn {ms(fb)}; the turn's own work "
        f"{(statistics.median(fb) - statistics.median(fa)) * 1000:.1f} ms per turn"
    )


if __name__ == "__main__":
    main()
