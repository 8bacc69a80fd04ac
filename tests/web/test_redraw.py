"""A streaming answer is redrawn at most every 0.1 s (see ``Redraw``), on an injected clock."""

from __future__ import annotations

from llmapps.web.common import Redraw


def test_redraws_at_most_every_interval_and_after_other_events() -> None:
    now = [100.0]
    redraw = Redraw(0.1, clock=lambda: now[0])
    assert redraw.due()  # the first token is shown at once
    now[0] = 100.06
    assert not redraw.due()  # too soon: shown with the next redraw
    now[0] = 100.12
    assert redraw.due()
    now[0] = 100.2
    redraw.done()  # a tool call was drawn just now
    now[0] = 100.26
    assert not redraw.due()
    now[0] = 100.32
    assert redraw.due()
