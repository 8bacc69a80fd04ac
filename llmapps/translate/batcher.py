"""Grouping the blocks still to translate into batches for one model call each.

Why by characters and item count: a batch must fit the model's context and output budget
(``translate.batch_chars``, ``translate.batch_items``), and smaller batches parse more
reliably on weak models; the text before each batch goes with it as context.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Batch:
    keys: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    previous: str = ""  # the paragraph before the batch's first block (context only)

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)


def make_batches(items: list[tuple[str, str, str]], max_chars: int, max_items: int) -> list[Batch]:
    """``items``: (key, text, previous text) in document order -> batches."""
    batches: list[Batch] = []
    current = Batch()
    for key, text, previous in items:
        too_big = current.texts and (
            current.chars + len(text) > max_chars or len(current.texts) >= max_items
        )
        if too_big:
            batches.append(current)
            current = Batch()
        if not current.texts:
            current.previous = previous
        current.keys.append(key)
        current.texts.append(text)
    if current.texts:
        batches.append(current)
    return batches
