"""Retrieval quality on a bilingual Q&A file: recall@3 with BM25 alone, paraphrased questions."""

from __future__ import annotations

from pathlib import Path

from llmapps.chat.kb import add_paths, create_kb, search

# (paraphrased question, file, pair number) — none of these is a pair's own wording.
EN_QUERIES = [
    ("What warranty period covers the X3 purifier?", "en", 1),
    ("When do I need a new HEPA filter?", "en", 2),
    ("How loud is the purifier in sleep mode, in decibels?", "en", 3),
    ("What room size is the X3 suitable for?", "en", 4),
    ("Is there a mobile app to control it?", "en", 5),
    ("The orange light keeps blinking, what is wrong?", "en", 6),
    ("How can I restore the factory settings?", "en", 7),
    ("What is its power consumption in watts?", "en", 8),
    ("Is any ozone emitted by the purifier?", "en", 9),
    ("In which city is the X3 assembled?", "en", 10),
    ("Should I wash the pre-filter with water?", "en", 11),
    ("Can I send it back for a refund?", "en", 12),
    ("Does it support Google Assistant voice commands?", "en", 13),
    ("How heavy is the X3 in kg?", "en", 14),
    ("Will it help with odors from my pet?", "en", 15),
    ("Where can I buy a genuine replacement filter?", "en", 16),
]
ZH_QUERIES = [
    ("这台净化器保修几年？", "zh", 1),
    ("HEPA滤网应该什么时候换？", "zh", 2),
    ("晚上开着吵不吵，有多少分贝？", "zh", 3),
    ("房间面积多大可以用？", "zh", 4),
    ("能用手机App远程操作吗？", "zh", 5),
    ("橙灯一直在闪是怎么回事？", "zh", 6),
    ("怎么把机器重置成出厂状态？", "zh", 7),
    ("功率是多少瓦？", "zh", 8),
    ("使用时会释放臭氧吗？", "zh", 9),
    ("产品是在哪个城市组装的？", "zh", 10),
    ("预过滤网可以水洗吗？", "zh", 11),
    ("不满意可以退款吗？", "zh", 12),
    ("能用天猫精灵语音控制吗？", "zh", 13),
    ("净化器重量是多少公斤？", "zh", 14),
    ("家里养猫，能去除宠物异味吗？", "zh", 15),
    ("原装滤网在哪里购买？", "zh", 16),
]


def _recall_at_3(queries: list[tuple[str, str, int]]) -> tuple[float, list[str]]:
    found = 0
    misses = []
    for question, lang, number in queries:
        hits = search("faq", question, 3, threshold=0.0, mode="bm25")
        wanted = (f"starriver_faq_{lang}.txt", f"Q {number}")
        if any((Path(h.source).name, h.location) == wanted for h in hits):
            found += 1
        else:
            misses.append(f"{question} -> {[(h.source, h.location) for h in hits]}")
    return found / len(queries), misses


def test_qa_files_become_one_chunk_per_pair(data_dir: Path) -> None:
    create_kb("faq")
    files = [data_dir / "starriver_faq_en.txt", data_dir / "starriver_faq_zh.txt"]
    report = add_paths("faq", files)
    assert report.failed == []
    assert report.chunks == 32
    kinds = {f.name: f.kind for f in report.info.files} if report.info else {}
    assert kinds == {"starriver_faq_en.txt": "qa", "starriver_faq_zh.txt": "qa"}


def test_recall_at_3_with_bm25_alone(data_dir: Path) -> None:
    create_kb("faq")
    add_paths("faq", [data_dir / "starriver_faq_en.txt", data_dir / "starriver_faq_zh.txt"])
    en, en_misses = _recall_at_3(EN_QUERIES)
    zh, zh_misses = _recall_at_3(ZH_QUERIES)
    assert en >= 0.9, en_misses
    assert zh >= 0.9, zh_misses


def test_exact_question_ranks_its_pair_first_with_high_score(data_dir: Path) -> None:
    create_kb("faq")
    add_paths("faq", [data_dir / "starriver_faq_zh.txt"])
    hits = search("faq", "退货政策是什么？", 4)
    assert hits[0].location == "Q 12"
    assert "全额退款" in hits[0].text
    assert 0.5 <= hits[0].score <= 1.0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_unrelated_questions_score_below_threshold(data_dir: Path) -> None:
    create_kb("faq")
    add_paths("faq", [data_dir / "starriver_faq_en.txt", data_dir / "starriver_faq_zh.txt"])
    for question in (
        "Who won the football world cup in 1998?",
        "量子色动力学的格点计算方法有哪些？",
        "Recipe for a chocolate cake with strawberries",
    ):
        ranked = search("faq", question, 3, threshold=0.0)
        assert all(h.score < 0.2 for h in ranked), (question, ranked)
        assert search("faq", question, 3) == []  # default threshold chat.kb_threshold = 0.2
