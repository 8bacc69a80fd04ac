"""Chat benchmark, one run: retrieval latency, ingestion speed, chat-turn first-token overhead.

Prints, measured side by side in this run:

1. retrieval latency p50/p95 of ``kb.search`` (SQLite row fetch included) at 10k and 100k
   chunks, for BM25, vector and hybrid. The large corpora are synthetic (Zipf-distributed
   words, ~80 tokens a chunk) and their vectors are RANDOM normalised vectors of the embedded
   model's dimension: embedding 100k chunks with the embedded model would take hours on this
   machine. The query vectors are precomputed (``search(query_vector=…)``) so the vector
   numbers are the index's; the embedded model's own time to embed one query is printed
   beside them (add it to vector/hybrid for an end-to-end figure).
2. ingestion chunks/s through the real ``add_paths`` (load, chunk, jieba/English tokens,
   SQLite, BM25 rebuild) on generated Chinese+English Markdown and Q&A files, BM25 only, and
   with real embeddings on a small folder.
3. first-token latency of a chat turn with memory and retrieval vs a bare model call: runs
   ``bench/chat_turn.py`` (the conversation half's measurement through ``ChatService``).

Usage: ``.venv/bin/python bench/chat.py [--sizes 10000,100000] [--queries 40] [--no-turn]``
(a few minutes; the machine's other load shows in the numbers).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_ZH = (
    "净化器 滤网 保修 退款 电池 屏幕 账号 发票 物流 快递 安装 噪音 功率 臭氧 宠物 异味 湿度 "
    "温度 睡眠 模式 定时 遥控 手机 应用 连接 重置 出厂 设置 清洁 更换 购买 授权 经销商 型号"
)
ZH_WORDS = _ZH.split()
_EN = (
    "purifier filter warranty refund battery screen account invoice shipping delivery install "
    "noise power ozone pet odor humidity temperature sleep mode timer remote phone app connect "
    "reset factory settings clean replace buy dealer model"
)
EN_WORDS = _EN.split()


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def synthetic_kb(name: str, n: int, dim: int, settings, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """A KB of ``n`` synthetic chunks written straight into SQLite, then indexed by the real
    code (BM25 rebuilt from SQLite; a faiss index of random vectors)."""
    from llmapps.chat.kb import create_kb, manager, vectors

    create_kb(name, settings=settings)
    db = manager._db(settings)
    kb_id = db.query_one("SELECT id FROM chat_kb_bases WHERE name = ?", (name,))["id"]
    vocab = 30_000
    ranks = np.minimum(rng.zipf(1.15, size=(n, 80)), vocab) - 1
    with db.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO chat_kb_files(kb_id, path, name, kind, sha256, size, chunks, added_at) "
            "VALUES (?, ?, ?, 'text', '-', 0, ?, '-')",
            (kb_id, f"/synthetic/{name}.txt", f"{name}.txt", n),
        )
        file_id = cur.lastrowid
        rows = []
        for i in range(n):
            tokens = " ".join(f"w{r}" for r in ranks[i])
            rows.append((kb_id, file_id, i, tokens, f"line {i + 1}", tokens))
        conn.executemany(
            "INSERT INTO chat_kb_chunks(kb_id, file_id, ord, text, location, tokens) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    started = time.perf_counter()
    manager._save_indexes(db, settings, kb_id, None, None, [], [])
    bm25_build = time.perf_counter() - started
    ids = np.asarray(
        [r["id"] for r in db.query("SELECT id FROM chat_kb_chunks WHERE kb_id = ?", (kb_id,))]
    )
    vecs = vectors.normalise(rng.standard_normal((n, dim)).astype(np.float32))
    vectors.VectorIndex(vecs, ids).save(manager._folder(settings, kb_id))
    db.execute("UPDATE chat_kb_bases SET embed_spec = 'local:smollm2' WHERE id = ?", (kb_id,))
    queries = [" ".join(f"w{r}" for r in rng.choice(ranks[rng.integers(n)], 4)) for _ in range(64)]
    return queries, bm25_build


def retrieval(sizes: list[int], n_queries: int, settings, dim: int, embed_s: float) -> None:  # type: ignore[no-untyped-def]
    from llmapps.chat.kb import search

    rng = np.random.default_rng(0)
    print("\n== retrieval latency (kb.search incl. SQLite fetch; k=4) ==")
    print(f"   query embedding with the embedded model: {embed_s * 1000:.1f} ms per query")
    for n in sizes:
        queries, build_s = synthetic_kb(f"bench{n}", n, dim, settings, rng)
        qvecs = [rng.standard_normal(dim).astype(np.float32) for _ in queries]
        print(
            f"-- {n:,} chunks (synthetic text, random vectors; BM25 index built in {build_s:.1f} s)"
        )
        for mode in ("bm25", "vector", "hybrid"):
            search(
                f"bench{n}",
                queries[0],
                4,
                settings=settings,
                mode=mode,
                threshold=0,
                query_vector=qvecs[0],
            )  # load the index files once
            times = []
            for i in range(n_queries):
                q = queries[i % len(queries)]
                t0 = time.perf_counter()
                search(
                    f"bench{n}",
                    q,
                    4,
                    settings=settings,
                    mode=mode,
                    threshold=0,
                    query_vector=qvecs[i % len(qvecs)],
                )
                times.append(time.perf_counter() - t0)
            print(f"   {mode:7s} p50 {pct(times, 50):7.2f} ms   p95 {pct(times, 95):7.2f} ms")


def make_docs(folder: Path, files: int, per_file: int) -> None:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        if f % 3 == 2:  # a Q&A file: one chunk per pair
            lines = []
            for i in range(per_file):
                zh = "".join(rng.choice(ZH_WORDS, 4))
                lines.append(f"问：{zh}怎么办？\n答：请参考说明书第{i}节，{zh}需要定期检查。")
            (folder / f"faq{f}.txt").write_text("\n".join(lines), "utf-8")
            continue
        parts = []
        for i in range(per_file):
            en = " ".join(rng.choice(EN_WORDS, 40))
            zh = "，".join("".join(rng.choice(ZH_WORDS, 3)) for _ in range(12))
            parts.append(f"# Section {i}\n\n{en.capitalize()}. {en}.\n\n{zh}。{zh}。")
        (folder / f"doc{f}.md").write_text("\n\n".join(parts), "utf-8")


def ingestion(settings, home: Path) -> None:  # type: ignore[no-untyped-def]
    from llmapps.chat.kb import add_paths, create_kb

    print("\n== ingestion through add_paths ==")

    def timed_add(name: str, folder: Path, cfg, **docs: int):  # type: ignore[no-untyped-def]
        """Fresh documents in ``folder`` into a new KB ``name``: (report, seconds)."""
        make_docs(folder, **docs)
        create_kb(name, settings=cfg)
        t0 = time.perf_counter()
        report = add_paths(name, [folder], settings=cfg)
        return report, time.perf_counter() - t0

    report, took = timed_add("ingest", home / "docs", settings, files=12, per_file=150)
    print(
        f"   BM25 only: {report.chunks} chunks from {len(report.added)} files in {took:.1f} s "
        f"= {report.chunks / took:.0f} chunks/s"
    )
    os.environ["LLMAPPS_CHAT__KB_VECTORS"] = "true"
    from llmapps.config import get_settings

    with_vectors = get_settings()
    report, took = timed_add("ingest-vec", home / "small", with_vectors, files=1, per_file=3)
    print(
        f"   with embedded-model vectors: {report.chunks} chunks in {took:.1f} s "
        f"= {report.chunks / took:.1f} chunks/s (model load included)"
    )
    os.environ["LLMAPPS_CHAT__KB_VECTORS"] = "false"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--no-turn", action="store_true", help="skip the chat-turn measurement")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="llmapps-bench-kb-"))
    os.environ["LLMAPPS_HOME"] = str(home)
    os.environ["LLMAPPS_CHAT__KB_VECTORS"] = "false"
    os.environ.setdefault("LLMAPPS_MODELS__N_CTX", "2048")
    from llmapps.config import get_settings
    from llmapps.models import get_embeddings

    settings = get_settings()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    emb = get_embeddings(settings=settings)
    emb.embed_query("warm up")
    samples = []
    for q in ("How long is the warranty?", "滤网多久更换一次？", "reset to factory settings"):
        t0 = time.perf_counter()
        vec = emb.embed_query(q)
        samples.append(time.perf_counter() - t0)
    dim = len(vec)
    retrieval(
        [int(s) for s in args.sizes.split(",")],
        args.queries,
        settings,
        dim,
        statistics.median(samples),
    )
    ingestion(settings, home)
    if args.no_turn:
        return
    turn = Path(__file__).with_name("chat_turn.py")
    print("\n== first token: chat turn (memory + retrieval) vs bare model call ==")
    if not turn.exists():
        print("   bench/chat_turn.py is missing: no ChatService measurement in this run")
        return
    env = {k: v for k, v in os.environ.items() if k != "LLMAPPS_HOME"}
    result = subprocess.run(
        [sys.executable, str(turn), "--rounds", "3", "--chunks", "2000"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    for line in lines:
        print(f"   {line}")
    if result.returncode != 0:
        print(f"   chat_turn.py failed: {result.stderr.strip().splitlines()[-1:]}")


if __name__ == "__main__":
    main()
