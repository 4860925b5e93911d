"""The update budget is shared per workspace and given back when answers stop streaming."""

from __future__ import annotations

from handlers.pacing import UpdatePacer


def test_the_interval_grows_with_the_answers_streaming_in_one_workspace() -> None:
    pacer = UpdatePacer(1.0, 50)
    for _ in range(200):
        pacer.begin("T1")
    pacer.begin("T2")
    assert pacer.interval("T1") == 4.0  # 200 answers share 50 updates/s
    assert pacer.interval("T2") == 1.0  # another workspace has a budget of its own
    for _ in range(200):
        pacer.end("T1")
    assert pacer.interval("T1") == 1.0 and pacer.streaming("T1") == 0


def test_no_budget_keeps_the_shortest_interval() -> None:
    pacer = UpdatePacer(0.5, 0)
    for _ in range(1000):
        pacer.begin(None)
    assert pacer.interval(None) == 0.5
