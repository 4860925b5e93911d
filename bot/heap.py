"""Garbage-collector settings for a long-running server process."""

from __future__ import annotations

import gc

#: New container objects between two collections of the youngest generation (CPython's default
#: is 700). Most objects of a turn (events, chunks, rows) die by reference counting within the
#: turn; the fewer collections look at them while they are alive, the less work is wasted.
YOUNG_THRESHOLD = 10_000
#: Young collections per middle one, middle ones per full one (defaults 10 and 10).
OLDER_THRESHOLDS = (20, 10)


def settle_after_startup() -> None:
    """Keep what startup loaded out of the collector's sight and collect less often.

    A serving process keeps about 200,000 objects from startup (libraries, the masking filter's
    tables) for its whole life. Every full collection walked all of them (100–300 ms, a stall of
    every answer streaming at that moment), and at the default thresholds the collector took
    about 13 % of a busy instance's CPU (bench/bench_load.py, N = 500; BENCHMARKS.md).
    ``gc.freeze`` moves them to a permanent generation that collections never scan. Call it
    once, after startup and before serving.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
